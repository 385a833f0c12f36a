"""Portfolio runs: the book in force from the database, saved runs, ORD tables from the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.uow import SqlUnitOfWork
from egide.domain.application import parse_application
from egide.domain.errors import InvalidInput
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.portfolio import book_fingerprint, book_in_force
from tests.appdata import base_application
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR

runner = CliRunner()


def bind(uow: SqlUnitOfWork, product: Product, kind: str, start: str, **technology: str) -> str:
    data = base_application(kind)
    if technology:
        data["technology"] = technology
    saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    assert saved.decision == "accept", saved.priced.reasons
    return policies.bind_quote(
        uow, OPERATOR, saved.quote_number, "broker", start=start
    ).policy_number


def test_the_technology_answers_are_optional_normalised_and_checked(product: Product) -> None:
    data = base_application()
    assert parse_application(data, product).technology.software_vendor == "unknown"
    data["technology"] = {"software_vendor": "Editeur_A", "cloud_host": "HDS_Host_B"}
    app_ = parse_application(data, product)
    assert (app_.technology.software_vendor, app_.technology.cloud_host) == (
        "editeur_a",
        "hds_host_b",
    )
    assert parse_application(app_.to_data(), product) == app_
    data["technology"] = {"crm": "x"}
    with pytest.raises(InvalidInput) as err:
        parse_application(data, product)
    assert ("technology.crm", "unknown_key") in {(e.field, e.rule) for e in err.value.errors}


def test_the_database_book_holds_the_policies_in_force_with_their_dependencies(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    from datetime import datetime

    first = bind(uow, product, "cabinet_medical", "2026-12-01", software_vendor="editeur_a")
    bind(uow, product, "pharmacie", "2027-01-15")
    entries, refs = book_in_force(uow, datetime.fromisoformat("2027-01-02T12:00:00+01:00"))
    assert [e.policy_number for e in entries] == [first]
    assert entries[0].software_vendor == "editeur_a" and entries[0].cloud_host == "unknown"
    assert refs == [product.ref]
    later, _ = book_in_force(uow, datetime.fromisoformat("2027-02-01T12:00:00+01:00"))
    assert len(later) == 2
    assert book_fingerprint(later) == book_fingerprint(list(later))
    assert book_fingerprint(later) != book_fingerprint(later[:1])


def test_simulating_the_database_book_saves_a_run_that_shows_again(
    cli_env: str, product: Product, frozen_now: str
) -> None:
    uow = SqlUnitOfWork.from_url(cli_env)
    bind(uow, product, "cabinet_medical", "2026-12-01")
    bind(uow, product, "clinique", "2026-12-01")
    result = runner.invoke(
        app, ["portfolio", "simulate", "--from-db", "--years", "300", "--seed", "7", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["policies"] == 2 and out["years"] == 300 and out["seed"] == 7
    shown = runner.invoke(app, ["portfolio", "show", out["run_id"], "--json"])
    assert shown.exit_code == 0, shown.output
    run = json.loads(shown.stdout)
    assert run["aal"] == out["aal"] and run["var_995"] == out["var_995"]
    assert run["book_source"].startswith("database") and len(run["book_sha256"]) == 64
    assert run["product"] == product.ref
    nothing = runner.invoke(app, ["portfolio", "simulate", "--from-db", "--as-of", "2025-01-01"])
    assert nothing.exit_code == 2 and "no policy in force" in nothing.output


def test_a_book_file_run_writes_ord_tables_and_refuses_two_books(
    cli_env: str, tmp_path: Path
) -> None:
    book = EXAMPLES / "book-small.parquet"
    out = tmp_path / "ord"
    result = runner.invoke(
        app,
        [
            "portfolio",
            "simulate",
            str(book),
            "--years",
            "200",
            "--seed",
            "3",
            "--ord",
            str(out),
            "--no-save",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "run_id" not in data
    with (out / "il_S1_palt.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and float(rows[0]["MeanLoss"]) == pytest.approx(data["aal"], rel=1e-6)
    assert len(rows) == 7  # the total and each coverage
    # event level: each occurrence's loss, adding up to each year's loss and to the AAL
    splt = pd.read_csv(out / "il_S1_splt.csv")
    ylt = pd.read_csv(out / "il_S1_ylt.csv")
    total_id = 1
    by_year = splt[splt.SummaryId == total_id].groupby("Period").Loss.sum()
    annual = ylt[ylt.SummaryId == total_id].set_index("Period").Loss
    assert by_year.round(4).to_dict() == annual.round(4).to_dict()
    assert annual.sum() / 200 == pytest.approx(data["aal"], rel=1e-9)
    selt = pd.read_csv(out / "il_S1_selt.csv")
    assert set(selt.EventId) == set(splt.EventId)
    assert data["oep"]["2"] <= splt[splt.SummaryId == total_id].groupby("Period").Loss.max().max()
    both = runner.invoke(app, ["portfolio", "simulate", str(book), "--from-db"])
    assert both.exit_code == 2 and "not both" in both.output
    unknown = runner.invoke(app, ["portfolio", "show", "RUN-NOPE"])
    assert unknown.exit_code == 2 and "does not exist" in unknown.output
