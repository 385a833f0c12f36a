"""Systemic events v2 (product 2026.2): defined on the French market, not on the book.

The systemic AAL of a set of policies is the same alone or inside a bigger book; the engine's
draws match the premium's systemic load (`egide.domain.systemic_load`) in expectation; an unknown
vendor is the market-share mixture of the named ones; controls never raise the load; a
KEV-listed remote-access vendor raises it; the quote carries the load in `loadings` and inside the
coverage premiums, `expected_loss` staying the non-systemic expected loss.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.actuarial.engine import portfolio_arrays, simulate
from egide.actuarial.generate import generate_book
from egide.actuarial.systemic import (
    SystemicModel,
    SystemicModelV2,
    load_systemic_model,
    parse_systemic_model,
    systemic_model_of,
)
from egide.domain import systemic_load as sl
from egide.domain.application import Application, parse_application
from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, KINDS, Product, load_product
from egide.domain.rating import policy_terms, price
from tests.appdata import applications, base_application

PRODUCTS = Path(__file__).resolve().parent.parent / "src" / "egide" / "products"
V2_FILE = PRODUCTS / "systemic-events-v2.toml"


V1_FILE = Path(__file__).resolve().parents[1] / "src/egide/products/cyber-sante-v1.toml"


@pytest.fixture(scope="module")
def product2() -> Product:
    return load_product(PRODUCTS / "cyber-sante-v2.toml")


@pytest.fixture(scope="module")
def params(product2: Product) -> sl.SystemicParams:
    found = sl.product_systemic_params(product2)
    assert found is not None
    return found


def _app(product: Product, kind: str = "cabinet_medical", **tech: str) -> Application:
    data = base_application(kind)
    if tech:
        data["technology"] = tech
    return parse_application(data, product)


def _load(app: Application, product: Product) -> float:
    return sum(sl.systemic_load(app, product, policy_terms(app, product)).values())


# --------------------------------------------------------------------------- the file


def test_v1_keeps_its_model_and_v2_loads_as_v2(product2: Product) -> None:
    v1 = load_systemic_model()
    assert isinstance(v1, SystemicModel) and v1.version == "1"
    v2 = load_systemic_model(V2_FILE)
    assert isinstance(v2, SystemicModelV2) and v2.version == "2"
    assert set(v2.event_kinds) == {
        "vendor_ransomware",
        "cloud_outage",
        "phishing_wave",
        "remote_access_exploitation",
    }
    assert isinstance(systemic_model_of(product2), SystemicModelV2)
    assert isinstance(systemic_model_of(load_product(V1_FILE)), SystemicModel)  # 2026.1: v1


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("hit_share = 0.15", "hit_share = 1.5", "scenarios.vendor_ransomware.hit_share"),
        (
            "cabinet_medical = { lgc_vendor_a = 0.35,",
            "cabinet_medical = { lgc_vendor_a = 0.95,",
            "dependencies.software_vendor.shares.cabinet_medical",
        ),
        (
            'dependency = "email_vendor"',
            'dependency = "fax"',
            "scenarios.phishing_wave.dependency",
        ),
        ("edr = { hit = 0.6,", "edrr = { hit = 0.6,", "scenarios.vendor_ransomware.controls.edrr"),
        ("\nkev_weight = 3.0\n", "\nkev_weight = 3.0\nkev_weigth = 1\n", "kev_weigth"),
    ],
)
def test_a_broken_file_names_file_field_and_rule(old: str, new: str, field: str) -> None:
    text = V2_FILE.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ProductError) as exc:
        parse_systemic_model(text.replace(old, new, 1), "broken.toml")
    assert exc.value.path == "broken.toml"
    assert field in exc.value.field


def test_every_scenario_number_has_a_source() -> None:
    text = V2_FILE.read_text(encoding="utf-8")
    start = text.index("[scenarios.cloud_outage.sources]")
    end = text.index("[scenarios.phishing_wave]")
    broken = text[:start] + text[end:]  # the outage scenario without its sources
    with pytest.raises(ProductError) as exc:
        parse_systemic_model(broken, "x.toml")
    assert exc.value.field == "scenarios.cloud_outage.sources"


def test_market_targets_are_probabilities(params: sl.SystemicParams) -> None:
    for s in params.scenarios.values():
        total = sum(t.probability for t in params.targets(s))
        assert math.isclose(total, 1.0, rel_tol=1e-12)


# --------------------------------------------------------------------------- one insured


@given(kind=st.sampled_from(KINDS))
@settings(max_examples=16, deadline=None)
def test_unknown_vendor_is_the_market_share_mixture(params: sl.SystemicParams, kind: str) -> None:
    """P(exposed | unknown) = sum over named vendors of share x P(exposed | that vendor) + the
    tail's share x P(exposed | an unlisted vendor)."""
    for s in params.scenarios.values():
        dep = params.dependencies[s.dependency]
        mixture = sum(
            share * sl.exposure_probability(params, s, kind, vendor)
            for vendor, share in dep.shares[kind].items()
        ) + dep.tail_share(kind) * sl.exposure_probability(params, s, kind, "an_unlisted_vendor")
        unknown = sl.exposure_probability(params, s, kind, sl.UNKNOWN)
        assert math.isclose(unknown, mixture, rel_tol=1e-9, abs_tol=1e-15)
        for name in dep.not_shared:
            assert sl.exposure_probability(params, s, kind, name) == 0.0


def test_a_larger_vendor_is_struck_more_often(params: sl.SystemicParams) -> None:
    s = params.scenarios["vendor_ransomware"]
    p = {t.name: t.probability for t in params.targets(s)}
    assert p["lgc_vendor_a"] > p["lgc_vendor_b"] > p["lgc_vendor_c"]


@given(data=st.data(), control=st.sampled_from(sl.DAMAGE_CONTROLS))
@settings(max_examples=40, deadline=None)
def test_a_control_never_raises_the_systemic_load(
    product2: Product, data: st.DataObject, control: str
) -> None:
    app = parse_application(data.draw(applications(product2)), product2)
    without = app.with_security(**{control: False})
    with_it = app.with_security(**{control: True})
    assert _load(with_it, product2) <= _load(without, product2) + 1e-9


def test_controls_reduce_the_damage_of_a_hit(product2: Product) -> None:
    bare = _app(product2).with_security(edr=False, offline_backups=False)
    good = bare.with_security(edr=True, offline_backups=True, backup_restore_tested=True)
    assert _load(good, product2) < 0.8 * _load(bare, product2)


def test_a_kev_listed_remote_access_vendor_raises_the_risk(
    product2: Product, params: sl.SystemicParams
) -> None:
    assert "fortinet" in params.dependencies["remote_access_vendor"].kev
    assert "stormshield" not in params.dependencies["remote_access_vendor"].kev
    kev = _app(product2, "clinique", remote_access_vendor="Fortinet")
    other = _app(product2, "clinique", remote_access_vendor="Stormshield")
    none = _app(product2, "clinique", remote_access_vendor="none")
    assert _load(kev, product2) > _load(other, product2) > _load(none, product2)


def test_the_email_vendor_is_used(product2: Product) -> None:
    """v1 collected the e-mail provider and never used it."""
    shared = _app(product2, email_vendor="email_vendor_a")
    own = _app(product2, email_vendor="email_self_hosted")
    assert _load(shared, product2) > _load(own, product2)


def test_the_cells_match_a_fine_integration(product2: Product, params: sl.SystemicParams) -> None:
    """The 40-cell expectation against a 4 000-point midpoint integration of the same payment."""
    app = _app(product2, "pharmacie")
    terms = policy_terms(app, product2)
    losses = {x.code: x for x in sl.scenario_losses(app, product2, params, terms)}
    controls = sl.present_controls(app)
    size = sl.size_factor(params, float(app.establishment.annual_revenue))
    hourly = sl.hourly_loss(app, product2)
    nd, n = NormalDist(), 4000
    for s in params.scenarios.values():
        cost_f, outage_f = sl.damage_factors(s, controls)
        fine = 0.0
        for j in range(n):
            z = nd.inv_cdf((j + 0.5) / n)
            amounts = {c: m * size * cost_f * math.exp(s.sigma * z) for c, m in s.costs.items()}
            hours = s.outage_median_hours * outage_f * math.exp(s.outage_sigma * z)
            fine += sum(sl.claim_payment(terms, amounts, hours, hourly).values()) / n
        coarse = sum(losses[s.code].expected_payment.values())
        assert coarse == pytest.approx(fine, rel=0.005), s.code


# --------------------------------------------------------------------------- the quote


def test_the_quote_carries_the_load(product2: Product) -> None:
    # without the increased-limit factor, so that the premium decomposes exactly (below)
    product2 = dataclasses.replace(product2, ilf_exponent=Decimal(0))
    app = _app(product2, "laboratoire")
    quoted = price(app, product2)
    plain = price(app, dataclasses.replace(product2, systemic_events_text=""))
    load = quoted.loadings[sl.SYSTEMIC_LOADING]
    assert load > 0 and sl.SYSTEMIC_LOADING not in plain.loadings
    assert quoted.expected_loss == plain.expected_loss  # the non-systemic expected loss
    assert sum(c.premium for c in quoted.coverages) == quoted.net
    assert quoted.net > plain.net
    if not quoted.minimum_applied:
        # net = expected loss + systemic load + the shares of the premium (to rounding)
        assert float(quoted.net) == pytest.approx(
            float(quoted.expected_loss + sum(quoted.loadings.values())), abs=0.1
        )
    assert float(load) == pytest.approx(_load(app, product2), abs=0.01)


def test_v1_quotes_have_no_systemic_load() -> None:
    product = load_product(V1_FILE)
    quoted = price(parse_application(base_application("laboratoire"), product), product)
    assert set(quoted.loadings) == {"expenses", "broker_commission", "profit_and_risk"}


# --------------------------------------------------------------------------- the engine


def _systemic_only(entries: list[Any], product: Product, years: int, seed: int) -> Any:
    arrays = portfolio_arrays(entries, product)
    arrays = dataclasses.replace(arrays, frequency=np.zeros_like(arrays.frequency))
    if arrays.incidents is not None:  # risk model v2: no incident of its own either
        none = dataclasses.replace(arrays.incidents, rate=np.zeros_like(arrays.incidents.rate))
        arrays = dataclasses.replace(arrays, incidents=none)
    return simulate(arrays, years, seed, systemic=systemic_model_of(product), threads=1)


@pytest.fixture(scope="module")
def book(product2: Product) -> list[Any]:
    return generate_book(3000, 11, product2)


def test_systemic_aal_of_a_set_is_the_same_alone_or_in_a_bigger_book(
    product2: Product, book: list[Any]
) -> None:
    """The clinics' and hospitals' systemic AAL, alone and among several times as many other
    policies, agree within Monte-Carlo error (v1: adding small policies removed 45 %)."""
    kinds = ("clinique", "hopital")
    mine = [e for e in book if e.application.establishment.type in kinds]
    alone = _systemic_only(mine, product2, 6000, 1)
    inside = _systemic_only(book, product2, 6000, 2)
    a = sum(alone.aal_by_kind[k] for k in kinds)
    b = sum(inside.aal_by_kind[k] for k in kinds)
    se = math.hypot(
        math.hypot(*(alone.aal_by_kind_stderr[k] for k in kinds)),
        math.hypot(*(inside.aal_by_kind_stderr[k] for k in kinds)),
    )
    assert len(book) > 5 * len(mine)
    assert abs(a - b) < 4 * se, (a, b, se)
    out = inside.to_dict()
    assert {"aal_by_kind", "aal_by_kind_stderr", "systemic_aal"} <= set(out)
    assert set(out["systemic_events"]) == set(systemic_model_of(product2).event_kinds)
    assert out["systemic_aal"] == pytest.approx(out["aal"])  # no independent claims here


def test_engine_matches_the_premium_load(product2: Product, book: list[Any]) -> None:
    """The simulated systemic AAL of a book of practices and pharmacies against the sum of their
    quotes' systemic loads (the aggregate, much larger than one event's claim, rarely binds)."""
    kinds = ("cabinet_medical", "pharmacie")
    mine = [e for e in book if e.application.establishment.type in kinds]
    result = _systemic_only(mine, product2, 6000, 3)
    analytic = sum(_load(e.application, product2) for e in mine)
    assert result.systemic_aal == pytest.approx(analytic, abs=4 * result.systemic_aal_stderr)


def test_every_policy_keeps_its_coverage_order(product2: Product) -> None:
    assert tuple(sl.claim_payment(policy_terms(_app(product2), product2), {}, 0, 1)) == COVERAGES


def test_a_stored_product_reprices_with_the_same_systemic_load(product2: Product) -> None:
    """services/products re-parses a recorded product from its product and model texts: the
    systemic-events file it names comes from the packaged products, and its text is in the
    sha256 (a changed file cannot pass under the recorded version)."""
    from egide.domain.product import parse_product

    stored = parse_product(product2.source_text, product2.model_text, "stored:x", "stored:x:m")
    assert stored.sha256 == product2.sha256
    app = _app(product2, "pharmacie")
    assert price(app, stored) == price(app, product2)
    changed = parse_product(
        product2.source_text,
        product2.model_text,
        systemic_text=product2.systemic_events_text.replace("hit_share = 0.15", "hit_share = 0.2"),
    )
    assert changed.sha256 != product2.sha256
