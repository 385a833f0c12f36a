"""Reading plain input data (parsed YAML or JSON) while collecting every broken rule.

Each parser (the application, the claim declaration) extends `FieldReader` with the readers of
its own value types; all report `FieldError(dotted path, rule code, message)`, never a first
error only. Every string a parser accepts is read by `FieldReader.text`, hence checked by the
one rule for free text (`egide.domain.text`: no control or invisible character, a bound on the
length), and every key it reports is made safe to print (`unknown`, `key_path`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from egide.domain.errors import FieldError
from egide.domain.text import BLANKS, CONTROL_CHARACTER, check_text, forbidden_characters, shown_key

# The years a business date or time may lie in (a policy period, an incident, a replayed clock):
# far enough either way for any real case, and inside the range where adding a year or moving to
# Europe/Paris cannot overflow Python's datetime (year 1 or 9999 would).
FIRST_YEAR, LAST_YEAR = 2000, 2199
_Moment = TypeVar("_Moment", bound=date)  # a date or a datetime


def year_problem(field: str, moment: date) -> FieldError | None:
    """The rule a date or date-time outside FIRST_YEAR..LAST_YEAR breaks (None inside)."""
    if FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    return FieldError(field, "year_range", f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")


class FieldReader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, rule: str, message: str) -> None:
        self.errors.append(FieldError(path, rule, message))

    def in_years(self, path: str, moment: _Moment) -> _Moment | None:
        """`moment`, or None with the error when it lies outside FIRST_YEAR..LAST_YEAR."""
        problem = year_problem(path, moment)
        if problem is not None:
            self.errors.append(problem)
            return None
        return moment

    def mapping(self, data: Mapping[str, Any], key: str, required: bool) -> Mapping[str, Any]:
        """A nested section; missing (when required) or not a mapping is an error."""
        value = data.get(key)
        if value is None:
            if required:
                self.add(key, "required", "is required")
            return {}
        if not isinstance(value, dict):
            self.add(key, "type", "must be a mapping of keys")
            return {}
        return value

    def text(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        max_length: int,
        required: bool = False,
        multiline: bool = False,
        blank_is_absent: bool = False,
        numbers: bool = False,
    ) -> str | None:
        """A string, stripped of surrounding blanks, checked by the rule for free text.

        None when absent (an error when `required`) or when it breaks a rule (the error is
        recorded). A present but blank string is an error (``required``) unless
        `blank_is_absent`. `numbers`: a YAML integer is read as its digits (an id, a ref).
        `multiline`: TAB and LF are allowed inside, CRLF is read as LF.
        """
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, "required", "is required")
            return None
        if numbers and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.add(path, "type", "must be a string (quote it in YAML)")
            return None
        if multiline:
            value = value.replace("\r\n", "\n")
        value = value.strip(BLANKS)
        problems = check_text(path, value, max_length=max_length, multiline=multiline)
        if problems:
            self.errors += problems
            return None
        if not value:
            if required or not blank_is_absent:
                self.add(path, "required", "must not be empty")
            return None
        return value

    def texts(self, values: list[Any], path: str, *, max_length: int) -> tuple[str, ...] | None:
        """A list of single-line strings (``path[i]`` each), or None when one breaks a rule."""
        before = len(self.errors)
        read = tuple(
            self.text({"v": v}, f"{path}[{i}]", "v", max_length=max_length, required=True)
            for i, v in enumerate(values)
        )
        if len(self.errors) > before:
            return None
        return tuple(x for x in read if x is not None)

    def key_path(self, prefix: str, key: object) -> str:
        """The dotted path of a key taken from the input, safe to print (see `shown_key`)."""
        return f"{prefix}{shown_key(key)}"

    def refuse_key(self, prefix: str, key: object, rule: str, message: str) -> None:
        """Refuse a key of the input: by `rule` and `message`, or as holding a control or
        invisible character when it does (its path escaped, never echoed raw)."""
        path = self.key_path(prefix, key)
        if isinstance(key, str) and forbidden_characters(key):
            problem = check_text(path, key, max_length=len(key))[0]
            self.add(path, CONTROL_CHARACTER, f"is not a known key and {problem.message}")
        else:
            self.add(path, rule, message)

    def unknown(self, data: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        """Unknown keys are errors: a typo must not silently drop an answer."""
        for key in data:
            if key not in allowed:
                self.refuse_key(
                    prefix,
                    key,
                    "unknown_key",
                    f"is not a known key (known: {', '.join(sorted(allowed))})",
                )
