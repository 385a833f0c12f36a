"""Claims on both backends, and the annual aggregate under concurrent settlements on PostgreSQL
(threads, each with its own engine and connection)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from egide.db.uow import SqlUnitOfWork
from egide.domain.product import Product
from egide.services import claims
from egide.services.results import contract
from tests.conftest import make_uow
from tests.fakes import OPERATOR
from tests.test_claims_services import bind_policy, forensics_claim

D = Decimal


def test_a_claims_life_on_both_backends(
    any_url: str, monkeypatch: pytest.MonkeyPatch, product: Product
) -> None:
    uow = make_uow(any_url)
    policy = bind_policy(uow, monkeypatch, product)
    c = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(20000), "h", idempotency_key="d-1"
        )
    )
    assert c["payable_total"] == "19000.00"
    assert (
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(20000), "h", idempotency_key="d-1"
        ).claim_id
        == c["claim_id"]
    )
    assert (
        contract(claims.settle_claim(uow, OPERATOR, c["claim_id"], "h", amount="5000"))[
            "remaining_aggregate"
        ]
        == "95000.00"
    )
    final = contract(claims.settle_claim(uow, OPERATOR, c["claim_id"], "h", final=True))
    assert (final["paid_total"], final["status"]) == ("19000.00", "closed")
    assert (
        claims.reopen_claim(uow, OPERATOR, c["claim_id"], "nouvelle facture", "h").status == "open"
    )
    shown = contract(claims.get_claim(uow, OPERATOR, c["claim_id"]))
    assert [p["amount"] for p in shown["payments"]] == ["5000.00", "14000.00"]
    assert shown["declared_at"] == "2027-02-23T09:00:00+01:00"


def _settle_all_at_once(url: str, claim_ids: list[str]) -> list[dict[str, Any] | BaseException]:
    barrier = threading.Barrier(len(claim_ids))
    results: list[dict[str, Any] | BaseException] = [RuntimeError("not run")] * len(claim_ids)

    def worker(i: int, claim_id: str) -> None:
        uow: SqlUnitOfWork = make_uow(url)  # its own engine, its own connection
        try:
            barrier.wait(timeout=30)
            results[i] = contract(claims.settle_claim(uow, OPERATOR, claim_id, f"handler-{i}"))
        except BaseException as exc:  # reported to the main thread
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(claim_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.postgres
def test_claims_of_one_policy_settled_at_the_same_moment_never_pay_more_than_the_aggregate(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, product: Product
) -> None:
    uow = make_uow(pg_url)
    policy = bind_policy(uow, monkeypatch, product)  # aggregate 100 000, deductible 1 000
    for _round in range(3):
        ids = [
            claims.declare_claim(uow, OPERATOR, policy, forensics_claim(80000), "h").claim_id
            for _ in range(4)
        ]
        results = _settle_all_at_once(pg_url, ids)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        paid = [D(r["paid_now"]) for r in results if isinstance(r, dict)]
        if _round == 0:
            # each alone would pay 79 000: together exactly the aggregate, one of them first
            assert sum(paid) == D("100000.00")
            assert sorted(paid) == [D(0), D(0), D("21000.00"), D("79000.00")]
        else:
            assert sum(paid) == 0
        total = sum(D(contract(claims.get_claim(uow, OPERATOR, c))["paid_total"]) for c in ids)
        assert total == sum(paid)
        assert contract(claims.get_claim(uow, OPERATOR, ids[0]))["remaining_aggregate"] == "0.00"


def test_on_sqlite_too_claims_settled_at_the_same_moment_pay_the_aggregate_once(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, product: Product
) -> None:
    """The guard holds with the claims as values: SQLite serialises the writers (BEGIN
    IMMEDIATE), each settlement reads what the others paid once it holds the lock."""
    uow = make_uow(sqlite_url)
    policy = bind_policy(uow, monkeypatch, product)  # aggregate 100 000, deductible 1 000
    ids = [
        claims.declare_claim(uow, OPERATOR, policy, forensics_claim(80000), "h").claim_id
        for _ in range(3)
    ]
    results = _settle_all_at_once(sqlite_url, ids)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    paid = sorted(D(r["paid_now"]) for r in results if isinstance(r, dict))
    assert paid == [D(0), D("21000.00"), D("79000.00")]
    with uow:
        stored = [uow.claims.get(c) for c in ids]
        payments = [p for c in stored if c is not None for p in uow.claims.payments(c)]
    assert sum(p.amount for p in payments) == D("100000.00")
    # a claim that was paid has its event (declared, paid); the one that paid nothing has none
    versions = {c.id: c.version for c in stored if c is not None}
    assert {i for i, v in versions.items() if v == 2} == {p.claim_id for p in payments}
    assert sorted(versions.values()) == [1, 2, 2]
