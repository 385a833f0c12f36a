"""The outbox: webhook events written in the same transaction as the change that causes them.

One choke point: every change of a quote, a policy, a claim or a portfolio run is already
recorded by `egide.services.audit.record` inside the use case's unit of work, so `record` calls
`from_audit` with the row and the action, and the events are mapped here, not in each use case.
An event therefore commits or rolls back with its change: a crash never loses one and never
invents one.

| audit record                               | event                  |
|--------------------------------------------|------------------------|
| quote "saved", status referred             | quote.referred         |
| quote "saved", status declined (the rules) | quote.declined         |
| quote "approved" / "declined" (a review)   | quote.approved/declined|
| policy transaction "issue"                 | policy.bound           |
| policy transaction "endorse"               | policy.endorsed        |
| policy transaction "cancel"                | policy.cancelled       |
| claim "declared"                           | claim.declared         |
| claim payment "paid"                       | claim.settled          |
| portfolio run "saved"                      | portfolio_run.finished |

The time-based events (policy.renewal_due, claim.deadline_approaching) come from the worker's
scan (`egide.services.webhooks.scan_time_events`) with a dedup key, so each fires once.

Payloads carry numbers, statuses, dates and amounts: never the application's answers, the
declaration's free text or anything about patients.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from egide.clock import now as clock_now
from egide.domain.webhooks import EventType

if TYPE_CHECKING:
    from egide.services.audit import Audited
    from egide.services.ports import UnitOfWork


def new_event_id() -> str:
    """The event's ``webhook-id``: unique, the same for every attempt to every endpoint."""
    return f"msg_{uuid.uuid4().hex}"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def emit(
    uow: UnitOfWork,
    type_: EventType,
    object_kind: str,
    number: str,
    *,
    establishment_id: int | None,
    broker_id: int | None,
    data: dict[str, Any],
    dedup_key: str | None = None,
) -> bool:
    """Write one event to the outbox, inside the caller's unit of work (the caller commits).
    With a `dedup_key`, an event already written with that key (by this or a concurrent
    transaction) is not written again: False."""
    from egide.db.tables_webhooks import WebhookEventRow

    row = WebhookEventRow(
        event_id=new_event_id(),
        type=type_.value,
        object_kind=object_kind,
        object_number=number,
        establishment_id=establishment_id,
        broker_id=broker_id,
        payload={k: _json(v) for k, v in data.items()},
        dedup_key=dedup_key,
        dispatched_at=None,
        created_at=clock_now(),
    )
    if dedup_key is None:
        uow.webhooks.add_event(row)
        return True
    return uow.webhooks.add_event_once(row)


def from_audit(uow: UnitOfWork, row: Audited, action: str, number: str | None) -> None:
    """The event of one audited change, if it makes one (see the module's table)."""
    from egide.db.tables import QuoteRow
    from egide.db.tables_claims import ClaimPaymentRow, ClaimRow
    from egide.db.tables_policy import PolicyTransactionRow
    from egide.db.tables_portfolio import PortfolioRunRow
    from egide.domain.claim_record import ClaimPayment, StoredClaim
    from egide.domain.policy_record import PolicyTransaction
    from egide.domain.quote_record import StoredQuote

    if isinstance(row, StoredQuote | QuoteRow):
        kind = _QUOTE_EVENTS.get((action, row.status))
        if kind is not None:
            emit(
                uow,
                kind,
                "quote",
                row.number,
                establishment_id=row.establishment_id,
                broker_id=row.broker_id,
                data={
                    "quote_number": row.number,
                    "status": row.status,
                    "decision": row.decision,
                    "product": row.product_ref,
                    "valid_until": row.valid_until,
                },
            )
    elif isinstance(row, PolicyTransaction | PolicyTransactionRow):
        kind = _POLICY_EVENTS.get(action)
        policy = uow.policies.get(number) if kind is not None and number else None
        if kind is not None and policy is not None:
            emit(
                uow,
                kind,
                "policy",
                policy.number,
                establishment_id=policy.establishment_id,
                broker_id=policy.broker_id,
                data={
                    "policy_number": policy.number,
                    "quote_number": policy.quote_number,
                    "transaction": row.seq,
                    "kind": row.kind,
                    "term": row.term,
                    "effective_date": row.effective_date,
                    "period_start": row.period_start,
                    "period_end": row.period_end,
                },
            )
    elif isinstance(row, StoredClaim | ClaimRow):
        if action == "declared":
            emit(
                uow,
                EventType.CLAIM_DECLARED,
                "claim",
                row.number,
                establishment_id=row.establishment_id,
                broker_id=row.broker_id,
                data={
                    "claim_number": row.number,
                    "policy_number": row.policy_number,
                    "status": row.status,
                    "declared_at": row.declared_at,
                },
            )
    elif isinstance(row, ClaimPayment | ClaimPaymentRow):
        claim = uow.claims.get(number) if action == "paid" and number else None
        if claim is not None:
            emit(
                uow,
                EventType.CLAIM_SETTLED,
                "claim",
                claim.number,
                establishment_id=claim.establishment_id,
                broker_id=claim.broker_id,
                data={
                    "claim_number": claim.number,
                    "policy_number": claim.policy_number,
                    "amount": str(Decimal(row.amount_cents) / 100),
                    "payment": row.kind,  # partial | final
                    "paid_at": row.paid_at,
                },
            )
    elif isinstance(row, PortfolioRunRow) and action == "saved":
        job = uow.jobs.by_run(row.run_id)
        emit(
            uow,
            EventType.PORTFOLIO_RUN_FINISHED,
            "portfolio_run",
            job.job_id if job is not None else row.run_id,
            establishment_id=None,  # the insurer's book: its endpoints only
            broker_id=None,
            data={
                "id": job.job_id if job is not None else None,
                "run_id": row.run_id,
                "status": "done",
                "policies": row.policies,
                "years": row.years,
                "seed": row.seed,
            },
        )


_QUOTE_EVENTS: dict[tuple[str, str], EventType] = {
    ("saved", "referred"): EventType.QUOTE_REFERRED,
    ("saved", "declined"): EventType.QUOTE_DECLINED,
    ("approved", "approved"): EventType.QUOTE_APPROVED,
    ("declined", "declined"): EventType.QUOTE_DECLINED,
}
_POLICY_EVENTS: dict[str, EventType] = {
    "issue": EventType.POLICY_BOUND,
    "endorse": EventType.POLICY_ENDORSED,
    "cancel": EventType.POLICY_CANCELLED,
}
