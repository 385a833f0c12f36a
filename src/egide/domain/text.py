"""The one rule for free text: what a name, a note or an actor may contain, and how long it may be.

Free text reaches a terminal (``policy show``), a PDF (Typst), a database column and a log line.
So it is refused when it holds a character that is not text but an instruction to whatever
renders it, or that cannot be seen:

- ``Cc`` controls: NUL (PostgreSQL refuses it where SQLite stores it), ESC (terminal escape
  sequences: clear the screen, rewrite a line), CR, DEL, the C1 controls… TAB and LF are allowed,
  and only in a field declared multi-line (a note, a description);
- ``Cf`` format characters: the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
  U+2066–U+2069) that show "Cabinet" reversed, LRM/RLM, the zero-width space, joiners and
  non-joiners, the BOM, the soft hyphen, tag characters…;
- ``Co`` private use, ``Cs`` surrogates, ``Cn`` unassigned code points (as of the Unicode version
  of this Python), and ``Zl``/``Zp``, the line and paragraph separators (U+2028, U+2029): a line
  break that a single-line field must not carry and that LF spells in a multi-line one.

Letters of every script, accents, combining marks, apostrophes (' and ’), œ, « » with their
no-break spaces, and emoji (``So``) are text and are accepted. A sequence of emoji joined by a
ZERO WIDTH JOINER (U+200D) is not: the joiner is an invisible format character like the others.

Text is also bounded: a field never accepts more characters than the column that stores it
holds (``VARCHAR(n)`` counts characters on PostgreSQL, which is what ``len`` counts here).

Each refusal is a `FieldError(field, rule, message)`: rule ``control_character`` naming the
first offending character by code point and name, ``max_length`` naming the bound, ``required``
for a blank text that must be given. `check_text` returns them, `require_text` raises
`InvalidInput`, `require_parameters` checks a service's free-text parameters by their names
against `PARAMETERS` (one table of bounds for every use case and edge). `shown` and `shown_key`
make an untrusted value safe to echo in an error message.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from egide.domain.errors import FieldError, InvalidInput

CONTROL_CHARACTER = "control_character"
MAX_LENGTH = "max_length"
REQUIRED = "required"

# --------------------------------------------------------------------------- bounds
# Never more than the column that stores the value (src/egide/db/tables*.py); text kept in a
# JSON column or a TEXT column is bounded by what is reasonable for the field.
NAME_MAX = 200  # quotes/policies.establishment_name String(200); a claimant, a supplier
CITY_MAX = 100
SHORT_TEXT_MAX = 80  # technology answers (a vendor, a host), a data category, a system name
ACTOR_MAX = 120  # every actor column and quotes.reviewed_by are String(120)
NOTE_MAX = 4000  # an underwriter's note, a reopening note (TEXT columns), multi-line
DESCRIPTION_MAX = 4000  # the incident's description (in the declaration, JSON), multi-line
LINE_DESCRIPTION_MAX = 2000  # a cost's or a third-party claim's description, multi-line
REASON_MAX = 60  # a cancellation reason is a product code (policy_transactions.reason TEXT)
IDEMPOTENCY_KEY_MAX = 100  # idempotency_keys.key and policy_transactions.idempotency_key
NUMBER_MAX = 32  # quote, policy and claim numbers: String(32)
RUN_ID_MAX = 40  # portfolio_runs.run_id String(40)
REF_MAX = 40  # a third-party claim's ref
COST_ID_MAX = 20  # a cost's id
CODE_MAX = 40  # an enumerated code read as text first (a kind, a category, a SIRET…)
DATETIME_MAX = 40  # an ISO 8601 date-time given as text

# --------------------------------------------------------------------------- the rule

FORBIDDEN_CATEGORIES: Mapping[str, str] = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Co": "a private-use character",
    "Cs": "a lone surrogate",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
MULTILINE_ALLOWED = frozenset("\t\n")

# What is stripped from both ends before the rule applies: the ASCII blanks and the Unicode
# space separators (Zs, listed: tests/test_free_text.py checks the list against unicodedata).
SPACE_SEPARATORS = (
    "\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
BLANKS = "\t\n\r" + SPACE_SEPARATORS

# The C0 controls and DEL have no name in the Unicode database, only aliases.
_CONTROL_NAMES = (
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "ALERT",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE",
    "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
)
_C1_NAMES = {
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
    0x9D: "OPERATING SYSTEM COMMAND",
}


def is_forbidden(ch: str, *, multiline: bool = False) -> bool:
    """True for a character free text must not hold (see the module doc)."""
    if multiline and ch in MULTILINE_ALLOWED:
        return False
    return unicodedata.category(ch) in FORBIDDEN_CATEGORIES


def describe(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point and its name (or what it is)."""
    code = ord(ch)
    name = unicodedata.name(ch, "")
    if not name:
        if code < 0x20:
            name = _CONTROL_NAMES[code]
        elif code in _C1_NAMES:
            name = _C1_NAMES[code]
        else:
            name = {
                "Cc": "<control>",
                "Co": "<private use>",
                "Cs": "<surrogate>",
                "Cn": "<unassigned>",
            }.get(unicodedata.category(ch), "<unnamed>")
    return f"U+{code:04X} {name}"


def forbidden_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The forbidden characters of `value`, in order of appearance, each once."""
    seen: dict[str, None] = {}
    for ch in value:
        if ch not in seen and is_forbidden(ch, multiline=multiline):
            seen[ch] = None
    return list(seen)


def _control_message(found: list[str]) -> str:
    more = f" (and {len(found) - 1} other such characters)" if len(found) > 1 else ""
    return f"contains {describe(found[0])}, a control or invisible character{more}"


def check_text(
    field: str,
    value: str,
    *,
    max_length: int,
    multiline: bool = False,
    required: bool = False,
) -> list[FieldError]:
    """Every rule `value` breaks as free text of `field` (empty: it is acceptable).

    The value is checked as given (nothing is stripped here: a service stores what it checked);
    `required` refuses a blank value. TAB and LF are allowed only when `multiline`.
    """
    errors: list[FieldError] = []
    found = forbidden_characters(value, multiline=multiline)
    if found:
        errors.append(FieldError(field, CONTROL_CHARACTER, _control_message(found)))
    if len(value) > max_length:
        errors.append(FieldError(field, MAX_LENGTH, f"is longer than {max_length} characters"))
    if required and not value.strip(BLANKS):
        errors.append(FieldError(field, REQUIRED, "must not be empty"))
    return errors


def require_text(
    field: str,
    value: str,
    *,
    max_length: int,
    multiline: bool = False,
    required: bool = True,
) -> str:
    """`value` unchanged when it is acceptable free text of `field`, else `InvalidInput`."""
    errors = check_text(field, value, max_length=max_length, multiline=multiline, required=required)
    if errors:
        raise InvalidInput(errors)
    return value


@dataclass(frozen=True)
class TextBound:
    """How one free-text parameter of the use cases is checked."""

    max_length: int
    multiline: bool = False
    required: bool = True  # False: a blank value means "not given" (an optional note, a key)


# The free-text parameters of the services and the CLI options that feed them, by name.
PARAMETERS: Mapping[str, TextBound] = {
    "actor": TextBound(ACTOR_MAX),
    "note": TextBound(NOTE_MAX, multiline=True),
    "underwriter_note": TextBound(NOTE_MAX, multiline=True, required=False),
    "reason": TextBound(REASON_MAX),
    "idempotency_key": TextBound(IDEMPOTENCY_KEY_MAX, required=False),
    "number": TextBound(NUMBER_MAX),
    "quote_number": TextBound(NUMBER_MAX),
    "policy_number": TextBound(NUMBER_MAX),
    "run_id": TextBound(RUN_ID_MAX),
}


def check_parameters(**values: str | None) -> list[FieldError]:
    """Every rule the given parameters break, each checked by its bound in `PARAMETERS`
    (a name missing there is a programming error: KeyError). None means "not given"."""
    errors: list[FieldError] = []
    for name, value in values.items():
        bound = PARAMETERS[name]
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(FieldError(name, "type", "must be a string"))
            continue
        errors += check_text(
            name,
            value,
            max_length=bound.max_length,
            multiline=bound.multiline,
            required=bound.required,
        )
    return errors


def require_parameters(**values: str | None) -> None:
    """`InvalidInput` naming each free-text parameter that breaks the rule; call it first in a
    use case, before any work: ``require_parameters(actor=actor, idempotency_key=key)``."""
    errors = check_parameters(**values)
    if errors:
        raise InvalidInput(errors)


# --------------------------------------------------------------------------- echoing safely

SHOWN_MAX = 60


def _escaped(ch: str) -> str:
    if not is_forbidden(ch):
        return ch
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(value: object, limit: int = SHOWN_MAX) -> str:
    """An untrusted value quoted for an error message: ``repr`` (which escapes every control,
    invisible and separator character) cut to about `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_key(key: object, limit: int = SHOWN_MAX) -> str:
    """A mapping key as it appears in a dotted field path: unchanged when it is plain text,
    its forbidden characters escaped (``\\u202e``) and cut to about `limit` characters."""
    text = "".join(_escaped(ch) for ch in key) if isinstance(key, str) else str(key)
    return text if len(text) <= limit else text[: limit - 1] + "…"
