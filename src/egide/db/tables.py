"""Tables of the quote side: product versions and quotes. Policies and claims have their own
modules (`tables_policy.py`, `tables_claims.py`), all on the one `Base.metadata`."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped
from egide.domain.quote_record import StoredQuote


class ProductVersionRow(Base, Timestamped):
    """The exact text of a product and its risk model, so a quote or policy re-prices identically."""

    __tablename__ = "product_versions"

    ref: Mapped[str] = mapped_column(String(80), primary_key=True)  # code@version
    sha256: Mapped[str] = mapped_column(String(64))
    product_text: Mapped[str] = mapped_column(Text)
    model_text: Mapped[str] = mapped_column(Text)


class QuoteRow(Base, Timestamped):
    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(
        String(16)
    )  # priced | referred | declined | approved | bound
    decision: Mapped[str] = mapped_column(String(16))  # accept | refer | decline (the engine's)
    product_ref: Mapped[str] = mapped_column(ForeignKey("product_versions.ref"))
    establishment_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str] = mapped_column(String(14), index=True)
    # The tenant: the establishment organisation it belongs to and its broker of record (no
    # foreign key: the services keep them, and SQLite could not drop a referencing column)
    establishment_id: Mapped[int] = mapped_column(Integer, index=True, nullable=True)
    broker_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    application: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    valid_until: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    review_note: Mapped[str | None] = mapped_column(Text, default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(ACTOR_MAX), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


# ------------------------------------------------------------------ rows <-> domain values


def quote_value(row: QuoteRow) -> StoredQuote:
    return StoredQuote(
        number=row.number,
        status=row.status,
        decision=row.decision,
        product_ref=row.product_ref,
        establishment_name=row.establishment_name,
        siret=row.siret,
        application=copy.deepcopy(row.application),
        result=copy.deepcopy(row.result),
        valid_until=row.valid_until,
        actor=row.actor,
        created_at=row.created_at,
        establishment_id=row.establishment_id,
        broker_id=row.broker_id,
        review_note=row.review_note,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        id=row.id,
    )


def quote_row(quote: StoredQuote) -> QuoteRow:
    return QuoteRow(
        number=quote.number,
        status=quote.status,
        decision=quote.decision,
        product_ref=quote.product_ref,
        establishment_name=quote.establishment_name,
        siret=quote.siret,
        application=copy.deepcopy(quote.application),
        result=copy.deepcopy(quote.result),
        valid_until=quote.valid_until,
        actor=quote.actor,
        created_at=quote.created_at,
        establishment_id=quote.establishment_id,
        broker_id=quote.broker_id,
        review_note=quote.review_note,
        reviewed_by=quote.reviewed_by,
        reviewed_at=quote.reviewed_at,
    )


def update_quote_row(row: QuoteRow, quote: StoredQuote) -> None:
    """What may change once a quote is stored: its status, its review, its broker of record
    (what it was priced with never changes)."""
    row.status, row.broker_id = quote.status, quote.broker_id
    row.review_note, row.reviewed_by, row.reviewed_at = (
        quote.review_note,
        quote.reviewed_by,
        quote.reviewed_at,
    )
