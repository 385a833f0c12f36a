"""Migration 0007 on a database that already holds records: every quote, policy and claim gets
the establishment of its SIRET (created when none holds it), idempotency keys their
organisation, the accounts are sealed, and the trail verifies clean; a record altered before the
upgrade is refused rather than vouched for; a downgrade and upgrade round-trip."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from egide.db.engine import make_engine
from egide.db.migrate import alembic_config, upgrade
from egide.domain.product import Product
from egide.services.audit import verify_chain
from egide.settings import UnsafeEnvironment
from tests.conftest import make_uow
from tests.test_policy_audit import book, execute, scalar


def rows(url: str, sql: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = list(conn.execute(sa.text(sql)).all())
    engine.dispose()
    return found


def test_existing_records_get_their_establishment_and_verify_clean(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    book(any_url, product, monkeypatch, handovers=False)
    command.downgrade(alembic_config(any_url), "0004_portfolio_runs")  # before accounts
    upgrade(any_url)
    report = verify_chain(make_uow(any_url))
    assert report.clean, report.problems
    (org_id, org_kind, broker) = rows(
        any_url, "SELECT id, kind, broker_id FROM organisations WHERE siret IS NOT NULL"
    )[0]
    assert (org_kind, broker) == ("establishment", None)
    for table in ("quotes", "policies", "claims"):
        tenants = rows(any_url, f"SELECT DISTINCT establishment_id, broker_id FROM {table}")
        assert tenants == [(org_id, None)], table
    keys = [k for (k,) in rows(any_url, "SELECT key FROM idempotency_keys")]
    assert keys and all(k.startswith("1:") for k in keys)
    actions = {a for (a,) in rows(any_url, "SELECT DISTINCT action FROM audit_entries")}
    assert {"tenancy", "sealed"} <= actions


def test_a_downgrade_and_upgrade_round_trip_and_a_tampered_record_is_refused(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch, handovers=False)
    command.downgrade(alembic_config(any_url), "0006_accounts")
    upgrade(any_url)
    assert verify_chain(make_uow(any_url)).clean
    command.downgrade(alembic_config(any_url), "0006_accounts")
    execute(any_url, "UPDATE quotes SET establishment_name = 'X' WHERE number = :n", n=b.quote)
    with pytest.raises(UnsafeEnvironment) as exc:
        upgrade(any_url)
    assert f"quotes {b.quote} differs from its last audit entry" in str(exc.value)
    assert "[audit_mismatch]" in str(exc.value)
    version = scalar(any_url, "SELECT version_num FROM alembic_version")
    assert version == "0006_accounts"  # nothing of 0007 was kept
