"""The HTTP API's app factory: `create_app(settings)` builds everything; nothing is created when
this module is imported.

What it builds, on ``app.state``:

- ``settings``: the `Settings` given (default: from the environment), checked as the CLI checks
  them (`check_environment`: production refuses placeholder secrets and a replay clock);
- ``engine`` and ``uow_factory``: a SQLAlchemy engine on ``EGIDE_DATABASE_URL``, the schema
  brought up to date as the CLI's ``open_uow`` does, and a factory of units of work on it;
- ``product``: the product the API prices with (``EGIDE_PRODUCT_FILE``, else the packaged one);
- ``limiter``: the token endpoint's rate limiter (`egide.api.ratelimit`);
- ``in_process_worker``: whether ``egide serve`` asked for the in-process delivery loop;
- ``on_startup`` / ``on_shutdown``: lists of hooks, each ``hook(app)`` (a plain function or a
  coroutine function). Startup hooks run in order when the server starts, shutdown hooks in
  reverse order when it stops (the engine's disposal, the first one, runs last). Other parts
  append theirs in `create_app` (the webhook delivery loop, marking interrupted portfolio runs
  failed); a hook that starts background work starts a task (``asyncio.create_task``), keeps it
  on ``app.state`` and returns, and its shutdown hook stops it. The first startup hook forgets
  expired tokens and idempotency keys older than their retention, then again every hour.

Routes live under ``/api/v1`` (one router per resource, `egide.api.routers`), the OpenAPI
document at ``/api/v1/openapi.json``, the interactive docs at ``/api/docs`` (Swagger UI, its
files served by the app itself: `egide.api.docs`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from egide.settings import Settings, get_settings

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
Hook = Callable[[FastAPI], Awaitable[None] | None]

DESCRIPTION = """Cyber insurance for French healthcare establishments, over HTTP.

Authenticate with OAuth 2.0 client credentials (`POST /api/v1/oauth/token`) and send the token
as `Authorization: Bearer ...`. Errors are RFC 9457 problem details
(`application/problem+json`). Every POST accepts an `Idempotency-Key` header: a retry with the
same key and body replays the first response (keys are kept 24 hours).
"""


HOUSEKEEPING_SECONDS = 3600  # how often expired tokens and old idempotency keys are forgotten


def _forget_expired(app: FastAPI) -> None:
    from egide.services import idempotency, tokens

    tokens.purge_expired(app.state.uow_factory())
    idempotency.purge(app.state.uow_factory())


async def _start_housekeeping(app: FastAPI) -> None:
    """Forget expired tokens and old idempotency keys now, then every hour while serving."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    async def loop() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await run_in_threadpool(_forget_expired, app)
            except Exception as exc:  # a database hiccup must not stop the server
                logging.getLogger("egide.api").error("housekeeping failed: %s", type(exc).__name__)

    await run_in_threadpool(_forget_expired, app)  # before the first request
    app.state.housekeeping = asyncio.create_task(loop())


async def _stop_housekeeping(app: FastAPI) -> None:
    import asyncio
    import contextlib

    task = getattr(app.state, "housekeeping", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    for hook in list(app.state.on_startup):
        await _run(hook, app)
    try:
        yield
    finally:
        for hook in reversed(list(app.state.on_shutdown)):
            await _run(hook, app)


async def _run(hook: Hook, app: FastAPI) -> None:
    result = hook(app)
    if inspect.isawaitable(result):
        await result


def create_app(settings: Settings | None = None, *, in_process_worker: bool = False) -> FastAPI:
    """The API on `settings` (default: from the environment)."""
    from egide.api import background, docs, middleware, problems, ratelimit
    from egide.api.routers import (
        claims,
        oauth,
        policies,
        portfolio_runs,
        product,
        quotes,
        webhooks,
    )
    from egide.db.engine import make_engine, make_session_factory
    from egide.db.migrate import ensure_schema
    from egide.db.uow import SqlUnitOfWork
    from egide.domain.product import load_product
    from egide.settings import check_environment

    settings = settings or get_settings()
    check_environment(settings)
    engine = make_engine(settings.database_url)
    ensure_schema(engine, settings.database_url)

    app = FastAPI(
        title="Égide API",
        version="1",
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    sessions = make_session_factory(engine)
    app.state.uow_factory = lambda: SqlUnitOfWork(sessions)
    app.state.product = load_product(Path(settings.product_file) if settings.product_file else None)
    app.state.limiter = ratelimit.TokenRateLimiter(settings)
    app.state.in_process_worker = in_process_worker
    app.state.on_startup = [_start_housekeeping]
    app.state.on_shutdown = [lambda _app: engine.dispose(), _stop_housekeeping]

    problems.install(app)
    for router in (
        oauth.router,
        product.router,
        quotes.router,
        policies.router,
        claims.router,
        portfolio_runs.router,
        webhooks.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    background.install(app)  # the webhook worker and the job runner, unless --no-worker
    docs.install(app)
    _with_problem_schema(app)
    # The French web application (`egide.web`): the same settings, product and database; its
    # pages outside /api, with their own security headers and CSRF (inner to the API's).
    from egide.web.pages import mount_web

    mount_web(app, settings, app.state.product, app.state.uow_factory)

    # Outermost last: the access log sees every response, security headers are on every
    # response (413 and 500 included), the catch-all turns escaped errors into problems.
    app.add_middleware(middleware.BodyLimit)
    app.add_middleware(middleware.CatchAll)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
            expose_headers=["ETag", "Location", "Retry-After"],
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=600,
        )
    app.add_middleware(middleware.SecurityHeaders)
    app.add_middleware(middleware.AccessLog)
    return app


def _with_problem_schema(app: FastAPI) -> None:
    """Add the problem-details schema to the OpenAPI components (routes refer to it by
    ``$ref`` under ``application/problem+json``, see `problems.responses`)."""
    from fastapi.openapi.utils import get_openapi

    from egide.api.problems import Problem
    from egide.api.routers.oauth import OAuthError

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, OAuthError):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in found.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
