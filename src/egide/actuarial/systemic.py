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
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES

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


def parse_systemic_model(text: str, path: str = "systemic-events") -> SystemicModel:
    """Validate a systemic-events file; every error names the file, the field and the rule."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(path, "(syntax)", f"is not valid TOML: {exc}") from None
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


def load_systemic_model(path: str | Path | None = None) -> SystemicModel:
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
    exposure: SystemicExposure,
    mu: F64,
    sigma: F64,
    rng: np.random.Generator,
    n_years: int,
) -> SystemicDraw:
    """Draw the systemic events of `n_years` years and the claims of the insureds they hit."""
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
