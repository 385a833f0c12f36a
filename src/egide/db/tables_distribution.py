"""The hand-overs of the pre-contractual documents (migration 0011), append-only, and the explicit
conversions between the row and the domain value (`egide.domain.handover.Handover`) that the
repositories return, the audit verifier reads and the in-memory fakes share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base
from egide.domain.handover import Handover


class HandoverRow(Base):
    """Never updated, never deleted: the audit trail (chain of the quote) holds each row's digest."""

    __tablename__ = "document_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    quote_number: Mapped[str] = mapped_column(ForeignKey("quotes.number"), index=True)
    document: Mapped[str] = mapped_column(String(32))  # ipid | devoir_de_conseil
    sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))  # web | cli | api
    handed_over_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_ref: Mapped[str] = mapped_column(String(80))


def handover_value(row: HandoverRow) -> Handover:
    return Handover(
        quote_number=row.quote_number,
        document=row.document,
        sha256=row.sha256,
        channel=row.channel,
        handed_over_at=row.handed_over_at,
        actor=row.actor,
        principal_kind=row.principal_kind,
        principal_id=row.principal_id,
        organisation_id=row.organisation_id,
        product_ref=row.product_ref,
        id=row.id,
    )


def handover_row(value: Handover) -> HandoverRow:
    return HandoverRow(
        quote_number=value.quote_number,
        document=value.document,
        sha256=value.sha256,
        channel=value.channel,
        handed_over_at=value.handed_over_at,
        actor=value.actor,
        principal_kind=value.principal_kind,
        principal_id=value.principal_id,
        organisation_id=value.organisation_id,
        product_ref=value.product_ref,
    )
