"""Free text from users: no control or invisible character, a bounded length."""

from __future__ import annotations

import unicodedata

from egide.domain.errors import FieldError


def check_text(
    field: str, value: str, *, max_length: int, multiline: bool = False
) -> list[FieldError]:
    errors = []
    for ch in value:
        if multiline and ch in "\n\t":
            continue
        if unicodedata.category(ch)[0] == "C":
            name = unicodedata.name(ch, "a control or invisible character")
            errors.append(
                FieldError(
                    field,
                    "control_character",
                    f"contains U+{ord(ch):04X} {name}, a control or invisible character",
                )
            )
            break
    if len(value) > max_length:
        errors.append(FieldError(field, "max_length", f"is longer than {max_length} characters"))
    return errors
