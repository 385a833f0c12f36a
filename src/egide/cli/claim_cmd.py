"""`egide claim ...`: declare an incident, follow its settlement and its clock, pay, reopen.

Every mutating command takes ``--idempotency-key`` (the same key with the same request returns
the first result; with another request it is a conflict, exit 3) and ``--actor``. Amounts are
decimal strings in EUR in the JSON output; bad input exits 2.

Each use case returns a typed result (`egide.services.claim_results`): ``--json`` prints its
contract (`egide.services.results.contract`, the same the API serves), the tables are drawn from
the value itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from egide.cli.common import (
    ActorOpt,
    AsOpt,
    CursorOpt,
    EstablishmentOpt,
    ForceOpt,
    JsonOpt,
    KeyOpt,
    LimitOpt,
    acting,
    console,
    guarded,
    money,
    output_file,
    parse_set_options,
    print_json,
    print_page,
    read_data_file,
    styled,
    text_option,
    write_file,
)
from egide.clock import iso_paris
from egide.domain.errors import FieldError, InvalidInput
from egide.services.results import contract

if TYPE_CHECKING:
    from egide.services.claim_results import ClaimDeadline, ClaimResult, ClaimSummary

app = typer.Typer(help="Declare and settle claims; the incident clock.", no_args_is_help=True)


def _render_claim(result: ClaimResult) -> None:
    verdict = "[green]covered[/]" if result.covered else "[red]not covered[/]"
    console.print(
        styled(
            "Claim [bold]{}[/] on policy {} ({}, {}): " + verdict + " — {}",
            result.claim_id,
            result.policy_number,
            result.incident_type.value,
            result.status,
            ", ".join(r.value for r in result.reasons),
        )
    )
    table = Table(show_lines=False)
    for col in (
        "Ref",
        "Category",
        "Coverage",
        "Claimed",
        "Covered",
        "Deductible",
        "Limit",
        "Payable",
    ):
        table.add_column(
            col, justify="right" if col not in ("Ref", "Category", "Coverage") else "left"
        )
    table.add_column("Reasons")
    for line in result.lines:
        table.add_row(
            line.ref,
            line.category.value + (" (est.)" if line.estimated else ""),
            line.coverage,
            money(line.claimed),
            money(line.covered),
            money(line.deductible),
            money(line.limit),
            money(line.payable),
            ", ".join(r.value for r in line.reasons),
        )
    console.print(table)
    console.print(
        f"Payable {money(result.payable_total)} (now {money(result.payable_now)}), paid "
        f"{money(result.paid_total)}, reserve {money(result.reserve)}; annual aggregate "
        f"left {money(result.remaining_aggregate)} of {money(result.aggregate_limit)}."
    )
    _render_deadlines(result.deadlines)


def _minute(moment: datetime) -> str:
    """A time as the tables show it: ``2027-03-19 17:00`` (Europe/Paris)."""
    return str(iso_paris(moment)[:16].replace("T", " "))


def _render_deadlines(deadlines: Sequence[ClaimDeadline]) -> None:
    table = Table(title="Incident clock (Europe/Paris)")
    for col in ("Deadline", "Due", "Status", "Basis"):
        table.add_column(col)
    for d in deadlines:
        colour = {"done": "green", "overdue": "red", "done_late": "yellow", "due_now": "yellow"}
        style = colour.get(d.status, "")
        status = styled(f"[{style}]{{}}[/]" if style else "{}", d.status_text)
        table.add_row(d.code, _minute(d.due_at), status, d.basis)
    console.print(table)


def _sets(values: list[str]) -> dict[str, Any]:
    """``incident.state_sponsored=true`` pairs to a nested patch; values are YAML scalars."""
    patch: dict[str, Any] = {}
    for key, value in parse_set_options(values).items():
        *parents, last = key.split(".")
        node = patch
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return patch


@app.command("declare")
@guarded
def declare_cmd(
    policy_number: Annotated[str, typer.Argument(help="The policy number.")],
    file: Annotated[Path, typer.Argument(help="The claim file (YAML or JSON).")],
    json_out: JsonOpt = False,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    key: KeyOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the new claim's number.")
    ] = False,
) -> None:
    """Declare an incident: cover, settlement line by line, and the incident clock."""
    from egide.services import claims

    data = read_data_file(file)
    result = claims.declare_claim(*acting(as_email), policy_number, data, who, key, str(file))
    if quiet:
        typer.echo(result.claim_id)
        return
    if json_out:
        print_json(contract(result))
    else:
        _render_claim(result)


@app.command("show")
@guarded
def show_cmd(claim_id: str, json_out: JsonOpt = False, as_email: AsOpt = None) -> None:
    """The claim today: lines, payments, reserve, aggregate left, deadlines."""
    from egide.services import claims

    result = claims.get_claim(*acting(as_email), claim_id)
    if json_out:
        print_json(contract(result))
    else:
        _render_claim(result)


@app.command("add-costs")
@guarded
def add_costs_cmd(
    claim_id: str,
    file: Annotated[Path, typer.Argument(help="A list of costs, or {costs: [...]}.")],
    json_out: JsonOpt = False,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    key: KeyOpt = None,
) -> None:
    """Add costs, or update a reserve: a cost with the `id` of an existing one replaces it."""
    from egide.services import claims

    data = read_data_file(file)
    patch = {"costs": data} if isinstance(data, list) else data
    if not isinstance(patch, dict) or set(patch) - {"costs"}:
        raise InvalidInput(
            [FieldError("(document)", "type", "must be a list of costs or {costs: [...]}")],
            str(file),
        )
    result = claims.amend_claim(*acting(as_email), claim_id, patch, who, key, str(file))
    print_json(contract(result)) if json_out else _render_claim(result)


@app.command("amend")
@guarded
def amend_cmd(
    claim_id: str,
    file: Annotated[Path | None, typer.Argument(help="A partial claim file (optional).")] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="dotted.key=value, e.g. incident.state_sponsored=true"),
    ] = None,
    json_out: JsonOpt = False,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    key: KeyOpt = None,
) -> None:
    """The handler changes the facts: exclusion flags, complaint date, notifications, BI block."""
    from egide.services import claims

    patch: dict[str, Any] = {}
    if file is not None:
        data = read_data_file(file)
        if not isinstance(data, dict):
            raise InvalidInput([FieldError("(document)", "type", "must be a mapping")], str(file))
        patch.update(data)
    for section, values in _sets(sets or []).items():
        if isinstance(values, dict) and isinstance(patch.get(section), dict):
            patch[section] = {**patch[section], **values}
        else:
            patch[section] = values
    if not patch:
        raise InvalidInput([FieldError("(patch)", "required", "give a file or --set key=value")])
    result = claims.amend_claim(*acting(as_email), claim_id, patch, who, key, str(file or "--set"))
    print_json(contract(result)) if json_out else _render_claim(result)


@app.command("settle")
@guarded
def settle_cmd(
    claim_id: str,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Pay only this much (a partial payment).")
    ] = None,
    final: Annotated[
        bool, typer.Option("--final", help="Final settlement: close the claim after paying.")
    ] = False,
    json_out: JsonOpt = False,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    key: KeyOpt = None,
) -> None:
    """Pay what is payable now (incurred costs after the policy terms, less what was paid)."""
    from egide.services import claims

    result = claims.settle_claim(*acting(as_email), claim_id, who, amount, final, key)
    if json_out:
        print_json(contract(result))
        return
    console.print(
        styled(
            "Claim [bold]{}[/]: paid {} now, {} in all; reserve {}; status {}; annual aggregate "
            "left {}.",
            claim_id,
            money(result.paid_now),
            money(result.paid_total),
            money(result.reserve),
            result.status,
            money(result.remaining_aggregate),
        )
    )


@app.command("reopen")
@guarded
def reopen_cmd(
    claim_id: str,
    note: Annotated[str, text_option("--note", "Why the claim is reopened (required).")],
    json_out: JsonOpt = False,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    key: KeyOpt = None,
) -> None:
    """Reopen a closed claim."""
    from egide.services import claims

    result = claims.reopen_claim(*acting(as_email), claim_id, note, who, key)
    print_json(contract(result)) if json_out else console.print(f"Claim {claim_id} reopened.")


@app.command("clock")
@guarded
def clock_cmd(claim_id: str, json_out: JsonOpt = False, as_email: AsOpt = None) -> None:
    """Each deadline of the incident: due time (Europe/Paris) and status at now (EGIDE_NOW)."""
    from egide.services import claims

    result = claims.claim_clock(*acting(as_email), claim_id)
    if json_out:
        print_json(contract(result))
        return
    discovered, now = iso_paris(result.discovered_at), iso_paris(result.now)
    console.print(f"Claim {claim_id}, discovered {discovered}, now {now}")
    _render_deadlines(result.deadlines)


@app.command("statement")
@guarded
def statement_cmd(
    claim_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")],
    force: ForceOpt = False,
    as_email: AsOpt = None,
) -> None:
    """The settlement statement (décompte de sinistre), in French, as PDF."""
    from egide.services import claims

    output_file(output, "--output", force)
    pdf = claims.statement_pdf(*acting(as_email), claim_id)
    write_file(output, pdf, "--output", force)
    console.print(
        styled("Statement of claim {} written to {} ({} bytes).", claim_id, output, len(pdf))
    )


@app.command("list")
@guarded
def list_cmd(
    status: Annotated[
        str | None, typer.Option("--status", help="open or closed (default: both).")
    ] = None,
    establishment: EstablishmentOpt = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 20,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The claims you may see, nearest legal deadline first, a page at a time."""
    from egide.services import claims

    page = claims.list_claims(
        *acting(as_email),
        status=status,
        establishment_id=establishment,
        cursor=cursor,
        limit=limit,
    )

    def cells(c: ClaimSummary) -> list[str]:
        nearest = c.next_deadline
        due = iso_paris(nearest.due_at)[:16] if nearest else ""
        return [c.claim_id, c.policy_number, c.status, nearest.code if nearest else "", due]

    print_page(page, json_out, ["Claim", "Policy", "Status", "Next deadline", "Due"], cells)
