"""Saved portfolio simulations: inputs, seed, model versions and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped


class PortfolioRunRow(Base, Timestamped):
    __tablename__ = "portfolio_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(40), unique=True)
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    book_source: Mapped[str] = mapped_column(String(500))  # a file path, or "database as of …"
    book_sha256: Mapped[str] = mapped_column(String(64))  # of the book's canonical content
    policies: Mapped[int] = mapped_column(Integer)
    years: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    block_years: Mapped[int] = mapped_column(Integer)
    product_ref: Mapped[str] = mapped_column(String(80))
    risk_model_sha256: Mapped[str] = mapped_column(String(64))
    systemic_model: Mapped[str] = mapped_column(String(80))
    result: Mapped[dict[str, Any]]
    # who started it (migration 0008): the principal's description as history records it, the
    # user's id or the API client's, and its organisation; NULL for the runs saved before
    started_by: Mapped[str | None] = mapped_column(String(200), default=None)
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    started_by_client_id: Mapped[str | None] = mapped_column(String(40), default=None)
    started_by_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), default=None
    )


class PortfolioJobRow(Base, Timestamped):
    """A portfolio run started as a job (the API, `egide.services.portfolio_jobs`): queued, then
    running on Dask with its progress, then done (the run is saved as a `PortfolioRunRow`,
    `run_id`) or failed (`error`). Not audited: the run it saves is."""

    __tablename__ = "portfolio_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(40), unique=True)  # the API's id, "JOB-…"
    status: Mapped[str] = mapped_column(String(10), index=True)  # queued|running|done|failed
    progress: Mapped[float] = mapped_column(Float)  # 0 to 1
    error: Mapped[str | None] = mapped_column(String(500))
    years: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[datetime]
    # who started it, enough to act as them when it runs (kind, id, organisation, roles, scopes)
    principal: Mapped[dict[str, Any]]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(40))  # the saved run, once done
    # the run's ORD tables (a zip), kept because the saved run holds only its summary
    ord_zip: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
