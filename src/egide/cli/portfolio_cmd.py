"""`egide portfolio simulate BOOK`: the portfolio risk of a book of policies.

Reads a book file (an OED v4 cyber account file, CSV or Parquet) by columns, straight into the
engine's arrays (`egide.services.portfolio.load_book_file`), and simulates `--years` years with
the engine (`egide.actuarial.engine.simulate`): independent claims from the rating model plus
systemic events, through each policy's terms. Prints the
average annual loss (total, per coverage, per kind, systemic vs independent) with standard
errors, the OEP and AEP curves, VaR and TVaR 99.5 %; `--json` prints one JSON object instead.
Locally the blocks of years run on threads; `--workers N` starts a local Dask cluster of N
processes, `--scheduler tcp://host:8786` uses a running one. Same seed and block size, same
result, however it runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from egide.actuarial.blocks import DEFAULT_BLOCK_YEARS
from egide.cli.book_cmd import input_book_path, refuse_book
from egide.cli.common import (
    EXIT_CONFLICT,
    EXIT_ENVIRONMENT,
    ActorOpt,
    AsOpt,
    ForceOpt,
    acting,
    actor,
    check_seed,
    console,
    err_console,
    fail,
    guarded,
    max_workers,
    no_clobber,
    note,
    output_folder,
    print_json,
    product_option,
    styled,
)
from egide.domain.money import fmt_eur

if TYPE_CHECKING:
    from rich.progress import TaskID

    from egide.actuarial.engine import PortfolioResult

app = typer.Typer(help="Portfolio risk of a book of policies.", no_args_is_help=True)


@app.callback()
def portfolio() -> None:
    """Portfolio risk of a book of policies."""  # a group, even with one command of its own


MAX_YEARS = 10_000_000  # the year-loss tables of 10 M years take about 2 GB
MAX_BLOCK_YEARS = 1_000_000  # one block's arrays are allocated at once


def _check_options(
    years: int, block_years: int, seed: int, workers: int | None, scheduler: str | None
) -> None:
    if years <= 0:
        fail(f"--years {years}: must be a whole number > 0")
    if years > MAX_YEARS:
        fail(f"--years {years}: must be <= {MAX_YEARS:,}")
    if not 0 < block_years <= MAX_BLOCK_YEARS:
        fail(f"--block-years {block_years}: must be a whole number from 1 to {MAX_BLOCK_YEARS:,}")
    check_seed(seed)
    if workers is not None and not 0 < workers <= max_workers():
        fail(
            f"--workers {workers}: must be a whole number from 1 to {max_workers()} "
            f"(4 per core on this machine of {os.cpu_count()} cores)"
        )
    if workers is not None and scheduler is not None:
        fail("--workers and --scheduler: give one or the other, not both")
    if scheduler is not None and "://" not in scheduler:
        fail(f"--scheduler {scheduler}: must be a scheduler address such as tcp://host:8786")


def _eur(value: float) -> str:
    return fmt_eur(Decimal(repr(float(value))))


def _render(result: PortfolioResult) -> None:
    from rich.table import Table

    console.print(
        styled(
            "[bold]{} policies x {} years[/] (seed {}, blocks of {} years)",
            f"{result.policies:,}",
            f"{result.years:,}",
            result.seed,
            f"{result.block_years:,}",
        )
    )
    main = Table(title="Average annual loss (after all terms)", show_header=True)
    main.add_column("")
    main.add_column("AAL", justify="right")
    main.add_column("± std. error", justify="right")
    main.add_row("Total", _eur(result.aal), _eur(result.aal_stderr))
    main.add_row("Systemic events", _eur(result.systemic_aal), _eur(result.systemic_aal_stderr))
    main.add_row(
        "Independent claims",
        _eur(result.independent_aal),
        _eur(result.independent_aal_after_aggregate_stderr),
    )
    main.add_row(
        "Independent, before the annual aggregate",
        _eur(result.independent_aal_before_aggregate),
        _eur(result.independent_aal_stderr),
    )
    main.add_row("Rating expected loss (sum of the book)", _eur(result.expected_loss), "")
    console.print(main)
    by = Table(title="By coverage and by kind of establishment")
    by.add_column("")
    by.add_column("AAL", justify="right")
    by.add_column("± std. error", justify="right")
    stderr_cov = result.aal_by_coverage_stderr
    for code, value in result.aal_by_coverage.items():
        by.add_row(code, _eur(value), _eur(stderr_cov[code]))
    stderr_kind = result.aal_by_kind_stderr
    for kind, value in result.aal_by_kind.items():
        if value > 0:
            by.add_row(f"kind {kind}", _eur(value), _eur(stderr_kind[kind]))
    console.print(by)
    ep = Table(title="Exceedance: loss by return period")
    ep.add_column("Return period (years)", justify="right")
    ep.add_column("OEP (largest occurrence)", justify="right")
    ep.add_column("AEP (annual aggregate)", justify="right")
    oep, aep = result.oep, result.aep
    for rp in aep:
        ep.add_row(rp, _eur(oep[rp]), _eur(aep[rp]))
    console.print(ep)
    console.print(
        styled(
            "VaR 99.5 %: [bold]{}[/]   TVaR 99.5 %: [bold]{}[/]",
            _eur(result.var_995),
            _eur(result.tvar_995),
        )
    )


@app.command("simulate")
@guarded
def simulate_cmd(
    book: Annotated[
        Path | None,
        typer.Argument(help="Book file (OED account, .csv or .parquet); omit with --from-db."),
    ] = None,
    years: Annotated[int, typer.Option("--years", help="Simulated years.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same result.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Folder for the EP curves (PNG and SVG).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Run on a local Dask cluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on a Dask scheduler (tcp://host:port).")
    ] = None,
    block_years: Annotated[
        int, typer.Option("--block-years", help="Years per block (each its own random stream).")
    ] = DEFAULT_BLOCK_YEARS,
    systemic_file: Annotated[
        Path | None,
        typer.Option("--systemic", help="Systemic-events file (default: the product's own)."),
    ] = None,
    no_systemic: Annotated[
        bool, typer.Option("--no-systemic", help="Independent claims only.")
    ] = False,
    product_file: Annotated[Path | None, typer.Option("--product", help="Product file.")] = None,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Simulate the policies in force in the database.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="With --from-db: in force on DATE (default today)."),
    ] = None,
    ord_dir: Annotated[
        Path | None, typer.Option("--ord", help="Folder for the ORD tables (EPT, PALT, YLT…).")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Store the run with its inputs and results.")
    ] = True,
    who: ActorOpt = None,
    force: ForceOpt = False,
    as_email: AsOpt = None,
) -> None:
    """Simulate the book: AAL, OEP/AEP, VaR and TVaR 99.5 %; the run is saved with its inputs."""
    from egide.actuarial.engine import SimulationError
    from egide.actuarial.oed import OedError
    from egide.actuarial.systemic import SystemicModel, load_systemic_model
    from egide.services.policies import parse_as_of
    from egide.services.portfolio import (
        BookFile,
        BookSource,
        DatabaseBook,
        EmptyBook,
        run_portfolio_simulation,
    )

    _check_options(years, block_years, seed, workers, scheduler)
    if no_systemic and systemic_file is not None:
        fail("--systemic and --no-systemic: give one or the other, not both")
    if (book is None) == (not from_db):
        fail("BOOK or --from-db: give a book file, or --from-db, not both")
    # every output is checked before the simulation runs, so no work is lost to a bad path
    if plot is not None:
        no_clobber(
            output_folder(plot, "--plot"), ["ep_curves.png", "ep_curves.svg"], "--plot", force
        )
    if ord_dir is not None:
        output_folder(ord_dir, "--ord")
    if ord_dir is not None and ord_dir.exists() and any(ord_dir.iterdir()) and not force:
        fail(f"--ord {ord_dir}: folder is not empty (--force writes into it)", EXIT_CONFLICT)
    who = actor(who)
    product = product_option(product_file)
    systemic = (  # None: the use case takes the product's own (its systemic_events; 2026.1: v1)
        SystemicModel.none()
        if no_systemic
        else load_systemic_model(systemic_file)
        if systemic_file is not None
        else None
    )
    source: BookSource = (
        BookFile(input_book_path(book, "BOOK"))
        if book is not None
        else DatabaseBook(parse_as_of(as_of))
    )
    uow, principal = acting(as_email)
    try:
        with _progress() as progress:
            run = run_portfolio_simulation(
                uow,
                principal,
                source,
                years,
                seed,
                product=product,
                systemic=systemic,
                block_years=block_years,
                workers=workers,
                scheduler=scheduler,
                # event-level ORD tables (ELT/PLT) need every claim: local runs only
                keep_events=ord_dir is not None and workers is None and scheduler is None,
                save=save,
                actor=who,
                on_progress=progress,
            )
    except OedError as exc:
        refuse_book(exc)
    except EmptyBook as exc:
        fail(f"BOOK {book}: {exc}" if book is not None else f"--from-db: {exc}")
    except SimulationError as exc:
        fail(str(exc))
    except OSError as exc:  # a scheduler that cannot be reached
        if scheduler is None:
            raise
        fail(f"--scheduler {scheduler}: cannot connect ({exc})", EXIT_ENVIRONMENT)
    others = [r for r in run.priced_with if r != product.ref]
    if others:
        note(
            f"policies priced with {', '.join(others)} are simulated with the "
            f"terms of {product.ref} (--product to choose)"
        )
    result = run.result
    written: list[Path] = []
    if plot is not None:
        written = _plot(result, plot)
    if ord_dir is not None:
        written += _ord(result, ord_dir)
    if json_out:
        from egide.services.results import contract

        typer.echo(json.dumps(contract(run), indent=2))
        return
    _render(result)
    for path in written:
        console.print(styled("written: {}", path))
    console.print(styled("Started by {}", run.started_by.description))
    if run.run_id:
        console.print(
            styled("Saved as run [bold]{}[/] (egide portfolio show {})", run.run_id, run.run_id)
        )


LABELS = {
    "read": "reading",
    "validate": "validating",
    "arrays": "building arrays",
    "simulate": "simulating",
}


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A bar per stage of the run (`egide.services.portfolio.RUN_STAGES`), drawn on standard
    error and gone once the run ends; yields the use case's `on_progress`."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f} %"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(LABELS.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield on_progress


def _ord(result: PortfolioResult, folder: Path) -> list[Path]:
    from egide.actuarial.ord import write_result_ord

    return write_result_ord(result, folder)


@app.command("show")
@guarded
def show_cmd(
    run_id: str,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    as_email: AsOpt = None,
) -> None:
    """Show a saved simulation: its inputs (book fingerprint, seed, versions) and results."""
    from egide.clock import iso_paris
    from egide.services.portfolio import get_run
    from egide.services.results import contract

    run = get_run(*acting(as_email), run_id)
    if json_out:
        print_json(contract(run))
        return
    console.print(
        styled(
            "[bold]{}[/] by {} on {}: {} policies x {} years, seed {}\n"
            "book {} (sha256 {}…), product {}, risk model {}…, systemic model {}",
            run.run_id,
            run.actor,
            iso_paris(run.created_at)[:19],
            f"{run.figure('policies'):,}",
            f"{run.figure('years'):,}",
            run.figure("seed"),
            run.book_source,
            run.book_sha256[:12],
            run.product,
            run.risk_model_sha256[:12],
            run.systemic_model,
        )
    )
    if run.started_by is not None:
        console.print(styled("Started by {}", run.started_by.description))
    aal, stderr = run.figure("aal"), run.figure("aal_stderr")
    console.print(
        f"AAL {_eur(aal)} ± {_eur(stderr or 0)}; systemic {_eur(run.figure('systemic_aal'))}; "
        f"VaR 99.5 % {_eur(run.figure('var_995'))}; TVaR 99.5 % {_eur(run.figure('tvar_995'))}"
    )


def _plot(result: PortfolioResult, folder: Path) -> list[Path]:
    try:
        from egide.actuarial.plot import plot_ep_curves
    except ImportError:
        fail("--plot: the EP plot (egide.actuarial.plot) is not available in this version")
    oep = {float(rp): value for rp, value in result.oep.items()}
    aep = {float(rp): value for rp, value in result.aep.items()}
    return list(plot_ep_curves(oep, aep, folder))
