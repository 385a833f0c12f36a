"""The unit of work: one transaction per use case, rolled back unless `commit()` is called."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from egide.db.engine import make_engine, make_session_factory
from egide.db.repositories import (
    SqlAccessTokens,
    SqlAccounts,
    SqlAuditLog,
    SqlClaims,
    SqlHandovers,
    SqlIdempotencyKeys,
    SqlInvitations,
    SqlPolicies,
    SqlPortfolioJobs,
    SqlPortfolioRuns,
    SqlProductVersions,
    SqlQuotes,
    SqlUserMfa,
    SqlWebhooks,
    SqlWebSessions,
)


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    Implements `egide.services.ports.UnitOfWork`; the repositories share the block's session."""

    session: Session
    products: SqlProductVersions
    quotes: SqlQuotes
    policies: SqlPolicies
    claims: SqlClaims
    idempotency: SqlIdempotencyKeys
    runs: SqlPortfolioRuns
    accounts: SqlAccounts
    audit: SqlAuditLog
    webhooks: SqlWebhooks
    jobs: SqlPortfolioJobs
    tokens: SqlAccessTokens
    web_sessions: SqlWebSessions
    mfa: SqlUserMfa
    invitations: SqlInvitations

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    @classmethod
    def from_url(cls, url: str) -> SqlUnitOfWork:
        return cls(make_session_factory(make_engine(url)))

    @classmethod
    def from_engine(cls, engine: Engine) -> SqlUnitOfWork:
        return cls(make_session_factory(engine))

    def __enter__(self) -> Self:
        self.session = session = self._factory()
        self.products = SqlProductVersions(session)
        self.quotes = SqlQuotes(session)
        self.policies = SqlPolicies(session)
        self.claims = SqlClaims(session)
        self.idempotency = SqlIdempotencyKeys(session)
        self.runs = SqlPortfolioRuns(session)
        self.accounts = SqlAccounts(session)
        self.audit = SqlAuditLog(session)
        self.webhooks = SqlWebhooks(session)
        self.jobs = SqlPortfolioJobs(session)
        self.tokens = SqlAccessTokens(session)
        self.web_sessions = SqlWebSessions(session)
        self.mfa = SqlUserMfa(session)
        self.invitations = SqlInvitations(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    @property
    def handovers(self) -> SqlHandovers:
        return SqlHandovers(self.session)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()
