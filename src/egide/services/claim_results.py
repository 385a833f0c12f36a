"""What the claim use cases return: typed values whose ``public()`` is their JSON contract.

The contract is the one `egide claim ... --json` has printed since the claims issue (same keys,
same order, amounts as decimal strings in euros, times in ISO 8601 Europe/Paris); every edge
prints it through `egide.services.results.contract`. ``from_public`` reads a contract back to an
equal value: an idempotent replay returns the stored contract, and the use case gives it back
typed, as the first call did.

Amounts are Decimal rounded to the cent (the contract's one rounding), times aware datetimes;
the settlement lines are the domain's `SettlementLine` and the reasons its `Reason` codes, whose
French explanations the contract derives from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from egide.clock import iso_paris
from egide.domain.claims import (
    COVERAGE_LABELS_FR,
    CostCategory,
    IncidentKind,
    Reason,
    SettlementLine,
)
from egide.domain.incident_clock import Deadline
from egide.domain.money import cents


def _money(value: Decimal) -> str:
    return str(cents(value))


def _amount(text: str) -> Decimal:
    return cents(Decimal(text))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _reasons(codes: list[str]) -> tuple[Reason, ...]:
    return tuple(Reason(c) for c in codes)


@dataclass(frozen=True)
class ClaimDeadline:
    """One deadline of the incident clock as it stood when the result was made."""

    code: str
    label: str  # French, for the establishment
    basis: str  # the legal text
    timing: str
    due_at: datetime
    done_at: datetime | None
    status: str
    status_text: str

    @classmethod
    def of(cls, d: Deadline) -> ClaimDeadline:
        return cls(
            code=d.code,
            label=d.rule.label_fr,
            basis=d.rule.basis,
            timing=d.rule.timing.value,
            due_at=d.due_at,
            done_at=d.done_at,
            status=d.status.value,
            status_text=d.status_text,
        )

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "basis": self.basis,
            "timing": self.timing,
            "due_at": iso_paris(self.due_at),
            "done_at": iso_paris(self.done_at) if self.done_at else None,
            "status": self.status,
            "status_text": self.status_text,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> ClaimDeadline:
        done = data["done_at"]
        return cls(
            code=data["code"],
            label=data["label"],
            basis=data["basis"],
            timing=data["timing"],
            due_at=_moment(data["due_at"]),
            done_at=_moment(done) if done is not None else None,
            status=data["status"],
            status_text=data["status_text"],
        )


def settlement_line(line: SettlementLine) -> SettlementLine:
    """The line with its amounts at the cent, as the contract states them."""
    return replace(
        line,
        claimed=cents(line.claimed),
        covered=cents(line.covered),
        deductible=cents(line.deductible),
        limit=cents(line.limit),
        payable=cents(line.payable),
    )


def line_public(line: SettlementLine) -> dict[str, Any]:
    return {
        "ref": line.ref,
        "category": line.category.value,
        "category_label": line.category.label_fr,
        "coverage": line.coverage,
        "coverage_label": COVERAGE_LABELS_FR[line.coverage],
        "estimated": line.estimated,
        "claimed": _money(line.claimed),
        "covered": _money(line.covered),
        "deductible": _money(line.deductible),
        "limit": _money(line.limit),
        "payable": _money(line.payable),
        "reasons": [r.value for r in line.reasons],
    }


def line_from_public(data: Mapping[str, Any]) -> SettlementLine:
    return SettlementLine(
        ref=data["ref"],
        category=CostCategory(data["category"]),
        coverage=data["coverage"],
        claimed=_amount(data["claimed"]),
        covered=_amount(data["covered"]),
        deductible=_amount(data["deductible"]),
        limit=_amount(data["limit"]),
        payable=_amount(data["payable"]),
        estimated=bool(data["estimated"]),
        reasons=_reasons(data["reasons"]),
    )


@dataclass(frozen=True)
class PaymentMade:
    """A payment as a claim shows it."""

    amount: Decimal
    kind: str  # partial | final
    paid_at: datetime
    actor: str

    def public(self) -> dict[str, Any]:
        return {
            "amount": _money(self.amount),
            "kind": self.kind,
            "paid_at": iso_paris(self.paid_at),
            "actor": self.actor,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> PaymentMade:
        return cls(
            amount=_amount(data["amount"]),
            kind=data["kind"],
            paid_at=_moment(data["paid_at"]),
            actor=data["actor"],
        )


@dataclass(frozen=True)
class ClaimResult:
    """A claim today: cover, settlement line by line, money, clock and payments (`declare`,
    `show`, `amend`, `reopen`)."""

    claim_id: str
    policy_number: str
    status: str  # open | closed
    incident_type: IncidentKind
    started_at: datetime
    discovered_at: datetime
    declared_at: datetime
    covered: bool
    reasons: tuple[Reason, ...]  # the cover decision's
    claimed_total: Decimal
    payable_total: Decimal
    payable_now: Decimal
    paid_total: Decimal
    reserve: Decimal
    aggregate_limit: Decimal
    remaining_aggregate: Decimal
    lines: tuple[SettlementLine, ...]
    deadlines: tuple[ClaimDeadline, ...]
    payments: tuple[PaymentMade, ...]

    @property
    def explanations(self) -> dict[str, str]:
        """The French text of every reason the claim shows (cover and lines), in code order."""
        used = set(self.reasons).union(*(line.reasons for line in self.lines))
        return {r.value: r.label_fr for r in Reason if r in used}

    def public(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "policy_number": self.policy_number,
            "status": self.status,
            "incident_type": self.incident_type.value,
            "started_at": iso_paris(self.started_at),
            "discovered_at": iso_paris(self.discovered_at),
            "declared_at": iso_paris(self.declared_at),
            "covered": self.covered,
            "reasons": [r.value for r in self.reasons],
            "claimed_total": _money(self.claimed_total),
            "payable_total": _money(self.payable_total),
            "payable_now": _money(self.payable_now),
            "paid_total": _money(self.paid_total),
            "reserve": _money(self.reserve),
            "aggregate_limit": _money(self.aggregate_limit),
            "remaining_aggregate": _money(self.remaining_aggregate),
            "lines": [line_public(line) for line in self.lines],
            "deadlines": [d.public() for d in self.deadlines],
            "payments": [p.public() for p in self.payments],
            "explanations": self.explanations,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> ClaimResult:
        return cls(
            claim_id=data["claim_id"],
            policy_number=data["policy_number"],
            status=data["status"],
            incident_type=IncidentKind(data["incident_type"]),
            started_at=_moment(data["started_at"]),
            discovered_at=_moment(data["discovered_at"]),
            declared_at=_moment(data["declared_at"]),
            covered=bool(data["covered"]),
            reasons=_reasons(data["reasons"]),
            claimed_total=_amount(data["claimed_total"]),
            payable_total=_amount(data["payable_total"]),
            payable_now=_amount(data["payable_now"]),
            paid_total=_amount(data["paid_total"]),
            reserve=_amount(data["reserve"]),
            aggregate_limit=_amount(data["aggregate_limit"]),
            remaining_aggregate=_amount(data["remaining_aggregate"]),
            lines=tuple(line_from_public(line) for line in data["lines"]),
            deadlines=tuple(ClaimDeadline.from_public(d) for d in data["deadlines"]),
            payments=tuple(PaymentMade.from_public(p) for p in data["payments"]),
        )


@dataclass(frozen=True)
class SettlementResult:
    """What a settlement paid and what is left (`settle`)."""

    claim_id: str
    paid_now: Decimal
    paid_total: Decimal
    payable_now: Decimal
    reserve: Decimal
    status: str
    remaining_aggregate: Decimal

    def public(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "paid_now": _money(self.paid_now),
            "paid_total": _money(self.paid_total),
            "payable_now": _money(self.payable_now),
            "reserve": _money(self.reserve),
            "status": self.status,
            "remaining_aggregate": _money(self.remaining_aggregate),
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> SettlementResult:
        return cls(
            claim_id=data["claim_id"],
            paid_now=_amount(data["paid_now"]),
            paid_total=_amount(data["paid_total"]),
            payable_now=_amount(data["payable_now"]),
            reserve=_amount(data["reserve"]),
            status=data["status"],
            remaining_aggregate=_amount(data["remaining_aggregate"]),
        )


@dataclass(frozen=True)
class ClaimClock:
    """The incident clock at a moment (`clock`)."""

    claim_id: str
    now: datetime
    discovered_at: datetime
    deadlines: tuple[ClaimDeadline, ...]

    def public(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "now": iso_paris(self.now),
            "discovered_at": iso_paris(self.discovered_at),
            "deadlines": [d.public() for d in self.deadlines],
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> ClaimClock:
        return cls(
            claim_id=data["claim_id"],
            now=_moment(data["now"]),
            discovered_at=_moment(data["discovered_at"]),
            deadlines=tuple(ClaimDeadline.from_public(d) for d in data["deadlines"]),
        )


@dataclass(frozen=True)
class ClaimHistoryEntry:
    """One event of a claim's history (`claim_history` returns them in order)."""

    seq: int
    kind: str
    at: datetime
    actor: str
    note: str | None

    def public(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "at": iso_paris(self.at),
            "actor": self.actor,
            "note": self.note,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> ClaimHistoryEntry:
        return cls(
            seq=int(data["seq"]),
            kind=data["kind"],
            at=_moment(data["at"]),
            actor=data["actor"],
            note=data["note"],
        )


@dataclass(frozen=True)
class ClaimSummary:
    """A claim in a list (`list_claims`): its tenant and its nearest pending deadline."""

    claim_id: str
    policy_number: str
    status: str
    establishment_id: int | None
    broker_id: int | None
    discovered_at: datetime
    declared_at: datetime
    next_deadline: ClaimDeadline | None

    def public(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "policy_number": self.policy_number,
            "status": self.status,
            "establishment_id": self.establishment_id,
            "broker_id": self.broker_id,
            "discovered_at": iso_paris(self.discovered_at),
            "declared_at": iso_paris(self.declared_at),
            "next_deadline": self.next_deadline.public() if self.next_deadline else None,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> ClaimSummary:
        nearest = data["next_deadline"]
        return cls(
            claim_id=data["claim_id"],
            policy_number=data["policy_number"],
            status=data["status"],
            establishment_id=data["establishment_id"],
            broker_id=data["broker_id"],
            discovered_at=_moment(data["discovered_at"]),
            declared_at=_moment(data["declared_at"]),
            next_deadline=ClaimDeadline.from_public(nearest) if nearest is not None else None,
        )
