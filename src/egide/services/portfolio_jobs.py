"""Portfolio runs as jobs: started by a request, run on Dask, followed by their record.

`start_portfolio_run` records a run ``queued`` (an actuary only, as `run_portfolio_simulation`)
and returns at once. A `JobRunner` (in the server's process, or ``egide worker``) takes the
queued runs one at a time, marks each ``running``, simulates the policies in force on its
`as_of` that the principal may read on Dask (an in-process `distributed.LocalCluster` by default,
the scheduler of ``EGIDE_DASK_SCHEDULER`` otherwise), writes its progress into the record through
`on_progress`, and in one transaction saves the run (`PortfolioRunRow`, the same result fields as
``egide portfolio simulate --json``, audited), marks the job ``done`` with its ORD tables, and so
emits ``portfolio_run.finished``; a failure marks it ``failed`` with the reason and emits the same
event with that status. `get_run` gives ``{id, status, progress, result}``.

Runs do not survive their process: when a runner starts, the runs left ``running`` by a previous
one are marked ``failed`` ("interrupted by a restart"), never left running; the runs still
``queued`` are simply run by it. So one runner per database (the server's, or one
``egide worker`` with the servers started with ``--no-worker``): a second runner starting would
fail the first one's running run.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import time
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egide.clock import PARIS, iso_paris
from egide.clock import now as clock_now
from egide.domain.access import Action, Kind, OrgKind, Principal, Resource, Role, Scope
from egide.domain.errors import FieldError, InvalidInput, NotFound
from egide.domain.policy import midnight
from egide.domain.webhooks import EventType

if TYPE_CHECKING:
    from egide.db.tables_portfolio import PortfolioJobRow
    from egide.domain.product import Product
    from egide.services.ports import UnitOfWork

log = logging.getLogger("egide.portfolio_jobs")

MAX_YEARS = 1_000_000  # a job's ORD tables are kept in the database: 1 M years is ~50 MB
MAX_SEED = 2**31 - 1  # portfolio_runs.seed is a 32-bit integer on PostgreSQL
INTERRUPTED = "interrupted by a restart"
BOOK = Resource(Kind.BOOK)


def _require(principal: Principal, action: Action, what: str) -> None:
    from egide.services.accounts import require

    require(principal, action, BOOK, what)


def _int_field(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput([FieldError(name, "integer", "must be a whole number")])
    if not low <= value <= high:
        raise InvalidInput([FieldError(name, "range", f"must be from {low} to {high:,}")])
    return value


def _as_of(value: object) -> datetime:
    from egide.services.policies import parse_as_of

    if value is None:
        return clock_now()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput([FieldError("as_of", "aware", "a date-time needs a UTC offset")])
        return value
    if isinstance(value, date):
        return midnight(value)
    if isinstance(value, str):
        moment = parse_as_of(value)
        assert moment is not None
        return moment
    raise InvalidInput([FieldError("as_of", "date", "a date (YYYY-MM-DD) or a date-time")])


def principal_data(p: Principal) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "id": p.id,
        "organisation_id": p.organisation_id,
        "organisation_kind": p.organisation_kind.value,
        "roles": sorted(r.value for r in p.roles),
        "scopes": sorted(s.value for s in p.scopes) if p.scopes is not None else None,
        "label": p.label,
        "acting_as": p.acting_as,
    }


def principal_of(data: dict[str, Any]) -> Principal:
    scopes = data.get("scopes")
    return Principal(
        kind=data["kind"],
        id=data["id"],
        organisation_id=data["organisation_id"],
        organisation_kind=OrgKind(data["organisation_kind"]),
        roles=frozenset(Role(r) for r in data["roles"]),
        scopes=frozenset(Scope(s) for s in scopes) if scopes is not None else None,
        label=data.get("label", ""),
        acting_as=data.get("acting_as"),
    )


def start_portfolio_run(
    uow: UnitOfWork,
    principal: Principal,
    years: object,
    seed: object,
    as_of: object = None,
) -> dict[str, Any]:
    """Record a portfolio run of the policies in force on `as_of` (default: now), ``queued``;
    returns ``{id, status}``. A runner executes it (`JobRunner`)."""
    from egide.db.tables_portfolio import PortfolioJobRow

    _require(principal, Action.PORTFOLIO_RUN, "the book")
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, check in (
        ("years", lambda: _int_field("years", years, 1, MAX_YEARS)),
        ("seed", lambda: _int_field("seed", seed, 0, MAX_SEED)),
        ("as_of", lambda: _as_of(as_of)),
    ):
        try:
            checked[name] = check()
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    moment = clock_now()
    job_id = f"JOB-{moment:%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"
    with uow:
        uow.jobs.add(
            PortfolioJobRow(
                job_id=job_id,
                status="queued",
                progress=0.0,
                error=None,
                years=checked["years"],
                seed=checked["seed"],
                as_of=checked["as_of"],
                principal=principal_data(principal),
                organisation_id=principal.organisation_id,
                started_at=None,
                finished_at=None,
                run_id=None,
                ord_zip=None,
                created_at=moment,
            )
        )
        uow.commit()
    return {"id": job_id, "status": "queued"}


def _job(uow: UnitOfWork, job_id: str) -> PortfolioJobRow:
    row = uow.jobs.get(job_id)
    if row is None:
        raise NotFound(f"portfolio run {job_id} does not exist")
    return row


def get_run(uow: UnitOfWork, principal: Principal, job_id: str) -> dict[str, Any]:
    """``{id, status, progress, result, error, ...}``: `result` once done (the fields of
    ``egide portfolio simulate --json``), `error` once failed. Reading runs needs
    `Action.BOOK_READ` (an underwriter or an actuary)."""
    from egide.services.portfolio import StartedBy

    _require(principal, Action.BOOK_READ, f"portfolio run {job_id}")
    with uow:
        job = _job(uow, job_id)
        result = None
        if job.status == "done" and job.run_id is not None:
            run = uow.runs.get(job.run_id)
            if run is not None:
                result = {
                    **run.result,
                    "run_id": run.run_id,
                    "started_by": StartedBy.of_row(run).public(),
                }
        return {
            "id": job.job_id,
            "status": job.status,
            "progress": round(job.progress, 4),
            "result": result,
            "error": job.error,
            "years": job.years,
            "seed": job.seed,
            "as_of": iso_paris(job.as_of),
            "created_at": iso_paris(job.created_at),
            "finished_at": iso_paris(job.finished_at) if job.finished_at else None,
        }


def run_ep_png(uow: UnitOfWork, principal: Principal, job_id: str) -> bytes:
    """The EP curves of a finished run (PNG), drawn from its OEP and AEP as the CLI's --plot."""
    from egide.actuarial.plot import plot_ep_curves
    from egide.domain.errors import Conflict

    data = get_run(uow, principal, job_id)
    if data["result"] is None:
        raise Conflict(f"portfolio run {job_id} is {data['status']}: no result")
    oep = {float(rp): v for rp, v in data["result"]["oep"].items()}
    aep = {float(rp): v for rp, v in data["result"]["aep"].items()}
    with tempfile.TemporaryDirectory() as folder:
        plot_ep_curves(oep, aep, folder)
        return (Path(folder) / "ep_curves.png").read_bytes()


def run_ord_zip(uow: UnitOfWork, principal: Principal, job_id: str) -> bytes:
    """The ORD tables of a finished run (a zip), as the CLI's --ord writes them."""
    from egide.domain.errors import Conflict

    _require(principal, Action.BOOK_READ, f"portfolio run {job_id}")
    with uow:
        job = _job(uow, job_id)
        content = uow.jobs.ord_zip(job_id) if job.status == "done" else None
        if content is None:
            raise Conflict(f"portfolio run {job_id} is {job.status}: no ORD tables")
        return content


def _finished_event(uow: UnitOfWork, job: PortfolioJobRow) -> None:
    from egide.services.events import emit

    emit(
        uow,
        EventType.PORTFOLIO_RUN_FINISHED,
        "portfolio_run",
        job.job_id,
        establishment_id=None,
        broker_id=None,
        data={"id": job.job_id, "run_id": None, "status": job.status, "error": job.error},
    )


def fail_job(uow: UnitOfWork, job_id: str, error: str) -> None:
    """Mark the job failed with `error` (and emit portfolio_run.finished), in one transaction."""
    with uow:
        job = uow.jobs.get(job_id, lock=True)
        if job is None or job.status in ("done", "failed"):
            return
        job.status, job.error, job.finished_at = "failed", error[:500], clock_now()
        _finished_event(uow, job)
        uow.commit()


def fail_interrupted_runs(uow: UnitOfWork) -> list[str]:
    """Mark failed every run left running by a previous process (a runner calls it when it
    starts: no run is running then); returns their ids. The queued runs stay queued: nothing of
    them was lost, and this runner takes them (a run queued while no runner ran, or by a server
    started with --no-worker while the worker restarted, would otherwise fail for nothing)."""
    with uow:
        ids = [j.job_id for j in uow.jobs.with_status("running")]
    for job_id in ids:
        fail_job(uow, job_id, INTERRUPTED)
    return ids


def _ord_zip(result: Any) -> bytes:
    from egide.actuarial.ord import write_result_ord

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_result_ord(result, folder)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, Path(path).relative_to(folder).as_posix())
    return buffer.getvalue()


def execute_job(uow: UnitOfWork, job_id: str, product: Product, scheduler: str | None) -> str:
    """Run one job marked running: simulate, then save and finish it in one transaction (or
    fail it). Returns its final status."""
    from egide.actuarial.engine import SimulationError
    from egide.services.portfolio import (
        DatabaseBook,
        EmptyBook,
        add_run,
        new_run_id,
        run_portfolio_simulation,
    )

    with uow:
        job = _job(uow, job_id)
        principal = principal_of(job.principal)
        # stored in UTC: back to Paris, whose day the book is read on
        years, seed, as_of = job.years, job.seed, job.as_of.astimezone(PARIS)
    last = [0.0]

    def on_progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.5:
            return  # a write per half second at most
        last[0] = now
        with uow:
            row = uow.jobs.get(job_id, lock=True)
            if row is not None and row.status == "running":
                row.progress = done / total if total else 0.0
                uow.commit()

    try:
        run = run_portfolio_simulation(
            uow,
            principal,
            DatabaseBook(as_of),
            years,
            seed,
            product=product,
            scheduler=scheduler,
            save=False,
            on_progress=on_progress,
        )
        ord_zip = _ord_zip(run.result)
    except EmptyBook as exc:
        fail_job(uow, job_id, str(exc))
        return "failed"
    except SimulationError as exc:
        fail_job(uow, job_id, str(exc))
        return "failed"
    except Exception:  # the reason is logged, the job says only that it failed
        log.exception("portfolio run %s failed", job_id)
        fail_job(uow, job_id, "the simulation failed (see the server's log)")
        return "failed"
    run_id = new_run_id()
    with uow:
        job = _job(uow, job_id)
        if job.status != "running":  # failed meanwhile (a restart sweep): keep it so
            return job.status
        job.status, job.progress, job.run_id = "done", 1.0, run_id
        job.finished_at, job.ord_zip = clock_now(), ord_zip
        add_run(  # its audit entry emits portfolio_run.finished (`egide.services.events`)
            uow,
            run.result,
            fingerprint=run.book_sha256,
            book_source=run.book_source,
            product=product,
            actor=principal.history_label(),
            principal=principal,
            run_id=run_id,
        )
        uow.commit()
    return "done"


class JobRunner:
    """Takes queued runs one at a time and executes them on Dask (see the module doc). Its unit
    of work is its own (one thread)."""

    def __init__(
        self,
        uow: UnitOfWork,
        product: Product,
        *,
        scheduler: str | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.uow = uow
        self.product = product
        self.scheduler = scheduler
        self.poll_seconds = poll_seconds
        self._cluster: Any = None
        self._lock = threading.Lock()

    def address(self) -> str:
        """The scheduler's address: EGIDE_DASK_SCHEDULER's, or an in-process local cluster
        started on first use (threads, not processes: the engine's blocks release the GIL)."""
        if self.scheduler is not None:
            return self.scheduler
        with self._lock:
            if self._cluster is None:
                import distributed

                dist: Any = distributed
                self._cluster = dist.LocalCluster(
                    n_workers=1,
                    threads_per_worker=2,
                    processes=False,
                    dashboard_address=None,
                    # no dashboard; the scheduler's own HTTP server (health, metrics) on a free
                    # loopback port, not on 8787 of every interface of the API's host
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )
            return str(self._cluster.scheduler_address)

    def start(self) -> list[str]:
        """What a runner does first: fail the runs a previous process left."""
        return fail_interrupted_runs(self.uow)

    def run_next(self) -> str | None:
        """Claim the oldest queued run and execute it; None when none is queued."""
        with self.uow:
            job = self.uow.jobs.claim_queued()
            if job is None:
                return None
            job.status, job.started_at = "running", clock_now()
            job_id = job.job_id
            self.uow.commit()
        try:
            address = self.address()
        except Exception:
            log.exception("cannot start the Dask cluster")
            fail_job(self.uow, job_id, "the Dask cluster could not be started")
            return job_id
        execute_job(self.uow, job_id, self.product, address)
        return job_id

    def drain(self) -> int:
        done = 0
        while self.run_next() is not None:
            done += 1
        return done

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ran = self.run_next()
            except Exception:
                log.exception("portfolio job runner tick failed")
                ran = None
            if ran is None:
                stop.wait(self.poll_seconds)

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
