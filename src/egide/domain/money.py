"""Money is Decimal euros. Rounded to the cent once, with ROUND_HALF_UP, at the step that says so."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from egide.domain.errors import FieldError, InvalidInput

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


# The largest amount a user may type anywhere (a payment, a cost): 1 000 000 000 EUR. A sanity
# bound, not a business rule (the product's aggregate limits are far below it; the use case then
# applies its own rules, e.g. "at most what is payable now"): it keeps absurd input such as
# ``1e28`` out of arithmetic that would overflow Decimal's 28-digit precision.
MAX_AMOUNT = Decimal(1_000_000_000)
MAX_AMOUNT_TEXT = 64  # characters: longer text is not an amount anyone typed
# ASCII digits, an optional sign, a decimal point or comma, an optional exponent of at most three
# digits (1e3 = 1000; Decimal itself refuses exponents past about 10**18 with an exception).
_AMOUNT_SYNTAX = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]{1,3})?")


def parse_amount(field: str, value: str | int | Decimal, *, allow_zero: bool = True) -> Decimal:
    """An amount in euros given by a user, exactly, with two decimals (``Decimal('1000.00')``).

    Accepts text such as ``1000``, ``1000.5``, ``1000,50`` (French comma), ``1.5e3``, an int or a
    Decimal. Refuses, with `InvalidInput` naming `field` and never another exception: anything
    else (``nan``, ``inf``, ``1_000``, ``1 000``, non-ASCII digits, a float, whose binary value is
    not what anyone typed), negative amounts, zero unless `allow_zero`, amounts above
    `MAX_AMOUNT`, and more than two decimals once trailing zeros are dropped (``1.50`` and
    ``1.500`` are fine; ``1.005`` is refused, never rounded: rounding would change the amount the
    user meant). Rules: ``number``, ``range``, ``cents``.

    >>> parse_amount("amount", "1000,5")
    Decimal('1000.50')
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidInput([FieldError(field, "number", "must be an amount in euros")])
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = str(value).strip()
        try:
            if len(text) > MAX_AMOUNT_TEXT or not _AMOUNT_SYNTAX.fullmatch(text):
                raise InvalidOperation
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            shown = text if len(text) <= MAX_AMOUNT_TEXT else text[:MAX_AMOUNT_TEXT] + "…"
            raise InvalidInput(
                [FieldError(field, "number", f"{shown!r} is not an amount in euros (e.g. 1500.50)")]
            ) from None
    # Only exact, context-free operations below (comparisons, as_tuple): nothing can overflow,
    # underflow or round before the bounds are known to hold.
    if not number.is_finite():
        raise InvalidInput([FieldError(field, "number", "must be a finite amount")])
    if number < 0:
        raise InvalidInput([FieldError(field, "range", "must not be negative")])
    if number.is_zero():
        if not allow_zero:
            raise InvalidInput([FieldError(field, "range", "must be more than 0")])
        return ZERO.quantize(CENT)  # also turns -0 into 0.00
    if number > MAX_AMOUNT:
        raise InvalidInput(
            [FieldError(field, "range", f"must be at most {_plain(MAX_AMOUNT)} EUR")]
        )
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -2:
        raise InvalidInput(
            [FieldError(field, "cents", "an amount in euros has at most two decimals")]
        )
    return number.quantize(CENT)  # at most 12 digits here: exact


def _plain(value: Decimal) -> str:
    """``1000000000`` as ``1 000 000 000`` (plain spaces), for English messages."""
    return f"{value:,f}".replace(",", " ")
