"""The one semantics of policy terms, in Decimal, for a real claim.

The portfolio simulation applies the same rules to arrays (`egide.actuarial.terms_vec`); a property
test holds the two equal on random losses. The order, per claim (one loss event):

1. Business interruption: covered hours = the outage hours after the waiting period and within the
   indemnity period. With ``time_deductible`` the first `waiting` hours are never paid; with
   ``trigger`` an outage longer than the wait is paid from its first hour. Covered amount =
   covered hours x the hourly loss (lost gross margin + extra expenses per hour), rounded to the
   cent (the BI rounding step).
2. Each coverage: its sub-deductible, then its sub-limit (per claim):
   ``min(max(x - sub_deductible, 0), sub_limit)``.
3. The policy deductible, once per claim, on the sum of the coverages; it is allocated to the
   coverages in the product's coverage order (`COVERAGES`) until used up.
4. The annual aggregate: what remains of it after every earlier claim of the policy year caps the
   claim; the cut is allocated in the same coverage order.

Sub-limits are per claim; only the aggregate is annual. Everything is exact in Decimal; inputs are
amounts in euros with at most cents, so only step 1 can create fractions of a cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from egide.domain.money import ZERO, cents
from egide.domain.product import COVERAGES


@dataclass(frozen=True)
class CoverageTermsInForce:
    """A coverage's terms on a policy: its sub-limit and sub-deductible (per claim)."""

    limit: Decimal
    sub_deductible: Decimal = ZERO


@dataclass(frozen=True)
class PolicyTerms:
    coverages: Mapping[str, CoverageTermsInForce]
    deductible: Decimal
    aggregate_limit: Decimal
    waiting_period_hours: Decimal = ZERO
    waiting_period_mode: str = "time_deductible"
    indemnity_period_hours: Decimal = Decimal("2160")


@dataclass(frozen=True)
class ClaimLosses:
    """Ground-up losses of one claim: money per coverage, and BI as hours x hourly loss."""

    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    bi_hours: Decimal = ZERO
    bi_hourly_loss: Decimal = ZERO


@dataclass(frozen=True)
class CoverageOutcome:
    coverage: str
    ground_up: Decimal
    covered_before_terms: Decimal  # after the BI waiting/indemnity periods (= ground_up otherwise)
    sub_deductible: Decimal
    sub_limit_cut: Decimal
    deductible: Decimal
    aggregate_cut: Decimal
    payable: Decimal


@dataclass(frozen=True)
class ClaimOutcome:
    lines: tuple[CoverageOutcome, ...]
    payable: Decimal
    aggregate_used_after: Decimal

    def by_coverage(self) -> dict[str, CoverageOutcome]:
        return {line.coverage: line for line in self.lines}


def bi_covered_hours(
    outage_hours: Decimal, waiting: Decimal, mode: str, indemnity: Decimal
) -> Decimal:
    """Hours of an outage that the BI coverage pays."""
    if outage_hours <= 0:
        return ZERO
    if mode == "trigger":
        return min(outage_hours, indemnity) if outage_hours > waiting else ZERO
    return min(max(outage_hours - waiting, ZERO), indemnity)


def _allocate(total: Decimal, amounts: list[Decimal]) -> list[Decimal]:
    """Take `total` from the amounts in order, each giving at most what it has."""
    out = []
    left = total
    for amount in amounts:
        take = min(amount, left)
        out.append(take)
        left -= take
    return out


def apply_terms(
    terms: PolicyTerms, losses: ClaimLosses, aggregate_used: Decimal = ZERO
) -> ClaimOutcome:
    """Apply the policy's terms to one claim, `aggregate_used` having been paid earlier in the year."""
    ground_up: dict[str, Decimal] = {c: ZERO for c in COVERAGES}
    covered: dict[str, Decimal] = {c: ZERO for c in COVERAGES}
    for code, amount in losses.amounts.items():
        if code not in ground_up:
            raise ValueError(f"unknown coverage {code!r}")
        if code == "business_interruption":
            raise ValueError("business interruption losses are given as hours x hourly loss")
        ground_up[code] += amount
        covered[code] += amount
    if losses.bi_hours > 0 and losses.bi_hourly_loss > 0:
        hours = bi_covered_hours(
            losses.bi_hours,
            terms.waiting_period_hours,
            terms.waiting_period_mode,
            terms.indemnity_period_hours,
        )
        ground_up["business_interruption"] = cents(losses.bi_hours * losses.bi_hourly_loss)
        covered["business_interruption"] = cents(hours * losses.bi_hourly_loss)

    after_sub: list[Decimal] = []
    sub_ded: list[Decimal] = []
    sub_cut: list[Decimal] = []
    for code in COVERAGES:
        cov = terms.coverages.get(code)
        x = covered[code]
        if cov is None:  # coverage not bought: nothing payable
            sub_ded.append(ZERO)
            sub_cut.append(x)
            after_sub.append(ZERO)
            continue
        d = min(x, cov.sub_deductible)
        y = x - d
        cut = max(y - cov.limit, ZERO)
        sub_ded.append(d)
        sub_cut.append(cut)
        after_sub.append(y - cut)

    total = sum(after_sub, ZERO)
    ded = _allocate(min(terms.deductible, total), after_sub)
    net = [a - d for a, d in zip(after_sub, ded, strict=True)]
    remaining = max(terms.aggregate_limit - aggregate_used, ZERO)
    excess = max(sum(net, ZERO) - remaining, ZERO)
    # the aggregate cut takes from the last coverages first, so what is paid follows the order
    cut_rev = _allocate(excess, net[::-1])[::-1]
    lines = []
    for i, code in enumerate(COVERAGES):
        lines.append(
            CoverageOutcome(
                coverage=code,
                ground_up=ground_up[code],
                covered_before_terms=covered[code],
                sub_deductible=sub_ded[i],
                sub_limit_cut=sub_cut[i],
                deductible=ded[i],
                aggregate_cut=cut_rev[i],
                payable=net[i] - cut_rev[i],
            )
        )
    payable = sum((line.payable for line in lines), ZERO)
    return ClaimOutcome(
        lines=tuple(lines), payable=payable, aggregate_used_after=aggregate_used + payable
    )
