"""Blocks of years on Dask workers give, bit for bit, the single-process result for the seed."""

from __future__ import annotations

import numpy as np

from egide.actuarial.engine import portfolio_arrays, simulate
from egide.actuarial.systemic import load_systemic_model
from egide.domain.product import Product
from tests.test_portfolio_engine import small_book


def test_a_local_cluster_of_two_worker_processes_gives_the_single_process_result(
    product: Product,
) -> None:
    arrays = portfolio_arrays(small_book(40, 12, product), product)
    model = load_systemic_model()
    local = simulate(arrays, 3_000, 17, block_years=500, systemic=model, threads=1)
    progress: list[tuple[int, int]] = []
    remote = simulate(
        arrays,
        3_000,
        17,
        block_years=500,
        systemic=model,
        workers=2,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    np.testing.assert_array_equal(remote.ylt.total, local.ylt.total)
    np.testing.assert_array_equal(remote.ylt.by_coverage, local.ylt.by_coverage)
    np.testing.assert_array_equal(remote.ylt.by_kind, local.ylt.by_kind)
    np.testing.assert_array_equal(remote.ylt.max_occurrence, local.ylt.max_occurrence)
    np.testing.assert_array_equal(remote.systemic_event_loss, local.systemic_event_loss)
    assert remote.to_dict() == local.to_dict()
    assert progress[-1] == (3_000, 3_000)


def test_an_existing_scheduler_is_used_by_its_address(product: Product) -> None:
    from distributed import LocalCluster

    arrays = portfolio_arrays(small_book(15, 13, product), product)
    local = simulate(arrays, 1_200, 5, block_years=400, threads=2)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = simulate(arrays, 1_200, 5, block_years=400, scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(remote.ylt.total, local.ylt.total)
