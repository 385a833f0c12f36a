"""What the policy use cases return: typed values whose ``public()`` is their JSON contract.

The contracts are those of the earlier issues, unchanged key for key and in the same order
(``egide policy … --json`` prints them through `egide.services.results.contract`; the REST API
serialises them the same way). A mutation's result is what its idempotency key replays: the
stored response is the contract without ``idempotency_key`` (`stored()`, the form responses were
always stored in), read back by ``from_public``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from egide.clock import iso_paris
from egide.domain.policy import Kind, Premium, Status

TRIGGER = "claims_made"  # every policy is claims-made


def _premium(data: Mapping[str, Any]) -> Premium:
    return Premium(Decimal(data["net"]), Decimal(data["tax"]))


def _without_key(contract: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contract.items() if k != "idempotency_key"}


@dataclass(frozen=True)
class BindResult:
    """A quote bound into a policy (``policy bind``). `already_bound` (not in the contract):
    the quote had been bound before this call (the same request again, or a retry with the
    first call's idempotency key), and nothing changed."""

    policy_number: str
    quote_number: str
    status: Status  # on the moment of the bind
    period_start: datetime
    period_end: datetime
    retroactive_date: date
    premium: Premium
    transaction: int
    version: int
    idempotency_key: str | None
    already_bound: bool = False
    trigger: str = TRIGGER

    def public(self) -> dict[str, Any]:
        return {
            "policy_number": self.policy_number,
            "quote_number": self.quote_number,
            "status": self.status.value,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "retroactive_date": self.retroactive_date.isoformat(),
            "trigger": self.trigger,
            "premium": self.premium.to_data(),
            "transaction": self.transaction,
            "version": self.version,
            "idempotency_key": self.idempotency_key,
        }

    def stored(self) -> dict[str, Any]:
        """The response its idempotency key keeps."""
        return _without_key(self.public())

    @classmethod
    def from_public(cls, data: Mapping[str, Any], *, already_bound: bool) -> BindResult:
        return cls(
            policy_number=data["policy_number"],
            quote_number=data["quote_number"],
            status=Status(data["status"]),
            period_start=datetime.fromisoformat(data["period_start"]),
            period_end=datetime.fromisoformat(data["period_end"]),
            retroactive_date=date.fromisoformat(data["retroactive_date"]),
            premium=_premium(data["premium"]),
            transaction=data["transaction"],
            version=data["version"],
            idempotency_key=data.get("idempotency_key"),
            already_bound=already_bound,
            trigger=data["trigger"],
        )


@dataclass(frozen=True)
class TransactionResult:
    """A change appended to a policy (``policy endorse|cancel|reinstate|renew``)."""

    policy_number: str
    transaction: int  # its sequence number
    kind: Kind
    effective: date
    premium_change: Premium
    term_premium: Premium  # the term's premium after it
    version: int  # the policy's, after it
    idempotency_key: str

    def public(self) -> dict[str, Any]:
        return {
            "policy_number": self.policy_number,
            "transaction": self.transaction,
            "kind": self.kind.value,
            "effective": self.effective.isoformat(),
            "premium_change": self.premium_change.to_data(),
            "term_premium": self.term_premium.to_data(),
            "version": self.version,
            "idempotency_key": self.idempotency_key,
        }

    def stored(self) -> dict[str, Any]:
        """The response its idempotency key keeps."""
        return _without_key(self.public())

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> TransactionResult:
        return cls(
            policy_number=data["policy_number"],
            transaction=data["transaction"],
            kind=Kind(data["kind"]),
            effective=date.fromisoformat(data["effective"]),
            premium_change=_premium(data["premium_change"]),
            term_premium=_premium(data["term_premium"]),
            version=data["version"],
            idempotency_key=data["idempotency_key"],
        )


@dataclass(frozen=True)
class PolicyCoverage:
    """A coverage in force: its sub-limit and sub-deductible (to the cent), its share of the
    annual premium (None when the snapshot has none), and for business interruption its waiting
    period, waiting mode and indemnity period."""

    code: str
    label: str
    limit: Decimal
    sub_deductible: Decimal
    annual_premium: Decimal | None
    waiting_period_hours: int | None = None
    waiting_period_mode: str | None = None
    indemnity_period_days: int | None = None

    def public(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "code": self.code,
            "label": self.label,
            "limit": str(self.limit),
            "sub_deductible": str(self.sub_deductible),
            "annual_premium": None if self.annual_premium is None else str(self.annual_premium),
        }
        if self.waiting_period_hours is not None:
            item["waiting_period_hours"] = self.waiting_period_hours
            item["waiting_period_mode"] = self.waiting_period_mode
            item["indemnity_period_days"] = self.indemnity_period_days
        return item


@dataclass(frozen=True)
class FieldChange:
    """An answer an endorsement or a renewal changed (dotted path; JSON values as stored)."""

    field: str
    old: Any
    new: Any

    def public(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class HistoryEntry:
    """One transaction of a policy's history; `changes` for an endorsement or a renewal."""

    seq: int
    kind: str
    term: int
    effective: date
    period_start: datetime
    period_end: datetime
    recorded_at: datetime
    actor: str
    reason: str | None
    product: str
    premium_change: Premium
    term_premium: Premium
    annual_premium: Premium
    idempotency_key: str | None
    changes: tuple[FieldChange, ...] | None = None

    def public(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "term": self.term,
            "effective": self.effective.isoformat(),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "recorded_at": iso_paris(self.recorded_at),
            "actor": self.actor,
            "reason": self.reason,
            "product": self.product,
            "premium_change": self.premium_change.to_data(),
            "term_premium": self.term_premium.to_data(),
            "annual_premium": self.annual_premium.to_data(),
            "idempotency_key": self.idempotency_key,
        }
        if self.changes is not None:
            item["changes"] = [c.public() for c in self.changes]
        return item


@dataclass(frozen=True)
class PolicyDetails:
    """A policy on a moment (``policy show``): the cover of the term in force (or nearest) on
    `as_of`, and its whole history."""

    policy_number: str
    quote_number: str
    as_of: datetime
    status: Status
    term: int
    period_start: datetime
    period_end: datetime
    retroactive_date: date
    product: str
    establishment_name: str
    siret: str
    aggregate_limit: Decimal
    deductible: Decimal
    annual_premium: Premium
    term_premium: Premium
    version: int
    coverages: Sequence[PolicyCoverage]
    transactions: Sequence[HistoryEntry]
    trigger: str = TRIGGER

    def public(self) -> dict[str, Any]:
        return {
            "policy_number": self.policy_number,
            "quote_number": self.quote_number,
            "as_of": self.as_of.isoformat(),
            "status": self.status.value,
            "term": self.term,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "retroactive_date": self.retroactive_date.isoformat(),
            "trigger": self.trigger,
            "product": self.product,
            "establishment": {"name": self.establishment_name, "siret": self.siret},
            "aggregate_limit": str(self.aggregate_limit),
            "deductible": str(self.deductible),
            "annual_premium": self.annual_premium.to_data(),
            "term_premium": self.term_premium.to_data(),
            "version": self.version,
            "coverages": [c.public() for c in self.coverages],
            "transactions": [t.public() for t in self.transactions],
        }


@dataclass(frozen=True)
class PolicySummary:
    """A policy in a list (``policy list``): its tenant, and its status and term on a moment."""

    policy_number: str
    quote_number: str
    establishment_name: str
    siret: str
    establishment_id: int | None
    broker_id: int | None
    status: Status
    term: int
    period_start: datetime
    period_end: datetime
    annual_premium: Premium
    version: int

    def public(self) -> dict[str, Any]:
        return {
            "policy_number": self.policy_number,
            "quote_number": self.quote_number,
            "establishment": {"name": self.establishment_name, "siret": self.siret},
            "establishment_id": self.establishment_id,
            "broker_id": self.broker_id,
            "status": self.status.value,
            "term": self.term,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "annual_premium": self.annual_premium.to_data(),
            "version": self.version,
        }
