"""The JSON contracts of the policy use cases did not change when their results became typed.

The oracle below is the code that built those contracts before (issue 10, part 5), kept here as
it was, reading the stored rows: for the same history (a bind, an endorsement, a cancellation, a
reinstatement, a renewal, frozen clock, given keys) ``contract(result)`` of every use case, and
``egide policy … --json`` on SQLite, must print byte for byte what it printed. A replay with an
idempotency key gives back the same typed result.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.db.tables_policy import PolicyRow, PolicyTransactionRow
from egide.domain.money import cents
from egide.domain.policy import (
    PARIS,
    Kind,
    Period,
    Premium,
    Status,
    TxView,
    midnight,
    status_on,
)
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.policy_results import BindResult, TransactionResult
from egide.services.results import contract
from tests.appdata import base_application
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR, FakeUnitOfWork

QUOTED_AT = "2026-12-01T10:00:00+01:00"
START = "2027-01-01"

# --------------------------------------------------------------------------- the former code


def _money(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(Decimal("0.01"))


def _change(row: PolicyTransactionRow) -> Premium:
    return Premium(_money(row.change_net_cents), _money(row.change_tax_cents))


def _term_premium(row: PolicyTransactionRow) -> Premium:
    return Premium(_money(row.term_net_cents), _money(row.term_tax_cents))


def _views(rows: list[PolicyTransactionRow]) -> list[TxView]:
    return [
        TxView(r.seq, r.kind, r.term, r.effective_date, Period(r.period_start, r.period_end))
        for r in rows
    ]


def _in_force_row(
    rows: list[PolicyTransactionRow], term: int, moment: datetime
) -> PolicyTransactionRow:
    day = moment.astimezone(PARIS).date()
    in_term = [r for r in rows if r.term == term]
    effective = [r for r in in_term if r.effective_date <= day]
    return effective[-1] if effective else in_term[0]


def old_bind_response(
    policy: PolicyRow, issue: PolicyTransactionRow, moment: datetime
) -> dict[str, Any]:
    period = Period(issue.period_start, issue.period_end)
    status = (
        Status.NOT_YET_IN_FORCE.value
        if moment < period.start_at
        else Status.IN_FORCE.value
        if period.contains(moment)
        else Status.EXPIRED.value
    )
    return {
        "policy_number": policy.number,
        "quote_number": policy.quote_number,
        "status": status,
        "period_start": period.start_at.isoformat(),
        "period_end": period.end_at.isoformat(),
        "retroactive_date": issue.retroactive_date.isoformat(),
        "trigger": "claims_made",
        "premium": _change(issue).to_data(),
        "transaction": issue.seq,
        "version": 1,  # the policy's version just after its issue
    }


def old_tx_summary(policy: PolicyRow, row: PolicyTransactionRow) -> dict[str, Any]:
    return {
        "policy_number": policy.number,
        "transaction": row.seq,
        "kind": row.kind,
        "effective": row.effective_date.isoformat(),
        "premium_change": _change(row).to_data(),
        "term_premium": _term_premium(row).to_data(),
        "version": row.seq,
    }


def _tx_data(rows: list[PolicyTransactionRow], i: int) -> dict[str, Any]:
    r = rows[i]
    item: dict[str, Any] = {
        "seq": r.seq,
        "kind": r.kind,
        "term": r.term,
        "effective": r.effective_date.isoformat(),
        "period_start": midnight(r.period_start).isoformat(),
        "period_end": midnight(r.period_end).isoformat(),
        "recorded_at": iso_paris(r.recorded_at),
        "actor": r.actor,
        "reason": r.reason,
        "product": r.product_ref,
        "premium_change": _change(r).to_data(),
        "term_premium": _term_premium(r).to_data(),
        "annual_premium": r.snapshot["annual_premium"],
        "idempotency_key": r.idempotency_key,
    }
    if i > 0 and r.kind in (Kind.ENDORSE, Kind.RENEW):
        item["changes"] = [
            {"field": f, "old": o, "new": n}
            for f, o, n in policies.application_diff(
                rows[i - 1].snapshot["application"], r.snapshot["application"]
            )
        ]
    return item


def old_get_policy(
    policy: PolicyRow, rows: list[PolicyTransactionRow], product: Product, moment: datetime
) -> dict[str, Any]:
    status, term = status_on(_views(rows), moment)
    row = _in_force_row(rows, term, moment)
    terms = row.snapshot["terms"]
    bi = product.coverages["business_interruption"]
    coverages = []
    for code, c in terms["coverages"].items():
        item: dict[str, Any] = {
            "code": code,
            "label": product.coverages[code].label,
            "limit": str(cents(Decimal(c["limit"]))),
            "sub_deductible": str(cents(Decimal(c["sub_deductible"]))),
            "annual_premium": row.snapshot["coverage_premiums"].get(code),
        }
        if code == "business_interruption":
            item["waiting_period_hours"] = int(Decimal(terms["waiting_period_hours"]))
            item["waiting_period_mode"] = terms["waiting_period_mode"]
            item["indemnity_period_days"] = int(bi.indemnity_period_days or 0)
        coverages.append(item)
    return {
        "policy_number": policy.number,
        "quote_number": policy.quote_number,
        "as_of": moment.isoformat(),
        "status": status.value,
        "term": term,
        "period_start": midnight(row.period_start).isoformat(),
        "period_end": midnight(row.period_end).isoformat(),
        "retroactive_date": row.retroactive_date.isoformat(),
        "trigger": "claims_made",
        "product": row.product_ref,
        "establishment": {"name": policy.establishment_name, "siret": policy.siret},
        "aggregate_limit": str(cents(Decimal(terms["aggregate_limit"]))),
        "deductible": str(cents(Decimal(terms["deductible"]))),
        "annual_premium": row.snapshot["annual_premium"],
        "term_premium": _term_premium(row).to_data(),
        "version": policy.version,
        "coverages": coverages,
        "transactions": [_tx_data(rows, i) for i in range(len(rows))],
    }


def old_policy_summary(
    policy: PolicyRow, rows: list[PolicyTransactionRow], moment: datetime
) -> dict[str, Any]:
    status, term = status_on(_views(rows), moment)
    row = _in_force_row(rows, term, moment)
    return {
        "policy_number": policy.number,
        "quote_number": policy.quote_number,
        "establishment": {"name": policy.establishment_name, "siret": policy.siret},
        "establishment_id": policy.establishment_id,
        "broker_id": policy.broker_id,
        "status": status.value,
        "term": term,
        "period_start": midnight(row.period_start).isoformat(),
        "period_end": midnight(row.period_end).isoformat(),
        "annual_premium": row.snapshot["annual_premium"],
        "version": rows[-1].seq,
    }


# --------------------------------------------------------------------------- helpers


def printed(data: Any) -> str:
    """What ``--json`` prints (`egide.cli.common.print_json`), key order included."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def at(monkeypatch: pytest.MonkeyPatch, moment: str) -> datetime:
    """Freeze the clock; the moment the services then read."""
    monkeypatch.setenv("EGIDE_NOW", moment)
    return clock_now()


def stored_rows(uow: FakeUnitOfWork, number: str) -> tuple[PolicyRow, list[PolicyTransactionRow]]:
    (policy,) = [p for p in uow.stored(PolicyRow) if p.number == number]
    rows = [t for t in uow.stored(PolicyTransactionRow) if t.policy_id == policy.id]
    return policy, sorted(rows, key=lambda t: t.seq)


# --------------------------------------------------------------------------- the contracts


def test_every_policy_use_case_prints_the_contract_the_former_code_printed(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    moment = at(monkeypatch, QUOTED_AT)
    q = quotes.save_quote(uow, OPERATOR, base_application(limit=100_000), product, "broker")
    bound = policies.bind_quote(uow, OPERATOR, q.quote_number, "alice", "bind-1", start=START)
    number = bound.policy_number
    policy, rows = stored_rows(uow, number)
    expected = {**old_bind_response(policy, rows[0], moment), "idempotency_key": "bind-1"}
    assert printed(contract(bound)) == printed(expected)
    # a replay with the key: the same contract and the same typed value, marked as a replay
    replayed = policies.bind_quote(uow, OPERATOR, q.quote_number, "alice", "bind-1", START)
    assert printed(contract(replayed)) == printed(expected)
    assert replayed == dataclasses.replace(bound, already_bound=True)

    changes: list[tuple[str, TransactionResult]] = []
    at(monkeypatch, "2027-03-01T09:00:00+01:00")
    changes.append(
        (
            "e-1",
            policies.endorse_policy(
                uow,
                OPERATOR,
                number,
                "2027-03-01",
                {"cover.limit": 250_000, "security.edr": True, "establishment.city": "Lyon"},
                "bob",
                "e-1",
            ),
        )
    )
    at(monkeypatch, "2027-06-01T09:00:00+02:00")
    changes.append(
        (
            "c-1",
            policies.cancel_policy(
                uow, OPERATOR, number, "2027-06-01", "carol", "non_payment", "c-1"
            ),
        )
    )
    changes.append(
        ("r-1", policies.reinstate_policy(uow, OPERATOR, number, "2027-06-15", "dan", "r-1"))
    )
    at(monkeypatch, "2027-12-10T09:00:00+01:00")
    changes.append(
        ("n-1", policies.renew_policy(uow, OPERATOR, number, product, "erin", None, "n-1"))
    )
    policy, rows = stored_rows(uow, number)
    assert [r.kind for r in rows] == ["issue", "endorse", "cancel", "reinstate", "renew"]
    for (key, result), row in zip(changes, rows[1:], strict=True):
        expected = {**old_tx_summary(policy, row), "idempotency_key": key}
        assert printed(contract(result)) == printed(expected)
        assert TransactionResult.from_public(contract(result)) == result

    # a replayed endorsement gives back the same typed result
    now = at(monkeypatch, "2027-12-11T09:00:00+01:00")
    again = policies.endorse_policy(
        uow,
        OPERATOR,
        number,
        "2027-03-01",
        {"cover.limit": 250_000, "security.edr": True, "establishment.city": "Lyon"},
        "bob",
        "e-1",
    )
    assert again == changes[0][1]

    for as_of in (
        None,
        datetime(2026, 12, 20, tzinfo=PARIS),  # before the start
        datetime(2027, 3, 1, tzinfo=PARIS),
        datetime(2027, 6, 5, 12, tzinfo=PARIS),  # cancelled
        datetime(2028, 1, 5, tzinfo=PARIS),  # the renewed term
        datetime(2029, 6, 1, tzinfo=PARIS),  # expired
    ):
        shown = policies.get_policy(uow, OPERATOR, number, as_of)
        oracle = old_get_policy(policy, rows, product, as_of or now)
        assert printed(contract(shown)) == printed(oracle)

    for in_force_on in (
        None,
        datetime(2027, 6, 5, tzinfo=PARIS),
        datetime(2027, 7, 1, tzinfo=PARIS),
    ):
        page = policies.list_policies(uow, OPERATOR, in_force_on=in_force_on)
        moment = in_force_on or now
        keep = in_force_on is None or status_on(_views(rows), in_force_on)[0] is Status.IN_FORCE
        oracle_items = [old_policy_summary(policy, rows, moment)] if keep else []
        assert printed(contract(page)) == printed({"items": oracle_items, "next_cursor": None})


def test_a_bind_result_read_back_from_its_contract_is_the_same_value(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    at(monkeypatch, QUOTED_AT)
    q = quotes.save_quote(uow, OPERATOR, base_application(limit=100_000), product, "broker")
    bound = policies.bind_quote(uow, OPERATOR, q.quote_number, "alice", start="2026-12-15")
    assert BindResult.from_public(contract(bound), already_bound=False) == bound
    assert bound.status is Status.NOT_YET_IN_FORCE and bound.transaction == bound.version == 1


# --------------------------------------------------------------------------- the CLI, on SQLite


def test_policy_show_json_prints_byte_for_byte_what_it_printed(
    cli_env: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.db.uow import SqlUnitOfWork

    runner = CliRunner()
    issue_moment = at(monkeypatch, QUOTED_AT)
    saved = runner.invoke(
        app, ["quote", "price", str(EXAMPLES / "pharmacie.yaml"), "--save", "--json"]
    )
    q = json.loads(saved.stdout)["quote_number"]
    bind = runner.invoke(
        app, ["policy", "bind", q, "--start", START, "--json", "--idempotency-key", "b-1"]
    )
    number = json.loads(bind.stdout)["policy_number"]
    moment = at(monkeypatch, "2027-03-01T09:00:00+01:00")
    endorse = runner.invoke(
        app,
        ["policy", "endorse", number, "--effective", "2027-03-01", "--set", "cover.limit=500000",
         "--json", "--idempotency-key", "e-1"],
    )  # fmt: skip
    assert endorse.exit_code == 0, endorse.output
    show = runner.invoke(app, ["policy", "show", number, "--json"])
    listed = runner.invoke(app, ["policy", "list", "--json"])
    assert show.exit_code == listed.exit_code == 0, show.output + listed.output

    uow = SqlUnitOfWork.from_url(cli_env)
    with uow:
        session = uow.session
        policy = session.query(PolicyRow).filter_by(number=number).one()
        rows = list(
            session.query(PolicyTransactionRow)
            .filter_by(policy_id=policy.id)
            .order_by(PolicyTransactionRow.seq)
        )
        assert (
            bind.stdout
            == printed(
                {**old_bind_response(policy, rows[0], issue_moment), "idempotency_key": "b-1"}
            )
            + "\n"
        )
        assert (
            endorse.stdout
            == printed({**old_tx_summary(policy, rows[1]), "idempotency_key": "e-1"}) + "\n"
        )
        assert show.stdout == printed(old_get_policy(policy, rows, product, moment)) + "\n"
        summary = old_policy_summary(policy, rows, moment)
        assert listed.stdout == printed({"items": [summary], "next_cursor": None}) + "\n"
