"""Tenancy end to end through the CLI, on SQLite and PostgreSQL: `--as` acts as a user; another
brokerage's quote, policy or claim does not exist (exit 2, the same words as an unknown number);
a role that does not allow an action exits 4 with the reason; lists never return a foreign row;
a foreign idempotency key neither replays nor blocks; the audit trail catches an object moved to
another tenant through SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from egide.cli.common import EXIT_BAD_INPUT, EXIT_NOT_ALLOWED
from egide.cli.main import app
from egide.db.engine import make_engine
from egide.services import accounts
from tests.conftest import EXAMPLES

runner = CliRunner()
PASSWORD = "une phrase de passe assez longue"
CLINIC_SIRET = "98347017000041"  # examples/clinique-120-lits.yaml


def egide(*args: str, code: int = 0, stdin: str | None = None, stdout: bool = False) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, (args, result.output)
    assert "Traceback" not in result.output
    return result.stdout if stdout else result.output


def data(*args: str) -> Any:
    return json.loads(egide(*args, "--json", stdout=True))


@pytest.fixture
def tenants(any_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the parameters: elsewhere
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    monkeypatch.setenv("EGIDE_DATABASE_URL", any_url)
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    monkeypatch.delenv("EGIDE_AS", raising=False)
    a = data("org", "create", "--kind", "brokerage", "--name", "Courtage A", "--siren",
             "732829320", "--orias", "07012345")["id"]  # fmt: skip
    b = data("org", "create", "--kind", "brokerage", "--name", "Courtage B", "--siren",
             "552100554", "--orias", "07054321")["id"]  # fmt: skip
    clinic = data("org", "create", "--kind", "establishment", "--name", "Clinique",
                  "--siret", CLINIC_SIRET, "--broker", str(a))["id"]  # fmt: skip
    insurer = 1
    users = {
        "claire@a.example": (a, "broker"),
        "paul@b.example": (b, "broker"),
        "dir@clinique.example": (clinic, "establishment_manager"),
        "uw@egide.example": (insurer, "underwriter"),
        "claims@egide.example": (insurer, "claims_handler"),
        "actuary@egide.example": (insurer, "actuary"),
    }
    for email, (org, role) in users.items():
        egide("user", "create", "--org", str(org), "--role", role, "--email", email,
              "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    return {"a": a, "b": b, "clinic": clinic, "url": any_url}


def test_tenants_see_their_own_and_roles_limit_the_rest(
    tenants: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    practice = str(EXAMPLES / "cabinet-medical.yaml")
    q = egide("quote", "price", practice, "--save", "-q", "--as", "claire@a.example").strip()
    # another brokerage: does not exist, in the words of an unknown number
    foreign = egide("quote", "show", q, "--as", "paul@b.example", code=EXIT_BAD_INPUT)
    unknown = egide("quote", "show", "DEV-20270110-000000", "--as", "paul@b.example",
                    code=EXIT_BAD_INPUT)  # fmt: skip
    assert "does not exist" in foreign
    assert foreign.replace(q, "N") == unknown.replace("DEV-20270110-000000", "N")
    assert data("quote", "list", "--as", "paul@b.example") == {"items": [], "next_cursor": None}
    mine = data("quote", "list", "--as", "claire@a.example")["items"]
    assert [i["quote_number"] for i in mine] == [q]
    assert mine[0]["broker_id"] == tenants["a"]

    # the establishment manager's referred quote: neither it nor a claims handler may approve
    clinic = str(EXAMPLES / "clinique-120-lits.yaml")
    r = egide("quote", "price", clinic, "--save", "-q", "--as", "dir@clinique.example").strip()
    for who in ("dir@clinique.example", "claims@egide.example"):
        refused = egide("quote", "approve", r, "--note", "ok", "--as", who, code=EXIT_NOT_ALLOWED)
        assert "quote.review needs the role underwriter" in refused
    egide("quote", "approve", r, "--note", "Plan de reprise reçu", "--as", "uw@egide.example")
    # a broker's list shows its establishment's quote, never the other brokerage's
    assert {i["quote_number"] for i in data("quote", "list", "--as", "claire@a.example")[
        "items"]} == {q, r}  # fmt: skip

    p = egide("policy", "bind", q, "--start", "2027-01-10", "-q", "--as", "claire@a.example")
    p = p.strip()
    egide("policy", "show", p, "--as", "paul@b.example", code=EXIT_BAD_INPUT)
    refused = egide("policy", "endorse", p, "--effective", "2027-02-01", "--set",
                    "cover.limit=250000", "--as", "actuary@egide.example",
                    code=EXIT_NOT_ALLOWED)  # fmt: skip
    assert "policy.change" in refused
    listed = data("policy", "list", "--as", "claire@a.example", "--in-force-on", "2027-02-01")
    assert [i["policy_number"] for i in listed["items"]] == [p]
    assert data("policy", "list", "--as", "paul@b.example")["items"] == []

    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")  # the leak found the day before
    leak = str(EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml")
    c = egide("claim", "declare", p, leak, "-q", "--as", "claire@a.example").strip()
    egide("claim", "show", c, "--as", "paul@b.example", code=EXIT_BAD_INPUT)
    refused = egide("claim", "settle", c, "--as", "uw@egide.example", code=EXIT_NOT_ALLOWED)
    assert "claim.settle needs the role claims_handler" in refused
    egide("claim", "settle", c, "--as", "claims@egide.example")
    assert [i["claim_id"] for i in data("claim", "list", "--as", "claims@egide.example")[
        "items"]] == [c]  # fmt: skip
    assert data("claim", "list", "--as", "paul@b.example")["items"] == []
    egide("audit", "verify")
    assert "audit.verify needs the role admin" in egide(
        "audit", "verify", "--as", "claire@a.example", code=EXIT_NOT_ALLOWED
    )
    trail = data("audit", "history", "quote", q, "--as", "claire@a.example")["entries"]
    assert [(e["action"], e["by"]) for e in trail] == [
        ("saved", "local operator as claire@a.example"),
        ("handed over", "local operator as claire@a.example"),  # the IPID, at the bind
        ("handed over", "local operator as claire@a.example"),  # the advice record
        ("bound", "local operator as claire@a.example"),
    ]
    egide("audit", "history", "quote", q, "--as", "paul@b.example", code=EXIT_BAD_INPUT)
    # history names the principal: the local operator acting as the user
    history = data("policy", "show", p)["transactions"]
    assert history[0]["actor"] == "local operator as claire@a.example"


def test_a_foreign_idempotency_key_neither_replays_nor_blocks(tenants: dict[str, Any]) -> None:
    practice = str(EXAMPLES / "cabinet-medical.yaml")
    pharmacy = str(EXAMPLES / "pharmacie.yaml")
    qa = egide("quote", "price", practice, "--save", "-q", "--as", "claire@a.example").strip()
    qb = egide("quote", "price", pharmacy, "--save", "-q", "--as", "paul@b.example").strip()
    a = data("policy", "bind", qa, "--idempotency-key", "k-1", "--as", "claire@a.example")
    b = data("policy", "bind", qb, "--idempotency-key", "k-1", "--as", "paul@b.example")
    assert b["policy_number"] != a["policy_number"] and b["quote_number"] == qb
    again = data("policy", "bind", qa, "--idempotency-key", "k-1", "--as", "claire@a.example")
    assert again["policy_number"] == a["policy_number"]


def test_a_quote_moved_to_another_tenant_through_sql_is_reported(
    tenants: dict[str, Any],
) -> None:
    practice = str(EXAMPLES / "cabinet-medical.yaml")
    q = egide("quote", "price", practice, "--save", "-q", "--as", "claire@a.example").strip()
    egide("audit", "verify")
    engine = make_engine(tenants["url"])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE quotes SET broker_id = :b"), {"b": tenants["b"]})
    engine.dispose()
    broken = egide("audit", "verify", code=1)
    assert f"quote {q}: differs" in broken


def test_list_options_are_checked_before_any_work(tenants: dict[str, Any]) -> None:
    bad_day = egide("quote", "list", "--from", "2027-13-01", code=EXIT_BAD_INPUT)
    assert "--from" in bad_day and "[format]" in bad_day
    far = egide("policy", "list", "--in-force-on", "1850-01-01", code=EXIT_BAD_INPUT)
    assert "--in-force-on" in far and "[year_range]" in far
    assert "[range]" in egide("claim", "list", "--limit", "0", code=EXIT_BAD_INPUT)
    assert "[format]" in egide("quote", "list", "--cursor", "nope", code=EXIT_BAD_INPUT)
    assert "[range]" in egide("policy", "list", "--renewal-within", "400", code=EXIT_BAD_INPUT)
