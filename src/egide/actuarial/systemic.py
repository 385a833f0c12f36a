"""Systemic events: one cause, many insureds hit in the same year, at the same moment.

Three kinds, their parameters in `products/systemic-events-v1.toml` (validated on load, every
number with its source; docs/model.md § Systemic events):

- ``vendor_ransomware``: a ransomware campaign through a healthcare software vendor; the vendor is
  drawn among the book's vendors weighted by their share of the book; each of its insureds is hit
  with probability `hit_share`; each hit insured has BI + extortion + restoration + crisis losses
  at once (one claim), drawn from its own risk profile with the event's factors;
- ``cloud_outage``: an outage of an HDS cloud host (drawn by share of the book); one outage
  duration for the event; each insured on that host is hit with probability `hit_share` and
  loses that many hours of business (BI, through its own waiting period and hourly loss);
- ``phishing_wave``: a share of all insureds is hit; crisis + liability + regulatory losses.

Each kind occurs at most once a year, with its `annual_probability`. For a hit insured the event is
one claim: the policy deductible applies once across its coverages, and the claim takes its place
among the insured's independent claims of that year, in time order, for the annual aggregate.

Version 2 (`products/systemic-events-v2.toml`, product 2026.2; `SystemicModelV2`, docs/systemic.md):
the scenarios are defined on the French market, not on the book. Each strikes one target of a
shared dependency drawn by its customers in France; an insured is exposed by its own answer (or,
``unknown``, with its kind's market share of the target), so its chance of being hit never depends
on who else is insured; its controls cut its chance of being hit and its damage. The parameters
and the one-insured formulas are `egide.domain.systemic_load` (the premium's systemic load);
`draw_systemic` here draws the same law for a whole book. `load_systemic_model` reads either
version (by `[model] version`).
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from egide.domain import systemic_load as sl
from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, KINDS

if TYPE_CHECKING:
    from egide.actuarial.book import BookColumns, BookEntry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DEFAULT_SYSTEMIC_FILE = "systemic-events-v1.toml"
KINDS_OF_EVENT: tuple[str, ...] = ("vendor_ransomware", "cloud_outage", "phishing_wave")
BI = COVERAGES.index("business_interruption")


@dataclass(frozen=True)
class VendorRansomware:
    label: str
    annual_probability: float
    hit_share: float
    severity_factor: float
    outage_factor: float
    coverages: tuple[int, ...]  # indices in COVERAGES
    exclude: frozenset[str]


@dataclass(frozen=True)
class CloudOutage:
    label: str
    annual_probability: float
    hit_share: float
    outage_median_hours: float
    outage_sigma: float
    exclude: frozenset[str]


@dataclass(frozen=True)
class PhishingWave:
    label: str
    annual_probability: float
    hit_share: float
    severity_factor: float
    coverages: tuple[int, ...]


@dataclass(frozen=True)
class SystemicModel:
    version: str
    vendor_ransomware: VendorRansomware
    cloud_outage: CloudOutage
    phishing_wave: PhishingWave
    sha256: str = ""

    @staticmethod
    def none() -> SystemicModel:
        """No systemic event at all (every probability 0)."""
        return SystemicModel(
            version="none",
            vendor_ransomware=VendorRansomware("", 0.0, 0.0, 1.0, 1.0, (), frozenset()),
            cloud_outage=CloudOutage("", 0.0, 0.0, 1.0, 0.1, frozenset()),
            phishing_wave=PhishingWave("", 0.0, 0.0, 1.0, ()),
        )


class _Table:
    """A TOML table whose errors name the file and the dotted field."""

    def __init__(self, path: str, data: object, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ProductError(path, prefix.rstrip(".") or "(document)", "must be a table")
        self.path, self.data, self.prefix = path, data, prefix

    def fail(self, key: str, rule: str) -> ProductError:
        return ProductError(self.path, f"{self.prefix}{key}", rule)

    def table(self, key: str) -> _Table:
        if key not in self.data:
            raise self.fail(key, "is required and must be a table")
        return _Table(self.path, self.data[key], f"{self.prefix}{key}.")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "is required and must be a non-empty string")
        return value

    def num(self, key: str, low: float, high: float, *, strict_low: bool = False) -> float:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "is required and must be a number")
        x = float(value)
        if not math.isfinite(x):
            raise self.fail(key, "must be a finite number")
        if (x <= low) if strict_low else (x < low):
            raise self.fail(key, f"must be {'>' if strict_low else '>='} {low:g}")
        if x > high:
            raise self.fail(key, f"must be <= {high:g}")
        return x

    def coverages(self, key: str) -> tuple[int, ...]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "must be a non-empty list of coverage codes")
        for code in value:
            if code not in COVERAGES:
                raise self.fail(key, f"{code!r} is not a coverage code ({', '.join(COVERAGES)})")
        if len(set(value)) != len(value):
            raise self.fail(key, "must not repeat a coverage")
        return tuple(sorted(COVERAGES.index(c) for c in value))

    def strings(self, key: str) -> frozenset[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return frozenset(value)

    def only(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"is not a known field (known: {', '.join(sorted(allowed))})")

    def sourced(self, numbers: tuple[str, ...]) -> None:
        """Every number of the event has its source (a citation, or "assumption" and why)."""
        sources = self.table("sources")
        for key in numbers:
            text = sources.data.get(key)
            if not isinstance(text, str) or len(text.strip()) < 10:
                raise sources.fail(
                    key, "is required: the source of this number, or 'assumption' and why"
                )
        sources.only(set(numbers))


def parse_systemic_model(text: str, path: str = "systemic-events") -> AnySystemicModel:
    """Validate a systemic-events file; every error names the file, the field and the rule.
    A file whose `[model] version` is "2" is a `SystemicModelV2`."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(path, "(syntax)", f"is not valid TOML: {exc}") from None
    model_table = data.get("model")
    if isinstance(model_table, dict) and model_table.get("version") == "2":
        return SystemicModelV2(sl.parse_systemic_params(text, path))
    return _parse_v1(data, text, path)


def _parse_v1(data: dict[str, Any], text: str, path: str) -> SystemicModel:
    root = _Table(path, data, "")
    root.only({"model", *KINDS_OF_EVENT})
    version = root.table("model").text("version")

    r = root.table("vendor_ransomware")
    r.only(
        {"label", "annual_probability", "hit_share", "severity_factor", "outage_factor"}
        | {"coverages", "exclude", "sources"}
    )
    r.sourced(("annual_probability", "hit_share", "severity_factor", "outage_factor"))
    ransomware = VendorRansomware(
        label=r.text("label"),
        annual_probability=r.num("annual_probability", 0, 1),
        hit_share=r.num("hit_share", 0, 1),
        severity_factor=r.num("severity_factor", 0, 100, strict_low=True),
        outage_factor=r.num("outage_factor", 0, 100, strict_low=True),
        coverages=r.coverages("coverages"),
        exclude=r.strings("exclude"),
    )
    c = root.table("cloud_outage")
    c.only(
        {"label", "annual_probability", "hit_share", "outage_median_hours", "outage_sigma"}
        | {"exclude", "sources"}
    )
    c.sourced(("annual_probability", "hit_share", "outage_median_hours", "outage_sigma"))
    cloud = CloudOutage(
        label=c.text("label"),
        annual_probability=c.num("annual_probability", 0, 1),
        hit_share=c.num("hit_share", 0, 1),
        outage_median_hours=c.num("outage_median_hours", 0, 8784, strict_low=True),
        outage_sigma=c.num("outage_sigma", 0, 5, strict_low=True),
        exclude=c.strings("exclude"),
    )
    p = root.table("phishing_wave")
    p.only({"label", "annual_probability", "hit_share", "severity_factor", "coverages", "sources"})
    p.sourced(("annual_probability", "hit_share", "severity_factor"))
    phishing = PhishingWave(
        label=p.text("label"),
        annual_probability=p.num("annual_probability", 0, 1),
        hit_share=p.num("hit_share", 0, 1),
        severity_factor=p.num("severity_factor", 0, 100, strict_low=True),
        coverages=p.coverages("coverages"),
    )
    return SystemicModel(
        version=version,
        vendor_ransomware=ransomware,
        cloud_outage=cloud,
        phishing_wave=phishing,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def load_systemic_model(path: str | Path | None = None) -> AnySystemicModel:
    """Load a systemic-events file; None: the packaged `systemic-events-v1.toml`."""
    if path is None:
        folder = resources.files("egide.products")
        text = folder.joinpath(DEFAULT_SYSTEMIC_FILE).read_text(encoding="utf-8")
        return parse_systemic_model(text, DEFAULT_SYSTEMIC_FILE)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProductError(str(file), "(file)", "does not exist") from None
    return parse_systemic_model(text, str(file))


# --------------------------------------------------------------------------- exposure and draws


@dataclass(frozen=True)
class Targets:
    """The insureds a kind of event can strike, grouped by target (vendor or host), with each
    target's weight (its number of insureds in the book)."""

    members: tuple[I64, ...]
    weights: F64

    @staticmethod
    def build(index: I64, names: tuple[str, ...], exclude: frozenset[str]) -> Targets:
        order = np.argsort(index, kind="stable")
        counts = np.bincount(index, minlength=len(names))
        groups = np.split(order, np.cumsum(counts)[:-1])
        members = tuple(
            g.astype(np.int64)
            for g, name in zip(groups, names, strict=True)
            if name not in exclude and len(g)
        )
        weights = np.array([len(m) for m in members], dtype=np.float64)
        return Targets(members, weights)


@dataclass(frozen=True)
class SystemicExposure:
    """What the draws need: the model, the targets, and each policy's severity parameters."""

    model: SystemicModel
    vendors: Targets
    hosts: Targets
    n_policies: int

    @property
    def everyone(self) -> I64:
        return np.arange(self.n_policies, dtype=np.int64)


@dataclass(frozen=True)
class SystemicDraw:
    """The claims of the systemic events of one block of years, sorted by (policy, time).

    `t` is the time in the block (year = floor(t)); `x` the ground-up losses per coverage (BI in
    hours). `event_year` and `event_kind` describe each event (index into KINDS_OF_EVENT).
    """

    policy: I64
    t: F64
    event: I64
    x: F64
    event_year: I64
    event_kind: I64

    @staticmethod
    def empty() -> SystemicDraw:
        e = np.zeros(0, dtype=np.int64)
        return SystemicDraw(e, np.zeros(0), e, np.zeros((0, len(COVERAGES))), e, e)


def _hit(rng: np.random.Generator, pool: I64, share: float) -> I64:
    """Each member of `pool` hit with probability `share`, independently: a binomial number of
    members drawn without replacement (the same law, in time proportional to those hit)."""
    k = int(rng.binomial(len(pool), share))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    chosen = rng.choice(len(pool), size=k, replace=False, shuffle=False)
    return pool[np.sort(chosen)]


def _lognormal(rng: np.random.Generator, mu: F64, sigma: F64, factor: float) -> F64:
    z = rng.standard_normal(len(mu))
    out: F64 = np.exp(mu + math.log(factor) + sigma * z)
    return out


def draw_systemic(
    exposure: SystemicExposure | SystemicExposureV2,
    mu: F64,
    sigma: F64,
    rng: np.random.Generator,
    n_years: int,
) -> SystemicDraw:
    """Draw the systemic events of `n_years` years and the claims of the insureds they hit."""
    if isinstance(exposure, SystemicExposureV2):
        return draw_systemic_v2(exposure, rng, n_years)
    m = exposure.model
    pieces: list[tuple[I64, float, F64]] = []  # (hit policies, t, losses)
    event_year: list[int] = []
    event_kind: list[int] = []
    n_cov = len(COVERAGES)

    kinds: list[tuple[int, float]] = [
        (0, m.vendor_ransomware.annual_probability),
        (1, m.cloud_outage.annual_probability),
        (2, m.phishing_wave.annual_probability),
    ]
    for kind, probability in kinds:
        years = np.flatnonzero(rng.random(n_years) < probability)
        for year in years:
            t = float(year) + float(rng.random())
            if kind == 0:
                ev = m.vendor_ransomware
                targets = exposure.vendors
                if not len(targets.members):
                    continue
                chosen = int(
                    rng.choice(len(targets.weights), p=targets.weights / targets.weights.sum())
                )
                pool = targets.members[chosen]
                hit = _hit(rng, pool, ev.hit_share)
                x = np.zeros((len(hit), n_cov))
                for k in ev.coverages:
                    factor = ev.outage_factor if k == BI else ev.severity_factor
                    x[:, k] = _lognormal(rng, mu[hit, k], sigma[hit, k], factor)
            elif kind == 1:
                co = m.cloud_outage
                targets = exposure.hosts
                if not len(targets.members):
                    continue
                chosen = int(
                    rng.choice(len(targets.weights), p=targets.weights / targets.weights.sum())
                )
                pool = targets.members[chosen]
                hours = co.outage_median_hours * math.exp(
                    co.outage_sigma * float(rng.standard_normal())
                )
                hit = _hit(rng, pool, co.hit_share)
                x = np.zeros((len(hit), n_cov))
                x[:, BI] = hours
            else:
                ph = m.phishing_wave
                hit = _hit(rng, exposure.everyone, ph.hit_share)
                x = np.zeros((len(hit), n_cov))
                for k in ph.coverages:
                    x[:, k] = _lognormal(rng, mu[hit, k], sigma[hit, k], ph.severity_factor)
            pieces.append((hit, t, x))
            event_year.append(int(year))
            event_kind.append(kind)
    if not pieces:
        return SystemicDraw.empty()
    # events in time order, then a stable sort by policy: each policy's claims in time order
    by_time = sorted(range(len(pieces)), key=lambda i: pieces[i][1])
    policy = np.concatenate([pieces[i][0] for i in by_time])
    t_all = np.concatenate([np.full(len(pieces[i][0]), pieces[i][1]) for i in by_time])
    event = np.concatenate([np.full(len(pieces[i][0]), i, dtype=np.int64) for i in by_time])
    x_all = np.concatenate([pieces[i][2] for i in by_time])
    order = np.argsort(policy, kind="stable")
    return SystemicDraw(
        policy=policy[order],
        t=t_all[order],
        event=event[order],
        x=x_all[order],
        event_year=np.array(event_year, dtype=np.int64),
        event_kind=np.array(event_kind, dtype=np.int64),
    )


def summary(model: SystemicModel) -> Mapping[str, float]:
    """The yearly probability of each kind of event (for reports)."""
    return {
        "vendor_ransomware": model.vendor_ransomware.annual_probability,
        "cloud_outage": model.cloud_outage.annual_probability,
        "phishing_wave": model.phishing_wave.annual_probability,
    }


# --------------------------------------------------------------------------- version 2


@dataclass(frozen=True)
class SystemicModelV2:
    """The market-defined scenarios of `systemic-events-v2.toml` (egide.domain.systemic_load)."""

    params: sl.SystemicParams

    @property
    def version(self) -> str:
        return self.params.version

    @property
    def sha256(self) -> str:
        return self.params.sha256

    @property
    def event_kinds(self) -> tuple[str, ...]:
        return tuple(self.params.scenarios)

    @property
    def any_event(self) -> bool:
        return any(s.annual_probability > 0 for s in self.params.scenarios.values())


AnySystemicModel = SystemicModel | SystemicModelV2


def event_kinds(model: AnySystemicModel) -> tuple[str, ...]:
    """The names of the model's kinds of event, in the order of `SystemicDraw.event_kind`."""
    return model.event_kinds if isinstance(model, SystemicModelV2) else KINDS_OF_EVENT


def any_event(model: AnySystemicModel) -> bool:
    if isinstance(model, SystemicModelV2):
        return model.any_event
    return (
        model.vendor_ransomware.annual_probability > 0
        or model.cloud_outage.annual_probability > 0
        or model.phishing_wave.annual_probability > 0
    )


def systemic_model_of(product: Any) -> AnySystemicModel:
    """The systemic model a product names (`systemic_events`), else the packaged v1 file."""
    params = sl.product_systemic_params(product)
    return SystemicModelV2(params) if params is not None else load_systemic_model()


@dataclass(frozen=True)
class SystemicInputs:
    """What the v2 scenarios read of each policy (book order): kind, revenue, the answer for
    each dependency (lower case; ``unknown`` when not given) and the damage-reducing controls
    present (`systemic_load.DAMAGE_CONTROLS`; an unknown answer is not present)."""

    kind: I64
    revenue: F64
    answers: Mapping[str, tuple[str, ...]]
    controls: npt.NDArray[np.bool_]

    @property
    def n_policies(self) -> int:
        return int(self.kind.shape[0])

    @staticmethod
    def from_entries(entries: Sequence[BookEntry]) -> SystemicInputs:
        kind_index = {k: i for i, k in enumerate(KINDS)}
        apps = [e.application for e in entries]
        hosted = [a.security.hds_hosting for a in apps]
        hosts = [e.cloud_host.lower() for e in entries]
        return SystemicInputs(
            kind=np.array([kind_index[a.establishment.type] for a in apps], dtype=np.int64),
            revenue=np.array([float(a.establishment.annual_revenue) for a in apps]),
            answers={
                "software_vendor": tuple(e.software_vendor.lower() for e in entries),
                "cloud_host": _hosts(hosts, hosted),
                "email_vendor": tuple(e.email_vendor.lower() for e in entries),
                "remote_access_vendor": tuple(a.technology.remote_access_vendor for a in apps),
            },
            controls=np.array(
                [[getattr(a.security, c) is True for c in sl.DAMAGE_CONTROLS] for a in apps],
                dtype=np.bool_,
            ).reshape(len(apps), len(sl.DAMAGE_CONTROLS)),
        )

    @staticmethod
    def from_columns(book: BookColumns) -> SystemicInputs:
        """From a book read by columns (an OED file): the answers it has columns for; the
        remote-access vendor and the crisis exercise are unknown there."""
        from egide.actuarial.book import FLAG_FIELDS

        def texts(array: Any) -> list[str]:
            return [(v or sl.UNKNOWN).lower() for v in array.to_pylist()]

        n = book.n_policies
        controls = np.zeros((n, len(sl.DAMAGE_CONTROLS)), dtype=np.bool_)
        for j, code in enumerate(sl.DAMAGE_CONTROLS):
            if code in FLAG_FIELDS:
                controls[:, j] = book.flags[:, FLAG_FIELDS.index(code)] == 1
        hosted = list(book.flags[:, FLAG_FIELDS.index("hds_hosting")] == 1)
        return SystemicInputs(
            kind=book.kind.astype(np.int64),
            revenue=book.annual_revenue.astype(np.float64),
            answers={
                "software_vendor": tuple(texts(book.software_vendor)),
                "cloud_host": _hosts(texts(book.cloud_host), hosted),
                "email_vendor": tuple(texts(book.email_vendor)),
                "remote_access_vendor": (sl.UNKNOWN,) * n,
            },
            controls=controls,
        )


def _hosts(hosts: Sequence[str], hosted: Sequence[Any]) -> tuple[str, ...]:
    """An unknown HDS host of an establishment hosting its data itself is on premises (as
    `systemic_load.answer`)."""
    return tuple(
        "on_premises" if h == sl.UNKNOWN and not bool(on) else h
        for h, on in zip(hosts, hosted, strict=True)
    )


@dataclass(frozen=True)
class ScenarioExposure:
    """Who a scenario can strike in this book, and how hard."""

    scenario: sl.Scenario
    target_p: F64  # chance that each target is the one struck (market-defined)
    known: tuple[I64, ...]  # per target: the policies that are its customers by their answer
    known_membership: F64  # per target: 1 (a named vendor), 1 / tail_vendors (the tail)
    unknown: tuple[I64, ...]  # per kind: the policies that answered "unknown"
    unknown_membership: F64  # (targets, kinds): the market share of the target in the kind
    q: F64  # (P,) P(hit | customer of the struck target)
    base: F64  # (P, 6) median money cost per coverage (BI slot 0), controls included
    hours: F64  # (P,) median outage hours, controls included


@dataclass(frozen=True)
class SystemicExposureV2:
    model: SystemicModelV2
    scenarios: tuple[ScenarioExposure, ...]
    n_policies: int


def exposure_v2(model: SystemicModelV2, inputs: SystemicInputs | None) -> SystemicExposureV2:
    """The v2 exposure of a book: per scenario, each target's customers among the policies."""
    if inputs is None:
        raise ValueError(
            "systemic events v2 need the book's answers (PortfolioArrays.systemic_inputs)"
        )
    params = model.params
    n = inputs.n_policies
    size = (inputs.revenue / params.reference_revenue) ** params.cost_exponent
    cache: dict[str, tuple[I64, dict[str, int]]] = {}
    out = []
    for s in params.scenarios.values():
        dep = params.dependencies[s.dependency]
        targets = params.targets(s)
        codes, lookup = _codes(inputs, s.dependency, cache)

        def among(names: Iterable[str], codes: I64 = codes, lookup: dict[str, int] = lookup) -> Any:
            wanted = [lookup[v] for v in names if v in lookup]
            return np.isin(codes, wanted) if wanted else np.zeros(n, np.bool_)

        unknown = among([sl.UNKNOWN])
        tail = ~among(dep.not_shared) & ~unknown & ~among(dep.vendors)
        known: list[I64] = []
        known_m: list[float] = []
        unknown_m = np.zeros((len(targets), len(KINDS)))
        for i, t in enumerate(targets):
            if t.name is None:
                known.append(np.flatnonzero(tail).astype(np.int64))
                known_m.append(1.0 / dep.tail_vendors)
            else:
                known.append(np.flatnonzero(among([t.name])).astype(np.int64))
                known_m.append(1.0)
            for k, kind in enumerate(KINDS):
                unknown_m[i, k] = sl.membership(dep, kind, sl.UNKNOWN, t.name)
        by_kind = tuple(
            np.flatnonzero(unknown & (inputs.kind == k)).astype(np.int64) for k in range(len(KINDS))
        )
        q = np.full(n, s.hit_share)
        cost_f = np.ones(n)
        outage_f = np.ones(n)
        for code, effect in s.controls.items():
            has = inputs.controls[:, sl.DAMAGE_CONTROLS.index(code)]
            q = np.where(has, q * effect.hit, q)
            cost_f = np.where(has, cost_f * effect.cost, cost_f)
            outage_f = np.where(has, outage_f * effect.outage, outage_f)
        base = np.zeros((n, len(COVERAGES)))
        for cov, median in s.costs.items():
            base[:, COVERAGES.index(cov)] = median * size * cost_f
        out.append(
            ScenarioExposure(
                scenario=s,
                target_p=np.array([t.probability for t in targets]),
                known=tuple(known),
                known_membership=np.array(known_m),
                unknown=by_kind,
                unknown_membership=unknown_m,
                q=np.minimum(q, 1.0),
                base=base,
                hours=s.outage_median_hours * outage_f,
            )
        )
    return SystemicExposureV2(model, tuple(out), n)


def _codes(
    inputs: SystemicInputs, dependency: str, cache: dict[str, tuple[I64, dict[str, int]]]
) -> tuple[I64, dict[str, int]]:
    """The answers of a dependency as integer codes, and the code of each distinct answer."""
    if dependency not in cache:
        import pandas as pd

        codes, uniques = pd.factorize(pd.Series(inputs.answers[dependency], dtype=object))
        cache[dependency] = (
            np.asarray(codes, dtype=np.int64),
            {str(v): i for i, v in enumerate(uniques)},
        )
    return cache[dependency]


def draw_systemic_v2(
    exposure: SystemicExposureV2, rng: np.random.Generator, n_years: int
) -> SystemicDraw:
    """The v2 events of `n_years` years: per scenario, at most one event a year; its target
    drawn by the market; the struck target's customers (by answer, or by market share for an
    unknown answer) hit with their own q (drawn at the largest q, then thinned)."""
    pieces: list[tuple[I64, float, F64]] = []
    event_year: list[int] = []
    event_kind: list[int] = []
    n_cov = len(COVERAGES)
    for index, se in enumerate(exposure.scenarios):
        s = se.scenario
        years = np.flatnonzero(rng.random(n_years) < s.annual_probability)
        if not len(se.target_p):
            continue
        q_max = float(se.q.max()) if len(se.q) else 0.0
        for year in years:
            t = float(year) + float(rng.random())
            target = int(rng.choice(len(se.target_p), p=se.target_p))
            parts = [_hit(rng, se.known[target], min(1.0, se.known_membership[target] * q_max))]
            for k, pool in enumerate(se.unknown):
                share = se.unknown_membership[target, k]
                if share > 0 and len(pool):
                    parts.append(_hit(rng, pool, min(1.0, share * q_max)))
            candidates = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            if q_max > 0 and len(candidates):
                keep = rng.random(len(candidates)) < se.q[candidates] / q_max
                hit = np.sort(candidates[keep])
            else:
                hit = np.zeros(0, dtype=np.int64)
            z = (
                np.full(len(hit), float(rng.standard_normal()))
                if s.common_shock
                else rng.standard_normal(len(hit))
            )
            x = se.base[hit] * np.exp(s.sigma * z)[:, None]
            x[:, BI] = se.hours[hit] * np.exp(s.outage_sigma * z)
            assert x.shape == (len(hit), n_cov)
            pieces.append((hit, t, x))
            event_year.append(int(year))
            event_kind.append(index)
    return _assemble(pieces, event_year, event_kind)


def _assemble(
    pieces: list[tuple[I64, float, F64]], event_year: list[int], event_kind: list[int]
) -> SystemicDraw:
    if not pieces:
        return SystemicDraw.empty()
    by_time = sorted(range(len(pieces)), key=lambda i: pieces[i][1])
    policy = np.concatenate([pieces[i][0] for i in by_time])
    t_all = np.concatenate([np.full(len(pieces[i][0]), pieces[i][1]) for i in by_time])
    event = np.concatenate([np.full(len(pieces[i][0]), i, dtype=np.int64) for i in by_time])
    x_all = np.concatenate([pieces[i][2] for i in by_time])
    order = np.argsort(policy, kind="stable")
    return SystemicDraw(
        policy=policy[order],
        t=t_all[order],
        event=event[order],
        x=x_all[order],
        event_year=np.array(event_year, dtype=np.int64),
        event_kind=np.array(event_kind, dtype=np.int64),
    )
