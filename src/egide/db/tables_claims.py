"""Tables of the claims side: claims, their payments and their append-only history.

Money is stored as whole cents (BigInteger), exact on SQLite and PostgreSQL. The declaration is
stored as validated plain data (`Declaration.to_data()`); the settlement is never stored but
derived from it, the policy's terms and the payments, so it cannot drift from the rules.
Payments carry the policy and the start of its term so that the annual aggregate is one SUM.
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim


class ClaimRow(Base, Timestamped):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    policy_number: Mapped[str] = mapped_column(ForeignKey("policies.number"), index=True)
    term_start: Mapped[datetime]  # start of the policy period the claim falls in (claims-made)
    term_end: Mapped[datetime]
    product_ref: Mapped[str] = mapped_column(ForeignKey("product_versions.ref"))
    establishment_kind: Mapped[str] = mapped_column(String(32))
    establishment_id: Mapped[int] = mapped_column(Integer, index=True, nullable=True)  # the tenant
    broker_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    declaration: Mapped[dict[str, Any]]
    discovered_at: Mapped[datetime]
    declared_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    version: Mapped[int] = mapped_column(Integer)  # number of events; bumped by every change


class ClaimPaymentRow(Base):
    """One payment. Never updated, never deleted."""

    __tablename__ = "claim_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    policy_number: Mapped[str] = mapped_column(String(32), index=True)
    term_start: Mapped[datetime]
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # partial | final
    paid_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))


class ClaimEventRow(Base):
    """What happened to a claim, in order: declared, amended, paid, closed, reopened."""

    __tablename__ = "claim_events"
    __table_args__ = (UniqueConstraint("claim_id", "seq", name="uq_claim_events_claim_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any]]


# ------------------------------------------------------------------ rows <-> domain values
# Public: the tests' in-memory fakes convert through them too. JSON documents are copied in and
# out, so a value changed in place changes nothing stored (and the other way round).

_CENT = Decimal("0.01")


def claim_value(row: ClaimRow) -> StoredClaim:
    return StoredClaim(
        number=row.number,
        policy_number=row.policy_number,
        term_start=row.term_start,
        term_end=row.term_end,
        product_ref=row.product_ref,
        establishment_kind=row.establishment_kind,
        status=row.status,
        declaration=copy.deepcopy(row.declaration),
        discovered_at=row.discovered_at,
        declared_at=row.declared_at,
        actor=row.actor,
        created_at=row.created_at,
        establishment_id=row.establishment_id,
        broker_id=row.broker_id,
        version=row.version,
        id=row.id,
    )


def claim_row(claim: StoredClaim) -> ClaimRow:
    """A new row (its id is the database's to give)."""
    return ClaimRow(
        number=claim.number,
        policy_number=claim.policy_number,
        term_start=claim.term_start,
        term_end=claim.term_end,
        product_ref=claim.product_ref,
        establishment_kind=claim.establishment_kind,
        status=claim.status,
        declaration=copy.deepcopy(claim.declaration),
        discovered_at=claim.discovered_at,
        declared_at=claim.declared_at,
        actor=claim.actor,
        created_at=claim.created_at,
        establishment_id=claim.establishment_id,
        broker_id=claim.broker_id,
        version=claim.version,
    )


def update_claim_row(row: ClaimRow, claim: StoredClaim) -> None:
    """What may change once a claim is stored: its status, its declaration (amended as a
    whole), its version (the count of its events) and its broker of record (it follows the
    establishment's). What it was declared on, and for whom, never changes."""
    row.status, row.version = claim.status, claim.version
    row.declaration = copy.deepcopy(claim.declaration)
    row.broker_id = claim.broker_id


def claim_event_value(row: ClaimEventRow) -> ClaimEvent:
    return ClaimEvent(
        claim_id=row.claim_id,
        seq=row.seq,
        kind=row.kind,
        at=row.at,
        actor=row.actor,
        data=copy.deepcopy(row.data),
        note=row.note,
        id=row.id,
    )


def claim_event_row(event: ClaimEvent) -> ClaimEventRow:
    return ClaimEventRow(
        claim_id=event.claim_id,
        seq=event.seq,
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        note=event.note,
        data=copy.deepcopy(event.data),
    )


def claim_payment_value(row: ClaimPaymentRow) -> ClaimPayment:
    return ClaimPayment(
        claim_id=row.claim_id,
        policy_number=row.policy_number,
        term_start=row.term_start,
        amount=Decimal(row.amount_cents) * _CENT,
        kind=row.kind,
        paid_at=row.paid_at,
        actor=row.actor,
        id=row.id,
    )


def claim_payment_row(payment: ClaimPayment) -> ClaimPaymentRow:
    return ClaimPaymentRow(
        claim_id=payment.claim_id,
        policy_number=payment.policy_number,
        term_start=payment.term_start,
        amount_cents=payment.amount_cents,
        kind=payment.kind,
        paid_at=payment.paid_at,
        actor=payment.actor,
    )
