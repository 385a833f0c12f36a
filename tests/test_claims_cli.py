"""`egide claim ...` end to end with CliRunner: the product sheet's case (quote → bind → declare →
settle → statement), the JSON contracts, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pypdf
import pytest
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from tests.conftest import EXAMPLES, REPO

runner = CliRunner()
CASE = EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml"
BRIEF = EXAMPLES / "claims" / "rancongiciel-clinique.yaml"


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.stderr if result.stderr_bytes else "")
    return result.stdout


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def bind_demo(monkeypatch: pytest.MonkeyPatch) -> str:
    """Quote the demo practice (100 000 EUR aggregate, 1 000 EUR deductible) and bind it."""
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    quote = run_json(
        "quote", "price", str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"), "--save"
    )
    assert (quote["aggregate_limit"], quote["deductible"]) == ("100000.00", "1000.00")
    policy = run_json("policy", "bind", quote["quote_number"], "--start", "2027-01-01")
    return str(policy["policy_number"])


def test_the_product_sheets_data_leak_pays_24_570_euros_and_the_statement_lists_each_line(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = bind_demo(monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T17:00:00+01:00")
    declared = run_json("claim", "declare", policy, str(CASE), "--actor", "gestionnaire")
    assert declared["covered"] is True
    assert declared["payable_total"] == "24570.00"
    assert [(x["category"], x["payable"]) for x in declared["lines"]] == [
        ("it_forensics", "8400.00"),
        ("public_relations", "2170.00"),
        ("third_party_defence", "3500.00"),
        ("third_party_damages", "10500.00"),
    ]
    claim_id = declared["claim_id"]
    paid = run_json("claim", "settle", claim_id, "--idempotency-key", "pay-1")
    assert paid["claim_id"] == claim_id
    assert (paid["paid_total"], paid["remaining_aggregate"]) == ("24570.00", "75430.00")
    pdf_path = tmp_path / "decompte.pdf"
    run("claim", "statement", claim_id, "-o", str(pdf_path))
    reader = pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Décompte de sinistre" in text
    for label in (
        "Expertise informatique",
        "Communication de crise",
        "Défense contre une réclamation de tiers",
        "préjudice moral compris",
    ):
        assert label in text
    for amount in ("8 400,00", "2 170,00", "3 500,00", "10 500,00", "24 570,00"):
        assert amount in text


def test_declare_prints_the_contract_and_the_issue_example_is_accepted(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = bind_demo(monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    out = run_json("claim", "declare", policy, str(BRIEF))
    assert set(out) >= {"claim_id", "covered", "reasons", "payable_total", "lines", "deadlines"}
    assert out["payable_total"] == "37500.00"
    for line in out["lines"]:
        assert set(line) >= {"category", "coverage", "claimed", "payable", "reasons"}
    for deadline in out["deadlines"]:
        assert set(deadline) >= {"code", "due_at", "status"}
    clock = run_json("claim", "clock", out["claim_id"])
    assert clock["claim_id"] == out["claim_id"]
    assert {d["code"] for d in clock["deadlines"]} == {"complaint", "insurer_notice"}
    assert "Incident clock" in run("claim", "clock", out["claim_id"])
    assert out["claim_id"] in run("claim", "show", out["claim_id"])


@pytest.mark.parametrize(
    "costs",
    [
        [{"category": "champagne", "amount": 10}],
        [{"category": "it_forensics", "amount": -10}],
    ],
)
def test_bad_claim_files_exit_2_and_store_nothing(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, costs: list[dict[str, Any]]
) -> None:
    policy = bind_demo(monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    data = yaml.safe_load(BRIEF.read_text(encoding="utf-8"))
    data["costs"] = costs
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["claim", "declare", policy, str(bad)])
    assert result.exit_code == 2
    assert "costs[0]" in result.stderr
    again = runner.invoke(app, ["claim", "show", "SIN-NONE"])
    assert again.exit_code == 2


def test_discovery_before_start_and_naive_times_exit_2(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = bind_demo(monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    text = BRIEF.read_text(encoding="utf-8")
    for broken in (
        text.replace(
            "discovered_at: 2027-02-21T07:30:00+01:00", "discovered_at: 2027-02-19T07:30:00+01:00"
        ),
        text.replace("started_at: 2027-02-20T08:00:00+01:00", "started_at: 2027-02-20T08:00:00"),
    ):
        f = tmp_path / "c.yaml"
        f.write_text(broken, encoding="utf-8")
        result = runner.invoke(app, ["claim", "declare", policy, str(f)])
        assert result.exit_code == 2, result.output
        assert "incident." in result.stderr


def test_an_unknown_policy_exits_2(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    result = runner.invoke(app, ["claim", "declare", "POL-NOPE", str(BRIEF)])
    assert result.exit_code == 2
    assert "POL-NOPE" in result.stderr


def test_partial_payment_costs_reopen_and_conflicts(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = bind_demo(monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    claim_id = run_json("claim", "declare", policy, str(BRIEF))["claim_id"]
    assert run_json("claim", "settle", claim_id, "--amount", "1000")["paid_total"] == "1000.00"
    assert runner.invoke(app, ["claim", "settle", claim_id, "--amount", "999999"]).exit_code == 2
    assert runner.invoke(app, ["claim", "settle", claim_id, "--amount", "abc"]).exit_code == 2
    assert runner.invoke(app, ["claim", "reopen", claim_id, "--note", "x"]).exit_code == 3
    costs = tmp_path / "costs.yaml"
    costs.write_text("- {category: legal_advice, amount: 1500}\n", encoding="utf-8")
    added = run_json("claim", "add-costs", claim_id, str(costs), "--idempotency-key", "c-1")
    assert added["payable_total"] == "39000.00"
    # the same key with the same request: the first result, no second cost
    assert (
        run_json("claim", "add-costs", claim_id, str(costs), "--idempotency-key", "c-1")[
            "payable_total"
        ]
        == "39000.00"
    )
    flagged = run_json("claim", "amend", claim_id, "--set", "incident.state_sponsored=true")
    assert flagged["covered"] is False and "excluded_war" in flagged["reasons"]
    run_json("claim", "amend", claim_id, "--set", "incident.state_sponsored=false")
    closed = run_json("claim", "settle", claim_id, "--final")
    assert closed["status"] == "closed" and closed["paid_total"] == "39000.00"
    assert runner.invoke(app, ["claim", "settle", claim_id]).exit_code == 3
    assert run_json("claim", "reopen", claim_id, "--note", "facture tardive")["status"] == "open"
