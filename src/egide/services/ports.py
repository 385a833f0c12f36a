"""What the services need from storage: a unit of work holding one repository per kind of record.

The services depend on these protocols only; `egide.db.repositories` implements them on
SQLAlchemy (SQLite or PostgreSQL) and the tests' in-memory fakes (`tests/fakes.py`) implement them
in a few dozen lines, so that most service tests run without a database (the SQL side has its own
integration tests, concurrency and crash tests included).

Quotes, policies (with their transactions and typed cover snapshots), claims (with their events
and payments) and the accounts are domain values (`egide.domain.quote_record`,
`egide.domain.policy_record`, `egide.domain.claim_record`, `egide.domain.accounts`), the row
mapping explicit in `egide.db.tables*`: a change is a new value given back to the repository's
``update``. The other records (idempotency keys, portfolio runs, audit entries) are still the
table rows of `egide.db` (plain mapped classes: they can be built and read without a session).
Rules every implementation keeps:

- ``add`` makes the record visible to the reads of the same unit of work at once and gives it its
  ``id`` when it has one (a value comes back with it);
- values read from a repository are copies: a change is written by ``update``; rows read are
  live: attribute changes are part of the unit of work; either way the change is written on
  commit (or discarded on rollback);
- leaving the ``with`` block without ``commit()`` discards everything done inside it;
- ``lock=True`` holds the row against concurrent writers until the unit of work ends (a real
  database only; a fake has no concurrency to guard against).
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

if TYPE_CHECKING:  # the rows load SQLAlchemy's ORM: only the services that store need it
    from egide.db.tables import ProductVersionRow
    from egide.db.tables_audit import AuditChainRow, AuditEntryRow
    from egide.db.tables_policy import IdempotencyRow
    from egide.db.tables_portfolio import PortfolioJobRow, PortfolioRunRow
    from egide.db.tables_webhooks import (
        WebhookAttemptRow,
        WebhookDeliveryRow,
        WebhookEndpointRow,
        WebhookEventRow,
    )
    from egide.domain.access import OrgKind
    from egide.domain.accounts import ApiClient, Organisation, OrganisationEvent, User
    from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
    from egide.domain.handover import Handover
    from egide.domain.invitation import Invitation
    from egide.domain.mfa import UserMfa
    from egide.domain.policy_record import PolicyTransaction, StoredPolicy
    from egide.domain.quote_record import StoredQuote
    from egide.domain.tokens import AccessToken
    from egide.domain.web_session import WebSession

_R = TypeVar("_R")


class ProductVersions(Protocol):
    def get(self, ref: str) -> ProductVersionRow | None: ...

    def add_once(self, row: ProductVersionRow) -> ProductVersionRow:
        """Insert the row unless one with its ref exists (a concurrent transaction's included, in
        which case this transaction stays usable); return the stored row."""
        ...


class Quotes(Protocol):
    """Quotes as domain values: a change is a new value given to `update`."""

    def get(self, number: str, *, lock: bool = False) -> StoredQuote | None: ...

    def add(self, quote: StoredQuote) -> StoredQuote:
        """Stores it; returns it with its id."""
        ...

    def update(self, quote: StoredQuote) -> None:
        """Its status, review and broker of record (the rest never changes)."""
        ...

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
        """A tenant's quotes (None: any), newest first, those with an id below `before_id`."""
        ...


class Policies(Protocol):
    """Policies and their transactions as domain values: a policy changes through `update` (its
    version counter and tenant), a transaction never changes once added."""

    def get(self, number: str, *, lock: bool = False) -> StoredPolicy | None: ...

    def get_by_quote(self, quote_number: str) -> StoredPolicy | None: ...

    def add(self, policy: StoredPolicy) -> StoredPolicy:
        """Stores it; returns it with its id."""
        ...

    def update(self, policy: StoredPolicy) -> None:
        """Its version counter and its tenant (the rest never changes)."""
        ...

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredPolicy]:
        """A tenant's policies (None: any), newest first, those with an id below `before_id`."""
        ...

    def transactions_of(self, policies: list[StoredPolicy]) -> dict[int, list[PolicyTransaction]]:
        """The transactions of several policies in one query, by policy id, in sequence order."""
        ...

    def transactions(self, policy: StoredPolicy) -> list[PolicyTransaction]:
        """The policy's transactions in sequence order."""
        ...

    def add_transaction(self, tx: PolicyTransaction) -> PolicyTransaction:
        """Stores it; returns it with its id."""
        ...

    def all(self) -> list[StoredPolicy]:
        """Every policy, in the order they were created."""
        ...

    def all_transactions(self) -> list[PolicyTransaction]:
        """Every transaction, by policy (creation order) then sequence. `UnreadableRows` names
        every row whose stored snapshot cannot be read."""
        ...


class Claims(Protocol):
    """Claims, their events and their payments as domain values (`egide.domain.claim_record`):
    a change to a claim is a new value given to `update`; events and payments are only added."""

    def get(self, number: str, *, lock: bool = False) -> StoredClaim | None: ...

    def find(
        self,
        *,
        establishment_id: int | None = None,
        broker_id: int | None = None,
        status: str | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredClaim]:
        """A tenant's claims (None: any), newest first, those with an id below `before_id`."""
        ...

    def add(self, claim: StoredClaim) -> StoredClaim:
        """Stores it; returns it with its id."""
        ...

    def update(self, claim: StoredClaim) -> None:
        """Its status, declaration, version and broker of record (the rest never changes)."""
        ...

    def add_event(self, event: ClaimEvent) -> ClaimEvent:
        """Stores it; returns it with its id."""
        ...

    def events(self, claim: StoredClaim) -> list[ClaimEvent]:
        """The claim's events in sequence order."""
        ...

    def add_payment(self, payment: ClaimPayment) -> ClaimPayment:
        """Stores it; returns it with its id."""
        ...

    def payments(self, claim: StoredClaim) -> list[ClaimPayment]:
        """The claim's payments in the order they were made."""
        ...

    def paid_in_term(self, policy_number: str, term_start: datetime) -> int:
        """Cents paid on every claim of the policy year that starts at `term_start`."""
        ...


class IdempotencyKeys(Protocol):
    def get(self, key: str) -> IdempotencyRow | None: ...

    def insert(self, row: IdempotencyRow) -> bool:
        """Reserve the row's key. False when a concurrent transaction holds it: this unit of
        work has then been rolled back, and `get` reads the other transaction's row."""
        ...

    def delete(self, row: IdempotencyRow) -> None: ...

    def delete_older_than(self, moment: datetime) -> int:
        """Forget the keys created before `moment`; how many."""
        ...


class PortfolioRuns(Protocol):
    def get(self, run_id: str) -> PortfolioRunRow | None: ...

    def add(self, row: PortfolioRunRow) -> None: ...


class Accounts(Protocol):
    """Organisations, users and API clients, as domain values; lists are keyset-paginated
    (`after_id`: the last id of the previous page)."""

    def insurer(self) -> Organisation: ...

    def organisation(self, org_id: int) -> Organisation | None: ...

    def organisation_by_siret(self, siret: str) -> Organisation | None: ...

    def add_organisation(self, org: Organisation) -> Organisation:
        """Stores it; returns it with its id."""
        ...

    def organisations(
        self,
        after_id: int,
        limit: int,
        *,
        kind: OrgKind | None = None,
        broker_id: int | None = None,
    ) -> list[Organisation]: ...

    def add_establishment_once(self, org: Organisation) -> tuple[Organisation, bool]:
        """Store an establishment unless one holds its SIRET (a concurrent transaction's
        included, in which case this one stays usable): the stored one, and whether it is new."""
        ...

    def update_organisation(self, org: Organisation) -> None:
        """Name and broker of record."""
        ...

    def add_event(self, event: OrganisationEvent) -> OrganisationEvent: ...

    def events(self, organisation_id: int) -> list[OrganisationEvent]:
        """The organisation's history, oldest first."""
        ...

    def user(self, user_id: int) -> User | None: ...

    def user_by_email(self, email: str) -> User | None:
        """Without regard to case."""
        ...

    def add_user(self, user: User) -> User: ...

    def users(
        self, after_id: int, limit: int, *, organisation_id: int | None = None
    ) -> list[User]: ...

    def update_user(self, user: User) -> None:
        """Disabled flag, last login, password hash and roles."""
        ...

    def has_admin(self) -> bool:
        """An enabled user holds the admin role."""
        ...

    def client(self, client_id: str) -> ApiClient | None: ...

    def add_client(self, client: ApiClient) -> ApiClient: ...

    def clients(
        self, after_id: int, limit: int, *, organisation_id: int | None = None
    ) -> list[ApiClient]: ...

    def update_client(self, client: ApiClient) -> None:
        """Revoked flag and last use."""


class AccessTokens(Protocol):
    """Bearer tokens of the HTTP API (`egide.services.tokens`), held by their SHA-256 only."""

    def add(self, token: AccessToken) -> AccessToken:
        """Stores it; returns it with its id."""
        ...

    def by_hash(self, token_hash: str) -> AccessToken | None: ...

    def delete_expired(self, moment: datetime) -> int:
        """Forget the tokens expired at `moment`; how many."""
        ...


class AuditLog(Protocol):
    """The audit trail (`egide.services.audit` writes and verifies it)."""

    def head(self, chain: str) -> AuditChainRow:
        """The chain's head, held against concurrent writers until the unit of work ends;
        created empty (length 0, no MAC yet) when the chain is new, even if a concurrent
        transaction creates it at the same moment."""
        ...

    def add(self, row: AuditEntryRow) -> None: ...

    def entries(self) -> list[AuditEntryRow]:
        """Every entry, by chain then sequence."""
        ...

    def chain_entries(self, chain: str) -> list[AuditEntryRow]:
        """One chain's entries, in sequence."""
        ...

    def chains(self) -> list[AuditChainRow]:
        """Every chain head, by name."""
        ...

    def rows(self, model: type[_R]) -> list[_R]:
        """Every row of an audited table, by id. `UnreadableRows` names every row whose stored
        values cannot be read back (altered outside Égide)."""
        ...


class WebSessions(Protocol):
    """The web application's sessions, by the hash of their token (never the token)."""

    def add(self, session: WebSession) -> WebSession: ...

    def get(self, token_hash: str) -> WebSession | None: ...

    def delete(self, token_hash: str) -> None: ...

    def delete_user(self, user_id: int) -> None:
        """Every session of the user (a disabled account, a password reset)."""
        ...


class UsersMfa(Protocol):
    """Users' second factors (TOTP salts, never secrets), by user."""

    def get(self, user_id: int, *, lock: bool = False) -> UserMfa | None: ...

    def put(self, mfa: UserMfa) -> None:
        """Store it, or replace the user's."""


# --------------------------------------------------------------------------- hand-overs


class Handovers(Protocol):
    """The hand-overs of the pre-contractual documents (`egide.services.distribution`), as
    domain values; append-only: there is no update and no delete."""

    def add(self, handover: Handover) -> Handover:
        """Stores it; returns it with its id."""
        ...

    def of_quote(self, quote_number: str) -> list[Handover]:
        """The quote's hand-overs, oldest first."""


# ------------------------------------------------------------ webhooks and portfolio jobs (issue 12)


class Webhooks(Protocol):
    """Endpoints, the outbox of events, deliveries and their attempts (`egide.services.webhooks`).
    `undispatched` and `claim_due` are the workers' queues: on PostgreSQL they lock what they
    return with ``FOR UPDATE SKIP LOCKED`` so concurrent workers take different rows; elsewhere
    writers are serialised (SQLite: ``BEGIN IMMEDIATE``) and the claim is a conditional update."""

    def add_endpoint(self, row: WebhookEndpointRow) -> None: ...

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> WebhookEndpointRow | None: ...

    def endpoints(self, organisation_id: int | None = None) -> list[WebhookEndpointRow]:
        """The endpoints not deleted (of one organisation; None: all), by id."""
        ...

    def add_event(self, row: WebhookEventRow) -> None: ...

    def add_event_once(self, row: WebhookEventRow) -> bool:
        """Insert unless an event with its dedup key exists (a concurrent transaction's
        included; this one stays usable): whether it was inserted."""
        ...

    def event(self, row_id: int) -> WebhookEventRow | None: ...

    def events(self, after_id: int = 0, limit: int = 100) -> list[WebhookEventRow]:
        """The outbox in order of writing."""
        ...

    def undispatched(self, limit: int) -> list[WebhookEventRow]:
        """Events not yet fanned out, oldest first, held by this transaction."""
        ...

    def add_delivery(self, row: WebhookDeliveryRow) -> None: ...

    def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDeliveryRow | None: ...

    def deliveries_of(
        self, endpoint_id: int, status: str | None = None
    ) -> list[WebhookDeliveryRow]: ...

    def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[WebhookDeliveryRow]:
        """Pending deliveries due by `now` whose lease is free or expired, leased to `owner`
        until `lease_until` (the caller commits to publish the lease)."""
        ...

    def add_attempt(self, row: WebhookAttemptRow) -> None: ...

    def attempts(self, delivery_id: int) -> list[WebhookAttemptRow]: ...


class PortfolioJobs(Protocol):
    """Portfolio runs started as jobs (`egide.services.portfolio_jobs`)."""

    def add(self, row: PortfolioJobRow) -> None: ...

    def get(self, job_id: str, *, lock: bool = False) -> PortfolioJobRow | None: ...

    def by_run(self, run_id: str) -> PortfolioJobRow | None: ...

    def with_status(self, *statuses: str) -> list[PortfolioJobRow]:
        """Oldest first."""
        ...

    def claim_queued(self) -> PortfolioJobRow | None:
        """The oldest queued job, held by this transaction (skipped by concurrent claimers on
        PostgreSQL); the caller marks it running and commits."""
        ...

    def ord_zip(self, job_id: str) -> bytes | None:
        """The job's ORD tables (loaded apart: they may be large)."""
        ...


class Invitations(Protocol):
    """Invitations to an establishment's account, by the hash of their token (never the token)."""

    def add(self, invitation: Invitation) -> Invitation: ...

    def get(self, token_hash: str, *, lock: bool = False) -> Invitation | None: ...

    def accept(self, invitation: Invitation) -> None:
        """Record when it was used (`accepted_at`)."""
        ...


class UnitOfWork(Protocol):
    """``with uow: ...; uow.commit()``: one transaction per use case, rolled back unless committed."""

    @property
    def products(self) -> ProductVersions: ...

    @property
    def quotes(self) -> Quotes: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def runs(self) -> PortfolioRuns: ...

    @property
    def accounts(self) -> Accounts: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def web_sessions(self) -> WebSessions: ...

    @property
    def mfa(self) -> UsersMfa: ...

    @property
    def invitations(self) -> Invitations: ...

    @property
    def handovers(self) -> Handovers: ...

    @property
    def webhooks(self) -> Webhooks: ...

    @property
    def jobs(self) -> PortfolioJobs: ...

    @property
    def tokens(self) -> AccessTokens: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def flush(self) -> None:
        """Write pending changes to the transaction (no-op where there is nothing to write to)."""
        ...
