"""The audit trail: append-only entries chained with HMAC-SHA256, and one head per chain.

One chain per audited object (a quote, a policy and its transactions, a claim and its events and
payments, a portfolio run): writers to different objects never contend on it. Each chain's head
(`AuditChainRow`: its length and last MAC, itself signed) catches a deleted last entry; the
chain ``index`` records the opening of every other chain, so a chain deleted whole is caught too.
See `egide.services.audit`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base


class AuditEntryRow(Base):
    """One change of one record. Never updated, never deleted."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_entries_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(80))  # e.g. policies:POL-2027-0A1B2C3D
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the chain
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))  # the principal's label
    record_table: Mapped[str] = mapped_column(String(40))  # e.g. policy_transactions
    record_number: Mapped[str] = mapped_column(String(80))  # e.g. POL-2027-0A1B2C3D
    record_item: Mapped[int | None] = mapped_column(Integer, default=None)  # e.g. seq 2
    action: Mapped[str] = mapped_column(String(40))  # saved, reviewed, issue, paid...
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the record's canonical content
    key_id: Mapped[str] = mapped_column(String(40))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditChainRow(Base):
    """The head of one chain: how many entries it holds and the MAC of the last, signed."""

    __tablename__ = "audit_chains"

    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    head_mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(40))
    mac: Mapped[str] = mapped_column(String(64))
