"""The full model at scale: 100 000 policies x 10 000 years, six coverages, systemic events.

The book comes from the synthetic generator (`egide.actuarial.generate.generate_book`) when it is
there, else from a simple synthetic book built here. Prints the time of each phase (book, policy
arrays, simulation), the peak RSS of the process, and the peak memory allocated during the
simulation for a short and a long run (tracemalloc: NumPy's arrays included) — flat in the number
of years, as only the year loss table grows (a few dozen floats a year).

    python benchmarks/full_model.py [--policies N] [--years Y] [--short-years Y0] [--seed S]
                                    [--workers W] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
import tracemalloc
from decimal import Decimal
from typing import Any

import numpy as np

from egide.actuarial.book import BookEntry
from egide.actuarial.engine import PortfolioResult, portfolio_arrays, simulate
from egide.actuarial.systemic import load_systemic_model
from egide.domain.application import Application, Cover, Establishment, History, Security
from egide.domain.product import KINDS, Product, load_product


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def simple_book(n: int, seed: int, product: Product) -> list[BookEntry]:
    """A plain synthetic book (used only if the generator is not available)."""
    rng = np.random.default_rng(seed)
    vendors = [f"vendor_{c}" for c in "abcdef"]
    hosts = ["host_a", "host_b", "host_c", "on_premises"]
    entries = []
    for i in range(n):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        ref = float(product.risk_model.kinds[kind].reference_revenue)
        flags = rng.random(9) < 0.6
        app = Application(
            establishment=Establishment(
                name=f"E{i}",
                type=kind,
                siret="00000000000000",
                annual_revenue=Decimal(int(ref * math.exp(rng.normal(0, 0.8))) + 1000),
                employees=10,
                patient_records=int(rng.integers(100, 200_000)),
                beds=10,
            ),
            security=Security(
                mfa_remote_access=bool(flags[0]),
                mfa_email=bool(flags[1]),
                edr=bool(flags[2]),
                offline_backups=bool(flags[3]),
                backup_restore_tested=bool(flags[4]),
                hds_hosting=bool(flags[5]),
                critical_patch_days=int(rng.integers(1, 120)),
                medical_devices_segmented=bool(flags[6]),
                phishing_training=bool(flags[7]),
                incident_response_plan=bool(flags[8]),
                security_budget_share=Decimal("0.05"),
            ),
            history=History(),
            cover=Cover(
                limit=product.aggregate_amounts(kind)[0],
                deductible=product.deductible_amounts(kind)[0],
            ),
        )
        entries.append(
            BookEntry(
                f"P{i:06d}",
                app,
                vendors[int(rng.integers(len(vendors)))],
                hosts[int(rng.integers(len(hosts)))],
                "mail",
            )
        )
    return entries


def make_book(n: int, seed: int, product: Product) -> tuple[list[BookEntry], str]:
    try:
        from egide.actuarial.generate import generate_book
    except ImportError:
        return simple_book(n, seed, product), "benchmarks/full_model.py simple_book"
    return list(generate_book(n, seed, product)), "egide.actuarial.generate.generate_book"


def timed_simulation(
    arrays: Any, years: int, seed: int, workers: int | None
) -> tuple[float, float, PortfolioResult]:
    """(seconds, peak MiB allocated during the run, result)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = simulate(arrays, years, seed, systemic=load_systemic_model(), workers=workers)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10_000)
    parser.add_argument("--short-years", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    product = load_product()
    t0 = time.perf_counter()
    book, source = make_book(args.policies, args.seed, product)
    book_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    arrays = portfolio_arrays(book, product)
    arrays_s = time.perf_counter() - t0
    claims_per_year = float(arrays.frequency.sum())  # risk model v1: claims by coverage
    if arrays.incidents is not None:  # risk model v2: every independent claim is an incident
        claims_per_year += float(arrays.incidents.rate.sum())

    short_s, short_peak, _ = timed_simulation(arrays, args.short_years, args.seed, args.workers)
    long_s, long_peak, result = timed_simulation(arrays, args.years, args.seed, args.workers)
    report: dict[str, Any] = {
        "policies": args.policies,
        "years": args.years,
        "seed": args.seed,
        "workers": args.workers,
        "threads": os.cpu_count() if args.workers is None else None,
        "book_source": source,
        "book_seconds": book_s,
        "arrays_seconds": arrays_s,
        "seconds": long_s,
        "total_seconds": book_s + arrays_s + long_s,
        "policy_years_per_second": args.policies * args.years / long_s,
        "peak_rss_mib": rss_mib(),
        "short_run": {"years": args.short_years, "seconds": short_s, "peak_alloc_mib": short_peak},
        "long_run": {"years": args.years, "seconds": long_s, "peak_alloc_mib": long_peak},
        "claims_per_year_expected": claims_per_year,
        "aal": result.aal,
        "aal_stderr": result.aal_stderr,
        "systemic_aal": result.systemic_aal,
        "independent_aal_before_aggregate": result.independent_aal_before_aggregate,
        "independent_aal_stderr": result.independent_aal_stderr,
        "expected_loss": result.expected_loss,
        "var_995": result.var_995,
        "tvar_995": result.tvar_995,
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return report
    m = 1e6
    print(f"full model: {args.policies:,} policies x {args.years:,} years, seed {args.seed}")
    print(f"  book ({source}): {book_s:.2f} s; policy arrays: {arrays_s:.2f} s")
    print(
        f"  simulation {args.years:,} years: {long_s:.2f} s "
        f"({args.policies * args.years / long_s / m:.0f} M policy-years/s, "
        f"{claims_per_year * args.years / long_s / m:.1f} M claims/s)"
    )
    print(f"  total (book + arrays + simulation): {book_s + arrays_s + long_s:.2f} s")
    print(f"  peak RSS of the process: {rss_mib():.0f} MiB")
    print(
        f"  peak allocated during the simulation: {short_peak:.0f} MiB for {args.short_years:,} "
        f"years, {long_peak:.0f} MiB for {args.years:,} years (flat)"
    )
    print(
        f"  AAL {result.aal / m:.2f} M (± {result.aal_stderr / m:.2f}); systemic "
        f"{result.systemic_aal / m:.2f} M; independent before aggregate "
        f"{result.independent_aal_before_aggregate / m:.2f} M vs rating {result.expected_loss / m:.2f} M"
    )
    print(f"  VaR 99.5 % {result.var_995 / m:.2f} M, TVaR 99.5 % {result.tvar_995 / m:.2f} M")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
