"""``POST /api/v1/oauth/token``: OAuth 2.0 client credentials (RFC 6749 §4.4).

Form-encoded (``application/x-www-form-urlencoded``): ``grant_type=client_credentials``, the
client's id and secret in the body (``client_id``, ``client_secret``) or in HTTP Basic
(RFC 6749 §2.3.1), an optional ``scope`` (space-separated, a subset of the client's scopes;
without it the token carries all of them). The answer is RFC 6749 §5.1's
``{access_token, token_type: "Bearer", expires_in, scope}``; errors are RFC 6749 §5.2's
``{error, error_description}`` (not problem details: OAuth client libraries read these):
``invalid_request`` 400, ``unsupported_grant_type`` 400, ``invalid_scope`` 400,
``invalid_client`` 401. Failed attempts are rate-limited (`egide.api.ratelimit`): 429 with
``Retry-After``. An ``Idempotency-Key`` header is accepted and ignored here: replaying a token
response would mean storing the token.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from egide.api.deps import SettingsDep, UowDep
from egide.api.problems import PROBLEM_JSON
from egide.domain.errors import NotAllowed
from egide.services import tokens

router = APIRouter(tags=["authentication"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FIELD_MAX = 200


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: str
    error_description: str


def _error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **headers},
    )


def _basic(authorization: str | None) -> tuple[str, str] | None:
    """The client id and secret of an HTTP Basic header (each form-urlencoded, §2.3.1)."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _oauth_doc(status: int, what: str) -> dict[str, object]:
    return {
        "description": what,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}},
    }


@router.post(
    "/oauth/token",
    summary="Get a bearer token (OAuth 2.0 client credentials)",
    response_model=TokenOut,
    responses={
        400: _oauth_doc(400, "invalid_request, unsupported_grant_type or invalid_scope"),
        401: _oauth_doc(401, "invalid_client"),
        413: {
            "description": "Request body too large",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
        429: _oauth_doc(429, "too many failed attempts: see Retry-After"),
        500: {
            "description": "Internal error",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
def token(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> JSONResponse:
    """Exchange an API client's id and secret for a bearer token (``expires_in`` seconds)."""
    basic = _basic(authorization)
    if basic is not None and (client_id or client_secret):
        return _error(400, "invalid_request", "use either HTTP Basic or the body, not both")
    cid, secret = basic if basic is not None else (client_id or "", client_secret or "")
    if any(len(v or "") > FIELD_MAX for v in (grant_type, cid, secret, scope)):
        return _error(400, "invalid_request", f"a parameter is longer than {FIELD_MAX}")
    if not grant_type:
        return _error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _error(400, "unsupported_grant_type", "only client_credentials is supported")
    if not cid or not secret:
        return _error(400, "invalid_request", "client_id and client_secret are required")
    limiter = request.app.state.limiter
    address = limiter.address(request)
    wait = limiter.retry_after(cid, address)
    if wait is not None:
        return _error(
            429,
            "slow_down",
            "too many failed attempts: try again later",
            **{"Retry-After": str(wait)},
        )
    try:
        issued = tokens.issue_client_token(uow, cid, secret, scope, settings.token_lifetime)
    except NotAllowed:
        limiter.failed(cid, address)
        challenge = 'Basic realm="egide"' if basic is not None else 'Bearer realm="egide"'
        return _error(
            401, "invalid_client", "invalid client credentials", **{"WWW-Authenticate": challenge}
        )
    except tokens.InvalidScope as exc:
        return _error(400, "invalid_scope", "; ".join(e.message for e in exc.errors))
    request.state.principal_ref = f"client:{issued.principal.id}"
    return JSONResponse(issued.public(), headers=NO_STORE)
