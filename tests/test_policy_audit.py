"""The history is tamper-evident: a row changed, removed or re-chained through SQL is caught, and
`egide audit verify` names the first broken link (exit 1; 0 when clean)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.engine import make_engine
from egide.db.tables_policy import PolicyTransactionRow
from egide.domain.policy import GENESIS_HASH, link_hash
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.audit import transaction_content, verify_chain
from tests.conftest import EXAMPLES, make_uow


def policy_with_history(url: str, product: Product) -> str:
    uow = make_uow(url)
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, data, product, "broker")["quote_number"]
    number = str(policies.bind_quote(uow, q, "alice")["policy_number"])
    policies.endorse_policy(uow, number, "2027-03-01", {"cover.limit": 250000}, "bob")
    policies.cancel_policy(uow, number, "2027-06-01", "carol")
    return number


def execute(url: str, sql: str, **params: object) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def test_a_clean_history_verifies(any_url: str, product: Product, frozen_now: str) -> None:
    policy_with_history(any_url, product)
    report = verify_chain(make_uow(any_url))
    assert report.clean and report.policies == 1 and report.transactions == 3


def test_a_premium_changed_through_sql_is_caught_at_its_row(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = policy_with_history(any_url, product)
    execute(
        any_url,
        "UPDATE policy_transactions SET change_net_cents = change_net_cents - 100 WHERE seq = 2",
    )
    broken = verify_chain(make_uow(any_url)).broken
    assert broken is not None
    assert (broken.policy_number, broken.seq) == (number, 2)
    assert "content does not match its hash" in broken.problem


def test_an_actor_rewritten_with_a_recomputed_hash_breaks_the_next_link(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = policy_with_history(any_url, product)
    # a forger recomputes row 1's hash after changing its actor, but not the rest of the chain
    uow = make_uow(any_url)
    with uow:
        row = uow.session.scalars(
            sa.select(PolicyTransactionRow).where(PolicyTransactionRow.seq == 1)
        ).one()
        row.actor = "mallory"
        row.hash = link_hash(GENESIS_HASH, transaction_content(number, row))
        uow.commit()
    broken = verify_chain(make_uow(any_url)).broken
    assert broken is not None and broken.seq == 2
    assert "prev_hash" in broken.problem


def test_a_deleted_last_transaction_is_caught_by_the_policy_head(
    any_url: str, product: Product, frozen_now: str
) -> None:
    policy_with_history(any_url, product)
    execute(any_url, "DELETE FROM policy_transactions WHERE seq = 3")
    broken = verify_chain(make_uow(any_url)).broken
    assert broken is not None and broken.seq is None
    assert "counts 3 transactions but 2" in broken.problem


def test_audit_verify_exits_0_when_clean_and_1_naming_the_first_broken_link(
    cli_env: str, product: Product, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = policy_with_history(cli_env, product)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "clean" in ok.output
    execute(cli_env, "UPDATE policy_transactions SET actor = 'mallory' WHERE seq = 3")
    bad = runner.invoke(app, ["audit", "verify", "--json"])
    assert bad.exit_code == 1
    assert f'"policy_number": "{number}"' in bad.output
    assert '"seq": 3' in bad.output
