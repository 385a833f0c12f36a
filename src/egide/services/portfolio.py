"""Portfolio use cases: the book of policies in force from the database, and simulations saved
with their inputs (book fingerprint, seed, years, product and model versions) and results."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from egide.actuarial.book import BookEntry, entry_from_application
from egide.actuarial.engine import PortfolioResult
from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.db.tables_portfolio import PortfolioRunRow
from egide.domain.errors import NotFound
from egide.domain.product import Product
from egide.domain.text import require_parameters
from egide.services import audit
from egide.services.policies import cover_in_force
from egide.services.ports import UnitOfWork


def book_in_force(uow: UnitOfWork, moment: datetime) -> tuple[list[BookEntry], list[str]]:
    """The bound policies in force on `moment`, as book entries (answers and terms in force), and
    the product versions they were priced with."""
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
    """sha256 of the book's canonical content: the same book always gives the same fingerprint."""
    digest = hashlib.sha256()
    for e in entries:
        row = {
            "policy": e.policy_number,
            "application": e.application.to_data(),
            "software_vendor": e.software_vendor,
            "cloud_host": e.cloud_host,
            "email_vendor": e.email_vendor,
        }
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def save_run(
    uow: UnitOfWork,
    result: PortfolioResult,
    *,
    entries: Sequence[BookEntry],
    book_source: str,
    product: Product,
    actor: str,
) -> str:
    """Store a finished simulation; returns its run id."""
    require_parameters(actor=actor)
    data = json.loads(result.to_json())
    run_id = f"RUN-{clock_now():%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    with uow:
        uow.runs.add(
            run := PortfolioRunRow(
                run_id=run_id,
                actor=actor,
                book_source=book_source[:500],
                book_sha256=book_fingerprint(entries),
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
