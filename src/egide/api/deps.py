"""The dependencies routes declare, as `Annotated` aliases:

- `SettingsDep`: the app's `Settings`;
- `UowDep`: a fresh unit of work for the request (its use case opens and commits it);
- `UowFactoryDep`: the factory, for a route that runs more than one transaction (idempotency);
- `PrincipalDep`: who acts, from the bearer token (``Authorization: Bearer egt_...``); a missing,
  unknown or expired token, a revoked client's or a disabled user's, is a 401 problem;
- `ProductDep`: the product the API prices with (loaded once, at startup);
- `require_scope(scope)`: a dependency refusing (403) a client token without that scope, for a
  route whose use case does not check it itself (the services check roles and scopes through
  `egide.domain.access.allowed`, so most routes need nothing more than `PrincipalDep`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from egide.domain.access import Principal, Scope
from egide.domain.errors import NotAllowed, NotAuthenticated
from egide.domain.product import Product
from egide.services import tokens
from egide.services.ports import UnitOfWork
from egide.settings import Settings

TOKEN_URL = "/api/v1/oauth/token"

# Documents the scheme in OpenAPI (Swagger UI's "Authorize" asks for a client id and secret);
# the header itself is read by `principal` below.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl=TOKEN_URL, scopes={s.value: s.value for s in Scope}
        )
    ),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token per API client.",
    auto_error=False,
)


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def uow_factory(request: Request) -> Callable[[], UnitOfWork]:
    factory: Callable[[], UnitOfWork] = request.app.state.uow_factory
    return factory


def uow(request: Request) -> UnitOfWork:
    return uow_factory(request)()


def product(request: Request) -> Product:
    value: Product = request.app.state.product
    return value


def principal(
    request: Request, authorization: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("a bearer token is required (POST /api/v1/oauth/token)")
    found = tokens.principal_of(uow_factory(request)(), token.strip())
    request.state.principal_ref = f"{found.kind}:{found.id}"  # for the access log
    return found


SettingsDep = Annotated[Settings, Depends(settings)]
UowDep = Annotated[UnitOfWork, Depends(uow)]
UowFactoryDep = Annotated[Callable[[], UnitOfWork], Depends(uow_factory)]
PrincipalDep = Annotated[Principal, Depends(principal)]
ProductDep = Annotated[Product, Depends(product)]


def require_scope(scope: Scope) -> Callable[[Principal], Principal]:
    """``Depends(require_scope(Scope.X))``: 403 for a client token without that scope."""

    def check(who: PrincipalDep) -> Principal:
        if who.kind == "client" and (who.scopes is None or scope not in who.scopes):
            raise NotAllowed(f"this token lacks the scope {scope.value}")
        return who

    return check
