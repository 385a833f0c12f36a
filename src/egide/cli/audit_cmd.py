"""`egide audit verify`: recompute the hash chain of every policy's history.

Exit 0 when clean; exit 1 when a link is broken (the first broken link is named), distinct from
2 (bad input) and 3 (conflict).
"""

from __future__ import annotations

from typing import Annotated

import typer

from egide.cli.common import console, err_console, guarded, open_uow, print_json, styled

app = typer.Typer(help="Tamper evidence of the history.", no_args_is_help=True)

EXIT_BROKEN = 1


@app.command("verify")
@guarded
def verify_cmd(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recompute every transaction's hash; name the first broken link (exit 1) or say clean."""
    from egide.services.audit import verify_chain

    report = verify_chain(open_uow())
    if json_out:
        print_json(report.to_data())
    elif report.broken is None:
        console.print(
            styled(
                "[green]ok[/] audit chain clean: {} policies, {} transactions",
                report.policies,
                report.transactions,
            )
        )
    else:
        err_console.print(styled("[bold red]broken:[/] {}", report.broken), soft_wrap=True)
    if report.broken is not None:
        raise typer.Exit(EXIT_BROKEN)


# a Typer app with a single command would collapse it into the group; keep `verify` explicit
@app.callback()
def _audit() -> None:
    """Tamper evidence of the history."""
