"""Amounts typed by a user: one parser (`egide.domain.money.parse_amount`) that either returns a
Decimal in euros with cents, within bounds, or refuses with InvalidInput naming the field; never
another exception (``claim settle --amount 1e28`` printed a traceback)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from egide.cli.main import app
from egide.domain.errors import InvalidInput
from egide.domain.money import MAX_AMOUNT, parse_amount
from egide.services import claims
from tests.conftest import EXAMPLES, REPO

runner = CliRunner()
BRIEF = EXAMPLES / "claims" / "rancongiciel-clinique.yaml"


def invoke_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", "1000.00"),
        ("1000.5", "1000.50"),
        ("1000,50", "1000.50"),
        ("  12.3 ", "12.30"),
        ("1.500", "1.50"),  # trailing zeros are not decimals
        ("1.5e3", "1500.00"),
        (".5", "0.50"),
        ("+7", "7.00"),
        ("0", "0.00"),
        ("-0", "0.00"),  # one spelling of zero, never "-0.00"
        ("1000000000", "1000000000.00"),
    ],
)
def test_an_amount_in_euros_parses_to_cents(text: str, expected: str) -> None:
    assert str(parse_amount("amount", text)) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1e28", "range"),
        ("1e999", "range"),
        ("1000000000.01", "range"),
        ("-1", "range"),
        ("-0.01", "range"),
        ("1.005", "cents"),
        ("1e-999", "cents"),
        ("0.001", "cents"),
        ("nan", "number"),
        ("NaN", "number"),
        ("sNaN", "number"),
        ("inf", "number"),
        ("-Infinity", "number"),
        ("1e99999999999999999999", "number"),  # Decimal itself raises on such an exponent
        ("1_000", "number"),
        ("1 000", "number"),
        ("1,000.50", "number"),
        ("١٢٣", "number"),  # Arabic-Indic digits: Decimal would take them
        ("", "number"),
        ("12 EUR", "number"),
        ("9" * 65, "number"),
        (Decimal("NaN"), "number"),
        (Decimal("-Infinity"), "number"),
        (Decimal("1E+28"), "range"),
        (True, "number"),
        (1.5, "number"),  # a float is not an amount anyone typed: refused, not guessed
    ],
)
def test_a_bad_amount_is_refused_naming_the_field_and_the_rule(value: object, rule: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_amount("payment.amount", value)  # type: ignore[arg-type]
    assert [(e.field, e.rule) for e in exc.value.errors] == [("payment.amount", rule)]


def test_zero_is_refused_where_the_caller_needs_a_positive_amount() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_amount("amount", "0.00", allow_zero=False)
    assert exc.value.errors[0].rule == "range"
    assert parse_amount("amount", "0.01", allow_zero=False) == Decimal("0.01")


def _holds_the_contract(field: str, value: str | Decimal) -> None:
    try:
        amount = parse_amount(field, value)
    except InvalidInput as exc:
        assert exc.errors and all(e.field == field for e in exc.errors)
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert Decimal(0) <= amount <= MAX_AMOUNT
    assert amount.as_tuple().exponent == -2  # two decimals, always
    assert not amount.is_signed()
    if isinstance(value, Decimal):
        assert amount == value  # exact: nothing was rounded away


@given(st.text(max_size=80))
@example("1e28")
@example("1e-99999")
@example("-0.00")
def test_any_text_is_an_amount_within_bounds_or_invalid_input(text: str) -> None:
    _holds_the_contract("amount", text)


# Text that looks like a number (sign, digits, a point or comma, an exponent), which reaches the
# bounds and the decimals rule far more often than arbitrary text does.
NUMBERISH = st.from_regex(r"\A\s?[+-]?[0-9]{0,14}([.,][0-9]{0,5})?([eE][+-]?[0-9]{1,4})?\s?\Z")


@given(NUMBERISH)
def test_any_number_like_text_is_an_amount_within_bounds_or_invalid_input(text: str) -> None:
    _holds_the_contract("amount", text)


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_is_an_amount_within_bounds_or_invalid_input(value: Decimal) -> None:
    _holds_the_contract("amount", value)


@given(st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2))
def test_every_amount_in_cents_within_bounds_is_accepted_as_written(value: Decimal) -> None:
    assert parse_amount("amount", str(value)) == value
    assert parse_amount("amount", str(value).replace(".", ",")) == value


def test_the_payment_amount_of_a_settlement_is_parsed_by_the_same_rule() -> None:
    assert claims.parse_amount(None) is None
    assert claims.parse_amount("1000") == Decimal("1000.00")
    for bad in ("1e28", "0", "nan", "-5"):
        with pytest.raises(InvalidInput) as exc:
            claims.parse_amount(bad)
        assert exc.value.errors[0].field == "amount"


def test_claim_settle_with_an_absurd_amount_exits_2_naming_the_field_without_a_traceback(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    q = invoke_json(
        "quote", "price", str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"), "--save"
    )["quote_number"]
    policy = invoke_json("policy", "bind", q, "--start", "2027-01-01")["policy_number"]
    monkeypatch.setenv("EGIDE_NOW", "2027-02-23T09:00:00+01:00")
    claim_id = invoke_json("claim", "declare", policy, str(BRIEF))["claim_id"]
    for amount in ("1e28", "Infinity", "NaN", "-1", "1.001", "10000000000", "1e99999999999"):
        result = runner.invoke(app, ["claim", "settle", claim_id, "--amount", amount, "--json"])
        assert result.exit_code == 2, (amount, result.output, result.exception)
        assert "amount" in result.stderr and "Traceback" not in result.output, amount
    assert invoke_json("claim", "show", claim_id)["paid_total"] == "0.00"  # nothing was paid


def test_an_int_is_taken_exactly_and_a_huge_one_is_out_of_range() -> None:
    assert parse_amount("amount", 1500) == Decimal("1500.00")
    with pytest.raises(InvalidInput) as exc:
        parse_amount("amount", 10**100)
    assert exc.value.errors[0].rule == "range"
