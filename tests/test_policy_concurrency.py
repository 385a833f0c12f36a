"""Concurrent writers on one policy, on SQLite and PostgreSQL: 20 threads, each with its own
engine and connection, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import yaml

from egide.db.engine import make_engine
from egide.db.tables_policy import PolicyRow, PolicyTransactionRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.audit import verify_chain
from egide.services.quote_results import Quote
from egide.services.results import contract
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR

THREADS = 20


def run_together(
    url: str, job: Callable[[SqlUnitOfWork, int], dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Run `job` in THREADS threads, each on its own engine, started at once."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        engine = make_engine(url)
        try:
            uow = SqlUnitOfWork.from_engine(engine)
            with engine.connect():  # open the connection before the start
                pass
            barrier.wait()
            try:
                out: tuple[str, Any] = ("ok", job(uow, i))
            except Conflict as exc:
                out = ("conflict", str(exc))
            except Exception as exc:
                out = ("error", repr(exc))
            with lock:
                results.append(out)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == THREADS
    assert not [r for r in results if r[0] == "error"], results
    return results


def bind_one(url: str, product: Product) -> str:
    uow = make_uow(url)
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number
    return str(contract(policies.bind_quote(uow, OPERATOR, q, "alice"))["policy_number"])


def stored(url: str, number: str) -> tuple[int, list[dict[str, Any]]]:
    """The policy's version and its transaction rows as plain values."""
    uow = make_uow(url)
    with uow:
        p = uow.session.scalars(sa.select(PolicyRow).where(PolicyRow.number == number)).one()
        rows = uow.session.scalars(
            sa.select(PolicyTransactionRow)
            .where(PolicyTransactionRow.policy_id == p.id)
            .order_by(PolicyTransactionRow.seq)
        )
        return p.version, [
            {c: getattr(r, c) for c in ("seq", "kind", "change_net_cents", "term_net_cents")}
            for r in rows
        ]


def assert_chain_adds_up(rows: list[dict[str, Any]]) -> None:
    total = 0
    for r in rows:
        total = (
            r["change_net_cents"]
            if r["kind"] in ("issue", "renew")
            else total + r["change_net_cents"]
        )
        assert r["term_net_cents"] == total


def test_of_twenty_concurrent_endorsements_of_one_version_exactly_one_succeeds(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = bind_one(any_url, product)
    version = contract(policies.get_policy(make_uow(any_url), OPERATOR, number))["version"]
    limits = [250000, 500000, 1000000]

    def endorse(uow: SqlUnitOfWork, i: int) -> dict[str, Any]:
        return contract(
            policies.endorse_policy(
                uow,
                OPERATOR,
                number,
                "2027-03-01",
                {"cover.limit": limits[i % 3]},
                f"user{i}",
                expected_version=version,
            )
        )

    results = run_together(any_url, endorse)
    assert [r[0] for r in results].count("ok") == 1
    assert [r[0] for r in results].count("conflict") == THREADS - 1
    version, rows = stored(any_url, number)
    assert version == len(rows) == 2
    assert verify_chain(make_uow(any_url)).clean


def test_twenty_concurrent_endorsements_without_a_version_lose_nothing(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = bind_one(any_url, product)

    def endorse(uow: SqlUnitOfWork, i: int) -> dict[str, Any]:
        return contract(
            policies.endorse_policy(
                uow, OPERATOR, number, "2027-03-01", {"establishment.employees": 5 + i}, f"user{i}"
            )
        )

    results = run_together(any_url, endorse)
    ok = [r[1] for r in results if r[0] == "ok"]
    assert ok
    version, rows = stored(any_url, number)
    assert version == len(rows) == 1 + len(ok)
    assert sorted(r["transaction"] for r in ok) == list(range(2, 2 + len(ok)))
    assert_chain_adds_up(rows)
    assert verify_chain(make_uow(any_url)).clean


def test_twenty_concurrent_binds_of_one_quote_make_one_policy(
    any_url: str, product: Product, frozen_now: str
) -> None:
    uow = make_uow(any_url)
    data = yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number
    results = run_together(
        any_url, lambda u, i: contract(policies.bind_quote(u, OPERATOR, q, f"user{i}"))
    )
    numbers = {r[1]["policy_number"] for r in results if r[0] == "ok"}
    assert len(numbers) == 1, results
    with uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(PolicyRow)) == 1


def test_twenty_concurrent_retries_with_one_key_record_one_transaction(
    any_url: str, product: Product, frozen_now: str
) -> None:
    number = bind_one(any_url, product)

    def endorse(uow: SqlUnitOfWork, i: int) -> dict[str, Any]:
        return contract(
            policies.endorse_policy(
                uow,
                OPERATOR,
                number,
                "2027-03-01",
                {"cover.deductible": 2500},
                "alice",
                idempotency_key="same",
            )
        )

    results = run_together(any_url, endorse)
    oks = [r[1] for r in results if r[0] == "ok"]
    # every retry gets the first result, or (having raced the first one) a conflict to retry
    assert oks and all(o == oks[0] for o in oks)
    _, rows = stored(any_url, number)
    assert len(rows) == 2
    assert Decimal(oks[0]["premium_change"]["net"]) == Decimal(rows[1]["change_net_cents"]) / 100


def test_of_twenty_concurrent_reviews_of_a_referred_quote_exactly_one_decides(
    any_url: str, product: Product, frozen_now: str
) -> None:
    data = yaml.safe_load((EXAMPLES / "chu-1500-lits.yaml").read_text(encoding="utf-8"))
    saved = quotes.save_quote(make_uow(any_url), OPERATOR, data, product, "broker")
    assert saved.status == "referred"
    number = saved.quote_number

    def review(uow: SqlUnitOfWork, i: int) -> Quote:
        return quotes.review_quote(
            uow, OPERATOR, number, i % 2 == 0, f"review {i}", f"underwriter{i}"
        )

    results = run_together(any_url, review)
    winners = [r[1] for r in results if r[0] == "ok"]
    assert len(winners) == 1
    assert [r[0] for r in results].count("conflict") == THREADS - 1
    stored_quote = quotes.get_quote(make_uow(any_url), OPERATOR, number)
    assert stored_quote.status == winners[0].status in ("approved", "declined")
    assert stored_quote.review == winners[0].review
