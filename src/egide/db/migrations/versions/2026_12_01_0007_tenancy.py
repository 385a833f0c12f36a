"""Tenancy: quotes, policies and claims belong to an establishment organisation and name their
broker of record; idempotency keys are scoped to an organisation; the accounts are audited.

Upgrade:

1. creates ``organisation_events`` (a broker of record transferred, with its note), adds
   ``establishment_id`` and ``broker_id`` to quotes, policies and claims (indexed; no
   foreign key, which SQLite could not drop again on a downgrade: the services keep them), widens
   the ``actor`` columns to hold a principal beside the ``--actor`` label (PostgreSQL; SQLite does
   not enforce lengths) and the idempotency key to hold its organisation;
2. gives every existing quote and policy the establishment organisation of its SIRET, created
   from the latest quote's name when none exists (no broker of record: before tenancy everything
   was the local operator's, who is the insurer's), and every claim its policy's;
3. prefixes every stored idempotency key with the insurer's id (the local operator sent them);
4. checks that every quote, policy and claim still matches its last audit entry (refusing to go
   on otherwise, since the next step would vouch for an altered row), then appends a ``tenancy``
   entry for each, and a ``sealed`` entry for every organisation (the insurer the 0006 migration
   created included), user and API client.

Downgrade records each quote, policy and claim without its tenant in the trail, then drops the
columns and the keys' prefixes (another tenant's keys are dropped) and the organisations'
events (their entries stay, so a later verify reports them deleted: transfer notes are lost),
and leaves the widened columns wide; the other audit entries stay (an entry about a
record the verifier no longer reads is reported, so verify after a downgrade is not clean).

Revision ID: 0007_tenancy
Revises: 0006_accounts
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0007_tenancy"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None

SEAL_ACTOR = "migration 0007"
TENANTED = ("quotes", "policies", "claims")
ACTOR_COLUMNS = (
    ("quotes", "actor"),
    ("quotes", "reviewed_by"),
    ("policy_transactions", "actor"),
    ("claims", "actor"),
    ("claim_events", "actor"),
    ("claim_payments", "actor"),
    ("portfolio_runs", "actor"),
    ("audit_entries", "actor"),
)

_TYPES: dict[str, Any] = {
    "id": sa.Integer,
    "broker_id": sa.Integer,
    "establishment_id": sa.Integer,
    "organisation_id": sa.Integer,
    "length": sa.Integer,
    "seq": sa.Integer,
    "record_item": sa.Integer,
    "disabled": sa.Boolean,
    "revoked": sa.Boolean,
    "roles": sa.JSON,
    "scopes": sa.JSON,
    "application": sa.JSON,
    "result": sa.JSON,
    "declaration": sa.JSON,
    "valid_until": AwareDateTime,
    "reviewed_at": AwareDateTime,
    "created_at": AwareDateTime,
    "term_start": AwareDateTime,
    "term_end": AwareDateTime,
    "discovered_at": AwareDateTime,
    "declared_at": AwareDateTime,
    "recorded_at": AwareDateTime,
    "last_login_at": AwareDateTime,
    "last_used_at": AwareDateTime,
}


def _table(name: str, columns: str) -> sa.TableClause:
    """The table as it stands at this revision (not the ORM model of later ones)."""
    return sa.table(name, *(sa.column(c, _TYPES.get(c, sa.String)()) for c in columns.split()))


QUOTES = _table(
    "quotes",
    "id number status decision product_ref establishment_name siret application result "
    "valid_until actor review_note reviewed_by reviewed_at created_at establishment_id broker_id",
)
POLICIES = _table(
    "policies",
    "id number quote_number siret establishment_name created_at establishment_id broker_id",
)
CLAIMS = _table(
    "claims",
    "id number policy_number term_start term_end product_ref establishment_kind status "
    "declaration discovered_at declared_at actor created_at establishment_id broker_id",
)
ORGANISATIONS = _table("organisations", "id kind name siren siret orias broker_id created_at")
USERS = _table(
    "users", "id organisation_id email password_hash roles disabled last_login_at created_at"
)
CLIENTS = _table(
    "api_clients",
    "id client_id organisation_id roles scopes secret_hash revoked last_used_at created_at",
)
IDEMPOTENCY = _table("idempotency_keys", "key")
ENTRIES = _table(
    "audit_entries",
    "id chain seq recorded_at actor record_table record_number record_item action digest key_id "
    "prev_mac mac",
)
CHAINS = _table("audit_chains", "chain length head_mac key_id mac")
TENANTED_TABLES = {"quotes": QUOTES, "policies": POLICIES, "claims": CLAIMS}


def _rows(conn: sa.Connection, table: sa.TableClause, *order: str) -> list[Any]:
    query = sa.select(table).order_by(*(table.c[o] for o in order or ("id",)))
    return [SimpleNamespace(**row._mapping) for row in conn.execute(query)]


def _add_columns() -> None:
    op.create_table(
        "organisation_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(400), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_events")),
    )
    op.create_index(
        op.f("ix_organisation_events_organisation_id"), "organisation_events", ["organisation_id"]
    )
    for table in TENANTED:
        op.add_column(table, sa.Column("establishment_id", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("broker_id", sa.Integer(), nullable=True))
        op.create_index(op.f(f"ix_{table}_establishment_id"), table, ["establishment_id"])
        op.create_index(op.f(f"ix_{table}_broker_id"), table, ["broker_id"])
    if op.get_bind().dialect.name != "sqlite":
        for table, column in ACTOR_COLUMNS:
            op.alter_column(table, column, type_=sa.String(400), existing_type=sa.String(120))
        op.alter_column(
            "idempotency_keys", "key", type_=sa.String(120), existing_type=sa.String(100)
        )


def _assign_establishments(conn: sa.Connection) -> None:
    by_siret: dict[str, int] = {}
    for org in _rows(conn, ORGANISATIONS):
        if org.siret:
            by_siret[org.siret] = org.id
    latest_name: dict[str, str] = {}
    for q in _rows(conn, QUOTES):  # by id: the latest quote's name wins
        latest_name[q.siret] = q.establishment_name
    for p in _rows(conn, POLICIES):
        latest_name.setdefault(p.siret, p.establishment_name)
    moment = datetime.now(UTC)
    for siret, name in latest_name.items():
        if siret not in by_siret:
            conn.execute(
                ORGANISATIONS.insert().values(
                    kind="establishment", name=name, siret=siret, created_at=moment
                )
            )
            found = conn.execute(
                sa.select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.siret == siret)
            ).scalar_one()
            by_siret[siret] = int(found)
    for table in (QUOTES, POLICIES):
        for row in _rows(conn, table):
            conn.execute(
                table.update()
                .where(table.c.id == row.id)
                .values(establishment_id=by_siret[row.siret])
            )
    policy_org = {p.number: p.establishment_id for p in _rows(conn, POLICIES)}
    for c in _rows(conn, CLAIMS):
        conn.execute(
            CLAIMS.update()
            .where(CLAIMS.c.id == c.id)
            .values(establishment_id=policy_org.get(c.policy_number))
        )


def _insurer_id(conn: sa.Connection) -> int:
    query = sa.select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.kind == "insurer")
    return int(conn.execute(query).scalar_one())


def _prefix_keys(conn: sa.Connection) -> None:
    prefix = f"{_insurer_id(conn)}:"
    for (key,) in conn.execute(sa.select(IDEMPOTENCY.c.key)).all():
        conn.execute(IDEMPOTENCY.update().where(IDEMPOTENCY.c.key == key).values(key=prefix + key))


class _Log:
    """Just enough of a unit of work for `egide.services.audit.append`: the chain heads read
    from the database (held in memory while this migration appends), entries kept to insert."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.heads: dict[str, Any] = {}
        self.new_heads: set[str] = set()
        self.entries: list[Any] = []
        self.audit = self

    def head(self, chain: str) -> Any:
        from egide.db.tables_audit import AuditChainRow

        if chain not in self.heads:
            found = self.conn.execute(sa.select(CHAINS).where(CHAINS.c.chain == chain)).first()
            if found is None:
                self.new_heads.add(chain)
                row = AuditChainRow(chain=chain, length=0, head_mac="", key_id="", mac="")
            else:
                row = AuditChainRow(**found._mapping)
            self.heads[chain] = row
        return self.heads[chain]

    def add(self, row: Any) -> None:
        self.entries.append(row)

    def write(self) -> None:
        names = [c.name for c in ENTRIES.columns if c.name != "id"]
        for e in self.entries:
            self.conn.execute(ENTRIES.insert().values({n: getattr(e, n) for n in names}))
        for chain, h in self.heads.items():
            values = {c.name: getattr(h, c.name) for c in CHAINS.columns}
            if chain in self.new_heads:
                self.conn.execute(CHAINS.insert().values(values))
            else:
                self.conn.execute(CHAINS.update().where(CHAINS.c.chain == chain).values(values))


def _last_digests(conn: sa.Connection) -> dict[tuple[str, str], str]:
    last: dict[tuple[str, str], str] = {}
    for e in _rows(conn, ENTRIES, "chain", "seq"):
        if e.record_item is None:
            last[(e.record_table, e.record_number)] = e.digest
    return last


def _contents() -> dict[str, Any]:
    """The audited content of a quote, policy or claim row, by table."""
    from egide.services import audit

    return {
        "quotes": audit.quote_content,
        "policies": audit.policy_content,
        "claims": audit.claim_content,
    }


def _append_each(
    conn: sa.Connection, log: _Log, action: str, actor: str, *, untenanted: bool = False
) -> None:
    """One entry per quote, policy and claim as it stands (`untenanted`: as it will stand once
    the tenancy columns are gone)."""
    from egide.services import audit

    contents = _contents()
    for table, clause in TENANTED_TABLES.items():
        for row in _rows(conn, clause):
            if untenanted:
                row.establishment_id = row.broker_id = None
            ref = audit.Ref(table, row.number, None, f"{table}:{row.number}")
            audit.append(log, ref, action, contents[table](row), actor)  # type: ignore[arg-type]


def _check_and_seal(conn: sa.Connection, before: dict[str, list[Any]]) -> None:
    """`before`: the tenanted rows as they were before step 2 (their entries' content)."""
    from egide.db.tables_accounts import client_value, organisation_value, user_value
    from egide.services import audit
    from egide.settings import UnsafeEnvironment

    last = _last_digests(conn)
    contents = _contents()
    for table, rows in before.items():
        for row in rows:
            recorded = last.get((table, row.number))
            if recorded != audit.digest(contents[table](row)):
                raise UnsafeEnvironment(
                    f"{table} {row.number} differs from its last audit entry (or has none): the "
                    "database was altered outside Égide; run `egide audit verify`, restore the "
                    "database from a backup, then upgrade (assigning tenants would vouch for the "
                    "altered row) [audit_mismatch]"
                )
    log = _Log(conn)
    _append_each(conn, log, "tenancy", SEAL_ACTOR)
    accounts: list[Any] = [organisation_value(o) for o in _rows(conn, ORGANISATIONS)]
    accounts += [user_value(u) for u in _rows(conn, USERS)]
    accounts += [client_value(c) for c in _rows(conn, CLIENTS)]
    for value in accounts:
        ref, content = audit.describe_account(value)
        audit.append(log, ref, "sealed", content, SEAL_ACTOR)  # type: ignore[arg-type]
    log.write()


def upgrade() -> None:
    _add_columns()
    conn = op.get_bind()
    before = {table: _rows(conn, clause) for table, clause in TENANTED_TABLES.items()}
    _assign_establishments(conn)
    _prefix_keys(conn)
    _check_and_seal(conn, before)


def _record_untenanted(conn: sa.Connection) -> None:
    """Before the columns go: each quote, policy and claim as it will stand without them, so
    that the trail still matches its rows (and a later upgrade accepts them)."""
    log = _Log(conn)
    _append_each(conn, log, "untenanted", "migration 0007 downgrade", untenanted=True)
    log.write()


def downgrade() -> None:
    conn = op.get_bind()
    _record_untenanted(conn)
    prefix = f"{_insurer_id(conn)}:"
    for (key,) in conn.execute(sa.select(IDEMPOTENCY.c.key)).all():
        if key.startswith(prefix):
            conn.execute(
                IDEMPOTENCY.update().where(IDEMPOTENCY.c.key == key).values(key=key[len(prefix) :])
            )
        else:  # another tenant's key: it had no meaning before tenancy
            conn.execute(IDEMPOTENCY.delete().where(IDEMPOTENCY.c.key == key))
    for table in TENANTED:
        op.drop_index(op.f(f"ix_{table}_broker_id"), table)
        op.drop_index(op.f(f"ix_{table}_establishment_id"), table)
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("broker_id")
            batch.drop_column("establishment_id")
    op.drop_table("organisation_events")
    # The widened columns stay wide: narrowing them could fail on, or cut, what was recorded.
