"""``Idempotency-Key`` on every POST (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"), implemented once here on top of `egide.services.idempotency`:

- the header is a string of 1 to 100 printable characters; the draft's structured-field form
  (``"8e03978e-..."``, in double quotes) and a bare token are both accepted;
- keys are scoped to the principal's organisation (as in the CLI);
- the first request with a key reserves it (committed at once), runs, and stores its status,
  body and headers; a retry with the same key and the same request (method, path, query and
  body) replays them, with ``Idempotent-Replayed: true``;
- the same key with another request is 422 (``urn:egide:problem:idempotency-key-reused``);
- a retry while the first request is still running is 409
  (``urn:egide:problem:idempotency-key-in-flight``);
- a request that fails (any error) releases its key: a retry runs again;
- keys are kept `egide.services.idempotency.RETENTION` (24 hours), then forgotten.

Use it in a route::

    def create(request: Request, who: PrincipalDep, body: X, key: IdempotencyKeyDep):
        return idempotent(request, who, key, body, lambda: Outcome(201, contract(service(...))))

For a use case that takes an idempotency key itself (bind, endorse, pay...), pass the key to it
as well: the edge's reservation (stored under an ``http:`` namespace) gives the 409 and the
exact replay; the use case's own key, stored with its work in one transaction, guarantees that
the work is done once even if the process dies between the work and the edge's record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from egide.api.problems import ApiProblem
from egide.domain.access import Principal
from egide.domain.errors import FieldError
from egide.services import idempotency
from egide.services.ports import UnitOfWork

NAMESPACE = "http:"
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Outcome:
    """What a route answers: status, JSON body, headers (ETag, Location...)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _parse(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the draft's sf-string
        key = key[1:-1]
    if not key or len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable():
        raise ApiProblem(
            400,
            f"{HEADER} must be 1 to {idempotency.MAX_KEY_LENGTH} printable characters",
            errors=[FieldError(HEADER, "format", "is not a valid idempotency key")],
        )
    return key


def idempotency_key(
    value: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=idempotency.MAX_KEY_LENGTH + 2,
            description="A unique key per request (IETF httpapi draft): a retry with the same "
            "key and body replays the first response; kept 24 hours.",
        ),
    ] = None,
) -> str | None:
    return _parse(value)


def required_idempotency_key(
    value: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=idempotency.MAX_KEY_LENGTH + 2,
            description="Required: a unique key per request (IETF httpapi draft).",
        ),
    ] = None,
) -> str:
    key = _parse(value)
    if key is None:
        raise ApiProblem(
            400,
            f"this request needs an {HEADER} header",
            kind="idempotency-key-missing",
            title="Idempotency key required",
            errors=[FieldError(HEADER, "required", "is required")],
        )
    return key


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
RequiredIdempotencyKeyDep = Annotated[str, Depends(required_idempotency_key)]


def _response(outcome: Outcome, replayed: bool = False) -> JSONResponse:
    headers = dict(outcome.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def idempotent(
    request: Request,
    principal: Principal,
    key: str | None,
    body: Any,
    work: Callable[[], Outcome],
) -> JSONResponse:
    """Run `work` once per key (see the module doc); without a key, just run it."""
    if key is None:
        return _response(_encoded(work()))
    uows: Callable[[], UnitOfWork] = request.app.state.uow_factory
    route = request.scope.get("route")
    operation = f"{request.method} {getattr(route, 'path', request.url.path)}"[:60]
    fingerprint = {
        "path": request.url.path,
        "query": sorted(request.query_params.multi_items()),
        "body": _exact(jsonable_encoder(body)),
    }
    org = principal.organisation_id
    stored = idempotency.reserve(uows(), org, key, operation, fingerprint, namespace=NAMESPACE)
    if stored is not None:
        return _response(Outcome(stored["status"], stored["body"], stored["headers"]), True)
    try:
        outcome = _encoded(work())
    except BaseException:
        idempotency.release(uows(), org, key, namespace=NAMESPACE)
        raise
    idempotency.complete(
        uows(),
        org,
        key,
        {"status": outcome.status, "body": outcome.body, "headers": outcome.headers},
        namespace=NAMESPACE,
    )
    return _response(outcome)


def _exact(value: Any) -> Any:
    """The body with each float written out exactly and marked (the fingerprint's canonical
    JSON takes no floats, and ``0.06`` must not match the string ``"0.06"``)."""
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def _encoded(outcome: Outcome) -> Outcome:
    return Outcome(outcome.status, jsonable_encoder(outcome.body), dict(outcome.headers))
