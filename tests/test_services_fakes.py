"""The services against the in-memory unit of work of `tests/fakes.py`: no database.

The fake's own contract first (rollback unless committed, live rows, ids), then quotes, policies,
the audit chain, claims and portfolio runs. Expectations are derived from the inputs or from
another service call, not copied from a previous run (the product sheet's 24 570,00 EUR aside,
which is also derived from the case's costs and deductible). The clock is frozen with
``EGIDE_NOW`` as in the SQL tests; the SQL side has its own tests (concurrency, crash, PostgreSQL).
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egide.actuarial.engine import simulate_book
from egide.actuarial.systemic import SystemicModel
from egide.db.tables import ProductVersionRow, QuoteRow
from egide.db.tables_audit import AuditEntryRow
from egide.db.tables_claims import ClaimEventRow, ClaimPaymentRow, ClaimRow
from egide.db.tables_policy import IdempotencyRow, PolicyRow, PolicyTransactionRow
from egide.domain.access import local_operator
from egide.domain.claim_record import ClaimPayment
from egide.domain.errors import Conflict, InvalidInput, NotFound
from egide.domain.money import cents
from egide.domain.policy import PARIS
from egide.domain.product import Product
from egide.services import claims, policies, quotes
from egide.services.audit import digest, transaction_content, verify_chain
from egide.services.portfolio import book_fingerprint, book_in_force, get_run, save_run
from egide.services.products import record_product_version
from egide.services.results import contract
from tests.appdata import base_application, mutate
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR, FakeIntegrityError, FakeUnitOfWork
from tests.test_claims_domain import BRIEF_CLAIM, claim

D = Decimal
QUOTED_AT = "2026-12-01T10:00:00+01:00"
START = "2027-01-01"
DECLARED_AT = "2027-02-23T09:00:00+01:00"  # after BRIEF_CLAIM's discovery and complaint
DATA_LEAK = EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml"
DATA_LEAK_DECLARED_AT = "2027-03-16T17:00:00+01:00"
FAKE_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    """An empty in-memory unit of work (overrides conftest's SQLite one in this module)."""
    return FakeUnitOfWork()


def at(monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    monkeypatch.setenv("EGIDE_NOW", moment)


def bind(
    uow: FakeUnitOfWork,
    product: Product,
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, Any] | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Quote and bind a one-year policy from 1 January 2027; leave the clock at `now`."""
    at(monkeypatch, QUOTED_AT)
    application = data if data is not None else base_application(limit=100_000)
    q = quotes.save_quote(uow, OPERATOR, application, product, "broker")
    assert q["status"] == "priced", q["reasons"]
    bound = policies.bind_quote(uow, OPERATOR, q["quote_number"], "alice", start=START)
    if now is not None:
        at(monkeypatch, now)
    return bound


def referred_clinic_quote(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The saved quote of the 120-bed clinic example, which the product refers."""
    at(monkeypatch, QUOTED_AT)
    data = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))
    saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    assert saved["status"] == "referred", saved["reasons"]
    return str(saved["quote_number"])


def demo_practice() -> dict[str, Any]:
    """The application of `egide demo` (the practice of the product sheet's claim)."""
    text = resources.files("egide.data").joinpath("demo-cabinet.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def forensics_claim(amount: int) -> dict[str, Any]:
    return claim(costs=[{"category": "it_forensics", "amount": amount}], interruption=...)


def transactions(uow: FakeUnitOfWork) -> list[PolicyTransactionRow]:
    return uow.stored(PolicyTransactionRow)


def day(iso: str) -> date:
    return date.fromisoformat(iso[:10])


def premium(data: dict[str, str]) -> tuple[D, D, D]:
    return D(data["net"]), D(data["tax"]), D(data["total"])


def version_row(ref: str, text: str = "p") -> ProductVersionRow:
    return ProductVersionRow(
        ref=ref, sha256="0" * 64, product_text=text, model_text="m", created_at=datetime.now(UTC)
    )


# --------------------------------------------------------------------------- the fake itself


def test_leaving_with_without_commit_discards_an_added_row_and_an_attribute_change(
    uow: FakeUnitOfWork,
) -> None:
    with uow:
        kept = version_row("a@1")
        uow.products.add_once(kept)
        uow.commit()
    with uow:
        uow.products.add_once(version_row("b@1"))
        live = uow.products.get("a@1")
        assert live is kept  # rows read are the stored objects
        live.product_text = "changed"
        assert uow.products.get("b@1") is not None  # visible inside the unit of work at once
    assert [r.ref for r in uow.stored(ProductVersionRow)] == ["a@1"]
    assert kept.product_text == "p"
    assert uow.committed == 1


def test_an_exception_or_a_rollback_discards_the_work_json_changed_in_place_included(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, QUOTED_AT)
    number = quotes.save_quote(uow, OPERATOR, base_application(), product, "broker")["quote_number"]
    with pytest.raises(RuntimeError), uow:
        row = uow.quotes.get(number)
        assert row is not None
        uow.quotes.update(dataclasses.replace(row, status="bound"))
        (stored,) = uow.stored(QuoteRow)
        stored.result["premium"]["net"] = "0.00"  # a JSON document changed in place
        raise RuntimeError("boom")
    with uow:
        row = uow.quotes.get(number)
        assert row is not None
        uow.quotes.update(dataclasses.replace(row, status="declined"))
        uow.rollback()
        again = uow.quotes.get(number)
        assert again is not None and again.status == "priced"  # rolled back, still usable
    assert quotes.get_quote(uow, OPERATOR, number)["premium"]["net"] != "0.00"
    assert quotes.get_quote(uow, OPERATOR, number)["status"] == "priced"


def test_commit_keeps_the_added_row_and_the_attribute_change(uow: FakeUnitOfWork) -> None:
    with uow:
        uow.products.add_once(version_row("a@1"))
        uow.commit()
    with uow:
        row = uow.products.get("a@1")
        assert row is not None
        row.product_text = "changed"
        uow.products.add_once(version_row("b@1"))
        uow.commit()
    stored = {r.ref: r.product_text for r in uow.stored(ProductVersionRow)}
    assert stored == {"a@1": "changed", "b@1": "p"}
    assert uow.committed == 2


def test_add_gives_increasing_ids_at_once_never_reused_after_a_rollback(
    uow: FakeUnitOfWork,
) -> None:
    def payment() -> ClaimPayment:
        return ClaimPayment(
            claim_id=1,
            policy_number="POL-1",
            term_start=datetime(2027, 1, 1, tzinfo=PARIS),
            amount=Decimal("1.00"),
            kind="partial",
            paid_at=datetime(2027, 2, 1, tzinfo=PARIS),
            actor="h",
        )

    with uow:
        first = uow.claims.add_payment(payment())
        second = uow.claims.add_payment(payment())
        assert (first.id, second.id) == (1, 2)
    with uow:
        third = uow.claims.add_payment(payment())
        assert third.id == 3
        uow.commit()
    assert [r.id for r in uow.stored(ClaimPaymentRow)] == [3]
    assert uow.stored(ClaimPaymentRow)[0].paid_at.tzinfo == UTC  # read back as the database would


def test_the_fake_refuses_what_the_database_refuses_and_use_outside_with(
    uow: FakeUnitOfWork,
) -> None:
    def policy(number: str, quote_number: str) -> PolicyRow:
        return PolicyRow(
            number=number, quote_number=quote_number, siret="1", establishment_name="n"
        )

    with uow:
        uow.policies.add(policy("P-1", "Q-1"))
        with pytest.raises(FakeIntegrityError, match="number"):
            uow.policies.add(policy("P-1", "Q-2"))
        with pytest.raises(FakeIntegrityError, match="quote_number"):
            uow.policies.add(policy("P-2", "Q-1"))
        naive = version_row("n@1")
        naive.created_at = datetime(2026, 1, 1)
        with pytest.raises(ValueError, match="naive"):
            uow.products.add_once(naive)
        with pytest.raises(RuntimeError, match="nested"), uow:
            pass
        assert [p.number for p in uow.policies.all()] == ["P-1"]
    with pytest.raises(RuntimeError, match="outside"):
        uow.quotes.get("DEV-1")


# --------------------------------------------------------------------------- quotes


def test_a_saved_quote_reads_back_as_priced(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, QUOTED_AT)
    data = base_application()
    priced = quotes.price_quote(copy.deepcopy(data), product)
    saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    assert {k: saved[k] for k in priced} == priced
    assert saved["status"] == "priced" and saved["created_at"] == QUOTED_AT
    assert quotes.get_quote(uow, OPERATOR, saved["quote_number"]) == saved
    assert [r.number for r in uow.stored(QuoteRow)] == [saved["quote_number"]]
    assert [r.ref for r in uow.stored(ProductVersionRow)] == [product.ref]


def test_an_invalid_application_is_refused_and_nothing_is_stored(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, QUOTED_AT)
    bad = mutate(base_application(), "establishment.siret", "12345678901234")
    with pytest.raises(InvalidInput) as exc:
        quotes.save_quote(uow, OPERATOR, bad, product, "broker")
    assert "establishment.siret" in {e.field for e in exc.value.errors}
    assert uow.stored(QuoteRow) == [] and uow.stored(ProductVersionRow) == []
    assert uow.committed == 0


def test_a_referred_quote_binds_once_approved_and_is_reviewed_once(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = referred_clinic_quote(uow, product, monkeypatch)
    with pytest.raises(Conflict, match="referred"):
        policies.bind_quote(uow, OPERATOR, number, "alice")
    assert uow.stored(PolicyRow) == []
    reviewed = quotes.review_quote(uow, OPERATOR, number, True, "segmentation plan received", "uw")
    assert (reviewed["status"], reviewed["review"]["by"]) == ("approved", "local operator (uw)")
    with pytest.raises(Conflict, match="only a referred quote"):
        quotes.review_quote(uow, OPERATOR, number, False, "changed my mind", "uw")
    assert policies.bind_quote(uow, OPERATOR, number, "alice")["quote_number"] == number


def test_a_review_shows_its_time_in_paris_like_the_quote(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = referred_clinic_quote(uow, product, monkeypatch)
    at(monkeypatch, "2026-12-02T09:15:00Z")
    quotes.review_quote(uow, OPERATOR, number, True, "ok", "uw")
    shown = quotes.get_quote(uow, OPERATOR, number)
    assert shown["review"]["at"] == "2026-12-02T10:15:00+01:00"
    assert shown["created_at"].endswith("+01:00")


def test_a_product_version_is_recorded_once_and_a_changed_text_under_it_is_refused(
    uow: FakeUnitOfWork, product: Product
) -> None:
    for _ in range(2):
        with uow:
            record_product_version(uow, product)
            uow.commit()
    assert [r.sha256 for r in uow.stored(ProductVersionRow)] == [product.sha256]
    changed = dataclasses.replace(product, sha256="f" * 64)
    with pytest.raises(Conflict, match="new version"), uow:
        record_product_version(uow, changed)


# --------------------------------------------------------------------------- policies


def test_binding_an_accepted_quote_issues_a_policy_at_the_quoted_premium(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, QUOTED_AT)
    q = quotes.save_quote(uow, OPERATOR, base_application(limit=100_000), product, "broker")
    p = policies.bind_quote(uow, OPERATOR, q["quote_number"], "alice", start=START)
    assert p["premium"] == q["premium"]
    assert (p["period_start"][:10], p["retroactive_date"]) == (START, START)
    assert p["status"] == "not_yet_in_force"  # 1 January 2027 is after the clock's now
    assert quotes.get_quote(uow, OPERATOR, q["quote_number"])["status"] == "bound"
    (policy,) = uow.stored(PolicyRow)
    (issue,) = transactions(uow)
    assert (policy.number, policy.version) == (p["policy_number"], 1)
    assert (issue.kind, issue.seq, issue.policy_id) == ("issue", 1, policy.id)


def test_binding_a_quote_twice_returns_the_same_policy(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = bind(uow, product, monkeypatch)
    again = policies.bind_quote(uow, OPERATOR, first["quote_number"], "bob", start=START)
    assert again["policy_number"] == first["policy_number"]
    assert again["premium"] == first["premium"]
    assert (len(uow.stored(PolicyRow)), len(transactions(uow))) == (1, 1)


def test_an_endorsement_moves_the_term_premium_by_its_premium_change(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    effective = datetime(2027, 6, 1, tzinfo=PARIS)
    before = policies.get_policy(uow, OPERATOR, number, effective)
    e = policies.endorse_policy(
        uow, OPERATOR, number, "2027-06-01", {"cover.limit": 250_000}, "alice"
    )
    after = policies.get_policy(uow, OPERATOR, number, effective)
    assert D(e["premium_change"]["net"]) != 0
    moved = [
        a + c
        for a, c in zip(premium(before["term_premium"]), premium(e["premium_change"]), strict=True)
    ]
    assert list(premium(after["term_premium"])) == moved
    assert after["term_premium"] == e["term_premium"]
    assert (before["aggregate_limit"], after["aggregate_limit"]) == ("100000.00", "250000.00")
    assert after["version"] == before["version"] + 1 == e["version"]


def test_an_endorsement_dated_before_the_latest_transaction_is_refused_and_appends_nothing(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    policies.endorse_policy(uow, OPERATOR, number, "2027-06-01", {"security.edr": True}, "alice")
    rows, keys = len(transactions(uow)), len(uow.stored(IdempotencyRow))
    with pytest.raises(InvalidInput, match="before the latest transaction") as exc:
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-05-01", {"cover.limit": 250_000}, "alice"
        )
    assert exc.value.errors[0].rule == "not_before_latest"
    assert (len(transactions(uow)), len(uow.stored(IdempotencyRow))) == (rows, keys)
    assert uow.stored(PolicyRow)[0].version == rows


def test_cancel_refunds_the_remaining_days_and_reinstate_charges_them_back(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = bind(uow, product, monkeypatch)
    number = p["policy_number"]
    start, end = day(p["period_start"]), day(p["period_end"])
    annual_net = D(p["premium"]["net"])
    assert product.cancellation["insured_request"] == "pro_rata"

    def remaining(effective: date) -> D:
        return cents(annual_net * (end - effective).days / (end - start).days)

    c = policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "alice", "insured_request")
    assert D(c["premium_change"]["net"]) == -remaining(date(2027, 6, 1))
    r = policies.reinstate_policy(uow, OPERATOR, number, "2027-07-01", "alice")
    assert D(r["premium_change"]["net"]) == remaining(date(2027, 7, 1))
    status = {
        d: policies.get_policy(uow, OPERATOR, number, datetime(2027, m, d, tzinfo=PARIS))["status"]
        for m, d in ((5, 31), (6, 15), (7, 1))
    }
    assert list(status.values()) == ["in_force", "cancelled", "in_force"]
    with pytest.raises(Conflict, match="not cancelled"):
        policies.reinstate_policy(uow, OPERATOR, number, "2027-08-01", "alice")


def test_the_term_premium_is_the_sum_of_the_transactions_changes(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    policies.endorse_policy(uow, OPERATOR, number, "2027-02-01", {"cover.limit": 250_000}, "a")
    policies.cancel_policy(uow, OPERATOR, number, "2027-04-01", "a", "insured_request")
    policies.reinstate_policy(uow, OPERATOR, number, "2027-05-01", "a")
    policies.endorse_policy(uow, OPERATOR, number, "2027-09-01", {"cover.deductible": 2_500}, "a")
    history = policies.get_policy(uow, OPERATOR, number)["transactions"]
    assert [t["kind"] for t in history] == ["issue", "endorse", "cancel", "reinstate", "endorse"]
    total = [sum(x) for x in zip(*(premium(t["premium_change"]) for t in history), strict=True)]
    assert list(premium(history[-1]["term_premium"])) == total
    rows = transactions(uow)
    assert rows[-1].term_net_cents == sum(r.change_net_cents for r in rows)
    assert rows[-1].term_tax_cents == sum(r.change_tax_cents for r in rows)


ENDORSEMENTS = st.sampled_from(
    [
        {"cover.limit": 250_000},
        {"cover.limit": 100_000},
        {"cover.deductible": 2_500},
        {"cover.deductible": 1_000},
        {"security.edr": True},
        {"security.edr": False},
    ]
)
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["endorse", "cancel", "reinstate"]),
        st.integers(0, 364),
        ENDORSEMENTS,
        st.sampled_from(["insured_request", "non_payment"]),
    ),
    min_size=1,
    max_size=6,
)


@FAKE_SETTINGS
@given(changes=CHANGES)
def test_any_sequence_of_changes_keeps_the_term_premium_the_sum_of_the_changes(
    product: Product, monkeypatch: pytest.MonkeyPatch, changes: list[tuple[str, int, Any, str]]
) -> None:
    uow = FakeUnitOfWork()
    p = bind(uow, product, monkeypatch)
    number, start = p["policy_number"], day(p["period_start"])
    expected = list(premium(p["premium"]))
    offsets = sorted(offset for _, offset, _, _ in changes)
    for (kind, _, endorsement, reason), offset in zip(changes, offsets, strict=True):
        effective = date.fromordinal(start.toordinal() + offset)
        before = len(transactions(uow))
        try:
            if kind == "endorse":
                done = policies.endorse_policy(uow, OPERATOR, number, effective, endorsement, "a")
            elif kind == "cancel":
                done = policies.cancel_policy(uow, OPERATOR, number, effective, "a", reason)
            else:
                done = policies.reinstate_policy(uow, OPERATOR, number, effective, "a")
        except (InvalidInput, Conflict):  # no change, already cancelled, not cancelled...
            assert len(transactions(uow)) == before
            continue
        assert len(transactions(uow)) == before + 1
        expected = [a + c for a, c in zip(expected, premium(done["premium_change"]), strict=True)]
        assert list(premium(done["term_premium"])) == expected
    last = policies.get_policy(uow, OPERATOR, number)["transactions"][-1]
    assert list(premium(last["term_premium"])) == expected
    assert verify_chain(uow).clean


def test_an_idempotency_key_replays_the_same_request_and_refuses_another(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    first = policies.endorse_policy(
        uow,
        OPERATOR,
        number,
        "2027-03-01",
        {"cover.limit": 250_000},
        "alice",
        idempotency_key="k-1",
    )
    again = policies.endorse_policy(
        uow,
        OPERATOR,
        number,
        "2027-03-01",
        {"cover.limit": 250_000},
        "alice",
        idempotency_key="k-1",
    )
    assert again == first
    assert len(transactions(uow)) == 2
    with pytest.raises(Conflict, match="different request"):
        policies.endorse_policy(
            uow,
            OPERATOR,
            number,
            "2027-03-01",
            {"cover.limit": 500_000},
            "alice",
            idempotency_key="k-1",
        )
    assert len(transactions(uow)) == 2
    assert [r.idempotency_key for r in transactions(uow)][-1] == "k-1"


def test_a_stale_expected_version_is_a_conflict_and_appends_nothing(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    read = policies.get_policy(uow, OPERATOR, number)["version"]
    done = policies.endorse_policy(
        uow, OPERATOR, number, "2027-03-01", {"security.edr": True}, "a", expected_version=read
    )
    assert done["version"] == read + 1
    with pytest.raises(Conflict, match=f"version {read + 1}, not {read}"):
        policies.endorse_policy(
            uow,
            OPERATOR,
            number,
            "2027-03-01",
            {"cover.limit": 250_000},
            "b",
            expected_version=read,
        )
    with pytest.raises(Conflict, match="changed since you read it"):
        policies.cancel_policy(uow, OPERATOR, number, "2027-04-01", "b", expected_version=read)
    assert len(transactions(uow)) == read + 1


def test_a_failure_before_commit_rolls_back_the_work_and_its_key_so_a_retry_runs(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = bind(uow, product, monkeypatch)["policy_number"]
    rows, keys = len(transactions(uow)), len(uow.stored(IdempotencyRow))
    original = policies._tx_summary

    def crash(*args: object) -> dict[str, object]:
        raise RuntimeError("the process dies before commit")

    monkeypatch.setattr(policies, "_tx_summary", crash)
    with pytest.raises(RuntimeError):
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250_000}, "a", "k-9"
        )
    assert (len(transactions(uow)), len(uow.stored(IdempotencyRow))) == (rows, keys)
    assert uow.stored(PolicyRow)[0].version == rows
    monkeypatch.setattr(policies, "_tx_summary", original)
    again = policies.endorse_policy(
        uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250_000}, "a", "k-9"
    )
    assert again["transaction"] == rows + 1


# --------------------------------------------------------------------------- the audit chain


def history(uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch) -> str:
    number = str(bind(uow, product, monkeypatch)["policy_number"])
    policies.endorse_policy(uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250_000}, "bob")
    policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "carol")
    return number


def test_the_recorded_history_verifies_clean(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(uow, product, monkeypatch)
    bind(uow, product, monkeypatch)
    report = verify_chain(uow)
    assert report.clean
    assert (report.policies, report.transactions) == (2, len(transactions(uow)))


def test_a_tampered_snapshot_is_caught_at_its_link(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = history(uow, product, monkeypatch)
    row = next(r for r in transactions(uow) if r.seq == 2)
    row.snapshot = {**row.snapshot, "annual_premium": {"net": "1.00", "tax": "0.09"}}
    broken = verify_chain(uow).broken
    assert broken is not None
    assert (broken.table, broken.number, broken.item, broken.row_id) == (
        "policy_transactions",
        number,
        2,
        row.id,
    )
    assert "differs from what its last audit entry recorded" in broken.problem


def test_a_row_whose_audit_digest_is_recomputed_without_the_key_fails_its_mac(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = history(uow, product, monkeypatch)
    first = next(r for r in transactions(uow) if r.seq == 1)
    first.actor = "mallory"
    entry = next(
        e
        for e in uow.stored(AuditEntryRow)
        if (e.record_table, e.record_item) == ("policy_transactions", 1)
    )
    entry.digest = digest(transaction_content(number, first))
    (broken,) = verify_chain(uow).problems
    assert (broken.table, broken.number, broken.item) == ("policy_transactions", number, 1)
    assert "MAC does not match" in broken.problem


# --------------------------------------------------------------------------- claims


def test_the_product_sheets_data_leak_pays_its_costs_less_the_deductible(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(DATA_LEAK.read_text(encoding="utf-8"))
    demo = demo_practice()
    policy = bind(uow, product, monkeypatch, demo, now=DATA_LEAK_DECLARED_AT)["policy_number"]
    declared = contract(
        claims.declare_claim(uow, OPERATOR, policy, data, "gestionnaire", source=str(DATA_LEAK))
    )
    assert declared["covered"] is True
    costs = sum(D(c["amount"]) for c in data["costs"])
    expected = cents(costs - D(demo["cover"]["deductible"]))
    assert declared["payable_total"] == str(expected) == "24570.00"
    assert [line["category"] for line in declared["lines"]] == [
        c["category"] for c in data["costs"]
    ]
    assert contract(claims.get_claim(uow, OPERATOR, declared["claim_id"]))["payable_total"] == str(
        expected
    )
    (row,) = uow.stored(ClaimRow)
    assert (row.number, row.status, row.version) == (declared["claim_id"], "open", 1)
    assert [e.kind for e in uow.stored(ClaimEventRow)] == ["declared"]


def test_settle_pays_what_is_payable_and_the_remaining_aggregate_drops_by_it(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    c = claims.declare_claim(uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h").claim_id
    shown = contract(claims.get_claim(uow, OPERATOR, c))
    payable, remaining = D(shown["payable_now"]), D(shown["remaining_aggregate"])
    assert payable > 0 and remaining == D(shown["aggregate_limit"])
    paid = contract(claims.settle_claim(uow, OPERATOR, c, "h"))
    assert D(paid["paid_now"]) == D(paid["paid_total"]) == payable
    assert D(paid["remaining_aggregate"]) == remaining - payable
    assert paid["payable_now"] == "0.00"
    assert contract(claims.settle_claim(uow, OPERATOR, c, "h"))["paid_now"] == "0.00"
    (payment,) = uow.stored(ClaimPaymentRow)
    assert payment.amount_cents == int(payable * 100)


def test_two_claims_of_one_policy_year_pay_at_most_the_aggregate_together(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    a = contract(claims.declare_claim(uow, OPERATOR, policy, forensics_claim(70_000), "h"))
    b = contract(claims.declare_claim(uow, OPERATOR, policy, forensics_claim(70_000), "h"))
    aggregate = D(a["aggregate_limit"])
    alone = D(a["payable_total"]) + D(b["payable_total"])
    assert alone > aggregate  # each alone fits, together they do not
    first = contract(claims.settle_claim(uow, OPERATOR, a["claim_id"], "h"))
    assert D(
        contract(claims.get_claim(uow, OPERATOR, b["claim_id"]))["payable_total"]
    ) == aggregate - D(first["paid_total"])
    second = contract(claims.settle_claim(uow, OPERATOR, b["claim_id"], "h"))
    assert D(first["paid_total"]) + D(second["paid_total"]) == aggregate
    assert second["remaining_aggregate"] == "0.00"


@FAKE_SETTINGS
@given(
    amounts=st.lists(
        st.integers(1_500, 90_000).map(lambda x: x // 100 * 100), min_size=2, max_size=4
    )
)
def test_the_claims_of_a_policy_year_pay_their_sum_up_to_the_aggregate(
    product: Product, monkeypatch: pytest.MonkeyPatch, amounts: list[int]
) -> None:
    uow = FakeUnitOfWork()
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    declared = [
        contract(claims.declare_claim(uow, OPERATOR, policy, forensics_claim(x), "h"))
        for x in amounts
    ]
    aggregate = D(declared[0]["aggregate_limit"])
    paid = [
        D(contract(claims.settle_claim(uow, OPERATOR, c["claim_id"], "h"))["paid_now"])
        for c in declared
    ]
    for p, c in zip(paid, declared, strict=True):
        assert 0 <= p <= D(c["payable_total"])
    assert sum(paid) == min(aggregate, sum(D(c["payable_total"]) for c in declared))
    last = contract(claims.get_claim(uow, OPERATOR, declared[-1]["claim_id"]))
    assert D(last["remaining_aggregate"]) == aggregate - sum(paid)


def test_a_partial_payment_above_what_is_payable_is_refused_and_writes_nothing(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(11_000), "h").claim_id
    payable = D(contract(claims.get_claim(uow, OPERATOR, c))["payable_now"])

    def written() -> tuple[int, ...]:
        return (
            len(uow.stored(ClaimPaymentRow)),
            len(uow.stored(ClaimEventRow)),
            len(uow.stored(IdempotencyRow)),
            uow.stored(ClaimRow)[0].version,
            uow.committed,
        )

    before = written()
    with pytest.raises(InvalidInput) as exc:
        claims.settle_claim(uow, OPERATOR, c, "h", amount=str(payable + D("0.01")))
    assert exc.value.errors[0].rule == "at_most_payable"
    assert written() == before
    assert contract(claims.settle_claim(uow, OPERATOR, c, "h", amount=str(payable)))[
        "paid_total"
    ] == str(payable)


def test_a_partial_payment_replayed_with_its_key_is_one_request_however_the_amount_is_written(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(11_000), "h").claim_id
    first = contract(
        claims.settle_claim(uow, OPERATOR, c, "h", amount="1000", idempotency_key="p-1")
    )
    for spelling in ("1000.00", "1000,0", D("1000.0")):
        assert (
            contract(
                claims.settle_claim(uow, OPERATOR, c, "h", amount=spelling, idempotency_key="p-1")
            )
            == first
        )
    with pytest.raises(Conflict):
        claims.settle_claim(uow, OPERATOR, c, "h", amount="1000.01", idempotency_key="p-1")
    assert [p.amount_cents for p in uow.stored(ClaimPaymentRow)] == [100_000]


def test_reopening_a_closed_claim_needs_a_note(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    c = claims.declare_claim(uow, OPERATOR, policy, forensics_claim(5_000), "h").claim_id
    assert claims.settle_claim(uow, OPERATOR, c, "h", final=True).status == "closed"
    for blank in ("", "   "):
        with pytest.raises(InvalidInput) as exc:
            claims.reopen_claim(uow, OPERATOR, c, blank, "h")
        assert exc.value.errors[0].field == "note"
    assert claims.get_claim(uow, OPERATOR, c).status == "closed"
    note = "facture tardive de l'expert"
    assert claims.reopen_claim(uow, OPERATOR, c, f"  {note} ", "h").status == "open"
    last = claims.claim_history(uow, OPERATOR, c)[-1]
    assert (last.kind, last.note) == ("reopened", note)
    with pytest.raises(Conflict):
        claims.reopen_claim(uow, OPERATOR, c, "again", "h")


def test_a_declaration_replayed_with_its_key_declares_once(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind(uow, product, monkeypatch, now=DECLARED_AT)["policy_number"]
    first = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(5_000), "h", idempotency_key="d-1"
        )
    )
    again = contract(
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(5_000), "h", idempotency_key="d-1"
        )
    )
    assert again == first
    with pytest.raises(Conflict):
        claims.declare_claim(
            uow, OPERATOR, policy, forensics_claim(6_000), "h", idempotency_key="d-1"
        )
    with pytest.raises(NotFound):
        claims.declare_claim(uow, OPERATOR, "POL-NOPE", forensics_claim(5_000), "h")
    assert [r.number for r in uow.stored(ClaimRow)] == [first["claim_id"]]


# --------------------------------------------------------------------------- portfolio


def test_the_book_holds_the_policies_in_force_and_a_saved_run_shows_again(
    uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = bind(uow, product, monkeypatch)["policy_number"]
    gone = bind(uow, product, monkeypatch, base_application("pharmacie"))["policy_number"]
    policies.cancel_policy(uow, OPERATOR, gone, "2027-02-01", "a")
    entries, refs = book_in_force(uow, datetime(2027, 3, 1, 12, tzinfo=PARIS))
    assert [e.policy_number for e in entries] == [kept]
    assert refs == [product.ref]
    result = simulate_book(entries, product, 20, 7, threads=1, systemic=SystemicModel.none())
    run_id = save_run(uow, result, entries=entries, book_source="fake", product=product, actor="a")
    shown = get_run(uow, local_operator(1), run_id)
    assert (shown["run_id"], shown["book_sha256"]) == (run_id, book_fingerprint(entries))
    assert (shown["seed"], shown["years"], shown["policies"]) == (7, 20, 1)
    assert shown["created_at"] == QUOTED_AT  # the clock's time, shown in Paris like the others
