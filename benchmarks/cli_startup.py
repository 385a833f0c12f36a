"""Whole-process start-up time of the CLI, beside the import of its three base libraries.

Each command runs as a fresh interpreter (a subprocess), N times (default 5), interleaved so that
drift on the machine touches every row alike, after one warm-up round (byte-code compiled, files
in the page cache). The children run with Python's bytecode cache on, as an installed Égide has it
(pip compiles on install): ``PYTHONDONTWRITEBYTECODE`` is dropped from their environment and
``PYTHONPYCACHEPREFIX`` points into the run's temporary folder, so nothing is written beside the
sources. Rows:

- ``baseline``: ``python -c "import sqlalchemy, typer, yaml"`` (what any command must load);
- ``egide --help``;
- ``egide quote price examples/cabinet-medical.yaml --json`` (about 1 ms of pricing);
- ``egide policy show P`` on a temporary SQLite database prepared first (a quote saved and bound);
- ``python -c pass`` (the interpreter alone), for reference.

The ratio is each row's median wall time over the baseline's; the goal is at most 1.5 for the
three egide commands. The CPU time (user + system, from the children's resource usage) is shown
beside it: on a busy machine it moves less than the wall time.

``--ref REF`` (a git commit, branch or tag of this repository) adds the three egide rows run on
that version's sources (``git archive REF src``, put first on ``PYTHONPATH``, with a database of
its own), interleaved with the others in the same run: before and after side by side.

    python benchmarks/cli_startup.py [--runs N] [--ref REF] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = ROOT / "examples" / "cabinet-medical.yaml"
NOW = "2026-12-01T10:00:00+01:00"
GOAL = 1.5


def egide_command() -> list[str]:
    """The `egide` console script beside this interpreter, else `python -m egide.cli.main`."""
    script = Path(sys.executable).parent / "egide"
    if script.exists():
        return [str(script)]
    found = shutil.which("egide")
    return [found] if found else [sys.executable, "-m", "egide.cli.main"]


def run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def prepare(egide: list[str], env: dict[str, str]) -> str:
    """Save a quote and bind it; return the policy number."""
    quote = run([*egide, "quote", "price", str(APPLICATION), "--save", "--quiet"], env).strip()
    return run([*egide, "policy", "bind", quote, "--quiet"], env).strip()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of the command, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def sources_of(ref: str, folder: Path) -> Path:
    """The `src` folder of the git revision `ref`, extracted into `folder`."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def commands(egide: list[str], policy: str, label: str = "") -> dict[str, list[str]]:
    return {
        f"egide --help{label}": [*egide, "--help"],
        f"egide quote price --json{label}": [
            *egide,
            "quote",
            "price",
            str(APPLICATION),
            "--json",
        ],
        f"egide policy show{label}": [*egide, "policy", "show", policy],
    }


def measure(runs: int, ref: str | None = None) -> dict[str, Any]:
    egide = egide_command()
    with tempfile.TemporaryDirectory(prefix="egide-startup-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            "EGIDE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "EGIDE_NOW": NOW,
        }
        envs: dict[str, dict[str, str]] = {}
        rows: dict[str, list[str]] = {
            "baseline": [sys.executable, "-c", "import sqlalchemy, typer, yaml"],
            **commands(egide, prepare(egide, env)),
        }
        if ref is not None:
            src = sources_of(ref, Path(tmp) / "ref")
            path = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
            ref_env = {
                **env,
                "PYTHONPATH": path,
                "EGIDE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'ref.db'}",
            }
            label = f" @{ref}"
            ref_rows = commands(egide, prepare(egide, ref_env), label)
            rows.update(ref_rows)
            envs.update(dict.fromkeys(ref_rows, ref_env))
        rows["python -c pass"] = [sys.executable, "-c", "pass"]
        for name, argv in rows.items():  # warm-up round, not counted
            timed(argv, envs.get(name, env))
        times: dict[str, list[float]] = {name: [] for name in rows}
        cpus: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(runs):
            for name, argv in rows.items():
                wall, cpu = timed(argv, envs.get(name, env))
                times[name].append(wall)
                cpus[name].append(cpu)
    base = statistics.median(times["baseline"])
    base_cpu = statistics.median(cpus["baseline"])
    results = []
    for name, argv in rows.items():
        median = statistics.median(times[name])
        cpu = statistics.median(cpus[name])
        results.append(
            {
                "name": name,
                "command": argv,
                "median_s": median,
                "min_s": min(times[name]),
                "ratio": median / base,
                "cpu_median_s": cpu,
                "cpu_ratio": cpu / base_cpu,
            }
        )
    mine = [r for r in results if r["name"].startswith("egide") and "@" not in r["name"]]
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "egide": egide,
        "ref": ref,
        "goal_ratio": GOAL,
        "within_goal": all(r["ratio"] <= GOAL for r in mine),
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"CLI start-up, {report['runs']} runs each, Python {report['python']}")
    print(f"{'command':<36}{'median ms':>11}{'min ms':>9}{'ratio':>8}{'cpu ms':>9}{'ratio':>8}")
    for r in report["results"]:
        print(
            f"{r['name']:<36}{r['median_s'] * 1000:>11.0f}{r['min_s'] * 1000:>9.0f}"
            f"{r['ratio']:>7.2f}x{r['cpu_median_s'] * 1000:>9.0f}{r['cpu_ratio']:>7.2f}x"
        )
    verdict = "within" if report["within_goal"] else "NOT within"
    print(f"egide commands {verdict} {report['goal_ratio']}x of the baseline (median, this tree)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--ref", help="also time the egide commands of this git revision")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    report = measure(args.runs, args.ref)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
