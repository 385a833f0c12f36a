"""Policies over HTTP: bind a quote, read, list, endorse, cancel, reinstate, renew, documents.

Each route parses its input, calls one use case of `egide.services.policies` and translates its
result (`egide.services.results.contract`, the same JSON as ``egide policy ... --json``) and its
errors (`egide.api.problems`). HTTP semantics on top of the use cases:

- a policy's ``ETag`` is its version (``"3"``), on every read and every change;
- a change takes ``If-Match`` (one ETag): its version is the use case's ``expected_version``; a
  policy no longer at that version answers 412. Without ``If-Match`` the rule of the CLI
  applies: the version read while the change is prepared, a concurrent change answering 409;
- ``Idempotency-Key`` is required on bind, endorsements, cancellation, reinstatement and
  renewal (400 without it) and is the use case's own key: a retry with the same key and body
  replays the stored response, the same key with another body is 422, a key still in flight 409.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from egide.api import problems
from egide.api.deps import PrincipalDep, ProductDep, UowDep
from egide.api.problems import ApiProblem
from egide.domain.errors import FieldError, InvalidInput
from egide.services import policies
from egide.services.results import contract

router = APIRouter(tags=["policies"])

PDF = "application/pdf"
POLICY_NUMBER = Path(max_length=40, description="The policy's number (POL-…).")
QUOTE_NUMBER = Path(max_length=40, description="The quote's number (DEV-…).")


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a date as text (YYYY-MM-DD)")
    return value


Day = Annotated[date, BeforeValidator(_text_only)]  # an ISO date string, never a number
Text = Annotated[str, Field(max_length=4000)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Required: the same key and body replay the first response.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The policy\'s ETag as read (``"3"``): refused with 412 if it changed.',
    ),
]


# --------------------------------------------------------------------------- schemas


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BindIn(_In):
    start: Day = Field(description="First day of the one-year period (Paris), not in the past.")
    retroactive_date: Day | None = Field(None, description="Default: the start.")


Scalar = Annotated[bool | int | float | Annotated[str, Field(max_length=4000)] | None, Field()]


class EndorseIn(_In):
    effective: Day
    set: dict[Annotated[str, Field(max_length=120)], Scalar] = Field(
        min_length=1,
        max_length=100,
        description="Dotted paths of the application and their new values, as the CLI's "
        '``--set``: ``{"cover.limit": 250000, "security.edr": true}``.',
        examples=[{"cover.limit": 250000, "security.edr": True}],
    )
    underwriter_note: Text | None = Field(
        None, description="An underwriter approves a referral the change brings."
    )


class CancelIn(_In):
    effective: Day
    reason: Annotated[str, Field(max_length=40)] = Field(
        "insured_request", description="insured_request | non_payment"
    )


class ReinstateIn(_In):
    effective: Day


class RenewIn(_In):
    application: dict[Annotated[str, Field(max_length=120)], Any] | None = Field(
        None,
        max_length=50,
        description="The updated application (the YAML application's keys as JSON); default: "
        "the answers in force.",
    )
    underwriter_note: Text | None = None


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class PremiumOut(_Out):
    net: str
    tax: str
    total: str


class BoundPolicyOut(_Out):
    """``egide policy bind --json``."""

    policy_number: str
    quote_number: str
    status: str
    period_start: str
    period_end: str
    retroactive_date: str
    premium: PremiumOut
    version: int
    idempotency_key: str | None = None


class TransactionOut(_Out):
    """``egide policy endorse|cancel|reinstate|renew --json``."""

    policy_number: str
    transaction: int
    kind: str
    effective: str
    premium_change: PremiumOut
    term_premium: PremiumOut
    version: int
    idempotency_key: str | None = None


class PolicyOut(_Out):
    """``egide policy show --json``: the cover in force on a moment and the whole history."""

    policy_number: str
    quote_number: str
    as_of: str
    status: str
    term: int
    period_start: str
    period_end: str
    version: int
    coverages: list[dict[str, Any]]
    transactions: list[dict[str, Any]]


class PolicySummaryOut(_Out):
    policy_number: str
    status: str
    version: int


class PolicyPageOut(BaseModel):
    items: list[PolicySummaryOut]
    next_cursor: str | None


class DocumentOut(BaseModel):
    kind: str
    href: str


class DocumentsOut(BaseModel):
    policy_number: str
    items: list[DocumentOut]


# --------------------------------------------------------------------------- helpers


def required_key(key: str | None) -> str:
    if key is None:
        raise ApiProblem(
            400,
            "this request needs an Idempotency-Key header",
            errors=[FieldError("Idempotency-Key", "required", "is required on this request")],
        )
    return key


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (None without one, or with ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
    if not (inner.isascii() and inner.isdigit() and len(inner) < 10):
        raise InvalidInput(
            [FieldError("If-Match", "etag", 'must be one ETag of the policy, e.g. "3"')]
        )
    return int(inner)


def etag(version: object) -> str:
    return f'"{version}"'


def _changed(response: Response, result: object) -> dict[str, Any]:
    data = contract(result)  # type: ignore[arg-type]
    response.headers["ETag"] = etag(data["version"])
    return data


def _stale(if_match: str | None, exc: policies.StaleVersion) -> Exception:
    """A stale version is 412 when the request carried If-Match (409 otherwise, as a conflict)."""
    if if_match is None:
        return exc
    return ApiProblem(412, str(exc))


CHANGE_PROBLEMS = problems.responses(400, 404, 409, 412)


# --------------------------------------------------------------------------- routes


@router.post(
    "/quotes/{number}/bind",
    status_code=201,
    response_model=BoundPolicyOut,
    responses=problems.responses(400, 404, 409),
    summary="Bind an accepted quote into a one-year claims-made policy",
)
def bind(
    number: Annotated[str, QUOTE_NUMBER],
    body: BindIn,
    uow: UowDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = policies.bind_quote(
        uow,
        principal,
        number,
        idempotency_key=required_key(idempotency_key),
        start=body.start,
        retroactive_date=body.retroactive_date,
    )
    return _changed(response, result)


@router.get(
    "/policies",
    response_model=PolicyPageOut,
    responses=problems.responses(),
    summary="The policies you may see, newest first, a page at a time",
)
def list_policies(
    uow: UowDep,
    principal: PrincipalDep,
    in_force_on: Annotated[date | None, Query(description="In force on this day.")] = None,
    renewal_within: Annotated[
        int | None,
        Query(ge=0, le=366, description="In force now, term ending within N days, not renewed."),
    ] = None,
    establishment: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    page = policies.list_policies(
        uow,
        principal,
        in_force_on=policies.parse_as_of(in_force_on.isoformat()) if in_force_on else None,
        renewal_within_days=renewal_within,
        establishment_id=establishment,
        cursor=cursor,
        limit=limit,
    )
    return contract(page)


@router.get(
    "/policies/{number}",
    response_model=PolicyOut,
    responses=problems.responses(404),
    summary="The cover in force on a date (default now) and the whole history",
)
def show(
    number: Annotated[str, POLICY_NUMBER],
    uow: UowDep,
    principal: PrincipalDep,
    response: Response,
    as_of: Annotated[
        str | None,
        Query(max_length=40, description="A date (YYYY-MM-DD) or a date-time with offset."),
    ] = None,
) -> dict[str, Any]:
    result = policies.get_policy(uow, principal, number, policies.parse_as_of(as_of))
    return _changed(response, result)


@router.post(
    "/policies/{number}/endorsements",
    status_code=201,
    response_model=TransactionOut,
    responses=CHANGE_PROBLEMS,
    summary="Change answers or cover from a date, re-rated pro rata temporis",
)
def endorse(
    number: Annotated[str, POLICY_NUMBER],
    body: EndorseIn,
    uow: UowDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    key, version = required_key(idempotency_key), expected_version(if_match)
    try:
        result = policies.endorse_policy(
            uow,
            principal,
            number,
            body.effective,
            body.set,
            idempotency_key=key,
            expected_version=version,
            underwriter_note=body.underwriter_note,
        )
    except policies.StaleVersion as exc:
        raise _stale(if_match, exc) from None
    return _changed(response, result)


@router.post(
    "/policies/{number}/cancellation",
    status_code=201,
    response_model=TransactionOut,
    responses=CHANGE_PROBLEMS,
    summary="Cancel from a date (refund as the product says for the reason)",
)
def cancel(
    number: Annotated[str, POLICY_NUMBER],
    body: CancelIn,
    uow: UowDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    key, version = required_key(idempotency_key), expected_version(if_match)
    try:
        result = policies.cancel_policy(
            uow,
            principal,
            number,
            body.effective,
            reason=body.reason,
            idempotency_key=key,
            expected_version=version,
        )
    except policies.StaleVersion as exc:
        raise _stale(if_match, exc) from None
    return _changed(response, result)


@router.post(
    "/policies/{number}/reinstatement",
    status_code=201,
    response_model=TransactionOut,
    responses=CHANGE_PROBLEMS,
    summary="Put a cancelled policy back in force from a date",
)
def reinstate(
    number: Annotated[str, POLICY_NUMBER],
    body: ReinstateIn,
    uow: UowDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    key, version = required_key(idempotency_key), expected_version(if_match)
    try:
        result = policies.reinstate_policy(
            uow, principal, number, body.effective, idempotency_key=key, expected_version=version
        )
    except policies.StaleVersion as exc:
        raise _stale(if_match, exc) from None
    return _changed(response, result)


@router.post(
    "/policies/{number}/renewal",
    status_code=201,
    response_model=TransactionOut,
    responses=CHANGE_PROBLEMS,
    summary="Renew for a year, re-underwritten and re-priced with the current product",
)
def renew(
    number: Annotated[str, POLICY_NUMBER],
    body: RenewIn,
    uow: UowDep,
    principal: PrincipalDep,
    product: ProductDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    key, version = required_key(idempotency_key), expected_version(if_match)
    try:
        result = policies.renew_policy(
            uow,
            principal,
            number,
            product,
            application=body.application,
            idempotency_key=key,
            expected_version=version,
            underwriter_note=body.underwriter_note,
            source="application",
        )
    except policies.StaleVersion as exc:
        raise _stale(if_match, exc) from None
    return _changed(response, result)


@router.get(
    "/policies/{number}/documents",
    response_model=DocumentsOut,
    responses=problems.responses(404),
    summary="The policy's French documents: proposition, conditions particulières, avenants, "
    "attestation",
)
def documents(
    number: Annotated[str, POLICY_NUMBER], uow: UowDep, principal: PrincipalDep
) -> dict[str, Any]:
    kinds = policies.policy_document_kinds(uow, principal, number)
    return {
        "policy_number": number,
        "items": [{"kind": k, "href": f"/api/v1/policies/{number}/documents/{k}"} for k in kinds],
    }


@router.get(
    "/policies/{number}/documents/{kind}",
    response_class=Response,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        **problems.responses(404),
    },
    summary="One document of the policy (PDF)",
)
def document(
    number: Annotated[str, POLICY_NUMBER],
    kind: Annotated[str, Path(max_length=80, description="A kind from the documents list.")],
    uow: UowDep,
    principal: PrincipalDep,
) -> Response:
    name, pdf = policies.policy_document(uow, principal, number, kind)
    return Response(
        pdf, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
