"""Underwriting of product 2026.2 (its `[underwriting]` section); 2026.1 decisions unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.domain.application import Application, parse_application
from egide.domain.errors import ProductError
from egide.domain.product import KINDS, Product, load_product
from egide.domain.quote import assess
from egide.domain.scoring import security_score
from egide.domain.underwriting import (
    V1_RULES,
    Decision,
    Reason,
    parse_underwriting,
    product_rules,
    underwrite,
)
from tests.appdata import applications, base_application

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT / "src" / "egide" / "products"


V1_FILE = Path(__file__).resolve().parents[1] / "src/egide/products/cyber-sante-v1.toml"


@pytest.fixture(scope="module")
def product2() -> Product:
    return load_product(PRODUCTS / "cyber-sante-v2.toml")


def _uw(app: Application, product: Product) -> Any:
    return underwrite(app, security_score(app.security, product.risk_model), product)


def _app(product: Product, kind: str = "cabinet_medical", **changes: Any) -> Application:
    data = base_application(kind)
    for path, value in changes.items():
        section, key = path.split("__")
        data.setdefault(section, {})[key] = value
    return parse_application(data, product)


def test_v1_has_no_underwriting_section() -> None:
    assert product_rules(load_product(V1_FILE)) == V1_RULES


@given(data=st.data())
@settings(max_examples=80, deadline=None)
def test_v1_decisions_are_unchanged(data: st.DataObject) -> None:
    product = load_product(V1_FILE)
    app = parse_application(data.draw(applications(product)), product)
    score = security_score(app.security, product.risk_model)
    assert underwrite(app, score, product) == underwrite(app, score)


@given(data=st.data(), remote=st.sampled_from(["unknown", "fortinet", "stormshield", "other"]))
@settings(max_examples=80, deadline=None)
def test_no_mfa_on_remote_access_is_never_accepted(
    product2: Product, data: st.DataObject, remote: str
) -> None:
    raw = data.draw(applications(product2))
    raw["security"]["mfa_remote_access"] = False
    raw["technology"] = {"remote_access_vendor": remote}
    result = _uw(parse_application(raw, product2), product2)
    assert result.decision != Decision.ACCEPT
    assert {Reason.NO_MFA_REMOTE_ACCESS, Reason.NO_MFA_LARGE} & set(result.reasons)


def test_no_remote_access_needs_no_mfa_on_it(product2: Product) -> None:
    app = _app(product2, security__mfa_remote_access=False, technology__remote_access_vendor="none")
    assert _uw(app, product2).decision == Decision.ACCEPT


@pytest.mark.parametrize("kind", KINDS)
def test_the_reference_establishments_pass_the_exposure_check(product2: Product, kind: str) -> None:
    reasons = set(_uw(_app(product2, kind), product2).reasons)
    assert not reasons & {
        Reason.RECORDS_ZERO,
        Reason.RECORDS_LOW,
        Reason.RECORDS_HIGH,
        Reason.RECORDS_BELOW_BEDS,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_implausible_records_are_referred_saying_what_to_check(
    product2: Product, kind: str
) -> None:
    records = base_application(kind)["establishment"]["patient_records"]
    cases = {
        0: Reason.RECORDS_ZERO,
        records // 10: Reason.RECORDS_LOW,  # a tenth of the records
        records * 50: Reason.RECORDS_HIGH,
    }
    beds = base_application(kind)["establishment"]["beds"]
    for declared, reason in cases.items():
        if reason is Reason.RECORDS_LOW and beds and declared < beds:
            reason = Reason.RECORDS_BELOW_BEDS
        result = _uw(_app(product2, kind, establishment__patient_records=declared), product2)
        assert result.decision != Decision.ACCEPT
        assert reason in result.reasons, (kind, declared)
        assert "vérifier" in reason.message


def test_fewer_records_than_beds_is_referred(product2: Product) -> None:
    app = _app(product2, "ehpad", establishment__patient_records=40)  # 80 beds
    assert Reason.RECORDS_BELOW_BEDS in _uw(app, product2).reasons


def test_the_practice_with_good_hygiene_stays_accepted(product2: Product) -> None:
    data = yaml.safe_load((ROOT / "examples" / "cabinet-medical.yaml").read_text("utf-8"))
    result = assess(parse_application(data, product2), product2, with_recommendations=False)
    assert result.underwriting.decision == Decision.ACCEPT


@pytest.mark.parametrize(
    ("plan", "category", "referred"),
    [(False, "essential", True), (True, "essential", False), (False, None, False)],
)
def test_a_nis2_entity_needs_an_incident_response_plan(
    product2: Product, plan: bool, category: str | None, referred: bool
) -> None:
    changes: dict[str, Any] = {"security__incident_response_plan": plan}
    if category:
        changes["establishment__nis2_category"] = category
    app = _app(product2, "clinique", **changes)
    assert (Reason.NIS2_NO_RESPONSE_PLAN in _uw(app, product2).reasons) is referred


@pytest.mark.parametrize(
    ("kind", "exercise", "referred"),
    [
        ("hopital", False, True),
        ("hopital", None, False),
        ("hopital", True, False),
        ("cabinet_medical", False, False),
    ],
)
def test_the_annual_crisis_exercise_of_health_establishments(
    product2: Product, kind: str, exercise: bool | None, referred: bool
) -> None:
    changes = {} if exercise is None else {"security__crisis_exercise": exercise}
    app = _app(product2, kind, **changes)
    assert (Reason.NO_CRISIS_EXERCISE in _uw(app, product2).reasons) is referred


@pytest.mark.parametrize(
    ("vendor", "days", "referred"),
    [("fortinet", 45, True), ("fortinet", 15, False), ("stormshield", 45, False)],
)
def test_a_kev_listed_appliance_patched_slowly_is_referred(
    product2: Product, vendor: str, days: int, referred: bool
) -> None:
    app = _app(
        product2,
        technology__remote_access_vendor=vendor,
        security__critical_patch_days=days,
    )
    assert (Reason.KEV_APPLIANCE_SLOW_PATCHING in _uw(app, product2).reasons) is referred


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("[underwriting]\nrecords_check = 1\n", "underwriting.records_check"),
        ("[underwriting]\nmfa_remote_access_decline_kinds = ['kiosque']\n", "decline_kinds"),
        ("[underwriting]\nrecords_check = true\n", "underwriting.records_per_keur"),
        ("[underwriting]\nrecord_check = true\n", "underwriting.record_check"),
    ],
)
def test_a_broken_underwriting_section_names_the_field(section: str, field: str) -> None:
    with pytest.raises(ProductError) as exc:
        parse_underwriting(section, "p.toml")
    assert field in exc.value.field and exc.value.path == "p.toml"


def test_reasons_have_unique_codes_and_french_messages() -> None:
    codes = [r.code for r in Reason]
    assert len(codes) == len(set(codes))
    for r in Reason:
        assert r.message.endswith(".") and any(c in r.message for c in "éèàç :")
