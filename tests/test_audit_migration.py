"""Migration 0005 on a database that already holds records: it checks the retired unkeyed policy
chain, seals every existing row under the audit key, and refuses to seal a tampered database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from egide.db.engine import make_engine
from egide.db.migrate import alembic_config, upgrade
from egide.domain.product import Product
from egide.services import policies
from egide.services.audit import verify_chain
from egide.settings import UnsafeEnvironment
from tests.conftest import make_uow
from tests.fakes import OPERATOR
from tests.test_policy_audit import book, execute, scalar

SEAL_ACTOR = "migration 0005_audit_entries"


def revision(url: str) -> str:
    return str(scalar(url, "SELECT version_num FROM alembic_version"))


def test_existing_rows_are_sealed_at_upgrade_and_verify_clean(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch, handovers=False)
    command.downgrade(alembic_config(any_url), "0004_portfolio_runs")
    assert revision(any_url) == "0004_portfolio_runs"
    upgrade(any_url)
    report = verify_chain(make_uow(any_url))
    assert report.clean, report.problems
    assert (report.policies, report.transactions) == (1, 3)
    engine = make_engine(any_url)
    with engine.connect() as conn:
        seals = conn.execute(sa.text("SELECT DISTINCT action, actor FROM audit_entries")).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("policy_transactions")}
    engine.dispose()
    by_0005 = {(action, actor) for action, actor in seals if actor == SEAL_ACTOR}
    assert by_0005 == {("sealed", SEAL_ACTOR), ("opened", SEAL_ACTOR)}
    # 0007 then records each object's tenant and seals the accounts (tests/test_tenancy_migration)
    assert {a for a, actor in seals if actor != SEAL_ACTOR} == {"tenancy", "sealed", "opened"}
    assert not {"hash", "prev_hash"} & columns  # the unkeyed chain is gone
    # the sealed history goes on as any other, and a sealed row altered later is caught
    policies.cancel_policy(make_uow(any_url), OPERATOR, b.policy, "2027-06-01", "carol")
    assert verify_chain(make_uow(any_url)).clean
    execute(any_url, "UPDATE claim_payments SET amount_cents = amount_cents + 1")
    assert {p.table for p in verify_chain(make_uow(any_url)).problems} == {"claim_payments"}


def test_a_database_tampered_before_the_upgrade_is_not_sealed(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch, handovers=False)
    command.downgrade(alembic_config(any_url), "0004_portfolio_runs")
    execute(any_url, "UPDATE policy_transactions SET change_net_cents = 1 WHERE seq = 2")
    with pytest.raises(UnsafeEnvironment) as exc:
        upgrade(any_url)
    assert f"policy {b.policy}, transaction #2" in str(exc.value)
    assert "[legacy_chain_broken]" in str(exc.value)
    assert revision(any_url) == "0004_portfolio_runs"  # nothing of 0005 was kept
