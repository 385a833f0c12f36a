"""`egide quote ...`: price, save, show, approve and decline quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egide.cli.common import (
    ActorOpt,
    AsOpt,
    CursorOpt,
    EstablishmentOpt,
    ForceOpt,
    JsonOpt,
    LimitOpt,
    ProductOpt,
    acting,
    console,
    day_option,
    guarded,
    money,
    output_folder,
    print_json,
    print_page,
    product_option,
    read_data_file,
    styled,
    text_option,
    write_files,
)
from egide.cli.render import render_quote
from egide.services.results import contract

app = typer.Typer(help="Price, save and review quotes.", no_args_is_help=True)


@app.command("price")
@guarded
def price_cmd(
    file: Annotated[Path, typer.Argument(help="Application file (YAML or JSON).")],
    json_out: JsonOpt = False,
    save: Annotated[
        bool, typer.Option("--save", help="Store the quote and print its number.")
    ] = False,
    product_file: ProductOpt = None,
    who: ActorOpt = None,
    as_email: AsOpt = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only the new quote's number (without --save: the decision).",
        ),
    ] = False,
) -> None:
    """Underwrite and price an application: decision, score, premium per coverage, advice."""
    from egide.services import quotes

    data = read_data_file(file)
    product = product_option(product_file)
    if save:
        saved = quotes.save_quote(*acting(as_email), data, product, who, source=str(file))
        if quiet:
            typer.echo(saved.quote_number)
        elif json_out:
            print_json(contract(saved))
        else:
            render_quote(saved, console)
            console.print(styled("Saved as quote [bold]{}[/]", saved.quote_number))
        return
    priced = quotes.price_quote(data, product, source=str(file))
    if quiet:
        typer.echo(priced.decision)
    elif json_out:
        print_json(contract(priced))
    else:
        render_quote(priced, console)


@app.command("show")
@guarded
def show_cmd(number: str, json_out: JsonOpt = False, as_email: AsOpt = None) -> None:
    """Show a saved quote exactly as it was priced."""
    from egide.services import quotes

    quote = quotes.get_quote(*acting(as_email), number)
    if json_out:
        print_json(contract(quote))
    else:
        render_quote(quote, console)


@app.command("approve")
@guarded
def approve_cmd(
    number: str,
    note: Annotated[str, text_option("--note", "The underwriter's note (required).")],
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve a referred quote so that it can be bound."""
    from egide.services import quotes

    quote = quotes.review_quote(*acting(as_email), number, True, note, who)
    print_json(contract(quote)) if json_out else console.print(f"Quote {number} approved.")


@app.command("decline")
@guarded
def decline_cmd(
    number: str,
    note: Annotated[str, text_option("--note", "The underwriter's note (required).")],
    who: ActorOpt = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Decline a referred quote."""
    from egide.services import quotes

    quote = quotes.review_quote(*acting(as_email), number, False, note, who)
    print_json(contract(quote)) if json_out else console.print(f"Quote {number} declined.")


@app.command("document")
@guarded
def document_cmd(
    number: str,
    out: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the PDF into.")],
    force: ForceOpt = False,
    as_email: AsOpt = None,
) -> None:
    """Write the proposition d'assurance of a saved quote (French PDF)."""
    from egide.services.policies import quote_document

    output_folder(out, "--output")
    name, pdf = quote_document(*acting(as_email), number)
    console.print(str(write_files(out, {name: pdf}, "--output", force)[0]))


@app.command("list")
@guarded
def list_cmd(
    status: Annotated[
        str | None,
        typer.Option("--status", help="priced, referred, declined, approved or bound."),
    ] = None,
    establishment: EstablishmentOpt = None,
    created_from: Annotated[
        str | None, typer.Option("--from", help="Created on or after this day (YYYY-MM-DD).")
    ] = None,
    created_to: Annotated[
        str | None, typer.Option("--to", help="Created before this day (YYYY-MM-DD).")
    ] = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 20,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The quotes you may see, newest first, a page at a time."""
    from egide.clock import iso_paris
    from egide.services import quotes

    page = quotes.list_quotes(
        *acting(as_email),
        status=status,
        establishment_id=establishment,
        created_from=day_option(created_from, "--from"),
        created_to=day_option(created_to, "--to"),
        cursor=cursor,
        limit=limit,
    )
    print_page(
        page,
        json_out,
        ["Quote", "Status", "Establishment", "SIRET", "Premium incl. tax", "Created"],
        lambda q: [
            q.quote_number,
            q.status,
            q.establishment_name,
            q.siret,
            money(q.premium_total) if q.premium_total is not None else "",
            iso_paris(q.created_at)[:10],
        ],
    )
