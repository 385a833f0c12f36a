"""Increased-limit factors (product 2026.2): each step up the limit options raises the total
premium by at least 1 %, for every kind, even where the expected loss barely moves or the
minimum premium binds."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egide.domain.application import parse_application
from egide.domain.product import KINDS, Product, load_product
from egide.domain.rating import price
from tests.appdata import applications, base_application

PRODUCTS = Path(__file__).resolve().parents[1] / "src" / "egide" / "products"


@pytest.fixture(scope="module")
def v2() -> Product:
    return load_product(PRODUCTS / "cyber-sante-v2.toml")


def totals(data: dict, product: Product) -> list[Decimal]:
    out = []
    for amount in product.aggregate_amounts(data["establishment"]["type"]):
        data["cover"]["limit"] = int(amount)
        out.append(price(parse_application(data, product), product).total)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_step_up_the_limit_options_costs_at_least_one_percent_more(
    v2: Product, data: st.DataObject
) -> None:
    app = data.draw(applications(v2))
    t = totals(app, v2)
    for low, high in itertools.pairwise(t):
        assert high >= low * Decimal("1.01"), (app["establishment"]["type"], t)


@pytest.mark.parametrize("kind", KINDS)
def test_a_tiny_risk_at_the_minimum_premium_still_pays_for_a_higher_limit(
    v2: Product, kind: str
) -> None:
    data = base_application(kind, limit=int(v2.aggregate_amounts(kind)[0]))
    data["establishment"]["annual_revenue"] = 10_000  # the minimum premium binds
    data["establishment"]["patient_records"] = 10
    data["cover"]["deductible"] = int(v2.deductible_amounts(kind)[-1])
    low = price(parse_application(data, v2), v2)
    assert low.minimum_applied
    t = totals(data, v2)
    assert all(b >= a * Decimal("1.01") for a, b in itertools.pairwise(t))


def test_the_factor_is_one_at_the_lowest_limit_and_the_v1_product_has_none(v2: Product) -> None:
    product = load_product(PRODUCTS / "cyber-sante-v1.toml")
    for kind in KINDS:
        lowest = v2.aggregate_amounts(kind)[0]
        assert v2.increased_limit_factor(kind, lowest) == 1.0
        assert product.increased_limit_factor(kind, product.aggregate_amounts(kind)[-1]) == 1.0
    data = base_application("cabinet_medical", limit=100_000)
    at_base = price(parse_application(data, v2), v2)
    assert at_base.loadings["increased_limit"] == 0
