"""Portfolio use cases: the book of policies in force from the database or from an OED file (read
by columns, straight into the engine's arrays), and simulations saved with their inputs (book
fingerprint, seed, years, product and model versions), their results and who started them.

`run_portfolio_simulation` is the use case of ``egide portfolio simulate``: it checks that the
acting principal may run the book (`Action.PORTFOLIO_RUN`: an actuary), reads the book (a file or
the policies in force in the database), runs the engine (locally on threads, or on Dask) and saves
the run; the edges only parse options, draw `on_progress` and print the typed `PortfolioRun`.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from egide.actuarial.blocks import DEFAULT_BLOCK_YEARS
from egide.actuarial.book import BookColumns, BookEntry, entry_from_application
from egide.actuarial.engine import PortfolioArrays, PortfolioResult
from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.domain.access import Action, Kind, Principal, Resource, history_actor
from egide.domain.errors import DomainError, NotFound
from egide.domain.product import Product
from egide.domain.text import require_parameters

if TYPE_CHECKING:  # the database's modules, imported by the use cases that touch it
    from egide.actuarial.systemic import AnySystemicModel
    from egide.db.tables_portfolio import PortfolioRunRow
    from egide.services.ports import UnitOfWork


def book_in_force(uow: UnitOfWork, moment: datetime) -> tuple[list[BookEntry], list[str]]:
    """The bound policies in force on `moment`, as book entries (answers and terms in force), and
    the product versions they were priced with."""
    from egide.services.policies import cover_in_force

    entries: list[BookEntry] = []
    refs: set[str] = set()
    with uow:
        numbers = [p.number for p in uow.policies.all()]
        for number in numbers:
            cover = cover_in_force(uow, number, moment)
            if cover.status != "in_force":
                continue
            entries.append(entry_from_application(number, cover.application))
            refs.add(cover.product_ref)
    return entries, sorted(refs)


def book_fingerprint(entries: Sequence[BookEntry]) -> str:
    """sha256 of the book's canonical columns (`BookColumns.fingerprint`): the same book always
    gives the same fingerprint, from the database or from an OED file."""
    return BookColumns.from_entries(entries).fingerprint()


StageProgressFn = Callable[[str, int, int], None]
# The stages of loading a book file, in order, for `load_book_file`'s on_progress.
LOAD_STAGES: tuple[str, ...] = ("read", "validate", "arrays")


@dataclass(frozen=True)
class LoadedBook:
    """A book file read by columns: the engine's arrays and what identifies the book."""

    columns: BookColumns
    arrays: PortfolioArrays
    source: str

    @property
    def policies(self) -> int:
        return self.columns.n_policies

    @cached_property
    def fingerprint(self) -> str:
        return self.columns.fingerprint()


def load_book_file(
    path: str | Path, product: Product, on_progress: StageProgressFn | None = None
) -> LoadedBook:
    """Read and validate an OED book file by columns (`egide.actuarial.oed_columns`) and build
    the engine's arrays, with no application per row. Raises `OedError` naming every refused row,
    as `egide.actuarial.oed.read_book` does. `on_progress(stage, done, total)` for each stage of
    `LOAD_STAGES`."""
    from egide.actuarial.oed_columns import portfolio_arrays_of, read_book_columns

    columns = read_book_columns(path, product, on_progress)
    arrays_progress = None
    if on_progress is not None:
        report = on_progress

        def arrays_progress(done: int, total: int) -> None:
            report("arrays", done, total)

    arrays = portfolio_arrays_of(columns, product, arrays_progress)
    return LoadedBook(columns=columns, arrays=arrays, source=str(path))


def save_run(
    uow: UnitOfWork,
    result: PortfolioResult,
    *,
    entries: Sequence[BookEntry] | None = None,
    fingerprint: str | None = None,
    book_source: str,
    product: Product,
    actor: str,
    principal: Principal | None = None,
) -> str:
    """Store a finished simulation; returns its run id. The book is identified by its
    `fingerprint` (`LoadedBook.fingerprint`), or by its `entries`, fingerprinted here. The
    `principal` who started it is recorded (`StartedBy`), and history records it with the
    free-text label `actor` beside it (`history_actor`); without a principal, `actor` alone."""
    with uow:
        run = add_run(
            uow,
            result,
            entries=entries,
            fingerprint=fingerprint,
            book_source=book_source,
            product=product,
            actor=actor,
            principal=principal,
        )
        uow.commit()
    return run.run_id


def add_run(
    uow: UnitOfWork,
    result: PortfolioResult,
    *,
    entries: Sequence[BookEntry] | None = None,
    fingerprint: str | None = None,
    book_source: str,
    product: Product,
    actor: str,
    principal: Principal | None = None,
    run_id: str | None = None,
) -> PortfolioRunRow:
    """`save_run` inside the caller's unit of work (the caller commits): the run row and its
    audit entry (and so its portfolio_run.finished event), under `run_id` if given."""
    from egide.db.tables_portfolio import PortfolioRunRow

    require_parameters(actor=actor)
    recorded = history_actor(principal, actor) if principal is not None else actor
    if (entries is None) == (fingerprint is None):
        raise ValueError("save_run: give the book's entries or its fingerprint, not both")
    book_sha256 = fingerprint if fingerprint is not None else book_fingerprint(entries or [])
    data = json.loads(result.to_json())
    run_id = run_id or new_run_id()
    by = StartedBy.of(principal) if principal is not None else None
    uow.runs.add(
        run := PortfolioRunRow(
            run_id=run_id,
            actor=recorded,
            book_source=book_source[:500],
            book_sha256=book_sha256,
            policies=result.policies,
            years=result.years,
            seed=result.seed,
            block_years=result.block_years,
            product_ref=product.ref,
            risk_model_sha256=product.risk_model.sha256,
            systemic_model=str(result.systemic_model_version),
            result=data,
            created_at=clock_now(),
            started_by=by.description if by else None,
            started_by_user_id=by.user_id if by else None,
            started_by_client_id=by.client_id if by else None,
            started_by_organisation_id=by.organisation_id if by else None,
        )
    )
    from egide.services import audit

    audit.record(uow, run, "saved", recorded)
    return run


def new_run_id() -> str:
    return f"RUN-{clock_now():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


@dataclass(frozen=True)
class SavedRun:
    """A saved simulation as ``egide portfolio show`` gives it: its inputs (book, seed, versions),
    who started it (None for a run saved before that was recorded) and the engine's results as
    they were saved (`PortfolioResult.to_json`'s document: ``policies``, ``years``, ``seed``,
    ``aal``, ``var_995``, the EP curves…), read-only."""

    run_id: str
    created_at: datetime
    actor: str
    book_source: str
    book_sha256: str
    product: str
    risk_model_sha256: str
    systemic_model: str
    results: Mapping[str, Any]
    started_by: StartedBy | None

    def figure(self, key: str) -> Any:
        """One figure of the saved results (``"aal"``, ``"years"``…)."""
        return self.results[key]

    def public(self) -> dict[str, Any]:
        """The JSON of ``egide portfolio show --json``: the inputs, the results' keys, then
        who started it."""
        return {
            "run_id": self.run_id,
            "created_at": iso_paris(self.created_at),
            "actor": self.actor,
            "book_source": self.book_source,
            "book_sha256": self.book_sha256,
            "product": self.product,
            "risk_model_sha256": self.risk_model_sha256,
            "systemic_model": self.systemic_model,
            **copy.deepcopy(dict(self.results)),
            "started_by": self.started_by.public() if self.started_by is not None else None,
        }


def get_run(uow: UnitOfWork, principal: Principal, run_id: str) -> SavedRun:
    """A saved run: its inputs, results and who started it. Reading the book's runs needs
    `Action.BOOK_READ` (an underwriter or an actuary); any other principal is not allowed."""
    from egide.services.accounts import require

    require_parameters(run_id=run_id)
    require(principal, Action.BOOK_READ, Resource(Kind.BOOK), f"portfolio run {run_id}")
    with uow:
        row = uow.runs.get(run_id)
        if row is None:
            raise NotFound(f"portfolio run {run_id} does not exist")
        return SavedRun(
            run_id=row.run_id,
            created_at=row.created_at,
            actor=row.actor,
            book_source=row.book_source,
            book_sha256=row.book_sha256,
            product=row.product_ref,
            risk_model_sha256=row.risk_model_sha256,
            systemic_model=row.systemic_model,
            results=MappingProxyType(copy.deepcopy(dict(row.result))),
            started_by=StartedBy.of_row(row) if row.started_by is not None else None,
        )


# ------------------------------------------------------------------ the run as a use case


@dataclass(frozen=True)
class StartedBy:
    """Who started a run: the principal's description as history records it
    (`Principal.history_label`), the user's id or the API client's, and the organisation."""

    description: str
    user_id: int | None
    client_id: str | None
    organisation_id: int

    @staticmethod
    def of(principal: Principal) -> StartedBy:
        return StartedBy(
            description=principal.history_label(),
            user_id=int(principal.id) if principal.kind == "user" else None,
            client_id=principal.id if principal.kind == "client" else None,
            organisation_id=principal.organisation_id,
        )

    @staticmethod
    def of_row(row: Any) -> StartedBy:
        return StartedBy(
            description=row.started_by,
            user_id=row.started_by_user_id,
            client_id=row.started_by_client_id,
            organisation_id=row.started_by_organisation_id,
        )

    def public(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "organisation_id": self.organisation_id,
        }


@dataclass(frozen=True)
class BookFile:
    """A book file: an OED v4 account file, .csv or .parquet."""

    path: Path


@dataclass(frozen=True)
class DatabaseBook:
    """The bound policies in force in the database on `as_of` (None: now)."""

    as_of: datetime | None = None


BookSource = BookFile | DatabaseBook

# on_progress(stage, done, total): the stages of loading a book file (`LOAD_STAGES`, a file
# only), then "simulate" (years done out of the years asked)
RUN_STAGES: tuple[str, ...] = (*LOAD_STAGES, "simulate")


class EmptyBook(DomainError):
    """The book holds no policy: nothing to simulate (bad input, exit 2)."""


@dataclass(frozen=True)
class PortfolioRun:
    """A finished simulation: the engine's result, the book it ran on, who started it and, when
    it was saved, its run id."""

    result: PortfolioResult
    source: BookSource
    book_source: str  # as saved: the file's path, or "database, policies in force on …"
    book_sha256: str
    product_ref: str
    started_by: StartedBy
    run_id: str | None
    # the product versions the database book's policies were priced with (a file: empty)
    priced_with: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        """The JSON of ``egide portfolio simulate --json``: the result's keys, the run id when
        saved, and who started it."""
        data: dict[str, Any] = json.loads(self.result.to_json())
        if self.run_id:
            data["run_id"] = self.run_id
        data["started_by"] = self.started_by.public()
        return data


def run_portfolio_simulation(
    uow: UnitOfWork,
    principal: Principal,
    source: BookSource,
    years: int,
    seed: int,
    *,
    product: Product,
    systemic: AnySystemicModel | None = None,
    block_years: int = DEFAULT_BLOCK_YEARS,
    workers: int | None = None,
    scheduler: str | None = None,
    keep_events: bool = False,
    save: bool = True,
    actor: str = "",
    on_progress: StageProgressFn | None = None,
) -> PortfolioRun:
    """Simulate `years` years of the book `source` and (with `save`) store the run, recording
    who started it. Refuses with NotAllowed, before reading anything, a principal that may not
    run the book (`Action.PORTFOLIO_RUN`). Raises `EmptyBook` for a book with no policy,
    `egide.actuarial.oed.OedError` naming every invalid row of a book file,
    `egide.actuarial.engine.SimulationError` for bad simulation parameters, and OSError for a
    Dask scheduler that cannot be reached. `systemic`: None is the product's own systemic model
    (`systemic_model_of`: its ``systemic_events``, else the packaged v1 file).

    The database book is read in one short transaction and the run saved in another: no
    transaction stays open while the engine runs."""
    from egide.actuarial.engine import portfolio_arrays, simulate
    from egide.actuarial.systemic import systemic_model_of
    from egide.services.accounts import require

    require(principal, Action.PORTFOLIO_RUN, Resource(Kind.BOOK), "the book")
    label = actor or principal.history_label()
    require_parameters(actor=label)
    entries: list[BookEntry] | None = None
    fingerprint: str | None = None
    priced_with: tuple[str, ...] = ()
    if isinstance(source, BookFile):
        loaded = load_book_file(source.path, product, on_progress)
        if not loaded.policies:
            raise EmptyBook("holds no policy")
        arrays, book_source, fingerprint = loaded.arrays, str(source.path), loaded.fingerprint
    else:
        moment = source.as_of or clock_now()
        entries, refs = book_in_force(uow, moment)
        day = moment.date().isoformat()
        if not entries:
            raise EmptyBook(f"no policy in force on {day}")
        priced_with = tuple(refs)
        arrays = portfolio_arrays(entries, product)
        book_source = f"database, policies in force on {day}"
    simulate_progress = None
    if on_progress is not None:
        report = on_progress

        def simulate_progress(done: int, total: int) -> None:
            report("simulate", done, total)

    result = simulate(
        arrays,
        years,
        seed,
        block_years=block_years,
        workers=workers,
        scheduler=scheduler,
        on_progress=simulate_progress,
        systemic=systemic if systemic is not None else systemic_model_of(product),
        keep_events=keep_events,
    )
    book_sha256 = fingerprint if fingerprint is not None else book_fingerprint(entries or [])
    run_id = None
    if save:
        run_id = save_run(
            uow,
            result,
            fingerprint=book_sha256,
            book_source=book_source,
            product=product,
            actor=label,
            principal=principal,
        )
    return PortfolioRun(
        result=result,
        source=source,
        book_source=book_source,
        book_sha256=book_sha256,
        product_ref=product.ref,
        started_by=StartedBy.of(principal),
        run_id=run_id,
        priced_with=priced_with,
    )
