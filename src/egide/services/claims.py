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

Nothing here logs: a claim holds health-related details (number of patients, incident notes).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from egide.clock import PARIS, iso_paris
from egide.clock import now as clock_now
from egide.db.tables_claims import ClaimEventRow, ClaimPaymentRow, ClaimRow
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import KIND_LABELS_FR
from egide.domain.claims import (
    COVERAGE_LABELS_FR,
    Adjudication,
    Declaration,
    Reason,
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
from egide.services.pages import Page, after_cursor, cursor_of, page_limit
from egide.services.policies import cover_in_force, policy_row_for_update
from egide.services.ports import UnitOfWork
from egide.services.products import stored_product


def money(value: Decimal) -> str:
    return str(cents(value))


def _to_cents(value: Decimal) -> int:
    return int((cents(value) / CENT).to_integral_value())


def _from_cents(value: int) -> Decimal:
    return Decimal(value) * CENT


# --------------------------------------------------------------------------- reading


def _claim(
    uow: UnitOfWork, principal: Principal, action: Action, number: str, lock: bool = False
) -> ClaimRow:
    """The claim, if the principal may see it (else "does not exist") and act on it."""
    row = uow.claims.get(number, lock=lock)
    return tenancy.visible_row(principal, action, row, f"claim {number}")


def _paid_in_term(uow: UnitOfWork, policy_number: str, term_start: datetime) -> Decimal:
    """Every payment of the policy year: what the annual aggregate has lost."""
    return _from_cents(uow.claims.paid_in_term(policy_number, term_start))


class _State:
    """A claim with everything its settlement is derived from."""

    def __init__(self, uow: UnitOfWork, row: ClaimRow, moment: datetime) -> None:
        self.row = row
        self.moment = moment
        self.declaration = parse_declaration(row.declaration, f"claim {row.number}")
        self.cover: CoverInForce = cover_in_force(
            uow, row.policy_number, self.declaration.incident.discovered_at
        )
        self.product: Product = stored_product(uow, row.product_ref)
        self.payments = uow.claims.payments(row)
        self.paid = _from_cents(sum(p.amount_cents for p in self.payments))
        self.paid_in_term = _paid_in_term(uow, row.policy_number, row.term_start)
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
        if self.row.status == "closed":
            return ZERO
        return max(self.full.payable_total - self.paid, ZERO)

    @property
    def remaining_aggregate(self) -> Decimal:
        return max(self.cover.terms.aggregate_limit - self.paid_in_term, ZERO)

    def deadlines(self) -> list[Deadline]:
        return incident_clock(
            self.declaration,
            self.row.establishment_kind,
            self.product,
            self.row.declared_at,
            self.moment,
        )


def _reason_codes(reasons: tuple[Reason, ...]) -> list[str]:
    return [r.value for r in reasons]


def _deadline_data(d: Deadline) -> dict[str, Any]:
    return {
        "code": d.code,
        "label": d.rule.label_fr,
        "basis": d.rule.basis,
        "timing": d.rule.timing.value,
        "due_at": iso_paris(d.due_at),
        "done_at": iso_paris(d.done_at) if d.done_at else None,
        "status": d.status.value,
        "status_text": d.status_text,
    }


def _claim_data(s: _State) -> dict[str, Any]:
    """The output contract of `egide claim declare/show --json`."""
    adj = s.full
    used: set[Reason] = set(adj.cover.reasons)
    lines = []
    for line in adj.lines:
        used.update(line.reasons)
        lines.append(
            {
                "ref": line.ref,
                "category": line.category.value,
                "category_label": line.category.label_fr,
                "coverage": line.coverage,
                "coverage_label": COVERAGE_LABELS_FR[line.coverage],
                "estimated": line.estimated,
                "claimed": money(line.claimed),
                "covered": money(line.covered),
                "deductible": money(line.deductible),
                "limit": money(line.limit),
                "payable": money(line.payable),
                "reasons": _reason_codes(line.reasons),
            }
        )
    i = s.declaration.incident
    return {
        "claim_id": s.row.number,
        "policy_number": s.row.policy_number,
        "status": s.row.status,
        "incident_type": i.kind.value,
        "started_at": iso_paris(i.started_at),
        "discovered_at": iso_paris(i.discovered_at),
        "declared_at": iso_paris(s.row.declared_at),
        "covered": adj.covered,
        "reasons": _reason_codes(adj.cover.reasons),
        "claimed_total": money(adj.claimed_total),
        "payable_total": money(adj.payable_total),
        "payable_now": money(s.payable_now),
        "paid_total": money(s.paid),
        "reserve": money(s.reserve),
        "aggregate_limit": money(s.cover.terms.aggregate_limit),
        "remaining_aggregate": money(s.remaining_aggregate),
        "lines": lines,
        "deadlines": [_deadline_data(d) for d in s.deadlines()],
        "payments": [
            {
                "amount": money(_from_cents(p.amount_cents)),
                "kind": p.kind,
                "paid_at": iso_paris(p.paid_at),
                "actor": p.actor,
            }
            for p in s.payments
        ],
        "explanations": {r.value: r.label_fr for r in Reason if r in used},
    }


def _event(
    uow: UnitOfWork,
    row: ClaimRow,
    kind: str,
    actor: str,
    moment: datetime,
    data: dict[str, Any],
    note: str | None = None,
) -> None:
    row.version += 1
    uow.claims.add_event(
        event := ClaimEventRow(
            claim_id=row.id,
            seq=row.version,
            kind=kind,
            at=moment,
            actor=actor,
            note=note,
            data=data,
        )
    )
    audit.record(uow, row, kind, actor)  # the claim row as the event leaves it
    audit.record(uow, event, kind, actor, number=row.number)


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
) -> dict[str, Any]:
    """Declare an incident on a policy; returns the claim with its settlement and its clock."""
    require_parameters(policy_number=policy_number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_DECLARE, None, "claim")
    who = history_actor(principal, actor)
    decl = parse_declaration(data, source)
    moment = clock_now()
    check_against_now(decl, moment, source)
    request = {"policy": policy_number, "declaration": decl.to_data(), "actor": actor}
    key = idempotency_key or idempotency.new_key()

    def work() -> dict[str, Any]:
        what = f"policy {policy_number}"
        policy = tenancy.visible_row(
            principal, Action.CLAIM_DECLARE, uow.policies.get(policy_number), what
        )
        cover = cover_in_force(uow, policy_number, decl.incident.discovered_at)
        row = ClaimRow(
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
            version=0,
            created_at=moment,
            establishment_id=policy.establishment_id,
            broker_id=policy.broker_id,
        )
        uow.claims.add(row)
        _event(uow, row, "declared", who, moment, {"source": source})
        return _claim_data(_State(uow, row, moment))

    with uow:
        org = principal.organisation_id
        result = idempotency.with_idempotency(uow, org, key, "claim.declare", request, work)
        uow.commit()
    return result


def get_claim(uow: UnitOfWork, principal: Principal, number: str) -> dict[str, Any]:
    require_parameters(number=number)
    with uow:
        row = _claim(uow, principal, Action.CLAIM_READ, number)
        return _claim_data(_State(uow, row, clock_now()))


def _require_open(row: ClaimRow, action: str) -> None:
    if row.status != "open":
        raise Conflict(f"claim {row.number} is {row.status}: reopen it before you {action}")


def amend_claim(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    patch: object,
    actor: str | None = None,
    idempotency_key: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Add costs, update a reserve (a cost with an existing id), set exclusion flags, record a
    complaint or a notification: the declaration is merged and validated as a whole."""
    require_parameters(number=number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_UPDATE, None, "claim")
    who = history_actor(principal, actor)
    moment = clock_now()
    key = idempotency_key or idempotency.new_key()
    request = {"claim": number, "patch": _jsonable(patch), "actor": actor}

    def work() -> dict[str, Any]:
        row = _claim(uow, principal, Action.CLAIM_UPDATE, number, lock=True)
        _require_open(row, "change it")
        base = parse_declaration(row.declaration, f"claim {number}")
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
        row.declaration = merged.to_data()
        _event(uow, row, "amended", who, moment, {"patch": _jsonable(patch)})
        uow.flush()
        return _claim_data(_State(uow, row, moment))

    with uow:
        org = principal.organisation_id
        result = idempotency.with_idempotency(uow, org, key, "claim.amend", request, work)
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
) -> dict[str, Any]:
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

    def work() -> dict[str, Any]:
        head = _claim(uow, principal, Action.CLAIM_SETTLE, number)
        policy_row_for_update(uow, head.policy_number)  # serialises the aggregate's erosion
        row = _claim(uow, principal, Action.CLAIM_SETTLE, number, lock=True)
        _require_open(row, "settle it")
        state = _State(uow, row, moment)
        due = state.payable_now
        pay = due if wanted is None else wanted
        if wanted is not None and wanted > due:
            raise InvalidInput(
                [FieldError("amount", "at_most_payable", f"only {money(due)} EUR is payable now")]
            )
        if pay > 0:
            uow.claims.add_payment(
                payment := ClaimPaymentRow(
                    claim_id=row.id,
                    policy_number=row.policy_number,
                    term_start=row.term_start,
                    amount_cents=_to_cents(pay),
                    kind="final" if final else "partial",
                    paid_at=moment,
                    actor=who,
                )
            )
            audit.record(uow, payment, "paid", who, number=row.number)
            _event(uow, row, "paid", who, moment, {"amount": money(pay), "final": final})
        if final:
            row.status = "closed"
            _event(uow, row, "closed", who, moment, {"reserve_released": money(state.reserve)})
        uow.flush()
        after = _State(uow, row, moment)
        return {
            "claim_id": row.number,
            "paid_now": money(pay),
            "paid_total": money(after.paid),
            "payable_now": money(after.payable_now),
            "reserve": money(after.reserve),
            "status": row.status,
            "remaining_aggregate": money(after.remaining_aggregate),
        }

    with uow:
        org = principal.organisation_id
        result = idempotency.with_idempotency(uow, org, key, "claim.settle", request, work)
        uow.commit()
    return result


def reopen_claim(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    note: str,
    actor: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Reopen a closed claim (new facts, a late invoice), with the handler's note."""
    if not note or not note.strip():
        raise InvalidInput([FieldError("note", "required", "say why the claim is reopened")])
    require_parameters(number=number, note=note, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.CLAIM_SETTLE, None, "claim")
    who = history_actor(principal, actor)
    moment = clock_now()
    key = idempotency_key or idempotency.new_key()
    request = {"claim": number, "note": note.strip(), "actor": actor}

    def work() -> dict[str, Any]:
        row = _claim(uow, principal, Action.CLAIM_SETTLE, number, lock=True)
        if row.status != "closed":
            raise Conflict(f"claim {number} is {row.status}: only a closed claim can be reopened")
        row.status = "open"
        _event(uow, row, "reopened", who, moment, {}, note=note.strip())
        uow.flush()
        return _claim_data(_State(uow, row, moment))

    with uow:
        org = principal.organisation_id
        result = idempotency.with_idempotency(uow, org, key, "claim.reopen", request, work)
        uow.commit()
    return result


def claim_clock(uow: UnitOfWork, principal: Principal, number: str) -> dict[str, Any]:
    """Each deadline of the incident, its due time (Paris) and its status at the clock's now."""
    require_parameters(number=number)
    with uow:
        s = _State(uow, _claim(uow, principal, Action.CLAIM_READ, number), clock_now())
        return {
            "claim_id": number,
            "now": iso_paris(s.moment),
            "discovered_at": iso_paris(s.declaration.incident.discovered_at),
            "deadlines": [_deadline_data(d) for d in s.deadlines()],
        }


def claim_history(uow: UnitOfWork, principal: Principal, number: str) -> list[dict[str, Any]]:
    require_parameters(number=number)
    with uow:
        row = _claim(uow, principal, Action.CLAIM_READ, number)
        events = uow.claims.events(row)
        return [
            {
                "seq": e.seq,
                "kind": e.kind,
                "at": iso_paris(e.at),
                "actor": e.actor,
                "note": e.note,
            }
            for e in events
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
    deadline not yet met; claims with none after, newest first), one page at a time. Read in one
    query with the product versions they need (never one query per claim); the deadlines are
    derived from each declaration at the clock's now."""
    tenancy.check(principal, Action.CLAIM_READ, None, "claim")
    if status is not None and status not in ("open", "closed"):
        raise InvalidInput([FieldError("status", "enum", "must be open or closed")])
    start, size = after_cursor(cursor) or 0, page_limit(limit)
    scope = tenancy.tenant_filter(principal, establishment_id)
    if scope is None:
        return Page([], None)
    moment = clock_now()
    with uow:
        rows = uow.claims.find(
            establishment_id=scope.establishment_id,
            broker_id=scope.broker_id,
            status=status,
        )
        products = {ref: stored_product(uow, ref) for ref in {r.product_ref for r in rows}}
        keyed = []
        for r in rows:
            decl = parse_declaration(r.declaration, f"claim {r.number}")
            clock = incident_clock(
                decl, r.establishment_kind, products[r.product_ref], r.declared_at, moment
            )
            pending = sorted((d for d in clock if d.done_at is None), key=lambda d: d.due_at)
            nearest = pending[0] if pending and r.status == "open" else None
            summary = {
                "claim_id": r.number,
                "policy_number": r.policy_number,
                "status": r.status,
                "establishment_id": r.establishment_id,
                "broker_id": r.broker_id,
                "discovered_at": iso_paris(r.discovered_at),
                "declared_at": iso_paris(r.declared_at),
                "next_deadline": _deadline_data(nearest) if nearest else None,
            }
            order = (0, nearest.due_at.timestamp(), r.number) if nearest else (1, -r.id, r.number)
            keyed.append((order, summary))
        keyed.sort(key=lambda pair: pair[0])
        shown = [summary for _, summary in keyed[start : start + size]]
        more = len(keyed) > start + size
        # the cursor is the position in this order (deadlines move with time, ids do not)
        return Page(shown, cursor_of(start + size) if more else None)


# --------------------------------------------------------------------------- the statement


def statement_view(uow: UnitOfWork, principal: Principal, number: str) -> Any:
    """The décompte de sinistre's view (egide.documents.views.DecompteView)."""
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
            policy_number=s.row.policy_number,
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
                    amount=_from_cents(p.amount_cents),
                    label="Règlement définitif" if p.kind == "final" else "Règlement",
                )
                for p in s.payments
            ],
            declared_at=s.row.declared_at.astimezone(PARIS),
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
    "Declaration",
    "amend_claim",
    "claim_clock",
    "claim_history",
    "declare_claim",
    "get_claim",
    "reopen_claim",
    "settle_claim",
    "statement_pdf",
    "statement_view",
]
