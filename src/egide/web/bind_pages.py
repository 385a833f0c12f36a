"""Before binding, French distribution law, then the bind (`/devis/{number}/souscrire`).

The page shows the IPID and the fiche de devoir de conseil (PDF), the hand-over of both is
recorded when the visitor confirms having received them (the page carries the SHA-256 of the
versions it showed: a document that changed since is refused and shown again), and only then
the bind is offered. The bind use case checks the hand-over itself for the web channel: a bind
posted without it is refused, whatever the page did."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.clock import now as clock_now
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.domain.policy import paris_date
from egide.services import distribution
from egide.services.results import contract
from egide.web import messages_fr
from egide.web.account import current_principal
from egide.web.pages import csrf_refused, not_found_page, render, uow_of

router = APIRouter(include_in_schema=False)

DOCUMENT_FILES = {"ipid": "ipid.pdf", "devoir_de_conseil": "devoir-de-conseil.pdf"}


def _page(
    request: Request, number: str, errors: dict[str, list[str]], status: int = 200
) -> Response:
    from egide.services.quotes import get_quote

    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        quote = contract(get_quote(uow_of(request), principal, number))
        handover = distribution.handover_status(uow_of(request), principal, number)
    except NotFound:
        return not_found_page(request)
    return render(
        request,
        "souscrire.html",
        {
            "number": number,
            "quote": quote,
            "handover": handover,
            "files": DOCUMENT_FILES,
            "today": paris_date(clock_now()).isoformat(),
            "errors": errors,
        },
        status_code=status,
    )


@router.get("/devis/{number}/souscrire", response_class=HTMLResponse)
def bind_page(request: Request, number: str) -> Response:
    return _page(request, number[:40], {})


@router.get("/devis/{number}/{name}.pdf")
def document(request: Request, number: str, name: str) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    render_one = {"ipid": distribution.ipid_pdf, "devoir-de-conseil": distribution.advice_pdf}
    if name not in render_one:
        return not_found_page(request)
    try:
        doc = render_one[name](uow_of(request), principal, number[:40])
    except NotFound:
        return not_found_page(request)
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'},
    )


@router.post("/devis/{number}/documents", response_class=HTMLResponse)
async def handed_over(request: Request, number: str) -> Response:
    """The visitor confirms having received and read both documents, as the page showed them."""
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    number = number[:40]
    if form.get("received") != "oui":
        return _page(request, number, {"received": [messages_fr.RULES["received"]]}, 422)
    uow = uow_of(request)
    try:
        current = {
            "ipid": distribution.ipid_pdf(uow, principal, number),
            "devoir_de_conseil": distribution.advice_pdf(uow, principal, number),
        }
        if any(form.get(f"sha256.{k}") != doc.sha256 for k, doc in current.items()):
            return _page(request, number, {"received": [messages_fr.RULES["stale_document"]]}, 409)
        distribution.record_handover(
            uow, principal, number, "web", {k: doc.pdf for k, doc in current.items()}
        )
    except NotFound:
        return not_found_page(request)
    except NotAllowed:
        return _page(request, number, {"received": [messages_fr.RULES["not_allowed"]]}, 403)
    except InvalidInput:
        return _page(request, number, {"received": [messages_fr.RULES["stale_document"]]}, 409)
    return RedirectResponse(f"/devis/{number}/souscrire#souscription", status_code=303)


@router.post("/devis/{number}/souscription", response_class=HTMLResponse)
async def bind(request: Request, number: str) -> Response:
    from egide.services.policies import bind_quote

    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    number = number[:40]
    start = str(form.get("start") or "").strip()
    try:
        date.fromisoformat(start)
    except ValueError:
        return _page(request, number, {"start": [messages_fr.RULES["date"]]}, 422)
    try:
        policy = contract(
            bind_quote(
                uow_of(request),
                principal,
                number,
                start=start,
                idempotency_key=str(form.get("key") or "")[:100] or None,
                channel="web",
            )
        )
    except NotFound:
        return not_found_page(request)
    except InvalidInput as e:
        return _page(request, number, messages_fr.by_field(e.errors), 422)
    except NotAllowed:
        return _page(request, number, {"start": [messages_fr.RULES["not_allowed"]]}, 403)
    except Conflict as e:
        return _page(request, number, {"start": [messages_fr.conflict_message(e)]}, 409)
    return RedirectResponse(f"/contrats/{policy['policy_number']}", status_code=303)
