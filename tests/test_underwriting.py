"""Underwriting rules and the security score."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egide.domain.application import parse_application
from egide.domain.product import Product
from egide.domain.quote import assess
from egide.domain.scoring import security_score
from egide.domain.underwriting import Decision, Reason
from tests.appdata import BOOL_CONTROLS, applications, base_application


def decide(product: Product, data: dict[str, object]) -> tuple[Decision, set[str]]:
    a = assess(parse_application(data, product), product, with_recommendations=False)
    return a.underwriting.decision, {r.code for r in a.underwriting.reasons}


def test_a_well_protected_practice_is_accepted(product: Product) -> None:
    decision, reasons = decide(product, base_application())
    assert decision is Decision.ACCEPT and reasons == {"ALL_RULES_PASSED"}


def test_a_large_hospital_without_offline_backups_is_declined(product: Product) -> None:
    data = base_application("hopital")
    data["security"]["offline_backups"] = False
    decision, reasons = decide(product, data)
    assert decision is Decision.DECLINE
    assert Reason.LARGE_HOSPITAL_NO_OFFLINE_BACKUP.code in reasons


def test_a_small_clinic_without_offline_backups_is_referred(product: Product) -> None:
    data = base_application("clinique")
    data["security"]["offline_backups"] = False
    decision, reasons = decide(product, data)
    assert decision is Decision.REFER and Reason.NO_OFFLINE_BACKUP_BEDDED.code in reasons


def test_ransomware_without_tested_restore_is_never_accepted(product: Product) -> None:
    data = base_application("clinique")
    data["history"] = {"incidents_last_5_years": 1, "ransomware_last_5_years": 1}
    data["security"]["backup_restore_tested"] = False
    decision, reasons = decide(product, data)
    assert decision is Decision.REFER and Reason.RANSOMWARE_RESTORE_UNTESTED.code in reasons
    data["security"]["offline_backups"] = False
    decision, reasons = decide(product, data)
    assert decision is Decision.DECLINE and Reason.RANSOMWARE_NO_RECOVERY.code in reasons


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_two_dangerous_profiles_are_never_silently_accepted(
    product: Product, data: st.DataObject
) -> None:
    app = data.draw(applications(product))
    decision, _ = decide(product, app)
    e, s, h = app["establishment"], app["security"], app["history"]
    if e["type"] == "hopital" and e["beds"] >= 300 and not s["offline_backups"]:
        assert decision is Decision.DECLINE
    if h["ransomware_last_5_years"] > 0 and not s["backup_restore_tested"]:
        assert decision is not Decision.ACCEPT
    if decision is Decision.ACCEPT:
        assert h["ransomware_last_5_years"] == 0 and h["incidents_last_5_years"] < 2


def test_poor_security_is_referred_then_declined(product: Product) -> None:
    data = base_application()
    for c in BOOL_CONTROLS:
        data["security"][c] = False
    data["security"]["critical_patch_days"] = 60
    decision, reasons = decide(product, data)
    assert decision is Decision.DECLINE and Reason.SCORE_TOO_LOW.code in reasons
    data["security"].update(
        mfa_remote_access=True,
        offline_backups=True,
        backup_restore_tested=True,
        medical_devices_segmented=False,
        critical_patch_days=80,
    )
    decision, reasons = decide(product, data)
    assert decision is Decision.REFER and Reason.SCORE_LOW.code in reasons


def test_known_circumstances_and_capacity_refer(product: Product) -> None:
    data = base_application("hopital", limit=10_000_000, deductible=50_000)
    data["history"]["known_circumstances"] = True
    decision, reasons = decide(product, data)
    assert decision is Decision.REFER
    assert {Reason.KNOWN_CIRCUMSTANCES.code, Reason.LARGE_CAPACITY.code} <= reasons


def test_the_score_is_the_sum_of_its_factors_and_spans_0_to_100(product: Product) -> None:
    model = product.risk_model
    best = base_application()
    for c in BOOL_CONTROLS:
        best["security"][c] = True
    best["security"].update(critical_patch_days=7, security_budget_share=0.15)
    s = security_score(parse_application(best, product).security, model)
    assert s.total == 100
    worst = base_application()
    for c in BOOL_CONTROLS:
        worst["security"][c] = False
    worst["security"].update(
        critical_patch_days=365, security_budget_share=0, medical_devices_segmented=False
    )
    w = security_score(parse_application(worst, product).security, model)
    assert w.total == 0
    mid = security_score(parse_application(base_application(), product).security, model)
    assert 0 < mid.total < 100
    assert abs(sum(f.points for f in mid.factors) - mid.total) <= Decimal("0.5")
    edr = next(f for f in mid.factors if f.code == "edr")
    assert edr.points == 0 and edr.weight > 0


def test_no_connected_devices_earns_the_segmentation_points(product: Product) -> None:
    data = base_application()
    data["security"]["medical_devices_segmented"] = None
    with_none = security_score(parse_application(data, product).security, product.risk_model)
    data["security"]["medical_devices_segmented"] = False
    unsegmented = security_score(parse_application(data, product).security, product.risk_model)
    assert with_none.total > unsegmented.total
