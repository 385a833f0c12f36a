"""Money is Decimal euros. Rounded to the cent once, with ROUND_HALF_UP, at the step that says so."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
NNBSP = "\u202f"  # narrow no-break space, the French thousands separator


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Exact conversion: floats go through ``repr`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def cents(value: float | int | str | Decimal) -> Decimal:
    """Round to the cent (half up), the one rounding step of every published amount."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_eur(value: Decimal) -> str:
    """French display: ``24 570,00 €`` (narrow no-break space as thousands separator)."""
    q = cents(value)
    sign = "-" if q < 0 else ""
    whole, frac = f"{abs(q):.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{NNBSP.join(groups)},{frac}{NNBSP}€"
