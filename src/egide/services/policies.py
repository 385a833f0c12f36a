"""Policy use cases: bind, endorse, cancel, reinstate, renew, show; the cover in force.

Every change appends one immutable transaction row (its effective date and period, who, when it
was recorded, the coverage snapshot, the premium change, the term premium that results) and
moves the policy's concurrency guard (`version`, the number of transactions) and chain head in
the same database transaction, with the idempotency key. Nothing is updated in place but the
guard; status and cover are derived (`egide.domain.policy.status_on`).

Concurrency (optimistic): a mutation reads the policy and prepares the change (validation,
re-rating) in a first, read-only transaction, then writes in a second one that locks the policy
row (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE) and
checks that the policy is still at the version the change was based on: the caller's
`expected_version` when given (the CLI's ``--expected-version``, like HTTP If-Match), else the
version read in the first step. A concurrent change in between makes it a `Conflict`, never a
lost update. The unique (policy, seq) key is a second guard.

Underwriting on a change: a declined risk is refused; a referral is refused unless an
underwriter's note is given (``underwriter_note``), which is recorded on the transaction. For an
endorsement only referral reasons that the policy did not already carry count.
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.db.tables_policy import PolicyRow, PolicyTransactionRow
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import Application, parse_application
from egide.domain.cover import CoverInForce
from egide.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from egide.domain.fields import year_problem
from egide.domain.money import cents
from egide.domain.policy import (
    CANCEL_REASONS,
    Kind,
    Period,
    Premium,
    Status,
    TxView,
    cancellation_change,
    check_effective,
    endorsement_change,
    is_cancelled,
    latest_term,
    midnight,
    paris_date,
    reinstatement_change,
    status_on,
    term_period,
)
from egide.domain.product import Product
from egide.domain.terms import CoverageTermsInForce, PolicyTerms
from egide.domain.text import require_parameters, shown
from egide.services import tenancy
from egide.services.pages import Page, after_cursor, page_limit, page_of
from egide.services.ports import UnitOfWork
from egide.services.products import record_product_version, stored_product

MAX_START_DAYS_AHEAD = 90

# What an endorsement may change (identity fields, kind and history are not endorsable).
ENDORSABLE_PREFIXES = ("cover.", "security.")
ENDORSABLE_FIELDS = frozenset(
    {
        "establishment.name",
        "establishment.annual_revenue",
        "establishment.employees",
        "establishment.beds",
        "establishment.patient_records",
        "establishment.postcode",
        "establishment.city",
    }
)


# --------------------------------------------------------------------------- helpers


def _money(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(Decimal("0.01"))


def _change(row: PolicyTransactionRow) -> Premium:
    return Premium(_money(row.change_net_cents), _money(row.change_tax_cents))


def _term_premium(row: PolicyTransactionRow) -> Premium:
    return Premium(_money(row.term_net_cents), _money(row.term_tax_cents))


def _cents(value: Decimal) -> int:
    return int(cents(value) * 100)


def terms_to_data(terms: PolicyTerms) -> dict[str, Any]:
    return {
        "coverages": {
            code: {"limit": str(c.limit), "sub_deductible": str(c.sub_deductible)}
            for code, c in terms.coverages.items()
        },
        "deductible": str(terms.deductible),
        "aggregate_limit": str(terms.aggregate_limit),
        "waiting_period_hours": str(terms.waiting_period_hours),
        "waiting_period_mode": terms.waiting_period_mode,
        "indemnity_period_hours": str(terms.indemnity_period_hours),
    }


def terms_from_data(data: Mapping[str, Any]) -> PolicyTerms:
    return PolicyTerms(
        coverages={
            code: CoverageTermsInForce(Decimal(c["limit"]), Decimal(c["sub_deductible"]))
            for code, c in data["coverages"].items()
        },
        deductible=Decimal(data["deductible"]),
        aggregate_limit=Decimal(data["aggregate_limit"]),
        waiting_period_hours=Decimal(data["waiting_period_hours"]),
        waiting_period_mode=str(data["waiting_period_mode"]),
        indemnity_period_hours=Decimal(data["indemnity_period_hours"]),
    )


def _snapshot(
    app: Application, product: Product, underwriter_note: str | None = None
) -> dict[str, Any]:
    """The coverage snapshot stored on a transaction: answers, terms, annual premium, decision."""
    from egide.domain.quote import assess
    from egide.domain.rating import policy_terms

    a = assess(app, product, with_recommendations=False)
    p = a.price
    snap: dict[str, Any] = {
        "application": app.to_data(),
        "terms": terms_to_data(policy_terms(app, product)),
        "annual_premium": Premium(p.net, p.tax).to_data(),
        "coverage_premiums": {c.code: str(c.premium) for c in p.coverages},
        "tax_rate": str(product.tax_rate),
        "security_score": a.score.total,
        "decision": a.underwriting.decision.value,
        "reasons": [r.code for r in a.underwriting.reasons],
    }
    if underwriter_note:
        snap["underwriter_note"] = underwriter_note
    return snap


def _annual_net(snapshot: Mapping[str, Any]) -> Decimal:
    return Decimal(snapshot["annual_premium"]["net"])


def _views(rows: list[PolicyTransactionRow]) -> list[TxView]:
    return [
        TxView(
            seq=r.seq,
            kind=r.kind,
            term=r.term,
            effective=r.effective_date,
            period=Period(r.period_start, r.period_end),
        )
        for r in rows
    ]


def policy_row_for_update(uow: UnitOfWork, policy_number: str) -> PolicyRow:
    """The policy row, locked until the unit of work ends (SELECT ... FOR UPDATE on PostgreSQL;
    SQLite already serialises writers with BEGIN IMMEDIATE). Call inside ``with uow:``; claims
    use it to serialise the erosion of a policy's aggregate. NotFound for an unknown policy."""
    row = uow.policies.get(policy_number, lock=True)
    if row is None:
        raise NotFound(f"policy {policy_number} does not exist")
    return row


def _policy(uow: UnitOfWork, principal: Principal, action: Action, number: str) -> PolicyRow:
    """The policy, if the principal may see it (else "does not exist") and act on it."""
    return tenancy.visible_row(principal, action, uow.policies.get(number), f"policy {number}")


def _transactions(uow: UnitOfWork, policy: PolicyRow) -> list[PolicyTransactionRow]:
    rows = uow.policies.transactions(policy)
    if not rows:
        raise Conflict(f"policy {policy.number} has no transaction (incomplete write?)")
    return rows


def _append(
    uow: UnitOfWork,
    policy: PolicyRow,
    *,
    kind: Kind,
    term: int,
    effective: date,
    period: Period,
    retroactive: date,
    actor: str,
    reason: str | None,
    product_ref: str,
    snapshot: dict[str, Any],
    change: Premium,
    term_premium: Premium,
    key: str | None,
) -> PolicyTransactionRow:
    """Append one transaction, its audit entry, and move the policy's guard (caller commits)."""
    from egide.services import audit

    seq = 1 if kind == Kind.ISSUE else policy.version + 1
    row = PolicyTransactionRow(
        policy_id=policy.id,
        seq=seq,
        kind=kind.value,
        term=term,
        effective_date=effective,
        period_start=period.start,
        period_end=period.end,
        retroactive_date=retroactive,
        recorded_at=clock_now(),
        actor=actor,
        reason=reason,
        product_ref=product_ref,
        snapshot=snapshot,
        change_net_cents=_cents(change.net),
        change_tax_cents=_cents(change.tax),
        term_net_cents=_cents(term_premium.net),
        term_tax_cents=_cents(term_premium.tax),
        idempotency_key=key,
    )
    uow.policies.add_transaction(row)
    audit.record(uow, row, kind.value, actor, number=policy.number)
    policy.version = seq
    uow.flush()
    return row


def _tx_summary(policy: PolicyRow, row: PolicyTransactionRow) -> dict[str, Any]:
    return {
        "policy_number": policy.number,
        "transaction": row.seq,
        "kind": row.kind,
        "effective": row.effective_date.isoformat(),
        "premium_change": _change(row).to_data(),
        "term_premium": _term_premium(row).to_data(),
        "version": row.seq,
    }


def _underwrite(
    app: Application, product: Product, note: str | None, already: frozenset[str] = frozenset()
) -> None:
    """Refuse a declined risk, and a referral with new reasons unless an underwriter noted it."""
    from egide.domain.quote import assess
    from egide.domain.underwriting import Decision

    uw = assess(app, product, with_recommendations=False).underwriting
    reasons = "; ".join(f"{r.code}: {r.message}" for r in uw.reasons)
    if uw.decision == Decision.DECLINE:
        raise Conflict(f"underwriting declines the risk: {reasons}")
    if uw.decision == Decision.REFER:
        new = [r for r in uw.reasons if r.code not in already]
        if new and not (note and note.strip()):
            raise Conflict(
                "underwriting refers the risk, so it is refused until an underwriter approves it "
                f"(give --underwriter-note): {'; '.join(f'{r.code}: {r.message}' for r in new)}"
            )


def _new_policy_number(moment: datetime) -> str:
    return f"POL-{moment:%Y}-{secrets.token_hex(4).upper()}"


def _parse_day(value: str | date, field: str) -> date:
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                [FieldError(field, "date", f"{shown(value)} is not a date (YYYY-MM-DD)")]
            ) from None
    if (problem := year_problem(field, value)) is not None:
        raise InvalidInput([problem])
    return value


# --------------------------------------------------------------------------- bind


def _bind_response(
    policy: PolicyRow, issue: PolicyTransactionRow, moment: datetime
) -> dict[str, Any]:
    period = Period(issue.period_start, issue.period_end)
    status = (
        Status.NOT_YET_IN_FORCE.value
        if moment < period.start_at
        else Status.IN_FORCE.value
        if period.contains(moment)
        else Status.EXPIRED.value
    )
    return {
        "policy_number": policy.number,
        "quote_number": policy.quote_number,
        "status": status,
        "period_start": period.start_at.isoformat(),
        "period_end": period.end_at.isoformat(),
        "retroactive_date": issue.retroactive_date.isoformat(),
        "trigger": "claims_made",
        "premium": _change(issue).to_data(),
        "transaction": issue.seq,
        "version": policy.version,
    }


class BindResult(dict[str, Any]):
    """What `bind_quote` returns: the JSON of ``policy bind --json`` (a plain dict to every
    caller, unchanged), and `already_bound`, an attribute, not a key, so the JSON contract stays
    as it was: True when the quote had been bound before this call (the same request again, or a
    retry with the first call's idempotency key) and nothing changed."""

    already_bound: bool

    def __init__(self, response: Mapping[str, Any], *, already_bound: bool) -> None:
        super().__init__(response)
        self.already_bound = already_bound


def _earlier_bind(
    uow: UnitOfWork,
    organisation_id: int,
    quote_number: str,
    valid_until: datetime,
    existing: PolicyRow,
    start_day: date,
    retro: date,
    moment: datetime,
) -> dict[str, Any]:
    """The response of the bind that made `existing`, when this request is the same one again
    (same resolved start and retroactive date, the quote still valid); else a Conflict that
    names the policy. Writes nothing."""
    from egide.services import idempotency

    issue = _transactions(uow, existing)[0]
    bound_as = f"quote {quote_number} was already bound as {existing.number}"
    if moment > valid_until:
        raise Conflict(
            f"{bound_as}, and it has expired since ({paris_date(valid_until).isoformat()}): "
            "it cannot be bound again"
        )
    if start_day != issue.period_start:
        raise Conflict(
            f"{bound_as}, starting {issue.period_start.isoformat()}, not "
            f"{start_day.isoformat()}: a quote binds once"
        )
    if retro != issue.retroactive_date:
        raise Conflict(
            f"{bound_as}, with the retroactive date {issue.retroactive_date.isoformat()}, not "
            f"{retro.isoformat()}: a quote binds once"
        )
    # The first call's response, stored with its key (a JSON column, so its key order too).
    first_key = issue.idempotency_key
    # (under this organisation: another's first bind is rebuilt below, its key not looked up)
    scoped = idempotency.stored_key(organisation_id, first_key) if first_key else None
    stored = uow.idempotency.get(scoped) if scoped else None
    if stored is not None and stored.scope == "policy.bind" and stored.response is not None:
        response = dict(stored.response)
    else:  # no stored response (cannot happen for a policy bound by this code): rebuild it
        response = {**_bind_response(existing, issue, issue.recorded_at), "version": issue.seq}
    return {**response, "idempotency_key": first_key}


def bind_quote(
    uow: UnitOfWork,
    principal: Principal,
    quote_number: str,
    actor: str | None = None,
    idempotency_key: str | None = None,
    start: str | date | None = None,
    retroactive_date: str | date | None = None,
    channel: str = "cli",
) -> BindResult:
    """Bind an accepted (or approved), unexpired quote into a policy; a quote binds once.

    `channel` (cli, api, web) is how the distribution documents reached the insured: through the
    web a bind is refused until the IPID and the fiche de devoir de conseil were handed over;
    through the CLI or the API their hand-over is recorded as made by the acting principal
    (`egide.services.distribution.ensure_handover_for_bind`).

    Start: `start` (default today, Paris), not in the past and at most 90 days ahead; one-year
    period from 0 h; claims-made, with the retroactive date at inception unless given (not after
    the start).

    Binding an already bound quote again: the same request (the same start and retroactive date
    once resolved: an omitted start is today, as on a first bind, so it matches only a policy
    that started today; the quote not expired since) returns the first bind's response as it was
    (its idempotency key included) with `already_bound` set, and writes nothing; any other
    request is a Conflict naming the policy. A retry with an idempotency key already used for
    this request replays its response (`already_bound` set too), whatever the day.
    """
    from egide.services import audit, distribution, idempotency
    from egide.services.quotes import is_bindable, quote_row

    require_parameters(quote_number=quote_number, actor=actor, idempotency_key=idempotency_key)
    tenancy.check(principal, Action.POLICY_BIND, None, "policy")
    who = history_actor(principal, actor)
    key = idempotency_key or idempotency.new_key()
    request = {
        "quote": quote_number,
        "start": str(start) if start else None,
        "retroactive_date": str(retroactive_date) if retroactive_date else None,
        "actor": actor,
    }
    moment = clock_now()
    today = paris_date(moment)
    start_day = _parse_day(start, "start") if start is not None else today
    retro = _parse_day(retroactive_date, "retroactive_date") if retroactive_date else start_day
    errors = []
    if start_day < today:
        errors.append(FieldError("start", "not_in_past", f"{start_day} is before today ({today})"))
    elif start_day > today + timedelta(days=MAX_START_DAYS_AHEAD):
        errors.append(
            FieldError("start", "too_far", f"must be within {MAX_START_DAYS_AHEAD} days of today")
        )
    if retro > start_day:
        errors.append(
            FieldError("retroactive_date", "not_after_start", "must not follow the start date")
        )
    ran = False  # False after with_idempotency: the key replayed a stored response
    earlier: list[dict[str, Any]] = []  # the response of the bind that made the existing policy

    with uow:

        def work() -> dict[str, Any]:
            nonlocal ran
            ran = True
            quote = quote_row(uow, principal, Action.POLICY_BIND, quote_number, lock=True)
            existing = uow.policies.get_by_quote(quote_number)
            if existing is not None:
                earlier.append(
                    _earlier_bind(
                        uow,
                        principal.organisation_id,
                        quote_number,
                        quote.valid_until,
                        existing,
                        start_day,
                        retro,
                        moment,
                    )
                )
                return earlier[0]
            if errors:
                raise InvalidInput(errors)
            problem = is_bindable(quote, moment)
            if problem:
                raise Conflict(problem)
            distribution.ensure_handover_for_bind(uow, principal, quote_number, channel)
            product = stored_product(uow, quote.product_ref)
            app = parse_application(quote.application, product, f"quote {quote_number}")
            period = Period.one_year(start_day)
            snap = _snapshot(app, product, quote.review_note)
            q = quote.result["premium"]
            premium = Premium(Decimal(q["net"]), Decimal(q["tax"]))
            if premium.to_data() != snap["annual_premium"]:
                raise Conflict(f"quote {quote_number} no longer re-prices to its premium")
            policy = PolicyRow(
                number=_new_policy_number(moment),
                quote_number=quote_number,
                siret=quote.siret,
                establishment_name=quote.establishment_name,
                establishment_id=quote.establishment_id,
                broker_id=quote.broker_id,
                version=0,
                created_at=moment,
            )
            uow.policies.add(policy)
            quote = dataclasses.replace(quote, status="bound")
            uow.quotes.update(quote)
            audit.record(uow, quote, "bound", who)
            audit.record(uow, policy, "created", who)
            uow.flush()
            issue = _append(
                uow,
                policy,
                kind=Kind.ISSUE,
                term=1,
                effective=start_day,
                period=period,
                retroactive=retro,
                actor=who,
                reason=None,
                product_ref=product.ref,
                snapshot=snap,
                change=premium,
                term_premium=premium,
                key=key,
            )
            return _bind_response(policy, issue, moment)

        org = principal.organisation_id
        result = idempotency.with_idempotency(uow, org, key, "policy.bind", request, work)
        if earlier:  # the quote was bound before: not even this call's key is kept (rollback)
            return BindResult(earlier[0], already_bound=True)
        uow.commit()
    return BindResult({**result, "idempotency_key": key}, already_bound=not ran)


# --------------------------------------------------------------------------- mid-term changes


@dataclass
class _Plan:
    """A prepared change: what to append, based on `version`."""

    version: int
    kind: Kind
    term: int
    effective: date
    period: Period
    retroactive: date
    reason: str | None
    product_ref: str
    snapshot: dict[str, Any]
    change: Premium
    term_premium: Premium
    record_product: Product | None = None


def _premium_only_plan(
    rows: list[PolicyTransactionRow],
    kind: Kind,
    term: int,
    day: date,
    period: Period,
    change: Premium,
    reason: str | None,
) -> _Plan:
    """A transaction that keeps the cover of the latest one and changes only the premium
    (cancellation, reinstatement)."""
    last = rows[-1]
    return _Plan(
        version=last.seq,
        kind=kind,
        term=term,
        effective=day,
        period=period,
        retroactive=last.retroactive_date,
        reason=reason,
        product_ref=last.product_ref,
        snapshot=last.snapshot,
        change=change,
        term_premium=_term_premium(last) + change,
    )


def _mutate(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    scope: str,
    request: dict[str, Any],
    key: str | None,
    actor: str | None,
    expected_version: int | None,
    prepare: Callable[[PolicyRow, list[PolicyTransactionRow]], _Plan],
) -> dict[str, Any]:
    """Read and prepare (transaction 1), then lock, check the version and append (transaction 2)."""
    from egide.services import idempotency

    key = key or idempotency.new_key()
    org = principal.organisation_id
    who = history_actor(principal, actor)
    with uow:  # who may: before anything, a replay included
        _policy(uow, principal, Action.POLICY_CHANGE, number)
    if (stored := idempotency.replay(uow, org, key, scope, request)) is not None:
        return {**stored, "idempotency_key": key}
    try:
        with uow:
            policy = _policy(uow, principal, Action.POLICY_CHANGE, number)
            rows = _transactions(uow, policy)
            # the version is that of the rows read (read committed may show a newer policy row)
            if expected_version is not None and rows[-1].seq != expected_version:
                raise Conflict(
                    f"policy {number} is at version {rows[-1].seq}, not {expected_version}: "
                    "it changed since you read it; show it again and retry"
                )
            plan = prepare(policy, rows)
    except (Conflict, InvalidInput):
        # a retry racing its own first attempt sees the state after it: answer as the first did
        if (stored := idempotency.replay(uow, org, key, scope, request)) is not None:
            return {**stored, "idempotency_key": key}
        raise

    with uow:

        def work() -> dict[str, Any]:
            locked = policy_row_for_update(uow, number)
            if locked.version != plan.version:
                raise Conflict(
                    f"policy {number} changed concurrently (version {plan.version} -> "
                    f"{locked.version}); show it again and retry"
                )
            if plan.record_product is not None:
                record_product_version(uow, plan.record_product)
            row = _append(
                uow,
                locked,
                kind=plan.kind,
                term=plan.term,
                effective=plan.effective,
                period=plan.period,
                retroactive=plan.retroactive,
                actor=who,
                reason=plan.reason,
                product_ref=plan.product_ref,
                snapshot=plan.snapshot,
                change=plan.change,
                term_premium=plan.term_premium,
                key=key,
            )
            return _tx_summary(locked, row)

        result = idempotency.with_idempotency(uow, org, key, scope, request, work)
        uow.commit()
    return {**result, "idempotency_key": key}


def _set_path(data: dict[str, Any], path: str, value: object) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise InvalidInput([FieldError(path, "path", f"{part} is not a section")])
        node = child
    node[parts[-1]] = value


def apply_changes(app_data: Mapping[str, Any], changes: Mapping[str, object]) -> dict[str, Any]:
    """The application data with dotted-path changes applied (validated later as a whole)."""
    errors = []
    for path in changes:
        if not (path.startswith(ENDORSABLE_PREFIXES) or path in ENDORSABLE_FIELDS):
            errors.append(
                FieldError(
                    path,
                    "not_endorsable",
                    "cannot be changed by endorsement (endorsable: cover.*, security.*, "
                    + ", ".join(sorted(ENDORSABLE_FIELDS))
                    + ")",
                )
            )
    if not changes:
        errors.append(FieldError("set", "required", "give at least one change (key=value)"))
    if errors:
        raise InvalidInput(errors)
    data = copy.deepcopy(dict(app_data))
    for path, value in changes.items():
        _set_path(data, path, value)
    return data


def endorse_policy(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    effective: str | date,
    changes: Mapping[str, object],
    actor: str | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    underwriter_note: str | None = None,
) -> dict[str, Any]:
    """Change answers or cover from `effective` (inside the period, not before the latest
    transaction); re-rated with the policy's product version; the annual difference charged or
    refunded pro rata temporis to the day."""
    require_parameters(
        number=number,
        actor=actor,
        idempotency_key=idempotency_key,
        underwriter_note=underwriter_note,
    )
    day = _parse_day(effective, "effective")
    request = {
        "policy": number,
        "effective": day.isoformat(),
        "changes": {k: _jsonable(v) for k, v in sorted(changes.items())},
        "actor": actor,
        "expected_version": expected_version,
        "underwriter_note": underwriter_note,
    }

    def prepare(policy: PolicyRow, rows: list[PolicyTransactionRow]) -> _Plan:
        views = _views(rows)
        last = rows[-1]
        period = check_effective(views, day)
        term = latest_term(views)
        if is_cancelled(views, term):
            raise Conflict(f"policy {number} is cancelled: reinstate it before endorsing it")
        product = stored_product(uow, last.product_ref)
        data = apply_changes(last.snapshot["application"], changes)
        app = parse_application(data, product)
        if app.to_data() == last.snapshot["application"]:
            raise InvalidInput(
                [FieldError("set", "no_change", "the changes leave the policy as it is")]
            )
        _underwrite(app, product, underwriter_note, frozenset(last.snapshot.get("reasons", [])))
        snap = _snapshot(app, product, underwriter_note)
        change = endorsement_change(
            _annual_net(last.snapshot), _annual_net(snap), period, day, product.tax_rate
        )
        return _Plan(
            version=rows[-1].seq,
            kind=Kind.ENDORSE,
            term=term,
            effective=day,
            period=period,
            retroactive=last.retroactive_date,
            reason=underwriter_note,
            product_ref=product.ref,
            snapshot=snap,
            change=change,
            term_premium=_term_premium(last) + change,
        )

    return _mutate(
        uow,
        principal,
        number,
        "policy.endorse",
        request,
        idempotency_key,
        actor,
        expected_version,
        prepare,
    )


def cancel_policy(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    effective: str | date,
    actor: str | None = None,
    reason: str = "insured_request",
    idempotency_key: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Cancel from `effective`: the product file says whether the unearned premium is refunded
    pro rata (``pro_rata``) or kept (``no_refund``) for this reason."""
    require_parameters(number=number, actor=actor, reason=reason, idempotency_key=idempotency_key)
    day = _parse_day(effective, "effective")
    if reason not in CANCEL_REASONS:
        raise InvalidInput(
            [FieldError("reason", "choice", f"must be one of {', '.join(CANCEL_REASONS)}")]
        )
    request = {
        "policy": number,
        "effective": day.isoformat(),
        "reason": reason,
        "actor": actor,
        "expected_version": expected_version,
    }

    def prepare(policy: PolicyRow, rows: list[PolicyTransactionRow]) -> _Plan:
        views = _views(rows)
        last = rows[-1]
        period = check_effective(views, day)
        term = latest_term(views)
        if is_cancelled(views, term):
            raise Conflict(f"policy {number} is already cancelled")
        product = stored_product(uow, last.product_ref)
        mode = product.cancellation[reason]
        change = cancellation_change(
            _annual_net(last.snapshot), period, day, mode, product.tax_rate
        )
        return _premium_only_plan(rows, Kind.CANCEL, term, day, period, change, reason)

    return _mutate(
        uow,
        principal,
        number,
        "policy.cancel",
        request,
        idempotency_key,
        actor,
        expected_version,
        prepare,
    )


def reinstate_policy(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    effective: str | date,
    actor: str | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Put a cancelled policy back in force from `effective` (the lapse stays uncovered); charges
    back, for the remaining days, what the cancellation refunded."""
    require_parameters(number=number, actor=actor, idempotency_key=idempotency_key)
    day = _parse_day(effective, "effective")
    request = {
        "policy": number,
        "effective": day.isoformat(),
        "actor": actor,
        "expected_version": expected_version,
    }

    def prepare(policy: PolicyRow, rows: list[PolicyTransactionRow]) -> _Plan:
        views = _views(rows)
        last = rows[-1]
        period = check_effective(views, day)
        term = latest_term(views)
        if not is_cancelled(views, term):
            raise Conflict(f"policy {number} is not cancelled: nothing to reinstate")
        cancel = next(r for r in reversed(rows) if r.kind == Kind.CANCEL)
        product = stored_product(uow, last.product_ref)
        refunded = product.cancellation[cancel.reason or "insured_request"] == "pro_rata"
        change = reinstatement_change(
            _annual_net(last.snapshot), period, day, refunded, product.tax_rate
        )
        return _premium_only_plan(rows, Kind.REINSTATE, term, day, period, change, None)

    return _mutate(
        uow,
        principal,
        number,
        "policy.reinstate",
        request,
        idempotency_key,
        actor,
        expected_version,
        prepare,
    )


def renew_policy(
    uow: UnitOfWork,
    principal: Principal,
    number: str,
    product: Product,
    actor: str | None = None,
    application: object | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    underwriter_note: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Renew for one more year from the end of the current term, re-underwritten and re-priced
    with `product` (the current one) on the updated answers (`application`, else the answers in
    force). Refused when the policy is cancelled, expired, already renewed, when underwriting
    declines, or when it refers and no underwriter's note approves it."""
    require_parameters(
        number=number,
        actor=actor,
        idempotency_key=idempotency_key,
        underwriter_note=underwriter_note,
    )
    request = {
        "policy": number,
        "product": product.ref,
        "product_sha256": product.sha256,
        "application": _jsonable(application) if application is not None else None,
        "actor": actor,
        "expected_version": expected_version,
        "underwriter_note": underwriter_note,
    }

    def prepare(policy: PolicyRow, rows: list[PolicyTransactionRow]) -> _Plan:
        views = _views(rows)
        last = rows[-1]
        term = latest_term(views)
        period = term_period(views, term)
        moment = clock_now()
        if moment < period.start_at:
            raise Conflict(
                f"policy {number} is already renewed to {period.end.isoformat()} "
                f"(term {term} starts {period.start.isoformat()})"
            )
        if moment >= period.end_at:
            raise Conflict(
                f"policy {number} expired on {period.end.isoformat()}: quote and bind anew"
            )
        if is_cancelled(views, term):
            raise Conflict(f"policy {number} is cancelled: it cannot be renewed")
        data = application if application is not None else last.snapshot["application"]
        app = parse_application(data, product, source)
        if app.establishment.siret != policy.siret:
            raise InvalidInput(
                [
                    FieldError(
                        "establishment.siret",
                        "same_insured",
                        f"must stay {policy.siret}: a renewal insures the same establishment "
                        "(quote and bind anew for another one)",
                    )
                ],
                source,
            )
        _underwrite(app, product, underwriter_note)
        snap = _snapshot(app, product, underwriter_note)
        new_period = Period.one_year(period.end)
        premium = Premium(
            Decimal(snap["annual_premium"]["net"]), Decimal(snap["annual_premium"]["tax"])
        )
        return _Plan(
            version=rows[-1].seq,
            kind=Kind.RENEW,
            term=term + 1,
            effective=new_period.start,
            period=new_period,
            retroactive=last.retroactive_date,
            reason=underwriter_note,
            product_ref=product.ref,
            snapshot=snap,
            change=premium,
            term_premium=premium,
            record_product=product,
        )

    return _mutate(
        uow,
        principal,
        number,
        "policy.renew",
        request,
        idempotency_key,
        actor,
        expected_version,
        prepare,
    )


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


# --------------------------------------------------------------------------- reading


def _in_force_row(
    rows: list[PolicyTransactionRow], term: int, moment: datetime
) -> PolicyTransactionRow:
    """The transaction whose snapshot is the cover of `term` on `moment` (the latest effective by
    then; the term's first one before its start)."""
    day = paris_date(moment)
    in_term = [r for r in rows if r.term == term]
    effective = [r for r in in_term if r.effective_date <= day]
    return effective[-1] if effective else in_term[0]


def cover_in_force(uow: UnitOfWork, policy_number: str, moment: datetime) -> CoverInForce:
    """The policy's status and terms on `moment` (aware datetime). Call inside ``with uow:``,
    once the caller has checked that its principal may see the policy (claims do).

    Raises NotFound for an unknown policy. Never raises for a moment outside every period: it
    returns the nearest term with status ``not_yet_in_force`` (before the first period) or
    ``expired`` (after the last; ``cancelled`` if that term was cancelled). Inside a period the
    status is ``in_force`` or ``cancelled`` (a cancellation effective on day d takes effect at
    0 h on d). The application and terms are those of the latest transaction of that term
    effective by `moment` (a change effective on day d applies from 0 h on d).
    """
    if moment.tzinfo is None:
        raise ValueError("cover_in_force needs an aware datetime")
    policy = uow.policies.get(policy_number)
    if policy is None:
        raise NotFound(f"policy {policy_number} does not exist")
    rows = _transactions(uow, policy)
    status, term = status_on(_views(rows), moment)
    row = _in_force_row(rows, term, moment)
    product = stored_product(uow, row.product_ref)
    return CoverInForce(
        policy_number=policy.number,
        status=status.value,
        period_start=midnight(row.period_start),
        period_end=midnight(row.period_end),
        retroactive_date=row.retroactive_date,
        product_ref=row.product_ref,
        application=parse_application(row.snapshot["application"], product),
        terms=terms_from_data(row.snapshot["terms"]),
    )


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def application_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted path, old, new) for every answer that differs."""
    a, b = _flat(old), _flat(new)
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _tx_data(rows: list[PolicyTransactionRow], i: int) -> dict[str, Any]:
    r = rows[i]
    item: dict[str, Any] = {
        "seq": r.seq,
        "kind": r.kind,
        "term": r.term,
        "effective": r.effective_date.isoformat(),
        "period_start": midnight(r.period_start).isoformat(),
        "period_end": midnight(r.period_end).isoformat(),
        "recorded_at": iso_paris(r.recorded_at),
        "actor": r.actor,
        "reason": r.reason,
        "product": r.product_ref,
        "premium_change": _change(r).to_data(),
        "term_premium": _term_premium(r).to_data(),
        "annual_premium": r.snapshot["annual_premium"],
        "idempotency_key": r.idempotency_key,
    }
    if i > 0 and r.kind in (Kind.ENDORSE, Kind.RENEW):
        item["changes"] = [
            {"field": f, "old": o, "new": n}
            for f, o, n in application_diff(
                rows[i - 1].snapshot["application"], r.snapshot["application"]
            )
        ]
    return item


def get_policy(
    uow: UnitOfWork, principal: Principal, number: str, as_of: datetime | None = None
) -> dict[str, Any]:
    """The cover in force on `as_of` (default now) and the whole history."""
    require_parameters(number=number)
    moment = as_of or clock_now()
    with uow:
        policy = _policy(uow, principal, Action.POLICY_READ, number)
        rows = _transactions(uow, policy)
        status, term = status_on(_views(rows), moment)
        row = _in_force_row(rows, term, moment)
        product = stored_product(uow, row.product_ref)
        terms = row.snapshot["terms"]
        bi = product.coverages["business_interruption"]
        coverages = []
        for code, c in terms["coverages"].items():
            item: dict[str, Any] = {
                "code": code,
                "label": product.coverages[code].label,
                "limit": str(cents(Decimal(c["limit"]))),
                "sub_deductible": str(cents(Decimal(c["sub_deductible"]))),
                "annual_premium": row.snapshot["coverage_premiums"].get(code),
            }
            if code == "business_interruption":
                item["waiting_period_hours"] = int(Decimal(terms["waiting_period_hours"]))
                item["waiting_period_mode"] = terms["waiting_period_mode"]
                item["indemnity_period_days"] = int(bi.indemnity_period_days or 0)
            coverages.append(item)
        return {
            "policy_number": policy.number,
            "quote_number": policy.quote_number,
            "as_of": moment.isoformat(),
            "status": status.value,
            "term": term,
            "period_start": midnight(row.period_start).isoformat(),
            "period_end": midnight(row.period_end).isoformat(),
            "retroactive_date": row.retroactive_date.isoformat(),
            "trigger": "claims_made",
            "product": row.product_ref,
            "establishment": {"name": policy.establishment_name, "siret": policy.siret},
            "aggregate_limit": str(cents(Decimal(terms["aggregate_limit"]))),
            "deductible": str(cents(Decimal(terms["deductible"]))),
            "annual_premium": row.snapshot["annual_premium"],
            "term_premium": _term_premium(row).to_data(),
            "version": policy.version,
            "coverages": coverages,
            "transactions": [_tx_data(rows, i) for i in range(len(rows))],
        }


def in_force_since(rows: list[PolicyTransactionRow], since: datetime, moment: datetime) -> bool:
    """Was the policy of these transactions in force at some moment from `since` to `moment`?
    Its status changes only at 0 h of a transaction's effective day and at a period's bounds (a
    period is a year, longer than any window asked), so those moments and the two ends are
    enough."""
    views = _views(rows)
    checks = [since, moment] + [
        midnight(v.effective) for v in views if since <= midnight(v.effective) <= moment
    ]
    return any(status_on(views, m)[0] is Status.IN_FORCE for m in checks)


def policy_summary(
    policy: PolicyRow, rows: list[PolicyTransactionRow], moment: datetime
) -> dict[str, Any]:
    status, term = status_on(_views(rows), moment)
    row = _in_force_row(rows, term, moment)
    return {
        "policy_number": policy.number,
        "quote_number": policy.quote_number,
        "establishment": {"name": policy.establishment_name, "siret": policy.siret},
        "establishment_id": policy.establishment_id,
        "broker_id": policy.broker_id,
        "status": status.value,
        "term": term,
        "period_start": midnight(row.period_start).isoformat(),
        "period_end": midnight(row.period_end).isoformat(),
        "annual_premium": row.snapshot["annual_premium"],
        "version": rows[-1].seq,
    }


def list_policies(
    uow: UnitOfWork,
    principal: Principal,
    *,
    in_force_on: datetime | None = None,
    renewal_within_days: int | None = None,
    establishment_id: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """The policies the principal may see, newest first, one page at a time: those in force on
    `in_force_on`, and/or those in force now whose current term ends within
    `renewal_within_days` days and is not renewed yet. Rows are read in batches with their
    transactions (one query per batch, never per policy) and filtered on their derived status."""
    tenancy.check(principal, Action.POLICY_READ, None, "policy")
    if renewal_within_days is not None and not 0 <= renewal_within_days <= 366:
        raise InvalidInput([FieldError("renewal_within", "range", "must be from 0 to 366 days")])
    before, size = after_cursor(cursor), page_limit(limit)
    scope = tenancy.tenant_filter(principal, establishment_id)
    if scope is None:
        return Page([], None)
    moment = clock_now()

    def keep(rows: list[PolicyTransactionRow]) -> bool:
        views = _views(rows)
        if in_force_on is not None and status_on(views, in_force_on)[0] is not Status.IN_FORCE:
            return False
        if renewal_within_days is not None:
            status, term = status_on(views, moment)
            if status is not Status.IN_FORCE or term != latest_term(views):
                return False
            end = midnight(term_period(views, term).end)
            if end - moment > timedelta(days=renewal_within_days):
                return False
        return True

    found: list[tuple[int, dict[str, Any]]] = []
    with uow:
        while len(found) <= size:
            batch = uow.policies.find(
                establishment_id=scope.establishment_id,
                broker_id=scope.broker_id,
                before_id=before,
                limit=max(size + 1, 50),
            )
            if not batch:
                break
            txs = uow.policies.transactions_of(batch)
            for policy in batch:
                rows = txs[policy.id]
                if rows and keep(rows):
                    found.append((policy.id, policy_summary(policy, rows, in_force_on or moment)))
                    if len(found) > size:
                        break
            before = batch[-1].id
        return page_of(found, size)


def parse_as_of(value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (0 h Paris that day) or an ISO date-time with offset."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            moment = midnight(date.fromisoformat(text))
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            [FieldError("as_of", "date", f"{shown(value)} is not a date (YYYY-MM-DD) or date-time")]
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput([FieldError("as_of", "aware", "a date-time needs a UTC offset")])
    if (problem := year_problem("as_of", moment)) is not None:
        raise InvalidInput([problem])
    return moment


# --------------------------------------------------------------------------- documents (French)

CHANGE_LABELS_FR = {
    "cover.limit": "Plafond annuel (tous sinistres)",
    "cover.deductible": "Franchise par sinistre",
    "establishment.name": "Raison sociale",
    "establishment.type": "Type d'établissement",
    "establishment.siret": "SIRET",
    "establishment.finess": "FINESS",
    "establishment.annual_revenue": "Chiffre d'affaires annuel",
    "establishment.employees": "Effectif",
    "establishment.beds": "Nombre de lits",
    "establishment.patient_records": "Dossiers patients",
    "establishment.postcode": "Code postal",
    "establishment.city": "Ville",
    "security.mfa_remote_access": "MFA sur les accès distants",
    "security.mfa_email": "MFA sur la messagerie",
    "security.edr": "EDR sur les postes et serveurs",
    "security.offline_backups": "Sauvegardes hors ligne",
    "security.backup_restore_tested": "Restauration des sauvegardes testée",
    "security.hds_hosting": "Hébergement HDS",
    "security.critical_patch_days": "Délai de correctif critique (jours)",
    "security.medical_devices_segmented": "Dispositifs médicaux segmentés",
    "security.phishing_training": "Sensibilisation à l'hameçonnage",
    "security.incident_response_plan": "Plan de réponse aux incidents",
    "security.security_budget_share": "Part du budget informatique consacrée à la sécurité",
    "security.pgssi_s_compliant": "Conformité PGSSI-S",
    "security.care_programme": "Programme CaRE",
    "history.incidents_last_5_years": "Incidents sur les 5 dernières années",
    "history.ransomware_last_5_years": "Rançongiciels sur les 5 dernières années",
    "history.known_circumstances": "Circonstances connues susceptibles d'entraîner un sinistre",
    "technology.software_vendor": "Éditeur du logiciel métier",
    "technology.cloud_host": "Hébergeur",
    "technology.email_vendor": "Fournisseur de messagerie",
    "technology.remote_access_vendor": "Éditeur de l'équipement d'accès distant",
    "establishment.nis2_category": "Catégorie NIS2",
    "security.crisis_exercise": "Exercice de crise annuel",
}


def change_label(path: str, product: Product) -> str:
    """The French label of an answer of the application (an avenant lists what changed): every
    field has one, so an English path never reaches a document (a KeyError fails the tests)."""
    if path.startswith("cover.sublimits."):
        code = path.removeprefix("cover.sublimits.")
        return f"Sous-limite : {product.coverages[code].label}"
    return CHANGE_LABELS_FR[path]


MONEY_FIELDS = frozenset({"cover.limit", "cover.deductible", "establishment.annual_revenue"})
CANCEL_REASONS_FR = {
    "insured_request": "Résiliation à la demande de l'assuré",
    "non_payment": "Résiliation pour non-paiement de la prime",
}


def _change_value(path: str, value: Any) -> str | Decimal | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if path in MONEY_FIELDS or path.startswith("cover.sublimits."):
        return Decimal(str(value))
    if path == "security.security_budget_share":
        from egide.documents.render import format_rate

        return format_rate(Decimal(str(value)))
    if path == "establishment.type":
        from egide.domain.application import KIND_LABELS_FR

        return KIND_LABELS_FR.get(str(value), str(value))
    if isinstance(value, int):
        return value
    return str(value)


def _insured(snapshot: Mapping[str, Any]) -> Any:
    from egide.documents.views import InsuredView
    from egide.domain.application import KIND_LABELS_FR

    e = snapshot["application"]["establishment"]
    address = " ".join(x for x in (e.get("postcode"), e.get("city")) if x) or None
    return InsuredView(
        name=e["name"],
        kind_label=KIND_LABELS_FR[e["type"]],
        siret=e["siret"],
        finess=e.get("finess"),
        address=address,
    )


def _premium_view(p: Premium, product: Product) -> Any:
    from egide.documents.views import PremiumView

    return PremiumView(
        ht=cents(p.net),
        tax=cents(p.tax),
        ttc=cents(p.total),
        tax_rate=product.tax_rate,
        tax_name=product.tax_name,
    )


def _coverage_lines(snapshot: Mapping[str, Any], product: Product, with_premium: bool) -> list[Any]:
    from egide.documents.views import CoverageLine

    terms = snapshot["terms"]
    lines = []
    for code, c in terms["coverages"].items():
        cov = product.coverages[code]
        bi = code == "business_interruption"
        lines.append(
            CoverageLine(
                label=cov.label,
                limit=cents(Decimal(c["limit"])),
                deductible=cents(Decimal(c["sub_deductible"])),
                premium=cents(Decimal(snapshot["coverage_premiums"][code]))
                if with_premium
                else None,
                waiting_period_hours=int(Decimal(terms["waiting_period_hours"])) if bi else None,
                indemnity_period_days=int(cov.indemnity_period_days or 0) if bi else None,
                note=None
                if code != "cyber_extortion" or cov.ransom_payment_covered
                else "Paiement de rançon non couvert",
            )
        )
    return lines


def proposition_view(uow: UnitOfWork, principal: Principal, quote_number: str) -> Any:
    """The proposition d'assurance of a stored quote (call inside ``with uow:``)."""
    from egide.domain.rating import policy_terms, price

    require_parameters(quote_number=quote_number)
    from egide.documents.views import (
        PropositionView,
        ReasonView,
        RecommendationView,
        UnderwritingOutcome,
    )
    from egide.services.quotes import quote_row

    quote = quote_row(uow, principal, Action.QUOTE_READ, quote_number)
    product = stored_product(uow, quote.product_ref)
    app = parse_application(quote.application, product)
    r = quote.result
    current = price(app, product)
    recs = []
    for rec in r.get("recommendations", []):
        code = rec["code"]
        if code in product.risk_model.controls:
            better = app.with_security(**{code: True})
        elif code in product.risk_model.graded:
            good = product.risk_model.graded[code].good
            better = app.with_security(
                **{code: int(good) if code == "critical_patch_days" else good}
            )
        else:
            continue
        recs.append(
            RecommendationView(
                label=rec["message"],
                premium_saving=cents(current.net - price(better, product).net),
                score_gain=int(rec["score_change"]),
            )
        )
    outcome = {
        "accept": UnderwritingOutcome.ACCEPTED,
        "refer": UnderwritingOutcome.REFERRED,
        "decline": UnderwritingOutcome.DECLINED,
    }[quote.decision]
    snapshot = {
        "application": quote.application,
        "terms": terms_to_data(policy_terms(app, product)),
        "coverage_premiums": {c["code"]: c["premium"] for c in r["coverages"]},
    }
    q = r["premium"]
    return PropositionView(
        quote_number=quote.number,
        issued_on=paris_date(quote.created_at),
        valid_until=paris_date(quote.valid_until),
        product_name=product.name,
        product_version=product.version,
        insured=_insured(snapshot),
        decision=outcome,
        decision_reasons=[ReasonView(x["code"], x["message"]) for x in r["reasons"]],
        security_score=int(r["security_score"]),
        coverages=_coverage_lines(snapshot, product, with_premium=True),
        aggregate_limit=cents(app.cover.limit),
        deductible=cents(app.cover.deductible),
        premium=_premium_view(Premium(Decimal(q["net"]), Decimal(q["tax"])), product),
        recommendations=recs,
    )


def quote_document(uow: UnitOfWork, principal: Principal, quote_number: str) -> tuple[str, bytes]:
    """The proposition d'assurance of a quote: (file name, PDF); the edge writes it."""
    from egide.documents import render_proposition

    with uow:
        view = proposition_view(uow, principal, quote_number)
    return f"{view.quote_number}-proposition.pdf", render_proposition(view)


def policy_document_views(
    uow: UnitOfWork, principal: Principal, number: str
) -> list[tuple[str, Any]]:
    """(file stem, view) of every document of a policy: the proposition of its quote, the
    conditions particulières of each term (as issued or renewed), an avenant for each later
    change (endorsement, cancellation, reinstatement), and the attestation of the term in force
    now (or about to start; none for a cancelled or expired policy)."""
    require_parameters(number=number)
    from egide.documents.views import (
        AttestationView,
        AvenantView,
        ChangeView,
        ConditionsParticulieresView,
    )

    moment = clock_now()
    with uow:
        policy = _policy(uow, principal, Action.POLICY_READ, number)
        rows = _transactions(uow, policy)
        docs: list[tuple[str, Any]] = [
            (
                f"{number}-proposition-{policy.quote_number}",
                proposition_view(uow, principal, policy.quote_number),
            )
        ]
        endorsement = 0
        for i, row in enumerate(rows):
            product = stored_product(uow, row.product_ref)
            snap = row.snapshot
            terms = snap["terms"]
            if row.kind in (Kind.ISSUE, Kind.RENEW):
                docs.append(
                    (
                        f"{number}-conditions-particulieres-T{row.term}",
                        ConditionsParticulieresView(
                            policy_number=number,
                            issued_on=paris_date(row.recorded_at),
                            product_name=product.name,
                            product_version=product.version,
                            insured=_insured(snap),
                            period_start=row.period_start,
                            period_end=row.period_end,
                            retroactive_date=row.retroactive_date,
                            coverages=_coverage_lines(snap, product, with_premium=True),
                            aggregate_limit=cents(Decimal(terms["aggregate_limit"])),
                            deductible=cents(Decimal(terms["deductible"])),
                            premium=_premium_view(_change(row), product),
                            exclusions=[e.label for e in product.exclusions],
                        ),
                    )
                )
                continue
            endorsement += 1
            prev = rows[i - 1]
            if row.kind == Kind.ENDORSE:
                changes = [
                    ChangeView(
                        change_label(f, product),
                        _change_value(f, old),
                        _change_value(f, new),
                    )
                    for f, old, new in application_diff(
                        prev.snapshot["application"], snap["application"]
                    )
                ]
                reason = "Modification du contrat"
                term_premium = None
            elif row.kind == Kind.CANCEL:
                changes = [ChangeView("Situation du contrat", "En vigueur", "Résilié")]
                reason = CANCEL_REASONS_FR.get(row.reason or "", "Résiliation")
                # what the shortened period costs, beside the annual rate (never in its place)
                term_premium = _premium_view(_term_premium(row), product)
            else:
                changes = [ChangeView("Situation du contrat", "Résilié", "Remis en vigueur")]
                reason = "Remise en vigueur"
                term_premium = None
            annual = snap["annual_premium"]
            annual_premium = _premium_view(
                Premium(Decimal(annual["net"]), Decimal(annual["tax"])), product
            )
            docs.append(
                (
                    f"{number}-avenant-{endorsement}",
                    AvenantView(
                        policy_number=number,
                        endorsement_number=endorsement,
                        issued_on=paris_date(row.recorded_at),
                        effective_date=row.effective_date,
                        insured=_insured(snap),
                        changes=changes,
                        premium_change=_premium_view(_change(row), product),
                        annual_premium=annual_premium,
                        term_premium=term_premium,
                        reason=reason,
                        term_end=row.period_end,
                        product_name=product.name,
                        product_version=product.version,
                    ),
                )
            )
        status, term = status_on(_views(rows), moment)
        if status in (Status.IN_FORCE, Status.NOT_YET_IN_FORCE):
            row = _in_force_row(rows, term, moment)
            product = stored_product(uow, row.product_ref)
            docs.append(
                (
                    f"{number}-attestation",
                    AttestationView(
                        policy_number=number,
                        issued_on=paris_date(moment),
                        product_name=product.name,
                        product_version=product.version,
                        insured=_insured(row.snapshot),
                        period_start=row.period_start,
                        period_end=row.period_end,
                        coverages=_coverage_lines(row.snapshot, product, with_premium=False),
                        aggregate_limit=cents(Decimal(row.snapshot["terms"]["aggregate_limit"])),
                    ),
                )
            )
    return docs


def policy_documents(uow: UnitOfWork, principal: Principal, number: str) -> dict[str, bytes]:
    """Every document of the policy (`policy_document_views`) as {file name: PDF}, in order; the
    edge writes them."""
    from egide import documents
    from egide.documents import views as v

    renderers: dict[type, Callable[[Any], bytes]] = {
        v.PropositionView: documents.render_proposition,
        v.ConditionsParticulieresView: documents.render_conditions_particulieres,
        v.AvenantView: documents.render_avenant,
        v.AttestationView: documents.render_attestation,
    }
    items = policy_document_views(uow, principal, number)
    return {f"{stem}.pdf": renderers[type(view)](view) for stem, view in items}
