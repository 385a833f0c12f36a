"""The incident clock: which deadlines apply, when they fall due (Paris time), their status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from egide.domain.claims import parse_declaration
from egide.domain.incident_clock import (
    PARIS,
    Status,
    add_working_days,
    easter,
    incident_clock,
    public_holidays,
)
from egide.domain.product import Product
from tests.test_claims_domain import claim


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def clock(
    product: Product,
    data: dict[str, Any],
    now: str,
    kind: str = "cabinet_medical",
    declared: str | None = "2027-02-22T09:00:00+01:00",
) -> dict[str, Any]:
    decl = parse_declaration(data)
    return {
        d.code: d
        for d in incident_clock(decl, kind, product, at(declared) if declared else None, at(now))
    }


def test_a_ransomware_without_personal_data_has_the_complaint_and_the_insurer_notice(
    product: Product,
) -> None:
    c = clock(product, claim(), "2027-02-22T12:00:00+01:00")
    assert set(c) == {"complaint", "insurer_notice"}
    assert c["complaint"].due_at == at("2027-02-24T07:30:00+01:00")
    assert c["complaint"].status == Status.DONE


def test_a_breach_of_patient_data_must_be_notified_to_the_cnil_within_72_hours(
    product: Product,
) -> None:
    data = claim(incident__patients_affected=1200)
    c = clock(product, data, "2027-02-22T07:30:00+01:00")
    cnil = c["cnil_notification"]
    assert cnil.due_at == at("2027-02-24T07:30:00+01:00")
    assert cnil.due_at.tzinfo == PARIS
    assert cnil.status == Status.DUE
    assert cnil.status_text == "due in 2 d 0 h"
    late = clock(product, data, "2027-02-24T10:00:00+01:00")["cnil_notification"]
    assert late.status == Status.OVERDUE and late.status_text == "overdue by 2 h 30 min"


def test_the_72_hours_are_real_hours_across_the_change_to_summer_time(product: Product) -> None:
    data = claim(
        incident__started_at=at("2027-03-26T08:00:00+01:00"),
        incident__discovered_at=at("2027-03-26T10:00:00+01:00"),
        incident__complaint_filed_at=...,
        incident__patients_affected=10,
    )
    c = clock(product, data, "2027-03-26T12:00:00+01:00", declared=None)
    # Paris moves to UTC+2 on Sunday 28 March 2027 at 2 h: 72 h later reads 11 h, not 10 h
    assert c["cnil_notification"].due_at == at("2027-03-29T11:00:00+02:00")
    assert c["complaint"].due_at == at("2027-03-29T11:00:00+02:00")


def test_patients_are_told_without_undue_delay_when_the_risk_is_high(product: Product) -> None:
    data = claim(incident__patients_affected=50)
    c = clock(product, data, "2027-02-21T09:00:00+01:00")
    assert c["patient_notification"].status == Status.DUE_NOW
    low = claim(incident__patients_affected=50, data_breach={"high_risk": False})
    assert "patient_notification" not in clock(product, low, "2027-02-21T09:00:00+01:00")
    done = claim(
        incident__patients_affected=50,
        notifications={"patients_at": at("2027-02-23T09:00:00+01:00")},
    )
    assert clock(product, done, "2027-02-25T09:00:00+01:00")["patient_notification"].status == (
        Status.DONE
    )


@pytest.mark.parametrize(
    ("kind", "applies"),
    [
        ("hopital", True),
        ("clinique", True),
        ("laboratoire", True),
        ("ehpad", True),  # since decree n° 2022-715
        ("cabinet_medical", False),
        ("pharmacie", False),
        ("centre_de_sante", False),
        ("imagerie", False),
    ],
)
def test_the_ars_declaration_applies_to_the_establishments_the_decree_names(
    product: Product, kind: str, applies: bool
) -> None:
    c = clock(product, claim(), "2027-02-21T09:00:00+01:00", kind=kind)
    assert ("ars_declaration" in c) is applies


def test_the_handler_can_require_the_ars_declaration_for_any_establishment(
    product: Product,
) -> None:
    data = claim(incident__ars_declaration_required=True)
    assert "ars_declaration" in clock(product, data, "2027-02-21T09:00:00+01:00")


def test_no_complaint_deadline_for_an_incident_that_is_not_an_attack(product: Product) -> None:
    data = claim(
        incident__type="lost_device", incident__attack=False, incident__complaint_filed_at=...
    )
    assert "complaint" not in clock(product, data, "2027-02-21T09:00:00+01:00")


def test_a_complaint_filed_late_shows_as_done_late(product: Product) -> None:
    data = claim(incident__complaint_filed_at=at("2027-02-25T09:00:00+01:00"))
    c = clock(product, data, "2027-02-26T09:00:00+01:00")
    assert c["complaint"].status == Status.DONE_LATE


def test_the_insurer_notice_counts_five_working_days_skipping_weekends_and_holidays(
    product: Product,
) -> None:
    # discovered Sunday 21 Feb 2027: Mon 22 .. Fri 26 -> end of Friday 26 February
    c = clock(product, claim(), "2027-02-21T09:00:00+01:00", declared=None)
    assert c["insurer_notice"].due_at == datetime(2027, 2, 26, 23, 59, 59, tzinfo=PARIS)
    assert c["insurer_notice"].status == Status.DUE
    # discovered Wednesday 5 May 2027: Ascension on Thursday 6 May is not a working day
    assert add_working_days(date(2027, 5, 5), 5) == date(2027, 5, 13)


def test_a_declaration_made_in_time_marks_the_insurer_notice_done(product: Product) -> None:
    c = clock(product, claim(), "2027-03-10T09:00:00+01:00", declared="2027-02-22T09:00:00+01:00")
    assert c["insurer_notice"].status == Status.DONE
    late = clock(
        product, claim(), "2027-03-10T09:00:00+01:00", declared="2027-03-01T09:00:00+01:00"
    )
    assert late["insurer_notice"].status == Status.DONE_LATE


def test_easter_and_the_public_holidays_of_france() -> None:
    assert easter(2024) == date(2024, 3, 31)
    assert easter(2025) == date(2025, 4, 20)
    assert easter(2027) == date(2027, 3, 28)
    days = public_holidays(2027)
    assert len(days) == 11
    assert date(2027, 5, 17) in days  # lundi de Pentecôte
    assert date(2027, 7, 14) in days
