"""The array terms (NumPy reference and the engine's numba kernel) equal the Decimal terms.

`egide.domain.terms.apply_terms` is the one semantics; on random policies and random sequences of
claims (several per policy-year, so the annual aggregate is shared) both array implementations pay
the same per event and per coverage, to the cent (the Decimal side rounds BI to the cent).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.actuarial.terms_vec import TermsArrays, apply_terms_events, apply_terms_vec
from egide.domain.product import COVERAGES
from egide.domain.terms import ClaimLosses, CoverageTermsInForce, PolicyTerms, apply_terms

CENT = 0.01 + 1e-6

money = st.integers(min_value=0, max_value=3_000_000).map(lambda c: Decimal(c) / 100)
hours = st.integers(min_value=0, max_value=400_000).map(lambda c: Decimal(c) / 100)


@st.composite
def policy_terms(draw: st.DrawFn) -> tuple[PolicyTerms, Decimal]:
    coverages = {}
    for code in COVERAGES:
        if draw(st.integers(0, 9)) == 0:
            continue  # coverage not bought
        coverages[code] = CoverageTermsInForce(
            limit=draw(money),
            sub_deductible=draw(st.sampled_from([Decimal(0), Decimal(0), draw(money) / 10])),
        )
    terms = PolicyTerms(
        coverages=coverages,
        deductible=draw(st.sampled_from([Decimal(0), draw(money) / 20])),
        aggregate_limit=draw(money),
        waiting_period_hours=Decimal(draw(st.integers(0, 72))),
        waiting_period_mode=draw(st.sampled_from(["time_deductible", "trigger"])),
        indemnity_period_hours=Decimal(draw(st.integers(1, 2160))),
    )
    hourly = Decimal(draw(st.integers(0, 2_000_000))) / 100
    return terms, hourly


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[PolicyTerms, Decimal]], list[dict[str, object]]]:
    policies = draw(st.lists(policy_terms(), min_size=1, max_size=3))
    n = draw(st.integers(1, 12))
    times = draw(st.lists(st.floats(0.0, 0.999), min_size=n, max_size=n, unique=True))
    events = []
    for i in range(n):
        amounts = {
            code: draw(st.sampled_from([Decimal(0), draw(money)]))
            for code in COVERAGES
            if code != "business_interruption"
        }
        events.append(
            {
                "policy": draw(st.integers(0, len(policies) - 1)),
                "year": draw(st.integers(0, 1)),
                "time": times[i],
                "amounts": amounts,
                "bi_hours": draw(st.sampled_from([Decimal(0), draw(hours)])),
            }
        )
    return policies, events


def decimal_payments(
    policies: list[tuple[PolicyTerms, Decimal]], events: list[dict[str, object]]
) -> np.ndarray:
    """Each event's payment per coverage by `apply_terms`, claims of a policy-year in time order."""
    out = np.zeros((len(events), len(COVERAGES)))
    used: dict[tuple[object, object], Decimal] = {}
    for i in sorted(range(len(events)), key=lambda i: events[i]["time"]):  # type: ignore[arg-type,return-value]
        e = events[i]
        terms, hourly = policies[e["policy"]]  # type: ignore[index]
        key = (e["policy"], e["year"])
        losses = ClaimLosses(
            amounts=e["amounts"],  # type: ignore[arg-type]
            bi_hours=e["bi_hours"],  # type: ignore[arg-type]
            bi_hourly_loss=hourly,
        )
        outcome = apply_terms(terms, losses, used.get(key, Decimal(0)))
        used[key] = outcome.aggregate_used_after
        for k, line in enumerate(outcome.lines):
            out[i, k] = float(line.payable)
    return out


def as_arrays(
    policies: list[tuple[PolicyTerms, Decimal]], events: list[dict[str, object]]
) -> tuple[TermsArrays, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    terms = TermsArrays.from_policy_terms([t for t, _ in policies], [float(h) for _, h in policies])
    policy = np.array([e["policy"] for e in events], dtype=np.int64)
    year = np.array([e["year"] for e in events], dtype=np.int64)
    time = np.array([e["time"] for e in events], dtype=np.float64)
    gu = np.zeros((len(events), len(COVERAGES)))
    for i, e in enumerate(events):
        gu[i, 0] = float(e["bi_hours"])  # type: ignore[arg-type]
        for code, amount in e["amounts"].items():  # type: ignore[attr-defined]
            gu[i, COVERAGES.index(code)] = float(amount)
    return terms, policy, year, time, gu


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_array_terms_pay_what_the_decimal_terms_pay_per_event_and_coverage(
    scenario: tuple[list[tuple[PolicyTerms, Decimal]], list[dict[str, object]]],
) -> None:
    policies, events = scenario
    expected = decimal_payments(policies, events)
    terms, policy, year, time, gu = as_arrays(policies, events)
    numpy_result = apply_terms_vec(terms, policy, year, time, gu)
    kernel_result = apply_terms_events(terms, policy, year, time, gu)
    np.testing.assert_allclose(numpy_result.payable, expected, rtol=0, atol=CENT)
    np.testing.assert_allclose(kernel_result.payable, expected, rtol=0, atol=CENT)
    np.testing.assert_allclose(
        kernel_result.before_aggregate, numpy_result.before_aggregate, atol=1e-6
    )


def test_the_aggregate_is_shared_by_the_claims_of_a_policy_year_in_time_order() -> None:
    cov = {c: CoverageTermsInForce(limit=Decimal(1_000_000)) for c in COVERAGES}
    terms = PolicyTerms(coverages=cov, deductible=Decimal(0), aggregate_limit=Decimal(100))
    arrays = TermsArrays.from_policy_terms([terms], [0.0])
    gu = np.zeros((3, 6))
    gu[:, 1] = [70.0, 50.0, 40.0]
    # the claim at time 0.1 comes first: 70, then 30 of the 50 at 0.5, then nothing
    for fn in (apply_terms_vec, apply_terms_events):
        result = fn(
            arrays, np.zeros(3, np.int64), np.zeros(3, np.int64), np.array([0.1, 0.5, 0.9]), gu
        )
        np.testing.assert_allclose(result.payable_total, [70.0, 30.0, 0.0])
        # another year starts afresh
        result = fn(
            arrays, np.zeros(3, np.int64), np.array([0, 0, 1]), np.array([0.1, 0.5, 0.9]), gu
        )
        np.testing.assert_allclose(result.payable_total, [70.0, 30.0, 40.0])
