"""Who owns a quote, a policy or a claim, and who may see it: the services' side of
`egide.domain.access`.

Every quote, policy and claim belongs to an establishment organisation and names its broker of
record (the brokerage that submitted it, None for direct business). The services check
`allowed` through `check` before they read or write an object, and filter their lists with
`tenant_filter`, so an object of another tenant is reported exactly like one that does not exist.

When a quote is saved, `establishment_for` finds the establishment organisation of the
application's SIRET, or creates it from the application (a later application with another name
neither renames nor refuses it). Broker of record and clearance: a brokerage submitting for an
establishment whose broker of record is another brokerage is refused (``broker_of_record_conflict``)
while that brokerage has an open quote or a policy in force for it within the last
`CLEARANCE_DAYS` days; after that the submitting brokerage becomes the broker of record (recorded
in the trail). An administrator can transfer the broker of record at any time
(`transfer_broker`), with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from egide.clock import now as clock_now
from egide.domain.access import RULES, Action, Kind, OrgKind, Principal, Resource, history_actor
from egide.domain.accounts import Organisation, OrganisationEvent
from egide.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from egide.domain.text import require_parameters
from egide.services.ports import UnitOfWork

if TYPE_CHECKING:
    from egide.domain.application import Application

CLEARANCE_DAYS = 60  # the market's usual protection of the broker who placed the business
OPEN_QUOTE_STATUSES = ("priced", "referred", "approved")


class BrokerOfRecordConflict(Conflict):
    """Another brokerage is this establishment's broker of record (exit 3, HTTP 409)."""

    code = "broker_of_record_conflict"


def resource(kind: Kind, row: Any | None) -> Resource:
    """The resource of a stored quote, policy or claim row (None: one not yet created)."""
    if row is None:
        return Resource(kind)
    return Resource(kind, row.establishment_id, row.broker_id)


def check(principal: Principal, action: Action, row: Any | None, what: str) -> None:
    """NotFound ("`what` does not exist") when the principal may not see the object, NotAllowed
    with the reason when the roles or scopes do not allow the action (`accounts.require` on the
    row's resource; `row` None: an object not yet created)."""
    from egide.services.accounts import require

    require(principal, action, resource(RULES[action].kind, row), what)


def visible_row(principal: Principal, action: Action, row: _Row | None, what: str) -> _Row:
    """`row` when it exists and the principal may act on it; a missing one and another
    tenant's alike "`what` does not exist"."""
    if row is None:
        raise NotFound(f"{what} does not exist")
    check(principal, action, row, what)
    return row


_Row = TypeVar("_Row")


@dataclass(frozen=True)
class TenantFilter:
    """What a list may return: None is no restriction (the insurer's staff see everything)."""

    establishment_id: int | None = None
    broker_id: int | None = None


def tenant_filter(principal: Principal, establishment_id: int | None = None) -> TenantFilter | None:
    """What a list may read for the principal, narrowed to `establishment_id` when one is asked;
    None when the request asks for another establishment than the principal's own (an empty
    list, as if it had nothing)."""
    if principal.is_insurer_staff:
        return TenantFilter(establishment_id=establishment_id)
    if principal.organisation_kind is OrgKind.BROKERAGE:
        return TenantFilter(establishment_id, broker_id=principal.organisation_id)
    if establishment_id not in (None, principal.organisation_id):
        return None
    return TenantFilter(establishment_id=principal.organisation_id)


def _audit(
    uow: UnitOfWork, value: Organisation | OrganisationEvent, action: str, by: Principal
) -> None:
    from egide.services import audit

    audit.record_account(uow, value, action, history_actor(by))


def _recent_business(
    uow: UnitOfWork, establishment_id: int, broker_id: int, moment: datetime
) -> bool:
    """Has `broker_id` an open quote or a policy in force for the establishment within the
    clearance period?"""
    from egide.services.policies import in_force_since

    since = moment - timedelta(days=CLEARANCE_DAYS)
    for q in uow.quotes.find(establishment_id=establishment_id, broker_id=broker_id):
        if q.status in OPEN_QUOTE_STATUSES and q.valid_until >= moment and q.created_at >= since:
            return True
    found = uow.policies.find(establishment_id=establishment_id, broker_id=broker_id)
    transactions = uow.policies.transactions_of(found)  # one query for them all
    return any(in_force_since(transactions[p.id], since, moment) for p in found)


def establishment_for(
    uow: UnitOfWork, principal: Principal, app: Application, moment: datetime
) -> tuple[int, int | None]:
    """The establishment organisation a new quote belongs to and its broker of record (inside
    the caller's unit of work; creates the organisation when new)."""
    siret, name = app.establishment.siret, app.establishment.name
    org = uow.accounts.organisation_by_siret(siret)
    if org is not None and org.kind is not OrgKind.ESTABLISHMENT:
        raise InvalidInput(
            [FieldError("establishment.siret", "establishment", "is not an establishment's SIRET")]
        )
    kind = principal.organisation_kind
    if kind is OrgKind.ESTABLISHMENT:
        if org is None or org.id != principal.organisation_id:
            raise InvalidInput(
                [
                    FieldError(
                        "establishment.siret",
                        "own_establishment",
                        "must be the SIRET of your own establishment",
                    )
                ]
            )
        return org.id, org.broker_id
    broker = principal.organisation_id if kind is OrgKind.BROKERAGE else None
    if org is None:
        org, created = uow.accounts.add_establishment_once(
            Organisation(0, OrgKind.ESTABLISHMENT, name, None, siret, None, broker, moment)
        )
        if created:
            _audit(uow, org, "created", principal)
            return org.id, broker
    if broker is None or org.broker_id == broker:
        return org.id, org.broker_id
    if org.broker_id is not None and _recent_business(uow, org.id, org.broker_id, moment):
        raise BrokerOfRecordConflict(
            f"another brokerage is the broker of record of the establishment with SIRET {siret}: "
            f"it can change once it has had no open quote or policy in force for it for "
            f"{CLEARANCE_DAYS} days, or by a transfer from the insurer "
            "[broker_of_record_conflict]"
        )
    moved = _reassign(uow, org, broker, principal)
    _audit(uow, moved, "broker of record", principal)
    return org.id, broker


def _reassign(
    uow: UnitOfWork, org: Organisation, broker_id: int | None, by: Principal
) -> Organisation:
    """The establishment gets `broker_id` as broker of record, and its quotes, policies and
    claims follow it (each change in the trail, by `by`)."""
    from egide.services import audit

    moved = replace(org, broker_id=broker_id)
    uow.accounts.update_organisation(moved)
    establishment_id, actor = org.id, history_actor(by)
    for q in uow.quotes.find(establishment_id=establishment_id):
        if q.broker_id != broker_id:
            followed = replace(q, broker_id=broker_id)
            uow.quotes.update(followed)
            audit.record(uow, followed, "broker of record", actor)
    for p in uow.policies.find(establishment_id=establishment_id):
        if p.broker_id != broker_id:
            p.broker_id = broker_id
            audit.record(uow, p, "broker of record", actor)
    for c in uow.claims.find(establishment_id=establishment_id):
        if c.broker_id != broker_id:
            moved_claim = replace(c, broker_id=broker_id)
            uow.claims.update(moved_claim)
            audit.record(uow, moved_claim, "broker of record", actor)
    return moved


def transfer_broker(
    uow: UnitOfWork,
    principal: Principal,
    establishment_id: int,
    broker_id: int | None,
    note: str,
) -> Organisation:
    """An administrator moves an establishment (and its quotes, policies and claims) to another
    broker of record, or to direct business (`broker_id` None), with a note kept in history."""
    from egide.services.accounts import ACCOUNTS, brokerage, require

    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "organisation")
    if not note.strip():
        raise InvalidInput([FieldError("note", "required", "a transfer needs a note")])
    require_parameters(note=note)
    with uow:
        org = uow.accounts.organisation(establishment_id)
        if org is None:
            raise NotFound(f"organisation {establishment_id} does not exist")
        if org.kind is not OrgKind.ESTABLISHMENT:
            raise InvalidInput(
                [
                    FieldError(
                        "organisation", "kind", f"organisation {org.id} is not an establishment"
                    )
                ]
            )
        if broker_id is not None:
            brokerage(uow, broker_id)
        moved = _reassign(uow, org, broker_id, principal)
        _audit(uow, moved, "broker of record transferred", principal)
        event = uow.accounts.add_event(
            OrganisationEvent(
                0,
                org.id,
                "broker_transfer",
                clock_now(),
                history_actor(principal),
                note.strip(),
                {"from_broker_id": org.broker_id, "to_broker_id": broker_id},
            )
        )
        _audit(uow, event, "recorded", principal)
        uow.commit()
        return moved
