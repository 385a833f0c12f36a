"""Bearer tokens of the HTTP API: issued to an API client (OAuth 2.0 client credentials, RFC 6749
§4.4), read back into the principal of every request.

- A token is ``egt_`` and 256 random bits (`secrets.token_urlsafe`): opaque, it means nothing
  without the database. Only its SHA-256 is stored (a fast hash suffices: the token cannot be
  guessed, so nothing is to be gained by trying candidates against a dump); a database dump
  yields no usable token.
- It expires after the configured lifetime (``EGIDE_TOKEN_LIFETIME``, one hour by default).
- Every request reads the token's client (or user) again: a revoked client's tokens, a disabled
  user's, stop working at once, not when they expire.
- A token carries the scopes asked for, a subset of its client's (all of them when none are
  asked); a scope the client does not hold is `InvalidScope`.

Why opaque tokens rather than signed ones (JWT): a signed token cannot be revoked before it
expires without a lookup anyway, and revocation "at once" is the rule here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from egide.clock import now
from egide.domain.access import Principal, Scope
from egide.domain.errors import FieldError, InvalidInput, NotAuthenticated
from egide.domain.tokens import AccessToken
from egide.services import accounts
from egide.services.ports import UnitOfWork

TOKEN_PREFIX = "egt_"
MAX_TOKEN_LENGTH = 200  # longer is no token of ours: refused before any hashing or lookup


class InvalidScope(InvalidInput):
    """A scope asked for that does not exist or that the client does not hold (RFC 6749
    ``invalid_scope``)."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token, shown this once (only its hash is kept)."""

    access_token: str
    expires_in: int  # seconds
    scopes: frozenset[Scope]
    principal: Principal

    def public(self) -> dict[str, object]:
        """The token response of RFC 6749 §5.1."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(sorted(s.value for s in self.scopes)),
        }

    def __repr__(self) -> str:  # never the token
        return f"IssuedToken(expires_in={self.expires_in}, scopes={sorted(self.scopes)!r})"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def requested_scopes(scope: str | None) -> frozenset[Scope] | None:
    """The scopes of an OAuth ``scope`` parameter (space-separated); None when not given."""
    if scope is None or not scope.strip():
        return None
    chosen: set[Scope] = set()
    for word in scope.split():
        try:
            chosen.add(Scope(word))
        except ValueError:
            raise InvalidScope(
                [FieldError("scope", "unknown", f"{word[:60]!r} is not a scope")]
            ) from None
    return frozenset(chosen)


def _new_token(
    uow: UnitOfWork,
    *,
    lifetime: int,
    client_id: str | None,
    user_id: int | None,
    scopes: frozenset[Scope] | None,
) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    uow.tokens.add(
        AccessToken(
            id=0,
            token_hash=token_hash(token),
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            created_at=moment,
            expires_at=moment + timedelta(seconds=lifetime),
        )
    )
    return token


def issue_client_token(
    uow: UnitOfWork, client_id: str, secret: str, scope: str | None, lifetime: int
) -> IssuedToken:
    """A token for an API client (RFC 6749 §4.4): NotAllowed for wrong credentials or a revoked
    client (whichever it is), InvalidScope for a scope the client does not hold. The issue is
    recorded (the client's last use, "token issued" in the audit trail) with the token, in one
    transaction."""
    asked = requested_scopes(scope)  # a malformed scope is refused before any lookup
    with uow:
        client, principal = accounts.verified_client(uow, client_id, secret)
        granted = client.scopes if asked is None else asked
        if not granted <= client.scopes:
            extra = ", ".join(sorted(s.value for s in granted - client.scopes))
            raise InvalidScope([FieldError("scope", "not_granted", f"not held by client: {extra}")])
        token = _new_token(
            uow, lifetime=lifetime, client_id=client.client_id, user_id=None, scopes=granted
        )
        principal = accounts.client_principal(uow, client, granted)
        accounts.record_client_use(uow, client, principal)
        uow.commit()
    return IssuedToken(token, lifetime, granted, principal)


def issue_user_token(uow: UnitOfWork, principal: Principal, lifetime: int) -> str:
    """A token acting for a user who has just authenticated (`accounts.authenticate_user`)."""
    if principal.kind != "user":
        raise ValueError("issue_user_token needs a user's principal")
    with uow:
        token = _new_token(
            uow, lifetime=lifetime, client_id=None, user_id=int(principal.id), scopes=None
        )
        uow.commit()
    return token


def principal_of(uow: UnitOfWork, token: str) -> Principal:
    """The principal a bearer token acts for; NotAuthenticated for an unknown or expired token,
    a revoked client's or a disabled user's (the same error, whichever it is)."""
    refused = NotAuthenticated("invalid or expired token")
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise refused
    with uow:
        found = uow.tokens.by_hash(token_hash(token))
        if found is None or found.expired(now()):
            raise refused
        if found.client_id is not None:
            client = uow.accounts.client(found.client_id)
            if client is None or client.revoked:
                raise refused
            return accounts.client_principal(uow, client, found.scopes)
        assert found.user_id is not None  # a token acts for a client or a user
        user = uow.accounts.user(found.user_id)
        if user is None or user.disabled:
            raise refused
        return accounts.user_principal(uow, user)


def purge_expired(uow: UnitOfWork) -> int:
    """Forget the expired tokens (they authenticate nothing already); how many."""
    with uow:
        count = uow.tokens.delete_expired(now())
        uow.commit()
    return count
