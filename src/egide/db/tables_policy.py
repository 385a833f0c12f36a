"""Tables of the policy side: policies, their append-only transactions, idempotency keys.

Money is stored as whole cents (BigInteger): exact on SQLite and PostgreSQL alike. A policy row
holds identity and the concurrency guard only (`version` = number of transactions); status and
cover are derived from the transactions. Tamper evidence is the audit trail's
(`egide.db.tables_audit`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped


class PolicyRow(Base, Timestamped):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # unique: a quote binds once, whatever the races
    quote_number: Mapped[str] = mapped_column(ForeignKey("quotes.number"), unique=True)
    siret: Mapped[str] = mapped_column(String(14), index=True)
    establishment_name: Mapped[str] = mapped_column(String(200))
    establishment_id: Mapped[int] = mapped_column(Integer, index=True, nullable=True)  # the tenant
    broker_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    version: Mapped[int] = mapped_column(Integer)


class PolicyTransactionRow(Base):
    """One immutable transaction. Never updated, never deleted."""

    __tablename__ = "policy_transactions"
    __table_args__ = (
        UniqueConstraint("policy_id", "seq", name="uq_policy_transactions_policy_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the policy
    kind: Mapped[str] = mapped_column(String(16))  # issue | endorse | cancel | reinstate | renew
    term: Mapped[int] = mapped_column(Integer)  # 1 for the first period, +1 per renewal
    effective_date: Mapped[date] = mapped_column(Date)  # from 0 h, Europe/Paris
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive, 0 h Europe/Paris
    retroactive_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    product_ref: Mapped[str] = mapped_column(ForeignKey("product_versions.ref"))
    snapshot: Mapped[dict[str, Any]]  # application, terms, annual premium in force after it
    change_net_cents: Mapped[int] = mapped_column(BigInteger)
    change_tax_cents: Mapped[int] = mapped_column(BigInteger)
    term_net_cents: Mapped[int] = mapped_column(BigInteger)  # the term's premium after it
    term_tax_cents: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)


class IdempotencyRow(Base):
    """A mutating request's key, its canonical fingerprint and the response it got."""

    __tablename__ = "idempotency_keys"

    # "ORGANISATION_ID:KEY": a key is scoped to the organisation that sent it
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
