"""Quote use cases: price (pure), save, show, list, approve or decline a referred quote.

They return typed values (`egide.services.quote_results`): `PricedQuote`, `Quote`, a `Page` of
`QuoteSummary`; their ``public()`` is the JSON contract (`egide.services.results.contract`).

Every stored quote acts for a principal (`egide.domain.access.Principal`) and belongs to a tenant
(`egide.services.tenancy`): a quote the principal may not see "does not exist"."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from egide.clock import now as clock_now
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import parse_application
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.product import Product
from egide.domain.quote import assess, valid_until
from egide.domain.quote_record import QUOTE_STATUSES, StoredQuote
from egide.domain.text import require_parameters
from egide.domain.underwriting import Decision
from egide.services.pages import Page, after_cursor, page_limit, page_of
from egide.services.ports import UnitOfWork
from egide.services.products import record_product_version
from egide.services.quote_results import PricedQuote, Quote, QuoteSummary, Review


def price_quote(data: object, product: Product, source: str | None = None) -> PricedQuote:
    """Validate and price an application; nothing is stored."""
    app = parse_application(data, product, source)
    return PricedQuote.of(assess(app, product), product)


def _status_for(decision: str) -> str:
    return {"accept": "priced", "refer": "referred", "decline": "declined"}[decision]


def new_quote_number(moment: datetime) -> str:
    return f"DEV-{moment:%Y%m%d}-{secrets.token_hex(3).upper()}"


def save_quote(
    uow: UnitOfWork,
    principal: Principal,
    data: object,
    product: Product,
    actor: str | None = None,
    source: str | None = None,
) -> Quote:
    """Price and store a quote (inputs, product version, breakdown); returns it with its number.
    It belongs to the establishment of the application's SIRET (`tenancy.establishment_for`);
    `actor` is a free-text label recorded beside the principal."""
    from egide.services import tenancy

    tenancy.check(principal, Action.QUOTE_SAVE, None, "quote")
    require_parameters(actor=actor)
    who = history_actor(principal, actor)
    app = parse_application(data, product, source)
    priced = PricedQuote.of(assess(app, product), product)
    moment = clock_now()
    with uow:
        record_product_version(uow, product)
        establishment_id, broker_id = tenancy.establishment_for(uow, principal, app, moment)
        number = new_quote_number(moment)
        quote = Quote(
            quote_number=number,
            status=_status_for(priced.decision),
            created_at=moment,
            valid_until=valid_until(moment, product),
            priced=priced,
            review=None,
            establishment_id=establishment_id,
            broker_id=broker_id,
        )
        row = uow.quotes.add(
            StoredQuote(
                number=number,
                status=quote.status,
                decision=priced.decision,
                product_ref=product.ref,
                establishment_name=app.establishment.name,
                siret=app.establishment.siret,
                application=app.to_data(),
                # the stored document: the number, status and dates, then the breakdown
                result={**quote.header(), **priced.public()},
                valid_until=quote.valid_until,
                actor=who,
                created_at=moment,
                establishment_id=establishment_id,
                broker_id=broker_id,
            )
        )
        from egide.services import audit  # storage only: pricing alone loads no database

        audit.record(uow, row, "saved", who)
        uow.commit()
    return replace(quote, establishment_id=row.establishment_id, broker_id=row.broker_id)


def quote_row(
    uow: UnitOfWork, principal: Principal, action: Action, number: str, lock: bool = False
) -> StoredQuote:
    """The quote, if the principal may see it (else "does not exist") and act on it (inside
    the caller's unit of work; `lock` holds it against concurrent writers)."""
    from egide.services import tenancy

    row = uow.quotes.get(number, lock=lock)
    return tenancy.visible_row(principal, action, row, f"quote {number}")


def _shown(row: StoredQuote) -> Quote:
    """The stored quote as priced (its stored breakdown), with its current status and review."""
    doc = row.result
    review = None
    if row.reviewed_by:
        review = Review(row.reviewed_by, row.reviewed_at, row.review_note)
    return Quote(
        quote_number=doc["quote_number"],
        status=row.status,
        created_at=datetime.fromisoformat(doc["created_at"]),
        valid_until=datetime.fromisoformat(doc["valid_until"]),
        priced=PricedQuote.from_public(doc),
        review=review,
        establishment_id=row.establishment_id,
        broker_id=row.broker_id,
    )


def get_quote(uow: UnitOfWork, principal: Principal, number: str) -> Quote:
    """The stored quote exactly as priced, with its current status and review."""
    require_parameters(number=number)
    with uow:
        return _shown(quote_row(uow, principal, Action.QUOTE_READ, number))


def list_quotes(
    uow: UnitOfWork,
    principal: Principal,
    *,
    status: str | None = None,
    establishment_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """The quotes the principal may see, newest first, one page at a time: a `QuoteSummary` of
    each (number, status, establishment, premium, dates)."""
    from egide.services import tenancy

    tenancy.check(principal, Action.QUOTE_READ, None, "quote")
    if status is not None and status not in QUOTE_STATUSES:
        raise InvalidInput(
            [FieldError("status", "enum", f"must be one of {', '.join(QUOTE_STATUSES)}")]
        )
    before, size = after_cursor(cursor), page_limit(limit)
    scope = tenancy.tenant_filter(principal, establishment_id)
    if scope is None:
        return Page([], None)
    with uow:
        rows = uow.quotes.find(
            establishment_id=scope.establishment_id,
            broker_id=scope.broker_id,
            status=status,
            created_from=created_from,
            created_to=created_to,
            before_id=before,
            limit=size + 1,
        )
        return page_of([(r.id, quote_summary(r)) for r in rows], size)


def quote_summary(row: StoredQuote) -> QuoteSummary:
    total = row.result.get("premium", {}).get("total")
    return QuoteSummary(
        quote_number=row.number,
        status=row.status,
        decision=row.decision,
        establishment_name=row.establishment_name,
        siret=row.siret,
        establishment_id=row.establishment_id,
        broker_id=row.broker_id,
        product=row.product_ref,
        premium_total=None if total is None else Decimal(total),
        created_at=row.created_at,
        valid_until=row.valid_until,
    )


def review_quote(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    approve: bool,
    note: str,
    actor: str | None = None,
) -> Quote:
    """An underwriter approves or declines a referred quote, with a note."""
    if not note.strip():
        raise InvalidInput([FieldError("note", "required", "an underwriter's note is required")])
    require_parameters(number=number, note=note, actor=actor)
    who = history_actor(principal, actor)
    with uow:
        # an approval and a decline at once: one wins (the row lock)
        row = quote_row(uow, principal, Action.QUOTE_REVIEW, number, lock=True)
        if row.status != "referred":
            raise Conflict(f"quote {number} is {row.status}: only a referred quote can be reviewed")
        row = replace(
            row,
            status="approved" if approve else "declined",
            review_note=note.strip(),
            reviewed_by=who,
            reviewed_at=clock_now(),
        )
        uow.quotes.update(row)
        from egide.services import audit

        audit.record(uow, row, row.status, who)
        uow.commit()
        return _shown(row)


def is_bindable(row: StoredQuote, moment: datetime) -> str | None:
    """None when the quote can be bound now, else why not."""
    if row.status in ("priced", "approved") and row.decision != Decision.DECLINE.value:
        if moment > row.valid_until:
            return f"quote {row.number} expired on {row.valid_until.date().isoformat()}"
        return None
    return {
        "referred": f"quote {row.number} is referred: an underwriter must approve it first",
        "declined": f"quote {row.number} was declined",
        "bound": f"quote {row.number} is already bound",
    }.get(row.status, f"quote {row.number} is {row.status}")


def price_quote_as(
    principal: Principal, data: object, product: Product, source: str | None = None
) -> PricedQuote:
    """`price_quote` for a principal who may price (every role; an API client needs the
    quotes:write scope): nothing is stored."""
    from egide.services import tenancy

    tenancy.check(principal, Action.QUOTE_PRICE, None, "quote")
    return price_quote(data, product, source)
