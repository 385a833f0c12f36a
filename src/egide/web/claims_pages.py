"""A claim's page (`/sinistres/{number}`): the incident clock as a timeline with the time left
before each legal deadline and what to do, the adjudication line by line with the rule that
applied, the payments, the settlement statement (PDF), and for a claims handler the settlement
form. A claim the visitor may not see is the same 404 page as one that does not exist."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.domain.access import Role
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.services.claims import claim_clock, get_claim, settle_claim, statement_pdf
from egide.services.results import contract
from egide.web import content_fr, messages_fr
from egide.web.account import current_principal
from egide.web.forms import french_number
from egide.web.pages import csrf_refused, not_found_page, render, uow_of

router = APIRouter(include_in_schema=False)


def _left(due: datetime, now: datetime) -> str:
    """``dans 1 j 4 h``, ``depuis 3 h``: the time to or since a deadline, in French."""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days} j"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    if not days:
        parts.append(f"{mins} min")
    return ("dans " if seconds >= 0 else "dépassé de ") + " ".join(parts)


def _timeline(clock: dict[str, Any]) -> list[dict[str, Any]]:
    now = datetime.fromisoformat(clock["now"])
    items = []
    for d in sorted(clock["deadlines"], key=lambda d: d["due_at"]):
        due = datetime.fromisoformat(d["due_at"])
        done = d["status"] in ("done", "done_late")
        items.append(
            {
                **d,
                "status_fr": content_fr.DEADLINE_STATUS.get(d["status"], d["status"]),
                "left": None if done else _left(due, now),
                "todo": content_fr.DEADLINE_TODO.get(d["code"], ""),
            }
        )
    return items


def _page(
    request: Request, number: str, errors: dict[str, list[str]], status: int = 200
) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        claim = contract(get_claim(uow_of(request), principal, number))
        clock = contract(claim_clock(uow_of(request), principal, number))
    except NotFound:
        return not_found_page(request)
    return render(
        request,
        "sinistre.html",
        {
            "number": number,
            "claim": claim,
            "timeline": _timeline(clock),
            "handler": Role.CLAIMS_HANDLER in principal.roles and claim["status"] == "open",
            "errors": errors,
            "settle_key": secrets.token_urlsafe(16),  # one payment per form shown
        },
        status_code=status,
    )


@router.get("/sinistres/{number}", response_class=HTMLResponse)
def claim_page(request: Request, number: str) -> Response:
    return _page(request, number[:40], {})


@router.get("/sinistres/{number}/decompte.pdf")
def claim_statement(request: Request, number: str) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        pdf = statement_pdf(uow_of(request), principal, number[:40])
    except NotFound:
        return not_found_page(request)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="decompte-{number[:40]}.pdf"'},
    )


@router.post("/sinistres/{number}/reglement", response_class=HTMLResponse)
async def settle(request: Request, number: str) -> Response:
    """A claims handler pays what is payable now, or part of it; `final` closes the claim. The
    form's one-time key makes a double submission pay once."""
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    number = number[:40]
    raw = str(form.get("amount") or "").strip()
    amount = french_number(raw) if raw else None
    if raw and amount is None:
        return _page(request, number, {"amount": [messages_fr.RULES["number"]]}, 422)
    key = str(form.get("key") or "")[:100] or None
    try:
        settle_claim(
            uow_of(request),
            principal,
            number,
            amount=amount,
            final=form.get("final") == "oui",
            idempotency_key=key,
        )
    except NotFound:
        return not_found_page(request)
    except InvalidInput as e:
        return _page(request, number, messages_fr.by_field(e.errors), 422)
    except NotAllowed:
        return _page(request, number, {"amount": [messages_fr.RULES["not_allowed"]]}, 403)
    except Conflict:
        return _page(request, number, {"amount": [messages_fr.RULES["claim_state"]]}, 409)
    return RedirectResponse(f"/sinistres/{number}", status_code=303)
