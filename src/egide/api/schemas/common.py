"""Shapes every resource shares: a page of a list, an underwriter's note."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from egide.domain.text import NOTE_MAX

T = TypeVar("T")

# A decimal amount in euros as JSON gives it: a number, or a decimal string ("450000.00").
Amount = Annotated[int | float | Annotated[str, Field(max_length=40)], Field()]


class Out(BaseModel):
    """An output contract: the keys documented, extra keys allowed (the contract may grow)."""

    model_config = ConfigDict(extra="allow")


class Page(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to read the next page; null on the last page."
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[StrictStr, Field(min_length=1, max_length=NOTE_MAX)] = Field(
        description="The underwriter's note (required)."
    )
