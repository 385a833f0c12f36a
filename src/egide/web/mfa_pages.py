"""The second factor in the web (TOTP): the code asked after the password, the enrolment of a
person (required for the insurer's staff when `egide.services.mfa.staff_mfa_required`).

Between the password and the code, the browser holds a short-lived, signed "pending login"
cookie (user, step, expiry, HMAC under the web key): no session exists until the second factor
is checked, so a staff member who must use one can do nothing before enrolling.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerMinute
from limits.strategies import MovingWindowRateLimiter

from egide.domain.access import Principal
from egide.domain.errors import Conflict, InvalidInput
from egide.services import accounts, mfa
from egide.web import messages_fr
from egide.web.account import current_principal, start_session
from egide.web.pages import csrf_refused, render, uow_of

router = APIRouter(include_in_schema=False)

PENDING_COOKIE = "egide_pending"
PENDING_SECONDS = 300
CODES_PER_USER = RateLimitItemPerMinute(5)


def _sign(request: Request, text: str) -> str:
    key: bytes = request.app.state.web_key
    return hmac.new(key, b"pending login:" + text.encode(), hashlib.sha256).hexdigest()


def pending_login(request: Request, principal: Principal, step: str) -> Response:
    """After a good password: ask for the code (`step` "code") or for an enrolment ("enrol")."""
    text = f"{principal.id}.{step}.{int(time.time()) + PENDING_SECONDS}"
    target = "/connexion/code" if step == "code" else "/connexion/double-facteur"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        f"{text}.{_sign(request, text)}",
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.web_settings.production),
        path="/connexion",
        max_age=PENDING_SECONDS,
    )
    return response


def _pending(request: Request, step: str) -> Principal | None:
    raw = request.cookies.get(PENDING_COOKIE, "")[:200]
    text, _, signature = raw.rpartition(".")
    parts = text.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_sign(request, text), signature):
        return None
    user_id, kind, expires = parts
    if kind != step or not expires.isdigit() or int(expires) < time.time():
        return None
    return accounts.enabled_user_principal(uow_of(request), int(user_id))


def _finish(request: Request, principal: Principal) -> Response:
    response = start_session(request, principal, RedirectResponse("/espace", status_code=303))
    response.delete_cookie(PENDING_COOKIE, path="/connexion")
    return response


@router.get("/connexion/code", response_class=HTMLResponse)
def code_page(request: Request) -> Response:
    if _pending(request, "code") is None:
        return RedirectResponse("/connexion", status_code=303)
    return render(request, "code.html", {"error": None})


@router.post("/connexion/code", response_class=HTMLResponse)
async def code_check(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = _pending(request, "code")
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    limiter: MovingWindowRateLimiter = request.app.state.login_limiter
    if not limiter.test(CODES_PER_USER, "mfa", principal.id):
        return render(request, "code.html", {"error": messages_fr.RULES["rate_limited"]}, 429)
    if not mfa.check_code(uow_of(request), int(principal.id), str(form.get("code") or "")[:20]):
        limiter.hit(CODES_PER_USER, "mfa", principal.id)
        return render(request, "code.html", {"error": messages_fr.RULES["totp"]}, 401)
    return _finish(request, principal)


def _enrolment(
    request: Request, principal: Principal, action: str, error: str | None, status: int
) -> Response:
    try:
        secret, uri = mfa.start_enrolment(uow_of(request), principal)
    except Conflict:
        message = "La double authentification est déjà activée pour votre compte."
        context = {"title": "Double authentification", "message": message}
        return render(request, "erreur.html", context)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(
        request,
        "double_facteur.html",
        {"secret": grouped, "uri": uri, "action": action, "error": error},
        status_code=status,
    )


@router.get("/connexion/double-facteur", response_class=HTMLResponse)
def enrol_at_login(request: Request) -> Response:
    principal = _pending(request, "enrol")
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    return _enrolment(request, principal, "/connexion/double-facteur", None, 200)


@router.get("/espace/double-facteur", response_class=HTMLResponse)
def enrol(request: Request) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    return _enrolment(request, principal, "/espace/double-facteur", None, 200)


async def _confirm(request: Request, principal: Principal | None, action: str) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        mfa.confirm_enrolment(uow_of(request), principal, str(form.get("code") or "")[:20])
    except InvalidInput:
        return _enrolment(request, principal, action, messages_fr.RULES["totp"], 422)
    if action.startswith("/connexion"):
        return _finish(request, principal)
    return RedirectResponse("/espace", status_code=303)


@router.post("/connexion/double-facteur", response_class=HTMLResponse)
async def confirm_at_login(request: Request) -> Response:
    return await _confirm(request, _pending(request, "enrol"), "/connexion/double-facteur")


@router.post("/espace/double-facteur", response_class=HTMLResponse)
async def confirm(request: Request) -> Response:
    return await _confirm(request, current_principal(request), "/espace/double-facteur")
