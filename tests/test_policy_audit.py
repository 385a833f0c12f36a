"""The audit trail is keyed and complete: a record changed, removed, inserted or reordered through
SQL is reported, even when the forger recomputes the project's own unkeyed digest, and
`egide audit verify` names every such record (exit 1; 0 when clean), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.engine import make_engine
from egide.db.tables_audit import AuditEntryRow
from egide.db.tables_policy import PolicyTransactionRow
from egide.domain.product import Product
from egide.services import claims, policies, quotes
from egide.services.audit import (
    AuditReport,
    Finding,
    digest,
    entry_mac,
    transaction_content,
    verify_chain,
)
from egide.services.results import contract
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR
from tests.test_claims_services import bind_policy, forensics_claim


@dataclass
class Book:
    policy: str
    claim: str
    quote: str


def policy_with_history(url: str, product: Product) -> str:
    uow = make_uow(url)
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number
    number = str(contract(policies.bind_quote(uow, OPERATOR, q, "alice"))["policy_number"])
    policies.endorse_policy(uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "bob")
    policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "carol")
    return number


def book(
    url: str, product: Product, monkeypatch: pytest.MonkeyPatch, *, handovers: bool = True
) -> Book:
    """A policy with three transactions, and a claim on it with two payments. Without
    `handovers`, the book an installation held before migration 0011 (its binds recorded no
    hand-over of the distribution documents), for the tests of the earlier migrations."""
    if not handovers:
        from egide.services import distribution

        monkeypatch.setattr(distribution, "ensure_handover_for_bind", lambda *a, **k: None)
    uow = make_uow(url)
    number = bind_policy(uow, monkeypatch, product)
    policies.endorse_policy(uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "bob")
    policies.endorse_policy(uow, OPERATOR, number, "2027-04-01", {"cover.limit": 500000}, "bob")
    c = claims.declare_claim(uow, OPERATOR, number, forensics_claim(20000), "handler").claim_id
    claims.settle_claim(uow, OPERATOR, c, "handler", amount="5000")
    claims.settle_claim(uow, OPERATOR, c, "handler", final=True)
    quote = uow_quote(url, number)
    return Book(number, c, quote)


def uow_quote(url: str, policy: str) -> str:
    uow = make_uow(url)
    with uow:
        row = uow.policies.get(policy)
        assert row is not None
        return row.quote_number


def execute(url: str, sql: str, **params: object) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def scalar(url: str, sql: str, **params: object) -> object:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar()
    engine.dispose()
    return value


def policy_id(url: str, number: str) -> int:
    return int(str(scalar(url, "SELECT id FROM policies WHERE number = :n", n=number)))


def found(report: AuditReport, table: str, number: str, item: int | None = None) -> list[Finding]:
    return [p for p in report.problems if (p.table, p.number, p.item) == (table, number, item)]


def test_a_clean_history_verifies(any_url: str, product: Product, frozen_now: str) -> None:
    policy_with_history(any_url, product)
    report = verify_chain(make_uow(any_url))
    assert report.clean, report.problems
    assert (report.policies, report.transactions) == (1, 3)
    # quote saved + bound, policy created, 3 transactions, 2 chains opened in the index; the
    # insurer sealed at installation and the establishment created by the quote (an entry and
    # a chain's opening each), two more chains; the IPID and the fiche de devoir de conseil
    # handed over at the bind (CLI channel), in the quote's chain
    assert (report.entries, report.chains) == (2 + 1 + 3 + 2 + 2 + 2 + 2, 3 + 2)


def test_every_audited_table_has_its_entries(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    engine = make_engine(any_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT record_table, action, key_id FROM audit_entries ORDER BY id")
        ).all()
    engine.dispose()
    tables = {r[0] for r in rows}
    assert tables == {
        "quotes",
        "policies",
        "policy_transactions",
        "claims",
        "claim_events",
        "claim_payments",
        "organisations",  # the insurer, and the establishment its quote created
        "document_handovers",  # the IPID and the advice, handed over at the bind
        "audit_chains",
    }
    assert ("quotes", "bound") in {(r[0], r[1]) for r in rows}
    assert len({r[2] for r in rows}) == 1  # one key signed them all
    assert verify_chain(make_uow(any_url)).clean
    assert b.claim.startswith("SIN-")


def test_a_premium_changed_through_sql_is_caught_at_its_row(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = policy_with_history(any_url, product)
    execute(
        any_url,
        "UPDATE policy_transactions SET change_net_cents = change_net_cents - 100 WHERE seq = 2",
    )
    report = verify_chain(make_uow(any_url))
    (problem,) = report.problems
    assert (problem.table, problem.number, problem.item) == ("policy_transactions", number, 2)
    assert "differs from what its last audit entry recorded" in problem.problem
    assert str(problem).startswith(f"policy {number}, transaction #2 (id ")


def test_a_payment_amount_changed_through_sql_is_caught_at_the_payment(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    first = int(str(scalar(any_url, "SELECT min(id) FROM claim_payments")))
    execute(any_url, "UPDATE claim_payments SET amount_cents = 50000000 WHERE id = :i", i=first)
    (problem,) = verify_chain(make_uow(any_url)).problems
    assert (problem.table, problem.number, problem.item) == ("claim_payments", b.claim, first)
    assert str(problem).startswith(f"claim {b.claim}, payment id {first}: differs")


def test_an_establishment_name_changed_through_sql_is_caught_on_the_policy_and_the_quote(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    execute(any_url, "UPDATE policies SET establishment_name = 'Clinique Mallory'")
    execute(any_url, "UPDATE quotes SET establishment_name = 'Clinique Mallory'")
    report = verify_chain(make_uow(any_url))
    assert {(p.table, p.number) for p in report.problems} == {
        ("policies", b.policy),
        ("quotes", b.quote),
    }


def test_a_deleted_transaction_is_reported_deleted(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    execute(any_url, "DELETE FROM policy_transactions WHERE seq = 2")
    report = verify_chain(make_uow(any_url))
    (deleted,) = found(report, "policy_transactions", b.policy, 2)
    assert "missing from its table: deleted" in deleted.problem
    assert any("a gap" in p.problem for p in found(report, "policies", b.policy))


def test_a_deleted_last_transaction_with_its_entry_and_count_rolled_back_is_still_caught(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    # the forger removes the last transaction, its audit entry, and sets the policy's count back
    execute(any_url, "DELETE FROM policy_transactions WHERE seq = 3")
    execute(
        any_url,
        "DELETE FROM audit_entries WHERE record_table = 'policy_transactions' AND record_item = 3",
    )
    execute(any_url, "UPDATE policies SET version = 2")
    report = verify_chain(make_uow(any_url))
    (head,) = found(report, "audit_chains", f"policies:{b.policy}")
    assert "its head counts 4 entries but 3 are stored" in head.problem


def test_an_inserted_transaction_is_reported_as_not_in_the_trail(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    cols = [c.name for c in PolicyTransactionRow.__table__.columns if c.name not in ("id", "seq")]
    execute(
        any_url,
        f"INSERT INTO policy_transactions (seq, {', '.join(cols)}) "
        f"SELECT 4, {', '.join(cols)} FROM policy_transactions WHERE seq = 3",
    )
    execute(any_url, "UPDATE policies SET version = 4")
    report = verify_chain(make_uow(any_url))
    (inserted,) = report.problems
    assert (inserted.table, inserted.number, inserted.item) == ("policy_transactions", b.policy, 4)
    assert "is not in the audit trail" in inserted.problem


def test_two_transactions_swapped_are_both_reported(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    pid = policy_id(any_url, b.policy)
    for old, new in ((2, 99), (3, 2), (99, 3)):  # through a free number: (policy, seq) is unique
        execute(
            any_url,
            "UPDATE policy_transactions SET seq = :new WHERE policy_id = :p AND seq = :old",
            new=new,
            old=old,
            p=pid,
        )
    report = verify_chain(make_uow(any_url))
    assert {(p.table, p.item) for p in report.problems} == {
        ("policy_transactions", 2),
        ("policy_transactions", 3),
    }


def test_two_audit_entries_swapped_are_reported(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    chain = f"policies:{b.policy}"
    for old, new in ((3, 99), (4, 3), (99, 4)):
        execute(
            any_url,
            "UPDATE audit_entries SET seq = :new WHERE chain = :c AND seq = :old",
            new=new,
            old=old,
            c=chain,
        )
    report = verify_chain(make_uow(any_url))
    macs = [p for p in report.problems if "MAC does not match" in p.problem]
    assert {(p.table, p.item) for p in macs} == {
        ("policy_transactions", 2),
        ("policy_transactions", 3),
    }


def test_a_deleted_last_audit_entry_is_caught_by_its_chain_head(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    last = scalar(any_url, "SELECT max(id) FROM audit_entries")
    execute(any_url, "DELETE FROM audit_entries WHERE id = :i", i=last)
    report = verify_chain(make_uow(any_url))
    heads = found(report, "audit_chains", f"claims:{b.claim}")
    assert heads and "last entries were deleted" in heads[0].problem


def test_a_chain_deleted_whole_is_caught_by_the_index(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = policy_with_history(any_url, product)
    pid = policy_id(any_url, number)
    # the policy, its rows, its audit entries and its head: everything but the index
    execute(any_url, "DELETE FROM policy_transactions WHERE policy_id = :p", p=pid)
    execute(any_url, "DELETE FROM policies WHERE id = :p", p=pid)
    execute(any_url, "DELETE FROM audit_entries WHERE chain = :c", c=f"policies:{number}")
    execute(any_url, "DELETE FROM audit_chains WHERE chain = :c", c=f"policies:{number}")
    (problem,) = verify_chain(make_uow(any_url)).problems
    assert (problem.table, problem.number) == ("audit_chains", f"policies:{number}")
    assert "deleted whole" in problem.problem


def test_a_row_rehashed_with_the_projects_own_functions_without_the_key_is_caught(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    # the forger lowers a premium, recomputes the entry's digest with the project's function and
    # signs the entry with the project's MAC function, but a key of their own
    uow = make_uow(any_url)
    with uow:
        tx = uow.session.scalars(
            sa.select(PolicyTransactionRow).where(PolicyTransactionRow.seq == 2)
        ).one()
        tx.change_net_cents -= 10000
        entry = uow.session.scalars(
            sa.select(AuditEntryRow).where(
                AuditEntryRow.record_table == "policy_transactions", AuditEntryRow.record_item == 2
            )
        ).one()
        entry.digest = digest(transaction_content(b.policy, tx))
        entry.mac = entry_mac(secrets.token_bytes(32), entry)
        uow.commit()
    report = verify_chain(make_uow(any_url))
    (forged,) = [p for p in report.problems if "MAC does not match" in p.problem]
    assert (forged.table, forged.number, forged.item) == ("policy_transactions", b.policy, 2)
    # the digest matches the altered row: only the key tells the forgery apart
    assert all("differs" not in p.problem for p in report.problems)


def test_an_entry_signed_by_an_unknown_key_id_is_reported(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = book(any_url, product, monkeypatch)
    execute(
        any_url,
        "UPDATE audit_entries SET key_id = 'k-mallory' "
        "WHERE record_table = 'claim_payments' AND chain = :c",
        c=f"claims:{b.claim}",
    )
    report = verify_chain(make_uow(any_url))
    unknown = [p for p in report.problems if "'k-mallory'" in p.problem]
    assert len(unknown) == 2 and {p.table for p in unknown} == {"claim_payments"}
    assert all(p.number == b.claim for p in unknown)


def test_audit_verify_exits_0_when_clean_and_1_naming_every_broken_record(
    cli_env: str, product: Product, frozen_now: str
) -> None:
    number = policy_with_history(cli_env, product)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "clean" in ok.output and "3 transactions" in ok.output
    execute(cli_env, "UPDATE policy_transactions SET actor = 'mallory' WHERE seq = 3")
    execute(cli_env, "UPDATE policy_transactions SET change_net_cents = 1 WHERE seq = 1")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert f"policy {number}, transaction #3" in bad.output
    assert f"policy {number}, transaction #1" in bad.output
    assert "2 problem(s)" in bad.output and "Traceback" not in bad.output
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["clean"], data["policies"], data["transactions"]) == (False, 1, 3)
    assert [(p["policy_number"], p["seq"]) for p in data["problems"]] == [(number, 1), (number, 3)]
    assert data["first_broken_link"] == data["problems"][0]


def test_an_unreadable_row_is_reported_without_a_traceback(
    cli_env: str, product: Product, frozen_now: str
) -> None:
    policy_with_history(cli_env, product)
    execute(cli_env, "UPDATE policy_transactions SET snapshot = '{not json' WHERE seq = 2")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "policy_transactions row id 2: cannot be read" in result.output
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_objects_created_at_the_same_moment_all_enter_the_index(
    pg_url: str, product: Product, frozen_now: str
) -> None:
    """New chains queue on the index head: none is lost, none fails, the trail verifies."""
    import threading

    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    quotes.save_quote(
        make_uow(pg_url), OPERATOR, data, product, "warm-up"
    )  # the product version row
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            uow = make_uow(pg_url)
            barrier.wait(timeout=30)
            quotes.save_quote(uow, OPERATOR, data, product, f"broker-{i}")
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    report = verify_chain(make_uow(pg_url))
    assert report.clean, report.problems
    # the nine quotes, the index, the insurer and the establishment (made by the warm-up)
    assert report.chains == 9 + 1 + 2 and report.entries == 9 * 2 + 2 * 2
