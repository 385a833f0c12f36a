"""French identifiers: SIRET (14 digits), SIREN (9 digits), FINESS (9 characters), all Luhn."""

from __future__ import annotations


def ascii_digits(value: str) -> bool:
    """0-9 only: str.isdigit() also takes other scripts' digits (Arabic-Indic, superscripts)."""
    return value.isascii() and value.isdigit()


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of digits."""
    if not ascii_digits(digits):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def siret_problem(value: str) -> str | None:
    """None when valid, otherwise the rule broken.

    La Poste's establishments (SIREN 356000000) use a digit-sum rule instead of Luhn.
    """
    if len(value) != 14 or not ascii_digits(value):
        return "must be 14 digits"
    if value.startswith("356000000"):
        return None if sum(int(c) for c in value) % 5 == 0 else "check digit is wrong"
    return None if luhn_valid(value) else "check digit is wrong (Luhn)"


def finess_problem(value: str) -> str | None:
    """FINESS: 9 characters, the first two the département (digits, or 2A/2B for Corsica), the
    last a Luhn check digit computed over the number with 2A/2B read as 20 (convention of the
    répertoire FINESS)."""
    if len(value) != 9:
        return "must be 9 characters"
    digits = value
    if value[:2] in ("2A", "2B"):
        digits = "20" + value[2:]
    if not ascii_digits(digits):
        return "must be digits (2A/2B allowed for Corsica)"
    return None if luhn_valid(digits) else "check digit is wrong (Luhn)"


def postcode_valid(value: str) -> bool:
    """A French postcode: 5 ASCII digits, or 2A/2B (Corsica) and 3 more characters."""
    return len(value) == 5 and (ascii_digits(value) or value[:2] in ("2A", "2B"))


def siren_problem(value: str) -> str | None:
    """SIREN: 9 digits, Luhn (La Poste's 356000000 included: it passes Luhn)."""
    if len(value) != 9 or not ascii_digits(value):
        return "must be 9 digits"
    return None if luhn_valid(value) else "check digit is wrong (Luhn)"


def orias_problem(value: str) -> str | None:
    """ORIAS registration number of an insurance intermediary: 8 digits (no check digit is
    published by the ORIAS register)."""
    if len(value) != 8 or not ascii_digits(value):
        return "must be 8 digits"
    return None
