"""The `egide` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egide.cli import (
    accounts_cmd,
    audit_cmd,
    book_cmd,
    claim_cmd,
    distribution_cmd,
    model_cmd,
    policy_cmd,
    portfolio_cmd,
    quote_cmd,
    worker_cmd,
)
from egide.cli.common import (
    console,
    guarded,
    open_uow,
    print_json,
    product_option,
    styled,
)
from egide.cli.params import install as install_plain_params

install_plain_params()  # text, path and flag options without pydantic (egide.cli.params)

app = typer.Typer(
    help="Égide: cyber insurance for French healthcare establishments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# `egide quote`: the quote commands and the pre-contractual documents (ipid, advice, handover)
quote_cmd.app.registered_commands.extend(distribution_cmd.app.registered_commands)
app.add_typer(quote_cmd.app, name="quote")
app.add_typer(model_cmd.app, name="model")
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(claim_cmd.app, name="claim")
app.add_typer(accounts_cmd.org_app, name="org")
app.add_typer(accounts_cmd.user_app, name="user")
app.add_typer(accounts_cmd.client_app, name="client")
app.add_typer(accounts_cmd.admin_app, name="admin")
# `egide portfolio`: the simulation and the book commands (generate, import-oed, export-oed)
portfolio_cmd.app.registered_commands.extend(book_cmd.app.registered_commands)
app.add_typer(portfolio_cmd.app, name="portfolio")
app.command("worker")(worker_cmd.worker_cmd)

product_app = typer.Typer(help="Product files.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(product_app, name="product")
app.add_typer(db_app, name="db")


@product_app.command("check")
@guarded
def product_check(file: Path) -> None:
    """Validate a product file (and the risk model it names)."""
    from egide.domain.product import load_product

    product = load_product(file)
    console.print(
        styled(
            "[green]ok[/] {}: {} coverages, {} aggregate limits, {} deductibles, risk model v{}",
            product.ref,
            len(product.coverages),
            len(product.aggregate_options),
            len(product.deductible_options),
            product.risk_model.version,
        )
    )


@db_app.command("upgrade")
@guarded
def db_upgrade() -> None:
    """Bring the database (EGIDE_DATABASE_URL) to the latest schema."""
    from egide.db.engine import display_url
    from egide.db.migrate import upgrade
    from egide.settings import get_settings

    url = get_settings().database_url
    upgrade(url)
    console.print(styled("[green]ok[/] database {} at the latest schema", display_url(url)))


@app.callback()
@guarded
def _refuse_unsafe_production() -> None:
    # EGIDE_ENV=production refuses to start without a real audit key, or with EGIDE_NOW (exit 5)
    from egide.settings import check_environment

    check_environment()


@app.command("demo")
@guarded
def demo(
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Seed the demo and print its accounts; no server.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the accounts as JSON.")] = False,
) -> None:
    """Set up the demo (database, organisations, accounts, a little business) and start the web
    application on 127.0.0.1 (refused when EGIDE_ENV=production)."""
    from egide.db.engine import display_url
    from egide.services.demo import seed_demo
    from egide.settings import get_settings

    accounts = seed_demo(open_uow(), product_option(None))
    if json_out:
        print_json([a.public() for a in accounts])
    else:
        from rich.table import Table

        table = Table("Adresse", "Mot de passe", "Rôles", "Organisation", title="Comptes de démo")
        for a in accounts:
            table.add_row(a.email, a.password, ", ".join(a.roles), a.organisation)
        console.print(table)
        console.print(styled("Database: {}", display_url(get_settings().database_url)))
    if seed_only:
        return
    if not json_out:
        console.print(styled("Égide: [bold]http://127.0.0.1:{}/[/] (Ctrl+C to stop)", str(port)))
    _serve("127.0.0.1", port, worker=True)


def _serve(host: str, port: int, *, worker: bool) -> None:
    """The application (API and web) under uvicorn, its logs as JSON lines on stderr."""
    import logging

    import uvicorn

    from egide.api.app import create_app

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("egide.api", "egide.api.access"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    api = create_app(in_process_worker=worker)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from a local peer as the
    # client's address; the API decides whom to believe (EGIDE_TRUSTED_PROXIES).
    uvicorn.run(api, host=host, port=port, proxy_headers=False, access_log=False, log_level="info")


@app.command("serve")
@guarded
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not run the webhook delivery loop and the portfolio job runner in this "
            "process (run `egide worker`).",
        ),
    ] = False,
) -> None:
    """Serve the web application (/) and the REST API (/api/v1, docs at /api/docs) with
    uvicorn; settings from EGIDE_*."""
    _serve(host, port, worker=not no_worker)


if __name__ == "__main__":
    app()
