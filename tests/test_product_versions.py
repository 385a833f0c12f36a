"""Recording a product version is safe when many transactions record it at once."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from egide.db.tables import ProductVersionRow
from egide.domain.product import Product
from egide.services.products import record_product_version
from tests.conftest import make_uow

THREADS = 12


def test_concurrent_first_recordings_of_one_version_all_succeed_with_one_row(
    any_url: str, product: Product
) -> None:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    # PostgreSQL: every transaction is open (and has seen no row) before any inserts, the worst
    # race. SQLite serialises writers at BEGIN IMMEDIATE, so there they only start together.
    open_first = any_url.startswith("postgresql")

    def record() -> None:
        uow = make_uow(any_url)
        try:
            if not open_first:
                barrier.wait(timeout=30)
            with uow:
                if open_first:
                    uow.session.execute(sa.text("select 1"))
                    barrier.wait(timeout=30)
                record_product_version(uow, product)
                uow.commit()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    uow = make_uow(any_url)
    with uow:
        rows = uow.session.scalars(sa.select(ProductVersionRow)).all()
        assert [(r.ref, r.sha256) for r in rows] == [(product.ref, product.sha256)]
