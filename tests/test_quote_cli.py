"""Quotes end to end: the worked examples and cases through the CLI and the service layer,
the JSON contract, saving and showing a quote identically, reviewing a referred quote."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.uow import SqlUnitOfWork
from egide.domain.access import Action
from egide.domain.product import COVERAGES, Product
from egide.services import quotes
from egide.services.results import contract
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR

WORKED = ["cabinet-medical", "pharmacie", "laboratoire", "clinique-120-lits", "chu-1500-lits"]
ALL_EXAMPLES = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "cases").glob("*.yaml"))
runner = CliRunner()


def test_there_are_five_worked_examples_and_at_least_a_dozen_more_cases() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.yaml")} >= set(WORKED)
    assert len(list((EXAMPLES / "cases").glob("*.yaml"))) >= 12


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
def test_every_example_prices_the_same_through_the_cli_and_the_service(
    path: Path, product: Product
) -> None:
    result = runner.invoke(app, ["quote", "price", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    priced = quotes.price_quote(yaml.safe_load(path.read_text(encoding="utf-8")), product)
    assert out == contract(priced)
    # the output contract
    assert out["decision"] in {"accept", "refer", "decline"}
    assert all({"code", "message"} <= set(r) for r in out["reasons"])
    assert isinstance(out["security_score"], int) and 0 <= out["security_score"] <= 100
    assert [c["code"] for c in out["coverages"]] == list(COVERAGES)
    for c in out["coverages"]:
        assert {"code", "limit", "deductible", "premium", "expected_loss"} <= set(c)
        assert Decimal(c["limit"]) <= Decimal(out["aggregate_limit"])
    net, tax, total = (Decimal(out["premium"][k]) for k in ("net", "tax", "total"))
    assert net + tax == total
    assert sum(Decimal(c["premium"]) for c in out["coverages"]) == net
    for r in out["recommendations"]:
        assert {"code", "message", "premium_change"} <= set(r)
        assert Decimal(r["premium_change"]) <= 0
    human = runner.invoke(app, ["quote", "price", str(path)], terminal_width=160)
    assert human.exit_code == 0
    assert out["decision"].upper() in human.output


def test_the_practice_pays_a_few_hundred_euros_for_100k(product: Product) -> None:
    out = quotes.price_quote(
        yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text()), product
    )
    assert out.aggregate_limit == Decimal(100_000)
    assert Decimal(150) < out.premium.total < Decimal(1000)
    assert out.decision == "accept"


def test_a_saved_quote_shows_identically_even_after_the_product_file_changes(
    tmp_path: Path, cli_env: str, frozen_now: str
) -> None:
    folder = Path(str(resources.files("egide.products")))
    for name in ("cyber-sante-v1.toml", "risk-model-v1.toml"):
        shutil.copy(folder / name, tmp_path / name)
    prod = tmp_path / "cyber-sante-v1.toml"
    saved = runner.invoke(
        app,
        [
            "quote",
            "price",
            str(EXAMPLES / "pharmacie.yaml"),
            "--save",
            "--json",
            "--product",
            str(prod),
        ],
    )
    assert saved.exit_code == 0, saved.output
    first = json.loads(saved.output)
    number = first["quote_number"]
    assert first["valid_until"].startswith("2026-12-31")  # 30 days after 1 December, end of day
    assert first["product"] == "egide-cyber-sante@2026.1"
    # the product changes (a new version with a higher tax): the stored quote does not
    text = prod.read_text(encoding="utf-8").replace('version = "2026.1"', 'version = "2027.1"')
    prod.write_text(text.replace('rate = "0.09"', 'rate = "0.10"'), encoding="utf-8")
    shown = runner.invoke(app, ["quote", "show", number, "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.output) == first
    repriced = runner.invoke(
        app, ["quote", "price", str(EXAMPLES / "pharmacie.yaml"), "--json", "--product", str(prod)]
    )
    assert json.loads(repriced.output)["premium"] != first["premium"]
    human = runner.invoke(app, ["quote", "show", number], terminal_width=160)
    assert number in human.output


def test_changing_a_recorded_product_without_a_new_version_is_refused(
    tmp_path: Path, cli_env: str
) -> None:
    folder = Path(str(resources.files("egide.products")))
    for name in ("cyber-sante-v1.toml", "risk-model-v1.toml"):
        shutil.copy(folder / name, tmp_path / name)
    prod = tmp_path / "cyber-sante-v1.toml"
    args = ["quote", "price", str(EXAMPLES / "pharmacie.yaml"), "--save", "--product", str(prod)]
    assert runner.invoke(app, args).exit_code == 0
    prod.write_text(
        prod.read_text(encoding="utf-8").replace('rate = "0.09"', 'rate = "0.10"'), encoding="utf-8"
    )
    again = runner.invoke(app, args)
    assert again.exit_code == 3
    assert "new version" in again.output


def test_an_unknown_quote_is_bad_input(cli_env: str) -> None:
    result = runner.invoke(app, ["quote", "show", "DEV-0-NOPE"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_referred_quote_is_approved_once_with_a_note(
    uow: SqlUnitOfWork, product: Product
) -> None:
    data = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))
    saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    if saved.decision != "refer":
        data["history"] = {"incidents_last_5_years": 2, "ransomware_last_5_years": 0}
        saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    assert saved.status == "referred"
    number = saved.quote_number
    from egide.domain.errors import Conflict, InvalidInput

    with pytest.raises(InvalidInput):
        quotes.review_quote(uow, OPERATOR, number, True, "  ", "uw")
    approved = quotes.review_quote(
        uow, OPERATOR, number, True, "Rapport d'incident reçu", "uw.dupont"
    )
    assert approved.status == "approved"
    assert approved.review is not None and approved.review.by == "local operator (uw.dupont)"
    with pytest.raises(Conflict):
        quotes.review_quote(uow, OPERATOR, number, False, "trop tard", "uw")


def test_the_demo_seeds_its_accounts_once_and_each_can_log_in(
    cli_env: str, frozen_now: str
) -> None:
    from egide.services import accounts

    first = runner.invoke(app, ["demo", "--seed-only", "--json"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["demo", "--seed-only", "--json"])
    assert json.loads(again.stdout) == json.loads(first.stdout)  # idempotent
    seeded = json.loads(first.stdout)
    roles = {r for a in seeded for r in a["roles"]}
    assert roles == {
        "underwriter",
        "claims_handler",
        "actuary",
        "admin",
        "broker",
        "establishment_manager",
    }
    assert sum("broker" in a["roles"] for a in seeded) == 2
    uow = SqlUnitOfWork.from_url(cli_env)
    for account in seeded:
        principal = accounts.authenticate_user(uow, account["email"], account["password"])
        assert principal.label == account["email"]
    with uow:
        found = uow.quotes.find()
        assert len(found) == 3 and {q.status for q in found} == {"bound", "referred"}
        assert len(uow.claims.find(status="open")) == 1
        assert len({q.establishment_id for q in found}) == 3


def test_the_demo_is_refused_in_production(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGIDE_ENV", "production")
    monkeypatch.setenv("EGIDE_AUDIT_KEY", "".join(f"{i * 37 % 256:02x}" for i in range(32)))
    result = runner.invoke(app, ["demo", "--seed-only"])
    assert result.exit_code == 5 and "EGIDE_ENV=production" in result.output
    assert "demo-egide" not in result.output


def test_a_malformed_clock_is_bad_input(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00")  # no offset
    result = runner.invoke(
        app, ["quote", "price", str(EXAMPLES / "cabinet-medical.yaml"), "--save"]
    )
    assert result.exit_code == 2 and "EGIDE_NOW" in result.output


def test_a_saved_quote_reprices_identically_from_its_recorded_product_version(
    tmp_path: Path, uow: SqlUnitOfWork
) -> None:
    from egide.domain.product import load_product
    from egide.services.products import stored_product

    folder = Path(str(resources.files("egide.products")))
    for name in ("cyber-sante-v1.toml", "risk-model-v1.toml"):
        shutil.copy(folder / name, tmp_path / name)
    prod_file = tmp_path / "cyber-sante-v1.toml"
    product = load_product(prod_file)
    data = yaml.safe_load((EXAMPLES / "laboratoire.yaml").read_text(encoding="utf-8"))
    saved = quotes.save_quote(uow, OPERATOR, data, product, "broker")
    # the files change afterwards; the recorded version still prices the stored inputs the same
    prod_file.write_text(
        prod_file.read_text(encoding="utf-8").replace('rate = "0.09"', 'rate = "0.12"'),
        encoding="utf-8",
    )
    with uow:
        recorded = stored_product(uow, saved.priced.product)
        row = quotes.quote_row(uow, OPERATOR, Action.QUOTE_READ, saved.quote_number)
        stored_inputs = row.application
    again = quotes.price_quote(stored_inputs, recorded)
    assert again == saved.priced
    assert (
        quotes.price_quote(stored_inputs, load_product(prod_file)).premium != saved.priced.premium
    )
