"""A command imports only what it uses (issue 10, part 9): `egide --help`, `egide quote price` and
`egide policy show` start without the numerical stack (NumPy, SciPy, numba, pandas, pyarrow, Dask,
matplotlib), the PDF engine or pydantic, and a command on a database whose schema is current does
not load Alembic. Each case runs in a fresh interpreter, since the test process has imported everything.

What is imported is the behaviour tested here, not how long it takes: benchmarks/cli_startup.py
measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from tests.conftest import EXAMPLES

HEAVY = ("numpy", "scipy", "numba", "pandas", "pyarrow", "dask", "distributed", "matplotlib")
HEAVY += ("typst",)
# Typer coerces plain text, path and flag options without pydantic (egide.cli.params) and the
# settings are read without it (egide.settings): none of the three commands loads it.
HEAVY += ("pydantic", "pydantic_core", "pydantic_settings")
# What `egide policy show` does not use (it reads the stored snapshot: nothing is priced, assessed
# or written). Watched by name, as submodules of egide.
WRITE_SIDE = (
    "egide.domain.quote",
    "egide.domain.rating",
    "egide.domain.underwriting",
    "egide.services.audit",
    "egide.services.idempotency",
    "egide.services.quotes",
)
PRACTICE = EXAMPLES / "cabinet-medical.yaml"
NOW = "2026-12-01T10:00:00+01:00"

# Runs `egide ARGS...` in this interpreter, then writes the exit code, the output and the
# top-level packages (and a few submodules) loaded, as JSON, to the file named first.
PROBE = """
import contextlib, io, json, sys
report, args = sys.argv[1], sys.argv[2:]
from egide.cli.main import app
out = io.StringIO()
code = None
with contextlib.redirect_stdout(out):
    try:
        app(args, prog_name="egide")
    except SystemExit as exc:
        code = exc.code
loaded = sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m in WATCH})
with open(report, "w", encoding="utf-8") as f:
    json.dump({"code": code, "stdout": out.getvalue(), "modules": loaded}, f)
"""


def egide_in_fresh_interpreter(tmp_path: Path, *args: str) -> dict[str, Any]:
    report = tmp_path / "probe.json"
    code = f"WATCH = {{'sqlalchemy.orm', *{WRITE_SIDE!r}}}\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-c", code, str(report), *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    assert result["code"] in (0, None), (result, done.stderr)
    return result


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in HEAVY if m in modules]


@pytest.fixture
def env(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EGIDE_NOW", NOW)
    return cli_env


def bound_policy() -> str:
    runner = CliRunner()
    saved = runner.invoke(app, ["quote", "price", str(PRACTICE), "--save", "--quiet"])
    assert saved.exit_code == 0, saved.output
    bound = runner.invoke(app, ["policy", "bind", saved.stdout.strip(), "--quiet"])
    assert bound.exit_code == 0, bound.output
    return bound.stdout.strip()


def test_help_lists_the_commands_without_the_numerical_stack_or_a_database(
    tmp_path: Path,
) -> None:
    result = egide_in_fresh_interpreter(tmp_path, "--help")
    for group in ("quote", "policy", "claim", "portfolio", "model", "audit", "db"):
        assert group in result["stdout"]
    assert heavy_in(result["modules"]) == []
    assert "sqlalchemy" not in result["modules"]
    assert "alembic" not in result["modules"]


def test_quote_price_json_prices_without_the_numerical_stack_or_a_database(
    tmp_path: Path,
) -> None:
    result = egide_in_fresh_interpreter(tmp_path, "quote", "price", str(PRACTICE), "--json")
    priced = json.loads(result["stdout"])
    assert priced["decision"] == "accept"
    assert priced["premium"]["total"]
    assert heavy_in(result["modules"]) == []
    assert "sqlalchemy" not in result["modules"]  # nothing is stored: no database at all


def test_policy_show_on_a_current_schema_loads_neither_the_numerical_stack_nor_alembic(
    env: str, tmp_path: Path
) -> None:
    number = bound_policy()
    result = egide_in_fresh_interpreter(tmp_path, "policy", "show", number, "--json")
    shown = json.loads(result["stdout"])
    assert shown["policy_number"] == number
    assert [t["kind"] for t in shown["transactions"]] == ["issue"]
    assert heavy_in(result["modules"]) == []
    assert "sqlalchemy.orm" in result["modules"]  # it did read the database
    assert "alembic" not in result["modules"]
    # a read neither prices, underwrites nor writes: the rating, the underwriting rules, the
    # audit trail and the idempotency keys stay unloaded
    assert [m for m in WRITE_SIDE if m in result["modules"]] == []


def test_quote_price_save_loads_alembic_only_when_the_schema_must_be_created(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = egide_in_fresh_interpreter(tmp_path, "quote", "price", str(PRACTICE), "--save")
    assert "Saved as quote" in current["stdout"]
    assert heavy_in(current["modules"]) == []
    assert "alembic" not in current["modules"]

    monkeypatch.setenv("EGIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh = egide_in_fresh_interpreter(tmp_path, "quote", "price", str(PRACTICE), "--save")
    assert "Saved as quote" in fresh["stdout"]
    assert "alembic" in fresh["modules"]  # the new database was brought to the latest schema
    assert heavy_in(fresh["modules"]) == []
