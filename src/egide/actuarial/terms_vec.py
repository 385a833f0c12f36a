"""Policy terms on arrays of simulated claims: the semantics of `egide.domain.terms.apply_terms`.

`egide.domain.terms` is the one definition, in Decimal, for a real claim. Here the same rules run
on arrays of events (one event = one claim of one policy, with ground-up losses on the six
coverages in `COVERAGES` order; business interruption given as outage HOURS, which the policy's
hourly loss turns into euros):

1. BI: covered hours after the waiting period (``time_deductible``: the first hours never paid;
   ``trigger``: paid from hour 0 once the outage exceeds the wait), within the indemnity period,
   times the hourly loss.
2. Each coverage: sub-deductible, then sub-limit (per claim). A coverage not bought has a
   sub-limit of 0.
3. The policy deductible once per claim, allocated in coverage order.
4. The annual aggregate, shared by the claims of one policy-year in time order; the cut is
   allocated from the last coverage backwards (what is paid follows the coverage order).

Two implementations of the same rules, held equal to the Decimal one by
``tests/test_terms_equivalence.py``:

- `apply_terms_vec`: plain NumPy, whole-array steps, the aggregate by cumulative sums within
  (year, policy) groups after sorting — the readable reference;
- `apply_terms_events`: the numba kernel the simulation engine runs (`claim_net` and
  `single_net` are the per-claim helpers its fused loop calls).

The Decimal side rounds the BI amount to the cent; these do not round (floats), so they agree to
within a cent per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from egide.domain.product import COVERAGES
from egide.domain.terms import PolicyTerms

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

N_COV = len(COVERAGES)
BI = COVERAGES.index("business_interruption")
assert BI == 0  # the kernels take column 0 as BI hours


@dataclass(frozen=True)
class TermsArrays:
    """The terms of P policies as arrays (one row per policy, coverages in `COVERAGES` order)."""

    sub_deductible: F64  # (P, 6)
    sub_limit: F64  # (P, 6); 0 for a coverage not bought
    deductible: F64  # (P,)
    aggregate: F64  # (P,)
    hourly_loss: F64  # (P,) EUR per hour of BI outage
    waiting_hours: F64  # (P,)
    indemnity_hours: F64  # (P,)
    trigger: BOOL  # (P,) True: waiting period as a trigger; False: as a time deductible

    @property
    def n_policies(self) -> int:
        return int(self.deductible.shape[0])

    @staticmethod
    def from_policy_terms(terms: list[PolicyTerms], hourly_loss: list[float]) -> TermsArrays:
        """Arrays of the Decimal terms of each policy (and its BI hourly loss)."""
        n = len(terms)
        sub_ded = np.zeros((n, N_COV))
        sub_lim = np.zeros((n, N_COV))
        for i, t in enumerate(terms):
            for k, code in enumerate(COVERAGES):
                cov = t.coverages.get(code)
                if cov is not None:
                    sub_ded[i, k] = float(cov.sub_deductible)
                    sub_lim[i, k] = float(cov.limit)
        return TermsArrays(
            sub_deductible=sub_ded,
            sub_limit=sub_lim,
            deductible=np.array([float(t.deductible) for t in terms], dtype=np.float64),
            aggregate=np.array([float(t.aggregate_limit) for t in terms], dtype=np.float64),
            hourly_loss=np.asarray(hourly_loss, dtype=np.float64).reshape(n),
            waiting_hours=np.array([float(t.waiting_period_hours) for t in terms]),
            indemnity_hours=np.array([float(t.indemnity_period_hours) for t in terms]),
            trigger=np.array([t.waiting_period_mode == "trigger" for t in terms], dtype=np.bool_),
        )

    def subset(self, index: I64) -> TermsArrays:
        return TermsArrays(
            sub_deductible=self.sub_deductible[index],
            sub_limit=self.sub_limit[index],
            deductible=self.deductible[index],
            aggregate=self.aggregate[index],
            hourly_loss=self.hourly_loss[index],
            waiting_hours=self.waiting_hours[index],
            indemnity_hours=self.indemnity_hours[index],
            trigger=self.trigger[index],
        )


@dataclass(frozen=True)
class TermsResult:
    """Per event (in the caller's order): what each coverage pays, before and after the aggregate
    cut."""

    covered: F64  # (n, 6) after the BI periods (BI in EUR), before any deductible or limit
    before_aggregate: F64  # (n, 6) after sub-deductibles, sub-limits and the policy deductible
    payable: F64  # (n, 6) after the annual aggregate

    @property
    def payable_total(self) -> F64:
        total: F64 = self.payable.sum(axis=1)
        return total


def _check(policy: I64, year: I64, time: F64, ground_up: F64, terms: TermsArrays) -> None:
    n = ground_up.shape[0]
    if ground_up.ndim != 2 or ground_up.shape[1] != N_COV:
        raise ValueError(f"ground_up must have shape (n_events, {N_COV})")
    if policy.shape != (n,) or year.shape != (n,) or time.shape != (n,):
        raise ValueError("policy, year and time must have one value per event")
    if n and (policy.min() < 0 or policy.max() >= terms.n_policies):
        raise ValueError("policy index out of range")


# --------------------------------------------------------------------------- NumPy reference


def bi_covered_money(hours: F64, policy: I64, terms: TermsArrays) -> F64:
    """Covered BI euros of outages of `hours` (waiting period, indemnity period, hourly loss)."""
    wait = terms.waiting_hours[policy]
    ind = terms.indemnity_hours[policy]
    rate = terms.hourly_loss[policy]
    trig = np.where(hours > wait, np.minimum(hours, ind), 0.0)
    tded = np.minimum(np.maximum(hours - wait, 0.0), ind)
    covered_hours = np.where(terms.trigger[policy], trig, tded)
    return np.where((hours > 0) & (rate > 0), covered_hours * rate, 0.0)


def apply_terms_vec(
    terms: TermsArrays, policy: I64, year: I64, time: F64, ground_up: F64
) -> TermsResult:
    """The terms on n events, whole-array NumPy steps (see the module docstring).

    `ground_up[:, 0]` is BI outage hours, the other columns euros. Events of one (year, policy)
    share the aggregate in increasing `time` (ties: the given order).
    """
    policy = np.asarray(policy, dtype=np.int64)
    year = np.asarray(year, dtype=np.int64)
    time = np.asarray(time, dtype=np.float64)
    ground_up = np.asarray(ground_up, dtype=np.float64)
    _check(policy, year, time, ground_up, terms)
    covered = ground_up.copy()
    covered[:, BI] = bi_covered_money(ground_up[:, BI], policy, terms)
    after_sub = np.minimum(
        np.maximum(covered - terms.sub_deductible[policy], 0.0), terms.sub_limit[policy]
    )
    total = after_sub.sum(axis=1)
    ded = np.minimum(terms.deductible[policy], total)
    before = np.cumsum(after_sub, axis=1) - after_sub  # what earlier coverages hold
    taken = np.minimum(after_sub, np.maximum(ded[:, None] - before, 0.0))
    net = after_sub - taken
    net_total = net.sum(axis=1)

    # the aggregate: cumulative payments within each (year, policy), in time order
    order = np.lexsort((np.arange(len(time)), time, policy, year))
    x = net_total[order]
    cum = np.cumsum(x)
    key_y, key_p = year[order], policy[order]
    start = np.ones(len(x), dtype=np.bool_)
    start[1:] = (key_y[1:] != key_y[:-1]) | (key_p[1:] != key_p[:-1])
    group = np.cumsum(start) - 1
    offsets = (cum - x)[start]  # cumulative sum before each group's first event
    s = cum - offsets[group]  # cumulative net within the group, this event included
    agg = terms.aggregate[policy][order]
    paid = np.minimum(s, agg) - np.minimum(s - x, agg)
    payable_total = np.empty_like(net_total)
    payable_total[order] = np.clip(paid, 0.0, x)
    excess = net_total - payable_total
    after = np.cumsum(net[:, ::-1], axis=1)[:, ::-1] - net  # what later coverages hold
    cut = np.minimum(net, np.maximum(excess[:, None] - after, 0.0))
    return TermsResult(covered=covered, before_aggregate=net, payable=net - cut)


# --------------------------------------------------------------------------- numba kernels


@njit(cache=True, nogil=True)
def bi_money(
    hours: float, rate: float, wait: float, indemnity: float, trigger: bool
) -> float:  # pragma: no cover - compiled
    if hours <= 0.0 or rate <= 0.0:
        return 0.0
    if trigger:
        return min(hours, indemnity) * rate if hours > wait else 0.0
    return min(max(hours - wait, 0.0), indemnity) * rate


@njit(cache=True, nogil=True)
def claim_net(
    covered: Any, sub_ded: Any, sub_lim: Any, deductible: float, out: Any
) -> float:  # pragma: no cover - compiled
    """Steps 2-3 on one claim: `out` receives each coverage's net; returns their sum."""
    total = 0.0
    for k in range(covered.shape[0]):
        y = min(max(covered[k] - sub_ded[k], 0.0), sub_lim[k])
        out[k] = y
        total += y
    left = min(deductible, total)
    for k in range(covered.shape[0]):
        take = min(out[k], left)
        out[k] -= take
        left -= take
        total -= take
    return max(total, 0.0)


@njit(cache=True, nogil=True)
def aggregate_cut(net: Any, net_total: float, remaining: float) -> float:  # pragma: no cover
    """Step 4 on one claim: cap at the remaining aggregate, cut from the last coverage back."""
    excess = net_total - remaining
    if excess <= 0.0:
        return net_total
    for k in range(net.shape[0] - 1, -1, -1):
        take = min(net[k], excess)
        net[k] -= take
        excess -= take
    return min(net_total, remaining)


@njit(cache=True, nogil=True)
def single_net(
    x: float, sub_ded: float, sub_lim: float, deductible: float
) -> float:  # pragma: no cover - compiled
    """Steps 2-3 on a claim with one coverage only (the others at 0): same result, fewer steps."""
    y = min(max(x - sub_ded, 0.0), sub_lim)
    return y - min(deductible, y)


@njit(cache=True, nogil=True)
def _events_kernel(
    order: Any,
    policy: Any,
    year: Any,
    gu: Any,
    sub_ded: Any,
    sub_lim: Any,
    deductible: Any,
    aggregate: Any,
    hourly: Any,
    wait: Any,
    indemnity: Any,
    trigger: Any,
    covered: Any,
    before: Any,
    payable: Any,
) -> None:  # pragma: no cover - compiled
    n_cov = gu.shape[1]
    buf = np.empty(n_cov)
    cur_p = -1
    cur_y = -1
    used = 0.0
    for idx in range(order.shape[0]):
        i = order[idx]
        p = policy[i]
        if p != cur_p or year[i] != cur_y:
            cur_p = p
            cur_y = year[i]
            used = 0.0
        for k in range(n_cov):
            buf[k] = gu[i, k]
        buf[0] = bi_money(gu[i, 0], hourly[p], wait[p], indemnity[p], trigger[p])
        for k in range(n_cov):
            covered[i, k] = buf[k]
        out = payable[i]
        total = claim_net(buf, sub_ded[p], sub_lim[p], deductible[p], out)
        for k in range(n_cov):
            before[i, k] = out[k]
        paid = aggregate_cut(out, total, max(aggregate[p] - used, 0.0))
        used += paid


def apply_terms_events(
    terms: TermsArrays, policy: I64, year: I64, time: F64, ground_up: F64
) -> TermsResult:
    """The same as `apply_terms_vec`, by the numba kernel the simulation engine uses."""
    policy = np.ascontiguousarray(policy, dtype=np.int64)
    year = np.ascontiguousarray(year, dtype=np.int64)
    time = np.ascontiguousarray(time, dtype=np.float64)
    ground_up = np.ascontiguousarray(ground_up, dtype=np.float64)
    _check(policy, year, time, ground_up, terms)
    n = len(policy)
    order = np.lexsort((np.arange(n), time, year, policy)).astype(np.int64)
    covered = np.zeros((n, N_COV))
    before = np.zeros((n, N_COV))
    payable = np.zeros((n, N_COV))
    _events_kernel(
        order,
        policy,
        year,
        ground_up,
        terms.sub_deductible,
        terms.sub_limit,
        terms.deductible,
        terms.aggregate,
        terms.hourly_loss,
        terms.waiting_hours,
        terms.indemnity_hours,
        terms.trigger,
        covered,
        before,
        payable,
    )
    return TermsResult(covered=covered, before_aggregate=before, payable=payable)
