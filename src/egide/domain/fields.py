"""Reading plain input data (parsed YAML or JSON) while collecting every broken rule.

Each parser (the application, the claim declaration) extends `FieldReader` with the readers of
its own value types; all report `FieldError(dotted path, rule code, message)`, never a first
error only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egide.domain.errors import FieldError


class FieldReader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, rule: str, message: str) -> None:
        self.errors.append(FieldError(path, rule, message))

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

    def unknown(self, data: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        """Unknown keys are errors: a typo must not silently drop an answer."""
        for key in data:
            if key not in allowed:
                self.add(
                    f"{prefix}{key}",
                    "unknown_key",
                    f"is not a known key (known: {', '.join(sorted(allowed))})",
                )
