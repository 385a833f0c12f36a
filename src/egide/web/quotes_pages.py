"""A quote's page (`/devis/{number}`): the quote as priced, its reasons, its whole history, and
for an underwriter the review of a referral (approve or decline, with a note). A quote the
visitor may not see is the same 404 page as one that does not exist."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.domain.access import Role
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.services.audit import object_history
from egide.services.quotes import get_quote, review_quote
from egide.services.results import contract
from egide.web import messages_fr
from egide.web.account import QUOTE_STATUS_LABELS, current_principal
from egide.web.pages import csrf_refused, not_found_page, render, uow_of

router = APIRouter(include_in_schema=False)

HISTORY_LABELS = {
    "created": "Devis établi",
    "approved": "Accepté par un souscripteur",
    "declined": "Refusé par un souscripteur",
    "bound": "Contrat souscrit",
    "broker_of_record": "Changement de courtier",
}


def _page(
    request: Request, number: str, errors: dict[str, list[str]], note: str, status: int
) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        quote = contract(get_quote(uow_of(request), principal, number))
        history = object_history(uow_of(request), principal, "quote", number)
    except NotFound:
        return not_found_page(request)
    reviewer = Role.UNDERWRITER in principal.roles and quote["status"] == "referred"
    return render(
        request,
        "devis.html",
        {
            "number": number,
            "quote": quote,
            "history": history,
            "history_labels": HISTORY_LABELS,
            "status_label": QUOTE_STATUS_LABELS.get(quote["status"], quote["status"]),
            "reviewer": reviewer,
            "errors": errors,
            "note": note,
        },
        status_code=status,
    )


@router.get("/devis/{number}", response_class=HTMLResponse)
def quote_page(request: Request, number: str) -> Response:
    return _page(request, number[:40], {}, "", 200)


@router.post("/devis/{number}/examen", response_class=HTMLResponse)
async def review(request: Request, number: str) -> Response:
    """An underwriter's decision on a referral."""
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    note = str(form.get("note") or "")
    decision = form.get("decision")
    number = number[:40]
    if decision not in ("accepter", "refuser"):
        errors = {"decision": [messages_fr.RULES["choice"]]}
        return _page(request, number, errors, note, 422)
    try:
        review_quote(uow_of(request), principal, number, decision == "accepter", note)
    except NotFound:
        return not_found_page(request)
    except InvalidInput as e:
        return _page(request, number, messages_fr.by_field(e.errors), note, 422)
    except NotAllowed:
        return _page(request, number, {"decision": [messages_fr.RULES["not_allowed"]]}, note, 403)
    except Conflict:
        return _page(request, number, {"decision": [messages_fr.RULES["state"]]}, note, 409)
    return RedirectResponse(f"/devis/{number}", status_code=303)
