"""The fused numba kernel of one block of simulated years.

Policy by policy, it draws the independent claims as a Poisson process over the block (exponential
gaps at the policy's total rate, each claim's coverage marked in proportion to the coverages'
frequencies: the same law as independent Poisson processes per coverage), draws each claim's
lognormal severity, merges them in time order with the policy's systemic claims, applies the terms
(`egide.actuarial.terms_vec` helpers: BI periods, sub-deductible, sub-limit, deductible, then the
annual aggregate in time order) and adds what is paid to the block's year loss table. Nothing of
the size of the events is kept unless asked (`keep` > 0), so memory stays flat.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from egide.actuarial.terms_vec import aggregate_cut, bi_money, claim_net, single_net

# columns of the year loss table
TOTAL = 0
SYSTEMIC = 1
INDEPENDENT = 2
INDEPENDENT_BEFORE_AGGREGATE = (
    3  # each independent claim capped at the aggregate, no annual sharing
)
MAX_OCCURRENCE = 4  # the largest independent claim of the year (systemic events added afterwards)
COVERAGE0 = 5  # six columns, COVERAGES order
KIND0 = 11  # one column per kind of establishment
N_FIXED = 11


@njit(cache=True, nogil=True)
def block_kernel(
    rng: Any,
    n_years: int,
    freq: Any,
    mu: Any,
    sigma: Any,
    sub_ded: Any,
    sub_lim: Any,
    deductible: Any,
    aggregate: Any,
    hourly: Any,
    wait: Any,
    indemnity: Any,
    trigger: Any,
    kind: Any,
    sys_start: Any,
    sys_t: Any,
    sys_event: Any,
    sys_x: Any,
    sys_loss: Any,
    ylt: Any,
    keep: int,
    ev_policy: Any,
    ev_t: Any,
    ev_event: Any,
    ev_gu: Any,
    ev_pay: Any,
) -> int:  # pragma: no cover - compiled
    """Simulate one block; returns the number of claims (recorded when `keep` > 0)."""
    n_pol, n_cov = freq.shape
    horizon = float(n_years)
    buf = np.empty(n_cov)
    out = np.empty(n_cov)
    count = 0
    for p in range(n_pol):
        rate = 0.0
        nonzero = 0
        only = 0
        for k in range(n_cov):
            if freq[p, k] > 0.0:
                rate += freq[p, k]
                nonzero += 1
                only = k
        t_ind = rng.standard_exponential() / rate if rate > 0.0 else np.inf
        j = sys_start[p]
        j_end = sys_start[p + 1]
        cur_year = -1
        used = 0.0
        agg = aggregate[p]
        kp = KIND0 + kind[p]
        while True:
            t_sys = sys_t[j] if j < j_end else np.inf
            if t_ind >= horizon and j >= j_end:
                break
            if t_ind < horizon and t_ind <= t_sys:
                t = t_ind
                # an independent claim: one coverage
                if nonzero == 1:
                    k = only
                else:
                    u = rng.random() * rate
                    k = 0
                    acc = freq[p, 0]
                    while u >= acc and k < n_cov - 1:
                        k += 1
                        acc += freq[p, k]
                    if freq[p, k] <= 0.0:  # rounding at the top end: the last coverage drawn
                        k = only
                x = np.exp(mu[p, k] + sigma[p, k] * rng.standard_normal())
                c = bi_money(x, hourly[p], wait[p], indemnity[p], trigger[p]) if k == 0 else x
                net = single_net(c, sub_ded[p, k], sub_lim[p, k], deductible[p])
                year = int(t)
                if year != cur_year:
                    cur_year = year
                    used = 0.0
                pay = min(net, max(agg - used, 0.0))
                used += pay
                ylt[year, TOTAL] += pay
                ylt[year, INDEPENDENT] += pay
                ylt[year, INDEPENDENT_BEFORE_AGGREGATE] += min(net, agg)
                if pay > ylt[year, MAX_OCCURRENCE]:
                    ylt[year, MAX_OCCURRENCE] = pay
                ylt[year, COVERAGE0 + k] += pay
                ylt[year, kp] += pay
                if keep > 0 and count < keep:
                    ev_policy[count] = p
                    ev_t[count] = t
                    ev_event[count] = -1
                    for kk in range(n_cov):
                        ev_gu[count, kk] = 0.0
                        ev_pay[count, kk] = 0.0
                    ev_gu[count, k] = x
                    ev_pay[count, k] = pay
                count += 1
                t_ind += rng.standard_exponential() / rate
            else:
                t = t_sys
                for kk in range(n_cov):
                    buf[kk] = sys_x[j, kk]
                buf[0] = bi_money(sys_x[j, 0], hourly[p], wait[p], indemnity[p], trigger[p])
                total = claim_net(buf, sub_ded[p], sub_lim[p], deductible[p], out)
                year = int(t)
                if year != cur_year:
                    cur_year = year
                    used = 0.0
                pay = aggregate_cut(out, total, max(agg - used, 0.0))
                used += pay
                ylt[year, TOTAL] += pay
                ylt[year, SYSTEMIC] += pay
                for kk in range(n_cov):
                    ylt[year, COVERAGE0 + kk] += out[kk]
                ylt[year, kp] += pay
                sys_loss[sys_event[j]] += pay
                if keep > 0 and count < keep:
                    ev_policy[count] = p
                    ev_t[count] = t
                    ev_event[count] = sys_event[j]
                    for kk in range(n_cov):
                        ev_gu[count, kk] = sys_x[j, kk]
                        ev_pay[count, kk] = out[kk]
                count += 1
                j += 1
    return count


@njit(cache=True, nogil=True)
def incident_block_kernel(
    rng: Any,
    n_years: int,
    inc_rate: Any,
    inc_fixed: Any,
    inc_median: Any,
    inc_sigma: Any,
    inc_cap: Any,
    sub_ded: Any,
    sub_lim: Any,
    deductible: Any,
    aggregate: Any,
    hourly: Any,
    wait: Any,
    indemnity: Any,
    trigger: Any,
    kind: Any,
    sys_start: Any,
    sys_t: Any,
    sys_event: Any,
    sys_x: Any,
    sys_loss: Any,
    ylt: Any,
    keep: int,
    ev_policy: Any,
    ev_t: Any,
    ev_event: Any,
    ev_gu: Any,
    ev_pay: Any,
) -> int:  # pragma: no cover - compiled
    """Risk model v2: as `block_kernel`, but each independent claim is one incident (its type
    drawn in proportion to the types' rates) whose costs on every coverage it triggers come from
    one standard normal z (fixed + median e^(sigma z), at most cap; BI in hours); the terms apply
    to the whole incident at once (one deductible), then the annual aggregate in time order."""
    n_pol, n_inc = inc_rate.shape
    n_cov = inc_median.shape[2]
    horizon = float(n_years)
    buf = np.empty(n_cov)
    gu = np.empty(n_cov)
    out = np.empty(n_cov)
    count = 0
    for p in range(n_pol):
        rate = 0.0
        last = 0
        for i in range(n_inc):
            if inc_rate[p, i] > 0.0:
                rate += inc_rate[p, i]
                last = i
        t_ind = rng.standard_exponential() / rate if rate > 0.0 else np.inf
        j = sys_start[p]
        j_end = sys_start[p + 1]
        cur_year = -1
        used = 0.0
        agg = aggregate[p]
        kp = KIND0 + kind[p]
        while True:
            t_sys = sys_t[j] if j < j_end else np.inf
            if t_ind >= horizon and j >= j_end:
                break
            if t_ind < horizon and t_ind <= t_sys:
                t = t_ind
                u = rng.random() * rate
                i = 0
                acc = inc_rate[p, 0]
                while u >= acc and i < n_inc - 1:
                    i += 1
                    acc += inc_rate[p, i]
                if inc_rate[p, i] <= 0.0:
                    i = last
                z = rng.standard_normal()
                for kk in range(n_cov):
                    m = inc_median[p, i, kk]
                    x = inc_fixed[p, i, kk]
                    if m > 0.0:
                        x += m * np.exp(inc_sigma[p, i, kk] * z)
                    x = min(x, inc_cap[p, i, kk])
                    gu[kk] = x
                    buf[kk] = x
                buf[0] = bi_money(gu[0], hourly[p], wait[p], indemnity[p], trigger[p])
                net = claim_net(buf, sub_ded[p], sub_lim[p], deductible[p], out)
                year = int(t)
                if year != cur_year:
                    cur_year = year
                    used = 0.0
                pay = aggregate_cut(out, net, max(agg - used, 0.0))
                used += pay
                ylt[year, TOTAL] += pay
                ylt[year, INDEPENDENT] += pay
                ylt[year, INDEPENDENT_BEFORE_AGGREGATE] += min(net, agg)
                if pay > ylt[year, MAX_OCCURRENCE]:
                    ylt[year, MAX_OCCURRENCE] = pay
                for kk in range(n_cov):
                    ylt[year, COVERAGE0 + kk] += out[kk]
                ylt[year, kp] += pay
                if keep > 0 and count < keep:
                    ev_policy[count] = p
                    ev_t[count] = t
                    ev_event[count] = -1
                    for kk in range(n_cov):
                        ev_gu[count, kk] = gu[kk]
                        ev_pay[count, kk] = out[kk]
                count += 1
                t_ind += rng.standard_exponential() / rate
            else:
                t = t_sys
                for kk in range(n_cov):
                    buf[kk] = sys_x[j, kk]
                buf[0] = bi_money(sys_x[j, 0], hourly[p], wait[p], indemnity[p], trigger[p])
                total = claim_net(buf, sub_ded[p], sub_lim[p], deductible[p], out)
                year = int(t)
                if year != cur_year:
                    cur_year = year
                    used = 0.0
                pay = aggregate_cut(out, total, max(agg - used, 0.0))
                used += pay
                ylt[year, TOTAL] += pay
                ylt[year, SYSTEMIC] += pay
                for kk in range(n_cov):
                    ylt[year, COVERAGE0 + kk] += out[kk]
                ylt[year, kp] += pay
                sys_loss[sys_event[j]] += pay
                if keep > 0 and count < keep:
                    ev_policy[count] = p
                    ev_t[count] = t
                    ev_event[count] = sys_event[j]
                    for kk in range(n_cov):
                        ev_gu[count, kk] = sys_x[j, kk]
                        ev_pay[count, kk] = out[kk]
                count += 1
                j += 1
    return count
