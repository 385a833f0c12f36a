"""Inviting a person to an establishment's account (`/invitations`), and using the invitation
(`/invitation/{token}`). The link is shown once to whoever invites (Égide sends no e-mail: they
pass it on); the invited person chooses a password and becomes the establishment's manager."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.services import invitations
from egide.web import messages_fr
from egide.web.account import current_principal, start_session
from egide.web.pages import csrf_refused, render, uow_of

router = APIRouter(include_in_schema=False)

GONE = "Cette invitation n'existe pas, a déjà servi ou a expiré."


def _gone(request: Request) -> Response:
    return render(request, "erreur.html", {"title": "Invitation", "message": GONE}, 404)


@router.post("/invitations", response_class=HTMLResponse)
async def invite(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    raw = str(form.get("organisation_id") or "")
    email = str(form.get("email") or "")[:254]
    message: str | None = None
    token = None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        message = messages_fr.RULES["required"]
    else:
        try:
            token = invitations.invite(uow_of(request), principal, int(raw), email)
        except InvalidInput as e:
            message = " ".join(m for ms in messages_fr.by_field(e.errors).values() for m in ms)
        except NotFound:
            message = "Cet établissement n'existe pas, ou vous ne pouvez pas y inviter."
        except NotAllowed:
            message = messages_fr.RULES["not_allowed"]
        except Conflict as e:
            message = messages_fr.conflict_message(e)
    if token is None:
        context = {"title": "Invitation", "message": message or GONE}
        return render(request, "erreur.html", context, 422)
    link = f"{str(request.base_url).rstrip('/')}/invitation/{token}"
    return render(request, "invitation_creee.html", {"email": email.strip(), "link": link})


@router.get("/invitation/{token}", response_class=HTMLResponse)
def invitation(request: Request, token: str) -> Response:
    found = invitations.pending(uow_of(request), token)
    if found is None:
        return _gone(request)
    invited, org = found
    context = {"token": token, "email": invited.email, "organisation": org.name, "error": None}
    return render(request, "invitation.html", context)


@router.post("/invitation/{token}", response_class=HTMLResponse)
async def accept(request: Request, token: str) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    found = invitations.pending(uow_of(request), token)
    if found is None:
        return _gone(request)
    invited, org = found
    try:
        principal = invitations.accept(uow_of(request), token, str(form.get("password") or ""))
    except InvalidInput as e:
        error = " ".join(m for ms in messages_fr.by_field(e.errors).values() for m in ms)
        context = {"token": token, "email": invited.email, "organisation": org.name, "error": error}
        return render(request, "invitation.html", context, 422)
    except (NotFound, Conflict):
        return _gone(request)
    return start_session(request, principal, RedirectResponse("/espace", status_code=303))
