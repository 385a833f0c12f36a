"""Risk model v2 (product 2026.2): the incident model against numerical integration and the
claims semantics, BI bounded by the indemnity period, one deductible per incident, fixed costs.

Relations and analytic values only: the closed form against quadrature (SciPy, tests only) and
against the Decimal terms on simulated incidents; bounds stated from the terms themselves.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from egide.actuarial.sim_params import comonotone_layer_vec
from egide.domain import lognormal
from egide.domain.application import parse_application
from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, INCIDENTS, KINDS, Product, load_product, parse_product
from egide.domain.rating import (
    bi_hourly_loss,
    expected_incident_payment,
    incident_components,
    incident_profile,
    policy_terms,
    price,
)
from egide.domain.terms import ClaimLosses, apply_terms
from tests.appdata import applications, base_application

PRODUCTS = Path(__file__).resolve().parents[1] / "src" / "egide" / "products"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def v2() -> Product:
    return load_product(PRODUCTS / "cyber-sante-v2.toml")


def payment(components: list[lognormal.Component], ded: float, agg: float, z: float) -> float:
    """The incident's payment at one value of its driver z (the definition, point by point)."""
    total = sum(min(max(a + b * math.exp(k * z) - t, 0.0), lim) for a, b, k, t, lim in components)
    return min(max(total - ded, 0.0), agg)


component = st.tuples(
    st.floats(0, 20_000),  # fixed
    st.one_of(st.just(0.0), st.floats(1, 50_000)),  # median of the variable part
    st.one_of(st.just(0.0), st.floats(0.05, 2.5)),  # sigma
    st.floats(0, 30_000),  # threshold
    st.floats(0, 500_000),  # cap
)


@PROPERTY
@given(
    comps=st.lists(component, min_size=1, max_size=6),
    ded=st.floats(0, 50_000),
    agg=st.floats(1, 2_000_000),
)
def test_the_closed_form_matches_numerical_integration_over_the_driver(
    comps: list[lognormal.Component], ded: float, agg: float
) -> None:
    exact = lognormal.comonotone_layer(comps, ded, agg)
    kinks = sorted(
        z
        for a, b, k, t, lim in comps
        if b > 0 and k > 0
        for level in (t - a, t + lim - a)
        if level > 0
        for z in [math.log(level / b) / k]
        if -12 < z < 12
    )

    def gross(z: float) -> float:
        return sum(min(max(a + b * math.exp(k * z) - t, 0.0), c) for a, b, k, t, c in comps)

    for level in (ded, ded + agg):  # where the payment itself has its kinks
        if gross(-12) < level < gross(12):
            kinks.append(optimize.brentq(lambda z, v=level: gross(z) - v, -12, 12, xtol=1e-14))
    kinks.sort()
    numeric, _ = integrate.quad(
        lambda z: payment(comps, ded, agg, z) * stats.norm.pdf(z),
        -12,
        12,
        points=kinks or None,
        limit=400,
    )
    assert exact == pytest.approx(numeric, rel=1e-6, abs=1e-6 * agg)
    # the same on arrays (what the portfolio engine computes for a whole book)
    rows = np.array([comps[i] if i < len(comps) else (0, 0, 0, 0, 0) for i in range(6)]).T
    vec = comonotone_layer_vec(*(r[None, :] for r in rows), np.array([ded]), np.array([agg]))
    assert vec[0] == pytest.approx(exact, rel=1e-9, abs=1e-9 * agg)


def test_an_incident_without_spread_pays_its_costs_less_one_deductible(v2: Product) -> None:
    comps: list[lognormal.Component] = [
        (2_000.0, 3_000.0, 0.0, 0.0, 1e9),
        (0.0, 10_000.0, 0.0, 1_000.0, 6_000.0),  # capped by its sub-limit
        (500.0, 0.0, 0.0, 0.0, 1e9),
    ]
    # 5 000 + 6 000 + 500 = 11 500, one deductible of 2 500 for the incident
    assert lognormal.comonotone_layer(comps, 2_500.0, 1e9) == pytest.approx(9_000.0)
    assert lognormal.comonotone_layer(comps, 2_500.0, 4_000.0) == pytest.approx(4_000.0)


@pytest.mark.parametrize("kind", ["cabinet_medical", "laboratoire", "clinique"])
def test_rating_per_coverage_equals_the_decimal_claims_semantics_on_simulated_incidents(
    v2: Product, kind: str
) -> None:
    """Each incident is one claim through `egide.domain.terms.apply_terms` (one deductible,
    sub-limits, BI periods): the mean payment per coverage is the closed form's, within 4 SE."""
    app = parse_application(base_application(kind, limit=250_000, deductible=2_500), v2)
    terms = policy_terms(app, v2)
    hourly = bi_hourly_loss(app, v2.risk_model)
    rng = np.random.default_rng(7)
    for code, risk in incident_profile(app, v2.risk_model).items():
        expected = expected_incident_payment(risk, terms, hourly)
        z = rng.standard_normal(3_000)
        paid = {c: np.zeros(len(z)) for c in COVERAGES}
        for n, zn in enumerate(z):
            amounts: dict[str, Decimal] = {}
            hours = Decimal(0)
            for line in risk.costs:
                x = min(line.fixed + line.median * math.exp(line.sigma * zn), line.cap)
                if line.coverage == "business_interruption":
                    hours = Decimal(repr(round(x, 4)))
                else:
                    amounts[line.coverage] = Decimal(repr(round(x, 2)))
            losses = ClaimLosses(
                amounts=amounts, bi_hours=hours, bi_hourly_loss=Decimal(repr(round(hourly, 2)))
            )
            outcome = apply_terms(terms, losses)
            for c in outcome.lines:
                paid[c.coverage][n] = float(c.payable)
        for cov, value in expected.items():
            mc = paid[cov]
            se = mc.std(ddof=1) / math.sqrt(len(mc))
            assert abs(mc.mean() - value) <= 4 * se + 0.05, (code, cov, mc.mean(), value, se)


@PROPERTY
@given(data=st.data())
def test_business_interruption_never_pays_more_than_the_indemnity_periods_share_of_margin(
    v2: Product, data: st.DataObject
) -> None:
    app = parse_application(data.draw(applications(v2)), v2)
    e = app.establishment
    terms = policy_terms(app, v2)
    days = float(terms.indemnity_period_hours) / 24
    margin = float(e.annual_revenue * v2.risk_model.kinds[e.type].gross_margin_rate)
    bound = margin * days / 365 * (1 + 1e-12)
    hourly = bi_hourly_loss(app, v2.risk_model)
    for risk in incident_profile(app, v2.risk_model).values():
        for cov, (_, _, _, _, cap) in incident_components(risk, terms, hourly):
            if cov == "business_interruption":
                assert cap <= bound
        # even the 1-in-a-million outage pays at most that
        bi = [
            c
            for cov, c in incident_components(risk, terms, hourly)
            if cov == "business_interruption"
        ]
        assert payment(bi, 0.0, math.inf, 4.75) <= bound


@PROPERTY
@given(data=st.data())
def test_the_deductible_is_charged_once_per_incident(v2: Product, data: st.DataObject) -> None:
    """Raising the deductible by d lowers an incident's expected payment by at most d (it is
    taken once from the incident, however many coverages it hits), and never raises it."""
    app = parse_application(data.draw(applications(v2)), v2)
    kind = app.establishment.type
    deductibles = v2.deductible_amounts(kind)
    low, high = deductibles[0], deductibles[-1]
    t_low = policy_terms(app.with_cover(deductible=low), v2)
    t_high = policy_terms(app.with_cover(deductible=high), v2)
    hourly = bi_hourly_loss(app, v2.risk_model)
    for risk in incident_profile(app, v2.risk_model).values():
        a = sum(expected_incident_payment(risk, t_low, hourly).values())
        b = sum(expected_incident_payment(risk, t_high, hourly).values())
        assert b <= a + 1e-9
        assert a - b <= float(high - low) + 1e-6


def test_every_real_incident_costs_something_to_manage(v2: Product) -> None:
    """Fixed costs: any incident that calls the crisis coverage pays forensics and legal advice,
    even with 0 records exposed (v1 priced 0 EUR of crisis for 0 records)."""
    for kind in KINDS:
        limit, deductible = v2.aggregate_amounts(kind)[0], v2.deductible_amounts(kind)[0]
        data = base_application(kind, limit=int(limit), deductible=int(deductible))
        app = parse_application(data, v2)
        app = replace(app, establishment=replace(app.establishment, patient_records=0))
        for code, risk in incident_profile(app, v2.risk_model).items():
            for line in risk.costs:
                if line.coverage == "crisis_management":
                    assert line.fixed > 0, (kind, code)


def test_the_five_incident_types_are_in_the_model_with_the_coverages_they_trigger(
    v2: Product,
) -> None:
    im = v2.risk_model.incident_model
    assert im is not None and tuple(im.incidents) == INCIDENTS
    ransomware = set(im.incidents["ransomware"].costs)
    assert {"business_interruption", "data_restoration", "cyber_extortion"} <= ransomware
    assert "crisis_management" in ransomware
    assert "business_interruption" not in im.incidents["data_breach"].costs


def test_records_exposed_take_the_breach_size_fit_documented_in_breaches_md(v2: Product) -> None:
    """Not only its sigma: the mu of the fit (the summary table of docs/breaches.md, itself
    checked against a fresh fit by tests/test_breaches_docs.py) and the within-entity sigma it
    recommends."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "breaches.md").read_text("utf-8")

    def fitted_mu(row: str) -> float:
        line = next(x for x in text.splitlines() if x.startswith(f"| {row} |"))
        return float(line.split("|")[3].split()[0])

    im = v2.risk_model.incident_model
    assert im is not None
    hacking = fitted_mu("Healthcare Provider, Hacking/IT Incident")
    assert float(im.incidents["data_breach"].records_mu) == pytest.approx(hacking, abs=5e-4)
    assert float(im.incidents["ransomware"].records_mu) == pytest.approx(hacking, abs=5e-4)
    everything = fitted_mu("all covered entities")
    assert float(im.incidents["lost_device"].records_mu) == pytest.approx(everything, abs=5e-4)
    recommended = float(text.split("**sigma_records = ")[1].split("**")[0])
    for code in ("data_breach", "ransomware", "lost_device"):
        assert float(im.incidents[code].records_sigma) == recommended


def test_a_ransomware_claim_hits_several_coverages_at_once(v2: Product) -> None:
    app = parse_application(base_application("clinique", limit=1_000_000, deductible=10_000), v2)
    risk = incident_profile(app, v2.risk_model)["ransomware"]
    expected = expected_incident_payment(
        risk, policy_terms(app, v2), bi_hourly_loss(app, v2.risk_model)
    )
    assert sum(1 for v in expected.values() if v > 0) >= 4


def test_an_incident_model_with_a_trigger_waiting_period_is_refused(v2: Product) -> None:
    text = v2.source_text.replace(
        'waiting_period_mode = "time_deductible"', 'waiting_period_mode = "trigger"'
    )
    with pytest.raises(ProductError) as err:
        parse_product(text, v2.model_text)
    assert err.value.field == "coverages.business_interruption.waiting_period_mode"


def test_a_broken_incident_table_names_the_field(v2: Product) -> None:
    text = v2.model_text.replace("[incidents.outage]", "[incidents.power_cut]")
    with pytest.raises(ProductError) as err:
        parse_product(v2.source_text, text)
    assert "incidents" in err.value.field


def test_v2_rating_is_deterministic_and_the_coverages_add_up(v2: Product) -> None:
    app = parse_application(base_application("hopital", limit=5_000_000, deductible=50_000), v2)
    one, two = price(app, v2), price(app, v2)
    assert one == two
    assert sum(c.premium for c in one.coverages) == one.net
    assert one.total == one.net + one.tax
    # the systemic load is listed, and carried inside the coverage premiums (which add up above)
    assert one.loadings["systemic_events"] > 0
