from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from egide.domain.identifiers import finess_problem, luhn_valid, siret_problem
from tests.appdata import with_luhn


def test_known_valid_siret_and_finess_pass() -> None:
    assert siret_problem("73282932000074") is None
    assert finess_problem("750053126") is None


def test_a_changed_digit_breaks_the_check() -> None:
    assert siret_problem("73282932000075") == "check digit is wrong (Luhn)"
    assert finess_problem("750053127") == "check digit is wrong (Luhn)"


def test_wrong_lengths_and_letters_are_refused() -> None:
    assert siret_problem("7328293200007") == "must be 14 digits"
    assert siret_problem("7328293200007A") == "must be 14 digits"
    assert finess_problem("75005312") == "must be 9 characters"
    assert finess_problem("7500X3126") is not None


def test_corsican_finess_reads_2a_as_20() -> None:
    digits = with_luhn("20000001")  # 9 digits, Luhn-valid with 20 for the département
    assert finess_problem("2A" + digits[2:]) is None
    assert finess_problem("2B" + digits[2:]) is None
    broken = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert finess_problem("2A" + broken[2:]) == "check digit is wrong (Luhn)"


def test_la_poste_siret_uses_the_digit_sum_rule() -> None:
    assert siret_problem("35600000000001") is None  # digit sum 15, a multiple of 5
    assert siret_problem("35600000000002") == "check digit is wrong"


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_completing_any_13_digits_with_luhn_gives_a_valid_siret(prefix: str) -> None:
    siret = with_luhn(prefix)
    if not siret.startswith("356000000"):
        assert siret_problem(siret) is None
        assert luhn_valid(siret)
