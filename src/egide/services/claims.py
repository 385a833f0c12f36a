"""Claim use cases: declare, show, amend (costs, reserves, flags), settle, reopen, clock, statement.

Each owns its transaction (a unit of work rolled back unless committed) and every mutation goes
through `egide.services.idempotency` (key and work commit together). The settlement is derived,
never stored: the stored declaration, the policy's terms on the day of discovery (claims-made),
the product version the policy was written on and the payments of the policy year, through
`egide.domain.claims.adjudicate` (hence `apply_terms`).

Concurrency: `settle_claim` locks the policy row (`policy_row_for_update`) before it reads what
the policy's other claims were paid, so two claims of one policy settled at the same moment
serialise and never pay more than the annual aggregate together. Changes to one claim lock its
row (SELECT ... FOR UPDATE; SQLite serialises writers with BEGIN IMMEDIATE).

Each use case returns a typed result (`egide.services.claim_results`) whose ``public()`` is the
JSON contract of `egide claim ... --json`; an idempotent replay returns the stored contract read
back to the same typed value.

Nothing here logs: a claim holds health-related details (number of patients, incident notes).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from egide.clock import PARIS
from egide.clock import now as clock_now
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import KIND_LABELS_FR
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
from egide.domain.claims import (
    COVERAGE_LABELS_FR,
    Adjudication,
    Declaration,
    adjudicate,
    check_against_now,
    merge_declaration,
    parse_declaration,
)
from egide.domain.cover import CoverInForce
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.incident_clock import Deadline, incident_clock
from egide.domain.money import CENT, ZERO, cents
from egide.domain.money import parse_amount as parse_money
from egide.domain.product import Product
from egide.domain.text import require_parameters
from egide.services import audit, idempotency, tenancy
from egide.services.claim_results import (
    ClaimClock,
    ClaimDeadline,
    ClaimHistoryEntry,
    ClaimResult,
    ClaimSummary,
    PaymentMade,
    SettlementResult,
    settlement_line,
)
from egide.services.pages import Page, after_cursor, cursor_of, page_limit
from egide.services.policies import cover_in_force, policy_row_for_update
from egide.services.ports import UnitOfWork
from egide.services.products import stored_product

if TYPE_CHECKING:  # the documents load their templates' machinery: only the statement needs it
    from egide.documents.views import DecompteView


def money(value: Decimal) -> str:
    return str(cents(value))


def _from_cents(value: int) -> Decimal:
    return Decimal(value) * CENT


# --------------------------------------------------------------------------- reading


def _claim(
    uow: UnitOfWork, principal: Principal, action: Action, number: str, lock: bool = False
) -> StoredClaim:
    """The claim, if the principal may see it (else "does not exist") and act on it."""
    claim = uow.claims.get(number, lock=lock)
    return tenancy.visible_row(principal, action, claim, f"claim {number}")


def _paid_in_term(uow: UnitOfWork, policy_number: str, term_start: datetime) -> Decimal:
    """Every payment of the policy year: what the annual aggregate has lost."""
    return _from_cents(uow.claims.paid_in_term(policy_number, term_start))


class _State:
    """A claim with everything its settlement is derived from."""

    def __init__(self, uow: UnitOfWork, claim: StoredClaim, moment: datetime) -> None:
        self.claim = claim
        self.moment = moment
        self.declaration = claim.declared()
        self.cover: CoverInForce = cover_in_force(
            uow, claim.policy_number, self.declaration.incident.discovered_at
        )
        self.product: Product = stored_product(uow, claim.product_ref)
        self.payments = uow.claims.payments(claim)
        self.paid = sum((p.amount for p in self.payments), ZERO)
        self.paid_in_term = _paid_in_term(uow, claim.policy_number, claim.term_start)
        self.used_by_others = self.paid_in_term - self.paid
        self.full: Adjudication = adjudicate(
            self.declaration, self.cover, self.product, self.used_by_others, moment
        )
        self.incurred: Adjudication = adjudicate(
            self.declaration.incurred_only(), self.cover, self.product, self.used_by_others, moment
        )

    @property
    def payable_now(self) -> Decimal:
        """What can be paid today: the incurred costs' settlement less what was paid."""
        return max(self.incurred.payable_total - self.paid, ZERO)

    @property
    def reserve(self) -> Decimal:
        """What the claim is still expected to cost (estimates included), less what was paid."""
        if self.claim.status == "closed":
            return ZERO
        return max(self.full.payable_total - self.paid, ZERO)

    @property
    def remaining_aggregate(self) -> Decimal:
        return max(self.cover.terms.aggregate_limit - self.paid_in_term, ZERO)

    def deadlines(self) -> list[Deadline]:
        return incident_clock(
            self.declaration,
            self.claim.establishment_kind,
            self.product,
            self.claim.declared_at,
            self.moment,
        )


def _claim_result(s: _State) -> ClaimResult:
    """The claim as `declare`, `show`, `amend` and `reopen` return it."""
    adj, i = s.full, s.declaration.incident
    return ClaimResult(
        claim_id=s.claim.number,
        policy_number=s.claim.policy_number,
        status=s.claim.status,
        incident_type=i.kind,
        started_at=i.started_at,
        discovered_at=i.discovered_at,
        declared_at=s.claim.declared_at,
        covered=adj.covered,
        reasons=adj.cover.reasons,
        claimed_total=cents(adj.claimed_total),
        payable_total=cents(adj.payable_total),
        payable_now=cents(s.payable_now),
        paid_total=cents(s.paid),
        reserve=cents(s.reserve),
        aggregate_limit=cents(s.cover.terms.aggregate_limit),
        remaining_aggregate=cents(s.remaining_aggregate),
        lines=tuple(settlement_line(line) for line in adj.lines),
        deadlines=tuple(ClaimDeadline.of(d) for d in s.deadlines()),
        payments=tuple(PaymentMade(p.amount, p.kind, p.paid_at, p.actor) for p in s.payments),
    )


def _event(
    uow: UnitOfWork,
    claim: StoredClaim,
    kind: str,
    actor: str,
    moment: datetime,
    data: dict[str, Any],
    note: str | None = None,
) -> StoredClaim:
    """Record what happened to the claim (its version counts its events); returns the claim as
    the event leaves it, stored and in the trail with the event."""
    claim = replace(claim, version=claim.version + 1)
    uow.claims.update(claim)
    event = uow.claims.add_event(
        ClaimEvent(
            claim_id=claim.id,
            seq=claim.version,
            kind=kind,
            at=moment,
            actor=actor,
            data=data,
            note=note,
        )
    )
    audit.record(uow, claim, kind, actor)
    audit.record(uow, event, kind, actor, number=claim.number)
    return claim


class _Contract(Protocol):
    def public(self) -> dict[str, Any]: ...


_Result = TypeVar("_Result", bound=_Contract)


def _once(
    uow: UnitOfWork,
    principal: Principal,
    key: str,
    scope: str,
    request: dict[str, Any],
    work: Callable[[], _Result],
    revive: Callable[[Mapping[str, Any]], _Result],
) -> _Result:
    """`work` once per idempotency key (`egide.services.idempotency`, inside the caller's unit of
    work): the key stores the result's contract; a replay reads it back with `revive`."""
    made: list[_Result] = []

    def run() -> dict[str, Any]:
        made.append(result := work())
        return result.public()

    org = principal.organisation_id
    response = idempotency.with_idempotency(uow, org, key, scope, request, run)
    return made[0] if made else revive(response)


def _new_claim_number(moment: datetime) -> str:
    return f"SIN-{moment:%Y%m%d}-{secrets.token_hex(3).upper()}"


# --------------------------------------------------------------------------- use cases


def declare_claim(
    uow: UnitOfWork,
    principal: Principal,
    policy_number: str,
    data: object,
    actor: str | None = None,
    idempotency_key: str | None = None,
    source: str | None = None,
) -> ClaimResult:
    """Declare an incident on a policy; returns the claim with its settlement and its clock."""
    require_parameters(policy_number=policy_number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_DECLARE, None, "claim")
    who = history_actor(principal, actor)
    decl = parse_declaration(data, source)
    moment = clock_now()
    check_against_now(decl, moment, source)
    request = {"policy": policy_number, "declaration": decl.to_data(), "actor": actor}
    key = idempotency_key or idempotency.new_key()

    def work() -> ClaimResult:
        what = f"policy {policy_number}"
        policy = tenancy.visible_row(
            principal, Action.CLAIM_DECLARE, uow.policies.get(policy_number), what
        )
        cover = cover_in_force(uow, policy_number, decl.incident.discovered_at)
        claim = uow.claims.add(
            StoredClaim(
                number=_new_claim_number(moment),
                policy_number=policy_number,
                term_start=cover.period_start,
                term_end=cover.period_end,
                product_ref=cover.product_ref,
                establishment_kind=cover.application.establishment.type,
                status="open",
                declaration=decl.to_data(),
                discovered_at=decl.incident.discovered_at,
                declared_at=moment,
                actor=who,
                created_at=moment,
                establishment_id=policy.establishment_id,
                broker_id=policy.broker_id,
                version=0,
            )
        )
        claim = _event(uow, claim, "declared", who, moment, {"source": source})
        return _claim_result(_State(uow, claim, moment))

    with uow:
        result = _once(uow, principal, key, "claim.declare", request, work, ClaimResult.from_public)
        uow.commit()
    return result


def get_claim(uow: UnitOfWork, principal: Principal, number: str) -> ClaimResult:
    require_parameters(number=number)
    with uow:
        claim = _claim(uow, principal, Action.CLAIM_READ, number)
        return _claim_result(_State(uow, claim, clock_now()))


def _require_open(claim: StoredClaim, action: str) -> None:
    if claim.status != "open":
        raise Conflict(f"claim {claim.number} is {claim.status}: reopen it before you {action}")


def amend_claim(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    patch: object,
    actor: str | None = None,
    idempotency_key: str | None = None,
    source: str | None = None,
) -> ClaimResult:
    """Add costs, update a reserve (a cost with an existing id), set exclusion flags, record a
    complaint or a notification: the declaration is merged and validated as a whole."""
    require_parameters(number=number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_UPDATE, None, "claim")
    who = history_actor(principal, actor)
    moment = clock_now()
    key = idempotency_key or idempotency.new_key()
    request = {"claim": number, "patch": _jsonable(patch), "actor": actor}

    def work() -> ClaimResult:
        claim = _claim(uow, principal, Action.CLAIM_UPDATE, number, lock=True)
        _require_open(claim, "change it")
        base = claim.declared()
        merged = merge_declaration(base, patch, source)
        check_against_now(merged, moment, source)
        if merged.incident.discovered_at != base.incident.discovered_at:
            raise InvalidInput(
                [
                    FieldError(
                        "incident.discovered_at",
                        "immutable",
                        "the discovery fixes the policy year of the claim: declare a new claim",
                    )
                ],
                source,
            )
        claim = replace(claim, declaration=merged.to_data())
        claim = _event(uow, claim, "amended", who, moment, {"patch": _jsonable(patch)})
        uow.flush()
        return _claim_result(_State(uow, claim, moment))

    with uow:
        result = _once(uow, principal, key, "claim.amend", request, work, ClaimResult.from_public)
        uow.commit()
    return result


def parse_amount(value: str | Decimal | None) -> Decimal | None:
    """The optional amount of a payment (`egide.domain.money.parse_amount`, more than 0)."""
    if value is None:
        return None
    # one spelling per amount: "1000" and "1000.00" are one request
    return parse_money("amount", value, allow_zero=False)


def settle_claim(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    actor: str | None = None,
    amount: str | Decimal | None = None,
    final: bool = False,
    idempotency_key: str | None = None,
) -> SettlementResult:
    """Pay what is payable now (incurred costs, after terms, less what was paid), or `amount`
    of it (a partial payment). `final` closes the claim: its remaining reserve is released."""
    require_parameters(number=number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_SETTLE, None, "claim")
    who = history_actor(principal, actor)
    wanted = parse_amount(amount)
    moment = clock_now()
    key = idempotency_key or idempotency.new_key()
    request = {
        "claim": number,
        "amount": str(wanted) if wanted is not None else None,
        "final": final,
        "actor": actor,
    }

    def work() -> SettlementResult:
        head = _claim(uow, principal, Action.CLAIM_SETTLE, number)
        policy_row_for_update(uow, head.policy_number)  # serialises the aggregate's erosion
        claim = _claim(uow, principal, Action.CLAIM_SETTLE, number, lock=True)
        _require_open(claim, "settle it")
        state = _State(uow, claim, moment)
        due = state.payable_now
        pay = due if wanted is None else wanted
        if wanted is not None and wanted > due:
            raise InvalidInput(
                [FieldError("amount", "at_most_payable", f"only {money(due)} EUR is payable now")]
            )
        if pay > 0:
            payment = uow.claims.add_payment(
                ClaimPayment(
                    claim_id=claim.id,
                    policy_number=claim.policy_number,
                    term_start=claim.term_start,
                    amount=cents(pay),
                    kind="final" if final else "partial",
                    paid_at=moment,
                    actor=who,
                )
            )
            audit.record(uow, payment, "paid", who, number=claim.number)
            claim = _event(uow, claim, "paid", who, moment, {"amount": money(pay), "final": final})
        if final:
            claim = replace(claim, status="closed")
            reserve = {"reserve_released": money(state.reserve)}
            claim = _event(uow, claim, "closed", who, moment, reserve)
        uow.flush()
        after = _State(uow, claim, moment)
        return SettlementResult(
            claim_id=claim.number,
            paid_now=cents(pay),
            paid_total=cents(after.paid),
            payable_now=cents(after.payable_now),
            reserve=cents(after.reserve),
            status=claim.status,
            remaining_aggregate=cents(after.remaining_aggregate),
        )

    with uow:
        revive = SettlementResult.from_public
        result = _once(uow, principal, key, "claim.settle", request, work, revive)
        uow.commit()
    return result


def reopen_claim(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    note: str,
    actor: str | None = None,
    idempotency_key: str | None = None,
) -> ClaimResult:
    """Reopen a closed claim (new facts, a late invoice), with the handler's note."""
    if not note or not note.strip():
        raise InvalidInput([FieldError("note", "required", "say why the claim is reopened")])
    require_parameters(number=number, note=note, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_SETTLE, None, "claim")
    who = history_actor(principal, actor)
    moment = clock_now()
    key = idempotency_key or idempotency.new_key()
    request = {"claim": number, "note": note.strip(), "actor": actor}

    def work() -> ClaimResult:
        claim = _claim(uow, principal, Action.CLAIM_SETTLE, number, lock=True)
        if claim.status != "closed":
            raise Conflict(f"claim {number} is {claim.status}: only a closed claim can be reopened")
        claim = replace(claim, status="open")
        claim = _event(uow, claim, "reopened", who, moment, {}, note=note.strip())
        uow.flush()
        return _claim_result(_State(uow, claim, moment))

    with uow:
        result = _once(uow, principal, key, "claim.reopen", request, work, ClaimResult.from_public)
        uow.commit()
    return result


def claim_clock(uow: UnitOfWork, principal: Principal, number: str) -> ClaimClock:
    """Each deadline of the incident, its due time (Paris) and its status at the clock's now."""
    require_parameters(number=number)
    with uow:
        s = _State(uow, _claim(uow, principal, Action.CLAIM_READ, number), clock_now())
        return ClaimClock(
            claim_id=number,
            now=s.moment,
            discovered_at=s.declaration.incident.discovered_at,
            deadlines=tuple(ClaimDeadline.of(d) for d in s.deadlines()),
        )


def claim_history(uow: UnitOfWork, principal: Principal, number: str) -> list[ClaimHistoryEntry]:
    """The claim's events in order (each one's contract: `public()`)."""
    require_parameters(number=number)
    with uow:
        claim = _claim(uow, principal, Action.CLAIM_READ, number)
        return [
            ClaimHistoryEntry(seq=e.seq, kind=e.kind, at=e.at, actor=e.actor, note=e.note)
            for e in uow.claims.events(claim)
        ]


def list_claims(
    uow: UnitOfWork,
    principal: Principal,
    *,
    status: str | None = None,
    establishment_id: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """The claims the principal may see, nearest legal deadline first (a claim's earliest
    deadline not yet met; claims with none after, newest first), one page at a time: a `Page`
    of `ClaimSummary`. Read in one query with the product versions they need (never one query
    per claim); the deadlines are derived from each declaration at the clock's now."""
    tenancy.check(principal, Action.CLAIM_READ, None, "claim")
    if status is not None and status not in ("open", "closed"):
        raise InvalidInput([FieldError("status", "enum", "must be open or closed")])
    start, size = after_cursor(cursor) or 0, page_limit(limit)
    scope = tenancy.tenant_filter(principal, establishment_id)
    if scope is None:
        return Page([], None)
    moment = clock_now()
    with uow:
        found = uow.claims.find(
            establishment_id=scope.establishment_id,
            broker_id=scope.broker_id,
            status=status,
        )
        products = {ref: stored_product(uow, ref) for ref in {c.product_ref for c in found}}
        keyed: list[tuple[tuple[int, float, str], ClaimSummary]] = []
        for c in found:
            clock = incident_clock(
                c.declared(), c.establishment_kind, products[c.product_ref], c.declared_at, moment
            )
            pending = sorted((d for d in clock if d.done_at is None), key=lambda d: d.due_at)
            nearest = pending[0] if pending and c.status == "open" else None
            summary = ClaimSummary(
                claim_id=c.number,
                policy_number=c.policy_number,
                status=c.status,
                establishment_id=c.establishment_id,
                broker_id=c.broker_id,
                discovered_at=c.discovered_at,
                declared_at=c.declared_at,
                next_deadline=ClaimDeadline.of(nearest) if nearest else None,
            )
            order = (0, nearest.due_at.timestamp(), c.number) if nearest else (1, -c.id, c.number)
            keyed.append((order, summary))
        keyed.sort(key=lambda pair: pair[0])
        shown = [summary for _, summary in keyed[start : start + size]]
        more = len(keyed) > start + size
        # the cursor is the position in this order (deadlines move with time, ids do not)
        return Page(shown, cursor_of(start + size) if more else None)


# --------------------------------------------------------------------------- the statement


def statement_view(uow: UnitOfWork, principal: Principal, number: str) -> DecompteView:
    """The décompte de sinistre's view (a typed value of `egide.documents.views`)."""
    require_parameters(number=number)
    from egide.documents.views import (
        DecompteView,
        InsuredView,
        PaymentView,
        ReasonView,
        SettlementLineView,
    )

    with uow:
        s = _State(uow, _claim(uow, principal, Action.CLAIM_READ, number), clock_now())
        e = s.cover.application.establishment
        lines = [
            SettlementLineView(
                category=line.category.label_fr + (" (estimation)" if line.estimated else ""),
                coverage=COVERAGE_LABELS_FR[line.coverage],
                claimed=line.claimed,
                covered=line.covered,
                deductible_applied=line.deductible,
                limit_reduction=line.limit,
                payable=line.payable,
                reasons=[ReasonView(r.value, r.label_fr) for r in line.reasons],
            )
            for line in s.full.lines
        ]
        if not lines:
            raise Conflict(f"claim {number} has no cost yet: nothing to state")
        aggregate = s.cover.terms.aggregate_limit
        after = max(aggregate - s.used_by_others - max(s.full.payable_total, s.paid), ZERO)
        i = s.declaration.incident
        return DecompteView(
            claim_reference=number,
            policy_number=s.claim.policy_number,
            issued_on=s.moment.astimezone(PARIS).date(),
            insured=InsuredView(
                name=e.name, kind_label=KIND_LABELS_FR[e.type], siret=e.siret, finess=e.finess
            ),
            incident_type=i.kind.label_fr,
            occurred_at=i.started_at.astimezone(PARIS),
            discovered_at=i.discovered_at.astimezone(PARIS),
            complaint_filed_at=(
                i.complaint_filed_at.astimezone(PARIS) if i.complaint_filed_at else None
            ),
            lines=lines,
            aggregate_limit=aggregate,
            aggregate_remaining=after,
            payments=[
                PaymentView(
                    paid_on=p.paid_at.astimezone(PARIS).date(),
                    amount=p.amount,
                    label="Règlement définitif" if p.kind == "final" else "Règlement",
                )
                for p in s.payments
            ],
            declared_at=s.claim.declared_at.astimezone(PARIS),
        )


def statement_pdf(uow: UnitOfWork, principal: Principal, number: str) -> bytes:
    from egide.documents.render import render_decompte

    return render_decompte(statement_view(uow, principal, number))


def _jsonable(value: object) -> Any:
    """Plain JSON for a request fingerprint and the history (datetimes as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


__all__ = [
    "ClaimClock",
    "ClaimHistoryEntry",
    "ClaimResult",
    "ClaimSummary",
    "Declaration",
    "SettlementResult",
    "amend_claim",
    "claim_clock",
    "claim_history",
    "declare_claim",
    "get_claim",
    "list_claims",
    "reopen_claim",
    "settle_claim",
    "statement_pdf",
    "statement_view",
]
