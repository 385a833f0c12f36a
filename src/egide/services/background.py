"""The background work of a server or of ``egide worker``: the webhook delivery loop and the
portfolio job runner, each on its own daemon thread with its own unit of work.

`start_background` is what the API's lifespan calls (unless ``egide serve --no-worker``) and what
``egide worker`` runs in the foreground; `stop()` ends both loops and closes the job runner's
local Dask cluster. One job runner per database: see `egide.services.portfolio_jobs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from egide.services.portfolio_jobs import JobRunner
from egide.services.webhooks import (
    LEASE,
    POLL_SECONDS,
    SCAN_SECONDS,
    Background,
    TimeScanner,
    Worker,
)

if TYPE_CHECKING:
    from egide.domain.product import Product
    from egide.services.ports import UnitOfWork

log = logging.getLogger("egide.background")


def start_background(
    make_uow: Callable[[], UnitOfWork],
    product: Product,
    *,
    scheduler: str | None = None,
    jobs: bool = True,
    lease: timedelta = LEASE,
    poll_seconds: float = POLL_SECONDS,
    scan_seconds: float | None = SCAN_SECONDS,
) -> Callable[[], None]:
    """Start the delivery loop (and, with `jobs`, the job runner after it has failed the runs a
    previous process left); returns the function that stops them. `make_uow` gives each thread
    its own unit of work. Raises `egide.settings.UnsafeEnvironment` first, in production without
    EGIDE_SECRET_KEY."""
    from egide.settings import server_key

    server_key()  # production refuses to start without it
    worker = Worker(make_uow(), lease=lease, poll_seconds=poll_seconds)
    loops = [Background("egide-webhooks", worker.run).start()]
    if scan_seconds is not None:
        scanner = TimeScanner(make_uow(), scan_seconds)
        loops.append(Background("egide-time-events", scanner.run).start())
    runner: JobRunner | None = None
    if jobs:
        runner = JobRunner(make_uow(), product, scheduler=scheduler, poll_seconds=poll_seconds)
        failed = runner.start()
        if failed:
            log.warning("%d portfolio runs interrupted by a restart marked failed", len(failed))
        loops.append(Background("egide-portfolio-jobs", runner.run).start())

    def stop() -> None:
        for loop in loops:
            loop.stop()
        worker.close()
        if runner is not None:
            runner.close()

    return stop
