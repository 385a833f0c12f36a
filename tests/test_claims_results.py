"""The claim side speaks the domain: stored claims, events and payments are values mapped to rows
explicitly (and back, exactly: the audit digests do not move), and the use cases return typed
results whose ``public()`` is the JSON contract `egide claim ... --json` has always printed.

The contract is pinned from fixed inputs, key by key and in order; the CLI is checked to print
exactly that contract; an idempotent replay gives back the same typed value."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.tables_claims import (
    claim_event_row,
    claim_event_value,
    claim_payment_row,
    claim_payment_value,
    claim_row,
    claim_value,
    update_claim_row,
)
from egide.db.uow import SqlUnitOfWork
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
from egide.domain.claims import (
    CostCategory,
    IncidentKind,
    Reason,
    SettlementLine,
    parse_declaration,
)
from egide.domain.incident_clock import RULES, Deadline, Status
from egide.domain.policy import PARIS
from egide.domain.product import Product
from egide.services import claims
from egide.services.audit import claim_content, digest, event_content, payment_content
from egide.services.claim_results import (
    ClaimClock,
    ClaimDeadline,
    ClaimHistoryEntry,
    ClaimResult,
    ClaimSummary,
    PaymentMade,
    SettlementResult,
)
from egide.services.pages import Page
from egide.services.results import contract
from tests.conftest import EXAMPLES, REPO
from tests.fakes import OPERATOR, FakeUnitOfWork
from tests.test_claims_domain import BRIEF_CLAIM
from tests.test_services_fakes import DECLARED_AT, bind, forensics_claim

D = Decimal
runner = CliRunner()

# --------------------------------------------------------------------------- fixed inputs

DUE = datetime(2027, 2, 24, 8, 0, tzinfo=UTC)  # 09:00 in Paris (winter time)
DONE = datetime(2027, 2, 22, 16, 30, tzinfo=UTC)
STARTED = datetime(2027, 2, 20, 23, 15, tzinfo=UTC)  # 00:15 on the 21st in Paris
DISCOVERED = datetime(2027, 2, 21, 7, 0, tzinfo=UTC)
DECLARED = datetime(2027, 2, 23, 8, 0, tzinfo=UTC)
PAID = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)

CNIL = ClaimDeadline.of(
    Deadline(RULES["cnil_notification"], DUE, None, Status.DUE, "due in 1 d 2 h")
)
PATIENTS = ClaimDeadline.of(
    Deadline(RULES["patient_notification"], DISCOVERED, DONE, Status.DONE_LATE, "done late")
)
FORENSICS = SettlementLine(
    ref="C1",
    category=CostCategory.IT_FORENSICS,
    coverage="crisis_management",
    claimed=D("12000"),
    covered=D("12000"),
    deductible=D("1000"),
    limit=D("0"),
    payable=D("11000"),
    estimated=False,
    reasons=(Reason.DEDUCTIBLE,),
)
FINE = SettlementLine(
    ref="C2",
    category=CostCategory.REGULATORY_FINE,
    coverage="regulatory_investigation",
    claimed=D("2500.5"),
    covered=D("0"),
    deductible=D("0"),
    limit=D("0"),
    payable=D("0"),
    estimated=True,
    reasons=(Reason.FINE_NOT_INSURABLE, Reason.ESTIMATED),
)
RESULT = ClaimResult(
    claim_id="SIN-20270223-ABC123",
    policy_number="POL-2027-0001",
    status="open",
    incident_type=IncidentKind.RANSOMWARE,
    started_at=STARTED,
    discovered_at=DISCOVERED,
    declared_at=DECLARED,
    covered=True,
    reasons=(Reason.COVERED, Reason.COMPLAINT_FILED),
    claimed_total=D("14500.50"),
    payable_total=D("11000.00"),
    payable_now=D("6000.00"),
    paid_total=D("5000.00"),
    reserve=D("6000.00"),
    aggregate_limit=D("100000.00"),
    remaining_aggregate=D("95000.00"),
    lines=(FORENSICS, FINE),
    deadlines=(CNIL, PATIENTS),
    payments=(PaymentMade(D("5000.00"), "partial", PAID, "gestionnaire"),),
)


def pairs(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Keys and values in order: the contract is also the order of its keys."""
    return list(data.items())


CNIL_PUBLIC = {
    "code": "cnil_notification",
    "label": RULES["cnil_notification"].label_fr,
    "basis": "RGPD art. 33",
    "timing": "fixed",
    "due_at": "2027-02-24T09:00:00+01:00",
    "done_at": None,
    "status": "due",
    "status_text": "due in 1 d 2 h",
}


def test_a_claim_result_publishes_the_declare_and_show_contract_key_by_key() -> None:
    public = contract(RESULT)
    expected = {
        "claim_id": "SIN-20270223-ABC123",
        "policy_number": "POL-2027-0001",
        "status": "open",
        "incident_type": "ransomware",
        "started_at": "2027-02-21T00:15:00+01:00",
        "discovered_at": "2027-02-21T08:00:00+01:00",
        "declared_at": "2027-02-23T09:00:00+01:00",
        "covered": True,
        "reasons": ["covered", "complaint_filed"],
        "claimed_total": "14500.50",
        "payable_total": "11000.00",
        "payable_now": "6000.00",
        "paid_total": "5000.00",
        "reserve": "6000.00",
        "aggregate_limit": "100000.00",
        "remaining_aggregate": "95000.00",
        "lines": [
            {
                "ref": "C1",
                "category": "it_forensics",
                "category_label": CostCategory.IT_FORENSICS.label_fr,
                "coverage": "crisis_management",
                "coverage_label": "Gestion de crise",
                "estimated": False,
                "claimed": "12000.00",
                "covered": "12000.00",
                "deductible": "1000.00",
                "limit": "0.00",
                "payable": "11000.00",
                "reasons": ["deductible"],
            },
            {
                "ref": "C2",
                "category": "regulatory_fine",
                "category_label": CostCategory.REGULATORY_FINE.label_fr,
                "coverage": "regulatory_investigation",
                "coverage_label": "Enquêtes administratives",
                "estimated": True,
                "claimed": "2500.50",
                "covered": "0.00",
                "deductible": "0.00",
                "limit": "0.00",
                "payable": "0.00",
                "reasons": ["fine_not_insurable", "estimated"],
            },
        ],
        "deadlines": [
            CNIL_PUBLIC,
            {
                "code": "patient_notification",
                "label": RULES["patient_notification"].label_fr,
                "basis": "RGPD art. 34",
                "timing": "without_delay",
                "due_at": "2027-02-21T08:00:00+01:00",
                "done_at": "2027-02-22T17:30:00+01:00",
                "status": "done_late",
                "status_text": "done late",
            },
        ],
        "payments": [
            {
                "amount": "5000.00",
                "kind": "partial",
                "paid_at": "2027-03-01T12:00:00+01:00",
                "actor": "gestionnaire",
            }
        ],
        # every reason shown, once, in the order `Reason` declares them
        "explanations": {
            r.value: r.label_fr
            for r in (
                Reason.COVERED,
                Reason.COMPLAINT_FILED,
                Reason.FINE_NOT_INSURABLE,
                Reason.DEDUCTIBLE,
                Reason.ESTIMATED,
            )
        },
    }
    assert pairs(public) == pairs(expected)
    for got, want in zip(public["lines"], expected["lines"], strict=True):
        assert pairs(got) == pairs(want)
    for got, want in zip(public["deadlines"], expected["deadlines"], strict=True):
        assert pairs(got) == pairs(want)
    assert pairs(public["explanations"]) == pairs(expected["explanations"])


def test_the_settlement_clock_history_and_list_results_publish_their_contracts() -> None:
    settled = SettlementResult("SIN-1", D("1000"), D("6000"), D("0"), D("0.5"), "closed", D("9"))
    assert pairs(contract(settled)) == [
        ("claim_id", "SIN-1"),
        ("paid_now", "1000.00"),
        ("paid_total", "6000.00"),
        ("payable_now", "0.00"),
        ("reserve", "0.50"),
        ("status", "closed"),
        ("remaining_aggregate", "9.00"),
    ]
    clock = ClaimClock("SIN-1", DECLARED, DISCOVERED, (CNIL,))
    assert pairs(contract(clock)) == [
        ("claim_id", "SIN-1"),
        ("now", "2027-02-23T09:00:00+01:00"),
        ("discovered_at", "2027-02-21T08:00:00+01:00"),
        ("deadlines", [CNIL_PUBLIC]),
    ]
    entry = ClaimHistoryEntry(2, "reopened", PAID, "local operator", "facture tardive")
    assert pairs(entry.public()) == [
        ("seq", 2),
        ("kind", "reopened"),
        ("at", "2027-03-01T12:00:00+01:00"),
        ("actor", "local operator"),
        ("note", "facture tardive"),
    ]
    summary = ClaimSummary("SIN-1", "POL-1", "open", 7, None, DISCOVERED, DECLARED, CNIL)
    quiet = replace(summary, claim_id="SIN-2", status="closed", next_deadline=None)
    assert contract(Page([summary, quiet], "Y3Vyc29y")) == {
        "items": [
            {
                "claim_id": "SIN-1",
                "policy_number": "POL-1",
                "status": "open",
                "establishment_id": 7,
                "broker_id": None,
                "discovered_at": "2027-02-21T08:00:00+01:00",
                "declared_at": "2027-02-23T09:00:00+01:00",
                "next_deadline": CNIL_PUBLIC,
            },
            {
                "claim_id": "SIN-2",
                "policy_number": "POL-1",
                "status": "closed",
                "establishment_id": 7,
                "broker_id": None,
                "discovered_at": "2027-02-21T08:00:00+01:00",
                "declared_at": "2027-02-23T09:00:00+01:00",
                "next_deadline": None,
            },
        ],
        "next_cursor": "Y3Vyc29y",
    }
    assert pairs(contract(summary)) == pairs(contract(Page([summary], None))["items"][0])


def test_every_result_reads_its_contract_back_to_an_equal_value() -> None:
    results: list[Any] = [
        RESULT,
        SettlementResult("SIN-1", D("1000"), D("6000"), D("0"), D("0.5"), "closed", D("9")),
        ClaimClock("SIN-1", DECLARED, DISCOVERED, (CNIL, PATIENTS)),
        ClaimHistoryEntry(1, "declared", DECLARED, "h", None),
        ClaimSummary("SIN-1", "POL-1", "open", 7, 3, DISCOVERED, DECLARED, PATIENTS),
        ClaimSummary("SIN-1", "POL-1", "closed", None, None, DISCOVERED, DECLARED, None),
    ]
    for result in results:
        stored = json.loads(json.dumps(contract(result)))  # as the idempotency key keeps it
        again = type(result).from_public(stored)
        assert again == result
        assert pairs(contract(again)) == pairs(contract(result))


# --------------------------------------------------------------------------- the use cases


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def test_a_replayed_key_gives_back_the_same_typed_result_as_the_first_call(
    fake: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = contract(bind(fake, product, monkeypatch, now=DECLARED_AT))["policy_number"]

    def declare() -> ClaimResult:
        data = forensics_claim(11_000)
        return claims.declare_claim(fake, OPERATOR, policy, data, "h", idempotency_key="d")

    first = declare()
    assert isinstance(first, ClaimResult) and declare() == first
    number = first.claim_id

    def amend() -> ClaimResult:
        patch = {"incident": {"complaint_filed_at": "2027-02-21T11:00:00+01:00"}}
        return claims.amend_claim(fake, OPERATOR, number, patch, "h", idempotency_key="a")

    def settle() -> SettlementResult:
        return claims.settle_claim(fake, OPERATOR, number, "h", "4000", idempotency_key="s")

    def close() -> SettlementResult:
        return claims.settle_claim(fake, OPERATOR, number, "h", None, True, "f")

    def reopen() -> ClaimResult:
        return claims.reopen_claim(fake, OPERATOR, number, "facture", "h", idempotency_key="r")

    for once in (amend, settle, close, reopen):
        made = once()
        assert once() == made, once.__name__
    assert settle().paid_now == D("4000.00")
    history = claims.claim_history(fake, OPERATOR, number)
    assert [e.kind for e in history] == [
        "declared",
        "amended",
        "paid",
        "paid",
        "closed",
        "reopened",
    ]
    assert [e.seq for e in history] == list(range(1, 7))


def test_the_stored_claim_follows_its_events_as_values(
    fake: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = contract(bind(fake, product, monkeypatch, now=DECLARED_AT))["policy_number"]
    declared = claims.declare_claim(fake, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h")
    paid = claims.settle_claim(fake, OPERATOR, declared.claim_id, "h", final=True)
    with fake:
        stored = fake.claims.get(declared.claim_id)
        assert stored is not None
        events = fake.claims.events(stored)
        (payment,) = fake.claims.payments(stored)
    assert (stored.status, stored.version) == ("closed", len(events)) == ("closed", 3)
    assert payment.amount == paid.paid_now == paid.paid_total > 0
    assert stored.declared().incident.discovered_at == declared.discovered_at
    # what the reserve was when the final settlement began (this payment included)
    assert events[-1].data == {"reserve_released": str(declared.reserve)}


def test_the_cli_prints_the_contract_of_the_typed_result_byte_for_byte(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    quote = json.loads(
        run(
            "quote",
            "price",
            str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"),
            "--save",
            "--json",
        )
    )
    policy = json.loads(
        run("policy", "bind", quote["quote_number"], "--start", "2027-01-01", "--json")
    )
    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T17:00:00+01:00")
    case = str(EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml")
    declared = run("claim", "declare", policy["policy_number"], case, "--json")
    number = json.loads(declared)["claim_id"]
    run("claim", "settle", number, "--amount", "1000", "--json")
    uow = SqlUnitOfWork.from_url(cli_env)

    def printed(result: Any) -> str:  # how the CLI has always printed a JSON contract
        return json.dumps(contract(result), ensure_ascii=False, indent=2) + "\n"

    shown = run("claim", "show", number, "--json")
    assert shown == printed(claims.get_claim(uow, OPERATOR, number))
    assert list(json.loads(shown)) == list(contract(RESULT))  # the contract's keys, in order
    assert json.loads(declared)["lines"] == json.loads(shown)["lines"]
    assert run("claim", "clock", number, "--json") == printed(
        claims.claim_clock(uow, OPERATOR, number)
    )
    assert run("claim", "list", "--json") == printed(claims.list_claims(uow, OPERATOR, limit=20))
    assert ClaimResult.from_public(json.loads(shown)) == claims.get_claim(uow, OPERATOR, number)


# --------------------------------------------------------------------------- values <-> rows

moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, PARIS]),
).map(lambda m: m.replace(microsecond=0))
json_leaves = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=12)
json_docs = st.dictionaries(
    st.text(max_size=10),
    st.recursive(
        json_leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
        max_leaves=8,
    ),
    max_size=5,
)
ids = st.integers(1, 2**31 - 1)
words = st.text(min_size=1, max_size=20)

stored_claims = st.builds(
    StoredClaim,
    number=words,
    policy_number=words,
    term_start=moments,
    term_end=moments,
    product_ref=words,
    establishment_kind=words,
    status=st.sampled_from(["open", "closed"]),
    declaration=json_docs,
    discovered_at=moments,
    declared_at=moments,
    actor=words,
    created_at=moments,
    establishment_id=st.none() | ids,
    broker_id=st.none() | ids,
    version=st.integers(0, 1000),
    id=ids,
)
claim_events = st.builds(
    ClaimEvent,
    claim_id=ids,
    seq=st.integers(1, 1000),
    kind=st.sampled_from(["declared", "amended", "paid", "closed", "reopened"]),
    at=moments,
    actor=words,
    data=json_docs,
    note=st.none() | st.text(max_size=30),
    id=ids,
)
claim_payments = st.builds(
    ClaimPayment,
    claim_id=ids,
    policy_number=words,
    term_start=moments,
    amount=st.integers(1, 10**15).map(lambda c: Decimal(c) * Decimal("0.01")),
    kind=st.sampled_from(["partial", "final"]),
    paid_at=moments,
    actor=words,
    id=ids,
)


@given(stored_claims, stored_claims)
def test_a_claim_goes_to_its_row_and_back_unchanged_with_the_same_audit_digest(
    claim: StoredClaim, other: StoredClaim
) -> None:
    row = claim_row(claim)
    row.id = claim.id  # what the database gives on insert
    assert claim_value(row) == claim
    # the digest of the value is the one of the row as the migrations seal it
    assert digest(claim_content(claim)) == digest(claim_content(cast(Any, row)))
    # the mapping copies the documents: changing a value in place changes nothing stored
    kept = copy.deepcopy(claim.declaration)
    claim.declaration["changed"] = True
    assert row.declaration == kept
    # an update writes the status, declaration, version and broker of record, nothing else
    update_claim_row(row, other)
    updated = claim_value(row)
    assert (updated.status, updated.declaration, updated.version, updated.broker_id) == (
        other.status,
        other.declaration,
        other.version,
        other.broker_id,
    )
    fixed = replace(
        updated,
        status=claim.status,
        declaration=kept,
        version=claim.version,
        broker_id=claim.broker_id,
    )
    assert fixed == replace(claim, declaration=kept)


@given(claim_events, claim_payments, words)
def test_events_and_payments_go_to_their_rows_and_back_with_the_same_audit_digest(
    event: ClaimEvent, payment: ClaimPayment, number: str
) -> None:
    row = claim_event_row(event)
    row.id = event.id
    assert claim_event_value(row) == event
    assert digest(event_content(number, event)) == digest(event_content(number, cast(Any, row)))
    paid = claim_payment_row(payment)
    paid.id = payment.id
    assert paid.amount_cents == int(payment.amount * 100)  # whole cents, exactly
    assert claim_payment_value(paid) == payment
    assert claim_payment_value(paid).amount.as_tuple().exponent == -2
    content = payment_content(number, payment)
    assert digest(content) == digest(payment_content(number, cast(Any, paid)))


def test_a_payment_of_a_fraction_of_a_cent_is_refused_rather_than_rounded() -> None:
    payment = ClaimPayment(1, "POL-1", PAID, D("10.005"), "partial", PAID, "h")
    with pytest.raises(ValueError, match="whole number of cents"):
        claim_payment_row(payment)


def test_a_claim_value_reads_its_stored_declaration_back_as_the_domain_declaration() -> None:
    declaration = parse_declaration(copy.deepcopy(BRIEF_CLAIM))
    claim = StoredClaim(
        number="SIN-1",
        policy_number="POL-1",
        term_start=PAID,
        term_end=PAID + timedelta(days=365),
        product_ref="p@1",
        establishment_kind="clinique",
        status="open",
        declaration=declaration.to_data(),
        discovered_at=declaration.incident.discovered_at,
        declared_at=DECLARED,
        actor="h",
        created_at=DECLARED,
        establishment_id=2,
        broker_id=None,
    )
    assert claim.declared() == declaration
    assert claim.declared().to_data() == claim.declaration
