"""Claim use cases on SQLite: declare, bad input stores nothing, idempotency, settle, reopen,
the aggregate shared across claims, reserves, amendments, the clock."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from egide.db.tables_claims import ClaimPaymentRow, ClaimRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict, InvalidInput, NotFound
from egide.domain.product import Product
from egide.services import claims, policies, quotes
from egide.services.results import contract
from tests.appdata import base_application
from tests.fakes import OPERATOR
from tests.test_claims_domain import BRIEF_CLAIM, claim

D = Decimal
QUOTED_AT = "2026-12-01T10:00:00+01:00"
DECLARED_AT = "2027-02-23T09:00:00+01:00"


def bind_policy(
    uow: SqlUnitOfWork,
    monkeypatch: pytest.MonkeyPatch,
    product: Product,
    *,
    kind: str = "cabinet_medical",
    limit: int = 100_000,
    deductible: int = 1_000,
    now: str = DECLARED_AT,
) -> str:
    """Quote and bind a one-year policy from 1 January 2027; leave the clock at `now`."""
    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    q = quotes.save_quote(
        uow, OPERATOR, base_application(kind, limit=limit, deductible=deductible), product, "test"
    )
    assert q["status"] == "priced", q["reasons"]
    p = policies.bind_quote(uow, OPERATOR, q["quote_number"], "test", start="2027-01-01")
    monkeypatch.setenv("EGIDE_NOW", now)
    return str(p["policy_number"])


def forensics_claim(amount: int, **changes: Any) -> dict[str, Any]:
    return claim(
        costs=[{"category": "it_forensics", "amount": amount}], interruption=..., **changes
    )


def count(uow: SqlUnitOfWork, table: Any) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def policy(uow: SqlUnitOfWork, monkeypatch: pytest.MonkeyPatch, product: Product) -> str:
    return bind_policy(uow, monkeypatch, product)


def test_a_declared_claim_returns_the_contract_and_is_stored(
    uow: SqlUnitOfWork, policy: str
) -> None:
    result = contract(
        claims.declare_claim(uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "handler")
    )
    assert {"claim_id", "covered", "reasons", "payable_total", "lines", "deadlines"} <= set(result)
    assert result["covered"] is True
    assert result["payable_total"] == "37500.00"
    assert {"category", "coverage", "claimed", "payable", "reasons"} <= set(result["lines"][0])
    assert {"code", "due_at", "status"} <= set(result["deadlines"][0])
    assert (
        contract(claims.get_claim(uow, OPERATOR, result["claim_id"]))["payable_total"] == "37500.00"
    )
    assert count(uow, ClaimRow) == 1


@pytest.mark.parametrize(
    "data",
    [
        claim(costs=[{"category": "champagne", "amount": 10}]),
        claim(incident__discovered_at=claim()["incident"]["started_at"].replace(day=19)),
        claim(costs=[{"category": "it_forensics", "amount": -10}]),
        claim(incident__started_at="2027-02-20T08:00:00"),
    ],
    ids=["unknown_category", "discovery_before_start", "negative_amount", "naive_time"],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    uow: SqlUnitOfWork, policy: str, data: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        claims.declare_claim(uow, OPERATOR, policy, data, "handler")
    assert count(uow, ClaimRow) == 0


def test_an_unknown_policy_is_not_found_and_nothing_is_stored(
    uow: SqlUnitOfWork, policy: str
) -> None:
    with pytest.raises(NotFound):
        claims.declare_claim(uow, OPERATOR, "POL-NOPE", copy.deepcopy(BRIEF_CLAIM), "handler")
    assert count(uow, ClaimRow) == 0


def test_an_incident_discovered_in_the_future_is_refused(
    uow: SqlUnitOfWork, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2027-02-21T07:00:00+01:00")
    with pytest.raises(InvalidInput) as exc:
        claims.declare_claim(
            uow, OPERATOR, policy, claim(incident__complaint_filed_at=...), "handler"
        )
    assert exc.value.errors[0].rule == "not_future"


def test_the_same_idempotency_key_declares_once(uow: SqlUnitOfWork, policy: str) -> None:
    first = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h", idempotency_key="k-1"
        )
    )
    again = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h", idempotency_key="k-1"
        )
    )
    assert again["claim_id"] == first["claim_id"]
    assert count(uow, ClaimRow) == 1
    with pytest.raises(Conflict):
        claims.declare_claim(uow, OPERATOR, policy, forensics_claim(10), "h", idempotency_key="k-1")


def test_settle_pays_what_is_payable_now_once(uow: SqlUnitOfWork, policy: str) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h").claim_id
    paid = contract(claims.settle_claim(uow, OPERATOR, c, "h"))
    assert paid == {
        "claim_id": c,
        "paid_now": "37500.00",
        "paid_total": "37500.00",
        "payable_now": "0.00",
        "reserve": "0.00",
        "status": "open",
        "remaining_aggregate": "62500.00",
    }
    assert contract(claims.settle_claim(uow, OPERATOR, c, "h"))["paid_now"] == "0.00"
    assert count(uow, ClaimPaymentRow) == 1


def test_a_settle_retried_with_its_key_pays_once(uow: SqlUnitOfWork, policy: str) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(5000), "h").claim_id
    claims.settle_claim(uow, OPERATOR, c, "h", amount="1000", idempotency_key="pay-1")
    again = contract(
        claims.settle_claim(uow, OPERATOR, c, "h", amount="1000", idempotency_key="pay-1")
    )
    assert again["paid_total"] == "1000.00"
    assert count(uow, ClaimPaymentRow) == 1


def test_partial_payments_then_a_final_settlement_close_the_claim(
    uow: SqlUnitOfWork, policy: str
) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(11000), "h").claim_id
    assert (
        contract(claims.settle_claim(uow, OPERATOR, c, "h", amount="4000"))["payable_now"]
        == "6000.00"
    )
    with pytest.raises(InvalidInput) as exc:
        claims.settle_claim(uow, OPERATOR, c, "h", amount="6000.01")
    assert exc.value.errors[0].rule == "at_most_payable"
    for bad in ("0", "-5", "abc", "1.001"):
        with pytest.raises(InvalidInput):
            claims.settle_claim(uow, OPERATOR, c, "h", amount=bad)
    final = contract(claims.settle_claim(uow, OPERATOR, c, "h", final=True))
    assert (final["paid_total"], final["status"]) == ("10000.00", "closed")
    with pytest.raises(Conflict):
        claims.settle_claim(uow, OPERATOR, c, "h")
    with pytest.raises(Conflict):
        claims.amend_claim(
            uow, OPERATOR, c, {"costs": [{"category": "legal_advice", "amount": 500}]}, "h"
        )


def test_a_closed_claim_reopens_with_a_note_and_pays_a_late_invoice(
    uow: SqlUnitOfWork, policy: str
) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(11000), "h").claim_id
    claims.settle_claim(uow, OPERATOR, c, "h", final=True)
    with pytest.raises(InvalidInput):
        claims.reopen_claim(uow, OPERATOR, c, "  ", "h")
    assert (
        claims.reopen_claim(uow, OPERATOR, c, "facture tardive de l'expert", "h").status == "open"
    )
    with pytest.raises(Conflict):
        claims.reopen_claim(uow, OPERATOR, c, "again", "h")
    claims.amend_claim(
        uow, OPERATOR, c, {"costs": [{"category": "legal_advice", "amount": 500}]}, "h"
    )
    assert contract(claims.settle_claim(uow, OPERATOR, c, "h"))["paid_now"] == "500.00"
    kinds = [e.kind for e in claims.claim_history(uow, OPERATOR, c)]
    assert kinds == ["declared", "paid", "closed", "reopened", "amended", "paid"]


def test_the_annual_aggregate_is_shared_by_every_claim_of_the_policy_year(
    uow: SqlUnitOfWork, policy: str
) -> None:
    a = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(70000), "h").claim_id
    b = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(70000), "h").claim_id
    assert contract(claims.settle_claim(uow, OPERATOR, a, "h"))["paid_total"] == "69000.00"
    shown = contract(claims.get_claim(uow, OPERATOR, b))
    assert shown["payable_total"] == "31000.00"
    assert "aggregate_limit" in {r for line in shown["lines"] for r in line["reasons"]}
    second = contract(claims.settle_claim(uow, OPERATOR, b, "h"))
    assert (second["paid_total"], second["remaining_aggregate"]) == ("31000.00", "0.00")


def test_estimated_costs_are_a_reserve_paid_once_invoiced(uow: SqlUnitOfWork, policy: str) -> None:
    data = claim(
        interruption=...,
        costs=[
            {"category": "it_forensics", "amount": 6000},
            {"category": "notification", "amount": 3000, "estimated": True},
        ],
    )
    c = contract(claims.declare_claim(uow, OPERATOR, policy, data, "h"))
    assert (c["payable_total"], c["payable_now"], c["reserve"]) == ("8000.00", "5000.00", "8000.00")
    assert contract(claims.settle_claim(uow, OPERATOR, c["claim_id"], "h"))["reserve"] == "3000.00"
    invoice = {"costs": [{"id": "C2", "category": "notification", "amount": 3400}]}
    after = contract(claims.amend_claim(uow, OPERATOR, c["claim_id"], invoice, "h"))
    assert (after["payable_now"], after["reserve"]) == ("3400.00", "3400.00")


def test_within_72_hours_the_claim_waits_for_the_complaint_then_pays(
    uow: SqlUnitOfWork, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2027-02-21T12:00:00+01:00")
    c = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(5000, incident__complaint_filed_at=...), "h"
        )
    )
    assert c["reasons"] == ["complaint_awaited"] and c["payable_total"] == "0.00"
    after = contract(
        claims.amend_claim(
            uow,
            OPERATOR,
            c["claim_id"],
            {"incident": {"complaint_filed_at": "2027-02-21T11:00:00+01:00"}},
            "h",
        )
    )
    assert after["covered"] and after["payable_total"] == "4000.00"


def test_without_a_complaint_after_72_hours_the_attack_is_not_indemnified(
    uow: SqlUnitOfWork, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2027-02-25T09:00:00+01:00")
    c = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(5000, incident__complaint_filed_at=...), "h"
        )
    )
    assert c["covered"] is False
    assert "complaint_missing" in c["reasons"]
    assert "complaint_missing" in c["explanations"]


def test_the_handler_can_set_an_exclusion_flag(uow: SqlUnitOfWork, policy: str) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(5000), "h").claim_id
    after = contract(
        claims.amend_claim(uow, OPERATOR, c, {"incident": {"infrastructure_failure": True}}, "h")
    )
    assert after["covered"] is False and "excluded_infrastructure_failure" in after["reasons"]
    with pytest.raises(InvalidInput):
        claims.amend_claim(
            uow, OPERATOR, c, {"incident": {"discovered_at": "2027-02-22T07:30:00+01:00"}}, "h"
        )


def test_a_claim_discovered_before_the_policy_started_is_stored_but_not_covered(
    uow: SqlUnitOfWork, policy: str
) -> None:
    data = forensics_claim(
        5000,
        incident__started_at="2026-12-10T08:00:00+01:00",
        incident__discovered_at="2026-12-11T08:00:00+01:00",
        incident__complaint_filed_at="2026-12-11T12:00:00+01:00",
    )
    c = contract(claims.declare_claim(uow, OPERATOR, policy, data, "h"))
    assert c["covered"] is False and "discovered_outside_period" in c["reasons"]


def test_the_clock_reads_now_from_the_clock(
    uow: SqlUnitOfWork, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(5000, incident__patients_affected=40), "h"
        )
    )
    monkeypatch.setenv("EGIDE_NOW", "2027-02-24T08:30:00+01:00")
    deadlines = {
        d["code"]: d
        for d in contract(claims.claim_clock(uow, OPERATOR, c["claim_id"]))["deadlines"]
    }
    assert deadlines["cnil_notification"]["status"] == "overdue"
    assert deadlines["cnil_notification"]["due_at"] == "2027-02-24T07:30:00+01:00"
    assert deadlines["complaint"]["status"] == "done"
    assert deadlines["insurer_notice"]["status"] == "done"
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T07:30:00+01:00")
    early = {
        d["code"]: d
        for d in contract(claims.claim_clock(uow, OPERATOR, c["claim_id"]))["deadlines"]
    }
    assert early["cnil_notification"]["status_text"] == "due in 1 d 0 h"


def test_an_ehpad_claim_carries_the_ars_declaration(
    uow: SqlUnitOfWork, monkeypatch: pytest.MonkeyPatch, product: Product
) -> None:
    number = bind_policy(uow, monkeypatch, product, kind="ehpad", limit=250_000)
    c = contract(claims.declare_claim(uow, OPERATOR, number, forensics_claim(5000), "h"))
    assert "ars_declaration" in {d["code"] for d in c["deadlines"]}


def test_the_statement_view_lists_every_line_and_adds_up(uow: SqlUnitOfWork, policy: str) -> None:
    c = claims.declare_claim(uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h").claim_id
    claims.settle_claim(uow, OPERATOR, c, "h", amount="10000")
    view = claims.statement_view(uow, OPERATOR, c)
    assert view.total_payable == D("37500.00")
    assert view.total_paid == D("10000.00")
    assert view.aggregate_remaining == D("62500.00")
    assert [line.category for line in view.lines][-2:] == [
        "Perte de marge brute",
        "Frais supplémentaires d'exploitation",
    ]
