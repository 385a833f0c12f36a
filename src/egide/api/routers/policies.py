"""Policies over HTTP: bind a quote, list, show, endorse, cancel, reinstate, renew, documents.

Each route parses its input, calls one use case of `egide.services.policies` and translates its
result (`egide.services.results.contract`: the JSON of ``egide policy ... --json``) and its errors
(`egide.api.problems`). The HTTP semantics on top:

- a policy's ``ETag`` is its version (``"3"``), on a read and after every change;
- a change takes ``If-Match`` (one ETag): its version is the use case's ``expected_version``, and
  a policy no longer at that version answers 412. Without ``If-Match`` the CLI's rule applies:
  the version read while the change is prepared, a concurrent change answering 409;
- ``Idempotency-Key`` is required on bind and on every change (400 without it): the edge's
  reservation replays a retry and answers 409 while the first request runs, 422 for another body
  with the key (`egide.api.idempotency`); the use case stores the same key with its work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from egide.api import problems
from egide.api.deps import PrincipalDep, ProductDep, UowDep
from egide.api.idempotency import Outcome, RequiredIdempotencyKeyDep, idempotent
from egide.api.problems import ApiProblem
from egide.api.schemas.common import Page
from egide.api.schemas.policies import (
    BindIn,
    BoundPolicy,
    CancelIn,
    Documents,
    EndorseIn,
    Policy,
    PolicySummary,
    ReinstateIn,
    RenewIn,
    Transaction,
)
from egide.domain.access import Principal
from egide.domain.errors import FieldError, InvalidInput
from egide.domain.text import NUMBER_MAX
from egide.services import policies
from egide.services.pages import PAGE_MAX
from egide.services.results import contract

router = APIRouter(tags=["policies"])

PDF = "application/pdf"
Number = Annotated[str, Path(max_length=NUMBER_MAX, description="The policy's number.")]
QuoteNumber = Annotated[str, Path(max_length=NUMBER_MAX, description="The quote's number.")]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The policy\'s ETag as read (``"3"``): 412 if the policy changed since.',
    ),
]
CHANGE_PROBLEMS = problems.responses(400, 404, 409, 412)


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (None without one, or for ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
    if not (inner.isascii() and inner.isdigit() and len(inner) < 10):
        raise InvalidInput(
            [FieldError("If-Match", "etag", 'must be one ETag of the policy, e.g. "3"')]
        )
    return int(inner)


def _etag(data: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{data["version"]}"'}


def _change(
    request: Request,
    who: Principal,
    key: str,
    body: Any,
    if_match: str | None,
    run: Callable[[], Any],
) -> JSONResponse:
    """Run a change once per key; a stale version is 412 when the request carried If-Match
    (409 otherwise: a conflict the caller did not guard against)."""

    def work() -> Outcome:
        try:
            data = contract(run())
        except policies.StaleVersion as exc:
            if if_match is None:
                raise
            raise ApiProblem(412, str(exc)) from None
        return Outcome(201, data, _etag(data))

    return idempotent(request, who, key, body, work)


@router.post(
    "/quotes/{number}/bind",
    summary="Bind an accepted quote into a one-year claims-made policy",
    status_code=201,
    response_model=BoundPolicy,
    responses=problems.responses(400, 404, 409),
)
def bind(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    number: QuoteNumber,
    body: BindIn,
    key: RequiredIdempotencyKeyDep,
) -> JSONResponse:
    """A quote binds once: binding it again with the same start answers the first policy."""

    def work() -> Outcome:
        data = contract(
            policies.bind_quote(
                uow,
                who,
                number,
                idempotency_key=key,
                start=body.start,
                retroactive_date=body.retroactive_date,
                channel="api",  # the partner's system attests it handed the documents over
            )
        )
        return Outcome(201, data, _etag(data))

    return idempotent(request, who, key, body, work)


@router.get(
    "/policies",
    summary="The policies you may see, newest first",
    response_model=Page[PolicySummary],
    responses=problems.responses(),
)
def list_policies(
    who: PrincipalDep,
    uow: UowDep,
    in_force_on: Annotated[date | None, Query(description="In force on this day.")] = None,
    renewal_within: Annotated[
        int | None,
        Query(
            ge=0, le=366, description="In force now, its term ending within N days, not renewed."
        ),
    ] = None,
    establishment: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="An establishment's id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    page = policies.list_policies(
        uow,
        who,
        in_force_on=policies.parse_as_of(in_force_on.isoformat()) if in_force_on else None,
        renewal_within_days=renewal_within,
        establishment_id=establishment,
        cursor=cursor,
        limit=limit,
    )
    return contract(page)


@router.get(
    "/policies/{number}",
    summary="The cover in force on a moment (default now) and the whole history",
    response_model=Policy,
    responses=problems.responses(404),
)
def show(
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    response: Response,
    as_of: Annotated[
        str | None,
        Query(max_length=40, description="A date (YYYY-MM-DD) or a date-time with its offset."),
    ] = None,
) -> dict[str, Any]:
    data = contract(policies.get_policy(uow, who, number, policies.parse_as_of(as_of)))
    response.headers.update(_etag(data))
    return data


@router.post(
    "/policies/{number}/endorsements",
    summary="Change answers or cover from a date, re-rated pro rata temporis",
    status_code=201,
    response_model=Transaction,
    responses=CHANGE_PROBLEMS,
)
def endorse(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    body: EndorseIn,
    key: RequiredIdempotencyKeyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    version = expected_version(if_match)
    return _change(
        request,
        who,
        key,
        body,
        if_match,
        lambda: policies.endorse_policy(
            uow,
            who,
            number,
            body.effective,
            body.set,
            idempotency_key=key,
            expected_version=version,
            underwriter_note=body.underwriter_note,
        ),
    )


@router.post(
    "/policies/{number}/cancellation",
    summary="Cancel from a date (refunded or not as the product says for the reason)",
    status_code=201,
    response_model=Transaction,
    responses=CHANGE_PROBLEMS,
)
def cancel(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    body: CancelIn,
    key: RequiredIdempotencyKeyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    version = expected_version(if_match)
    return _change(
        request,
        who,
        key,
        body,
        if_match,
        lambda: policies.cancel_policy(
            uow,
            who,
            number,
            body.effective,
            reason=body.reason,
            idempotency_key=key,
            expected_version=version,
        ),
    )


@router.post(
    "/policies/{number}/reinstatement",
    summary="Put a cancelled policy back in force from a date",
    status_code=201,
    response_model=Transaction,
    responses=CHANGE_PROBLEMS,
)
def reinstate(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    body: ReinstateIn,
    key: RequiredIdempotencyKeyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    version = expected_version(if_match)
    return _change(
        request,
        who,
        key,
        body,
        if_match,
        lambda: policies.reinstate_policy(
            uow, who, number, body.effective, idempotency_key=key, expected_version=version
        ),
    )


@router.post(
    "/policies/{number}/renewal",
    summary="Renew for a year, re-underwritten and re-priced with the current product",
    status_code=201,
    response_model=Transaction,
    responses=CHANGE_PROBLEMS,
)
def renew(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    product: ProductDep,
    number: Number,
    body: RenewIn,
    key: RequiredIdempotencyKeyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    version = expected_version(if_match)
    return _change(
        request,
        who,
        key,
        body,
        if_match,
        lambda: policies.renew_policy(
            uow,
            who,
            number,
            product,
            application=body.application.data() if body.application else None,
            idempotency_key=key,
            expected_version=version,
            underwriter_note=body.underwriter_note,
            source="application",
        ),
    )


@router.get(
    "/policies/{number}/documents",
    summary="The policy's documents in French: proposition, conditions particulières, "
    "avenants, attestation",
    response_model=Documents,
    responses=problems.responses(404),
)
def documents(request: Request, who: PrincipalDep, uow: UowDep, number: Number) -> dict[str, Any]:
    kinds = policies.policy_document_kinds(uow, who, number)
    base = request.url.path
    return {"policy_number": number, "items": [{"kind": k, "href": f"{base}/{k}"} for k in kinds]}


@router.get(
    "/policies/{number}/documents/{kind}",
    summary="One document of the policy, as PDF",
    response_class=Response,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        **problems.responses(404),
    },
)
def document(
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    kind: Annotated[str, Path(max_length=80, description="A kind from the documents list.")],
) -> Response:
    name, pdf = policies.policy_document(uow, who, number, kind)
    return Response(
        pdf, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
