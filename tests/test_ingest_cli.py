"""`portfolio simulate BOOK` on the column reader: a malformed book is refused naming its rows and
columns with nothing stored, a run is saved with the book's column fingerprint, each loading stage
reports its progress, and the fingerprint is the documented hash."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from egide.actuarial.book import FINGERPRINT_VERSION, FLAG_FIELDS, BookColumns
from egide.actuarial.engine import simulate_book
from egide.actuarial.oed import read_book
from egide.actuarial.systemic import systemic_model_of
from egide.cli.main import app
from egide.db.engine import make_engine
from egide.domain.product import COVERAGES, Product
from egide.services.portfolio import LOAD_STAGES, book_fingerprint, load_book_file
from tests.conftest import EXAMPLES

runner = CliRunner()


def count_runs(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from portfolio_runs")).scalar_one())
    finally:
        engine.dispose()


def malformed_book(folder: Path) -> Path:
    with (EXAMPLES / "book-small.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[:31]
    header = rows[0]
    rows[3][header.index("FlexiAccEdr")] = "peut-être"
    rows[5][header.index("AnnualRevenue")] = "beaucoup"
    rows[17][header.index("LayerParticipation")] = "0.5"
    rows[30][header.index("PolNumber")] = rows[2][header.index("PolNumber")]
    path = folder / "malformed.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_a_malformed_book_names_its_rows_and_columns_and_stores_nothing(
    any_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_DATABASE_URL", any_url)
    book = malformed_book(tmp_path)
    result = runner.invoke(app, ["portfolio", "simulate", str(book), "--years", "50"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, result.stderr
    assert errors[0].startswith(f"error: {book}: row 3 (AccNumber 'EG0000003', PolNumber")
    assert "FlexiAccEdr (security.edr): must be 1 or 0 [type]" in errors[0]
    assert "row 5 " in errors[1] and "AnnualRevenue (establishment.annual_revenue)" in errors[1]
    assert "row 17 " in errors[2] and "LayerParticipation: must be 1" in errors[2]
    assert "row 30 " in errors[3] and "PolNumber: repeats row 2 [unique]" in errors[3]
    assert count_runs(any_url) == 0


def test_a_simulated_book_file_is_saved_with_the_fingerprint_of_its_columns(
    cli_env: str, product: Product
) -> None:
    book = EXAMPLES / "book-small.parquet"
    args = ["portfolio", "simulate", str(book), "--years", "120", "--seed", "4", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    shown = json.loads(runner.invoke(app, ["portfolio", "show", out["run_id"], "--json"]).stdout)
    entries = read_book(book, product)
    assert shown["book_sha256"] == book_fingerprint(entries)
    assert shown["book_sha256"] == load_book_file(book, product).fingerprint
    # the product's own systemic events (2026.2: those defined on the French market)
    expected = simulate_book(entries, product, 120, 4, systemic=systemic_model_of(product))
    assert {k: v for k, v in out.items() if k not in ("run_id", "started_by")} == json.loads(
        expected.to_json()
    )


def test_loading_a_book_reports_each_stage_to_its_end(product: Product) -> None:
    seen: dict[str, list[tuple[int, int]]] = {}
    load_book_file(
        EXAMPLES / "book-small.csv",
        product,
        lambda stage, done, total: seen.setdefault(stage, []).append((done, total)),
    )
    assert list(seen) == list(LOAD_STAGES)
    for calls in seen.values():
        done, total = calls[-1]
        assert done == total > 0
        assert all(d <= t for d, t in calls)


def test_the_fingerprint_is_the_hash_docs_portfolio_md_describes(product: Product) -> None:
    columns = BookColumns.from_entries(read_book(EXAMPLES / "book-small.csv", product)[:3])
    digest = hashlib.sha256(FINGERPRINT_VERSION)
    digest.update((3).to_bytes(8, "little", signed=True))
    for name in BookColumns.__dataclass_fields__:
        value = getattr(columns, name)
        digest.update(name.encode() + b"\0")
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            digest.update(b"".join(np.float64(x + 0.0).tobytes() for x in value.ravel()))
        elif isinstance(value, np.ndarray):
            size = 1 if value.dtype == np.int8 else 8
            digest.update(
                b"".join(int(x).to_bytes(size, "little", signed=True) for x in value.ravel())
            )
        else:
            texts = value.to_pylist()
            for t in texts:
                length = -1 if t is None else len(t.encode())
                digest.update(length.to_bytes(8, "little", signed=True))
            digest.update(b"".join(t.encode() for t in texts if t is not None))
    assert columns.fingerprint() == digest.hexdigest()
    assert columns.flags.shape == (3, len(FLAG_FIELDS))
    assert columns.sublimit.shape == (3, len(COVERAGES))
