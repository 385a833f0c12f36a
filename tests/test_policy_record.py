"""Policies as domain values: the typed cover snapshot reads back exactly what was stored (so the
audit trail's digests of stored transactions never move), bad stored JSON is an error naming the
field, and the row mapping of `egide.db.tables_policy` loses nothing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.tables_policy import (
    PolicyTransactionRow,
    policy_row,
    policy_value,
    transaction_row,
    transaction_value,
)
from egide.domain.application import parse_application
from egide.domain.errors import UnreadableRows
from egide.domain.policy import Premium
from egide.domain.policy_record import (
    SNAPSHOT_VERSION,
    CoverSnapshot,
    MalformedSnapshot,
    PolicyTransaction,
    StoredPolicy,
)
from egide.domain.product import Product
from egide.domain.terms import CoverageTermsInForce, PolicyTerms
from egide.services import policies, quotes
from egide.services.audit import digest, transaction_content
from tests.appdata import base_application
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR, FakeUnitOfWork

# --------------------------------------------------------------------------- generated snapshots

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
in_cents = st.integers(-(10**10), 10**10).map(lambda c: Decimal(c).scaleb(-2))

snapshots = st.builds(
    CoverSnapshot,
    application=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    terms=st.builds(
        PolicyTerms,
        coverages=st.dictionaries(
            st.text(max_size=12), st.builds(CoverageTermsInForce, decimals, decimals), max_size=6
        ),
        deductible=decimals,
        aggregate_limit=decimals,
        waiting_period_hours=decimals,
        waiting_period_mode=st.text(max_size=16),
        indemnity_period_hours=decimals,
    ),
    annual_premium=st.builds(Premium, in_cents, in_cents),
    coverage_premiums=st.dictionaries(st.text(max_size=12), decimals, max_size=6),
    tax_rate=decimals,
    security_score=st.integers(),
    decision=st.text(max_size=8),
    reasons=st.lists(st.text(max_size=12), max_size=4).map(tuple),
    underwriter_note=st.none() | st.text(min_size=1, max_size=40),
)


def as_stored(data: dict[str, Any]) -> dict[str, Any]:
    """What a JSON column gives back."""
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded


@settings(max_examples=80, deadline=None)
@given(snapshots)
def test_a_snapshot_reads_back_as_the_same_value_and_writes_the_same_json(
    snapshot: CoverSnapshot,
) -> None:
    stored = as_stored(snapshot.to_data())
    read = CoverSnapshot.from_data(stored)
    assert read == snapshot
    assert read.schema_version == SNAPSHOT_VERSION
    # key order included: the JSON text, hence every digest of it, is the same
    assert json.dumps(read.to_data()) == json.dumps(stored)
    assert digest({"snapshot": read.to_data()}) == digest({"snapshot": stored})


REQUIRED = (
    "application",
    "terms",
    "annual_premium",
    "coverage_premiums",
    "tax_rate",
    "security_score",
    "decision",
    "reasons",
)


def _broken(data: dict[str, Any], how: str, key: str) -> dict[str, Any]:
    bad = copy.deepcopy(data)
    if how == "missing":
        del bad[key]
    elif how == "null":
        bad[key] = None
    elif how == "float":
        bad[key] = 1.5
    elif how == "unknown key":
        bad["surprise"] = 1
    elif how == "version":
        bad["schema_version"] = 2
    elif how == "term missing":
        del bad["terms"][key]
    elif how == "term mistyped":
        bad["terms"][key] = 3
    elif how == "total":
        bad["annual_premium"]["total"] = "0.01" if bad["annual_premium"]["total"] != "0.01" else "0"
    elif how == "decimal form":
        bad["tax_rate"] = "1e0"
    elif how == "key order":
        bad = dict(reversed(list(bad.items())))
    return bad


TERM_KEYS = (
    "coverages",
    "deductible",
    "aggregate_limit",
    "waiting_period_hours",
    "waiting_period_mode",
    "indemnity_period_hours",
)


@settings(max_examples=80, deadline=None)
@given(
    snapshots,
    st.sampled_from(
        [
            "missing",
            "null",
            "float",
            "unknown key",
            "version",
            "term missing",
            "term mistyped",
            "total",
            "decimal form",
            "key order",
        ]
    ),
    st.sampled_from(REQUIRED),
    st.sampled_from(TERM_KEYS),
)
def test_stored_json_that_is_not_a_snapshot_is_an_error_naming_the_field_never_a_key_error(
    snapshot: CoverSnapshot, how: str, key: str, term_key: str
) -> None:
    bad = _broken(as_stored(snapshot.to_data()), how, term_key if how.startswith("term") else key)
    with pytest.raises(MalformedSnapshot) as exc:
        CoverSnapshot.from_data(bad)
    assert exc.value.field  # a dotted path, or "(whole)"
    if how in ("missing", "null", "float"):
        assert exc.value.field.startswith(key)
    if how.startswith("term"):
        assert exc.value.field.startswith(f"terms.{term_key}")


def test_a_snapshot_that_is_not_even_an_object_is_refused() -> None:
    for value in (None, [], "x", 3):
        with pytest.raises(MalformedSnapshot, match="JSON object"):
            CoverSnapshot.from_data(value)


# --------------------------------------------------------------------------- the former snapshot


def old_snapshot(app: Any, product: Product, note: str | None = None) -> dict[str, Any]:
    """The snapshot dict the services built before it was typed (issue 10, part 5)."""
    from egide.domain.quote import assess
    from egide.domain.rating import policy_terms

    a = assess(app, product, with_recommendations=False)
    p = a.price
    terms = policy_terms(app, product)
    snap: dict[str, Any] = {
        "application": app.to_data(),
        "terms": {
            "coverages": {
                code: {"limit": str(c.limit), "sub_deductible": str(c.sub_deductible)}
                for code, c in terms.coverages.items()
            },
            "deductible": str(terms.deductible),
            "aggregate_limit": str(terms.aggregate_limit),
            "waiting_period_hours": str(terms.waiting_period_hours),
            "waiting_period_mode": terms.waiting_period_mode,
            "indemnity_period_hours": str(terms.indemnity_period_hours),
        },
        "annual_premium": Premium(p.net, p.tax).to_data(),
        "coverage_premiums": {c.code: str(c.premium) for c in p.coverages},
        "tax_rate": str(product.tax_rate),
        "security_score": a.score.total,
        "decision": a.underwriting.decision.value,
        "reasons": [r.code for r in a.underwriting.reasons],
    }
    if note:
        snap["underwriter_note"] = note
    return snap


@pytest.mark.parametrize(
    "example", ["cabinet-medical.yaml", "pharmacie.yaml", "clinique-120-lits.yaml"]
)
@pytest.mark.parametrize("note", [None, "", "plan de segmentation reçu"])
def test_the_services_write_the_snapshot_the_former_code_wrote(
    product: Product, example: str, note: str | None
) -> None:
    data = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    app_ = parse_application(data, product)
    written = policies._snapshot(app_, product, note).to_data()
    assert json.dumps(written) == json.dumps(old_snapshot(app_, product, note))


# --------------------------------------------------------------------------- the row mapping


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


@settings(max_examples=30, deadline=None)
@given(
    st.builds(
        PolicyTransaction,
        policy_id=st.integers(1, 10**6),
        seq=st.integers(1, 100),
        kind=st.sampled_from(["issue", "endorse", "cancel", "reinstate", "renew"]),
        term=st.integers(1, 20),
        effective_date=days,
        period_start=days,
        period_end=days,
        retroactive_date=days,
        recorded_at=moments,
        actor=st.text(max_size=20),
        reason=st.none() | st.text(max_size=20),
        product_ref=st.text(max_size=20),
        snapshot=snapshots,
        change_net_cents=st.integers(-(10**12), 10**12),
        change_tax_cents=st.integers(-(10**12), 10**12),
        term_net_cents=st.integers(-(10**12), 10**12),
        term_tax_cents=st.integers(-(10**12), 10**12),
        idempotency_key=st.none() | st.text(max_size=20),
        id=st.integers(1, 10**6),
    )
)
def test_a_transaction_goes_through_its_row_and_back_unchanged(tx: PolicyTransaction) -> None:
    row = transaction_row(tx)
    row.id = tx.id  # what the database gives it
    row.snapshot = as_stored(row.snapshot)
    assert transaction_value(row) == tx
    # the audit digest of the value is that of the row it is stored as
    assert digest(transaction_content("POL-1", tx)) == digest(transaction_content("POL-1", row))


def test_a_policy_goes_through_its_row_and_back_unchanged() -> None:
    policy = StoredPolicy(
        number="POL-2027-0001",
        quote_number="DEV-1",
        siret="73282932000074",
        establishment_name="Cabinet du Dr Martin",
        establishment_id=7,
        broker_id=None,
        version=3,
        created_at=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=5),
        id=12,
    )
    row = policy_row(policy)
    row.id = policy.id
    assert policy_value(row) == policy


# --------------------------------------------------------------------------- stored JSON altered


def bound_policy(uow: FakeUnitOfWork, product: Product, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    q = quotes.save_quote(uow, OPERATOR, base_application(limit=100_000), product, "broker")
    return policies.bind_quote(uow, OPERATOR, q.quote_number, "alice").policy_number


def test_a_snapshot_altered_outside_egide_is_an_error_naming_its_row_and_field(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    number = bound_policy(uow, product, monkeypatch)
    (row,) = uow.stored(PolicyTransactionRow)
    row.snapshot = {k: v for k, v in row.snapshot.items() if k != "terms"}
    with pytest.raises(MalformedSnapshot) as exc:
        policies.get_policy(uow, OPERATOR, number)
    assert exc.value.field == "terms"
    assert f"policy_transactions row id {row.id}" in str(exc.value)
    with uow, pytest.raises(UnreadableRows) as unreadable:
        uow.policies.all_transactions()
    assert (unreadable.value.table, unreadable.value.ids) == ("policy_transactions", [row.id])


def test_the_cli_reports_an_unreadable_snapshot_without_a_traceback(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from egide.db.engine import make_engine

    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    runner = CliRunner()
    saved = runner.invoke(
        app, ["quote", "price", str(EXAMPLES / "pharmacie.yaml"), "--save", "--json"]
    )
    q = json.loads(saved.stdout)["quote_number"]
    number = json.loads(runner.invoke(app, ["policy", "bind", q, "--json"]).stdout)["policy_number"]
    engine = make_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE policy_transactions SET snapshot = '{\"decision\": 1}'"))
    engine.dispose()
    shown = runner.invoke(app, ["policy", "show", number, "--json"])
    assert shown.exit_code == 2
    assert "policy_transactions row id 1" in shown.output and "cover snapshot" in shown.output
    assert "Traceback" not in shown.output
