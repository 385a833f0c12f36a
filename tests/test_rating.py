"""Rating: the closed-form expected losses, and the monotonic properties on random applications."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from egide.domain import lognormal
from egide.domain.application import parse_application
from egide.domain.money import ZERO
from egide.domain.product import Product, load_product
from egide.domain.quote import assess
from egide.domain.rating import (
    CoverageRisk,
    expected_claim_payment,
    policy_terms,
    price,
    risk_profile,
)
from egide.domain.terms import ClaimLosses, PolicyTerms, apply_terms
from tests.appdata import BOOL_CONTROLS, applications, base_application

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRODUCTS = Path(__file__).resolve().parents[1] / "src" / "egide" / "products"


@pytest.fixture(scope="module", params=["cyber-sante-v1.toml", "cyber-sante-v2.toml"])
def product(request: pytest.FixtureRequest) -> Product:
    """Both products: the monotonic properties hold for risk model v1 and v2 alike."""
    return load_product(PRODUCTS / request.param)


@pytest.fixture(scope="module")
def product_v1() -> Product:
    """Product 2026.1: the per-coverage closed forms of risk model v1."""
    return load_product(PRODUCTS / "cyber-sante-v1.toml")


@pytest.mark.parametrize(
    ("mu", "sigma", "u"),
    [(8.0, 1.0, 5_000.0), (10.0, 1.8, 500_000.0), (3.0, 0.5, 10.0), (9.0, 2.5, 1e7)],
)
def test_lognormal_limited_expected_value_matches_numerical_integration(
    mu: float, sigma: float, u: float
) -> None:
    dist = stats.lognorm(s=sigma, scale=math.exp(mu))
    # E[min(X,u)] = integral of the survival function from 0 to u
    numeric, _ = integrate.quad(dist.sf, 0, u, limit=500, points=[math.exp(mu)])
    assert lognormal.lev(mu, sigma, u) == pytest.approx(numeric, rel=1e-6)
    assert lognormal.lev(mu, sigma, math.inf) == pytest.approx(dist.mean(), rel=1e-12)
    t, a = u / 3, u / 6  # pays min(X - a, u) when X exceeds t
    body, _ = integrate.quad(lambda x: (x - a) * dist.pdf(x), t, a + u, limit=500)
    numeric_trigger = body + u * dist.sf(a + u)
    assert lognormal.layer_above_trigger(mu, sigma, a, u, t) == pytest.approx(
        numeric_trigger, rel=1e-6
    )


def monte_carlo_payment(
    risk: CoverageRisk, terms: PolicyTerms, n: int, seed: int
) -> tuple[float, float]:
    """Mean and standard error of apply_terms (the Decimal semantics) on simulated claims."""
    rng = np.random.default_rng(seed)
    draws = rng.lognormal(risk.mu, risk.sigma, n)
    paid = []
    for x in draws:
        if risk.coverage == "business_interruption":
            losses = ClaimLosses(
                bi_hours=Decimal(repr(round(float(x), 4))),
                bi_hourly_loss=Decimal(repr(round(risk.hourly_loss, 2))),
            )
        else:
            losses = ClaimLosses(amounts={risk.coverage: Decimal(repr(round(float(x), 2)))})
        paid.append(float(apply_terms(terms, losses).payable))
    arr = np.array(paid)
    return float(arr.mean()), float(arr.std(ddof=1) / math.sqrt(n))


@pytest.mark.parametrize("mode", ["time_deductible", "trigger"])
@pytest.mark.parametrize("kind", ["cabinet_medical", "clinique"])
def test_closed_form_expected_claim_equals_the_claims_semantics_on_simulated_claims(
    product_v1: Product, kind: str, mode: str
) -> None:
    product = product_v1
    app = parse_application(base_application(kind, limit=250_000, deductible=2_500), product)
    profile = risk_profile(app, product.risk_model)
    terms = policy_terms(app, product)
    terms = PolicyTerms(
        terms.coverages,
        terms.deductible,
        terms.aggregate_limit,
        Decimal(24),
        mode,
        terms.indemnity_period_hours,
    )
    for i, (code, risk) in enumerate(profile.items()):
        risk = CoverageRisk(code, risk.frequency, risk.mu, risk.sigma, round(risk.hourly_loss, 2))
        mean, se = monte_carlo_payment(risk, terms, 4_000, seed=i)
        assert abs(expected_claim_payment(risk, terms) - mean) < 4 * se + 0.02, code


def total(data: dict[str, object], product: Product) -> Decimal:
    return price(parse_application(data, product), product).total


@PROPERTY
@given(data=st.data())
def test_a_premium_never_falls_when_the_limit_rises(product: Product, data: st.DataObject) -> None:
    app = data.draw(applications(product))
    options = product.aggregate_amounts(app["establishment"]["type"])
    lo, hi = sorted(
        data.draw(st.lists(st.sampled_from(options), min_size=2, max_size=2, unique=True))
    )
    app["cover"]["limit"] = int(lo)
    low = total(app, product)
    app["cover"]["limit"] = int(hi)
    assert total(app, product) >= low


@PROPERTY
@given(data=st.data())
def test_each_extra_euro_of_limit_costs_less_than_the_one_before(
    product: Product, data: st.DataObject
) -> None:
    app = data.draw(applications(product))
    options = [int(o) for o in product.aggregate_amounts(app["establishment"]["type"])]
    if len(options) < 3:
        return
    losses = []
    for limit in options:
        app["cover"]["limit"] = limit
        p = price(parse_application(app, product), product)
        losses.append(sum(c.frequency * c.expected_claim for c in p.coverages))
    rates = [
        (losses[i + 1] - losses[i]) / (options[i + 1] - options[i]) for i in range(len(options) - 1)
    ]
    for a, b in itertools.pairwise(rates):
        assert b <= a * (1 + 1e-9) + 1e-12
    assert all(r >= 0 for r in rates)


@PROPERTY
@given(data=st.data())
def test_a_higher_deductible_never_costs_more(product: Product, data: st.DataObject) -> None:
    app = data.draw(applications(product))
    options = product.deductible_amounts(app["establishment"]["type"])
    lo, hi = sorted(
        data.draw(st.lists(st.sampled_from(options), min_size=2, max_size=2, unique=True))
    )
    app["cover"]["deductible"] = int(lo)
    low_ded = total(app, product)
    app["cover"]["deductible"] = int(hi)
    assert total(app, product) <= low_ded


@PROPERTY
@given(data=st.data())
def test_adding_a_control_never_costs_more(product: Product, data: st.DataObject) -> None:
    app = data.draw(applications(product))
    control = data.draw(
        st.sampled_from(
            [
                *BOOL_CONTROLS,
                "medical_devices_segmented",
                "critical_patch_days",
                "security_budget_share",
            ]
        )
    )
    before = total(app, product)
    better = dict(app, security=dict(app["security"]))
    if control == "critical_patch_days":
        better["security"][control] = data.draw(st.integers(0, app["security"][control]))
    elif control == "security_budget_share":
        better["security"][control] = (
            data.draw(st.integers(int(app["security"][control] * 100), 100)) / 100
        )
    else:
        better["security"][control] = True
    assert total(better, product) <= before


@PROPERTY
@given(data=st.data())
def test_the_premium_adds_up_per_coverage_and_carries_the_tax(
    product: Product, data: st.DataObject
) -> None:
    app = parse_application(data.draw(applications(product)), product)
    p = price(app, product)
    assert sum((c.premium for c in p.coverages), ZERO) == p.net
    assert p.net >= p.minimum_premium
    assert p.tax == (p.net * product.tax_rate).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert p.total == p.net + p.tax
    for c in p.coverages:
        assert c.premium >= c.expected_loss >= 0
    assert sum(p.loadings.values(), ZERO) <= p.net


def test_the_minimum_premium_lifts_a_tiny_risk(product: Product) -> None:
    data = base_application()
    data["establishment"].update(annual_revenue=60_000, patient_records=300, employees=1)
    data["security"].update(
        edr=True, incident_response_plan=True, critical_patch_days=7, security_budget_share=0.2
    )
    data["cover"].update(limit=100_000, deductible=2_500)
    p = price(parse_application(data, product), product)
    assert p.minimum_applied
    assert p.net == product.minimum_premium["cabinet_medical"]


def test_recommendations_are_reprices_by_the_same_engine_ranked_by_saving(product: Product) -> None:
    data = base_application("clinique")
    data["security"].update(mfa_remote_access=False, offline_backups=False)
    app = parse_application(data, product)
    a = assess(app, product)
    codes = [r.code for r in a.recommendations]
    assert {"mfa_remote_access", "offline_backups", "edr", "incident_response_plan"} <= set(codes)
    changes = [r.premium_change for r in a.recommendations]
    assert changes == sorted(changes)
    for r in a.recommendations:
        fixed = app.with_security(**{r.code: True}) if r.code in BOOL_CONTROLS else None
        if fixed is not None:
            assert price(fixed, product).total - a.price.total == r.premium_change
        assert r.premium_change <= 0


def test_a_university_hospital_costs_far_more_than_a_practice(product: Product) -> None:
    practice = price(parse_application(base_application(limit=100_000), product), product)
    chu = base_application("hopital", limit=20_000_000, deductible=50_000)
    chu["establishment"].update(
        annual_revenue=900_000_000, beds=1_500, patient_records=1_500_000, employees=9_000
    )
    hospital = price(parse_application(chu, product), product)
    assert hospital.total > 100 * practice.total
