"""Portfolio runs as jobs: queued by an actuary, run (threads here, the local Dask cluster in the
slow test), followed through their record, saved with the CLI's result fields, their ORD tables
and EP curves kept; a restart fails what a previous process left; each end emits
portfolio_run.finished."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from egide.db.tables_portfolio import PortfolioJobRow, PortfolioRunRow
from egide.db.tables_webhooks import WebhookEventRow
from egide.domain.errors import InvalidInput, NotAllowed, NotFound
from egide.domain.product import Product
from egide.services import policies, portfolio_jobs, quotes
from egide.services.portfolio import DatabaseBook, run_portfolio_simulation
from egide.services.portfolio_jobs import (
    INTERRUPTED,
    JobRunner,
    execute_job,
    fail_interrupted_runs,
    get_run,
    start_portfolio_run,
)
from tests.conftest import make_uow
from tests.fakes import FakeUnitOfWork
from tests.test_tenancy import QUOTED_AT, START, World, build_world, practice

IN_FORCE = "2027-06-30"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    from argon2 import PasswordHasher

    from egide.services import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    return build_world()


def with_policy(world: World, product: Product) -> str:
    q = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    return str(
        policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START).policy_number
    )


def job_events(uow: FakeUnitOfWork) -> list[dict[str, Any]]:
    return [e.payload for e in uow.stored(WebhookEventRow) if e.type == "portfolio_run.finished"]


def test_only_an_actuary_starts_a_run_and_it_is_queued(world: World) -> None:
    for who in (world.broker_a, world.manager, world.underwriter, world.handler, world.admin):
        with pytest.raises(NotAllowed, match=r"portfolio\.run"):
            start_portfolio_run(world.uow, who, 100, 1, IN_FORCE)
    started = start_portfolio_run(world.uow, world.actuary, 100, 1, IN_FORCE)
    assert started == {"id": started["id"], "status": "queued"}
    shown = get_run(world.uow, world.actuary, started["id"])
    assert (shown["status"], shown["progress"], shown["result"]) == ("queued", 0.0, None)
    assert shown["as_of"] == "2027-06-30T00:00:00+02:00"
    # an underwriter reads the book's runs; a broker does not
    assert get_run(world.uow, world.underwriter, started["id"])["id"] == started["id"]
    with pytest.raises(NotAllowed):
        get_run(world.uow, world.broker_a, started["id"])
    with pytest.raises(NotFound, match="portfolio run JOB-nope does not exist"):
        get_run(world.uow, world.actuary, "JOB-nope")


@pytest.mark.parametrize(
    ("years", "seed", "as_of", "fields"),
    [
        (0, 1, None, ["years"]),
        (10_000_001, 1, None, ["years"]),
        ("100", 1, None, ["years"]),
        (True, 1, None, ["years"]),
        (100, -1, None, ["seed"]),
        (100, 2**31, None, ["seed"]),
        (100, 1, "yesterday", ["as_of"]),
        (0, -5, "2027-13-01", ["years", "seed", "as_of"]),
    ],
)
def test_bad_parameters_name_the_field_and_queue_nothing(
    world: World, years: object, seed: object, as_of: object, fields: list[str]
) -> None:
    with pytest.raises(InvalidInput) as exc:
        start_portfolio_run(world.uow, world.actuary, years, seed, as_of)
    assert [e.field for e in exc.value.errors] == fields
    assert world.uow.stored(PortfolioJobRow) == []


def test_a_run_executes_saves_the_clis_result_and_emits_its_event(
    world: World, product: Product
) -> None:
    with_policy(world, product)
    job = start_portfolio_run(world.uow, world.actuary, 200, 7, IN_FORCE)["id"]
    with world.uow:
        world.uow.jobs.get(job).status = "running"  # type: ignore[union-attr]
        world.uow.commit()
    assert execute_job(world.uow, job, product, scheduler=None) == "done"
    shown = get_run(world.uow, world.actuary, job)
    assert (shown["status"], shown["progress"]) == ("done", 1.0)
    cli = run_portfolio_simulation(
        world.uow,
        world.actuary,
        DatabaseBook(portfolio_jobs._as_of(IN_FORCE)),
        200,
        7,
        product=product,
        save=False,
    ).public()
    result = shown["result"]
    assert set(result) == set(cli) | {"run_id"}
    assert result["aal"] == cli["aal"]  # same seed, same book: the same run
    [run] = world.uow.stored(PortfolioRunRow)
    assert result["run_id"] == run.run_id
    assert job_events(world.uow) == [
        {"id": job, "run_id": run.run_id, "status": "done", "policies": 1, "years": 200, "seed": 7}
    ]
    with zipfile.ZipFile(
        io.BytesIO(portfolio_jobs.run_ord_zip(world.uow, world.actuary, job))
    ) as z:
        names = z.namelist()
    assert names and any("ylt" in n.lower() for n in names)
    assert portfolio_jobs.run_ep_png(world.uow, world.actuary, job).startswith(b"\x89PNG")


def test_a_run_of_an_empty_book_fails_with_the_reason(world: World, product: Product) -> None:
    job = start_portfolio_run(world.uow, world.actuary, 100, 1, IN_FORCE)["id"]
    assert execute_job(world.uow, job, product, scheduler=None) == "failed"
    shown = get_run(world.uow, world.actuary, job)
    assert shown["status"] == "failed" and "no policy in force on 2027-06-30" in shown["error"]
    assert [e["status"] for e in job_events(world.uow)] == ["failed"]


def test_a_restart_fails_the_runs_left_running_and_keeps_the_rest(
    world: World, product: Product
) -> None:
    with_policy(world, product)
    queued = start_portfolio_run(world.uow, world.actuary, 100, 1, IN_FORCE)["id"]
    running = start_portfolio_run(world.uow, world.actuary, 100, 2, IN_FORCE)["id"]
    done = start_portfolio_run(world.uow, world.actuary, 100, 3, IN_FORCE)["id"]
    with world.uow:
        for job_id in (running, done):
            world.uow.jobs.get(job_id).status = "running"  # type: ignore[union-attr]
        world.uow.commit()
    execute_job(world.uow, done, product, scheduler=None)
    assert fail_interrupted_runs(world.uow) == [running]
    shown = get_run(world.uow, world.actuary, running)
    assert (shown["status"], shown["error"]) == ("failed", INTERRUPTED)
    assert get_run(world.uow, world.actuary, done)["status"] == "done"
    # a queued run lost nothing: it stays queued for the new runner
    assert get_run(world.uow, world.actuary, queued)["status"] == "queued"
    assert sorted(e["status"] for e in job_events(world.uow)) == ["done", "failed"]
    assert fail_interrupted_runs(world.uow) == []  # nothing left running


def test_a_result_that_comes_after_a_restart_sweep_does_not_revive_the_run(
    world: World, product: Product
) -> None:
    with_policy(world, product)
    job = start_portfolio_run(world.uow, world.actuary, 100, 1, IN_FORCE)["id"]
    with world.uow:
        world.uow.jobs.get(job).status = "running"  # type: ignore[union-attr]
        world.uow.commit()
    fail_interrupted_runs(world.uow)  # another process started meanwhile
    assert execute_job(world.uow, job, product, scheduler=None) == "failed"
    assert world.uow.stored(PortfolioRunRow) == []


def test_a_small_run_completes_on_the_local_dask_cluster(
    sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes import OPERATOR

    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    uow = make_uow(sqlite_url)
    q = quotes.save_quote(uow, OPERATOR, practice(), product)
    policies.bind_quote(uow, OPERATOR, q.quote_number, start=START)
    job = start_portfolio_run(uow, OPERATOR, 300, 11, IN_FORCE)["id"]
    runner = JobRunner(make_uow(sqlite_url), product)
    try:
        assert runner.start() == []  # a queued run is not failed: the runner takes it
        assert runner.run_next() == job
        assert runner.address().startswith("inproc://")  # in-process, no second program
    finally:
        runner.close()
    shown = get_run(uow, OPERATOR, job)
    assert (shown["status"], shown["progress"]) == ("done", 1.0)
    assert shown["result"]["years"] == 300 and shown["result"]["policies"] == 1
    assert runner.run_next() is None


def test_the_worker_command_runs_the_queued_runs_with_once(
    sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.fakes import OPERATOR

    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    uow = make_uow(sqlite_url)
    q = quotes.save_quote(uow, OPERATOR, practice(), product)
    policies.bind_quote(uow, OPERATOR, q.quote_number, start=START)
    job = start_portfolio_run(uow, OPERATOR, 200, 4, IN_FORCE)["id"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "egide"), "worker", "--once"],
        env={**os.environ, "EGIDE_DATABASE_URL": sqlite_url},
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert get_run(uow, OPERATOR, job)["status"] == "done"
