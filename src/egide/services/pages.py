"""One page of a list and the cursor of the next: every list of the services pages the same way.

A cursor is opaque to its reader (base64 of ``id:N``, the last id shown); a cursor that is not one
a list gave is bad input naming the field. Lists read one row more than the page to know whether
a next page exists, never one query per row.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egide.domain.errors import FieldError, InvalidInput

PAGE_DEFAULT, PAGE_MAX = 50, 100


@dataclass(frozen=True)
class Page:
    """One page of a list and the cursor of the next (None on the last page)."""

    items: Sequence[Any]
    next_cursor: str | None

    def public(self) -> dict[str, Any]:
        items = [i.public() if hasattr(i, "public") else i for i in self.items]
        return {"items": items, "next_cursor": self.next_cursor}


def cursor_of(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def after_cursor(cursor: str | None) -> int | None:
    """The id a cursor stands for (None: the first page)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isascii() and value.isdigit() and len(value) < 19:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput([FieldError("cursor", "format", "is not a cursor given by a list")])


def page_limit(limit: int | None) -> int:
    if limit is None:
        return PAGE_DEFAULT
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput([FieldError("limit", "range", f"must be from 1 to {PAGE_MAX}")])
    return limit


def page_of(rows: list[tuple[int, Any]], size: int) -> Page:
    """`rows`: (id, item) pairs, up to size + 1 of them: the extra one only says that there is a
    next page, whose cursor is the last shown id."""
    shown = rows[:size]
    more = len(rows) > size
    return Page([item for _, item in shown], cursor_of(shown[-1][0]) if more else None)
