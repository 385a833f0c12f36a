"""The keyed audit trail: audit_entries and audit_chains; existing rows sealed; the unkeyed
policy hash chain retired.

Upgrade: checks the unkeyed chain of every existing policy first (sha256 links in
``policy_transactions.prev_hash/hash``, head in ``policies.head_hash``) and refuses to go on if a
link is broken, since sealing would vouch for a tampered row; then writes one ``sealed`` entry
per existing row (quotes, policies and their transactions, claims and their events and
payments, portfolio runs) under the current audit key (`egide.settings.audit_keys`), and drops
the three unkeyed hash columns. Downgrade: recomputes those columns and drops the trail.

Revision ID: 0005_audit_entries
Revises: 0004_portfolio_runs
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0005_audit_entries"
down_revision = "0004_portfolio_runs"
branch_labels = None
depends_on = None

SEAL_ACTOR = "migration 0005_audit_entries"
LEGACY_GENESIS = "0" * 64

_T = AwareDateTime
_TYPES: dict[str, Any] = {
    "application": sa.JSON,
    "result": sa.JSON,
    "snapshot": sa.JSON,
    "declaration": sa.JSON,
    "data": sa.JSON,
    "effective_date": sa.Date,
    "period_start": sa.Date,
    "period_end": sa.Date,
    "retroactive_date": sa.Date,
    "valid_until": _T,
    "reviewed_at": _T,
    "created_at": _T,
    "recorded_at": _T,
    "term_start": _T,
    "term_end": _T,
    "discovered_at": _T,
    "declared_at": _T,
    "paid_at": _T,
    "at": _T,
    **{
        name: sa.BigInteger
        for name in [
            "id",
            "policy_id",
            "claim_id",
            "seq",
            "term",
            "change_net_cents",
            "change_tax_cents",
            "term_net_cents",
            "term_tax_cents",
            "amount_cents",
            "policies",
            "years",
            "seed",
            "block_years",
            "length",
            "record_item",
        ]
    },
}


def _table(name: str, columns: str) -> sa.TableClause:
    """The table as it stands at 0004 (not the ORM model of today, which may have moved on)."""
    return sa.table(name, *(sa.column(c, _TYPES.get(c, sa.String)()) for c in columns.split()))


QUOTES = _table(
    "quotes",
    "id number status decision product_ref establishment_name siret application result "
    "valid_until actor review_note reviewed_by reviewed_at created_at",
)
POLICIES = _table(
    "policies", "id number quote_number siret establishment_name created_at head_hash"
)
TRANSACTIONS = _table(
    "policy_transactions",
    "id policy_id seq kind term effective_date period_start period_end retroactive_date "
    "recorded_at actor reason product_ref snapshot change_net_cents change_tax_cents "
    "term_net_cents term_tax_cents idempotency_key prev_hash hash",
)
CLAIMS = _table(
    "claims",
    "id number policy_number term_start term_end product_ref establishment_kind status "
    "declaration discovered_at declared_at actor created_at",
)
EVENTS = _table("claim_events", "id claim_id seq kind at actor note data")
PAYMENTS = _table(
    "claim_payments", "id claim_id policy_number term_start amount_cents kind paid_at actor"
)
RUNS = _table(
    "portfolio_runs",
    "id run_id actor book_source book_sha256 policies years seed block_years product_ref "
    "risk_model_sha256 systemic_model result created_at",
)
ENTRIES = _table(
    "audit_entries",
    "chain seq recorded_at actor record_table record_number record_item action digest key_id "
    "prev_mac mac",
)
CHAINS = _table("audit_chains", "chain length head_mac key_id mac")


def _rows(conn: sa.Connection, table: sa.TableClause, *order: str) -> list[Any]:
    query = sa.select(table).order_by(*(table.c[o] for o in order or ("id",)))
    return [SimpleNamespace(**row._mapping) for row in conn.execute(query)]


def _legacy_hash(prev: str, content: dict[str, Any]) -> str:
    """The retired unkeyed link: sha256(prev + newline + canonical JSON of the content)."""
    from egide.domain.policy import canonical_json

    return hashlib.sha256((prev + "\n" + canonical_json(content)).encode("utf-8")).hexdigest()


def _policy_chains(conn: sa.Connection) -> dict[int, list[Any]]:
    by_policy: dict[int, list[Any]] = {}
    for t in _rows(conn, TRANSACTIONS, "policy_id", "seq"):
        by_policy.setdefault(t.policy_id, []).append(t)
    return by_policy


def _check_legacy_chains(conn: sa.Connection, policies: list[Any]) -> None:
    from egide.services.audit import transaction_content
    from egide.settings import UnsafeEnvironment

    by_policy = _policy_chains(conn)
    for p in policies:
        prev = LEGACY_GENESIS
        for t in by_policy.get(p.id, []):
            if t.prev_hash != prev or t.hash != _legacy_hash(
                prev, transaction_content(p.number, t)
            ):
                raise UnsafeEnvironment(
                    f"policy {p.number}, transaction #{t.seq} breaks the pre-0005 hash chain: "
                    "the database was altered; restore it from a backup before upgrading "
                    "(sealing it would vouch for the altered rows) [legacy_chain_broken]"
                )
            prev = t.hash
        if p.head_hash != prev:
            raise UnsafeEnvironment(
                f"policy {p.number}: its head hash does not match its last transaction in the "
                "pre-0005 hash chain: restore the database from a backup before upgrading "
                "[legacy_chain_broken]"
            )


class _Log:
    """Just enough of a unit of work for `egide.services.audit.append`: heads and entries in
    memory, inserted afterwards with the 0005 columns only."""

    def __init__(self) -> None:
        self.heads: dict[str, Any] = {}
        self.entries: list[Any] = []
        self.audit = self

    def head(self, chain: str) -> Any:
        from egide.db.tables_audit import AuditChainRow

        if chain not in self.heads:
            self.heads[chain] = AuditChainRow(chain=chain, length=0, head_mac="", key_id="", mac="")
        return self.heads[chain]

    def add(self, row: Any) -> None:
        self.entries.append(row)


def _seal(conn: sa.Connection, policies: list[Any]) -> None:
    from egide.services import audit

    log = _Log()

    def seal(ref: audit.Ref, content: dict[str, Any]) -> None:
        audit.append(log, ref, "sealed", content, SEAL_ACTOR)  # type: ignore[arg-type]

    def chain(table: str, number: str) -> str:
        return f"{table}:{number}"

    for q in _rows(conn, QUOTES):
        seal(audit.Ref("quotes", q.number, None, chain("quotes", q.number)), audit.quote_content(q))
    by_policy = _policy_chains(conn)
    for p in policies:
        c = chain("policies", p.number)
        seal(audit.Ref("policies", p.number, None, c), audit.policy_content(p))
        for t in by_policy.get(p.id, []):
            content = audit.transaction_content(p.number, t)
            seal(audit.Ref("policy_transactions", p.number, t.seq, c), content)
    events: dict[int, list[Any]] = {}
    for e in _rows(conn, EVENTS, "claim_id", "seq"):
        events.setdefault(e.claim_id, []).append(e)
    payments: dict[int, list[Any]] = {}
    for pay in _rows(conn, PAYMENTS):
        payments.setdefault(pay.claim_id, []).append(pay)
    for cl in _rows(conn, CLAIMS):
        c = chain("claims", cl.number)
        seal(audit.Ref("claims", cl.number, None, c), audit.claim_content(cl))
        for e in events.get(cl.id, []):
            seal(audit.Ref("claim_events", cl.number, e.seq, c), audit.event_content(cl.number, e))
        for pay in payments.get(cl.id, []):
            content = audit.payment_content(cl.number, pay)
            seal(audit.Ref("claim_payments", cl.number, pay.id, c), content)
    for r in _rows(conn, RUNS):
        ref = audit.Ref("portfolio_runs", r.run_id, None, chain("portfolio_runs", r.run_id))
        seal(ref, audit.run_content(r))
    names = [c.name for c in ENTRIES.columns]
    for e in log.entries:
        conn.execute(ENTRIES.insert().values({n: getattr(e, n) for n in names}))
    for h in log.heads.values():
        conn.execute(CHAINS.insert().values({n.name: getattr(h, n.name) for n in CHAINS.columns}))


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("recorded_at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("record_table", sa.String(40), nullable=False),
        sa.Column("record_number", sa.String(80), nullable=False),
        sa.Column("record_item", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_entries_chain_seq"),
    )
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(80), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head_mac", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chains")),
    )
    conn = op.get_bind()
    policies = _rows(conn, POLICIES)
    _check_legacy_chains(conn, policies)
    if any(
        conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (QUOTES, RUNS)
    ):
        _seal(conn, policies)  # the key is needed (and, in development, made) only then
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 or later): a batch copy of `policies` would
    # drop a table other tables' foreign keys point at
    op.drop_column("policy_transactions", "hash")
    op.drop_column("policy_transactions", "prev_hash")
    op.drop_column("policies", "head_hash")


def downgrade() -> None:
    from egide.services.audit import transaction_content

    def column(name: str) -> sa.Column[str]:
        return sa.Column(name, sa.String(64), nullable=False, server_default="")

    op.add_column("policies", column("head_hash"))
    op.add_column("policy_transactions", column("prev_hash"))
    op.add_column("policy_transactions", column("hash"))
    conn = op.get_bind()
    by_policy = _policy_chains(conn)
    for p in _rows(conn, POLICIES):
        prev = LEGACY_GENESIS
        for t in by_policy.get(p.id, []):
            link = _legacy_hash(prev, transaction_content(p.number, t))
            conn.execute(
                TRANSACTIONS.update()
                .where(TRANSACTIONS.c.id == t.id)
                .values(prev_hash=prev, hash=link)
            )
            prev = link
        conn.execute(POLICIES.update().where(POLICIES.c.id == p.id).values(head_hash=prev))
    op.drop_table("audit_chains")
    op.drop_table("audit_entries")
