"""The repositories of `egide.services.ports` on a SQLAlchemy session (SQLite or PostgreSQL).

Each ``add`` flushes, so the row gets its id and any constraint violation surfaces where the row
is added. ``lock=True`` is ``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite serialises writers with
``BEGIN IMMEDIATE`` already) and re-reads the row, in case an earlier query of the same session
cached an older state of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egide.db.tables import ProductVersionRow, QuoteRow, quote_row, quote_value, update_quote_row
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
from egide.domain.access import OrgKind, Role
from egide.domain.accounts import ApiClient, Organisation, OrganisationEvent, User
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
from egide.domain.errors import UnreadableRows
from egide.domain.handover import Handover
from egide.domain.invitation import Invitation
from egide.domain.mfa import UserMfa
from egide.domain.policy_record import PolicyTransaction, StoredPolicy
from egide.domain.quote_record import StoredQuote
from egide.domain.tokens import AccessToken
from egide.domain.web_session import WebSession

_Row = TypeVar("_Row")


def _one(session: Session, query: Select[_Row], lock: bool = False) -> _Row | None:
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()

    def _insert_once(self, row: _Row, winner: Select[_Row]) -> tuple[_Row, bool]:
        """Insert `row` unless a concurrent transaction inserts the same unique key first: then
        that one's row (`winner` reads it) and False. The insert runs in a savepoint, so losing
        the race (a unique violation once the other commits, on PostgreSQL) does not spoil the
        caller's transaction."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            found = _one(self.session, winner.execution_options(populate_existing=True))
            if found is None:  # pragma: no cover - the conflicting row must exist
                raise
            return found, False
        return row, True

    def _many(self, query: Select[_Row]) -> list[_Row]:
        return list(self.session.scalars(query))

    def _readable(self, model: type[_Row], query: Select[_Row]) -> list[_Row]:
        """All rows of `query`; when a stored value cannot be converted back (a date or a JSON
        text altered outside Égide), `UnreadableRows` names every such row instead."""
        try:
            return self._many(query)
        except (ValueError, TypeError, ArithmeticError) as exc:
            bad = []
            for (row_id,) in self.session.execute(select(model.id).order_by(model.id)):  # type: ignore[attr-defined]
                try:
                    self.session.get(model, row_id, populate_existing=True)
                except (ValueError, TypeError, ArithmeticError):
                    bad.append(int(row_id))
            raise UnreadableRows(model.__tablename__, bad) from exc  # type: ignore[attr-defined]


class SqlProductVersions(_Repository):
    def get(self, ref: str) -> ProductVersionRow | None:
        return self.session.get(ProductVersionRow, ref)

    def add_once(self, row: ProductVersionRow) -> ProductVersionRow:
        existing = self.get(row.ref)
        if existing is not None:
            return existing
        query = select(ProductVersionRow).where(ProductVersionRow.ref == row.ref)
        return self._insert_once(row, query)[0]


_Tenanted = TypeVar("_Tenanted", QuoteRow, PolicyRow, ClaimRow)


def _tenanted(
    model: type[_Tenanted],
    establishment_id: int | None,
    broker_id: int | None,
    before_id: int | None,
    limit: int | None,
) -> Select[_Tenanted]:
    """A tenant's rows of a table, newest first, keyset-paginated (`before_id`)."""
    query = select(model)
    if establishment_id is not None:
        query = query.where(model.establishment_id == establishment_id)
    if broker_id is not None:
        query = query.where(model.broker_id == broker_id)
    if before_id is not None:
        query = query.where(model.id < before_id)
    query = query.order_by(model.id.desc())
    return query.limit(limit) if limit is not None else query


class SqlQuotes(_Repository):
    """Quotes as domain values (`egide.domain.quote_record.StoredQuote`)."""

    def _row(self, number: str, lock: bool = False) -> QuoteRow | None:
        return _one(self.session, select(QuoteRow).where(QuoteRow.number == number), lock)

    def get(self, number: str, *, lock: bool = False) -> StoredQuote | None:
        row = self._row(number, lock)
        return quote_value(row) if row is not None else None

    def add(self, quote: StoredQuote) -> StoredQuote:
        row = quote_row(quote)
        self._add(row)
        return quote_value(row)

    def update(self, quote: StoredQuote) -> None:
        row = self._row(quote.number)
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"quote {quote.number}")
        update_quote_row(row, quote)
        self.session.flush()

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
        query = _tenanted(QuoteRow, establishment_id, broker_id, before_id, limit)
        if status is not None:
            query = query.where(QuoteRow.status == status)
        if created_from is not None:
            query = query.where(QuoteRow.created_at >= created_from)
        if created_to is not None:
            query = query.where(QuoteRow.created_at < created_to)
        return [quote_value(r) for r in self._many(query)]


class SqlPolicies(_Repository):
    """Policies and their transactions as domain values (`egide.domain.policy_record`)."""

    def _row(self, number: str, lock: bool = False) -> PolicyRow | None:
        return _one(self.session, select(PolicyRow).where(PolicyRow.number == number), lock)

    def get(self, number: str, *, lock: bool = False) -> StoredPolicy | None:
        row = self._row(number, lock)
        return policy_value(row) if row is not None else None

    def get_by_quote(self, quote_number: str) -> StoredPolicy | None:
        row = _one(self.session, select(PolicyRow).where(PolicyRow.quote_number == quote_number))
        return policy_value(row) if row is not None else None

    def add(self, policy: StoredPolicy) -> StoredPolicy:
        row = policy_row(policy)
        self._add(row)
        return policy_value(row)

    def update(self, policy: StoredPolicy) -> None:
        # by id: the row the caller read (and locked) in this transaction, no query to find it
        row = self.session.get(PolicyRow, policy.id)
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"policy {policy.number}")
        update_policy_row(row, policy)
        self.session.flush()

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredPolicy]:
        query = _tenanted(PolicyRow, establishment_id, broker_id, before_id, limit)
        return [policy_value(r) for r in self._many(query)]

    def transactions_of(self, policies: list[StoredPolicy]) -> dict[int, list[PolicyTransaction]]:
        found: dict[int, list[PolicyTransaction]] = {p.id: [] for p in policies}
        if found:
            query = (
                select(PolicyTransactionRow)
                .where(PolicyTransactionRow.policy_id.in_(list(found)))
                .order_by(PolicyTransactionRow.policy_id, PolicyTransactionRow.seq)
            )
            for t in self._many(query):
                found[t.policy_id].append(transaction_value(t))
        return found

    def transactions(self, policy: StoredPolicy) -> list[PolicyTransaction]:
        query = (
            select(PolicyTransactionRow)
            .where(PolicyTransactionRow.policy_id == policy.id)
            .order_by(PolicyTransactionRow.seq)
        )
        return [transaction_value(t) for t in self._many(query)]

    def add_transaction(self, tx: PolicyTransaction) -> PolicyTransaction:
        row = transaction_row(tx)
        self._add(row)
        return transaction_value(row)

    def all(self) -> list[StoredPolicy]:
        rows = self._readable(PolicyRow, select(PolicyRow).order_by(PolicyRow.id))
        return [policy_value(r) for r in rows]

    def all_transactions(self) -> list[PolicyTransaction]:
        rows = self._readable(
            PolicyTransactionRow,
            select(PolicyTransactionRow).order_by(
                PolicyTransactionRow.policy_id, PolicyTransactionRow.seq
            ),
        )
        return readable_transactions(rows)


class SqlClaims(_Repository):
    """Claims, events and payments as domain values (`egide.domain.claim_record`)."""

    def _row(self, number: str, lock: bool = False) -> ClaimRow | None:
        return _one(self.session, select(ClaimRow).where(ClaimRow.number == number), lock)

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        status: str | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredClaim]:
        query = _tenanted(ClaimRow, establishment_id, broker_id, before_id, limit)
        if status is not None:
            query = query.where(ClaimRow.status == status)
        return [claim_value(r) for r in self._many(query)]

    def get(self, number: str, *, lock: bool = False) -> StoredClaim | None:
        row = self._row(number, lock)
        return claim_value(row) if row is not None else None

    def add(self, claim: StoredClaim) -> StoredClaim:
        row = claim_row(claim)
        self._add(row)
        return claim_value(row)

    def update(self, claim: StoredClaim) -> None:
        row = self._row(claim.number)
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"claim {claim.number}")
        update_claim_row(row, claim)
        self.session.flush()

    def add_event(self, event: ClaimEvent) -> ClaimEvent:
        row = claim_event_row(event)
        self._add(row)
        return claim_event_value(row)

    def events(self, claim: StoredClaim) -> list[ClaimEvent]:
        query = (
            select(ClaimEventRow)
            .where(ClaimEventRow.claim_id == claim.id)
            .order_by(ClaimEventRow.seq)
        )
        return [claim_event_value(r) for r in self._many(query)]

    def add_payment(self, payment: ClaimPayment) -> ClaimPayment:
        row = claim_payment_row(payment)
        self._add(row)
        return claim_payment_value(row)

    def payments(self, claim: StoredClaim) -> list[ClaimPayment]:
        query = (
            select(ClaimPaymentRow)
            .where(ClaimPaymentRow.claim_id == claim.id)
            .order_by(ClaimPaymentRow.id)
        )
        return [claim_payment_value(r) for r in self._many(query)]

    def paid_in_term(self, policy_number: str, term_start: datetime) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(ClaimPaymentRow.amount_cents), 0)).where(
                ClaimPaymentRow.policy_number == policy_number,
                ClaimPaymentRow.term_start == term_start,
            )
        )
        return int(total or 0)


class SqlIdempotencyKeys(_Repository):
    def get(self, key: str) -> IdempotencyRow | None:
        return self.session.get(IdempotencyRow, key)

    def insert(self, row: IdempotencyRow) -> bool:
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            # A concurrent request committed the key first; after a failed flush the session
            # must be rolled back before it can read the winner's row.
            self.session.rollback()
            return False
        return True

    def delete(self, row: IdempotencyRow) -> None:
        self.session.delete(row)
        self.session.flush()

    def delete_older_than(self, moment: datetime) -> int:
        rows = self.session.scalars(
            select(IdempotencyRow).where(IdempotencyRow.created_at < moment)
        ).all()
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return len(rows)


class SqlPortfolioRuns(_Repository):
    def get(self, run_id: str) -> PortfolioRunRow | None:
        return _one(self.session, select(PortfolioRunRow).where(PortfolioRunRow.run_id == run_id))

    def add(self, row: PortfolioRunRow) -> None:
        self._add(row)


class SqlAccessTokens(_Repository):
    """Bearer tokens of the HTTP API, found by the SHA-256 of the token."""

    def add(self, token: AccessToken) -> AccessToken:
        row = token_row(token)
        self._add(row)
        return token_value(row)

    def by_hash(self, token_hash: str) -> AccessToken | None:
        row = _one(self.session, select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))
        return token_value(row) if row is not None else None

    def delete_expired(self, moment: datetime) -> int:
        rows = self.session.scalars(select(ApiTokenRow).where(ApiTokenRow.expires_at <= moment))
        count = 0
        for row in rows:
            self.session.delete(row)
            count += 1
        self.session.flush()
        return count


# ------------------------------------------------------------------ accounts (domain values out)
# The conversions between rows and values are public: the tests' in-memory fakes use them too.


class SqlAccounts(_Repository):
    """Organisations, users and API clients; lists are keyset-paginated by id."""

    def insurer(self) -> Organisation:
        row = _one(self.session, select(OrganisationRow).where(OrganisationRow.kind == "insurer"))
        if row is None:  # pragma: no cover - the migration creates it
            raise LookupError("the installation's insurer organisation is missing")
        return organisation_value(row)

    def organisation(self, org_id: int) -> Organisation | None:
        row = self.session.get(OrganisationRow, org_id)
        return organisation_value(row) if row is not None else None

    def organisation_by_siret(self, siret: str) -> Organisation | None:
        row = _one(self.session, select(OrganisationRow).where(OrganisationRow.siret == siret))
        return organisation_value(row) if row is not None else None

    def add_organisation(self, org: Organisation) -> Organisation:
        row = organisation_row(org)
        self._add(row)
        return organisation_value(row)

    def add_establishment_once(self, org: Organisation) -> tuple[Organisation, bool]:
        assert org.siret is not None
        existing = self.organisation_by_siret(org.siret)
        if existing is not None:
            return existing, False
        query = select(OrganisationRow).where(OrganisationRow.siret == org.siret)
        row, created = self._insert_once(organisation_row(org), query)
        return organisation_value(row), created

    def organisations(
        self,
        after_id: int,
        limit: int,
        *,
        kind: OrgKind | None = None,
        broker_id: int | None = None,
    ) -> list[Organisation]:
        query = select(OrganisationRow).where(OrganisationRow.id > after_id)
        if kind is not None:
            query = query.where(OrganisationRow.kind == kind.value)
        if broker_id is not None:
            query = query.where(OrganisationRow.broker_id == broker_id)
        rows = self._many(query.order_by(OrganisationRow.id).limit(limit))
        return [organisation_value(r) for r in rows]

    def update_organisation(self, org: Organisation) -> None:
        row = self.session.get(OrganisationRow, org.id)
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"organisation {org.id}")
        update_organisation_row(row, org)
        self.session.flush()

    def add_event(self, event: OrganisationEvent) -> OrganisationEvent:
        row = event_row(event)
        self._add(row)
        return event_value(row)

    def events(self, organisation_id: int) -> list[OrganisationEvent]:
        query = (
            select(OrganisationEventRow)
            .where(OrganisationEventRow.organisation_id == organisation_id)
            .order_by(OrganisationEventRow.id)
        )
        return [event_value(r) for r in self._many(query)]

    def user(self, user_id: int) -> User | None:
        row = self.session.get(UserRow, user_id)
        return user_value(row) if row is not None else None

    def user_by_email(self, email: str) -> User | None:
        row = _one(self.session, select(UserRow).where(UserRow.email == email.lower()))
        return user_value(row) if row is not None else None

    def add_user(self, user: User) -> User:
        row = user_row(user)
        self._add(row)
        return user_value(row)

    def users(self, after_id: int, limit: int, *, organisation_id: int | None = None) -> list[User]:
        query = select(UserRow).where(UserRow.id > after_id)
        if organisation_id is not None:
            query = query.where(UserRow.organisation_id == organisation_id)
        return [user_value(r) for r in self._many(query.order_by(UserRow.id).limit(limit))]

    def update_user(self, user: User) -> None:
        row = self.session.get(UserRow, user.id)
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"user {user.id}")
        update_user_row(row, user)
        self.session.flush()

    def has_admin(self) -> bool:
        return any(
            Role.ADMIN.value in r.roles and not r.disabled for r in self._many(select(UserRow))
        )

    def client(self, client_id: str) -> ApiClient | None:
        row = _one(self.session, select(ApiClientRow).where(ApiClientRow.client_id == client_id))
        return client_value(row) if row is not None else None

    def add_client(self, client: ApiClient) -> ApiClient:
        row = client_row(client)
        self._add(row)
        return client_value(row)

    def clients(
        self, after_id: int, limit: int, *, organisation_id: int | None = None
    ) -> list[ApiClient]:
        query = select(ApiClientRow).where(ApiClientRow.id > after_id)
        if organisation_id is not None:
            query = query.where(ApiClientRow.organisation_id == organisation_id)
        return [client_value(r) for r in self._many(query.order_by(ApiClientRow.id).limit(limit))]

    def update_client(self, client: ApiClient) -> None:
        row = _one(
            self.session, select(ApiClientRow).where(ApiClientRow.client_id == client.client_id)
        )
        if row is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"client {client.client_id}")
        update_client_row(row, client)
        self.session.flush()


class SqlAuditLog(_Repository):
    def head(self, chain: str) -> AuditChainRow:
        query = select(AuditChainRow).where(AuditChainRow.chain == chain)
        row = _one(self.session, query, lock=True)
        if row is None:
            # A new chain: insert its empty head unless a concurrent transaction did (that one
            # then wins and this one waits for it at the lock below).
            from sqlalchemy.dialects import postgresql, sqlite

            values = {"chain": chain, "length": 0, "head_mac": "", "key_id": "", "mac": ""}
            if self.session.get_bind().dialect.name == "postgresql":
                pg = postgresql.insert(AuditChainRow).values(values)
                self.session.execute(pg.on_conflict_do_nothing(index_elements=["chain"]))
            else:
                lite = sqlite.insert(AuditChainRow).values(values)
                self.session.execute(lite.on_conflict_do_nothing(index_elements=["chain"]))
            row = _one(self.session, query, lock=True)
            if row is None:  # pragma: no cover - inserted or found just above
                raise RuntimeError(f"audit chain {chain} could not be created")
        return row

    def add(self, row: AuditEntryRow) -> None:
        self._add(row)

    def entries(self) -> list[AuditEntryRow]:
        return self._readable(
            AuditEntryRow, select(AuditEntryRow).order_by(AuditEntryRow.chain, AuditEntryRow.seq)
        )

    def chain_entries(self, chain: str) -> list[AuditEntryRow]:
        query = select(AuditEntryRow).where(AuditEntryRow.chain == chain)
        return self._many(query.order_by(AuditEntryRow.seq))

    def chains(self) -> list[AuditChainRow]:
        return self._many(select(AuditChainRow).order_by(AuditChainRow.chain))

    def rows(self, model: type[_Row]) -> list[_Row]:
        return self._readable(model, select(model).order_by(model.id))  # type: ignore[attr-defined]


class SqlWebSessions(_Repository):
    """The web application's sessions, by the hash of their token."""

    def add(self, session: WebSession) -> WebSession:
        row = web_session_row(session)
        self._add(row)
        return web_session_value(row)

    def get(self, token_hash: str) -> WebSession | None:
        row = _one(
            self.session, select(WebSessionRow).where(WebSessionRow.token_hash == token_hash)
        )
        return web_session_value(row) if row is not None else None

    def delete(self, token_hash: str) -> None:
        self.session.execute(sa_delete(WebSessionRow).where(WebSessionRow.token_hash == token_hash))

    def delete_user(self, user_id: int) -> None:
        self.session.execute(sa_delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


class SqlUserMfa(_Repository):
    """Users' second factors, by user."""

    def get(self, user_id: int, *, lock: bool = False) -> UserMfa | None:
        query = select(UserMfaRow).where(UserMfaRow.user_id == user_id)
        row = _one(self.session, query.with_for_update() if lock else query)
        return mfa_value(row) if row is not None else None

    def put(self, mfa: UserMfa) -> None:
        row = self.session.get(UserMfaRow, mfa.user_id)
        if row is None:
            self._add(mfa_row(mfa))
        else:
            update_mfa_row(row, mfa)


# ------------------------------------------------------------------ hand-overs (domain values out)


class SqlHandovers(_Repository):
    """Append-only: `add` and reads, nothing else."""

    def add(self, handover: Handover) -> Handover:
        row = handover_row(handover)
        self._add(row)
        return handover_value(row)

    def of_quote(self, quote_number: str) -> list[Handover]:
        query = select(HandoverRow).where(HandoverRow.quote_number == quote_number)
        return [handover_value(r) for r in self._many(query.order_by(HandoverRow.id))]


# ------------------------------------------------------------ webhooks and portfolio jobs (issue 12)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlWebhooks(_Repository):
    def add_endpoint(self, row: WebhookEndpointRow) -> None:
        self._add(row)

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> WebhookEndpointRow | None:
        query = select(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id)
        return _one(self.session, query, lock)

    def endpoints(self, organisation_id: int | None = None) -> list[WebhookEndpointRow]:
        query = select(WebhookEndpointRow).where(WebhookEndpointRow.deleted.is_(False))
        if organisation_id is not None:
            query = query.where(WebhookEndpointRow.organisation_id == organisation_id)
        return self._many(query.order_by(WebhookEndpointRow.id))

    def add_event(self, row: WebhookEventRow) -> None:
        self._add(row)

    def add_event_once(self, row: WebhookEventRow) -> bool:
        winner = select(WebhookEventRow).where(WebhookEventRow.dedup_key == row.dedup_key)
        if _one(self.session, winner) is not None:
            return False
        return self._insert_once(row, winner)[1]

    def event(self, row_id: int) -> WebhookEventRow | None:
        return self.session.get(WebhookEventRow, row_id)

    def events(self, after_id: int = 0, limit: int = 100) -> list[WebhookEventRow]:
        query = select(WebhookEventRow).where(WebhookEventRow.id > after_id)
        return self._many(query.order_by(WebhookEventRow.id).limit(limit))

    def undispatched(self, limit: int) -> list[WebhookEventRow]:
        query = (
            select(WebhookEventRow)
            .where(WebhookEventRow.dispatched_at.is_(None))
            .order_by(WebhookEventRow.id)
            .limit(limit)
        )
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        return self._many(query)

    def add_delivery(self, row: WebhookDeliveryRow) -> None:
        self._add(row)

    def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDeliveryRow | None:
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        return _one(self.session, query, lock)

    def deliveries_of(
        self, endpoint_id: int, status: str | None = None
    ) -> list[WebhookDeliveryRow]:
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status)
        return self._many(query.order_by(WebhookDeliveryRow.id))

    def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[WebhookDeliveryRow]:
        free = or_(WebhookDeliveryRow.lease_until.is_(None), WebhookDeliveryRow.lease_until <= now)
        due = (WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
        query = (
            select(WebhookDeliveryRow.id)
            .where(*due, free)
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
        )
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        claimed: list[int] = []
        for delivery_id in self.session.scalars(query).all():
            # a conditional update: takes the lease only if it is still free, whatever the
            # backend's locking (on PostgreSQL the row is already held by SKIP LOCKED)
            result = self.session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id, *due, free)
                .values(lease_owner=owner, lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(delivery_id)
        if not claimed:
            return []
        rows = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(claimed))
        return self._many(
            rows.order_by(WebhookDeliveryRow.id).execution_options(populate_existing=True)
        )

    def add_attempt(self, row: WebhookAttemptRow) -> None:
        self._add(row)

    def attempts(self, delivery_id: int) -> list[WebhookAttemptRow]:
        query = select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id == delivery_id)
        return self._many(query.order_by(WebhookAttemptRow.id))


class SqlPortfolioJobs(_Repository):
    def add(self, row: PortfolioJobRow) -> None:
        self._add(row)

    def get(self, job_id: str, *, lock: bool = False) -> PortfolioJobRow | None:
        return _one(
            self.session, select(PortfolioJobRow).where(PortfolioJobRow.job_id == job_id), lock
        )

    def by_run(self, run_id: str) -> PortfolioJobRow | None:
        return _one(self.session, select(PortfolioJobRow).where(PortfolioJobRow.run_id == run_id))

    def with_status(self, *statuses: str) -> list[PortfolioJobRow]:
        query = select(PortfolioJobRow).where(PortfolioJobRow.status.in_(statuses))
        return self._many(query.order_by(PortfolioJobRow.id))

    def claim_queued(self) -> PortfolioJobRow | None:
        query = (
            select(PortfolioJobRow)
            .where(PortfolioJobRow.status == "queued")
            .order_by(PortfolioJobRow.id)
            .limit(1)
        )
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        return self.session.scalars(query).first()

    def ord_zip(self, job_id: str) -> bytes | None:
        query = select(PortfolioJobRow.ord_zip).where(PortfolioJobRow.job_id == job_id)
        return self.session.scalars(query).first()


class SqlInvitations(_Repository):
    """Invitations to an establishment's account, by the hash of their token."""

    def add(self, invitation: Invitation) -> Invitation:
        row = invitation_row(invitation)
        self._add(row)
        return invitation_value(row)

    def get(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        query = select(InvitationRow).where(InvitationRow.token_hash == token_hash)
        row = _one(self.session, query.with_for_update() if lock else query)
        return invitation_value(row) if row is not None else None

    def accept(self, invitation: Invitation) -> None:
        row = _one(
            self.session,
            select(InvitationRow).where(InvitationRow.token_hash == invitation.token_hash),
        )
        assert row is not None
        row.accepted_at = invitation.accepted_at
