"""`egide worker`: delivers the webhooks and runs the queued portfolio runs (the background work
``egide serve`` does in-process unless started with ``--no-worker``)."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Annotated, Any

import typer

from egide.cli.common import console, fail, guarded, open_uow, product_option, styled


@guarded
def worker_cmd(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due, run the queued runs, and exit.")
    ] = False,
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs/--no-jobs",
            help="Run the queued portfolio runs (one job runner per database: a runner that "
            "starts fails the runs another left running).",
        ),
    ] = True,
    lease_seconds: Annotated[
        int, typer.Option("--lease-seconds", help="How long a delivery is held by this worker.")
    ] = 60,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls when idle.")] = 1.0,
) -> None:
    """Deliver the webhooks (Standard Webhooks, retries with backoff) and run portfolio jobs,
    until interrupted (Ctrl-C, SIGTERM); `--once` drains and exits."""
    from egide.services.portfolio_jobs import JobRunner
    from egide.services.webhooks import Worker, scan_time_events
    from egide.settings import get_settings, server_key

    if not 1 <= lease_seconds <= 3600:
        fail(f"--lease-seconds {lease_seconds}: must be from 1 to 3600")
    if not 0.05 <= poll <= 60:
        fail(f"--poll {poll}: must be from 0.05 to 60 seconds")
    server_key()  # production refuses to start without EGIDE_SECRET_KEY (exit 5)
    settings = get_settings()
    product = product_option(None)
    lease = timedelta(seconds=lease_seconds)
    if once:
        worker = Worker(open_uow(), lease=lease, poll_seconds=poll)
        try:
            runs = 0
            if jobs:
                runner = JobRunner(open_uow(), product, scheduler=settings.dask_scheduler)
                runner.start()
                try:
                    runs = runner.drain()
                finally:
                    runner.close()
            scan_time_events(open_uow())
            attempts = worker.drain()
        finally:
            worker.close()
        console.print(styled("{} delivery attempts, {} portfolio runs", attempts, runs))
        return
    from egide.services.background import start_background

    stopped = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop = start_background(
        open_uow,
        product,
        scheduler=settings.dask_scheduler,
        jobs=jobs,
        lease=lease,
        poll_seconds=poll,
    )
    console.print(styled("worker started (Ctrl-C to stop)"))
    try:
        stopped.wait()
    finally:
        stop()
