"""`egide audit verify`: check the keyed audit trail and every audited record.

Exit 0 when clean; exit 1 when anything is wrong (every problem is listed, each naming its
record), distinct from 2 (bad input), 3 (conflict) and 5 (no usable audit key). Keys are never
printed: only their ids.
"""

from __future__ import annotations

from typing import Annotated

import typer

from egide.cli.common import (
    EXIT_AUDIT_BROKEN,
    console,
    err_console,
    guarded,
    open_uow,
    print_json,
    styled,
)

app = typer.Typer(help="Tamper evidence of the history.", no_args_is_help=True)


@app.command("verify")
@guarded
def verify_cmd(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check every audit entry's MAC, every chain and that each audited record still matches
    its last entry; list every problem (exit 1) or say clean."""
    from egide.services.audit import verify_chain

    report = verify_chain(open_uow())
    if json_out:
        print_json(report.to_data())
    elif report.clean:
        console.print(
            styled(
                "[green]ok[/] audit chain clean: {} policies, {} transactions; {} entries in "
                "{} chains; keys {}; head {}",
                report.policies,
                report.transactions,
                report.entries,
                report.chains,
                ", ".join(report.key_ids) or "none",
                report.head or "none",
            )
        )
    else:
        for problem in report.problems:
            err_console.print(styled("[bold red]broken:[/] {}", problem), soft_wrap=True)
        err_console.print(
            styled("[bold red]{} problem(s)[/] in the audit trail", len(report.problems))
        )
    if not report.clean:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


# a Typer app with a single command would collapse it into the group; keep `verify` explicit
@app.callback()
def _audit() -> None:
    """Tamper evidence of the history."""
