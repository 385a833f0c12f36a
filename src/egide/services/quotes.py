"""Quote use cases: price (pure), save, show, list, approve or decline a referred quote.

Every stored quote acts for a principal (`egide.domain.access.Principal`) and belongs to a tenant
(`egide.services.tenancy`): a quote the principal may not see "does not exist"."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import KIND_LABELS_FR, parse_application
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.money import cents
from egide.domain.product import Product
from egide.domain.quote import Assessment, assess, valid_until
from egide.domain.quote_record import QUOTE_STATUSES, StoredQuote
from egide.domain.text import require_parameters
from egide.domain.underwriting import Decision
from egide.services.pages import Page, after_cursor, page_limit, page_of
from egide.services.ports import UnitOfWork
from egide.services.products import record_product_version


def money(value: Decimal) -> str:
    return str(cents(value))


def assessment_to_dict(a: Assessment, product: Product) -> dict[str, Any]:
    """The quote as plain JSON-ready data: the output contract of `egide quote price --json`."""
    e = a.application.establishment
    bi = product.coverages["business_interruption"]
    coverages = []
    for c in a.price.coverages:
        item: dict[str, Any] = {
            "code": c.code,
            "label": c.label,
            "limit": money(c.limit),
            "deductible": money(c.deductible),
            "sub_deductible": money(c.sub_deductible),
            "premium": money(c.premium),
            "expected_loss": money(c.expected_loss),
            "frequency": round(c.frequency, 6),
            "mean_severity": money(Decimal(repr(c.mean_severity))),
            "factors": [
                {"code": f.code, "applies_to": f.applies_to, "value": round(f.value, 4)}
                for f in c.factors
            ],
        }
        if c.code == "business_interruption":
            item["waiting_period_hours"] = int(bi.waiting_period_hours or 0)
            item["waiting_period_mode"] = bi.waiting_period_mode
            item["indemnity_period_days"] = int(bi.indemnity_period_days or 0)
        coverages.append(item)
    return {
        "product": a.product_ref,
        "model_version": a.model_version,
        "establishment": {
            "name": e.name,
            "type": e.type,
            "type_label": KIND_LABELS_FR[e.type],
            "siret": e.siret,
            "finess": e.finess,
        },
        "decision": a.underwriting.decision.value,
        "decision_label": a.underwriting.decision.label_fr,
        "reasons": [{"code": r.code, "message": r.message} for r in a.underwriting.reasons],
        "security_score": a.score.total,
        "score_factors": [
            {"code": f.code, "label": f.label, "weight": f.weight, "points": str(f.points)}
            for f in a.score.factors
        ],
        "coverages": coverages,
        "aggregate_limit": money(a.application.cover.limit),
        "deductible": money(a.application.cover.deductible),
        "expected_loss": money(a.price.expected_loss),
        "loadings": {k: money(v) for k, v in a.price.loadings.items()},
        "minimum_premium": money(a.price.minimum_premium),
        "minimum_applied": a.price.minimum_applied,
        "premium": {
            "net": money(a.price.net),
            "tax": money(a.price.tax),
            "total": money(a.price.total),
        },
        "tax": {"name": product.tax_name, "rate": str(product.tax_rate)},
        "recommendations": [
            {
                "code": r.code,
                "message": r.message,
                "premium_change": money(r.premium_change),
                "score_change": r.score_change,
            }
            for r in a.recommendations
        ],
    }


def price_quote(data: object, product: Product, source: str | None = None) -> dict[str, Any]:
    """Validate and price an application; nothing is stored."""
    app = parse_application(data, product, source)
    return assessment_to_dict(assess(app, product), product)


def _status_for(decision: str) -> str:
    return {"accept": "priced", "refer": "referred", "decline": "declined"}[decision]


def new_quote_number(moment: datetime) -> str:
    return f"DEV-{moment:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _tenant(row: StoredQuote) -> dict[str, Any]:
    return {"establishment_id": row.establishment_id, "broker_id": row.broker_id}


def save_quote(
    uow: UnitOfWork,
    principal: Principal,
    data: object,
    product: Product,
    actor: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Price and store a quote (inputs, product version, breakdown); returns it with its number.
    It belongs to the establishment of the application's SIRET (`tenancy.establishment_for`);
    `actor` is a free-text label recorded beside the principal."""
    from egide.services import tenancy

    tenancy.check(principal, Action.QUOTE_SAVE, None, "quote")
    require_parameters(actor=actor)
    who = history_actor(principal, actor)
    app = parse_application(data, product, source)
    result = assessment_to_dict(assess(app, product), product)
    moment = clock_now()
    with uow:
        record_product_version(uow, product)
        establishment_id, broker_id = tenancy.establishment_for(uow, principal, app, moment)
        number = new_quote_number(moment)
        until = valid_until(moment, product)
        result = {
            "quote_number": number,
            "status": _status_for(result["decision"]),
            "created_at": moment.isoformat(),
            "valid_until": until.isoformat(),
            **result,
        }
        row = uow.quotes.add(
            StoredQuote(
                number=number,
                status=result["status"],
                decision=result["decision"],
                product_ref=product.ref,
                establishment_name=app.establishment.name,
                siret=app.establishment.siret,
                application=app.to_data(),
                result=result,
                valid_until=until,
                actor=who,
                created_at=moment,
                establishment_id=establishment_id,
                broker_id=broker_id,
            )
        )
        from egide.services import audit  # storage only: pricing alone loads no database

        audit.record(uow, row, "saved", who)
        uow.commit()
    return {**result, **_tenant(row)}


def quote_row(
    uow: UnitOfWork, principal: Principal, action: Action, number: str, lock: bool = False
) -> StoredQuote:
    """The quote, if the principal may see it (else "does not exist") and act on it (inside
    the caller's unit of work; `lock` holds it against concurrent writers)."""
    from egide.services import tenancy

    row = uow.quotes.get(number, lock=lock)
    return tenancy.visible_row(principal, action, row, f"quote {number}")


def _shown(row: StoredQuote) -> dict[str, Any]:
    result = dict(row.result)
    result["status"] = row.status
    if row.reviewed_by:
        result["review"] = {
            "by": row.reviewed_by,
            "at": iso_paris(row.reviewed_at) if row.reviewed_at else None,
            "note": row.review_note,
        }
    return {**result, **_tenant(row)}


def get_quote(uow: UnitOfWork, principal: Principal, number: str) -> dict[str, Any]:
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
    """The quotes the principal may see, newest first, one page at a time: a summary of each
    (number, status, establishment, premium, dates)."""
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


def quote_summary(row: StoredQuote) -> dict[str, Any]:
    premium = row.result.get("premium", {})
    return {
        "quote_number": row.number,
        "status": row.status,
        "decision": row.decision,
        "establishment": {"name": row.establishment_name, "siret": row.siret},
        **_tenant(row),
        "product": row.product_ref,
        "premium_total": premium.get("total"),
        "created_at": iso_paris(row.created_at),
        "valid_until": iso_paris(row.valid_until),
    }


def review_quote(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    approve: bool,
    note: str,
    actor: str | None = None,
) -> dict[str, Any]:
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
) -> dict[str, Any]:
    """`price_quote` for a principal who may price (every role; an API client needs the
    quotes:write scope): nothing is stored."""
    from egide.services import tenancy

    tenancy.check(principal, Action.QUOTE_PRICE, None, "quote")
    return price_quote(data, product, source)
