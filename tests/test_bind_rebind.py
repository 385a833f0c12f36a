"""Binding an already bound quote: the same request again returns the first bind's response as it
was and writes nothing; another start, another retroactive date or a quote expired since is a
conflict naming the policy. On both backends for the service, on SQLite for the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.tables_policy import IdempotencyRow, PolicyRow, PolicyTransactionRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.results import contract
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR

runner = CliRunner()
DAY_1 = "2026-12-01T10:00:00+01:00"  # the quote is made then, valid to 31 December
DAY_2 = "2026-12-02T09:00:00+01:00"
EXPIRED = "2027-01-15T10:00:00+01:00"


def save_quote(uow: SqlUnitOfWork, product: Product) -> str:
    data = yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text(encoding="utf-8"))
    return str(quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number)


def counts(uow: SqlUnitOfWork) -> tuple[int, int, int]:
    with uow:
        s = uow.session
        return tuple(  # type: ignore[return-value]
            s.scalar(sa.select(sa.func.count()).select_from(t)) or 0
            for t in (PolicyRow, PolicyTransactionRow, IdempotencyRow)
        )


def dumped(result: policies.BindResult) -> str:
    """What `policy bind --json` prints (key order included)."""
    return json.dumps(contract(result), ensure_ascii=False, indent=2)


@pytest.fixture
def setup(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> tuple[SqlUnitOfWork, str]:
    monkeypatch.setenv("EGIDE_NOW", DAY_1)
    uow = make_uow(any_url)
    return uow, save_quote(uow, product)


def test_the_same_bind_again_returns_the_first_response_unchanged_and_writes_nothing(
    setup: tuple[SqlUnitOfWork, str],
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    assert first.already_bound is False
    before = counts(uow)
    again = policies.bind_quote(uow, OPERATOR, q, "bob", start="2026-12-15")
    assert again.already_bound is True
    assert dumped(again) == dumped(first)  # byte for byte, its idempotency key included
    assert counts(uow) == before == (1, 1, 1)  # not even the second call's key is kept


def test_an_omitted_start_is_today_so_it_matches_on_the_day_and_conflicts_the_next(
    setup: tuple[SqlUnitOfWork, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice")
    assert contract(first)["period_start"] == "2026-12-01T00:00:00+01:00"
    same_day = policies.bind_quote(uow, OPERATOR, q, "alice")
    assert same_day.already_bound and dumped(same_day) == dumped(first)
    assert dumped(policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-01")) == dumped(
        first
    )
    monkeypatch.setenv("EGIDE_NOW", DAY_2)
    with pytest.raises(Conflict) as exc:
        policies.bind_quote(uow, OPERATOR, q, "alice")  # today is now 2 December: another start
    assert first.policy_number in str(exc.value)
    assert "2026-12-01" in str(exc.value) and "2026-12-02" in str(exc.value)
    assert counts(uow) == (1, 1, 1)


def test_another_start_or_retroactive_date_is_a_conflict_naming_the_policy(
    setup: tuple[SqlUnitOfWork, str],
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    for kw in (
        {"start": "2026-12-20"},
        {"start": "2026-12-15", "retroactive_date": "2026-01-01"},
    ):
        with pytest.raises(Conflict, match=first.policy_number):
            policies.bind_quote(uow, OPERATOR, q, "alice", **kw)
    assert counts(uow) == (1, 1, 1)


def test_a_quote_expired_since_its_bind_is_a_conflict_even_with_the_same_start(
    setup: tuple[SqlUnitOfWork, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    monkeypatch.setenv("EGIDE_NOW", EXPIRED)
    for kw in ({"start": "2026-12-15"}, {"start": "2027-01-20"}, {}):
        with pytest.raises(Conflict) as exc:
            policies.bind_quote(uow, OPERATOR, q, "alice", **kw)
        assert first.policy_number in str(exc.value) and "expired" in str(exc.value)
    assert counts(uow) == (1, 1, 1)


def test_a_retry_with_the_first_key_still_replays_whatever_the_day(
    setup: tuple[SqlUnitOfWork, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1")
    assert first.idempotency_key == "bind-1" and not first.already_bound
    retry = policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1")
    assert retry.already_bound and dumped(retry) == dumped(first)
    # the next day the omitted start would be another start, but the key says "the same request"
    monkeypatch.setenv("EGIDE_NOW", DAY_2)
    assert dumped(
        policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1")
    ) == dumped(first)
    with pytest.raises(Conflict, match="different request"):
        policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1", start="2026-12-20")
    assert counts(uow) == (1, 1, 1)


def test_a_rebind_after_the_policy_changed_still_returns_what_the_bind_did(
    setup: tuple[SqlUnitOfWork, str],
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    policies.endorse_policy(
        uow, OPERATOR, first.policy_number, "2027-02-01", {"security.edr": True}, "bob"
    )
    again = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    assert again.already_bound and dumped(again) == dumped(first)
    assert again.version == 1  # the bind's version, not the policy's current one


def test_a_bound_quote_whose_stored_response_is_gone_gets_the_same_response_rebuilt(
    setup: tuple[SqlUnitOfWork, str],
) -> None:
    uow, q = setup
    first = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    with uow:
        uow.session.execute(sa.delete(IdempotencyRow))
        uow.commit()
    again = policies.bind_quote(uow, OPERATOR, q, "alice", start="2026-12-15")
    assert again.already_bound and dumped(again) == dumped(first)


# --------------------------------------------------------------------------- CLI


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_policy_bind_twice_prints_the_same_json_and_a_note_on_stderr(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", DAY_1)
    saved = invoke("quote", "price", str(EXAMPLES / "pharmacie.yaml"), "--save", "--json")
    q = json.loads(saved.stdout)["quote_number"]
    first = invoke("policy", "bind", q, "--start", "2026-12-15", "--json")
    assert first.exit_code == 0, first.output
    assert "note:" not in first.stderr
    number = json.loads(first.stdout)["policy_number"]
    again = invoke("policy", "bind", q, "--start", "2026-12-15", "--json")
    assert again.exit_code == 0, again.output
    assert again.stdout == first.stdout
    assert again.stderr == f"note: quote {q} was already bound as {number}; nothing changed\n"
    plain = invoke("policy", "bind", q, "--start", "2026-12-15")
    assert plain.exit_code == 0 and number in plain.stdout and "already bound" in plain.stderr
    key = json.loads(first.stdout)["idempotency_key"]
    replay = invoke(
        "policy", "bind", q, "--start", "2026-12-15", "--json", "--idempotency-key", key
    )
    assert replay.exit_code == 0 and replay.stdout == first.stdout
    assert "already bound" in replay.stderr

    other = invoke("policy", "bind", q, "--start", "2026-12-20", "--json")
    assert other.exit_code == 3, other.output
    assert number in other.stderr and other.stdout == ""
    monkeypatch.setenv("EGIDE_NOW", EXPIRED)
    expired = invoke("policy", "bind", q, "--start", "2026-12-15", "--json")
    assert expired.exit_code == 3, expired.output
    assert number in expired.stderr and "expired" in expired.stderr
