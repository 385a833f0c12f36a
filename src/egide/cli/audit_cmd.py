"""`egide audit verify`: check the keyed audit trail and every audited record;
`egide audit history KIND NUMBER`: what it recorded about one quote, policy or claim.

Exit 0 when clean; exit 1 when anything is wrong (every problem is listed, each naming its
record), distinct from 2 (bad input), 3 (conflict) and 5 (no usable audit key). Keys are never
printed: only their ids.
"""

from __future__ import annotations

from typing import Annotated

import typer

from egide.cli.common import (
    EXIT_AUDIT_BROKEN,
    AsOpt,
    acting,
    console,
    err_console,
    guarded,
    print_json,
    styled,
)

app = typer.Typer(help="Tamper evidence of the history.", no_args_is_help=True)


@app.command("verify")
@guarded
def verify_cmd(
    json_out: Annotated[bool, typer.Option("--json")] = False, as_email: AsOpt = None
) -> None:
    """Check every audit entry's MAC, every chain and that each audited record still matches
    its last entry; list every problem (exit 1) or say clean (administrators)."""
    from egide.services.audit import verify_trail

    report = verify_trail(*acting(as_email))
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


@app.command("history")
@guarded
def history_cmd(
    kind: Annotated[str, typer.Argument(help="quote, policy or claim.")],
    number: Annotated[str, typer.Argument(help="Its number.")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
    as_email: AsOpt = None,
) -> None:
    """What the audit trail recorded about a quote, a policy or a claim: who, what, when."""
    from rich.table import Table

    from egide.services.audit import object_history

    entries = object_history(*acting(as_email), kind, number)
    if json_out:
        print_json({"kind": kind, "number": number, "entries": entries})
        return
    table = Table("#", "Recorded", "Action", "Record", "By")
    for e in entries:
        record = e["record"] + (f" #{e['item']}" if e["item"] is not None else "")
        table.add_row(str(e["seq"]), e["recorded_at"][:19], e["action"], record, e["by"])
    console.print(table)


@app.callback()
def _audit() -> None:
    """Tamper evidence of the history."""
