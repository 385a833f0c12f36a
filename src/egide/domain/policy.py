"""Policies as an append-only stack of transactions: pure rules, no storage.

A policy is a sequence of transactions (``issue``, ``endorse``, ``cancel``, ``reinstate``,
``renew``), each effective on a date (0 h, Europe/Paris) and carrying the premium change it
causes. Status and "the cover in force on day d" are derived by replaying the stack; nothing is
updated in place.

Money (the one documented rounding step): a transaction's premium change before tax is
``cents(annual_change x remaining_days / term_days)`` — the exact annual change prorated to the
day, rounded once, half up; its tax is ``cents(net_change x tax_rate)``; total = net + tax. The
premium the insured owes for a term is the sum of its transactions' changes, stored on each row
as the running ``term premium`` (so the chain adds up by construction, and is checked).

Cancellation (product file, ``[cancellation]``): ``pro_rata`` refunds the unearned premium of the
remaining days at the annual premium in force; ``no_refund`` refunds nothing (the term's premium
stays due). A reinstatement charges back what the cancellation refunded, for the days from the
reinstatement to the end of the term (the lapse between the two is not covered and not charged).

Canonical JSON (`canonical_json`, what the audit trail and the idempotency fingerprints digest):
sorted keys, no spaces, Decimals and datetimes as strings (datetimes in UTC), non-ASCII text kept
as UTF-8. The audit trail itself (keyed, chained) is `egide.services.audit`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from egide.domain.errors import FieldError, InvalidInput
from egide.domain.money import ZERO, cents

PARIS = ZoneInfo("Europe/Paris")


class Kind(StrEnum):
    ISSUE = "issue"
    ENDORSE = "endorse"
    CANCEL = "cancel"
    REINSTATE = "reinstate"
    RENEW = "renew"


class Status(StrEnum):
    IN_FORCE = "in_force"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NOT_YET_IN_FORCE = "not_yet_in_force"


CANCEL_REASONS = ("insured_request", "non_payment")


# --------------------------------------------------------------------------- dates


def midnight(day: date) -> datetime:
    """0 h on `day`, Paris time (aware)."""
    return datetime.combine(day, time(0), tzinfo=PARIS)


def paris_date(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def add_years(day: date, years: int = 1) -> date:
    """The same day `years` later; 29 February becomes 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


@dataclass(frozen=True)
class Period:
    """A term of cover: from `start` at 0 h to `end` at 0 h (exclusive), Paris time."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @classmethod
    def one_year(cls, start: date) -> Period:
        return cls(start, add_years(start))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        return midnight(self.start)

    @property
    def end_at(self) -> datetime:
        return midnight(self.end)

    def contains(self, moment: datetime) -> bool:
        return self.start_at <= moment < self.end_at

    def remaining_days(self, effective: date) -> int:
        return (self.end - effective).days


def pro_rata(annual: Decimal, period: Period, effective: date) -> Decimal:
    """`annual` for the days from `effective` to the end of the term, rounded to the cent once.

    >>> pro_rata(Decimal("365"), Period(date(2027, 1, 1), date(2028, 1, 1)), date(2027, 12, 1))
    Decimal('31.00')
    """
    days = period.remaining_days(effective)
    if not 0 <= days <= period.days:
        raise ValueError("effective date outside the period")
    return cents(annual * days / period.days)


# --------------------------------------------------------------------------- money


@dataclass(frozen=True)
class Premium:
    """Before tax, tax, and total (= net + tax), each in cents."""

    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax

    @classmethod
    def zero(cls) -> Premium:
        return cls(ZERO, ZERO)

    @classmethod
    def on_net(cls, net: Decimal, tax_rate: Decimal) -> Premium:
        """A premium change before tax (already in cents) with its tax, rounded once."""
        return cls(net, cents(net * tax_rate))

    def __add__(self, other: Premium) -> Premium:
        return Premium(self.net + other.net, self.tax + other.tax)

    def __neg__(self) -> Premium:
        return Premium(-self.net, -self.tax)

    def to_data(self) -> dict[str, str]:
        return {
            "net": str(cents(self.net)),
            "tax": str(cents(self.tax)),
            "total": str(cents(self.total)),
        }


def endorsement_change(
    old_annual_net: Decimal,
    new_annual_net: Decimal,
    period: Period,
    effective: date,
    tax_rate: Decimal,
) -> Premium:
    """Additional (positive) or returned (negative) premium of a mid-term change."""
    return Premium.on_net(pro_rata(new_annual_net - old_annual_net, period, effective), tax_rate)


def cancellation_change(
    annual_net: Decimal, period: Period, effective: date, mode: str, tax_rate: Decimal
) -> Premium:
    """The refund of a cancellation (negative or zero), by the product's cancellation mode."""
    if mode == "no_refund":
        return Premium.zero()
    if mode != "pro_rata":
        raise ValueError(f"unknown cancellation mode {mode!r}")
    return Premium.on_net(-pro_rata(annual_net, period, effective), tax_rate)


def reinstatement_change(
    annual_net: Decimal, period: Period, effective: date, refunded: bool, tax_rate: Decimal
) -> Premium:
    """Premium charged back on reinstatement: what a refunding cancellation gave back, for the
    days from the reinstatement on; nothing when the cancellation refunded nothing."""
    if not refunded:
        return Premium.zero()
    return Premium.on_net(pro_rata(annual_net, period, effective), tax_rate)


# --------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class TxView:
    """What the rules need of a recorded transaction."""

    seq: int
    kind: str
    term: int
    effective: date
    period: Period


def latest_term(txs: Sequence[TxView]) -> int:
    return max(t.term for t in txs)


def term_period(txs: Sequence[TxView], term: int) -> Period:
    return next(t.period for t in txs if t.term == term)


def is_cancelled(txs: Sequence[TxView], term: int, on: date | None = None) -> bool:
    """Whether the term is cancelled (as of `on` when given: transactions effective by then)."""
    state = False
    for t in sorted(txs, key=lambda x: x.seq):
        if t.term != term or (on is not None and t.effective > on):
            continue
        if t.kind == Kind.CANCEL:
            state = True
        elif t.kind in (Kind.REINSTATE, Kind.ISSUE, Kind.RENEW):
            state = False
    return state


def status_on(txs: Sequence[TxView], moment: datetime) -> tuple[Status, int]:
    """The status on `moment` and the term it refers to (the nearest term outside every period).

    Transactions apply from 0 h on their effective date, so a change effective on day d is in
    force all of day d.
    """
    terms = sorted({t.term for t in txs})
    periods = {n: term_period(txs, n) for n in terms}
    day = paris_date(moment)
    for n in terms:
        if periods[n].contains(moment):
            return (Status.CANCELLED if is_cancelled(txs, n, day) else Status.IN_FORCE), n
    first, last = terms[0], terms[-1]
    if moment < periods[first].start_at:
        return Status.NOT_YET_IN_FORCE, first
    if moment >= periods[last].end_at:
        return (Status.CANCELLED if is_cancelled(txs, last) else Status.EXPIRED), last
    # between two terms (a gap cannot happen with renewals, which are contiguous): nearest before
    before = [n for n in terms if periods[n].end_at <= moment]
    return Status.EXPIRED, before[-1]


def check_effective(txs: Sequence[TxView], effective: date, field: str = "effective") -> Period:
    """Validate the effective date of a new mid-term transaction; returns its term's period.

    The change applies to the latest term; its date must lie inside that term's period and not
    before the latest transaction's effective date (history is appended, never reordered).
    """
    term = latest_term(txs)
    period = term_period(txs, term)
    latest = max(txs, key=lambda t: t.seq)
    errors: list[FieldError] = []
    if effective < latest.effective:
        errors.append(
            FieldError(
                field,
                "not_before_latest",
                f"{effective.isoformat()} is before the latest transaction "
                f"(#{latest.seq} {latest.kind}, effective {latest.effective.isoformat()}): "
                "history is never rewritten, date the change on or after it",
            )
        )
    elif not period.start <= effective < period.end:
        errors.append(
            FieldError(
                field,
                "inside_period",
                f"{effective.isoformat()} is outside the period {period.start.isoformat()} to "
                f"{period.end.isoformat()} (exclusive)",
            )
        )
    if errors:
        raise InvalidInput(errors)
    return period


# --------------------------------------------------------------------------- canonical JSON


def _canonical(value: Any, floats: bool = False) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in audited content")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, floats) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, floats) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and floats:
        return value  # written as its shortest round-trip repr; NaN and infinities refused
    if isinstance(value, float):
        raise ValueError("floats are not allowed in audited content: use Decimal or str")
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_json(content: Mapping[str, Any], *, floats: bool = False) -> str:
    """One text per content: sorted keys, no spaces, Decimals and dates as strings.

    Floats are refused unless `floats` is set (stored JSON results hold floats: their text is
    their shortest round-trip form, the same before and after a round trip through the database).

    >>> canonical_json({"b": Decimal("1.50"), "a": [date(2027, 1, 1)]})
    '{"a":["2027-01-01"],"b":"1.50"}'
    """
    return json.dumps(
        _canonical(content, floats),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
