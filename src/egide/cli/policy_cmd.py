"""`egide policy ...`: bind a quote, endorse, cancel, reinstate, renew, show, documents.

Every mutating command takes ``--idempotency-key`` (a new one is generated when absent and
printed): the same key with the same request returns the first result; with another request it
is a conflict (exit 3). ``--expected-version N`` refuses the change (exit 3) if the policy moved
past version N (the ``version`` printed by ``show``) since it was read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
    day_option,
    guarded,
    money,
    note,
    output_folder,
    parse_set_options,
    print_json,
    print_page,
    product_option,
    read_data_file,
    styled,
    text_option,
    write_files,
)
from egide.domain.money import cents
from egide.services.results import contract

if TYPE_CHECKING:
    from egide.services.policy_results import PolicySummary, TransactionResult

app = typer.Typer(help="Bind quotes into policies and change them.", no_args_is_help=True)

VersionOpt = Annotated[
    int | None,
    typer.Option("--expected-version", help="Refuse if the policy is no longer at this version."),
]
EffectiveOpt = Annotated[str, typer.Option("--effective", help="Effective date, YYYY-MM-DD.")]
NoteOpt = Annotated[
    str | None,
    text_option("--underwriter-note", "An underwriter approves a referred risk."),
]


def _print_tx(result: TransactionResult, json_out: bool, verb: str) -> None:
    if json_out:
        print_json(contract(result))
        return
    change = result.premium_change
    console.print(
        styled(
            "Policy [bold]{}[/] {} from {} (transaction #{}): premium change {} incl. tax "
            "(net {}, tax {}); term premium {}. Idempotency key {}",
            result.policy_number,
            verb,
            result.effective.isoformat(),
            result.transaction,
            money(cents(change.total)),
            money(cents(change.net)),
            money(cents(change.tax)),
            money(cents(result.term_premium.total)),
            result.idempotency_key,
        )
    )


def parse_sets(values: list[str]) -> dict[str, object]:
    """``key=value`` pairs; values are YAML scalars (``true``, ``1000000``, ``0.05``, text)."""
    return parse_set_options(values, scalars_only=True)


@app.command("bind")
@guarded
def bind_cmd(
    quote_number: str,
    start: Annotated[
        str | None, typer.Option("--start", help="Start date, YYYY-MM-DD (default today).")
    ] = None,
    retroactive: Annotated[
        str | None,
        typer.Option("--retroactive-date", help="Retroactive date (default: the start)."),
    ] = None,
    key: KeyOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the new policy's number.")
    ] = False,
) -> None:
    """Bind an accepted (or approved), unexpired quote: a one-year claims-made policy."""
    from egide.services import policies

    result = policies.bind_quote(*acting(as_email), quote_number, who, key, start, retroactive)
    if result.already_bound:
        note(
            f"quote {result.quote_number} was already bound as "
            f"{result.policy_number}; nothing changed"
        )
    if quiet:
        typer.echo(result.policy_number)
        return
    if json_out:
        print_json(contract(result))
        return
    console.print(
        styled(
            "Policy [bold]{}[/] ({}) from {} to {}, premium {} incl. tax. Idempotency key {}",
            result.policy_number,
            result.status.value,
            result.period_start.isoformat(),
            result.period_end.isoformat(),
            money(cents(result.premium.total)),
            result.idempotency_key,
        )
    )


@app.command("endorse")
@guarded
def endorse_cmd(
    number: str,
    effective: EffectiveOpt,
    sets: Annotated[
        list[str],
        typer.Option("--set", help="key=value on the application (cover.limit=1000000); repeat."),
    ],
    note: NoteOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change cover or answers from a date inside the period, re-rated pro rata temporis."""
    from egide.services import policies

    changes = parse_sets(sets)
    result = policies.endorse_policy(
        *acting(as_email), number, effective, changes, who, key, expected_version, note
    )
    _print_tx(result, json_out, "endorsed")


@app.command("cancel")
@guarded
def cancel_cmd(
    number: str,
    effective: EffectiveOpt,
    reason: Annotated[
        str, text_option("--reason", "insured_request | non_payment.")
    ] = "insured_request",
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Cancel from a date: refund or not as the product file says for the reason."""
    from egide.services import policies

    result = policies.cancel_policy(
        *acting(as_email), number, effective, who, reason, key, expected_version
    )
    _print_tx(result, json_out, "cancelled")


@app.command("reinstate")
@guarded
def reinstate_cmd(
    number: str,
    effective: EffectiveOpt,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put a cancelled policy back in force from a date."""
    from egide.services import policies

    result = policies.reinstate_policy(
        *acting(as_email), number, effective, who, key, expected_version
    )
    _print_tx(result, json_out, "reinstated")


@app.command("renew")
@guarded
def renew_cmd(
    number: str,
    application: Annotated[
        Path | None,
        typer.Option("--application", help="Updated answers (YAML or JSON); default: current."),
    ] = None,
    product_file: Annotated[
        Path | None, typer.Option("--product", help="Product TOML (default: the packaged one).")
    ] = None,
    note: NoteOpt = None,
    key: KeyOpt = None,
    expected_version: VersionOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Renew for a year, re-underwritten and re-priced with the current product."""
    from egide.services import policies

    data = read_data_file(application) if application is not None else None
    result = policies.renew_policy(
        *acting(as_email),
        number,
        product_option(product_file),
        who,
        data,
        key,
        expected_version,
        note,
        str(application) if application else None,
    )
    _print_tx(result, json_out, "renewed")


@app.command("show")
@guarded
def show_cmd(
    number: str,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD) or date-time; default now.")
    ] = None,
    json_out: JsonOpt = False,
    as_email: AsOpt = None,
) -> None:
    """The cover in force on a date and the whole history."""
    from egide.services import policies

    result = policies.get_policy(*acting(as_email), number, policies.parse_as_of(as_of))
    if json_out:
        print_json(contract(result))
        return
    from rich.table import Table

    from egide.clock import iso_paris

    console.print(
        styled(
            "[bold]{}[/] {} — [bold]{}[/] on {} (term {}: {} to {}), version {}",
            result.policy_number,
            result.establishment_name,
            result.status.value,
            result.as_of.isoformat(),
            result.term,
            result.period_start.isoformat(),
            result.period_end.isoformat(),
            result.version,
        )
    )
    console.print(
        f"Aggregate {money(result.aggregate_limit)}, deductible {money(result.deductible)}, "
        f"annual premium {money(cents(result.annual_premium.total))}, term premium "
        f"{money(cents(result.term_premium.total))} (incl. tax); retroactive date "
        f"{result.retroactive_date.isoformat()}"
    )
    cov = Table("Coverage", "Limit", "Sub-deductible")
    for c in result.coverages:
        cov.add_row(c.label, money(c.limit), money(c.sub_deductible))
    console.print(cov)
    hist = Table("#", "Kind", "Effective", "Recorded", "By", "Change", "Term premium")
    for t in result.transactions:
        hist.add_row(
            str(t.seq),
            t.kind + (f" ({t.reason})" if t.reason else ""),
            t.effective.isoformat(),
            iso_paris(t.recorded_at)[:19],
            t.actor,
            money(cents(t.premium_change.total)),
            money(cents(t.term_premium.total)),
        )
    console.print(hist)


@app.command("documents")
@guarded
def documents_cmd(
    number: str,
    out: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the PDFs into.")],
    json_out: JsonOpt = False,
    force: ForceOpt = False,
    as_email: AsOpt = None,
) -> None:
    """Write the French PDFs: proposition, conditions particulières, avenants, attestation."""
    from egide.services import policies

    output_folder(out, "--output")
    files = policies.policy_documents(*acting(as_email), number)
    written = write_files(out, files, "--output", force)
    if json_out:
        print_json({"policy_number": number, "files": [str(p) for p in written]})
        return
    for path in written:
        console.print(str(path))


@app.command("list")
@guarded
def list_cmd(
    in_force_on: Annotated[
        str | None,
        typer.Option("--in-force-on", help="Only those in force on this day (YYYY-MM-DD)."),
    ] = None,
    renewal_within: Annotated[
        int | None,
        typer.Option(
            "--renewal-within", help="Only those whose term ends within N days, not renewed."
        ),
    ] = None,
    establishment: EstablishmentOpt = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 20,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The policies you may see, newest first, a page at a time."""
    from egide.services import policies

    page = policies.list_policies(
        *acting(as_email),
        in_force_on=day_option(in_force_on, "--in-force-on"),
        renewal_within_days=renewal_within,
        establishment_id=establishment,
        cursor=cursor,
        limit=limit,
    )

    def cells(p: PolicySummary) -> list[str]:
        return [
            p.policy_number,
            p.status.value,
            p.establishment_name,
            p.period_end.date().isoformat(),
            money(cents(p.annual_premium.total)),
        ]

    print_page(
        page,
        json_out,
        ["Policy", "Status", "Establishment", "Term ends", "Annual premium incl. tax"],
        cells,
    )
