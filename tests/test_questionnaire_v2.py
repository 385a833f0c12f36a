"""The questions added by product 2026.2: optional (absent = unknown, never an error), checked
when given (an error names the field and the rule), round-tripped by `Application.to_data`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.domain.application import NIS2_CATEGORIES, parse_application
from egide.domain.errors import InvalidInput
from egide.domain.product import Product
from egide.domain.text import MAX_LENGTH
from tests.appdata import applications, base_application, mutate

ROOT = Path(__file__).resolve().parent.parent


def _rules(data: dict[str, Any], product: Product) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse_application(data, product)
    return {(e.field, e.rule) for e in exc.value.errors}


def test_absent_new_questions_are_unknown(product: Product) -> None:
    app = parse_application(base_application(), product)
    assert app.establishment.nis2_category is None
    assert app.security.crisis_exercise is None
    assert app.technology.remote_access_vendor == "unknown"


def test_existing_applications_data_is_unchanged(product: Product) -> None:
    """An application without the new answers writes exactly the keys it had before them (the
    data stored with v1 quotes and policies does not change)."""
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out = parse_application(data, product).to_data()
        assert "nis2_category" not in out["establishment"], path
        assert "crisis_exercise" not in out["security"], path
        assert "remote_access_vendor" not in out["technology"], path
        assert parse_application(out, product).to_data() == out


@given(
    data=st.data(),
    nis2=st.sampled_from([None, *NIS2_CATEGORIES]),
    exercise=st.sampled_from([None, True, False]),
    remote=st.sampled_from([None, "Fortinet", "stormshield", "none", "unknown"]),
)
@settings(max_examples=60, deadline=None)
def test_new_answers_round_trip(
    product: Product, data: st.DataObject, nis2: Any, exercise: Any, remote: Any
) -> None:
    raw = data.draw(applications(product))
    raw["establishment"]["annual_revenue"] = 1_000_000  # NIS2 by staff alone
    if nis2 is not None:
        raw["establishment"]["nis2_category"] = nis2
        raw["establishment"]["employees"] = {"essential": 300, "important": 60}.get(nis2, 10)
    if exercise is not None:
        raw["security"]["crisis_exercise"] = exercise
    if remote is not None:
        raw["technology"] = {"remote_access_vendor": remote}
    app = parse_application(raw, product)
    assert app.establishment.nis2_category == nis2
    assert app.security.crisis_exercise is exercise
    assert app.technology.remote_access_vendor == (remote or "unknown").lower()
    assert parse_application(app.to_data(), product) == app


@pytest.mark.parametrize(
    ("category", "employees", "revenue", "ok"),
    [
        ("essential", 250, 20_000_000, True),
        ("essential", 249, 20_000_000, False),
        ("essential", 100, 60_000_000, True),  # large by revenue
        ("important", 50, 5_000_000, True),
        ("important", 49, 5_000_000, False),
        ("important", 20, 12_000_000, True),  # medium by revenue
        ("important", 250, 20_000_000, False),  # essential from 250 staff
        ("not_subject", 49, 5_000_000, True),
        ("not_subject", 50, 5_000_000, False),
    ],
)
def test_nis2_category_is_checked_against_staff(
    product: Product, category: str, employees: int, revenue: int, ok: bool
) -> None:
    data = base_application("clinique")
    data["establishment"].update(
        nis2_category=category, employees=employees, annual_revenue=revenue
    )
    if ok:
        assert parse_application(data, product).establishment.nis2_category == category
    else:
        assert ("establishment.nis2_category", "consistency") in _rules(data, product)


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        ("establishment.nis2_category", "essentielle", "choice"),
        ("establishment.nis2_category", 3, "type"),
        ("security.crisis_exercise", "yes", "type"),
        ("technology.remote_access_vendor", 12, "type"),
        ("technology.remote_access_vendor", "x" * 500, MAX_LENGTH),
    ],
)
def test_bad_new_answers_name_field_and_rule(
    product: Product, path: str, value: Any, rule: str
) -> None:
    data = base_application()
    data.setdefault("technology", {})
    rules = _rules(mutate(data, path, value), product)
    assert (path, rule) in rules, rules


def test_null_answers_mean_unknown(product: Product) -> None:
    data = mutate(base_application(), "security.crisis_exercise", None)
    assert parse_application(data, product).security.crisis_exercise is None
