"""Portfolio use cases: the book of policies in force from the database or from an OED file (read
by columns, straight into the engine's arrays), and simulations saved with their inputs (book
fingerprint, seed, years, product and model versions) and results."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egide.actuarial.book import BookColumns, BookEntry, entry_from_application
from egide.actuarial.engine import PortfolioArrays, PortfolioResult
from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.domain.errors import NotFound
from egide.domain.product import Product
from egide.domain.text import require_parameters

if TYPE_CHECKING:  # the database's modules, imported by the use cases that touch it
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
) -> str:
    """Store a finished simulation; returns its run id. The book is identified by its
    `fingerprint` (`LoadedBook.fingerprint`), or by its `entries`, fingerprinted here."""
    from egide.db.tables_portfolio import PortfolioRunRow

    require_parameters(actor=actor)
    if (entries is None) == (fingerprint is None):
        raise ValueError("save_run: give the book's entries or its fingerprint, not both")
    book_sha256 = fingerprint if fingerprint is not None else book_fingerprint(entries or [])
    data = json.loads(result.to_json())
    run_id = f"RUN-{clock_now():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    with uow:
        uow.runs.add(
            run := PortfolioRunRow(
                run_id=run_id,
                actor=actor,
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
            )
        )
        from egide.services import audit

        audit.record(uow, run, "saved", actor)
        uow.commit()
    return run_id


def get_run(uow: UnitOfWork, run_id: str) -> dict[str, Any]:
    require_parameters(run_id=run_id)
    with uow:
        row = uow.runs.get(run_id)
        if row is None:
            raise NotFound(f"portfolio run {run_id} does not exist")
        return {
            "run_id": row.run_id,
            "created_at": iso_paris(row.created_at),
            "actor": row.actor,
            "book_source": row.book_source,
            "book_sha256": row.book_sha256,
            "product": row.product_ref,
            "risk_model_sha256": row.risk_model_sha256,
            "systemic_model": row.systemic_model,
            **row.result,
        }
