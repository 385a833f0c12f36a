"""Quotes: price (``?dry_run=true``) or price and save, list, show, approve or decline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from egide.api import problems
from egide.api.deps import PrincipalDep, ProductDep, UowDep, UowFactoryDep
from egide.api.idempotency import IdempotencyKeyDep, Outcome, idempotent
from egide.api.schemas.common import NoteIn, Page
from egide.api.schemas.quotes import ApplicationIn, PricedQuote, Quote, QuoteSummary
from egide.domain.access import Principal
from egide.domain.errors import InvalidInput
from egide.domain.fields import year_problem
from egide.domain.policy import midnight
from egide.domain.quote_record import QUOTE_STATUSES
from egide.domain.text import NUMBER_MAX
from egide.services import quotes
from egide.services.pages import PAGE_MAX
from egide.services.ports import UnitOfWork
from egide.services.results import contract

router = APIRouter(tags=["quotes"])
Number = Annotated[str, Path(max_length=NUMBER_MAX, description="The quote's number.")]
SOURCE = "request body"


def _day(value: date | None, name: str) -> Any:
    """A day of a query as 0 h Paris time that day (the CLI's --from/--to)."""
    if value is None:
        return None
    if problem := year_problem(name, value):
        raise InvalidInput([problem])
    return midnight(value)


@router.post(
    "/quotes",
    summary="Price an application, and save it as a quote unless dry_run",
    status_code=201,
    response_model=Quote,
    response_model_exclude_unset=True,
    responses={
        200: {"model": PricedQuote, "description": "Priced, not saved (dry_run=true)"},
        **problems.responses(400, 409),
    },
)
def create_quote(
    request: Request,
    who: PrincipalDep,
    uows: UowFactoryDep,
    product: ProductDep,
    application: ApplicationIn,
    key: IdempotencyKeyDep,
    dry_run: Annotated[
        bool, Query(description="Price without saving (answers 200, not 201).")
    ] = False,
) -> JSONResponse:
    """The body is the application, the keys of the YAML file as JSON (docs/application.md).
    Every broken rule is reported at once (422, `errors`), nothing stored."""
    data = application.data()
    if dry_run:  # nothing stored: a retry prices again, so the key is not recorded
        return JSONResponse(contract(quotes.price_quote_as(who, data, product, SOURCE)))

    def save() -> Outcome:
        saved = contract(quotes.save_quote(uows(), who, data, product, source=SOURCE))
        location = f"{request.url.path}/{saved['quote_number']}"
        return Outcome(201, saved, {"Location": location})

    return idempotent(request, who, key, data, save)


@router.get(
    "/quotes",
    summary="The quotes you may see, newest first",
    response_model=Page[QuoteSummary],
    response_model_exclude_unset=True,
    responses=problems.responses(),
)
def list_quotes(
    who: PrincipalDep,
    uow: UowDep,
    status: Annotated[
        str | None, Query(max_length=20, description=", ".join(QUOTE_STATUSES))
    ] = None,
    establishment: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="An establishment's id.")
    ] = None,
    created_from: Annotated[date | None, Query(description="Created on or after this day.")] = None,
    created_to: Annotated[date | None, Query(description="Created before this day.")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    page = quotes.list_quotes(
        uow,
        who,
        status=status,
        establishment_id=establishment,
        created_from=_day(created_from, "created_from"),
        created_to=_day(created_to, "created_to"),
        cursor=cursor,
        limit=limit,
    )
    return contract(page)


@router.get(
    "/quotes/{number}",
    summary="A quote exactly as priced, with its status and review",
    response_model=Quote,
    response_model_exclude_unset=True,
    responses=problems.responses(404),
)
def get_quote(who: PrincipalDep, uow: UowDep, number: Number) -> dict[str, Any]:
    return contract(quotes.get_quote(uow, who, number))


def _review(
    request: Request,
    who: Principal,
    uows: Callable[[], UnitOfWork],
    number: str,
    body: NoteIn,
    key: str | None,
    approve: bool,
) -> JSONResponse:
    def review() -> Outcome:
        result = quotes.review_quote(uows(), who, number, approve, body.note)
        return Outcome(200, contract(result))

    return idempotent(request, who, key, body.model_dump(), review)


@router.post(
    "/quotes/{number}/approve",
    summary="Approve a referred quote (underwriter)",
    response_model=Quote,
    response_model_exclude_unset=True,
    responses=problems.responses(400, 404, 409),
)
def approve_quote(
    request: Request,
    who: PrincipalDep,
    uows: UowFactoryDep,
    number: Number,
    body: NoteIn,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    return _review(request, who, uows, number, body, key, approve=True)


@router.post(
    "/quotes/{number}/decline",
    summary="Decline a referred quote (underwriter)",
    response_model=Quote,
    response_model_exclude_unset=True,
    responses=problems.responses(400, 404, 409),
)
def decline_quote(
    request: Request,
    who: PrincipalDep,
    uows: UowFactoryDep,
    number: Number,
    body: NoteIn,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    return _review(request, who, uows, number, body, key, approve=False)
