"""Tables of the claims side: claims, their payments and their append-only history.

Money is stored as whole cents (BigInteger), exact on SQLite and PostgreSQL. The declaration is
stored as validated plain data (`Declaration.to_data()`); the settlement is never stored but
derived from it, the policy's terms and the payments, so it cannot drift from the rules.
Payments carry the policy and the start of its term so that the annual aggregate is one SUM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped


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
