"""Ingest at array speed: `egide portfolio simulate BOOK` as a whole process, beside the plain
NumPy reference of the standard workload (benchmarks/standard_workload.py) in the same run.

Generates a book of 100 000 policies (and with ``--big`` one of 1 000 000) with
`egide portfolio generate`, cached under the temporary folder (``egide-ingest-bench/``) and reused
by later runs; then times, each as its own process,

    egide portfolio simulate BOOK --years 1000 --no-save --json

(wall time from process start to exit: imports, reading, validation, arrays, simulation, output)
and reports its peak RSS (`os.wait4`'s rusage of that child), the NumPy reference's time
(10 000 policies x 10 000 years by default, in this process) and the ratio of the two.

    python benchmarks/ingest.py [--big] [--format parquet|csv] [--years Y] [--repeat R]
                                [--python PATH] [--json]

``--python`` runs egide with another interpreter (e.g. a checkout of an earlier version's venv),
for a before/after comparison on the same machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standard_workload import numpy_reference

CACHE = Path(tempfile.gettempdir()) / "egide-ingest-bench"
SEED = 2026


def book(policies: int, fmt: str, python: str) -> Path:
    """The generated book of `policies` policies (seed 2026), made once and kept in CACHE."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"book-{policies}-seed{SEED}.{fmt}"
    if not path.exists():
        partial = path.with_suffix(f".partial{path.suffix}")
        start = time.perf_counter()
        command = ["portfolio", "generate", "-n", str(policies), "-o", str(partial)]
        subprocess.run(
            [python, "-m", "egide.cli.main", *command, "--seed", str(SEED), "--force"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=child_env(),
        )
        partial.rename(path)
        print(f"  generated {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["EGIDE_DATABASE_URL"] = f"sqlite:///{CACHE / 'bench.db'}"  # --no-save: never written
    env.pop("EGIDE_NOW", None)
    return env


def simulate_process(python: str, path: Path, years: int) -> dict[str, Any]:
    """One whole `portfolio simulate` process: wall seconds, peak RSS (MiB), its AAL."""
    args = [python, "-m", "egide.cli.main", "portfolio", "simulate", str(path)]
    args += ["--years", str(years), "--no-save", "--json"]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{err.read().decode()[-2000:]}")
        result = json.loads(out.read())
    return {
        "seconds": seconds,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "policies": result["policies"],
        "aal": result["aal"],
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    top = min(runs, key=lambda r: r["seconds"])
    return {**top, "peak_rss_mib": max(r["peak_rss_mib"] for r in runs), "runs": len(runs)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also the 1 000 000-policy book")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--years", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many processes")
    parser.add_argument("--reference-policies", type=int, default=10_000)
    parser.add_argument("--reference-years", type=int, default=10_000)
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs egide")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    sizes = [100_000] + ([1_000_000] if args.big else [])
    books = {n: book(n, args.format, args.python) for n in sizes}
    load_before = os.getloadavg()[0]
    reference = math.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        numpy_reference(args.reference_policies, args.reference_years, SEED)
        reference = min(reference, time.perf_counter() - start)
    runs: dict[int, dict[str, Any]] = {}
    for n in sizes:
        repeat = args.repeat if n <= 100_000 else 1
        runs[n] = best([simulate_process(args.python, books[n], args.years) for _ in range(repeat)])
    report: dict[str, Any] = {
        "python": args.python,
        "format": args.format,
        "years": args.years,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "numpy_reference": {
            "policies": args.reference_policies,
            "years": args.reference_years,
            "seconds": reference,
        },
        "simulate": {
            str(n): {**r, "ratio_to_reference": r["seconds"] / reference} for n, r in runs.items()
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return report
    print(
        f"ingest benchmark ({args.format} books, {args.years:,} years, best of {args.repeat}; "
        f"load average {load_before:.2f} on {os.cpu_count()} cores)"
    )
    print(
        f"  NumPy reference of the standard workload ({args.reference_policies:,} policies x "
        f"{args.reference_years:,} years): {reference:6.2f} s"
    )
    for n, r in runs.items():
        print(
            f"  portfolio simulate, {n:>9,} policies: {r['seconds']:6.2f} s whole process "
            f"({r['seconds'] / reference:4.2f} x the reference), peak RSS "
            f"{r['peak_rss_mib']:,.0f} MiB"
        )
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
