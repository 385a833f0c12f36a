"""Claims over HTTP: declare, list, show, the incident clock, payments, the statement.

Each route parses its input, calls one use case of `egide.services.claims` and translates its
result (`egide.services.results.contract`: the JSON of ``egide claim ... --json``) and its errors
(`egide.api.problems`). ``Idempotency-Key`` is required on payments (400 without it) and accepted
on a declaration (`egide.api.idempotency`); the use case stores the same key with its work.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from egide.api import problems
from egide.api.deps import PrincipalDep, UowDep
from egide.api.idempotency import (
    IdempotencyKeyDep,
    Outcome,
    RequiredIdempotencyKeyDep,
    idempotent,
)
from egide.api.schemas.claims import Claim, ClaimSummary, Clock, DeclareIn, Payment, PaymentIn
from egide.api.schemas.common import Page
from egide.domain.text import NUMBER_MAX
from egide.services import claims
from egide.services.pages import PAGE_MAX
from egide.services.results import contract

router = APIRouter(tags=["claims"])

PDF = "application/pdf"
Number = Annotated[str, Path(max_length=NUMBER_MAX, description="The claim's number.")]


@router.post(
    "/claims",
    summary="Declare an incident on a policy: cover, settlement line by line, incident clock",
    status_code=201,
    response_model=Claim,
    responses=problems.responses(400, 404, 409),
)
def declare(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    body: DeclareIn,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    def work() -> Outcome:
        result = claims.declare_claim(
            uow,
            who,
            body.policy_number,
            body.declaration,
            idempotency_key=key,
            source="declaration",
        )
        data = contract(result)
        return Outcome(201, data, {"Location": f"{request.url.path}/{data['claim_id']}"})

    return idempotent(request, who, key, body, work)


@router.get(
    "/claims",
    summary="The claims you may see, nearest legal deadline first",
    response_model=Page[ClaimSummary],
    responses=problems.responses(),
)
def list_claims(
    who: PrincipalDep,
    uow: UowDep,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    establishment: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="An establishment's id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    page = claims.list_claims(
        uow, who, status=status, establishment_id=establishment, cursor=cursor, limit=limit
    )
    return contract(page)


@router.get(
    "/claims/{number}",
    summary="The claim today: lines, payments, reserve, aggregate left, deadlines",
    response_model=Claim,
    responses=problems.responses(404),
)
def show(who: PrincipalDep, uow: UowDep, number: Number) -> dict[str, Any]:
    return contract(claims.get_claim(uow, who, number))


@router.get(
    "/claims/{number}/clock",
    summary="Each deadline of the incident: due time (Europe/Paris) and status now",
    response_model=Clock,
    responses=problems.responses(404),
)
def clock(who: PrincipalDep, uow: UowDep, number: Number) -> dict[str, Any]:
    return contract(claims.claim_clock(uow, who, number))


@router.post(
    "/claims/{number}/payments",
    summary="Pay what is payable now, or part of it; a final payment closes the claim",
    status_code=201,
    response_model=Payment,
    responses=problems.responses(400, 404, 409),
)
def pay(
    request: Request,
    who: PrincipalDep,
    uow: UowDep,
    number: Number,
    body: PaymentIn,
    key: RequiredIdempotencyKeyDep,
) -> JSONResponse:
    def work() -> Outcome:
        result = claims.settle_claim(
            uow,
            who,
            number,
            amount=None if body.amount is None else str(body.amount),
            final=body.final,
            idempotency_key=key,
        )
        return Outcome(201, contract(result))

    return idempotent(request, who, key, body, work)


@router.get(
    "/claims/{number}/statement",
    summary="The settlement statement (décompte de sinistre), in French, as PDF",
    response_class=Response,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        **problems.responses(404, 409),
    },
)
def statement(who: PrincipalDep, uow: UowDep, number: Number) -> Response:
    pdf = claims.statement_pdf(uow, who, number)
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{number}-decompte.pdf"'},
    )
