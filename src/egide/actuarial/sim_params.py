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

import numpy as np
import numpy.typing as npt
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
    """`egide.domain.lognormal.comonotone_layer` row by row: components (n, m), D and A (n,)."""
    n, m = a.shape
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        valid = lim > 0
        variable = valid & (b > 0) & (k > 0)
        const_part = np.where(valid & ~variable, np.minimum(np.maximum(a + b - t, 0.0), lim), 0.0)
        safe_b = np.where(variable, b, 1.0)
        safe_k = np.where(variable, k, 1.0)
        lo = np.where(t > a, np.log((t - a) / safe_b) / safe_k, -np.inf)
        hi = np.where(t + lim > a, np.log((t + lim - a) / safe_b) / safe_k, -np.inf)
        always_capped = variable & (hi == -np.inf)
        const_part = const_part + np.where(always_capped, lim, 0.0)
        variable = variable & ~always_capped
        base = const_part.sum(axis=1)
        lo = np.where(variable, lo, np.inf)
        hi = np.where(variable, hi, np.inf)
        pts = np.concatenate([lo, hi], axis=1)
        pts = np.where(np.isfinite(pts), pts, np.inf)
        pts.sort(axis=1)
        edges = np.concatenate([np.full((n, 1), -np.inf), pts, np.full((n, 1), np.inf)], axis=1)
        n_seg = edges.shape[1] - 1

        def state(z: F64) -> tuple[F64, F64]:
            """(constant part, active mask (n, m)) of the sum at points z (n,) inside segments."""
            zc = z[:, None]
            capped = variable & (zc >= hi)
            active = variable & (zc >= lo) & (zc < hi)
            const = base + np.where(capped, lim, 0.0).sum(axis=1)
            const = const + np.where(active, a - t, 0.0).sum(axis=1)
            return const, active

        def value(const: F64, active: F64, z: F64) -> F64:
            terms_ = np.where(active, safe_b * np.exp(safe_k * z[:, None]), 0.0)
            out: F64 = const + terms_.sum(axis=1)
            return out

        # each segment's constant part and active set, from a probe point inside it
        seg_const = np.empty((n, n_seg))
        seg_active = np.empty((n, n_seg, m), dtype=np.bool_)
        for j in range(n_seg):
            left, right = edges[:, j], edges[:, j + 1]
            probe = np.where(
                np.isfinite(left) & np.isfinite(right),
                0.5 * (left + right),
                np.where(
                    np.isfinite(right), right - 1.0, np.where(np.isfinite(left), left + 1.0, 0.0)
                ),
            )
            probe = np.where(left == np.inf, np.inf, probe)  # empty segments past the last edge
            seg_const[:, j], seg_active[:, j, :] = state(probe)
        # the sum at each edge (continuous): from the segment on its left, -inf from the first
        at_edge = np.empty((n, n_seg + 1))
        at_edge[:, 0] = seg_const[:, 0]
        for j in range(1, n_seg + 1):
            z = edges[:, j]
            seg = j - 1
            finite = np.isfinite(z)
            v = value(seg_const[:, seg], seg_active[:, seg, :], np.where(finite, z, 0.0))
            top = np.where(seg_active[:, seg, :].any(axis=1), np.inf, seg_const[:, seg])
            at_edge[:, j] = np.where(finite, v, top)
        rows = np.arange(n)

        def crossing(target: F64) -> F64:
            reached = at_edge >= target[:, None]
            first = np.where(reached.any(axis=1), reached.argmax(axis=1), n_seg + 1)
            z = np.full(n, np.inf)
            z = np.where(first == 0, -np.inf, z)
            inside = (first >= 1) & (first <= n_seg)
            seg = np.clip(first - 1, 0, n_seg - 1)
            left, right = edges[rows, seg], edges[rows, seg + 1]
            const, active = seg_const[rows, seg], seg_active[rows, seg, :]
            has_active = active.any(axis=1)
            # an upper start for Newton from above (the function is convex increasing)
            start = np.where(
                np.isfinite(right),
                right,
                np.where(np.isfinite(left), np.maximum(left, 0.0), 0.0) + 1.0,
            )
            step = np.ones(n)
            for _ in range(80):
                low = inside & has_active & (value(const, active, start) < target)
                if not low.any():
                    break
                start = np.where(low, start + step, start)
                step = np.where(low, step * 2.0, step)
            zz = start
            for _ in range(100):
                f = value(const, active, zz) - target
                d = np.where(active, safe_b * safe_k * np.exp(safe_k * zz[:, None]), 0.0).sum(
                    axis=1
                )
                new = zz - np.where(d > 0, f / d, 0.0)
                new = np.where(np.isfinite(left), np.maximum(new, left), new)
                done = np.abs(new - zz) <= 1e-13 * np.maximum(1.0, np.abs(zz))
                zz = new
                if np.all(done | ~inside):
                    break
            root = np.where(has_active, zz, left)
            return np.where(inside, root, z)

        z1 = crossing(ded)
        z2 = crossing(ded + agg)
        phi = _norm_cdf
        total = np.where(
            np.isfinite(z2), agg * (1.0 - phi(np.where(np.isfinite(z2), z2, 0.0))), 0.0
        )
        total = np.where(z2 == -np.inf, agg, total)
        for j in range(n_seg):
            u = np.maximum(edges[:, j], z1)
            v = np.minimum(edges[:, j + 1], z2)
            ok = (u < v) & (z2 > -np.inf) & (z1 < np.inf)
            part = (seg_const[:, j] - ded) * (phi(v) - phi(u))
            expo = np.where(
                seg_active[:, j, :],
                safe_b
                * np.exp(0.5 * safe_k**2)
                * (phi(v[:, None] - safe_k) - phi(u[:, None] - safe_k)),
                0.0,
            ).sum(axis=1)
            total = total + np.where(ok, part + expo, 0.0)
        out: F64 = np.where((z1 == np.inf) | (agg <= 0), 0.0, np.maximum(total, 0.0))
    return out
