"""The unit of work rolls back unless told to commit; SQLite runs in WAL with synchronous=FULL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from egide.db.engine import make_engine
from egide.db.tables import ProductVersionRow
from egide.db.uow import SqlUnitOfWork


def row(ref: str) -> ProductVersionRow:
    return ProductVersionRow(
        ref=ref, sha256="0" * 64, product_text="p", model_text="m", created_at=datetime.now(UTC)
    )


def count(uow: SqlUnitOfWork) -> int:
    with uow:
        return int(
            uow.session.scalar(sa.select(sa.func.count()).select_from(ProductVersionRow)) or 0
        )


def test_leaving_without_commit_rolls_back(any_url: str) -> None:
    uow = SqlUnitOfWork.from_url(any_url)
    with uow:
        uow.session.add(row("a@1"))
        uow.session.flush()
    assert count(uow) == 0


def test_an_exception_rolls_back_even_after_a_flush(any_url: str) -> None:
    uow = SqlUnitOfWork.from_url(any_url)
    with pytest.raises(RuntimeError), uow:
        uow.session.add(row("b@1"))
        uow.session.flush()
        raise RuntimeError("boom")
    assert count(uow) == 0


def test_commit_keeps_the_work(any_url: str) -> None:
    uow = SqlUnitOfWork.from_url(any_url)
    with uow:
        uow.session.add(row("c@1"))
        uow.commit()
    assert count(uow) == 1


def test_sqlite_is_durable_and_concurrent_by_configuration(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_aware_datetimes_come_back_aware(any_url: str) -> None:
    uow = SqlUnitOfWork.from_url(any_url)
    with uow:
        uow.session.add(row("d@1"))
        uow.commit()
    with uow:
        stored = uow.session.get(ProductVersionRow, "d@1")
        assert stored is not None and stored.created_at.tzinfo is not None
    with pytest.raises(sa.exc.StatementError), uow:
        bad = row("e@1")
        bad.created_at = datetime(2026, 1, 1)  # naive: refused
        uow.session.add(bad)
        uow.session.flush()
