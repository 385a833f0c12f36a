"""The API's ASGI middleware, written as plain ASGI (no BaseHTTPMiddleware: it buffers and breaks
streaming and exception propagation):

- `BodyLimit`: a request body over `MAX_BODY_BYTES` is refused with 413 before anything parses
  it: at once when ``Content-Length`` says so, else as soon as the streamed body passes the limit;
- `SecurityHeaders`: on every response (problems and docs included);
- `AccessLog`: one JSON line per request on the ``egide.api.access`` logger: method, path (never
  the query string, which may carry data), status, duration, the client's address and who acted
  (the principal's kind and id once authenticated); never a body, a header or a token;
- `CatchAll`: anything a route lets escape becomes a 500 problem that reveals nothing (its type
  is logged, not its message, which may hold data), instead of Starlette's re-raise.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egide.api.problems import problem_response

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: an application is a few KiB

# The docs page (Swagger UI, served by the app itself) needs its own script and style files and
# inline styles it sets from script; nothing is loaded from another origin.
CSP_API = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CSP_DOCS = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
DOCS_PREFIX = "/api/docs"

access_log = logging.getLogger("egide.api.access")
log = logging.getLogger("egide.api")


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = problem_response(413, f"the request body exceeds {self.limit} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await too_large(scope, receive, send)
                    return
        seen = 0
        started = exceeded = answered = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            # once the body was too large, whatever the app answers (FastAPI turns the error
            # into a 400 "error parsing the body") is replaced by the 413
            nonlocal started, answered
            if exceeded and not started:
                if not answered:
                    answered = True
                    await too_large(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if started:
                raise
        if exceeded and not answered and not started:
            await too_large(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PREFIX)
        extra = [
            (b"content-security-policy", (CSP_DOCS if docs else CSP_API).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in present]
                if not docs and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            state: dict[str, Any] = scope.get("state", {}) or {}
            client = scope.get("client")
            line = {
                "event": "request",
                "method": scope.get("method"),
                "path": scope.get("path"),  # never the query string
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                "client": client[0] if client else None,
                "principal": state.get("principal_ref"),
            }
            access_log.info(json.dumps(line, ensure_ascii=True))


class CatchAll:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error(
                "internal error on %s %s: %s",
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
            )
            if started:
                raise
            await problem_response(500, "internal error")(scope, receive, send)
