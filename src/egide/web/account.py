"""Login (`/connexion`), logout (`/deconnexion`) and each role's home (`/espace`).

A login opens a server-side session (`egide.services.web_sessions`): its token goes in an
`HttpOnly`, `SameSite=Lax` cookie (``Secure`` under ``EGIDE_ENV=production``), and the CSRF
cookie is renewed at the same time, so nothing a visitor held before the login stays valid
after it. Failed logins are rate-limited per address and per email (the `limits` library, in
memory; shared through Redis when `EGIDE_REDIS_URL` is set) with a French message.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from egide.clock import now as clock_now
from egide.domain.access import Principal, Role
from egide.domain.errors import NotAllowed
from egide.services import accounts, web_sessions
from egide.services.results import contract
from egide.web import messages_fr
from egide.web.pages import csrf_refused, render, uow_of
from egide.web.security import CSRF_COOKIE, set_csrf_cookie

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "egide_session"
FAILED_PER_EMAIL = RateLimitItemPerMinute(5)
FAILED_PER_ADDRESS = RateLimitItemPerMinute(20)


def login_limiter(redis_url: str | None) -> MovingWindowRateLimiter:
    storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
    assert isinstance(storage, Storage)  # a synchronous storage for a synchronous limiter
    return MovingWindowRateLimiter(storage)


def current_principal(request: Request) -> Principal | None:
    """The principal of the request's session cookie (looked up once per request)."""
    if not hasattr(request.state, "principal"):
        token = request.cookies.get(SESSION_COOKIE)
        request.state.principal = (
            web_sessions.session_principal(uow_of(request), token) if token else None
        )
    principal: Principal | None = request.state.principal
    return principal


def _secure(request: Request) -> bool:
    return bool(request.app.state.web_settings.production)


@router.get("/connexion", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if current_principal(request) is not None:
        return RedirectResponse("/espace", status_code=303)
    return render(request, "connexion.html", {"email": "", "error": None})


@router.post("/connexion", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")[:1000]
    limiter: MovingWindowRateLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    keys = (("email", email.lower()), ("address", address))
    limits = (FAILED_PER_EMAIL, FAILED_PER_ADDRESS)
    if not all(limiter.test(item, *key) for item, key in zip(limits, keys, strict=True)):
        error = messages_fr.RULES["rate_limited"]
        return render(request, "connexion.html", {"email": email, "error": error}, 429)
    try:
        principal = accounts.authenticate_user(uow_of(request), email, password)
    except NotAllowed:
        for item, key in zip(limits, keys, strict=True):
            limiter.hit(item, *key)
        error = messages_fr.RULES["credentials"]
        return render(request, "connexion.html", {"email": email, "error": error}, 401)
    from egide.services import mfa
    from egide.web.mfa_pages import pending_login

    if mfa.is_enabled(uow_of(request), int(principal.id)):
        return pending_login(request, principal, "code")
    if principal.is_insurer_staff and mfa.staff_mfa_required():
        return pending_login(request, principal, "enrol")
    return start_session(request, principal, RedirectResponse("/espace", status_code=303))


def start_session(request: Request, principal: Principal, response: Response) -> Response:
    """Log `principal` in: a new session (any the browser held before ends: no session
    fixation), its cookie, and a renewed CSRF cookie, set on `response`."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        web_sessions.close_session(uow_of(request), old)
    token = web_sessions.open_session(uow_of(request), principal)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        max_age=web_sessions.SESSION_HOURS * 3600,
    )
    set_csrf_cookie(response, secrets.token_urlsafe(32), secure=_secure(request))
    request.state.csrf_cookie_set = True
    return response


@router.post("/deconnexion")
async def logout(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    web_sessions.close_session(uow_of(request), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    request.state.csrf_cookie_set = True
    return response


ROLE_LABELS = {
    Role.ESTABLISHMENT_MANAGER: "Responsable d'établissement",
    Role.BROKER: "Courtier",
    Role.UNDERWRITER: "Souscripteur",
    Role.CLAIMS_HANDLER: "Gestionnaire sinistres",
    Role.ACTUARY: "Actuaire",
    Role.ADMIN: "Administrateur",
}
QUOTE_STATUS_LABELS = {
    "priced": "Tarifé",
    "referred": "À l'étude",
    "approved": "Accepté par un souscripteur",
    "declined": "Refusé",
    "bound": "Souscrit",
}
POLICY_STATUS_LABELS = {
    "in_force": "En vigueur",
    "not_yet_in_force": "À venir",
    "expired": "Échu",
    "cancelled": "Résilié",
}


@router.get("/espace", response_class=HTMLResponse)
def space(request: Request) -> Response:
    """Each role's home: what the principal may see, newest or most urgent first."""
    from egide.services.claims import list_claims
    from egide.services.policies import list_policies
    from egide.services.quotes import list_quotes

    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    uow = uow_of(request)
    referred = Role.UNDERWRITER in principal.roles
    context: dict[str, Any] = {
        "roles": [ROLE_LABELS[r] for r in sorted(principal.roles)],
        "quotes": contract(list_quotes(uow, principal, limit=20))["items"],
        "referrals": contract(list_quotes(uow, principal, status="referred", limit=50))["items"]
        if referred
        else None,
        "policies": contract(list_policies(uow, principal, limit=20))["items"],
        "claims": contract(list_claims(uow, principal, status="open", limit=20))["items"],
        "quote_status": QUOTE_STATUS_LABELS,
        "policy_status": POLICY_STATUS_LABELS,
    }
    if principal.roles & {Role.BROKER, Role.ESTABLISHMENT_MANAGER}:
        # the establishments the principal deals with: its clients (a broker) or its own
        seen: dict[int, str] = {}
        for item in [*context["quotes"], *context["policies"]]:
            if item.get("establishment_id") is not None:
                seen.setdefault(item["establishment_id"], item["establishment"]["name"])
        if Role.ESTABLISHMENT_MANAGER in principal.roles:
            seen = {k: v for k, v in seen.items() if k == principal.organisation_id}
            seen.setdefault(principal.organisation_id, "mon établissement")
        context["clients"] = sorted(seen.items(), key=lambda kv: kv[1])
        context["broker"] = Role.BROKER in principal.roles
    if principal.roles & {Role.BROKER, Role.ESTABLISHMENT_MANAGER, Role.UNDERWRITER}:
        due = contract(list_policies(uow, principal, renewal_within_days=90, limit=100))["items"]
        context["renewals"] = renewal_pipeline(due, clock_now())
    return render(request, "espace.html", context)


NOTICE_MONTHS = 2  # art. L113-12 Code des assurances: notice of non-renewal two months ahead


def notice_deadline(period_end: date) -> date:
    """The last day to give notice of non-renewal for a term ending at 0 h on `period_end`
    (art. L113-12: at least two months before the anniversary date); the same day of the month
    two months before, or the month's last day when it has no such day."""
    year, month = period_end.year, period_end.month - NOTICE_MONTHS
    if month < 1:
        year, month = year - 1, month + 12
    day = min(period_end.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def renewal_pipeline(policies: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """The policies whose term ends within 90 days, soonest first, each in its band (7, 60 or 90
    days) with the last day for notice of non-renewal."""
    rows = []
    for p in policies:
        end = datetime.fromisoformat(p["period_end"])
        days = (end - moment).days
        band = 7 if days <= 7 else 60 if days <= 60 else 90
        notice = notice_deadline(end.date())
        rows.append(
            {
                **p,
                "days_left": days,
                "band": band,
                "notice_by": notice.isoformat(),
                "notice_passed": notice < moment.date(),
            }
        )
    return sorted(rows, key=lambda r: r["period_end"])
