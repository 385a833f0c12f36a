"""What every page of the web application gets: security headers and the CSRF token.

CSRF: every visitor gets a random, `HttpOnly`, `SameSite=Lax` cookie (``Secure`` under
``EGIDE_ENV=production``); every form carries ``csrf_token`` = HMAC-SHA256 of that cookie under a
server key, and every POST of the web is refused (403, nothing written) unless the field matches
the cookie. Written here rather than taken from starlette-csrf, which reads its token from a
header only: plain HTML forms send a form field (see DESIGN.md, "Known traps").

The key is derived from the server key (`EGIDE_SECRET_KEY`, `egide.settings.server_key`) under
a label of its own, so that no two uses share a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from egide.settings import Settings, server_key

CSRF_COOKIE = "egide_csrf"
CSRF_FIELD = "csrf_token"

# No inline script or style anywhere: scripts and styles come from /static only.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
WEB_HEADERS = {
    "Content-Security-Policy": WEB_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def web_key(settings: Settings) -> bytes:
    """The key of the web's CSRF tokens and login steps, derived from the server key."""
    return hmac.new(server_key(settings), b"egide web csrf v1", hashlib.sha256).digest()


def csrf_token_for(key: bytes, seed: str) -> str:
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, seed: str | None, token: str | None) -> bool:
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token_for(key, seed), token)


class WebSecurity(BaseHTTPMiddleware):
    """Security headers on every page (the API sets its own) and the CSRF cookie of visitors who
    have none yet (`request.state.csrf_seed` is the cookie's value for the templates)."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool, api_prefix: str = "/api") -> None:
        super().__init__(app)
        self.secure = secure_cookies
        self.api_prefix = api_prefix

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith(self.api_prefix):
            return await call_next(request)
        seed = request.cookies.get(CSRF_COOKIE)
        new_seed = None
        if not seed or len(seed) > 100:
            seed = new_seed = secrets.token_urlsafe(32)
        request.state.csrf_seed = seed
        response = await call_next(request)
        for name, value in WEB_HEADERS.items():
            response.headers.setdefault(name, value)
        if new_seed and not getattr(request.state, "csrf_cookie_set", False):
            set_csrf_cookie(response, new_seed, secure=self.secure)
        return response


def set_csrf_cookie(response: Response, seed: str, *, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=secure, path="/")
