"""Pure policy rules: periods at midnight in Paris, pro rata to the day, status on a date, the
ordering of transactions, the canonical JSON of the audit chain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from egide.domain.errors import InvalidInput
from egide.domain.policy import (
    PARIS,
    Kind,
    Period,
    Premium,
    Status,
    TxView,
    add_years,
    cancellation_change,
    canonical_json,
    check_effective,
    endorsement_change,
    pro_rata,
    reinstatement_change,
    status_on,
)

D = Decimal
P = Period(date(2027, 1, 1), date(2028, 1, 1))


def test_a_period_starts_and_ends_at_midnight_paris_time() -> None:
    p = Period.one_year(date(2027, 3, 28))  # the day clocks go forward
    assert p.start_at == datetime(2027, 3, 28, 0, 0, tzinfo=PARIS)
    assert p.start_at.utcoffset() == timedelta(hours=1)
    assert p.end_at == datetime(2028, 3, 28, 0, 0, tzinfo=PARIS)
    assert p.end_at.utcoffset() == timedelta(hours=2)


def test_a_period_starting_on_29_february_ends_on_1_march() -> None:
    assert add_years(date(2028, 2, 29)) == date(2029, 3, 1)


def test_pro_rata_counts_days_and_rounds_once_to_the_cent() -> None:
    assert pro_rata(D("365"), P, date(2027, 12, 1)) == D("31.00")
    assert pro_rata(D("100"), P, date(2027, 1, 1)) == D("100.00")
    assert pro_rata(D("100"), P, date(2028, 1, 1)) == D("0.00")
    # 100 x 200 / 365 = 54.794... -> 54.79
    assert pro_rata(D("100"), P, date(2027, 6, 15)) == D("54.79")


def test_an_endorsement_charges_the_difference_for_the_remaining_days_with_its_tax() -> None:
    change = endorsement_change(D("1000"), D("1365"), P, date(2027, 12, 1), D("0.09"))
    assert change == Premium(D("31.00"), D("2.79"))
    assert change.total == D("33.79")
    refund = endorsement_change(D("1365"), D("1000"), P, date(2027, 12, 1), D("0.09"))
    assert refund == Premium(D("-31.00"), D("-2.79"))


def test_cancellation_refunds_pro_rata_or_nothing_as_the_product_says() -> None:
    assert cancellation_change(D("365"), P, date(2027, 12, 1), "pro_rata", D("0.09")).net == D(
        "-31.00"
    )
    assert (
        cancellation_change(D("365"), P, date(2027, 12, 1), "no_refund", D("0.09"))
        == Premium.zero()
    )
    with pytest.raises(ValueError):
        cancellation_change(D("365"), P, date(2027, 12, 1), "half", D("0.09"))


def test_reinstatement_charges_back_only_what_was_refunded() -> None:
    assert reinstatement_change(D("365"), P, date(2027, 12, 1), True, D("0")).net == D("31.00")
    assert reinstatement_change(D("365"), P, date(2027, 12, 1), False, D("0")) == Premium.zero()


def _stack() -> list[TxView]:
    renewal = Period(date(2028, 1, 1), date(2029, 1, 1))
    return [
        TxView(1, Kind.ISSUE, 1, date(2027, 1, 1), P),
        TxView(2, Kind.CANCEL, 1, date(2027, 6, 1), P),
        TxView(3, Kind.REINSTATE, 1, date(2027, 7, 1), P),
        TxView(4, Kind.RENEW, 2, date(2028, 1, 1), renewal),
    ]


@pytest.mark.parametrize(
    ("moment", "status", "term"),
    [
        (datetime(2026, 12, 31, 23, 59, tzinfo=PARIS), Status.NOT_YET_IN_FORCE, 1),
        (datetime(2027, 1, 1, 0, 0, tzinfo=PARIS), Status.IN_FORCE, 1),
        (datetime(2027, 5, 31, 23, 59, tzinfo=PARIS), Status.IN_FORCE, 1),
        (datetime(2027, 6, 1, 0, 0, tzinfo=PARIS), Status.CANCELLED, 1),
        (datetime(2027, 7, 1, 0, 0, tzinfo=PARIS), Status.IN_FORCE, 1),
        (datetime(2028, 1, 1, 0, 0, tzinfo=PARIS), Status.IN_FORCE, 2),
        (datetime(2029, 1, 1, 0, 0, tzinfo=PARIS), Status.EXPIRED, 2),
    ],
)
def test_status_on_a_moment_is_derived_from_the_stack(
    moment: datetime, status: Status, term: int
) -> None:
    assert status_on(_stack(), moment) == (status, term)


def test_a_change_dated_before_the_latest_transaction_is_refused_naming_the_field() -> None:
    txs = _stack()[:2]
    with pytest.raises(InvalidInput) as exc:
        check_effective(txs, date(2027, 5, 1))
    assert exc.value.errors[0].field == "effective"
    assert exc.value.errors[0].rule == "not_before_latest"
    assert check_effective(txs, date(2027, 6, 1)) == P


def test_a_change_outside_the_period_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_effective(_stack()[:1], date(2028, 1, 1))
    assert exc.value.errors[0].rule == "inside_period"


def test_canonical_json_does_not_depend_on_key_order_or_time_zone() -> None:
    a = {"b": D("1.50"), "a": datetime(2027, 1, 1, 1, 0, tzinfo=PARIS), "é": "ü"}
    b = {
        "é": "ü",
        "a": datetime(2027, 1, 1, 0, 0, tzinfo=PARIS).astimezone(PARIS) + timedelta(hours=1),
        "b": D("1.50"),
    }
    assert (
        canonical_json(a)
        == canonical_json(b)
        == '{"a":"2027-01-01T00:00:00+00:00","b":"1.50","é":"ü"}'
    )
    assert canonical_json({"x": 0.1, "y": 1e300}, floats=True) == '{"x":0.1,"y":1e+300}'
    with pytest.raises(ValueError):
        canonical_json({"x": 0.1})
