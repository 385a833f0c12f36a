"""Claims in the domain, with plain objects: declaration, cover, exclusions, L12-10-1, money."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.domain.application import parse_application
from egide.domain.claims import (
    CATEGORY_COVERAGE,
    REASON_LABELS_FR,
    CostCategory,
    Reason,
    adjudicate,
    merge_declaration,
    parse_declaration,
    split_cents,
)
from egide.domain.cover import CoverInForce
from egide.domain.errors import InvalidInput
from egide.domain.product import COVERAGES, Product
from egide.domain.rating import policy_terms
from egide.domain.terms import ClaimLosses, PolicyTerms, apply_terms
from tests.appdata import base_application

D = Decimal
PARIS_WINTER = "+01:00"
NOW = datetime.fromisoformat("2027-03-10T12:00:00+01:00")

BRIEF_CLAIM: dict[str, Any] = {
    "incident": {
        "type": "ransomware",
        "started_at": datetime.fromisoformat("2027-02-20T08:00:00+01:00"),
        "discovered_at": datetime.fromisoformat("2027-02-21T07:30:00+01:00"),
        "attack": True,
        "complaint_filed_at": datetime.fromisoformat("2027-02-22T10:00:00+01:00"),
        "patients_affected": 0,
    },
    "costs": [
        {"category": "it_forensics", "amount": 9400},
        {"category": "data_restoration", "amount": 6100},
        {"category": "ransom_negotiation", "amount": 3000},
    ],
    "interruption": {"outage_hours": 60, "hourly_gross_margin": 350, "extra_expenses": 4000},
}


def claim(**changes: Any) -> dict[str, Any]:
    """The brief's claim with dotted keys changed (value ... deletes)."""
    data = copy.deepcopy(BRIEF_CLAIM)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def make_cover(
    product: Product,
    *,
    kind: str = "cabinet_medical",
    limit: int = 100_000,
    deductible: int = 1_000,
    start: str = "2027-01-01",
    retro: str = "2026-01-01",
    status: str = "in_force",
    terms: PolicyTerms | None = None,
) -> CoverInForce:
    app = parse_application(base_application(kind, limit=limit, deductible=deductible), product)
    s = datetime.fromisoformat(f"{start}T00:00:00+01:00")
    return CoverInForce(
        policy_number="POL-TEST",
        status=status,
        period_start=s,
        period_end=s.replace(year=s.year + 1),
        retroactive_date=date.fromisoformat(retro),
        product_ref=product.ref,
        application=app,
        terms=terms or policy_terms(app, product),
    )


def settle(
    product: Product, data: dict[str, Any], used: Decimal = D(0), now: datetime = NOW, **cover: Any
) -> Any:
    return adjudicate(parse_declaration(data), make_cover(product, **cover), product, used, now)


def by_ref(adj: Any) -> dict[str, Any]:
    return {line.ref: line for line in adj.lines}


# --------------------------------------------------------------------------- the brief's claim


def test_the_briefs_ransomware_claim_pays_every_line_after_the_waiting_period_and_deductible(
    product: Product,
) -> None:
    adj = settle(product, claim())
    assert adj.covered
    lines = by_ref(adj)
    # BI: 60 h, 12 h waiting period (time deductible) -> 48 h x (350 + 4000/60) = 20 000,00,
    # split between margin (16 800) and extra expenses (3 200) in proportion to what was claimed
    assert lines["BI-MARGIN"].claimed == D("21000.00")
    assert lines["BI-MARGIN"].covered == D("16800.00")
    assert lines["BI-EXTRA"].covered == D("3200.00")
    assert Reason.BI_WAITING_PERIOD in lines["BI-MARGIN"].reasons
    # the deductible, once per claim, falls on the first coverage in the product's order (BI)
    assert lines["BI-MARGIN"].deductible == D("1000")
    assert lines["BI-MARGIN"].payable == D("15800.00")
    assert lines["C1"].payable == D("9400")  # forensics -> crisis management
    assert lines["C2"].payable == D("6100")  # restoration
    assert lines["C3"].payable == D("3000")  # negotiation -> cyber-extortion
    assert adj.payable_total == D("37500.00")
    assert Reason.COMPLAINT_FILED in adj.cover.reasons


def test_every_line_adds_up_and_the_total_is_apply_terms_result(product: Product) -> None:
    adj = settle(
        product,
        claim(costs=[*BRIEF_CLAIM["costs"], {"category": "ransom_payment", "amount": 50000}]),
    )
    for line in adj.lines:
        assert line.covered - line.deductible - line.limit == line.payable
        assert 0 <= line.payable <= line.covered <= line.claimed
        assert line.reasons
    cover = make_cover(product)
    amounts: dict[str, Decimal] = {}
    for line in adj.lines:
        if line.coverage != "business_interruption":
            amounts[line.coverage] = amounts.get(line.coverage, D(0)) + line.covered
    hourly = (D(21000) + D(4000)) / D(60)
    direct = apply_terms(cover.terms, ClaimLosses(amounts, D(60), hourly))
    assert adj.payable_total == direct.payable


def test_every_cost_category_maps_to_one_of_the_six_coverages() -> None:
    assert set(CATEGORY_COVERAGE) == set(CostCategory)
    assert set(CATEGORY_COVERAGE.values()) == set(COVERAGES)
    assert CATEGORY_COVERAGE[CostCategory.PUBLIC_RELATIONS] == "crisis_management"
    assert CATEGORY_COVERAGE[CostCategory.THIRD_PARTY_DAMAGES] == "data_liability"
    assert CATEGORY_COVERAGE[CostCategory.REGULATORY_DEFENCE] == "regulatory_investigation"


def test_every_reason_has_a_french_explanation() -> None:
    assert set(REASON_LABELS_FR) == set(Reason)
    assert all(label.endswith(".") for label in REASON_LABELS_FR.values())


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"costs": [{"category": "champagne", "amount": 10}]}, "costs[0].category", "choice"),
        ({"costs": [{"category": "it_forensics", "amount": -1}]}, "costs[0].amount", "range"),
        ({"costs": [{"category": "it_forensics", "amount": "1.005"}]}, "costs[0].amount", "cents"),
        (
            {"costs": [{"category": "lost_gross_margin", "amount": 10}]},
            "costs[0].category",
            "interruption_block",
        ),
        (
            {"incident__discovered_at": datetime.fromisoformat("2027-02-19T07:30:00+01:00")},
            "incident.discovered_at",
            "after_start",
        ),
        ({"incident__started_at": datetime(2027, 2, 20, 8, 0)}, "incident.started_at", "offset"),
        ({"incident__started_at": "2027-02-20T08:00:00"}, "incident.started_at", "offset"),
        ({"incident__started_at": "yesterday"}, "incident.started_at", "datetime"),
        ({"incident__type": "alien_invasion"}, "incident.type", "choice"),
        (
            {"incident__description": "Cabinet \u202eteniba"},
            "incident.description",
            "control_character",
        ),
        ({"incident__attack": "yes"}, "incident.attack", "type"),
        ({"incident__colour": "red"}, "incident.colour", "unknown_key"),
        ({"interruption__outage_hours": ...}, "interruption.outage_hours", "required"),
    ],
)
def test_bad_declarations_name_the_field_and_the_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_declaration(claim(**changes), "claim.yaml")
    assert (field, rule) in {(e.field, e.rule) for e in exc.value.errors}


def test_extra_expenses_without_an_outage_are_refused() -> None:
    data = claim(costs=[{"category": "extra_expenses", "amount": 100}], interruption=...)
    with pytest.raises(InvalidInput) as exc:
        parse_declaration(data)
    assert exc.value.errors[0].field == "interruption.outage_hours"


def test_a_declaration_round_trips_through_plain_data() -> None:
    decl = parse_declaration(
        claim(
            third_party_claims=[
                {"ref": "P1", "nature": "moral_harm", "amount_claimed": 5000, "claimant": "Mme X"}
            ],
            costs=[
                {
                    "category": "third_party_damages",
                    "amount": 100,
                    "third_party_claim": "P1",
                    "estimated": True,
                    "description": "facture à venir",
                }
            ],
        )
    )
    assert parse_declaration(decl.to_data()) == decl


def test_json_timestamps_as_strings_are_accepted() -> None:
    data = claim(incident__started_at="2027-02-20T08:00:00+01:00")
    assert parse_declaration(data).incident.started_at.utcoffset() == timedelta(hours=1)


# --------------------------------------------------------------------------- cover


def test_an_incident_discovered_after_the_period_is_not_covered(product: Product) -> None:
    adj = settle(product, claim(), start="2026-01-01")  # period 2026-01-01 .. 2027-01-01
    assert not adj.covered
    assert Reason.DISCOVERED_OUTSIDE_PERIOD in adj.cover.reasons
    assert adj.payable_total == 0
    assert all(Reason.DISCOVERED_OUTSIDE_PERIOD in line.reasons for line in adj.lines)


def test_an_incident_before_the_retroactive_date_is_not_covered(product: Product) -> None:
    adj = settle(product, claim(), retro="2027-02-21")
    assert Reason.BEFORE_RETROACTIVE_DATE in adj.cover.reasons
    assert adj.payable_total == 0


def test_a_cancelled_policy_pays_nothing(product: Product) -> None:
    adj = settle(product, claim(), status="cancelled")
    assert adj.cover.reasons[0] == Reason.POLICY_NOT_IN_FORCE
    assert adj.payable_total == 0


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("state_sponsored", Reason.EXCLUDED_WAR),
        ("war", Reason.EXCLUDED_WAR),
        ("infrastructure_failure", Reason.EXCLUDED_INFRASTRUCTURE_FAILURE),
        ("known_before_inception", Reason.EXCLUDED_PRIOR_KNOWLEDGE),
        ("intentional_act", Reason.EXCLUDED_INTENTIONAL_ACT),
    ],
)
def test_claim_level_exclusions_leave_the_whole_claim_unpaid(
    product: Product, flag: str, reason: Reason
) -> None:
    adj = settle(product, claim(**{f"incident__{flag}": True}))
    assert not adj.covered
    assert reason in adj.cover.reasons
    assert adj.payable_total == 0


def test_an_exclusion_the_product_does_not_list_does_not_apply(product: Product) -> None:
    lean = dataclasses.replace(
        product, exclusions=tuple(e for e in product.exclusions if e.code != "war")
    )
    adj = settle(lean, claim(incident__state_sponsored=True))
    assert adj.covered


def test_betterment_is_excluded_on_its_line_only(product: Product) -> None:
    costs = [
        *BRIEF_CLAIM["costs"],
        {"category": "data_restoration", "amount": 8000, "betterment": True},
    ]
    adj = settle(product, claim(costs=costs))
    lines = by_ref(adj)
    assert lines["C4"].covered == 0 and Reason.EXCLUDED_BETTERMENT in lines["C4"].reasons
    assert adj.payable_total == D("37500.00")


def test_a_bodily_injury_claim_is_excluded_but_moral_harm_is_paid(product: Product) -> None:
    data = claim(
        incident__type="data_leak",
        incident__attack=False,
        interruption=...,
        third_party_claims=[
            {"ref": "P1", "nature": "moral_harm"},
            {"ref": "P2", "nature": "medical_malpractice"},
        ],
        costs=[
            {"category": "third_party_damages", "amount": 5000, "third_party_claim": "P1"},
            {"category": "third_party_damages", "amount": 20000, "third_party_claim": "P2"},
            {"category": "third_party_defence", "amount": 3000, "bodily_injury": True},
        ],
    )
    lines = by_ref(settle(product, data))
    assert lines["C1"].covered == 5000
    assert Reason.EXCLUDED_BODILY_INJURY in lines["C2"].reasons and lines["C2"].payable == 0
    assert Reason.EXCLUDED_BODILY_INJURY in lines["C3"].reasons and lines["C3"].payable == 0


# --------------------------------------------------------------------------- art. L12-10-1


def test_no_complaint_within_72_hours_leaves_every_attack_loss_unpaid_not_only_the_ransom(
    product: Product,
) -> None:
    adj = settle(product, claim(incident__complaint_filed_at=...))
    assert Reason.COMPLAINT_MISSING in adj.cover.reasons
    assert adj.payable_total == 0
    assert all(Reason.COMPLAINT_MISSING in line.reasons for line in adj.lines)  # forensics, BI too


def test_a_complaint_filed_after_72_hours_is_too_late(product: Product) -> None:
    late = datetime.fromisoformat("2027-02-24T07:31:00+01:00")  # 72 h 01 min after discovery
    adj = settle(product, claim(incident__complaint_filed_at=late))
    assert Reason.COMPLAINT_LATE in adj.cover.reasons
    assert adj.payable_total == 0


def test_a_complaint_at_exactly_72_hours_is_in_time(product: Product) -> None:
    adj = settle(
        product,
        claim(incident__complaint_filed_at=datetime.fromisoformat("2027-02-24T07:30:00+01:00")),
    )
    assert adj.covered


def test_within_the_72_hours_the_claim_waits_for_the_complaint(product: Product) -> None:
    soon = datetime.fromisoformat("2027-02-22T09:00:00+01:00")
    adj = settle(product, claim(incident__complaint_filed_at=...), now=soon)
    assert Reason.COMPLAINT_AWAITED in adj.cover.reasons
    assert adj.payable_total == 0
    assert adj.cover.complaint_deadline == datetime.fromisoformat("2027-02-24T07:30:00+01:00")


def test_an_incident_that_is_not_an_attack_needs_no_complaint(product: Product) -> None:
    adj = settle(
        product,
        claim(
            incident__type="lost_device", incident__attack=False, incident__complaint_filed_at=...
        ),
    )
    assert adj.covered
    assert adj.payable_total > 0


def test_attack_defaults_to_true_for_a_ransomware(product: Product) -> None:
    decl = parse_declaration(claim(incident__attack=...))
    assert decl.incident.attack


def test_before_24_april_2023_the_complaint_condition_did_not_exist(product: Product) -> None:
    data = claim(
        incident__started_at=datetime.fromisoformat("2023-03-01T08:00:00+01:00"),
        incident__discovered_at=datetime.fromisoformat("2023-03-02T08:00:00+01:00"),
        incident__complaint_filed_at=...,
    )
    adj = settle(product, data, start="2023-01-01", retro="2022-01-01", now=NOW)
    assert adj.covered


# --------------------------------------------------------------------------- product settings


def test_the_ransom_itself_is_paid_only_if_the_product_covers_it(product: Product) -> None:
    costs = [{"category": "ransom_payment", "amount": 20000}]
    lines = by_ref(settle(product, claim(costs=costs, interruption=...)))
    assert lines["C1"].covered == 0 and Reason.RANSOM_NOT_COVERED in lines["C1"].reasons
    covs = dict(product.coverages)
    covs["cyber_extortion"] = dataclasses.replace(
        covs["cyber_extortion"], ransom_payment_covered=True
    )
    generous = dataclasses.replace(product, coverages=covs)
    lines = by_ref(settle(generous, claim(costs=costs, interruption=...)))
    assert lines["C1"].payable == D("19000")  # after the 1 000 deductible


def test_fines_are_paid_only_when_the_product_says_they_are_insurable(product: Product) -> None:
    costs = [
        {"category": "regulatory_fine", "amount": 10000},
        {"category": "regulatory_defence", "amount": 4000},
    ]
    lines = by_ref(settle(product, claim(costs=costs, interruption=...)))
    assert Reason.FINE_NOT_INSURABLE in lines["C1"].reasons and lines["C1"].payable == 0
    assert lines["C2"].payable == D("3000")
    covs = dict(product.coverages)
    covs["regulatory_investigation"] = dataclasses.replace(
        covs["regulatory_investigation"], fines_insurable=True
    )
    lines = by_ref(
        settle(dataclasses.replace(product, coverages=covs), claim(costs=costs, interruption=...))
    )
    assert lines["C1"].payable + lines["C2"].payable == D("13000")


# --------------------------------------------------------------------------- terms


def test_an_outage_shorter_than_the_waiting_period_pays_no_interruption(product: Product) -> None:
    lines = by_ref(settle(product, claim(interruption__outage_hours=10)))
    assert lines["BI-MARGIN"].covered == 0
    assert Reason.BI_WAITING_PERIOD in lines["BI-MARGIN"].reasons


def test_with_a_trigger_waiting_period_a_longer_outage_pays_from_hour_zero(
    product: Product,
) -> None:
    base = make_cover(product).terms
    trigger = dataclasses.replace(base, waiting_period_mode="trigger")
    lines = by_ref(settle(product, claim(), terms=trigger))
    assert lines["BI-MARGIN"].covered == D("21000.00")
    short = by_ref(settle(product, claim(interruption__outage_hours=12), terms=trigger))
    assert Reason.BI_BELOW_TRIGGER in short["BI-MARGIN"].reasons and short["BI-MARGIN"].covered == 0


def test_hours_beyond_the_indemnity_period_are_not_paid(product: Product) -> None:
    base = make_cover(product).terms
    short_period = dataclasses.replace(base, indemnity_period_hours=D(24))
    lines = by_ref(settle(product, claim(), terms=short_period))
    assert Reason.BI_INDEMNITY_PERIOD in lines["BI-MARGIN"].reasons
    assert lines["BI-MARGIN"].covered + lines["BI-EXTRA"].covered == D("10000.00")  # 24 h


def test_a_coverage_sub_limit_cuts_its_lines_from_the_last_one(product: Product) -> None:
    costs = [
        {"category": "ransom_negotiation", "amount": 30000},
        {"category": "extortion_expenses", "amount": 30000},
    ]
    lines = by_ref(
        settle(product, claim(costs=costs, interruption=...))
    )  # extortion sub-limit 50 000
    assert lines["C2"].limit == D("10000") and Reason.SUB_LIMIT in lines["C2"].reasons
    assert lines["C1"].limit == 0
    assert lines["C1"].payable + lines["C2"].payable == D("49000")


def test_the_aggregate_already_used_by_other_claims_caps_the_claim(product: Product) -> None:
    adj = settle(product, claim(), used=D("90000"))
    assert adj.payable_total == D("10000")
    assert any(Reason.AGGREGATE_LIMIT in line.reasons for line in adj.lines)


def test_estimated_costs_are_marked_as_reserves(product: Product) -> None:
    costs = [{"category": "it_forensics", "amount": 9400, "estimated": True}]
    decl = parse_declaration(claim(costs=costs, interruption=...))
    lines = by_ref(adjudicate(decl, make_cover(product), product, D(0), NOW))
    assert Reason.ESTIMATED in lines["C1"].reasons
    assert (
        adjudicate(decl.incurred_only(), make_cover(product), product, D(0), NOW).payable_total == 0
    )


# --------------------------------------------------------------------------- amendments


def test_a_cost_with_an_existing_id_replaces_it_and_new_costs_get_the_next_id() -> None:
    decl = parse_declaration(claim())
    merged = merge_declaration(
        decl,
        {
            "costs": [
                {"id": "C2", "category": "data_restoration", "amount": 7000},
                {"category": "legal_advice", "amount": 1200},
            ],
            "incident": {"state_sponsored": True},
        },
    )
    assert [c.id for c in merged.costs] == ["C1", "C2", "C3", "C4"]
    assert merged.costs[1].amount == 7000
    assert merged.incident.state_sponsored
    assert merged.incident.discovered_at == decl.incident.discovered_at


def test_an_amendment_that_breaks_a_rule_is_refused() -> None:
    decl = parse_declaration(claim())
    with pytest.raises(InvalidInput):
        merge_declaration(decl, {"costs": [{"category": "it_forensics", "amount": -5}]})


# --------------------------------------------------------------------------- properties

cents_st = st.integers(min_value=0, max_value=20_000_000).map(lambda c: D(c) / 100)
categories = st.sampled_from(
    [
        c
        for c in CostCategory
        if c not in (CostCategory.LOST_GROSS_MARGIN, CostCategory.EXTRA_EXPENSES)
    ]
)


@st.composite
def random_claims(draw: st.DrawFn) -> tuple[dict[str, Any], Decimal]:
    costs = [
        {"category": draw(categories).value, "amount": str(draw(cents_st))}
        for _ in range(draw(st.integers(0, 6)))
    ]
    data = claim(costs=costs)
    data["interruption"] = {
        "outage_hours": draw(st.integers(0, 3000)),
        "hourly_gross_margin": str(draw(st.integers(0, 200000)) / 100),
        "extra_expenses": str(draw(cents_st)),
    }
    if data["interruption"]["outage_hours"] == 0:
        del data["interruption"]
    return data, draw(cents_st)


@settings(max_examples=60, deadline=None)
@given(random_claims(), st.sampled_from([(100_000, 1_000), (250_000, 0), (500_000, 2_500)]))
def test_a_settlement_never_exceeds_sub_limits_the_aggregate_or_the_costs(
    product: Product, case: tuple[dict[str, Any], Decimal], option: tuple[int, int]
) -> None:
    data, used = case
    cover = make_cover(product, limit=option[0], deductible=option[1])
    adj = adjudicate(parse_declaration(data), cover, product, used, NOW)
    assert adj.payable_total <= max(cover.terms.aggregate_limit - used, D(0))
    assert adj.payable_total <= adj.claimed_total
    for code in COVERAGES:
        paid = sum((line.payable for line in adj.lines if line.coverage == code), D(0))
        assert paid <= cover.terms.coverages[code].limit
    for line in adj.lines:
        assert 0 <= line.payable <= line.covered <= line.claimed
        assert line.covered - line.deductible - line.limit == line.payable


@settings(max_examples=60, deadline=None)
@given(random_claims(), st.data())
def test_a_settlement_never_falls_when_a_cost_rises(
    product: Product, case: tuple[dict[str, Any], Decimal], data: st.DataObject
) -> None:
    claim_data, used = case
    cover = make_cover(product)
    before = adjudicate(parse_declaration(claim_data), cover, product, used, NOW).payable_total
    bigger = copy.deepcopy(claim_data)
    targets = [("cost", k) for k in range(len(bigger["costs"]))]
    if "interruption" in bigger:
        targets += [("bi", "extra_expenses"), ("bi", "hourly_gross_margin"), ("bi", "outage_hours")]
    if not targets:
        return
    kind, key = data.draw(st.sampled_from(targets))
    rise = data.draw(st.integers(1, 5_000_000).map(lambda c: D(c) / 100))
    if kind == "cost":
        bigger["costs"][key]["amount"] = str(D(bigger["costs"][key]["amount"]) + rise)
    else:
        step = rise.to_integral_value() if key == "outage_hours" else rise
        old_value = D(bigger["interruption"][key])
        new_value = old_value + max(step, D(1))
        if key == "outage_hours":
            new_value = min(new_value, D(26352))  # the declaration's bound: three years of hours
        bigger["interruption"][key] = str(new_value)
        if key == "outage_hours":
            # a longer outage at the same hourly cost: the extra expenses, declared as a total,
            # grow with the hours (a fixed total spread over more hours, beyond the indemnity
            # period, rightly pays less of it: extra expenses follow the covered share of hours)
            new_hours = D(bigger["interruption"][key])
            extra = D(bigger["interruption"]["extra_expenses"])
            scaled = (extra * new_hours / old_value).quantize(D("0.01"), rounding=ROUND_CEILING)
            bigger["interruption"]["extra_expenses"] = str(scaled)
    after = adjudicate(parse_declaration(bigger), cover, product, used, NOW).payable_total
    assert after >= before


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**7), min_size=1, max_size=6))
def test_split_cents_adds_up_and_respects_each_weight(total_c: int, weights_c: list[int]) -> None:
    weights = [D(w) / 100 for w in weights_c]
    total = min(D(total_c) / 100, sum(weights, D(0)))
    parts = split_cents(total, weights)
    if sum(weights) > 0:
        assert sum(parts, D(0)) == total
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))


def test_discovery_moment_is_compared_in_absolute_time(product: Product) -> None:
    utc = datetime(2027, 2, 21, 6, 30, tzinfo=UTC)  # = 07:30 Paris
    data = claim(incident__discovered_at=utc)
    assert settle(product, data).covered


# --------------------------------------------------------------------------- one semantics


@settings(max_examples=40, deadline=None)
@given(
    st.lists(random_claims(), min_size=1, max_size=4),
    st.integers(0, 200_000).map(lambda c: D(c) / 100),
    st.sampled_from(["time_deductible", "trigger"]),
)
def test_claims_of_a_policy_year_pay_what_the_portfolio_simulation_pays(
    product: Product, cases: list[tuple[dict[str, Any], Decimal]], hourly: Decimal, mode: str
) -> None:
    """Adjudication (Decimal, line by line) and the simulation's array terms agree per claim,
    the aggregate shared in order, to the cent: one semantics of deductibles, limits, periods."""
    import numpy as np

    from egide.actuarial.terms_vec import TermsArrays, apply_terms_vec

    base = make_cover(product)
    cover = dataclasses.replace(
        base, terms=dataclasses.replace(base.terms, waiting_period_mode=mode)
    )
    used = D(0)
    ours: list[Decimal] = []
    rows: list[list[float]] = []
    for data, _ in cases:
        data = copy.deepcopy(data)
        if (
            "interruption" in data
        ):  # one hourly loss per policy in the simulation: no extra expenses
            data["interruption"].update(hourly_gross_margin=str(hourly), extra_expenses="0")
        adj = adjudicate(parse_declaration(data), cover, product, used, NOW)
        used += adj.payable_total
        ours.append(adj.payable_total)
        row = [0.0] * len(COVERAGES)
        hours = D(data["interruption"]["outage_hours"]) if "interruption" in data else D(0)
        row[COVERAGES.index("business_interruption")] = float(hours)
        for line in adj.lines:
            if line.coverage != "business_interruption":
                row[COVERAGES.index(line.coverage)] += float(line.covered)
        rows.append(row)
    n = len(rows)
    arrays = TermsArrays.from_policy_terms([cover.terms], [float(hourly)])
    result = apply_terms_vec(
        arrays,
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.arange(n, dtype=np.float64),
        np.array(rows, dtype=np.float64),
    )
    theirs = result.payable_total
    for k in range(n):
        assert abs(float(ours[k]) - float(theirs[k])) <= 0.011, (k, ours, theirs)
