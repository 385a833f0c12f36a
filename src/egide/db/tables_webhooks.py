"""Webhooks: the endpoints organisations register, the outbox of events, and their deliveries.

An event is written to the outbox (`WebhookEventRow`) in the same transaction as the change that
causes it; the worker (`egide.services.webhooks`) fans it out to the endpoints that receive it
(one `WebhookDeliveryRow` per event and endpoint, unique), then delivers each, recording every
attempt (`WebhookAttemptRow`). See `egide.domain.webhooks` for the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped


class WebhookEndpointRow(Base, Timestamped):
    """A URL an organisation registered, with the event types it wants. The signing secret is
    not stored: it is derived from `secret_salt` and the server key (`egide.services.webhooks`),
    so a dump of the database alone does not yield it."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret_salt: Mapped[str] = mapped_column(String(64))  # 32 random bytes, hex
    enabled: Mapped[bool] = mapped_column(Boolean)
    deleted: Mapped[bool] = mapped_column(Boolean)  # deleted by its organisation (kept: history)
    failures: Mapped[int] = mapped_column(Integer)  # consecutive failed attempts
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))


class WebhookEventRow(Base, Timestamped):
    """One event of the outbox: what happened to which object, of which tenant."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_undispatched", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id, "msg_…"
    type: Mapped[str] = mapped_column(String(40))
    object_kind: Mapped[str] = mapped_column(String(20))  # quote, policy, claim, portfolio_run
    object_number: Mapped[str] = mapped_column(String(40))
    establishment_id: Mapped[int | None] = mapped_column(Integer)
    broker_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the body's "data"
    # time-based events: one per (type, object, occasion), e.g. policy.renewal_due:POL-…:2028-01-10
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    dispatched_at: Mapped[datetime | None]  # fanned out to the endpoints


class WebhookDeliveryRow(Base):
    """One event to one endpoint: its state, attempts so far, when to try next, and the lease of
    the worker delivering it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(60))
    lease_until: Mapped[datetime | None]
    response_code: Mapped[int | None] = mapped_column(Integer)  # of the last attempt
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    """Every attempt, kept: when, by which worker, the answer."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    worker: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # ok | http_error | network_error | refused
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer)
