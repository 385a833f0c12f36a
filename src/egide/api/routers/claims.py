"""Claims over HTTP: declare, list, read, the incident clock, payments, the statement.

Each route parses its input, calls one use case of `egide.services.claims` and translates its
result (`egide.services.results.contract`, the same JSON as ``egide claim ... --json``) and its
errors (`egide.api.problems`). ``Idempotency-Key`` is required on payments (400 without it) and
accepted on a declaration; it is the use case's own key (the same key and body replay the first
response, another body is 422, a key still in flight 409).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from egide.api import problems
from egide.api.deps import PrincipalDep, UowDep
from egide.api.routers.policies import IdempotencyKey, required_key
from egide.services import claims
from egide.services.results import contract

router = APIRouter(tags=["claims"])

PDF = "application/pdf"
CLAIM_NUMBER = Path(max_length=40, description="The claim's number (SIN-…).")
OptionalKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Optional: the same key and body replay the first response.",
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class DeclareIn(_In):
    policy_number: Annotated[str, Field(min_length=1, max_length=40)]
    declaration: dict[Annotated[str, Field(max_length=60)], Any] = Field(
        max_length=10,
        description="The claim file's keys as JSON (incident, costs, interruption, data_breach, "
        "third_party_claims, notifications): see examples/claims/*.yaml and docs/claims.md.",
    )


class PaymentIn(_In):
    amount: Decimal | None = Field(
        None,
        gt=0,
        max_digits=15,
        decimal_places=2,
        description="Pay only this much (EUR, a partial payment); default what is payable now.",
    )
    final: bool = Field(False, description="A final settlement: the claim is closed after it.")


class DeadlineOut(_Out):
    code: str
    due_at: str
    status: str


class ClaimOut(_Out):
    """``egide claim declare|show --json``."""

    claim_id: str
    policy_number: str
    status: str
    covered: bool
    claimed_total: str
    payable_total: str
    payable_now: str
    paid_total: str
    reserve: str
    remaining_aggregate: str
    lines: list[dict[str, Any]]
    deadlines: list[DeadlineOut]


class ClaimSummaryOut(_Out):
    claim_id: str
    policy_number: str
    status: str


class ClaimPageOut(BaseModel):
    items: list[ClaimSummaryOut]
    next_cursor: str | None


class ClockOut(_Out):
    """``egide claim clock --json``."""

    claim_id: str
    now: str
    discovered_at: str
    deadlines: list[DeadlineOut]


class PaymentOut(_Out):
    """``egide claim settle --json``."""

    claim_id: str
    paid_now: str
    paid_total: str
    payable_now: str
    reserve: str
    status: str
    remaining_aggregate: str


@router.post(
    "/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=problems.responses(404, 409),
    summary="Declare an incident on a policy: cover, settlement line by line, incident clock",
)
def declare(
    body: DeclareIn, uow: UowDep, principal: PrincipalDep, idempotency_key: OptionalKey = None
) -> dict[str, Any]:
    result = claims.declare_claim(
        uow,
        principal,
        body.policy_number,
        body.declaration,
        idempotency_key=idempotency_key,
        source="declaration",
    )
    return contract(result)


@router.get(
    "/claims",
    response_model=ClaimPageOut,
    responses=problems.responses(),
    summary="The claims you may see, nearest legal deadline first, a page at a time",
)
def list_claims(
    uow: UowDep,
    principal: PrincipalDep,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    establishment: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    page = claims.list_claims(
        uow,
        principal,
        status=status,
        establishment_id=establishment,
        cursor=cursor,
        limit=limit,
    )
    return contract(page)


@router.get(
    "/claims/{number}",
    response_model=ClaimOut,
    responses=problems.responses(404),
    summary="The claim today: lines, payments, reserve, aggregate left, deadlines",
)
def show(
    number: Annotated[str, CLAIM_NUMBER], uow: UowDep, principal: PrincipalDep
) -> dict[str, Any]:
    return contract(claims.get_claim(uow, principal, number))


@router.get(
    "/claims/{number}/clock",
    response_model=ClockOut,
    responses=problems.responses(404),
    summary="Each deadline of the incident: due time (Europe/Paris) and status now",
)
def clock(
    number: Annotated[str, CLAIM_NUMBER], uow: UowDep, principal: PrincipalDep
) -> dict[str, Any]:
    return contract(claims.claim_clock(uow, principal, number))


@router.post(
    "/claims/{number}/payments",
    status_code=201,
    response_model=PaymentOut,
    responses=problems.responses(400, 404, 409),
    summary="Pay what is payable now, or part of it; a final payment closes the claim",
)
def pay(
    number: Annotated[str, CLAIM_NUMBER],
    body: PaymentIn,
    uow: UowDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    result = claims.settle_claim(
        uow,
        principal,
        number,
        amount=body.amount,
        final=body.final,
        idempotency_key=required_key(idempotency_key),
    )
    return contract(result)


@router.get(
    "/claims/{number}/statement",
    response_class=Response,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        **problems.responses(404, 409),
    },
    summary="The settlement statement (décompte de sinistre), in French, as PDF",
)
def statement(
    number: Annotated[str, CLAIM_NUMBER], uow: UowDep, principal: PrincipalDep
) -> Response:
    pdf = claims.statement_pdf(uow, principal, number)
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{number}-decompte.pdf"'},
    )
