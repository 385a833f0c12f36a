"""Sessions of the web application: a login opens one, each request finds its principal, a
logout closes it.

A session token is 32 random bytes (URL-safe base64) sent in an `HttpOnly` cookie; only its
SHA-256 is stored, so a database dump yields no usable session. A session ends at logout, at its
absolute expiry (`SESSION_HOURS`), and at once when its user is disabled (checked on every
request, and the disabled user's rows are deleted by `end_user_sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from egide.clock import wall_now as now  # sessions live in real time
from egide.domain.access import Principal
from egide.domain.web_session import WebSession
from egide.services.ports import UnitOfWork

SESSION_HOURS = 12  # a working day; assumption: long enough for a shift, short for a lost laptop
TOKEN_MAX = 100  # longer cookies are not ours: refused before hashing


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(uow: UnitOfWork, principal: Principal) -> str:
    """A new session for a user who has just logged in (`accounts.authenticate_user`); returns
    the token for the cookie (shown nowhere else)."""
    if principal.kind != "user":
        raise ValueError("only a user logs in to the web application")
    token = secrets.token_urlsafe(32)
    moment = now()
    with uow:
        uow.web_sessions.add(
            WebSession(
                token_hash=token_hash(token),
                user_id=int(principal.id),
                created_at=moment,
                expires_at=moment + timedelta(hours=SESSION_HOURS),
            )
        )
        uow.commit()
    return token


def session_principal(uow: UnitOfWork, token: str | None) -> Principal | None:
    """The principal of a session token; None when it is unknown, expired, closed, or its user
    is disabled."""
    from egide.services.accounts import _user_principal

    if not token or len(token) > TOKEN_MAX:
        return None
    with uow:
        session = uow.web_sessions.get(token_hash(token))
        if session is None or session.expires_at <= now():
            return None
        user = uow.accounts.user(session.user_id)
        if user is None or user.disabled:
            return None
        return _user_principal(uow, user)


def close_session(uow: UnitOfWork, token: str | None) -> None:
    """Logout: the session no longer exists, whoever holds a copy of the cookie."""
    if not token or len(token) > TOKEN_MAX:
        return
    with uow:
        uow.web_sessions.delete(token_hash(token))
        uow.commit()


def end_user_sessions(uow: UnitOfWork, user_id: int) -> None:
    """Every session of a user ends (inside the caller's unit of work: a disabled account)."""
    uow.web_sessions.delete_user(user_id)
