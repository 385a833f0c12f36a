"""`egide policy ...` end to end through the CLI (one test per command), on the test's SQLite
database, the clock frozen with EGIDE_NOW."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.engine import make_engine
from tests.conftest import EXAMPLES

runner = CliRunner()


@pytest.fixture
def env(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    return cli_env


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


def rows(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        p = conn.execute(sa.text("SELECT count(*) FROM policies")).scalar_one()
        t = conn.execute(sa.text("SELECT count(*) FROM policy_transactions")).scalar_one()
    engine.dispose()
    return p, t


def quote(name: str = "cabinet-medical.yaml") -> str:
    return str(run("quote", "price", str(EXAMPLES / name), "--save", "--json")["quote_number"])


def bind(env: str) -> str:
    return str(run("policy", "bind", quote(), "--json", "--actor", "alice")["policy_number"])


def test_policy_bind_prints_the_policy_contract(env: str) -> None:
    q = quote()
    out = run("policy", "bind", q, "--start", "2026-12-02", "--json", "--idempotency-key", "b1")
    assert {"policy_number", "status", "period_start", "period_end", "premium"} <= set(out)
    assert out["status"] == "not_yet_in_force"
    assert out["period_start"] == "2026-12-02T00:00:00+01:00"
    assert out["period_end"] == "2027-12-02T00:00:00+01:00"
    assert set(out["premium"]) == {"net", "tax", "total"}
    again = run("policy", "bind", q, "--start", "2026-12-02", "--json", "--idempotency-key", "b1")
    assert again == out
    assert rows(env) == (1, 1)
    bad = run("policy", "bind", quote(), "--start", "2026-13-01", code=2)
    assert "start" in bad.output
    assert rows(env) == (1, 1)


def test_policy_endorse_takes_several_sets_and_prints_the_premium_change(env: str) -> None:
    number = bind(env)
    out = run(
        "policy", "endorse", number, "--effective", "2027-03-01",
        "--set", "cover.limit=1000000", "--set", "security.edr=true",
        "--set", "establishment.annual_revenue=500000", "--json",
    )  # fmt: skip
    assert out["policy_number"] == number and out["transaction"] == 2
    assert set(out["premium_change"]) == {"net", "tax", "total"}
    shown = run("policy", "show", number, "--as-of", "2027-03-01", "--json")
    assert shown["aggregate_limit"] == "1000000.00"
    changes = {c["field"] for c in shown["transactions"][1]["changes"]}
    assert changes == {"cover.limit", "security.edr", "establishment.annual_revenue"}


def test_policy_endorse_with_a_bad_value_exits_2_naming_the_field_and_writes_nothing(
    env: str,
) -> None:
    number = bind(env)
    for args, field in [
        (["--set", "cover.limit=123"], "cover.limit"),
        (["--set", "security.edr=maybe"], "security.edr"),
        (["--set", "nonsense"], "set"),
        (["--set", "cover.bogus=1"], "cover.bogus"),
    ]:
        result = run("policy", "endorse", number, "--effective", "2027-03-01", *args, code=2)
        assert field in result.output
    result = run(
        "policy", "endorse", number, "--effective", "2026-01-01", "--set", "cover.limit=250000",
        code=2,
    )  # fmt: skip
    assert "effective" in result.output
    assert rows(env) == (1, 1)


def test_policy_cancel_prints_the_refund(env: str) -> None:
    number = bind(env)
    out = run(
        "policy", "cancel", number, "--effective", "2027-06-01", "--reason", "insured_request",
        "--json",
    )  # fmt: skip
    assert out["transaction"] == 2 and out["premium_change"]["net"].startswith("-")
    bad = run(
        "policy", "cancel", number, "--effective", "2027-06-01", "--reason", "boredom", code=2
    )
    assert "reason" in bad.output


def test_policy_reinstate_puts_the_policy_back_in_force(env: str) -> None:
    number = bind(env)
    run("policy", "cancel", number, "--effective", "2027-06-01", "--reason", "non_payment")
    out = run("policy", "reinstate", number, "--effective", "2027-06-10", "--json")
    assert out["kind"] == "reinstate"
    assert run("policy", "show", number, "--as-of", "2027-06-10", "--json")["status"] == "in_force"
    assert run("policy", "show", number, "--as-of", "2027-06-09", "--json")["status"] == "cancelled"


def test_policy_renew_reads_updated_answers_and_refuses_a_declined_risk(
    env: str, tmp_path: Path
) -> None:
    number = bind(env)
    poor = yaml.safe_load((EXAMPLES / "cases" / "cabinet-medical-poor-security.yaml").read_text())
    poor["establishment"] = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text())[
        "establishment"
    ]
    declined = tmp_path / "declined.yaml"
    declined.write_text(yaml.safe_dump(poor), encoding="utf-8")
    refused = run("policy", "renew", number, "--application", str(declined), code=3)
    assert "declines" in refused.output
    out = run("policy", "renew", number, "--application", str(EXAMPLES / "cabinet-medical.yaml"), "--json")  # fmt: skip
    assert out["kind"] == "renew" and out["effective"] == "2027-12-01"


def test_policy_show_gives_the_cover_on_a_date_and_the_whole_history(env: str) -> None:
    number = bind(env)
    run("policy", "endorse", number, "--effective", "2027-03-01", "--set", "cover.limit=250000")
    out = run("policy", "show", number, "--as-of", "2027-02-28", "--json")
    assert {"policy_number", "status", "coverages", "transactions"} <= set(out)
    assert out["status"] == "in_force" and out["aggregate_limit"] == "100000.00"
    assert len(out["coverages"]) == 6
    assert [t["kind"] for t in out["transactions"]] == ["issue", "endorse"]
    assert out["transactions"][0]["actor"] == "local operator (alice)"
    text = run("policy", "show", number)
    assert number in text.output
    assert run("policy", "show", "POL-NOPE", code=2).output
    assert "as_of" in run("policy", "show", number, "--as-of", "tomorrow", code=2).output


def test_reusing_a_key_for_another_request_or_a_stale_version_exits_3(env: str) -> None:
    number = bind(env)
    run("policy", "endorse", number, "--effective", "2027-03-01", "--set", "cover.limit=250000",
        "--idempotency-key", "k", "--expected-version", "1")  # fmt: skip
    reused = run("policy", "endorse", number, "--effective", "2027-03-01",
                 "--set", "cover.limit=500000", "--idempotency-key", "k", code=3)  # fmt: skip
    assert "different request" in reused.output
    stale = run("policy", "endorse", number, "--effective", "2027-03-01",
                "--set", "cover.limit=500000", "--expected-version", "1", code=3)  # fmt: skip
    assert "version" in stale.output
    assert rows(env) == (1, 2)


def test_policy_documents_writes_the_french_pdfs(env: str, tmp_path: Path) -> None:
    number = bind(env)
    run("policy", "endorse", number, "--effective", "2027-03-01", "--set", "cover.limit=250000")
    out = run("policy", "documents", number, "-o", str(tmp_path / "docs"), "--json")
    names = sorted(Path(f).name for f in out["files"])
    assert names[0].endswith("attestation.pdf")
    assert any("avenant-1" in n for n in names)
    assert any("conditions-particulieres-T1" in n for n in names)
    assert any("proposition" in n for n in names)
    assert all(Path(f).read_bytes().startswith(b"%PDF") for f in out["files"])


def test_quote_document_writes_the_proposition(env: str, tmp_path: Path) -> None:
    q = quote()
    result = run("quote", "document", q, "-o", str(tmp_path))
    assert (tmp_path / f"{q}-proposition.pdf").read_bytes().startswith(b"%PDF")
    assert result.exit_code == 0
