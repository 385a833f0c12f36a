"""Webhooks and portfolio runs: input and output shapes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from egide.api.schemas.common import Out
from egide.domain.webhooks import MAX_URL_LENGTH, EventType
from egide.services.portfolio_jobs import MAX_SEED, MAX_YEARS

EventName = Literal[
    "quote.referred",
    "quote.approved",
    "quote.declined",
    "policy.bound",
    "policy.endorsed",
    "policy.cancelled",
    "policy.renewal_due",
    "claim.declared",
    "claim.settled",
    "claim.deadline_approaching",
    "portfolio_run.finished",
]
assert set(EventName.__args__) == {e.value for e in EventType}  # type: ignore[attr-defined]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[StrictStr, Field(min_length=1, max_length=MAX_URL_LENGTH)] = Field(
        description="Where events are posted (production: https to a public address)."
    )
    events: Annotated[list[EventName], Field(min_length=1, max_length=len(EventType))] = Field(
        description="The event types to receive."
    )


class Webhook(Out):
    id: int
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: str


class WebhookCreated(Webhook):
    secret: str = Field(
        description="The signing secret (whsec_ + base64, Standard Webhooks), shown this once."
    )


class WebhookPage(Out):
    items: list[Webhook]
    next_cursor: str | None = None


class PortfolioRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    years: Annotated[StrictInt, Field(ge=1, le=MAX_YEARS)] = Field(description="Simulated years.")
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] = Field(
        description="Random seed: same seed, same book, same result."
    )
    as_of: date | None = Field(
        None, description="The policies in force that day (default: today, Paris)."
    )


class PortfolioRunStarted(Out):
    id: str
    status: Literal["queued"]


class PortfolioRun(Out):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    result: dict[str, Any] | None = Field(
        description="Once done: the fields of `egide portfolio simulate --json`."
    )
    error: str | None
