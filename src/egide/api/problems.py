"""RFC 9457 problem details: the one shape of every error the API answers.

``application/problem+json`` with ``type`` (a stable URN, ``urn:egide:problem:not-found``),
``title`` (the same for every problem of a type), ``status``, ``detail`` (this occurrence, in
English, never a secret, a SQL statement or a traceback) and, for invalid input, ``errors``:
``[{field, rule, message}]`` as the CLI prints them (``establishment.siret``, ``siret``).

FastAPI has no problem-details support of its own (fastapi/fastapi#512): the handlers are
written once here, for the domain's errors, FastAPI's request validation errors and Starlette's
HTTP errors (401, 404 and 405 routes); 413 and 500 (revealing nothing) come from
`egide.api.middleware`.

Routes document their problem responses with `responses(...)`: ``responses=problems.responses(
404, 409)`` adds those to the problems every route may answer (401, 403, 413, 422, 429, 500).
A route that must answer a problem the domain has no error for raises `ApiProblem`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from egide.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    ProductError,
    UnreadableRows,
)
from egide.domain.text import shown_key
from egide.services.idempotency import KeyInFlight, KeyReused

PROBLEM_JSON = "application/problem+json"
URN = "urn:egide:problem:"
log = logging.getLogger("egide.api")

# status -> (type suffix, title): the generic problem of each status
TITLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("not-allowed", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    428: ("precondition-required", "Precondition required"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}

# The house's rule codes for pydantic's error types (the same words as the domain's rules).
_RULES = {
    "missing": "required",
    "extra_forbidden": "unknown_key",
    "string_too_long": "max_length",
    "string_too_short": "min_length",
    "too_long": "max_items",
    "too_short": "min_items",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
    "enum": "choice",
    "literal_error": "choice",
    "json_invalid": "json",
    "string_pattern_mismatch": "format",
    "date_from_datetime_parsing": "format",
    "date_parsing": "format",
    "datetime_parsing": "format",
    "datetime_from_date_parsing": "format",
}


class ProblemFieldError(BaseModel):
    field: str = Field(description="Dotted path of the field (``establishment.siret``).")
    rule: str = Field(description="Stable code of the broken rule (``required``, ``siret``).")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:egide:problem:not-found"])
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = None


class ApiProblem(Exception):
    """A problem a route answers that no domain error stands for (400 for a missing header,
    412 for a stale If-Match...)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        generic_kind, generic_title = TITLES.get(status, ("error", "Error"))
        self.status, self.detail = status, detail
        self.kind, self.title = kind or generic_kind, title or generic_title
        self.errors, self.headers = errors, headers


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    generic_kind, generic_title = TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": URN + (kind or generic_kind),
        "title": title or generic_title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "rule": e.rule, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def unauthenticated(detail: str = "a valid bearer token is required") -> JSONResponse:
    return problem_response(401, detail, headers={"WWW-Authenticate": "Bearer"})


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem of a domain error (`egide.domain.errors`)."""
    if isinstance(exc, InvalidInput):
        return problem_response(422, "the input breaks one or more rules", errors=exc.errors)
    if isinstance(exc, NotAuthenticated):
        return problem_response(
            401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if isinstance(exc, NotFound):
        return problem_response(404, str(exc))
    if isinstance(exc, NotAllowed):
        return problem_response(403, str(exc))
    if isinstance(exc, KeyReused):
        return problem_response(
            422, str(exc), kind="idempotency-key-reused", title="Idempotency key reused"
        )
    if isinstance(exc, KeyInFlight):
        return problem_response(
            409, str(exc), kind="idempotency-key-in-flight", title="Request in progress"
        )
    if isinstance(exc, Conflict):
        return problem_response(409, str(exc))
    if isinstance(exc, ProductError | UnreadableRows):  # the installation's fault, not the caller's
        log.error("server-side data error: %s", type(exc).__name__)
        return problem_response(500, "internal error")
    return problem_response(400, str(exc))


# What pydantic adds to a location inside a union (``cover.limit.int``) or a mapping's key
_UNION_TAGS = {"int", "float", "str", "bool", "none", "list", "dict", "[key]"}


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [shown_key(p) for p in loc]  # a key of the body: escaped and cut
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    parts = [
        p for p in parts if p not in _UNION_TAGS and not p.startswith(("constrained-", "function-"))
    ]
    return ".".join(parts) or "(body)"


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """Pydantic's errors as the house's: field, rule, message (the value is never echoed);
    one per field and rule (a value that fits no member of a union is one type error)."""
    found: dict[tuple[str, str], FieldError] = {}
    for error in exc.errors():
        kind = str(error.get("type", "invalid"))
        rule = _RULES.get(kind) or ("type" if kind.endswith(("_type", "_parsing")) else kind)
        where = _field(tuple(error.get("loc", ())))
        found.setdefault((where, rule), FieldError(where, rule, str(error.get("msg"))))
    return list(found.values())


def install(app: FastAPI) -> None:
    """Register the problem handlers on the app."""

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(
            exc.status,
            exc.detail,
            kind=exc.kind,
            title=exc.title,
            errors=exc.errors,
            headers=exc.headers,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            422, "the request breaks one or more rules", errors=validation_errors(exc)
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        detail = {
            404: "no such resource",
            405: f"method {request.method} is not allowed here",
        }.get(status, str(exc.detail) if isinstance(exc.detail, str) else TITLES[status][1])
        if status == 401:
            return unauthenticated()
        return problem_response(status, detail, headers=getattr(exc, "headers", None))

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _doc(status: int) -> dict[str, Any]:
    return {
        "description": TITLES[status][1],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


COMMON = (401, 403, 413, 422, 429, 500)


def responses(*statuses: int, public: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` of a route: the problems every route may answer (without 401
    and 403 for a `public` route) and `statuses`."""
    common = [s for s in COMMON if not (public and s in (401, 403))]
    return {s: _doc(s) for s in sorted({*common, *statuses})}
