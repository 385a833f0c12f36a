"""The audit trail of the records the SQL tests do not tamper with, on the in-memory fakes: a
quote's review and a saved portfolio run are recorded, and a change behind the services' back is
reported at the record; every change the services make leaves the trail clean."""

from __future__ import annotations

from datetime import datetime

import pytest

from egide.actuarial.engine import simulate_book
from egide.actuarial.systemic import SystemicModel
from egide.db.tables import QuoteRow
from egide.db.tables_audit import AuditEntryRow
from egide.db.tables_portfolio import PortfolioRunRow
from egide.domain.policy import PARIS
from egide.domain.product import Product
from egide.services import quotes
from egide.services.audit import verify_chain
from egide.services.portfolio import book_in_force, save_run
from tests.fakes import OPERATOR, FakeUnitOfWork
from tests.test_services_fakes import bind, referred_clinic_quote


def actions(uow: FakeUnitOfWork, table: str) -> list[str]:
    return [e.action for e in uow.stored(AuditEntryRow) if e.record_table == table]


def test_a_review_is_recorded_and_a_review_note_rewritten_later_is_caught(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    number = referred_clinic_quote(uow, product, monkeypatch)
    quotes.review_quote(uow, OPERATOR, number, True, "Sauvegardes testées", "underwriter")
    assert actions(uow, "quotes") == ["saved", "approved"]
    assert verify_chain(uow).clean
    (row,) = uow.stored(QuoteRow)
    row.review_note = "Rien vérifié"
    (problem,) = verify_chain(uow).problems
    assert str(problem).startswith(f"quote {number}: differs from what its last audit entry")
    assert "approved by local operator (underwriter)" in problem.problem


def test_a_saved_run_is_recorded_and_a_result_changed_later_is_caught(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    bind(uow, product, monkeypatch)
    entries, _ = book_in_force(uow, datetime(2027, 3, 1, 12, tzinfo=PARIS))
    result = simulate_book(entries, product, 20, 7, threads=1, systemic=SystemicModel.none())
    run_id = save_run(uow, result, entries=entries, book_source="fake", product=product, actor="a")
    assert actions(uow, "portfolio_runs") == ["saved"]
    assert verify_chain(uow).clean
    (run,) = uow.stored(PortfolioRunRow)
    run.seed += 1
    (problem,) = verify_chain(uow).problems
    assert (problem.table, problem.number) == ("portfolio_runs", run_id)
