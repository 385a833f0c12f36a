"""The reference workload of the portfolio engine, beside a plain NumPy version of the same work.

10 000 policies x 10 000 years (by default), one coverage, Poisson frequency with lambda spread
evenly over 0.05-0.3, lognormal severity (mu=10, sigma=1.8), 1 000 EUR deductible and 500 000 EUR
limit per occurrence, 1 000 000 EUR annual aggregate per policy.

The engine run goes through `egide.actuarial.engine.simulate` — the same kernel, terms and
aggregate code as a real book (the coverage's sub-deductible 1 000 then its sub-limit 500 000,
i.e. min(max(x - 1 000, 0), 500 000) per claim, then the annual aggregate in time order). It is
timed on one thread and on all cores, in the same process. The NumPy reference draws Poisson
counts per policy and block, lognormal severities, and caps each policy-year's sum at the
aggregate with a bincount.

    python benchmarks/standard_workload.py [--policies N] [--years Y] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from typing import Any

import numpy as np

from egide.actuarial.engine import PortfolioArrays, PortfolioResult, simulate
from egide.actuarial.terms_vec import TermsArrays
from egide.domain import lognormal
from egide.domain.product import COVERAGES

MU, SIGMA = 10.0, 1.8
DEDUCTIBLE, LIMIT, AGGREGATE = 1_000.0, 500_000.0, 1_000_000.0
COVERAGE = COVERAGES.index("data_restoration")  # any money coverage: one coverage in use


def rss_mib() -> float:
    """Peak resident set size of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workload(n: int) -> PortfolioArrays:
    lam = np.linspace(0.05, 0.3, n)
    freq = np.zeros((n, 6))
    freq[:, COVERAGE] = lam
    sub_ded = np.zeros((n, 6))
    sub_ded[:, COVERAGE] = DEDUCTIBLE
    sub_lim = np.zeros((n, 6))
    sub_lim[:, COVERAGE] = LIMIT
    return PortfolioArrays(
        frequency=freq,
        mu=np.full((n, 6), MU),
        sigma=np.full((n, 6), SIGMA),
        terms=TermsArrays(
            sub_deductible=sub_ded,
            sub_limit=sub_lim,
            deductible=np.zeros(n),
            aggregate=np.full(n, AGGREGATE),
            hourly_loss=np.zeros(n),
            waiting_hours=np.zeros(n),
            indemnity_hours=np.full(n, 2160.0),
            trigger=np.zeros(n, dtype=np.bool_),
        ),
        kind=np.zeros(n, dtype=np.int64),
        expected_loss=float(lam.sum()) * lognormal.layer(MU, SIGMA, DEDUCTIBLE, LIMIT),
    )


def numpy_reference(n: int, years: int, seed: int, block_years: int = 1000) -> np.ndarray:
    """Annual aggregate losses by plain NumPy: same model, no engine code."""
    lam = np.linspace(0.05, 0.3, n)
    out = np.zeros(years)
    for b, ss in enumerate(np.random.SeedSequence(seed).spawn(math.ceil(years / block_years))):
        rng = np.random.default_rng(ss)
        ny = min(block_years, years - b * block_years)
        counts = rng.poisson(lam * ny)
        policy = np.repeat(np.arange(n), counts)
        year = rng.integers(0, ny, len(policy))
        x = rng.lognormal(MU, SIGMA, len(policy))
        net = np.minimum(np.maximum(x - DEDUCTIBLE, 0.0), LIMIT)
        per_policy_year = np.bincount(year * n + policy, weights=net, minlength=ny * n)
        capped = np.minimum(per_policy_year, AGGREGATE).reshape(ny, n)
        out[b * block_years : b * block_years + ny] = capped.sum(axis=1)
    return out


def measures(annual: np.ndarray) -> dict[str, float]:
    var = float(np.quantile(annual, 0.995))
    return {
        "aal": float(annual.mean()),
        "aal_stderr": float(annual.std(ddof=1) / math.sqrt(len(annual))),
        "var_995": var,
        "tvar_995": float(annual[annual >= var].mean()),
    }


def timed_engine(
    arrays: PortfolioArrays, years: int, seed: int, threads: int, repeat: int
) -> tuple[float, PortfolioResult]:
    """Best wall time of `repeat` identical runs (the machine may be shared)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = simulate(arrays, years, seed, threads=threads)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n, years, seed = args.policies, args.years, args.seed

    arrays = workload(n)
    start = time.perf_counter()
    simulate(workload(10), 10, 0)  # load (or compile, the first time) the numba kernel
    warmup = time.perf_counter() - start

    load_before = os.getloadavg()[0]
    one_s, _ = timed_engine(arrays, years, seed, 1, args.repeat)
    all_s, result = timed_engine(arrays, years, seed, args.threads, args.repeat)
    engine_rss = rss_mib()
    start = time.perf_counter()
    annual = numpy_reference(n, years, seed)
    numpy_s = time.perf_counter() - start
    numpy_rss = rss_mib()

    policy_years = n * years
    report: dict[str, Any] = {
        "policies": n,
        "years": years,
        "seed": seed,
        "threads": args.threads,
        "seconds": all_s,
        "seconds_one_thread": one_s,
        "speedup_threads": one_s / all_s,
        "peak_rss_mib": engine_rss,
        "policy_years_per_second": policy_years / all_s,
        "aal": result.aal,
        "aal_stderr": result.aal_stderr,
        "aal_before_aggregate": result.independent_aal_before_aggregate,
        "aal_before_aggregate_stderr": result.independent_aal_stderr,
        "analytic_aal_before_aggregate": arrays.expected_loss,
        "var_995": result.var_995,
        "tvar_995": result.tvar_995,
        "kernel_warmup_seconds": warmup,
        "repeat": args.repeat,
        "load_average_before": load_before,
        "numpy_reference": {
            "seconds": numpy_s,
            "peak_rss_mib": numpy_rss,
            "policy_years_per_second": policy_years / numpy_s,
            **measures(annual),
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return report
    ref = report["numpy_reference"]
    m = 1e6
    print(f"standard workload: {n:,} policies x {years:,} years, seed {seed}")
    print(f"  kernel warm-up (cache load or compile): {warmup:.2f} s")
    print(f"  load average before the runs: {load_before:.2f} on {os.cpu_count()} cores")
    print(f"  wall times: best of {args.repeat} runs")
    print(f"  engine, 1 thread : {one_s:6.3f} s  {policy_years / one_s / m:8.1f} M policy-years/s")
    print(
        f"  engine, {args.threads} threads: {all_s:6.3f} s  {policy_years / all_s / m:8.1f} M "
        f"policy-years/s  (x{one_s / all_s:.2f}), peak RSS {engine_rss:.0f} MiB"
    )
    print(
        f"  NumPy reference  : {numpy_s:6.3f} s  {policy_years / numpy_s / m:8.1f} M "
        f"policy-years/s, peak RSS {numpy_rss:.0f} MiB (high-water mark of the process)"
    )
    print(
        f"  AAL before aggregate: engine {result.independent_aal_before_aggregate / m:.2f} M "
        f"(± {result.independent_aal_stderr / m:.2f}), analytic {arrays.expected_loss / m:.2f} M"
    )
    print(
        f"  AAL   : engine {result.aal / m:.2f} M (± {result.aal_stderr / m:.2f}), NumPy {ref['aal'] / m:.2f} M"
    )
    print(f"  VaR 99.5 %: engine {result.var_995 / m:.2f} M, NumPy {ref['var_995'] / m:.2f} M")
    print(f"  TVaR 99.5 %: engine {result.tvar_995 / m:.2f} M, NumPy {ref['tvar_995'] / m:.2f} M")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
