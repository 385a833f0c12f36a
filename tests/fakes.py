"""In-memory fakes of `egide.services.ports`: the services run against them without a database.

`FakeUnitOfWork` keeps every table as a list of rows (the mapped classes of `egide.db`, built
without a session: plain objects, unset columns None, no column defaults applied) and keeps the
rules of ports.py:

- ``add`` stores the row at once and gives a row with an ``id`` column the next integer of its
  table (ids are never reused, like a database sequence); a duplicate unique key (``number``,
  ``(policy_id, seq)``, a primary key...) raises `FakeIntegrityError`, as the database would;
- rows read are the stored objects themselves (live); the records the ports give as domain
  values (quotes, policies and their transactions, accounts) go through the conversions of
  `egide.db` both ways, as in the SQL repositories, so a value read is a copy and a change is
  written by the repository's ``update``;
- ``with uow:`` snapshots the row lists and each row's column values; leaving the block without
  ``commit()`` (or calling ``rollback()``) restores them and drops the rows added since;
- ``commit()`` keeps the state, counts itself in `committed` and stores what a later
  transaction would read from the database: datetimes in UTC (a naive one is refused, as
  `egide.db.base.AwareDateTime` refuses it) and JSON columns as fresh JSON copies (a value that
  is not JSON is refused);
- ``lock`` is ignored (no concurrency); a repository used outside ``with uow:``, or a nested
  ``with uow:``, raises `RuntimeError`: with a database that would be a transaction left open or
  a second session.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import JSON

from egide.db.base import AwareDateTime, Base
from egide.db.tables import (
    ProductVersionRow,
    QuoteRow,
    quote_row,
    quote_value,
    update_quote_row,
)
from egide.db.tables_accounts import (
    ApiClientRow,
    OrganisationEventRow,
    OrganisationRow,
    UserRow,
    client_row,
    client_value,
    event_row,
    event_value,
    organisation_row,
    organisation_value,
    update_client_row,
    update_organisation_row,
    update_user_row,
    user_row,
    user_value,
)
from egide.db.tables_audit import AuditChainRow, AuditEntryRow
from egide.db.tables_claims import (
    ClaimEventRow,
    ClaimPaymentRow,
    ClaimRow,
    claim_event_row,
    claim_event_value,
    claim_payment_row,
    claim_payment_value,
    claim_row,
    claim_value,
    update_claim_row,
)
from egide.db.tables_distribution import HandoverRow, handover_row, handover_value
from egide.db.tables_invitations import InvitationRow, invitation_row, invitation_value
from egide.db.tables_mfa import UserMfaRow, mfa_row, mfa_value, update_mfa_row
from egide.db.tables_policy import (
    IdempotencyRow,
    PolicyRow,
    PolicyTransactionRow,
    policy_row,
    policy_value,
    readable_transactions,
    transaction_row,
    transaction_value,
    update_policy_row,
)
from egide.db.tables_portfolio import PortfolioJobRow, PortfolioRunRow
from egide.db.tables_tokens import ApiTokenRow, token_row, token_value
from egide.db.tables_web import WebSessionRow, web_session_row, web_session_value
from egide.db.tables_webhooks import (
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    WebhookEventRow,
)
from egide.domain.access import OrgKind, local_operator
from egide.domain.accounts import ApiClient, Organisation, OrganisationEvent, User
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
from egide.domain.handover import Handover
from egide.domain.invitation import Invitation
from egide.domain.mfa import UserMfa
from egide.domain.policy_record import PolicyTransaction, StoredPolicy
from egide.domain.quote_record import StoredQuote
from egide.domain.tokens import AccessToken
from egide.domain.web_session import WebSession

if TYPE_CHECKING:
    from egide.services.ports import UnitOfWork

# Who the service tests act as: the local operator of the installation's insurer (id 1, the
# first organisation both the migrations and FakeUnitOfWork create), holding every role.
OPERATOR = local_operator(1)

R = TypeVar("R", bound=Base)
_T = TypeVar("_T")


class FakeIntegrityError(Exception):
    """A row the database would refuse (a duplicate unique key): a bug in a service or a test."""


def _table(cls: type[Base]) -> sa.Table:
    return cast(sa.Table, cls.__table__)


def _columns(row: Base) -> list[str]:
    return [c.key for c in _table(type(row)).columns]


def _unique_keys(cls: type[Base]) -> list[tuple[str, ...]]:
    return [
        tuple(c.key for c in constraint.columns)
        for constraint in _table(cls).constraints
        if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint)
    ]


def _stored_value(cls: type[Base], name: str, value: Any) -> Any:
    """The value as a later transaction reads it back from the database."""
    column_type = _table(cls).columns[name].type
    if value is None:
        return None
    if isinstance(column_type, AwareDateTime):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{cls.__name__}.{name}: naive datetime refused: {value!r}")
        return value.astimezone(UTC)
    if isinstance(column_type, JSON):
        return json.loads(json.dumps(value))  # TypeError for what is not JSON
    return value


_Saved = tuple[dict[type[Base], list[Base]], list[tuple[Base, dict[str, Any]]]]


class _Store:
    """Every table's rows in insertion order, and one id counter per table."""

    def __init__(self) -> None:
        self.tables: dict[type[Base], list[Base]] = {}
        self.last_id: dict[type[Base], int] = {}

    def rows(self, cls: type[R]) -> list[R]:
        return cast(list[R], self.tables.setdefault(cls, []))

    def add(self, row: Base) -> None:
        cls = type(row)
        for name in _columns(row):
            _stored_value(cls, name, getattr(row, name))  # refuse what the database would
        if "id" in _table(cls).columns and getattr(row, "id", None) is None:
            self.last_id[cls] = self.last_id.get(cls, 0) + 1
            row.id = self.last_id[cls]  # type: ignore[attr-defined]
        for key in _unique_keys(cls):
            value = tuple(getattr(row, name) for name in key)
            if None in value:  # NULLs never collide in a unique constraint
                continue
            if any(tuple(getattr(r, name) for name in key) == value for r in self.rows(cls)):
                raise FakeIntegrityError(
                    f"duplicate {cls.__name__} {dict(zip(key, value, strict=True))}"
                )
        self.rows(cls).append(row)

    def remove(self, cls: type[R], where: Callable[[R], bool]) -> None:
        self.tables[cls] = [r for r in self.rows(cls) if not where(r)]

    def save(self) -> _Saved:
        lists = {cls: list(rows) for cls, rows in self.tables.items()}
        values = [
            (row, {name: copy.deepcopy(getattr(row, name)) for name in _columns(row)})
            for rows in self.tables.values()
            for row in rows
        ]
        return lists, values

    def restore(self, saved: _Saved) -> None:
        lists, values = saved
        self.tables = {cls: list(rows) for cls, rows in lists.items()}
        for row, columns in values:
            for name, value in columns.items():
                setattr(row, name, copy.deepcopy(value))

    def normalise(self) -> None:
        for cls, rows in self.tables.items():
            for row in rows:
                for name in _columns(row):
                    setattr(row, name, _stored_value(cls, name, getattr(row, name)))


class _Repository:
    def __init__(self, store: _Store) -> None:
        self._store = store


class FakeProductVersions(_Repository):
    def get(self, ref: str) -> ProductVersionRow | None:
        return next((r for r in self._store.rows(ProductVersionRow) if r.ref == ref), None)

    def add_once(self, row: ProductVersionRow) -> ProductVersionRow:
        existing = self.get(row.ref)
        if existing is not None:
            return existing
        self._store.add(row)
        return row


def _tenanted(
    rows: list[_T],
    establishment_id: int | None,
    broker_id: int | None,
    before_id: int | None,
    limit: int | None,
    keep: Any = None,
) -> list[_T]:
    found = [
        r
        for r in sorted(rows, key=lambda r: -r.id)  # type: ignore[attr-defined]
        if establishment_id in (None, r.establishment_id)  # type: ignore[attr-defined]
        and (broker_id is None or r.broker_id == broker_id)  # type: ignore[attr-defined]
        and (before_id is None or r.id < before_id)  # type: ignore[attr-defined]
        and (keep is None or keep(r))
    ]
    return found[:limit] if limit is not None else found


class FakeQuotes(_Repository):
    """Rows kept, domain values returned, through the same conversions as the SQL repository."""

    def _row(self, number: str) -> QuoteRow | None:
        return next((r for r in self._store.rows(QuoteRow) if r.number == number), None)

    def get(self, number: str, *, lock: bool = False) -> StoredQuote | None:
        row = self._row(number)
        return quote_value(row) if row is not None else None

    def add(self, quote: StoredQuote) -> StoredQuote:
        row = quote_row(quote)
        self._store.add(row)
        return quote_value(row)

    def update(self, quote: StoredQuote) -> None:
        row = self._row(quote.number)
        assert row is not None, quote.number
        update_quote_row(row, quote)

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        status: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredQuote]:
        def keep(r: QuoteRow) -> bool:
            return (
                status in (None, r.status)
                and (created_from is None or r.created_at >= created_from)
                and (created_to is None or r.created_at < created_to)
            )

        rows = self._store.rows(QuoteRow)
        found = _tenanted(rows, establishment_id, broker_id, before_id, limit, keep)
        return [quote_value(r) for r in found]


class FakePolicies(_Repository):
    """Rows kept, domain values returned, through the same conversions as the SQL repository."""

    def _row(self, number: str) -> PolicyRow | None:
        return next((r for r in self._store.rows(PolicyRow) if r.number == number), None)

    def _transaction_rows(self, policy_id: int) -> list[PolicyTransactionRow]:
        rows = self._store.rows(PolicyTransactionRow)
        return sorted((r for r in rows if r.policy_id == policy_id), key=lambda r: r.seq)

    def get(self, number: str, *, lock: bool = False) -> StoredPolicy | None:
        row = self._row(number)
        return policy_value(row) if row is not None else None

    def get_by_quote(self, quote_number: str) -> StoredPolicy | None:
        rows = self._store.rows(PolicyRow)
        return next((policy_value(r) for r in rows if r.quote_number == quote_number), None)

    def add(self, policy: StoredPolicy) -> StoredPolicy:
        row = policy_row(policy)
        self._store.add(row)
        return policy_value(row)

    def update(self, policy: StoredPolicy) -> None:
        row = self._row(policy.number)
        assert row is not None, policy.number
        update_policy_row(row, policy)

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredPolicy]:
        rows = self._store.rows(PolicyRow)
        found = _tenanted(rows, establishment_id, broker_id, before_id, limit)
        return [policy_value(r) for r in found]

    def transactions_of(self, policies: list[StoredPolicy]) -> dict[int, list[PolicyTransaction]]:
        return {p.id: self.transactions(p) for p in policies}

    def transactions(self, policy: StoredPolicy) -> list[PolicyTransaction]:
        return [transaction_value(r) for r in self._transaction_rows(policy.id)]

    def add_transaction(self, tx: PolicyTransaction) -> PolicyTransaction:
        row = transaction_row(tx)
        self._store.add(row)
        return transaction_value(row)

    def all(self) -> list[StoredPolicy]:
        return [policy_value(r) for r in sorted(self._store.rows(PolicyRow), key=lambda r: r.id)]

    def all_transactions(self) -> list[PolicyTransaction]:
        rows = self._store.rows(PolicyTransactionRow)
        return readable_transactions(sorted(rows, key=lambda r: (r.policy_id, r.seq)))


class FakeClaims(_Repository):
    """Rows kept, domain values returned, through the same conversions as the SQL repository."""

    def _row(self, number: str) -> ClaimRow | None:
        return next((r for r in self._store.rows(ClaimRow) if r.number == number), None)

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        status: str | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredClaim]:
        rows = self._store.rows(ClaimRow)
        keep = (lambda r: r.status == status) if status is not None else None
        found = _tenanted(rows, establishment_id, broker_id, before_id, limit, keep)
        return [claim_value(r) for r in found]

    def get(self, number: str, *, lock: bool = False) -> StoredClaim | None:
        row = self._row(number)
        return claim_value(row) if row is not None else None

    def add(self, claim: StoredClaim) -> StoredClaim:
        row = claim_row(claim)
        self._store.add(row)
        return claim_value(row)

    def update(self, claim: StoredClaim) -> None:
        row = self._row(claim.number)
        assert row is not None, claim.number
        update_claim_row(row, claim)

    def add_event(self, event: ClaimEvent) -> ClaimEvent:
        row = claim_event_row(event)
        self._store.add(row)
        return claim_event_value(row)

    def events(self, claim: StoredClaim) -> list[ClaimEvent]:
        rows = self._store.rows(ClaimEventRow)
        found = sorted((r for r in rows if r.claim_id == claim.id), key=lambda r: r.seq)
        return [claim_event_value(r) for r in found]

    def add_payment(self, payment: ClaimPayment) -> ClaimPayment:
        row = claim_payment_row(payment)
        self._store.add(row)
        return claim_payment_value(row)

    def payments(self, claim: StoredClaim) -> list[ClaimPayment]:
        rows = self._store.rows(ClaimPaymentRow)
        found = sorted((r for r in rows if r.claim_id == claim.id), key=lambda r: r.id)
        return [claim_payment_value(r) for r in found]

    def paid_in_term(self, policy_number: str, term_start: datetime) -> int:
        return sum(
            r.amount_cents
            for r in self._store.rows(ClaimPaymentRow)
            if r.policy_number == policy_number and r.term_start == term_start
        )


class FakeIdempotencyKeys(_Repository):
    def __init__(self, store: _Store, uow: FakeUnitOfWork) -> None:
        super().__init__(store)
        self._uow = uow

    def get(self, key: str) -> IdempotencyRow | None:
        return next((r for r in self._store.rows(IdempotencyRow) if r.key == key), None)

    def insert(self, row: IdempotencyRow) -> bool:
        if self.get(row.key) is not None:
            # What the protocol says of a key held by another transaction (never happens here:
            # the services read the key first, and a fake has no concurrent transaction).
            self._uow.rollback()
            return False
        self._store.add(row)
        return True

    def delete(self, row: IdempotencyRow) -> None:
        self._store.rows(IdempotencyRow).remove(row)

    def delete_older_than(self, moment: datetime) -> int:
        rows = self._store.rows(IdempotencyRow)
        kept = [r for r in rows if r.created_at >= moment]
        count = len(rows) - len(kept)
        rows[:] = kept
        return count


class FakePortfolioRuns(_Repository):
    def get(self, run_id: str) -> PortfolioRunRow | None:
        return next((r for r in self._store.rows(PortfolioRunRow) if r.run_id == run_id), None)

    def add(self, row: PortfolioRunRow) -> None:
        self._store.add(row)


class FakeAccounts(_Repository):
    """Organisations, users and API clients kept as rows, returned as domain values through the
    same conversions as the SQL repository."""

    def insurer(self) -> Organisation:
        return next(
            organisation_value(r) for r in self._store.rows(OrganisationRow) if r.kind == "insurer"
        )

    def organisation(self, org_id: int) -> Organisation | None:
        rows = self._store.rows(OrganisationRow)
        return next((organisation_value(r) for r in rows if r.id == org_id), None)

    def organisation_by_siret(self, siret: str) -> Organisation | None:
        rows = self._store.rows(OrganisationRow)
        return next((organisation_value(r) for r in rows if r.siret == siret), None)

    def add_organisation(self, org: Organisation) -> Organisation:
        row = organisation_row(org)
        self._store.add(row)
        return organisation_value(row)

    def organisations(
        self,
        after_id: int,
        limit: int,
        *,
        kind: OrgKind | None = None,
        broker_id: int | None = None,
    ) -> list[Organisation]:
        rows = [
            r
            for r in sorted(self._store.rows(OrganisationRow), key=lambda r: r.id)
            if r.id > after_id
            and (kind is None or r.kind == kind.value)
            and (broker_id is None or r.broker_id == broker_id)
        ]
        return [organisation_value(r) for r in rows[:limit]]

    def add_establishment_once(self, org: Organisation) -> tuple[Organisation, bool]:
        assert org.siret is not None
        existing = self.organisation_by_siret(org.siret)
        return (existing, False) if existing is not None else (self.add_organisation(org), True)

    def update_organisation(self, org: Organisation) -> None:
        rows = self._store.rows(OrganisationRow)
        update_organisation_row(next(r for r in rows if r.id == org.id), org)

    def add_event(self, event: OrganisationEvent) -> OrganisationEvent:
        row = event_row(event)
        self._store.add(row)
        return event_value(row)

    def events(self, organisation_id: int) -> list[OrganisationEvent]:
        rows = sorted(self._store.rows(OrganisationEventRow), key=lambda r: r.id)
        return [event_value(r) for r in rows if r.organisation_id == organisation_id]

    def user(self, user_id: int) -> User | None:
        return next((user_value(r) for r in self._store.rows(UserRow) if r.id == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        rows = self._store.rows(UserRow)
        return next((user_value(r) for r in rows if r.email == email.lower()), None)

    def add_user(self, user: User) -> User:
        row = user_row(user)
        self._store.add(row)
        return user_value(row)

    def users(self, after_id: int, limit: int, *, organisation_id: int | None = None) -> list[User]:
        rows = [
            r
            for r in sorted(self._store.rows(UserRow), key=lambda r: r.id)
            if r.id > after_id and organisation_id in (None, r.organisation_id)
        ]
        return [user_value(r) for r in rows[:limit]]

    def update_user(self, user: User) -> None:
        update_user_row(next(r for r in self._store.rows(UserRow) if r.id == user.id), user)

    def has_admin(self) -> bool:
        return any("admin" in r.roles and not r.disabled for r in self._store.rows(UserRow))

    def client(self, client_id: str) -> ApiClient | None:
        rows = self._store.rows(ApiClientRow)
        return next((client_value(r) for r in rows if r.client_id == client_id), None)

    def add_client(self, client: ApiClient) -> ApiClient:
        row = client_row(client)
        self._store.add(row)
        return client_value(row)

    def clients(
        self, after_id: int, limit: int, *, organisation_id: int | None = None
    ) -> list[ApiClient]:
        rows = [
            r
            for r in sorted(self._store.rows(ApiClientRow), key=lambda r: r.id)
            if r.id > after_id and organisation_id in (None, r.organisation_id)
        ]
        return [client_value(r) for r in rows[:limit]]

    def update_client(self, client: ApiClient) -> None:
        rows = self._store.rows(ApiClientRow)
        update_client_row(next(r for r in rows if r.client_id == client.client_id), client)


class FakeAuditLog(_Repository):
    def head(self, chain: str) -> AuditChainRow:
        row = next((r for r in self._store.rows(AuditChainRow) if r.chain == chain), None)
        if row is None:
            row = AuditChainRow(chain=chain, length=0, head_mac="", key_id="", mac="")
            self._store.add(row)
        return row

    def add(self, row: AuditEntryRow) -> None:
        self._store.add(row)

    def entries(self) -> list[AuditEntryRow]:
        return sorted(self._store.rows(AuditEntryRow), key=lambda r: (r.chain, r.seq))

    def chains(self) -> list[AuditChainRow]:
        return sorted(self._store.rows(AuditChainRow), key=lambda r: r.chain)

    def rows(self, model: type[Any]) -> list[Any]:
        return sorted(self._store.rows(model), key=lambda r: r.id)

    def chain_entries(self, chain: str) -> list[AuditEntryRow]:
        rows = [r for r in self._store.rows(AuditEntryRow) if r.chain == chain]
        return sorted(rows, key=lambda r: r.seq)


class FakeWebSessions(_Repository):
    def add(self, session: WebSession) -> WebSession:
        row = web_session_row(session)
        self._store.add(row)
        return web_session_value(row)

    def get(self, token_hash: str) -> WebSession | None:
        rows = self._store.rows(WebSessionRow)
        row = next((r for r in rows if r.token_hash == token_hash), None)
        return web_session_value(row) if row is not None else None

    def delete(self, token_hash: str) -> None:
        self._store.remove(WebSessionRow, lambda r: r.token_hash == token_hash)

    def delete_user(self, user_id: int) -> None:
        self._store.remove(WebSessionRow, lambda r: r.user_id == user_id)


class FakeUserMfa(_Repository):
    def get(self, user_id: int, *, lock: bool = False) -> UserMfa | None:
        row = next((r for r in self._store.rows(UserMfaRow) if r.user_id == user_id), None)
        return mfa_value(row) if row is not None else None

    def put(self, mfa: UserMfa) -> None:
        row = next((r for r in self._store.rows(UserMfaRow) if r.user_id == mfa.user_id), None)
        if row is None:
            self._store.add(mfa_row(mfa))
        else:
            update_mfa_row(row, mfa)


# --------------------------------------------------------------------------- hand-overs


class FakeHandovers(_Repository):
    """Rows kept, domain values returned, through the same conversions as the SQL repository."""

    def add(self, handover: Handover) -> Handover:
        row = handover_row(handover)
        self._store.add(row)
        return handover_value(row)

    def of_quote(self, quote_number: str) -> list[Handover]:
        rows = sorted(self._store.rows(HandoverRow), key=lambda r: r.id)
        return [handover_value(r) for r in rows if r.quote_number == quote_number]


# ------------------------------------------------------------ webhooks and portfolio jobs (issue 12)


class FakeWebhooks(_Repository):
    def add_endpoint(self, row: WebhookEndpointRow) -> None:
        self._store.add(row)

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> WebhookEndpointRow | None:
        return next((r for r in self._store.rows(WebhookEndpointRow) if r.id == endpoint_id), None)

    def endpoints(self, organisation_id: int | None = None) -> list[WebhookEndpointRow]:
        return [
            r
            for r in self._store.rows(WebhookEndpointRow)
            if not r.deleted and organisation_id in (None, r.organisation_id)
        ]

    def add_event(self, row: WebhookEventRow) -> None:
        self._store.add(row)

    def add_event_once(self, row: WebhookEventRow) -> bool:
        if any(r.dedup_key == row.dedup_key for r in self._store.rows(WebhookEventRow)):
            return False
        self._store.add(row)
        return True

    def event(self, row_id: int) -> WebhookEventRow | None:
        return next((r for r in self._store.rows(WebhookEventRow) if r.id == row_id), None)

    def events(self, after_id: int = 0, limit: int = 100) -> list[WebhookEventRow]:
        return [r for r in self._store.rows(WebhookEventRow) if r.id > after_id][:limit]

    def undispatched(self, limit: int) -> list[WebhookEventRow]:
        return [r for r in self._store.rows(WebhookEventRow) if r.dispatched_at is None][:limit]

    def add_delivery(self, row: WebhookDeliveryRow) -> None:
        self._store.add(row)

    def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDeliveryRow | None:
        return next((r for r in self._store.rows(WebhookDeliveryRow) if r.id == delivery_id), None)

    def deliveries_of(
        self, endpoint_id: int, status: str | None = None
    ) -> list[WebhookDeliveryRow]:
        return [
            r
            for r in self._store.rows(WebhookDeliveryRow)
            if r.endpoint_id == endpoint_id and status in (None, r.status)
        ]

    def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[WebhookDeliveryRow]:
        due = sorted(
            (
                r
                for r in self._store.rows(WebhookDeliveryRow)
                if r.status == "pending"
                and r.next_attempt_at <= now
                and (r.lease_until is None or r.lease_until <= now)
            ),
            key=lambda r: (r.next_attempt_at, r.id),
        )[:limit]
        for r in due:
            r.lease_owner, r.lease_until = owner, lease_until
        return sorted(due, key=lambda r: r.id)

    def add_attempt(self, row: WebhookAttemptRow) -> None:
        self._store.add(row)

    def attempts(self, delivery_id: int) -> list[WebhookAttemptRow]:
        return [r for r in self._store.rows(WebhookAttemptRow) if r.delivery_id == delivery_id]


class FakePortfolioJobs(_Repository):
    def add(self, row: PortfolioJobRow) -> None:
        self._store.add(row)

    def get(self, job_id: str, *, lock: bool = False) -> PortfolioJobRow | None:
        return next((r for r in self._store.rows(PortfolioJobRow) if r.job_id == job_id), None)

    def by_run(self, run_id: str) -> PortfolioJobRow | None:
        return next((r for r in self._store.rows(PortfolioJobRow) if r.run_id == run_id), None)

    def with_status(self, *statuses: str) -> list[PortfolioJobRow]:
        return [r for r in self._store.rows(PortfolioJobRow) if r.status in statuses]

    def claim_queued(self) -> PortfolioJobRow | None:
        return next(iter(self.with_status("queued")), None)

    def ord_zip(self, job_id: str) -> bytes | None:
        row = self.get(job_id)
        return row.ord_zip if row is not None else None


class FakeAccessTokens(_Repository):
    def add(self, token: AccessToken) -> AccessToken:
        row = token_row(token)
        self._store.add(row)
        return token_value(row)

    def by_hash(self, token_hash: str) -> AccessToken | None:
        rows = self._store.rows(ApiTokenRow)
        return next((token_value(r) for r in rows if r.token_hash == token_hash), None)

    def delete_expired(self, moment: datetime) -> int:
        rows = self._store.rows(ApiTokenRow)
        kept = [r for r in rows if r.expires_at > moment]
        count = len(rows) - len(kept)
        rows[:] = kept
        return count


class FakeInvitations(_Repository):
    def add(self, invitation: Invitation) -> Invitation:
        row = invitation_row(invitation)
        self._store.add(row)
        return invitation_value(row)

    def get(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        rows = self._store.rows(InvitationRow)
        row = next((r for r in rows if r.token_hash == token_hash), None)
        return invitation_value(row) if row is not None else None

    def accept(self, invitation: Invitation) -> None:
        rows = self._store.rows(InvitationRow)
        row = next(r for r in rows if r.token_hash == invitation.token_hash)
        row.accepted_at = invitation.accepted_at


class FakeUnitOfWork:
    """Implements `egide.services.ports.UnitOfWork` in memory (see the module doc)."""

    def __init__(self) -> None:
        self._store = _Store()
        self._saved: _Saved | None = None
        self.committed = 0  # how many times commit() was called
        self._products = FakeProductVersions(self._store)
        self._quotes = FakeQuotes(self._store)
        self._policies = FakePolicies(self._store)
        self._claims = FakeClaims(self._store)
        self._idempotency = FakeIdempotencyKeys(self._store, self)
        self._runs = FakePortfolioRuns(self._store)
        self._accounts = FakeAccounts(self._store)
        self._webhooks = FakeWebhooks(self._store)
        self._jobs = FakePortfolioJobs(self._store)
        self._tokens = FakeAccessTokens(self._store)
        # the installation's insurer, as the migrations create it
        self._store.add(
            OrganisationRow(kind="insurer", name="Égide Assurances", created_at=datetime.now(UTC))
        )
        self._audit = FakeAuditLog(self._store)
        self._web_sessions = FakeWebSessions(self._store)
        self._mfa = FakeUserMfa(self._store)
        self._invitations = FakeInvitations(self._store)
        # ...and sealed in the audit trail, as migration 0007 seals it
        from egide.services import audit

        with self:
            audit.record_account(self, self.accounts.insurer(), "sealed", "migration 0007")
            self.commit()
        self.committed = 0

    def _open(self) -> None:
        if self._saved is None:
            raise RuntimeError("the unit of work is used outside `with uow:`")

    @property
    def products(self) -> FakeProductVersions:
        self._open()
        return self._products

    @property
    def quotes(self) -> FakeQuotes:
        self._open()
        return self._quotes

    @property
    def policies(self) -> FakePolicies:
        self._open()
        return self._policies

    @property
    def claims(self) -> FakeClaims:
        self._open()
        return self._claims

    @property
    def idempotency(self) -> FakeIdempotencyKeys:
        self._open()
        return self._idempotency

    @property
    def runs(self) -> FakePortfolioRuns:
        self._open()
        return self._runs

    @property
    def accounts(self) -> FakeAccounts:
        self._open()
        return self._accounts

    @property
    def invitations(self) -> FakeInvitations:
        self._open()
        return self._invitations

    @property
    def mfa(self) -> FakeUserMfa:
        self._open()
        return self._mfa

    @property
    def web_sessions(self) -> FakeWebSessions:
        self._open()
        return self._web_sessions

    @property
    def audit(self) -> FakeAuditLog:
        self._open()
        return self._audit

    @property
    def handovers(self) -> FakeHandovers:
        self._open()
        return FakeHandovers(self._store)

    @property
    def webhooks(self) -> FakeWebhooks:
        self._open()
        return self._webhooks

    @property
    def jobs(self) -> FakePortfolioJobs:
        self._open()
        return self._jobs

    @property
    def tokens(self) -> FakeAccessTokens:
        self._open()
        return self._tokens

    def __enter__(self) -> Self:
        if self._saved is not None:
            raise RuntimeError("nested `with uow:`: the unit of work is already open")
        self._saved = self._store.save()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._saved = None

    def commit(self) -> None:
        self._open()
        self._store.normalise()
        self._saved = self._store.save()
        self.committed += 1

    def rollback(self) -> None:
        self._open()
        assert self._saved is not None
        self._store.restore(self._saved)

    def flush(self) -> None:
        self._open()  # nothing to write to

    def stored(self, cls: type[R]) -> list[R]:
        """The rows of one table as they stand (outside ``with``: as committed), for assertions."""
        return list(self._store.rows(cls))


if TYPE_CHECKING:

    def _implements_the_protocol(uow: FakeUnitOfWork) -> UnitOfWork:
        return uow  # mypy checks that the fake is a UnitOfWork
