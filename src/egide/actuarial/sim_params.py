"""The rating model's parameters for a whole book at once, as arrays.

`egide.domain.rating.risk_profile`, `policy_terms` and `expected_claim_payment` are the one
definition, in plain Python, one application at a time: about 0.25 ms each, 25 s for a book of
100 000. Here the same formulas run on arrays (one Python pass to read the applications, then
NumPy), in well under a second. ``tests/test_portfolio_engine.py`` holds these arrays equal to the
rating engine's, policy by policy (to float rounding), on random books.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.special import erfc

from egide.actuarial.book import BookEntry
from egide.actuarial.terms_vec import TermsArrays
from egide.domain.product import COVERAGES, INCIDENTS, KINDS, Product
from egide.domain.rating import HOURS_PER_YEAR, RECORDS_UNIT, REVENUE_UNIT

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
N_COV = len(COVERAGES)
BI = COVERAGES.index("business_interruption")
HISTORY_RANSOMWARE = ("cyber_extortion", "business_interruption", "data_restoration")


def _norm_cdf(x: F64) -> F64:
    out: F64 = 0.5 * erfc(-x / math.sqrt(2.0))
    return out


def _lev(mu: F64, sigma: F64, u: F64) -> F64:
    """E[min(X, u)] elementwise (u may be inf or <= 0), as `egide.domain.lognormal.lev`."""
    mean = np.exp(mu + 0.5 * sigma * sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.where(u > 0, u, 1.0)) - mu) / sigma
        finite = mean * _norm_cdf(z - sigma) + u * (1.0 - _norm_cdf(z))
    out: F64 = np.where(u <= 0, 0.0, np.where(np.isinf(u), mean, finite))
    return out


def _layer(mu: F64, sigma: F64, attachment: F64, width: F64) -> F64:
    value = np.maximum(_lev(mu, sigma, attachment + width) - _lev(mu, sigma, attachment), 0.0)
    out: F64 = np.where(width <= 0, 0.0, value)
    return out


def _survival(mu: F64, sigma: F64, t: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.0 - _norm_cdf((np.log(np.where(t > 0, t, 1.0)) - mu) / sigma)
    out: F64 = np.where(t <= 0, 1.0, np.where(np.isinf(t), 0.0, s))
    return out


def _partial(mu: F64, sigma: F64, t: F64) -> F64:
    mean = np.exp(mu + 0.5 * sigma * sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = mean * _norm_cdf((np.log(np.where(t > 0, t, 1.0)) - mu) / sigma - sigma)
    out: F64 = np.where(t <= 0, 0.0, np.where(np.isinf(t), mean, p))
    return out


def _layer_above_trigger(mu: F64, sigma: F64, a: F64, w: F64, trig: F64) -> F64:
    """As `egide.domain.lognormal.layer_above_trigger`, elementwise."""
    top = a + w
    plain = _layer(mu, sigma, a, w)
    above_top = w * _survival(mu, sigma, trig)
    between = np.maximum(
        _lev(mu, sigma, top) - _partial(mu, sigma, trig) - a * _survival(mu, sigma, trig), 0.0
    )
    out: F64 = np.where(
        w <= 0, 0.0, np.where(trig <= a, plain, np.where(trig >= top, above_top, between))
    )
    return out


@dataclass(frozen=True)
class PolicyInputs:
    """What the rating formulas read of each policy, one row per policy (book order).

    `policy_inputs` reads it from book entries; `egide.actuarial.oed_columns` builds it straight
    from an OED file's columns. `parameters` computes the same arrays from either."""

    kind: I64  # (P,) index into KINDS
    revenue: F64  # (P,) annual revenue, EUR
    records: F64  # (P,) patient records
    missing: npt.NDArray[np.bool_]  # (P, rated controls) the control is missing
    graded: F64  # (P, graded controls) the graded answer (patch days, budget share)
    incidents: F64  # (P,)
    ransomware: F64  # (P,)
    limit: F64  # (P,) annual aggregate
    deductible: F64  # (P,)
    sublimit: F64  # (P, 6) the chosen sub-limit, NaN when none is chosen

    @property
    def n_policies(self) -> int:
        return int(self.kind.shape[0])


def policy_inputs(entries: Sequence[BookEntry], product: Product) -> PolicyInputs:
    """The rating inputs of each entry's application."""
    model = product.risk_model
    n = len(entries)
    kind_index = {k: i for i, k in enumerate(KINDS)}
    controls = list(model.controls.values())
    graded = list(model.graded.values())
    kind = np.empty(n, dtype=np.int64)
    revenue = np.empty(n)
    records = np.empty(n)
    missing = np.zeros((n, len(controls)), dtype=np.bool_)
    graded_value = np.empty((n, len(graded)))
    incidents = np.empty(n)
    ransomware = np.empty(n)
    limit = np.empty(n)
    deductible = np.empty(n)
    sublimit = np.full((n, N_COV), np.nan)
    for i, entry in enumerate(entries):
        app = entry.application
        e, s, h, c = app.establishment, app.security, app.history, app.cover
        kind[i] = kind_index[e.type]
        revenue[i] = float(e.annual_revenue)
        records[i] = e.patient_records
        for j, control in enumerate(controls):
            value = getattr(s, control.code)
            present = (
                True if control.code == "medical_devices_segmented" and value is None else value
            )
            missing[i, j] = not present
        for j, g in enumerate(graded):
            graded_value[i, j] = float(getattr(s, g.code))
        incidents[i] = h.incidents_last_5_years
        ransomware[i] = h.ransomware_last_5_years
        limit[i] = float(c.limit)
        deductible[i] = float(c.deductible)
        for code, amount in c.sublimits.items():
            sublimit[i, COVERAGES.index(code)] = float(amount)
    return PolicyInputs(
        kind=kind,
        revenue=revenue,
        records=records,
        missing=missing,
        graded=graded_value,
        incidents=incidents,
        ransomware=ransomware,
        limit=limit,
        deductible=deductible,
        sublimit=sublimit,
    )


def book_parameters(
    entries: Sequence[BookEntry], product: Product
) -> tuple[F64, F64, F64, TermsArrays, F64]:
    """(frequency, mu, sigma, terms, expected loss per policy) of every policy of the book:
    `risk_profile`, `policy_terms` and frequency x `expected_claim_payment`, on arrays."""
    return parameters(policy_inputs(entries, product), product)


def parameters(inputs: PolicyInputs, product: Product) -> tuple[F64, F64, F64, TermsArrays, F64]:
    """`book_parameters` from the rating inputs of the policies."""
    model = product.risk_model
    n = inputs.n_policies
    controls = list(model.controls.values())
    graded = list(model.graded.values())
    kind, revenue, records = inputs.kind, inputs.revenue, inputs.records
    missing, graded_value = inputs.missing, inputs.graded
    incidents, ransomware = inputs.incidents, inputs.ransomware
    limit, deductible = inputs.limit, inputs.deductible

    def per_kind(attr: str) -> F64:
        return np.array([float(getattr(model.kinds[k], attr)) for k in KINDS])[kind]

    cap = float(model.max_size_ratio)
    ratio = np.minimum(np.maximum(revenue / per_kind("reference_revenue"), 1.0 / cap), cap)
    size_factor = ratio ** float(model.frequency_size_exponent)

    freq = np.empty((n, N_COV))
    mu = np.empty((n, N_COV))
    sigma = np.empty((n, N_COV))
    for k, cov in enumerate(COVERAGES):
        freq_mult = size_factor.copy()
        sev_mult = np.ones(n)
        for j, control in enumerate(controls):
            if cov in control.frequency:
                freq_mult = np.where(
                    missing[:, j], freq_mult * float(control.frequency[cov]), freq_mult
                )
            if cov in control.severity:
                sev_mult = np.where(
                    missing[:, j], sev_mult * float(control.severity[cov]), sev_mult
                )
        for j, g in enumerate(graded):
            if cov not in g.applies_to:
                continue
            badness = np.clip((graded_value[:, j] - float(g.good)) / float(g.bad - g.good), 0, 1)
            factor = 1.0 + badness * (float(g.worst_factor) - 1.0)
            freq_mult = np.where(badness > 0, freq_mult * factor, freq_mult)
        hist = 1.0 + float(model.incident_factor) * incidents
        if cov in HISTORY_RANSOMWARE:
            hist = hist + float(model.ransomware_factor) * ransomware
        hist = np.minimum(hist, float(model.history_max_factor))
        freq_mult = np.where(hist > 1.0, freq_mult * hist, freq_mult)
        freq[:, k] = per_kind("base_frequency") * float(model.coverage_share[cov]) * freq_mult
        if cov == "business_interruption":
            mu[:, k] = np.log(per_kind("outage_median_hours") * sev_mult)
            sigma[:, k] = per_kind("outage_sigma")
            continue
        sev = model.severity[cov]
        exposure = revenue if sev.exposure == "revenue" else np.maximum(records, 1.0)
        scale = (exposure / float(sev.reference_exposure)) ** float(sev.exponent)
        mu[:, k] = np.log(float(sev.median) * scale * sev_mult)
        sigma[:, k] = float(sev.sigma)
    hourly = revenue * per_kind("gross_margin_rate") / per_kind("operating_hours")
    terms_arrays = _terms_arrays(inputs, product, hourly)
    sub_ded, sub_lim = terms_arrays.sub_deductible, terms_arrays.sub_limit

    # expected_claim_payment, coverage by coverage
    expected = np.zeros(n)
    for k, cov in enumerate(COVERAGES):
        sd, sl = sub_ded[:, k], sub_lim[:, k]
        if cov != "business_interruption":
            width = np.minimum(sl - deductible, limit)
            per_claim = _layer(mu[:, k], sigma[:, k], sd + deductible, width)
        else:
            r = hourly
            safe_r = np.where(r > 0, r, 1.0)
            mu_money = mu[:, k] + np.log(safe_r)
            wait_money = terms_arrays.waiting_hours * r
            period_money = terms_arrays.indemnity_hours * r
            width = np.minimum(period_money - sd, sl) - deductible
            if bool(terms_arrays.trigger[0]) if n else False:
                per_claim = _layer_above_trigger(
                    mu_money, sigma[:, k], sd + deductible, np.minimum(width, limit), wait_money
                )
            else:
                per_claim = _layer(
                    mu_money, sigma[:, k], wait_money + sd + deductible, np.minimum(width, limit)
                )
            per_claim = np.where(r > 0, per_claim, 0.0)
        expected += freq[:, k] * per_claim
    return freq, mu, sigma, terms_arrays, expected


def _terms_arrays(inputs: PolicyInputs, product: Product, hourly: F64) -> TermsArrays:
    """`policy_terms` on arrays, with the BI hourly loss of each policy."""
    n = inputs.n_policies
    limit, deductible, sublimit = inputs.limit, inputs.deductible, inputs.sublimit
    # policy_terms: sub-limit = the chosen one, else aggregate x default share; never above it
    sub_lim = np.empty((n, N_COV))
    sub_ded = np.empty((n, N_COV))
    for k, cov in enumerate(COVERAGES):
        terms = product.coverages[cov]
        chosen = np.where(
            np.isnan(sublimit[:, k]), limit * float(terms.default_limit_share), sublimit[:, k]
        )
        sub_lim[:, k] = np.round(np.minimum(chosen, limit), 2)
        sub_ded[:, k] = float(terms.sub_deductible)
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    return TermsArrays(
        sub_deductible=sub_ded,
        sub_limit=sub_lim,
        deductible=deductible,
        aggregate=limit,
        hourly_loss=hourly,
        waiting_hours=np.full(n, float(bi.waiting_period_hours)),
        indemnity_hours=np.full(n, float(bi.indemnity_period_days) * 24.0),
        trigger=np.full(n, (bi.waiting_period_mode or "time_deductible") == "trigger"),
    )


# --------------------------------------------------------------------------- risk model v2


@dataclass(frozen=True)
class IncidentArrays:
    """Risk model v2 for P policies: per incident type its yearly rate, and per (incident,
    coverage) the ground-up cost fixed + median x exp(sigma z), at most cap, z the incident's one
    standard normal (BI: median in outage hours, fixed 0). `egide.domain.rating.incident_profile`
    is the one definition; `incident_parameters` is it on arrays."""

    rate: F64  # (P, I) yearly frequency of each incident type, INCIDENTS order
    fixed: F64  # (P, I, 6)
    median: F64  # (P, I, 6), 0 where the incident does not trigger the coverage
    sigma: F64  # (P, I, 6)
    cap: F64  # (P, I, 6), inf when none

    def subset(self, index: I64) -> IncidentArrays:
        return IncidentArrays(
            self.rate[index],
            self.fixed[index],
            self.median[index],
            self.sigma[index],
            self.cap[index],
        )


def incident_parameters(
    inputs: PolicyInputs, product: Product
) -> tuple[IncidentArrays, TermsArrays, F64]:
    """(incidents, terms, expected loss per policy) under risk model v2, on arrays."""
    model = product.risk_model
    im = model.incident_model
    assert im is not None, "incident_parameters needs risk model v2"
    n = inputs.n_policies
    controls = list(model.controls.values())
    graded = list(model.graded.values())
    kind, revenue = inputs.kind, inputs.revenue
    records = np.maximum(inputs.records, 1.0)
    missing = inputs.missing

    def per_kind(values: list[float]) -> F64:
        return np.array(values)[kind]

    ref = per_kind([float(model.kinds[k].reference_revenue) for k in KINDS])
    cap_ratio = float(model.max_size_ratio)
    size = np.minimum(np.maximum(revenue / ref, 1.0 / cap_ratio), cap_ratio) ** float(
        model.frequency_size_exponent
    )
    sev_mult = np.ones((n, N_COV))
    for j, control in enumerate(controls):
        for cov, f in control.severity.items():
            k = COVERAGES.index(cov)
            sev_mult[:, k] = np.where(missing[:, j], sev_mult[:, k] * float(f), sev_mult[:, k])
    n_inc = len(INCIDENTS)
    rate = np.zeros((n, n_inc))
    fixed = np.zeros((n, n_inc, N_COV))
    median = np.zeros((n, n_inc, N_COV))
    sigma = np.zeros((n, n_inc, N_COV))
    cap = np.full((n, n_inc, N_COV), np.inf)
    rev_units = revenue / REVENUE_UNIT
    for i, code in enumerate(INCIDENTS):
        inc = im.incidents[code]
        mult = size.copy()
        for j, control in enumerate(controls):
            if code in control.frequency:
                mult = np.where(missing[:, j], mult * float(control.frequency[code]), mult)
        for j, g in enumerate(graded):
            if code not in g.applies_to:
                continue
            badness = np.clip((inputs.graded[:, j] - float(g.good)) / float(g.bad - g.good), 0, 1)
            mult = np.where(
                badness > 0, mult * (1.0 + badness * (float(g.worst_factor) - 1.0)), mult
            )
        hist = 1.0 + float(model.incident_factor) * inputs.incidents
        if inc.history == "ransomware":
            hist = hist + float(model.ransomware_factor) * inputs.ransomware
        hist = np.minimum(hist, float(model.history_max_factor))
        mult = np.where(hist > 1.0, mult * hist, mult)
        rate[:, i] = per_kind([float(im.frequency[k][code]) for k in KINDS]) * mult
        exposed = math.exp(float(inc.records_mu)) * records / float(inc.records_reference)
        for cov, cost in inc.costs.items():
            k = COVERAGES.index(cov)
            if cost.exposure == "outage_hours":
                hours = per_kind([float(im.outage_hours[kk][code]) for kk in KINDS])
                median[:, i, k] = hours * sev_mult[:, k]
                sigma[:, i, k] = float(inc.outage_sigma)
                continue
            fixed[:, i, k] = float(cost.fixed) * rev_units ** float(cost.fixed_exponent)
            b = float(cost.exponent)
            if cost.exposure == "revenue":
                median[:, i, k] = float(cost.median) * rev_units**b * sev_mult[:, k]
                sigma[:, i, k] = float(cost.sigma)
                continue
            unit = float(cost.median) * sev_mult[:, k]
            median[:, i, k] = unit * (exposed / RECORDS_UNIT) ** b
            sigma[:, i, k] = b * float(inc.records_sigma)
            cap[:, i, k] = fixed[:, i, k] + unit * (records / RECORDS_UNIT) ** b
    hourly = revenue * per_kind([float(model.kinds[k].gross_margin_rate) for k in KINDS])
    terms = _terms_arrays(inputs, product, hourly / HOURS_PER_YEAR)
    incidents = IncidentArrays(rate, fixed, median, sigma, cap)
    return incidents, terms, incident_expected_loss(incidents, terms)


def incident_components_vec(
    incidents: IncidentArrays, terms: TermsArrays, i: int
) -> tuple[F64, F64, F64, F64, F64]:
    """(a, b, k, t, l), each (P, 6): the payment of coverage k in incident i is
    min(max(a + b e^(kz) - t, 0), l) (as `egide.domain.rating.incident_components`)."""
    a = incidents.fixed[:, i, :].copy()
    b = incidents.median[:, i, :].copy()
    k = incidents.sigma[:, i, :].copy()
    sd, sl = terms.sub_deductible, terms.sub_limit
    t = sd.copy()
    lim = np.minimum(sl, np.maximum(incidents.cap[:, i, :] - sd, 0.0))
    r = terms.hourly_loss
    b[:, BI] = b[:, BI] * r
    t[:, BI] = terms.waiting_hours * r + sd[:, BI]
    lim[:, BI] = np.minimum(sl[:, BI], np.maximum(terms.indemnity_hours * r - sd[:, BI], 0.0))
    off = (b <= 0) & (a <= 0)  # not triggered
    lim = np.where(off, 0.0, lim)
    return a, b, k, t, lim


def incident_expected_loss(incidents: IncidentArrays, terms: TermsArrays) -> F64:
    """Per policy: sum over incident types of rate x E[payment of one incident] (one deductible,
    the aggregate as a cap on the claim), the closed form of `lognormal.comonotone_layer`."""
    total = np.zeros(terms.n_policies)
    for i in range(incidents.rate.shape[1]):
        a, b, k, t, lim = incident_components_vec(incidents, terms, i)
        paid = comonotone_layer_vec(a, b, k, t, lim, terms.deductible, terms.aggregate)
        total += incidents.rate[:, i] * paid
    return total


def comonotone_layer_vec(a: F64, b: F64, k: F64, t: F64, lim: F64, ded: F64, agg: F64) -> F64:
    """`egide.domain.lognormal.comonotone_layer` row by row: components (n, m), D and A (n,).
    The same algorithm compiled (numba), one row at a time."""
    n = a.shape[0]
    out = np.empty(n)
    _layer_rows(
        np.ascontiguousarray(a, dtype=np.float64),
        np.ascontiguousarray(b, dtype=np.float64),
        np.ascontiguousarray(k, dtype=np.float64),
        np.ascontiguousarray(t, dtype=np.float64),
        np.ascontiguousarray(lim, dtype=np.float64),
        np.ascontiguousarray(ded, dtype=np.float64),
        np.ascontiguousarray(agg, dtype=np.float64),
        out,
    )
    return out


@njit(cache=True, nogil=True)
def _phi(x: float) -> float:  # pragma: no cover - compiled
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True, nogil=True)
def _seg_value(
    const: float, vb: Any, vk: Any, active: Any, z: float
) -> float:  # pragma: no cover - compiled
    v = const
    for j in range(vb.shape[0]):
        if active[j]:
            v += vb[j] * math.exp(vk[j] * z)
    return v


@njit(cache=True, nogil=True)
def _seg_solve(
    const: float, vb: Any, vk: Any, active: Any, target: float, lo: float, hi: float
) -> float:  # pragma: no cover - compiled
    """As `lognormal._solve`: Newton from above on a convex increasing sum."""
    any_active = False
    for j in range(vb.shape[0]):
        any_active = any_active or active[j]
    if not any_active:
        return lo
    z = hi if math.isfinite(hi) else (max(lo, 0.0) if math.isfinite(lo) else 0.0) + 1.0
    step = 1.0
    while _seg_value(const, vb, vk, active, z) < target:
        z += step
        step *= 2.0
    for _ in range(200):
        f = _seg_value(const, vb, vk, active, z) - target
        d = 0.0
        for j in range(vb.shape[0]):
            if active[j]:
                d += vb[j] * vk[j] * math.exp(vk[j] * z)
        new = z - f / d
        if math.isfinite(lo) and new < lo:
            new = lo
        if abs(new - z) <= 1e-13 * max(1.0, abs(z)):
            return new
        z = new
    return z


@njit(cache=True, nogil=True)
def _layer_rows(a: Any, b: Any, k: Any, t: Any, lim: Any, ded: Any, agg: Any, out: Any) -> None:
    """`lognormal.comonotone_layer` on each row (same steps, compiled)."""  # pragma: no cover
    n, m = a.shape
    inf = np.inf
    # work arrays, allocated once: the variable components, the sorted break points, the edges
    va = np.empty(m)
    vb = np.empty(m)
    vk = np.empty(m)
    vt = np.empty(m)
    vl = np.empty(m)
    vlo = np.empty(m)
    vhi = np.empty(m)
    all_edges = np.empty(2 * m + 2)
    all_const = np.empty(2 * m + 1)
    all_active = np.zeros((2 * m + 1, m), dtype=np.bool_)
    for r in range(n):
        if agg[r] <= 0.0:
            out[r] = 0.0
            continue
        base = 0.0
        nv = 0
        for j in range(m):
            aj, bj, kj, tj, lj = a[r, j], b[r, j], k[r, j], t[r, j], lim[r, j]
            if lj <= 0.0:
                continue
            if bj <= 0.0 or kj <= 0.0:
                base += min(max(aj + bj - tj, 0.0), lj)
                continue
            hi = math.log((tj + lj - aj) / bj) / kj if tj + lj > aj else -inf
            if hi == -inf:
                base += lj
                continue
            lo = math.log((tj - aj) / bj) / kj if tj > aj else -inf
            va[nv], vb[nv], vk[nv], vt[nv], vl[nv], vlo[nv], vhi[nv] = aj, bj, kj, tj, lj, lo, hi
            nv += 1
        # break points in increasing order (insertion sort; a repeated point makes an empty
        # segment, which neither the crossing nor the integral uses)
        npts = 0
        for j in range(nv):
            for p in (vlo[j], vhi[j]):
                if math.isfinite(p):
                    i = npts
                    while i > 0 and all_edges[i] > p:
                        all_edges[i + 1] = all_edges[i]
                        i -= 1
                    all_edges[i + 1] = p
                    npts += 1
        all_edges[0] = -inf
        all_edges[npts + 1] = inf
        edges = all_edges[: npts + 2]
        seg_const = all_const[: npts + 1]
        seg_active = all_active[: npts + 1, :nv]
        seg_active[:, :] = False
        vb_, vk_ = vb[:nv], vk[:nv]
        n_seg = edges.shape[0] - 1
        for s in range(n_seg):
            left, right = edges[s], edges[s + 1]
            if math.isinf(left) and math.isinf(right):
                probe = 0.0
            elif math.isinf(left):
                probe = right - 1.0
            elif math.isinf(right):
                probe = left + 1.0
            else:
                probe = 0.5 * (left + right)
            const = base
            for j in range(nv):
                if probe >= vhi[j]:
                    const += vl[j]
                elif probe >= vlo[j]:
                    const += va[j] - vt[j]
                    seg_active[s, j] = True
            seg_const[s] = const
        zs = np.empty(2)
        for q in range(2):
            target = ded[r] if q == 0 else ded[r] + agg[r]
            z = inf
            if seg_const[0] >= target:
                z = -inf
            else:
                for s in range(n_seg):
                    right = edges[s + 1]
                    if math.isfinite(right):
                        top = _seg_value(seg_const[s], vb_, vk_, seg_active[s], right)
                    else:
                        top = seg_const[s]
                        for j in range(nv):
                            if seg_active[s, j]:
                                top = inf
                    if top >= target:
                        z = _seg_solve(
                            seg_const[s], vb_, vk_, seg_active[s], target, edges[s], right
                        )
                        break
            zs[q] = z
        z1, z2 = zs[0], zs[1]
        if z1 == inf:
            out[r] = 0.0
            continue
        if z2 == -inf:
            out[r] = agg[r]
            continue
        total = agg[r] * (1.0 - _phi(z2)) if math.isfinite(z2) else 0.0
        for s in range(n_seg):
            u = max(edges[s], z1)
            v = min(edges[s + 1], z2)
            if not u < v:
                continue
            total += (seg_const[s] - ded[r]) * (_phi(v) - _phi(u))
            for j in range(nv):
                if seg_active[s, j]:
                    kj = vk[j]
                    total += vb[j] * math.exp(0.5 * kj * kj) * (_phi(v - kj) - _phi(u - kj))
        out[r] = max(total, 0.0)
