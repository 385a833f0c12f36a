"""Lognormal limited expected values, in closed form (standard library only).

For X ~ LogNormal(mu, sigma): E[min(X, u)] = e^(mu + s^2/2) Phi((ln u - mu - s^2)/s) + u (1 - Phi((ln u - mu)/s)).
"""

from __future__ import annotations

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
