"""Lognormal limited expected values, in closed form (standard library only).

For X ~ LogNormal(mu, sigma): E[min(X, u)] = e^(mu + s^2/2) Phi((ln u - mu - s^2)/s) + u (1 - Phi((ln u - mu)/s)).
"""

from __future__ import annotations

import itertools
import math


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def mean(mu: float, sigma: float) -> float:
    return math.exp(mu + 0.5 * sigma * sigma)


def lev(mu: float, sigma: float, u: float) -> float:
    """Limited expected value E[min(X, u)]; u may be math.inf."""
    if u <= 0:
        return 0.0
    if math.isinf(u):
        return mean(mu, sigma)
    z = (math.log(u) - mu) / sigma
    return mean(mu, sigma) * norm_cdf(z - sigma) + u * (1.0 - norm_cdf(z))


def partial_expectation(mu: float, sigma: float, t: float) -> float:
    """E[X; X <= t]."""
    if t <= 0:
        return 0.0
    if math.isinf(t):
        return mean(mu, sigma)
    return mean(mu, sigma) * norm_cdf((math.log(t) - mu) / sigma - sigma)


def survival(mu: float, sigma: float, t: float) -> float:
    if t <= 0:
        return 1.0
    if math.isinf(t):
        return 0.0
    return 1.0 - norm_cdf((math.log(t) - mu) / sigma)


def layer(mu: float, sigma: float, attachment: float, width: float) -> float:
    """E[min(max(X - a, 0), w)] = LEV(a + w) - LEV(a): the expected loss to a layer."""
    if width <= 0:
        return 0.0
    return max(lev(mu, sigma, attachment + width) - lev(mu, sigma, attachment), 0.0)


def layer_above_trigger(
    mu: float, sigma: float, attachment: float, width: float, trigger: float
) -> float:
    """E[min(max(X - a, 0), w); X > t]: a layer that pays only when X exceeds a trigger t."""
    if width <= 0:
        return 0.0
    if trigger <= attachment:
        return layer(mu, sigma, attachment, width)
    top = attachment + width
    if trigger >= top:
        return width * survival(mu, sigma, trigger)
    # for X > t: min(X, top) - a
    value = (
        lev(mu, sigma, top)
        - partial_expectation(mu, sigma, trigger)
        - attachment * survival(mu, sigma, trigger)
    )
    return max(value, 0.0)


# --------------------------------------------------------------------------- comonotone costs
#
# Risk model v2: one incident's costs on several coverages all move with one standard normal z.
# Coverage j pays p_j(z) = min(max(a_j + b_j e^(k_j z) - t_j, 0), l_j) (a fixed cost a, a variable
# cost b e^(kz), a threshold t: sub-deductible or BI waiting period, a cap l: sub-limit, indemnity
# period or records held), and the incident pays min(max(sum_j p_j(z) - D, 0), A) (one deductible
# D, the annual aggregate A as a cap on one claim). Each p_j is nondecreasing and piecewise either
# constant or (constant + b e^(kz)), so the expectation is exact piece by piece with
# integral_u^v e^(kz) phi(z) dz = e^(k^2/2) (Phi(v - k) - Phi(u - k)); the two points where the
# sum crosses D and D + A are found by Newton's method on a convex increasing function.


Component = tuple[float, float, float, float, float]  # (a, b, k, t, l)


def _breaks(c: Component) -> tuple[float, float]:
    """(lo, hi): p is 0 below lo, a - t + b e^(kz) between, l above hi (-inf when always)."""
    a, b, k, t, lim = c
    lo = math.log((t - a) / b) / k if t > a else -math.inf
    hi = math.log((t + lim - a) / b) / k if t + lim > a else -math.inf
    return lo, hi


def _segment_sum(
    comps: list[tuple[Component, float, float]], z: float
) -> tuple[float, list[tuple[float, float]]]:
    """At a point z inside a segment: the constant part and the active (b, k) terms of the sum."""
    const = 0.0
    active: list[tuple[float, float]] = []
    for (a, b, k, t, lim), lo, hi in comps:
        if z >= hi:
            const += lim
        elif z >= lo:
            const += a - t
            active.append((b, k))
    return const, active


def _value(const: float, active: list[tuple[float, float]], z: float) -> float:
    return const + sum(b * math.exp(k * z) for b, k in active)


def _solve(
    const: float, active: list[tuple[float, float]], target: float, lo: float, hi: float
) -> float:
    """The z in [lo, hi] where const + sum b e^(kz) = target (the sum crosses it there)."""
    if not active:
        return lo
    z = hi if math.isfinite(hi) else (max(lo, 0.0) if math.isfinite(lo) else 0.0) + 1.0
    step = 1.0
    while _value(const, active, z) < target:  # an upper start, for Newton from above
        z += step
        step *= 2.0
    for _ in range(200):
        f = _value(const, active, z) - target
        d = sum(b * k * math.exp(k * z) for b, k in active)
        new = z - f / d
        if math.isfinite(lo) and new < lo:
            new = lo
        if abs(new - z) <= 1e-13 * max(1.0, abs(z)):
            return new
        z = new
    return z


Segment = tuple[float, float, float, list[tuple[float, float]]]  # (left, right, const, active)


def _segments(components: list[Component]) -> list[Segment]:
    """The z axis cut where a coverage starts or stops paying; on each piece the sum of the
    payments is const + sum of b e^(kz) over the active coverages."""
    base = 0.0  # constant components
    comps: list[tuple[Component, float, float]] = []
    for c in components:
        a, b, k, t, lim = c
        if lim <= 0:
            continue
        if b <= 0 or k <= 0:
            base += min(max(a + b - t, 0.0), lim)
            continue
        lo, hi = _breaks(c)
        if hi == -math.inf:
            base += lim
            continue
        comps.append((c, lo, hi))
    points = sorted({p for _, lo, hi in comps for p in (lo, hi) if math.isfinite(p)})
    edges = [-math.inf, *points, math.inf]
    segments: list[Segment] = []
    for left, right in itertools.pairwise(edges):
        if math.isinf(left) and math.isinf(right):
            probe = 0.0
        elif math.isinf(left):
            probe = right - 1.0
        elif math.isinf(right):
            probe = left + 1.0
        else:
            probe = 0.5 * (left + right)
        const, active = _segment_sum(comps, probe)
        segments.append((left, right, const + base, active))
    return segments


def _crossing(segments: list[Segment], target: float) -> float:
    """Smallest z with S(z) >= target (-inf / +inf when always / never)."""
    if segments[0][2] >= target:
        return -math.inf
    for left, right, const, active in segments:
        top = (
            _value(const, active, right)
            if math.isfinite(right)
            else (const if not active else math.inf)
        )
        if top >= target:
            return _solve(const, active, target, left, right)
    return math.inf


def comonotone_exceedance(components: list[Component], level: float) -> float:
    """P(sum_j p_j(Z) > level): the chance that the incident's payments exceed `level`."""
    z = _crossing(_segments(components), level)
    return 0.0 if z == math.inf else 1.0 if z == -math.inf else 1.0 - norm_cdf(z)


def comonotone_layer(components: list[Component], deductible: float, aggregate: float) -> float:
    """E[min(max(sum_j p_j(Z) - D, 0), A)], Z standard normal (see above)."""
    if aggregate <= 0:
        return 0.0
    segments = _segments(components)
    z1 = _crossing(segments, deductible)
    if z1 == math.inf:
        return 0.0
    z2 = _crossing(segments, deductible + aggregate)
    if z2 == -math.inf:
        return aggregate
    total = aggregate * (1.0 - norm_cdf(z2)) if math.isfinite(z2) else 0.0
    for left, right, const, active in segments:
        u, v = max(left, z1), min(right, z2)
        if not u < v:
            continue
        total += (const - deductible) * (norm_cdf(v) - norm_cdf(u))
        for b, k in active:
            total += b * math.exp(0.5 * k * k) * (norm_cdf(v - k) - norm_cdf(u - k))
    return max(total, 0.0)
