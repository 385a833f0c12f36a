"""Systemic events defined on the French market (product 2026.2) and the premium's systemic load.

`products/systemic-events-v2.toml` (named by the product's ``systemic_events``) gives each
scenario a yearly probability and a footprint on the market: it strikes one target of a shared
dependency (software vendor, HDS host, e-mail provider, remote-access appliance vendor), drawn in
proportion to the target's customers in France (market shares by kind x establishments by kind;
times ``kev_weight`` for a vendor with flaws in the CISA KEV catalogue). An insured is a
customer of the struck target when it named it; when it answered ``unknown``, with the
probability of the target's market share for its kind; a vendor the tables do not list is one of
the ``tail_vendors`` small vendors sharing the rest. So an insured's chance of being hit,

    P(hit, scenario) = annual_probability x sum over targets t of P(t struck) x P(customer of t)
                       x hit_share x (the `hit` factors of its controls),

depends on its own answers and the market only, never on who else is insured. A hit insured has
one claim (one deductible across its coverages): each money coverage costs
median x (revenue / reference_revenue)^cost_exponent x exp(sigma Z) and business interruption
lasts outage_median_hours x exp(outage_sigma Z) hours (one Z for all its coverages), times the
`cost` / `outage` factors of its controls.

The systemic load of a quote (`systemic_load`) is, per coverage, the insured's expected systemic
loss under the policy's terms: P(hit) x E[payment of the event's claim], the expectation over Z
taken on 40 cells of the normal law (24 of equal probability up to the 96th percentile, then
slices halving towards the upper tail, where the limits cut), each cell's costs at their exact
conditional mean (exact without limits; with limits, within half a percent of a fine integration). Pure
standard library, deterministic, well under a millisecond. `egide.actuarial.systemic` simulates
the same model for the portfolio (tested equal in expectation).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, KINDS

if TYPE_CHECKING:
    from egide.domain.application import Application
    from egide.domain.product import Product
    from egide.domain.terms import PolicyTerms

DEPENDENCIES: tuple[str, ...] = (
    "software_vendor",
    "cloud_host",
    "email_vendor",
    "remote_access_vendor",
)
# The answers that reduce an insured's damage in an event (security.* of the application).
DAMAGE_CONTROLS: tuple[str, ...] = (
    "edr",
    "offline_backups",
    "backup_restore_tested",
    "mfa_remote_access",
    "mfa_email",
    "phishing_training",
    "crisis_exercise",
    "care_programme",
)
UNKNOWN = "unknown"
BI = "business_interruption"
_BI_INDEX = COVERAGES.index(BI)
SYSTEMIC_LOADING = "systemic_events"  # the key of the load in a quote's `loadings`


@dataclass(frozen=True)
class Dependency:
    code: str
    label: str
    not_shared: frozenset[str]
    tail_vendors: int
    shares: Mapping[str, Mapping[str, float]]  # kind -> named vendor -> market share
    none_share: Mapping[str, float]  # kind -> share of `not_shared` answers (no shared vendor)
    kev: Mapping[str, tuple[str, ...]]  # vendor -> CVEs in the CISA KEV catalogue

    @property
    def vendors(self) -> tuple[str, ...]:
        """The named vendors, sorted."""
        return tuple(sorted({v for by_kind in self.shares.values() for v in by_kind}))

    def tail_share(self, kind: str) -> float:
        return max(0.0, 1.0 - sum(self.shares[kind].values()) - self.none_share[kind])


@dataclass(frozen=True)
class ControlEffect:
    hit: float = 1.0
    cost: float = 1.0
    outage: float = 1.0


@dataclass(frozen=True)
class Scenario:
    code: str
    label: str
    dependency: str
    annual_probability: float
    hit_share: float
    kev_weight: float
    common_shock: bool
    outage_median_hours: float
    outage_sigma: float
    sigma: float
    costs: Mapping[str, float]  # money coverage -> median at the reference revenue
    controls: Mapping[str, ControlEffect]


@dataclass(frozen=True)
class Target:
    """One possible target of a scenario: a named vendor, or (name None) the tail of small
    vendors; `probability` that it is the one struck when the scenario occurs."""

    name: str | None
    probability: float


@dataclass(frozen=True)
class SystemicParams:
    version: str
    reference_revenue: float
    cost_exponent: float
    establishments: Mapping[str, float]
    dependencies: Mapping[str, Dependency]
    scenarios: Mapping[str, Scenario]  # in file order
    sha256: str = ""

    def __post_init__(self) -> None:
        targets = {code: self.compute_targets(s) for code, s in self.scenarios.items()}
        object.__setattr__(self, "_targets", targets)

    def targets(self, scenario: Scenario) -> tuple[Target, ...]:
        """The scenario's targets and their chances of being struck (computed once)."""
        found: Mapping[str, tuple[Target, ...]] = getattr(self, "_targets")  # noqa: B009
        return found[scenario.code]

    def compute_targets(self, scenario: Scenario) -> tuple[Target, ...]:
        """The scenario's targets and their chances of being struck: customers in France (market
        share x establishments, summed over kinds), times kev_weight for a KEV-listed vendor."""
        dep = self.dependencies[scenario.dependency]
        weights: list[tuple[str | None, float]] = []
        for vendor in dep.vendors:
            w = sum(dep.shares[k].get(vendor, 0.0) * self.establishments[k] for k in KINDS)
            if vendor in dep.kev:
                w *= scenario.kev_weight
            weights.append((vendor, w))
        weights.append((None, sum(dep.tail_share(k) * self.establishments[k] for k in KINDS)))
        total = sum(w for _, w in weights)
        if total <= 0:
            return ()
        return tuple(Target(name, w / total) for name, w in weights if w > 0)


# --------------------------------------------------------------------------- parsing


class _T:
    def __init__(self, path: str, data: object, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ProductError(path, prefix.rstrip(".") or "(document)", "must be a table")
        self.path, self.data, self.prefix = path, data, prefix

    def fail(self, key: str, rule: str) -> ProductError:
        return ProductError(self.path, f"{self.prefix}{key}", rule)

    def table(self, key: str) -> _T:
        if key not in self.data:
            raise self.fail(key, "is required and must be a table")
        return _T(self.path, self.data[key], f"{self.prefix}{key}.")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "is required and must be a non-empty string")
        return value

    def num(
        self, key: str, low: float, high: float, *, strict_low: bool = False, default: Any = None
    ) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "is required and must be a number")
        x = float(value)
        if not math.isfinite(x) or ((x <= low) if strict_low else (x < low)) or x > high:
            raise self.fail(key, f"must be {'>' if strict_low else '>='} {low:g} and <= {high:g}")
        return x

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "is required and must be true or false")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(value)

    def only(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"is not a known field (known: {', '.join(sorted(allowed))})")

    def sourced(self, keys: tuple[str, ...]) -> None:
        sources = self.table("sources")
        for key in keys:
            text = sources.data.get(key)
            if not isinstance(text, str) or len(text.strip()) < 10:
                raise sources.fail(
                    key, "is required: the source of this number, or 'assumption' and why"
                )
        sources.only(set(keys))


def _dependency(t: _T, code: str) -> Dependency:
    t.only({"label", "not_shared", "tail_vendors", "shares", "kev", "sources"})
    not_shared = frozenset(t.strings("not_shared"))
    kev_t = _T(t.path, t.data.get("kev", {}), f"{t.prefix}kev.")
    kev = {v: kev_t.strings(v) for v in kev_t.data}
    t.sourced(("shares", "tail_vendors", *(("kev",) if kev else ())))
    shares_t = t.table("shares")
    shares_t.only(set(KINDS))
    shares: dict[str, dict[str, float]] = {}
    none_share: dict[str, float] = {}
    for kind in KINDS:
        k = shares_t.table(kind)
        named = {v: k.num(v, 0, 1) for v in k.data if v not in not_shared}
        none = sum(k.num(v, 0, 1) for v in k.data if v in not_shared)
        if sum(named.values()) + none > 1 + 1e-9:
            raise shares_t.fail(kind, "market shares must add up to at most 1")
        shares[kind], none_share[kind] = named, none
    return Dependency(
        code=code,
        label=t.text("label"),
        not_shared=not_shared,
        tail_vendors=int(t.num("tail_vendors", 1, 100_000)),
        shares=shares,
        none_share=none_share,
        kev=kev,
    )


def _scenario(t: _T, code: str, dependencies: Mapping[str, Dependency]) -> Scenario:
    t.only(
        {"label", "dependency", "annual_probability", "hit_share", "kev_weight", "common_shock"}
        | {"outage_median_hours", "outage_sigma", "sigma", "costs", "controls", "sources"}
    )
    sourced = ("annual_probability", "hit_share", "outage", "costs", "controls")
    t.sourced((*sourced, "kev_weight") if "kev_weight" in t.data else sourced)
    dependency = t.text("dependency")
    if dependency not in dependencies:
        raise t.fail("dependency", f"must be one of {', '.join(sorted(dependencies))}")
    costs_t = t.table("costs")
    for cov in costs_t.data:
        if cov not in COVERAGES or cov == BI:
            raise costs_t.fail(cov, "must be a money coverage (BI is outage_median_hours)")
    costs = {cov: costs_t.num(cov, 0, 1e9) for cov in costs_t.data}
    controls_t = t.table("controls")
    controls: dict[str, ControlEffect] = {}
    for control in controls_t.data:
        if control not in DAMAGE_CONTROLS:
            raise controls_t.fail(control, f"must be one of {', '.join(DAMAGE_CONTROLS)}")
        c = controls_t.table(control)
        c.only({"hit", "cost", "outage"})
        controls[control] = ControlEffect(
            **{
                f: c.num(f, 0, 10, strict_low=True)
                for f in ("hit", "cost", "outage")
                if f in c.data
            }
        )
    return Scenario(
        code=code,
        label=t.text("label"),
        dependency=dependency,
        annual_probability=t.num("annual_probability", 0, 1),
        hit_share=t.num("hit_share", 0, 1),
        kev_weight=t.num("kev_weight", 0, 100, strict_low=True, default=1.0),
        common_shock=t.flag("common_shock"),
        outage_median_hours=t.num("outage_median_hours", 0, 8784),
        outage_sigma=t.num("outage_sigma", 0, 5, strict_low=True),
        sigma=t.num("sigma", 0, 5, strict_low=True),
        costs=costs,
        controls=controls,
    )


def parse_systemic_params(text: str, path: str = "systemic-events") -> SystemicParams:
    """Validate a version-2 systemic-events file; every error names the file, field and rule."""
    import hashlib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(path, "(syntax)", f"is not valid TOML: {exc}") from None
    root = _T(path, data, "")
    root.only({"model", "market", "dependencies", "scenarios"})
    model = root.table("model")
    model.only({"version", "reference", "reference_revenue", "cost_exponent", "sources"})
    model.sourced(("reference_revenue", "cost_exponent"))
    market = root.table("market")
    market.only({"establishments", "sources"})
    market.sourced(("establishments",))
    est_t = market.table("establishments")
    est_t.only(set(KINDS))
    establishments = {k: est_t.num(k, 0, 1e7) for k in KINDS}
    deps_t = root.table("dependencies")
    deps_t.only(set(DEPENDENCIES))
    dependencies = {d: _dependency(deps_t.table(d), d) for d in DEPENDENCIES}
    scen_t = root.table("scenarios")
    if not scen_t.data:
        raise root.fail("scenarios", "must define at least one scenario")
    scenarios = {s: _scenario(scen_t.table(s), s, dependencies) for s in scen_t.data}
    return SystemicParams(
        version=model.text("version"),
        reference_revenue=model.num("reference_revenue", 0, 1e12, strict_low=True),
        cost_exponent=model.num("cost_exponent", 0, 2),
        establishments=establishments,
        dependencies=dependencies,
        scenarios=scenarios,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


@lru_cache(maxsize=16)
def _parsed(text: str, path: str) -> SystemicParams:
    return parse_systemic_params(text, path)


def product_systemic_params(product: Product) -> SystemicParams | None:
    """The product's systemic-events parameters (None: the product names none, as 2026.1)."""
    if not product.systemic_events_text:
        return None
    return _parsed(product.systemic_events_text, product.systemic_events_file)


# --------------------------------------------------------------------------- one insured


def answer(app: Application, dependency: str) -> str:
    """The insured's answer for a dependency (lower case; ``unknown`` when not given). An
    unknown HDS host of an establishment that hosts its data itself is ``on_premises``."""
    value = getattr(app.technology, dependency)
    if dependency == "cloud_host" and value == UNKNOWN and not app.security.hds_hosting:
        return "on_premises"
    return str(value)


def membership(dep: Dependency, kind: str, value: str, target: str | None) -> float:
    """The chance that an insured of `kind` answering `value` is a customer of `target` (a named
    vendor; None: the struck vendor of the tail)."""
    if value in dep.not_shared:
        return 0.0
    named = set(dep.vendors)
    if value == UNKNOWN:
        if target is None:
            return dep.tail_share(kind) / dep.tail_vendors
        return dep.shares[kind].get(target, 0.0)
    if target is None:
        return 0.0 if value in named else 1.0 / dep.tail_vendors
    return 1.0 if value == target else 0.0


def present_controls(app: Application) -> frozenset[str]:
    """The damage-reducing controls the insured has (an unknown answer earns no credit)."""
    s = app.security
    return frozenset(c for c in DAMAGE_CONTROLS if getattr(s, c) is True)


def exposure_probability(
    params: SystemicParams, scenario: Scenario, kind: str, value: str
) -> float:
    """P(the insured is a customer of the struck target | the scenario occurs)."""
    dep = params.dependencies[scenario.dependency]
    return sum(
        t.probability * membership(dep, kind, value, t.name) for t in params.targets(scenario)
    )


def hit_probability(scenario: Scenario, controls: frozenset[str]) -> float:
    """P(hit | customer of the struck target): hit_share x the `hit` factors of its controls."""
    q = scenario.hit_share
    for code, effect in scenario.controls.items():
        if code in controls:
            q *= effect.hit
    return min(q, 1.0)


def damage_factors(scenario: Scenario, controls: frozenset[str]) -> tuple[float, float]:
    """(cost factor, outage factor) of the insured's controls in this scenario."""
    cost = outage = 1.0
    for code, effect in scenario.controls.items():
        if code in controls:
            cost *= effect.cost
            outage *= effect.outage
    return cost, outage


def size_factor(params: SystemicParams, revenue: float) -> float:
    return float((revenue / params.reference_revenue) ** params.cost_exponent)


def _edges() -> tuple[float, ...]:
    """Cell edges on the probability scale: 24 equal cells up to 0.96, then cells halving
    towards 1 (the upper tail, where the limits cut, in fine slices), the last one to 1."""
    body = [j / 25 for j in range(25)]
    tail = [1.0 - 0.04 / 2**k for k in range(1, TAIL_CELLS)]
    return (*body, *tail, 1.0)


TAIL_CELLS = 16
EDGES = _edges()
WEIGHTS: tuple[float, ...] = tuple(b - a for a, b in pairwise(EDGES))


@lru_cache(maxsize=16)
def _cells(sigma: float) -> tuple[float, ...]:
    """E[exp(sigma Z) | Z in cell j] for the cells of N(0, 1) between the EDGES."""
    nd = NormalDist()
    z = [-math.inf, *(nd.inv_cdf(u) for u in EDGES[1:-1]), math.inf]
    scale = math.exp(0.5 * sigma * sigma)
    return tuple(
        scale * (nd.cdf(z[j + 1] - sigma) - nd.cdf(z[j] - sigma)) / WEIGHTS[j]
        for j in range(len(WEIGHTS))
    )


class _Terms:
    """The policy's terms as floats, in COVERAGES order (read once per quote)."""

    def __init__(self, terms: PolicyTerms, hourly_loss: float) -> None:
        covs = [terms.coverages.get(c) for c in COVERAGES]
        self.bought = [c is not None for c in covs]
        self.sub_ded = [float(c.sub_deductible) if c else 0.0 for c in covs]
        self.limit = [float(c.limit) if c else 0.0 for c in covs]
        self.deductible = float(terms.deductible)
        self.aggregate = float(terms.aggregate_limit)
        self.wait = float(terms.waiting_period_hours)
        self.period = float(terms.indemnity_period_hours)
        self.trigger = terms.waiting_period_mode == "trigger"
        self.hourly = hourly_loss

    def pay(self, covered: list[float], bi_hours: float) -> list[float]:
        """What the policy pays per coverage for one claim: `covered` the money losses in
        COVERAGES order (BI's slot ignored), `bi_hours` the outage (the semantics of
        `egide.domain.terms.apply_terms`, in floats, the whole aggregate available)."""
        if self.trigger:
            hours = min(bi_hours, self.period) if bi_hours > self.wait else 0.0
        else:
            hours = min(max(bi_hours - self.wait, 0.0), self.period)
        out = []
        for k, x in enumerate(covered):
            if k == _BI_INDEX:
                x = hours * self.hourly
            out.append(min(max(x - self.sub_ded[k], 0.0), self.limit[k]) if self.bought[k] else 0.0)
        left = min(self.deductible, sum(out))
        for k in range(len(out)):
            take = min(out[k], left)
            out[k] -= take
            left -= take
        excess = sum(out) - self.aggregate
        k = len(out) - 1
        while excess > 0 and k >= 0:
            take = min(out[k], excess)
            out[k] -= take
            excess -= take
            k -= 1
        return out


def claim_payment(
    terms: PolicyTerms, amounts: Mapping[str, float], bi_hours: float, hourly_loss: float
) -> dict[str, float]:
    """What the policy pays per coverage for one claim of these money `amounts` and BI hours."""
    covered = [0.0 if c == BI else amounts.get(c, 0.0) for c in COVERAGES]
    return dict(zip(COVERAGES, _Terms(terms, hourly_loss).pay(covered, bi_hours), strict=True))


def hourly_loss(app: Application, product: Product) -> float:
    """The BI hourly loss in the risk model's own unit: per calendar hour (annual margin /
    8 760 h) under the incident model (risk model v2, whose outage durations and waiting period
    are calendar hours too), per operating hour under risk model v1."""
    kind = product.risk_model.kinds[app.establishment.type]
    margin = float(app.establishment.annual_revenue * kind.gross_margin_rate)
    if product.risk_model.incident_model is not None:
        return margin / (365 * 24)
    return margin / float(kind.operating_hours)


@dataclass(frozen=True)
class ScenarioLoss:
    code: str
    probability: float  # P(the insured is hit in a year)
    expected_payment: Mapping[str, float]  # per coverage, given a hit

    @property
    def expected_loss(self) -> float:
        return self.probability * sum(self.expected_payment.values())


def scenario_losses(
    app: Application, product: Product, params: SystemicParams, terms: PolicyTerms
) -> tuple[ScenarioLoss, ...]:
    """Each scenario's chance of hitting this insured in a year and its expected payment."""
    kind = app.establishment.type
    controls = present_controls(app)
    size = size_factor(params, float(app.establishment.annual_revenue))
    t = _Terms(terms, hourly_loss(app, product))
    n = len(COVERAGES)
    out = []
    for s in params.scenarios.values():
        p = (
            s.annual_probability
            * exposure_probability(params, s, kind, answer(app, s.dependency))
            * hit_probability(s, controls)
        )
        total = [0.0] * n
        if p > 0:
            cost_f, outage_f = damage_factors(s, controls)
            base = [s.costs.get(c, 0.0) * size * cost_f for c in COVERAGES]
            hours = s.outage_median_hours * outage_f
            cells = zip(WEIGHTS, _cells(s.sigma), _cells(s.outage_sigma), strict=True)
            for w, m, h in cells:
                paid = t.pay([b * m for b in base], hours * h)
                for k in range(n):
                    total[k] += w * paid[k]
        out.append(ScenarioLoss(s.code, p, dict(zip(COVERAGES, total, strict=True))))
    return tuple(out)


def systemic_load(app: Application, product: Product, terms: PolicyTerms) -> dict[str, float]:
    """The insured's expected systemic loss per coverage, per year (EUR, before loadings);
    empty for a product without systemic events (2026.1)."""
    params = product_systemic_params(product)
    if params is None:
        return {}
    load = dict.fromkeys(COVERAGES, 0.0)
    for loss in scenario_losses(app, product, params, terms):
        for c, v in loss.expected_payment.items():
            load[c] += loss.probability * v
    return load
