"""The web application's plumbing: templates, static files, rendering with the CSRF token, and
`mount_web`, which adds the pages to an application (`egide.api.app.create_app` calls it)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from egide.domain.money import fmt_eur
from egide.domain.product import Product
from egide.services.ports import UnitOfWork
from egide.settings import Settings
from egide.web.security import CSRF_FIELD, WebSecurity, csrf_token_for, csrf_valid, web_key

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")  # autoescape is on for .html


def _eur(value: object) -> str:
    return fmt_eur(Decimal(str(value)))


def _eur_whole(value: object) -> str:
    """``100 000 €``: amounts of options, without cents."""
    return _eur(value).replace(",00", "")


def _num(value: object) -> str:
    """``7.9`` as ``7,9``; ``15.0`` as ``15``."""
    number = Decimal(str(value)).quantize(Decimal("0.1")).normalize()
    return f"{number:f}".replace(".", ",")


def _field_id(path: str) -> str:
    """The HTML id of a field's dotted path: ``costs[0].amount`` -> ``costs-0--amount``."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", path)


templates.env.filters["eur"] = _eur
templates.env.filters["fid"] = _field_id
templates.env.filters["num"] = _num
templates.env.filters["eur0"] = _eur_whole


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


def web_product(request: Request) -> Product:
    """The product new quotes are priced with (the application's catalogue)."""
    product: Product = _state(request, "web_product")
    return product


def uow_of(request: Request) -> UnitOfWork:
    """A fresh unit of work of the application's database."""
    factory: Callable[[], UnitOfWork] = _state(request, "web_uow_factory")
    return factory()


def csrf_token(request: Request) -> str:
    return csrf_token_for(_state(request, "web_key"), request.state.csrf_seed)


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    from egide.web.account import current_principal

    user = current_principal(request)
    return templates.TemplateResponse(
        request,
        template,
        {**context, "csrf_token": csrf_token(request), "csrf_field": CSRF_FIELD, "user": user},
        status_code=status_code,
    )


def not_found_page(request: Request) -> Response:
    """The one 404 page: a missing object and another tenant's look the same."""
    return render(
        request,
        "erreur.html",
        {
            "title": "Page introuvable",
            "message": "Cette page n'existe pas, ou vous n'y avez pas accès.",
        },
        status_code=404,
    )


def csrf_refused(request: Request, form: FormData) -> Response | None:
    """A 403 page when the form's token does not match the visitor's cookie, else None."""
    token = form.get(CSRF_FIELD)
    seed = request.cookies.get("egide_csrf")
    if csrf_valid(_state(request, "web_key"), seed, token if isinstance(token, str) else None):
        return None
    return render(
        request,
        "erreur.html",
        {
            "title": "Formulaire expiré",
            "message": "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page "
            "et recommencez : rien n'a été enregistré.",
        },
        status_code=403,
    )


def mount_web(
    app: FastAPI,
    settings: Settings,
    product: Product,
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    """Add the web application's pages, static files and security middleware to `app`, on the
    settings, product and database `egide.api.app.create_app` built (nothing built twice)."""
    from egide.web import (
        account,
        admin_pages,
        bind_pages,
        claims_pages,
        invitation_pages,
        mfa_pages,
        policies_pages,
        portfolio_pages,
        quotes_pages,
    )
    from egide.web.routes import router

    app.state.web_settings = settings
    app.state.web_uow_factory = uow_factory
    redis = settings.redis_url.get_secret_value() if settings.redis_url else None
    app.state.login_limiter = account.login_limiter(redis)
    app.state.web_key = web_key(settings)
    app.state.web_product = product
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(WebSecurity, secure_cookies=settings.production)
    app.include_router(router)
    app.include_router(account.router)
    app.include_router(quotes_pages.router)
    app.include_router(claims_pages.router)
    app.include_router(policies_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(mfa_pages.router)
    app.include_router(bind_pages.router)
    app.include_router(portfolio_pages.router)
    app.include_router(invitation_pages.router)

    from starlette.exceptions import HTTPException

    fallback = app.exception_handlers.get(HTTPException)  # the API's problem details, if any

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api"):
            if fallback is not None:
                found = fallback(request, exc)
                return await found if inspect.isawaitable(found) else found
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return not_found_page(request)
