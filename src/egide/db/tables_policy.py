"""Tables of the policy side: policies, their append-only transactions, idempotency keys.

Money is stored as whole cents (BigInteger): exact on SQLite and PostgreSQL alike. A policy row
holds identity and the concurrency guard only (`version` = number of transactions); status and
cover are derived from the transactions. Tamper evidence is the audit trail's
(`egide.db.tables_audit`).

The services see policies and transactions as domain values (`egide.domain.policy_record`); the
conversions are below, explicit, and shared by the SQL repositories and the tests' fakes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped
from egide.domain.errors import UnreadableRows
from egide.domain.policy_record import (
    CoverSnapshot,
    MalformedSnapshot,
    PolicyTransaction,
    StoredPolicy,
)


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


# ------------------------------------------------------------------ rows <-> domain values


def policy_value(row: PolicyRow) -> StoredPolicy:
    return StoredPolicy(
        number=row.number,
        quote_number=row.quote_number,
        siret=row.siret,
        establishment_name=row.establishment_name,
        establishment_id=row.establishment_id,
        broker_id=row.broker_id,
        version=row.version,
        created_at=row.created_at,
        id=row.id,
    )


def policy_row(policy: StoredPolicy) -> PolicyRow:
    return PolicyRow(
        number=policy.number,
        quote_number=policy.quote_number,
        siret=policy.siret,
        establishment_name=policy.establishment_name,
        establishment_id=policy.establishment_id,
        broker_id=policy.broker_id,
        version=policy.version,
        created_at=policy.created_at,
    )


def update_policy_row(row: PolicyRow, policy: StoredPolicy) -> None:
    """What may change once a policy is stored: its version counter (one more per transaction)
    and its tenant (the broker of record follows the establishment's)."""
    row.version, row.broker_id = policy.version, policy.broker_id
    if policy.establishment_id is not None:  # a policy never leaves its establishment for none
        row.establishment_id = policy.establishment_id


def transaction_value(row: PolicyTransactionRow) -> PolicyTransaction:
    """MalformedSnapshot, naming the row, when its stored snapshot is not one Égide reads."""
    try:
        snapshot = CoverSnapshot.from_data(row.snapshot)
    except MalformedSnapshot as exc:
        raise exc.about(f"policy_transactions row id {row.id}") from None
    return PolicyTransaction(
        policy_id=row.policy_id,
        seq=row.seq,
        kind=row.kind,
        term=row.term,
        effective_date=row.effective_date,
        period_start=row.period_start,
        period_end=row.period_end,
        retroactive_date=row.retroactive_date,
        recorded_at=row.recorded_at,
        actor=row.actor,
        reason=row.reason,
        product_ref=row.product_ref,
        snapshot=snapshot,
        change_net_cents=row.change_net_cents,
        change_tax_cents=row.change_tax_cents,
        term_net_cents=row.term_net_cents,
        term_tax_cents=row.term_tax_cents,
        idempotency_key=row.idempotency_key,
        id=row.id,
    )


def readable_transactions(rows: list[PolicyTransactionRow]) -> list[PolicyTransaction]:
    """The values of `rows`; `UnreadableRows` naming every row whose snapshot cannot be read."""
    values, bad = [], []
    for row in rows:
        try:
            values.append(transaction_value(row))
        except MalformedSnapshot:
            bad.append(row.id)
    if bad:
        raise UnreadableRows(PolicyTransactionRow.__tablename__, bad)
    return values


def transaction_row(tx: PolicyTransaction) -> PolicyTransactionRow:
    return PolicyTransactionRow(
        policy_id=tx.policy_id,
        seq=tx.seq,
        kind=tx.kind,
        term=tx.term,
        effective_date=tx.effective_date,
        period_start=tx.period_start,
        period_end=tx.period_end,
        retroactive_date=tx.retroactive_date,
        recorded_at=tx.recorded_at,
        actor=tx.actor,
        reason=tx.reason,
        product_ref=tx.product_ref,
        snapshot=tx.snapshot.to_data(),
        change_net_cents=tx.change_net_cents,
        change_tax_cents=tx.change_tax_cents,
        term_net_cents=tx.term_net_cents,
        term_tax_cents=tx.term_tax_cents,
        idempotency_key=tx.idempotency_key,
    )
