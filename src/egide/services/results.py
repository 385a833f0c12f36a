"""The one JSON form of a use case's result, shared by every edge (CLI ``--json``, REST API).

A use case returns a typed value (a frozen dataclass of the domain or of the services); its
JSON contract is its ``public()`` method, as for accounts (`egide.domain.accounts`) and pages
(`egide.services.pages.Page`). Edges never build the contract themselves: they call `contract`,
which also accepts the plain mappings some results still are, so that an edge does not change
when a use case's result becomes typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Public(Protocol):
    """A typed result: ``public()`` is its JSON contract (JSON-ready values only)."""

    def public(self) -> dict[str, Any]: ...


def contract(result: Public | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON contract of a use case's result."""
    if isinstance(result, Public):
        return result.public()
    return dict(result)
