"""The portfolio simulation engine: a book of policies, many simulated years, a year loss table.

The model (one definition with rating): per policy and coverage, independent Poisson claims with
lognormal severities taken from `egide.domain.rating.risk_profile` (BI severity in hours, turned
into euros by the policy's hourly loss), plus the systemic events of `egide.actuarial.systemic`.
Every claim goes through the policy's terms (`egide.actuarial.terms_vec`, the semantics of
`egide.domain.terms`), the annual aggregate shared by the claims of a policy-year in time order.

Years run in blocks (`block_years`); block i draws from
``default_rng(SeedSequence(seed, spawn_key=(i,)))`` — the i-th child of ``SeedSequence(seed)
.spawn(n)`` — so a result depends on the seed and the block size only, never on the number of
threads or Dask workers. Each block returns its rows of the year loss table; rows are merged in
block order. Memory is flat in the number of years: a block keeps no event unless asked.

``simulate_book(entries, product, years, seed)`` is what a service or the CLI calls;
``simulate(arrays, ...)`` runs on policy arrays built by hand (the benchmarks do).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from egide.actuarial import sim_kernel as K
from egide.actuarial.blocks import DEFAULT_BLOCK_YEARS
from egide.actuarial.book import BookEntry
from egide.actuarial.sim_params import (
    IncidentArrays,
    PolicyInputs,
    incident_parameters,
    parameters,
    policy_inputs,
)
from egide.actuarial.systemic import (
    KINDS_OF_EVENT,
    AnySystemicModel,
    SystemicDraw,
    SystemicExposure,
    SystemicExposureV2,
    SystemicInputs,
    SystemicModel,
    SystemicModelV2,
    Targets,
    any_event,
    draw_systemic,
    event_kinds,
    exposure_v2,
    load_systemic_model,
)
from egide.actuarial.terms_vec import TermsArrays
from egide.domain.product import COVERAGES, INCIDENTS, KINDS, Product
from egide.domain.rating import (
    bi_hourly_loss,
    expected_claim_payment,
    incident_profile,
    policy_terms,
    price,
    risk_profile,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
ProgressFn = Callable[[int, int], None]

RETURN_PERIODS: tuple[int, ...] = (2, 5, 10, 20, 50, 100, 200, 250, 500, 1000)
N_COV = len(COVERAGES)


class SimulationError(ValueError):
    """Bad simulation input: names the parameter and the rule."""


# --------------------------------------------------------------------------- the policy arrays


@dataclass(frozen=True)
class PortfolioArrays:
    """Everything the engine needs about the book, as arrays (one row per policy)."""

    frequency: F64  # (P, 6) yearly Poisson rate of independent claims per coverage
    mu: F64  # (P, 6) lognormal severity (EUR; BI in hours)
    sigma: F64  # (P, 6)
    terms: TermsArrays
    kind: I64  # (P,) index into kind_names
    kind_names: tuple[str, ...] = KINDS
    vendor: I64 | None = None  # (P,) index into vendor_names
    vendor_names: tuple[str, ...] = ()
    host: I64 | None = None  # (P,) index into host_names
    host_names: tuple[str, ...] = ()
    expected_loss: float = math.nan  # the rating engine's expected loss of the book (per year)
    # risk model v2: the incidents (then `frequency` is 0: every independent claim is an
    # incident; `mu` and `sigma` carry each coverage's cost in its first incident type, for the
    # systemic events' severities)
    incidents: IncidentArrays | None = None
    systemic_inputs: SystemicInputs | None = None  # what systemic events v2 read of each policy

    @property
    def n_policies(self) -> int:
        return int(self.frequency.shape[0])

    def validate(self) -> None:
        p = self.n_policies
        for name in ("frequency", "mu", "sigma"):
            a = getattr(self, name)
            if a.shape != (p, N_COV):
                raise SimulationError(f"{name}: must have shape ({p}, {N_COV})")
        if not np.all(np.isfinite(self.frequency)) or np.any(self.frequency < 0):
            raise SimulationError("frequency: must be finite and >= 0")
        if np.any(self.sigma < 0) or not np.all(np.isfinite(self.sigma)):
            raise SimulationError("sigma: must be finite and >= 0")
        if self.terms.n_policies != p or self.kind.shape != (p,):
            raise SimulationError("terms and kind: must have one row per policy")
        if p and (self.kind.min() < 0 or self.kind.max() >= len(self.kind_names)):
            raise SimulationError("kind: index out of range of kind_names")
        if self.incidents is not None:
            inc = self.incidents
            if inc.rate.shape[0] != p or inc.median.shape[0] != p:
                raise SimulationError("incidents: must have one row per policy")
            if not np.all(np.isfinite(inc.rate)) or np.any(inc.rate < 0):
                raise SimulationError("incidents.rate: must be finite and >= 0")


def _index(values: Sequence[str]) -> tuple[I64, tuple[str, ...]]:
    names = tuple(sorted(set(values)))
    lookup = {n: i for i, n in enumerate(names)}
    return np.array([lookup[v] for v in values], dtype=np.int64), names


def portfolio_arrays(
    entries: Sequence[BookEntry], product: Product, *, vectorised: bool = True
) -> PortfolioArrays:
    """The arrays of a book: each application's `risk_profile` and `policy_terms`, and the rating
    expected loss of the book (frequency x expected claim payment, summed).

    `vectorised` (default): the same formulas on arrays (`egide.actuarial.sim_params`, tested
    equal); False: the rating engine's own functions, one application at a time (slower)."""
    vendor = _index([e.software_vendor for e in entries])
    host = _index([e.cloud_host for e in entries])
    systemic_inputs = SystemicInputs.from_entries(entries)
    if vectorised:
        arrays = arrays_from_inputs(policy_inputs(entries, product), product, vendor, host)
        return replace(arrays, systemic_inputs=systemic_inputs)
    if product.risk_model.incident_model is not None:
        arrays = _rating_incident_arrays(entries, product, vendor, host)
        return replace(arrays, systemic_inputs=systemic_inputs)
    freq, mu, sigma, terms_arrays, expected_loss = _rating_parameters(entries, product)
    kind_lookup = {k: i for i, k in enumerate(KINDS)}
    kind = np.array([kind_lookup[e.application.establishment.type] for e in entries], np.int64)
    return PortfolioArrays(
        frequency=freq,
        mu=mu,
        sigma=sigma,
        terms=terms_arrays,
        kind=kind,
        kind_names=KINDS,
        vendor=vendor[0],
        vendor_names=vendor[1],
        host=host[0],
        host_names=host[1],
        expected_loss=expected_loss,
        systemic_inputs=systemic_inputs,
    )


def arrays_from_inputs(
    inputs: PolicyInputs,
    product: Product,
    vendor: tuple[I64, tuple[str, ...]],
    host: tuple[I64, tuple[str, ...]],
) -> PortfolioArrays:
    """The arrays of a book from its rating inputs (`sim_params.PolicyInputs`, from entries or
    straight from an OED file's columns) and its software vendors and hosts, each as (index per
    policy, sorted names)."""
    if product.risk_model.incident_model is not None:
        incidents, terms_arrays, expected = incident_parameters(inputs, product)
        mu, sigma = _systemic_severity(incidents)
        return PortfolioArrays(
            frequency=np.zeros((inputs.n_policies, N_COV)),
            mu=mu,
            sigma=sigma,
            terms=terms_arrays,
            kind=inputs.kind,
            kind_names=KINDS,
            vendor=vendor[0],
            vendor_names=vendor[1],
            host=host[0],
            host_names=host[1],
            expected_loss=float(expected.sum()),
            incidents=incidents,
        )
    freq, mu, sigma, terms_arrays, expected = parameters(inputs, product)
    return PortfolioArrays(
        frequency=freq,
        mu=mu,
        sigma=sigma,
        terms=terms_arrays,
        kind=inputs.kind,
        kind_names=KINDS,
        vendor=vendor[0],
        vendor_names=vendor[1],
        host=host[0],
        host_names=host[1],
        expected_loss=float(expected.sum()),
    )


def _rating_parameters(
    entries: Sequence[BookEntry], product: Product
) -> tuple[F64, F64, F64, TermsArrays, float]:
    model = product.risk_model
    n = len(entries)
    freq = np.zeros((n, N_COV))
    mu = np.zeros((n, N_COV))
    sigma = np.zeros((n, N_COV))
    hourly = np.zeros(n)
    terms = []
    expected = 0.0
    for i, entry in enumerate(entries):
        profile = risk_profile(entry.application, model)
        t = policy_terms(entry.application, product)
        terms.append(t)
        for k, code in enumerate(COVERAGES):
            risk = profile[code]
            freq[i, k], mu[i, k], sigma[i, k] = risk.frequency, risk.mu, risk.sigma
            expected += risk.frequency * expected_claim_payment(risk, t)
        hourly[i] = profile["business_interruption"].hourly_loss
    return freq, mu, sigma, TermsArrays.from_policy_terms(terms, list(hourly)), expected


def _systemic_severity(incidents: IncidentArrays) -> tuple[F64, F64]:
    """Per coverage, the lognormal (mu, sigma) of its cost in the first incident type (INCIDENTS
    order: ransomware first) that triggers it — what the v1 systemic events draw from."""
    n = incidents.rate.shape[0]
    mu = np.zeros((n, N_COV))
    sigma = np.zeros((n, N_COV))
    done = np.zeros(N_COV, dtype=np.bool_)
    for i in range(len(INCIDENTS)):
        for k in range(N_COV):
            total = incidents.fixed[:, i, k] + incidents.median[:, i, k]
            if done[k] or not np.any(total > 0):
                continue
            mu[:, k] = np.log(np.maximum(total, 1e-9))
            sigma[:, k] = incidents.sigma[:, i, k]
            done[k] = True
    return mu, sigma


def _rating_incident_arrays(
    entries: Sequence[BookEntry],
    product: Product,
    vendor: tuple[I64, tuple[str, ...]],
    host: tuple[I64, tuple[str, ...]],
) -> PortfolioArrays:
    """Risk model v2 through the rating engine's own functions, one application at a time."""
    model = product.risk_model
    n, n_inc = len(entries), len(INCIDENTS)
    rate = np.zeros((n, n_inc))
    fixed = np.zeros((n, n_inc, N_COV))
    median = np.zeros((n, n_inc, N_COV))
    sigma = np.zeros((n, n_inc, N_COV))
    cap = np.full((n, n_inc, N_COV), np.inf)
    terms, hourly = [], []
    expected = 0.0
    for p, entry in enumerate(entries):
        app = entry.application
        profile = incident_profile(app, model)
        for i, code in enumerate(INCIDENTS):
            risk = profile[code]
            rate[p, i] = risk.frequency
            for line in risk.costs:
                k = COVERAGES.index(line.coverage)
                fixed[p, i, k], median[p, i, k] = line.fixed, line.median
                sigma[p, i, k], cap[p, i, k] = line.sigma, line.cap
        terms.append(policy_terms(app, product))
        hourly.append(bi_hourly_loss(app, model))
        expected += float(price(app, product).expected_loss)
    incidents = IncidentArrays(rate, fixed, median, sigma, cap)
    mu, sev_sigma = _systemic_severity(incidents)
    kind_lookup = {k: i for i, k in enumerate(KINDS)}
    kind = np.array([kind_lookup[e.application.establishment.type] for e in entries], np.int64)
    return PortfolioArrays(
        frequency=np.zeros((n, N_COV)),
        mu=mu,
        sigma=sev_sigma,
        terms=TermsArrays.from_policy_terms(terms, hourly),
        kind=kind,
        kind_names=KINDS,
        vendor=vendor[0],
        vendor_names=vendor[1],
        host=host[0],
        host_names=host[1],
        expected_loss=expected,
        incidents=incidents,
    )


def systemic_exposure(
    arrays: PortfolioArrays, model: AnySystemicModel | None
) -> SystemicExposure | SystemicExposureV2:
    """Who each kind of systemic event can strike in this book."""
    if isinstance(model, SystemicModelV2):
        return exposure_v2(model, arrays.systemic_inputs)
    model = model or SystemicModel.none()
    none = np.zeros(arrays.n_policies, dtype=np.int64)
    vendors = Targets.build(
        arrays.vendor if arrays.vendor is not None else none,
        arrays.vendor_names or ("",),
        model.vendor_ransomware.exclude,
    )
    hosts = Targets.build(
        arrays.host if arrays.host is not None else none,
        arrays.host_names or ("",),
        model.cloud_outage.exclude,
    )
    return SystemicExposure(model, vendors, hosts, arrays.n_policies)


# --------------------------------------------------------------------------- one block


@dataclass(frozen=True)
class BlockResult:
    """One block's rows of the year loss table, its systemic events, and (if asked) its claims."""

    index: int
    ylt: F64  # (years of the block, columns of sim_kernel)
    event_year: I64  # systemic events: year within the block
    event_kind: I64
    event_loss: F64
    events: dict[str, npt.NDArray[Any]] | None = None


def block_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of block `index`: the index-th child of SeedSequence(seed).spawn(n)."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


def run_block(
    arrays: PortfolioArrays,
    exposure: SystemicExposure | SystemicExposureV2,
    seed: int,
    index: int,
    block_years: int,
    years: int,
    keep_events: bool = False,
) -> BlockResult:
    """Simulate block `index` (years index*block_years ... capped at `years`)."""
    n_years = min(block_years, years - index * block_years)
    sys_seed, ind_seed = block_seed(seed, index).spawn(2)
    draw = (
        draw_systemic(exposure, arrays.mu, arrays.sigma, np.random.default_rng(sys_seed), n_years)
        if _any_systemic(exposure.model)
        else SystemicDraw.empty()
    )
    sys_start = np.searchsorted(draw.policy, np.arange(arrays.n_policies + 1)).astype(np.int64)
    n_events = len(draw.event_year)
    sys_loss = np.zeros(n_events)
    ylt = np.zeros((n_years, K.N_FIXED + len(arrays.kind_names)))
    t = arrays.terms
    capacity = 0
    inc = arrays.incidents
    if keep_events:
        rates = float(arrays.frequency.sum()) + (float(inc.rate.sum()) if inc is not None else 0.0)
        expected = rates * n_years + len(draw.policy)
        capacity = int(expected + 10 * math.sqrt(expected) + 100)
    while True:
        ev_policy = np.zeros(capacity, dtype=np.int64)
        ev_t = np.zeros(capacity)
        ev_event = np.zeros(capacity, dtype=np.int64)
        ev_gu = np.zeros((capacity, N_COV))
        ev_pay = np.zeros((capacity, N_COV))
        kernel: Any = K.block_kernel
        model_arrays: tuple[Any, ...] = (arrays.frequency, arrays.mu, arrays.sigma)
        if inc is not None:
            kernel = K.incident_block_kernel
            model_arrays = (inc.rate, inc.fixed, inc.median, inc.sigma, inc.cap)
        count = kernel(
            np.random.default_rng(ind_seed),
            n_years,
            *model_arrays,
            t.sub_deductible,
            t.sub_limit,
            t.deductible,
            t.aggregate,
            t.hourly_loss,
            t.waiting_hours,
            t.indemnity_hours,
            t.trigger,
            arrays.kind,
            sys_start,
            draw.t,
            draw.event,
            draw.x,
            sys_loss,
            ylt,
            capacity,
            ev_policy,
            ev_t,
            ev_event,
            ev_gu,
            ev_pay,
        )
        if not keep_events or count <= capacity:
            break
        capacity = count  # too small a guess: run the block again (same seed, same draws)
        sys_loss[:] = 0.0
        ylt[:] = 0.0
    if n_events:
        np.maximum.at(ylt[:, K.MAX_OCCURRENCE], draw.event_year, sys_loss)
    events = None
    if keep_events:
        events = {
            "policy": ev_policy[:count],
            "year": (np.floor(ev_t[:count]).astype(np.int64) + index * block_years),
            "time": ev_t[:count] - np.floor(ev_t[:count]),
            "systemic_event": ev_event[:count],
            "ground_up": ev_gu[:count],
            "payable": ev_pay[:count],
        }
    return BlockResult(index, ylt, draw.event_year, draw.event_kind, sys_loss, events)


def _any_systemic(model: AnySystemicModel) -> bool:
    return any_event(model)


# --------------------------------------------------------------------------- the result


def _stderr(x: F64) -> float:
    n = len(x)
    return float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def exceedance(losses: F64, return_period: float) -> float:
    """The loss exceeded once every `return_period` years: quantile 1 - 1/RP (linear)."""
    return float(np.quantile(losses, 1.0 - 1.0 / return_period))


@dataclass(frozen=True)
class YearLossTable:
    """Per simulated year (in EUR, after all terms): totals, split and the largest occurrence."""

    total: F64
    systemic: F64
    independent: F64
    independent_before_aggregate: F64
    max_occurrence: F64
    by_coverage: F64  # (years, 6), COVERAGES order
    by_kind: F64  # (years, kinds)

    @staticmethod
    def from_rows(rows: F64) -> YearLossTable:
        return YearLossTable(
            total=rows[:, K.TOTAL].copy(),
            systemic=rows[:, K.SYSTEMIC].copy(),
            independent=rows[:, K.INDEPENDENT].copy(),
            independent_before_aggregate=rows[:, K.INDEPENDENT_BEFORE_AGGREGATE].copy(),
            max_occurrence=rows[:, K.MAX_OCCURRENCE].copy(),
            by_coverage=rows[:, K.COVERAGE0 : K.COVERAGE0 + N_COV].copy(),
            by_kind=rows[:, K.KIND0 :].copy(),
        )

    def columns(self, kind_names: Sequence[str] = KINDS) -> dict[str, npt.NDArray[Any]]:
        """Named columns (for tables and files, e.g. `egide.actuarial.ord.write_ord`): ``year``
        counts from 1 (whole numbers), the others are EUR."""
        out: dict[str, npt.NDArray[Any]] = {
            "year": np.arange(1, len(self.total) + 1, dtype=np.int64),
            "total": self.total,
            "systemic": self.systemic,
            "independent": self.independent,
            "independent_before_aggregate": self.independent_before_aggregate,
            "max_occurrence": self.max_occurrence,
        }
        for k, code in enumerate(COVERAGES):
            out[code] = self.by_coverage[:, k]
        for k, name in enumerate(kind_names):
            out[f"kind_{name}"] = self.by_kind[:, k]
        return out


@dataclass(frozen=True)
class PortfolioResult:
    years: int
    seed: int
    policies: int
    block_years: int
    ylt: YearLossTable
    kind_names: tuple[str, ...]
    expected_loss: float
    systemic_event_year: I64  # one row per systemic event (year from 0)
    systemic_event_kind: I64  # index into KINDS_OF_EVENT
    systemic_event_loss: F64  # paid across the book for that event
    systemic_model_version: str = ""
    systemic_event_names: tuple[str, ...] = KINDS_OF_EVENT
    events: dict[str, npt.NDArray[Any]] | None = field(default=None, repr=False)

    # ---- average annual loss and its standard error
    @property
    def aal(self) -> float:
        return float(self.ylt.total.mean())

    @property
    def aal_stderr(self) -> float:
        return _stderr(self.ylt.total)

    @property
    def aal_by_coverage(self) -> dict[str, float]:
        return {c: float(self.ylt.by_coverage[:, k].mean()) for k, c in enumerate(COVERAGES)}

    @property
    def aal_by_coverage_stderr(self) -> dict[str, float]:
        return {c: _stderr(self.ylt.by_coverage[:, k]) for k, c in enumerate(COVERAGES)}

    @property
    def aal_by_kind(self) -> dict[str, float]:
        return {n: float(self.ylt.by_kind[:, k].mean()) for k, n in enumerate(self.kind_names)}

    @property
    def aal_by_kind_stderr(self) -> dict[str, float]:
        return {n: _stderr(self.ylt.by_kind[:, k]) for k, n in enumerate(self.kind_names)}

    @property
    def systemic_aal(self) -> float:
        return float(self.ylt.systemic.mean())

    @property
    def systemic_aal_stderr(self) -> float:
        return _stderr(self.ylt.systemic)

    @property
    def independent_aal(self) -> float:
        return float(self.ylt.independent.mean())

    @property
    def independent_aal_after_aggregate_stderr(self) -> float:
        return _stderr(self.ylt.independent)

    @property
    def independent_aal_before_aggregate(self) -> float:
        return float(self.ylt.independent_before_aggregate.mean())

    @property
    def independent_aal_stderr(self) -> float:
        """Standard error of `independent_aal_before_aggregate` (what compares to rating)."""
        return _stderr(self.ylt.independent_before_aggregate)

    # ---- exceedance probabilities and risk measures
    @property
    def aep(self) -> dict[str, float]:
        return {str(rp): exceedance(self.ylt.total, rp) for rp in RETURN_PERIODS}

    @property
    def oep(self) -> dict[str, float]:
        return {str(rp): exceedance(self.ylt.max_occurrence, rp) for rp in RETURN_PERIODS}

    @property
    def var_995(self) -> float:
        return float(np.quantile(self.ylt.total, 0.995))

    @property
    def tvar_995(self) -> float:
        """Mean of the annual losses at or above the 99.5 % VaR."""
        tail = self.ylt.total[self.ylt.total >= self.var_995]
        return float(tail.mean()) if len(tail) else self.var_995

    def systemic_events_by_kind(self) -> dict[str, dict[str, float]]:
        out = {}
        for i, name in enumerate(self.systemic_event_names):
            mask = self.systemic_event_kind == i
            out[name] = {
                "count": float(mask.sum()),
                "per_year": float(mask.sum()) / self.years,
                "aal": float(self.systemic_event_loss[mask].sum()) / self.years,
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract (amounts in EUR as numbers)."""
        return {
            "years": self.years,
            "seed": self.seed,
            "policies": self.policies,
            "block_years": self.block_years,
            "aal": self.aal,
            "aal_stderr": self.aal_stderr,
            "aal_by_coverage": self.aal_by_coverage,
            "aal_by_coverage_stderr": self.aal_by_coverage_stderr,
            "aal_by_kind": self.aal_by_kind,
            "aal_by_kind_stderr": self.aal_by_kind_stderr,
            "systemic_aal": self.systemic_aal,
            "systemic_aal_stderr": self.systemic_aal_stderr,
            "independent_aal": self.independent_aal,
            "independent_aal_after_aggregate_stderr": self.independent_aal_after_aggregate_stderr,
            "independent_aal_before_aggregate": self.independent_aal_before_aggregate,
            "independent_aal_stderr": self.independent_aal_stderr,
            "expected_loss": self.expected_loss,
            "oep": self.oep,
            "aep": self.aep,
            "var_995": self.var_995,
            "tvar_995": self.tvar_995,
            "systemic_events": self.systemic_events_by_kind(),
            "systemic_model_version": self.systemic_model_version,
        }

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()), indent=2)


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined figures (one simulated year's stderr) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- running blocks


def _check_run(years: int, seed: int, block_years: int, workers: int | None) -> None:
    if not isinstance(years, int) or years <= 0:
        raise SimulationError("years: must be a whole number > 0")
    if not isinstance(block_years, int) or block_years <= 0:
        raise SimulationError("block_years: must be a whole number > 0")
    if not isinstance(seed, int) or seed < 0:
        raise SimulationError("seed: must be a whole number >= 0")
    if workers is not None and workers <= 0:
        raise SimulationError("workers: must be a whole number > 0")


def simulate(
    arrays: PortfolioArrays,
    years: int,
    seed: int,
    *,
    block_years: int = DEFAULT_BLOCK_YEARS,
    systemic: AnySystemicModel | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: ProgressFn | None = None,
    keep_events: bool = False,
) -> PortfolioResult:
    """Simulate `years` years of the book. Same seed and block size, same result, whatever the
    number of `threads` (local, default: the CPU count) or Dask `workers` / `scheduler`."""
    _check_run(years, seed, block_years, workers)
    arrays.validate()
    if keep_events and (workers is not None or scheduler is not None):
        raise SimulationError("keep_events: only for a local run (no workers, no scheduler)")
    exposure = systemic_exposure(arrays, systemic)
    n_blocks = math.ceil(years / block_years)
    done = 0

    def progress(block: BlockResult) -> None:
        nonlocal done
        done += len(block.ylt)
        if on_progress is not None:
            on_progress(done, years)

    if on_progress is not None:
        on_progress(0, years)
    if workers is not None or scheduler is not None:
        blocks = _run_dask(
            arrays, exposure, seed, n_blocks, block_years, years, workers, scheduler, progress
        )
        return _merge(blocks, arrays, seed, years, block_years, exposure)
    n_threads = max(1, min(threads or os.cpu_count() or 1, n_blocks))
    done_blocks: list[BlockResult] = []
    if n_threads == 1:
        for i in range(n_blocks):
            block = run_block(arrays, exposure, seed, i, block_years, years, keep_events)
            done_blocks.append(block)
            progress(block)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            futures = [
                pool.submit(run_block, arrays, exposure, seed, i, block_years, years, keep_events)
                for i in range(n_blocks)
            ]
            for fut in as_completed(futures):
                done_blocks.append(fut.result())
                progress(done_blocks[-1])
    return _merge(done_blocks, arrays, seed, years, block_years, exposure)


def _run_dask(
    arrays: PortfolioArrays,
    exposure: SystemicExposure | SystemicExposureV2,
    seed: int,
    n_blocks: int,
    block_years: int,
    years: int,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[BlockResult], None],
) -> list[BlockResult]:
    import distributed

    dist: Any = distributed  # untyped library
    cluster: Any = None
    if scheduler is not None:
        client: Any = dist.Client(scheduler)
    else:
        cluster = dist.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = dist.Client(cluster)
    try:
        arrays_f, exposure_f = client.scatter([arrays, exposure], broadcast=True)
        futures = [
            client.submit(run_block, arrays_f, exposure_f, seed, i, block_years, years, pure=False)
            for i in range(n_blocks)
        ]
        for fut in dist.as_completed(futures):
            progress(fut.result())
        return [cast(BlockResult, f.result()) for f in futures]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _merge(
    blocks: list[BlockResult],
    arrays: PortfolioArrays,
    seed: int,
    years: int,
    block_years: int,
    exposure: SystemicExposure | SystemicExposureV2,
) -> PortfolioResult:
    blocks = sorted(blocks, key=lambda b: b.index)
    rows = np.concatenate([b.ylt for b in blocks])
    events = None
    if blocks and blocks[0].events is not None:
        events = {
            key: np.concatenate([b.events[key] for b in blocks if b.events is not None])
            for key in blocks[0].events
        }
    return PortfolioResult(
        years=years,
        seed=seed,
        policies=arrays.n_policies,
        block_years=block_years,
        ylt=YearLossTable.from_rows(rows),
        kind_names=arrays.kind_names,
        expected_loss=arrays.expected_loss,
        systemic_event_year=np.concatenate(
            [b.event_year + b.index * block_years for b in blocks]
        ).astype(np.int64),
        systemic_event_kind=np.concatenate([b.event_kind for b in blocks]).astype(np.int64),
        systemic_event_loss=np.concatenate([b.event_loss for b in blocks]),
        systemic_model_version=exposure.model.version,
        systemic_event_names=event_kinds(exposure.model),
        events=events,
    )


def simulate_book(
    entries: Sequence[BookEntry],
    product: Product,
    years: int,
    seed: int,
    block_years: int = DEFAULT_BLOCK_YEARS,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: ProgressFn | None = None,
    *,
    systemic: AnySystemicModel | None = None,
    threads: int | None = None,
    keep_events: bool = False,
) -> PortfolioResult:
    """Simulate a book of policies (the entry point of services and the CLI).

    `keep_events`: keep every claim (local runs only; memory grows with the years), for the
    event-level ORD tables.

    `systemic`: the systemic-events model (default: the packaged `systemic-events-v1.toml`; use
    `SystemicModel.none()` for independent claims only).
    """
    if not entries:
        raise SimulationError("book: must hold at least one policy")
    _check_run(years, seed, block_years, workers)
    arrays = portfolio_arrays(entries, product)
    model = systemic if systemic is not None else load_systemic_model()
    return simulate(
        arrays,
        years,
        seed,
        block_years=block_years,
        systemic=model,
        threads=threads,
        workers=workers,
        scheduler=scheduler,
        on_progress=on_progress,
        keep_events=keep_events,
    )
