"""`egide portfolio generate | import-oed | export-oed`: books of policies as OED v4 account files.

A book file *is* an OED v4 cyber account file (CSV or Parquet, the same columns): `generate`
writes a synthetic French book, `import-oed` validates an OED file row by row (every row becomes
an application through the product's rules) and writes it as a book, `export-oed` writes a book
as an OED account file and checks it with ods-tools, the industry's validator.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from egide.cli.common import (
    EXIT_BAD_INPUT,
    ForceOpt,
    check_seed,
    console,
    err_console,
    error_line,
    fail,
    guarded,
    output_file,
    product_option,
    styled,
)

if TYPE_CHECKING:
    from egide.actuarial.book import BookEntry
    from egide.actuarial.oed import OedError
    from egide.domain.product import Product

app = typer.Typer(help="Books of policies as OED v4 cyber account files.", no_args_is_help=True)

SUFFIXES = (".csv", ".parquet")
MAX_POLICIES = 5_000_000


def _output(path: Path, force: bool, option: str = "--output") -> Path:
    if path.suffix.lower() not in SUFFIXES:
        fail(f"{option} {path}: must end in .csv or .parquet (the OED file's format)")
    return output_file(path, option, force)


def input_book_path(path: Path, what: str) -> Path:
    """An existing .csv or .parquet book file, else a red error naming the option and exit 2."""
    if not path.exists():
        fail(f"{what} {path}: file does not exist")
    if not path.is_file():
        fail(f"{what} {path}: is not a regular file [regular_file]")
    if path.suffix.lower() not in SUFFIXES:
        fail(f"{what} {path}: must end in .csv or .parquet (an OED account file)")
    return path


def read_book_file(path: Path, product: Product) -> list[BookEntry]:
    """Read and validate a book; every invalid row is printed (row, AccNumber, PolNumber, field)."""
    from egide.actuarial.oed import OedError, read_book

    try:
        return read_book(path, product)
    except OedError as exc:
        refuse_book(exc)


def refuse_book(exc: OedError) -> NoReturn:
    """Print every invalid row of a book (row, AccNumber, PolNumber, field) and exit 2."""
    shown = exc.problems[:50]
    for row, acc, pol, err in shown:
        where = f"row {row} (AccNumber {acc!r}, PolNumber {pol!r}): " if row else ""
        error_line(f"{exc.path}: {where}{err}")  # FieldError: "field: message [rule]"
    if len(exc.problems) > len(shown):
        error_line(f"... and {len(exc.problems) - len(shown)} more")
    raise typer.Exit(EXIT_BAD_INPUT) from None


def _summary(book: list[BookEntry]) -> str:
    kinds = Counter(e.application.establishment.type for e in book)
    return ", ".join(f"{k} {n}" for k, n in kinds.most_common())


@app.command("generate")
@guarded
def generate(
    policies: Annotated[int, typer.Option("--policies", "-n", help="Number of policies.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Book file: .csv or .parquet.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same book.")] = 0,
    product_file: Annotated[Path | None, typer.Option("--product", help="Product file.")] = None,
    force: ForceOpt = False,
) -> None:
    """Write a synthetic book of French healthcare establishments as an OED account file."""
    from egide.actuarial.generate import generate_book
    from egide.actuarial.oed import write_book

    if policies < 1 or policies > MAX_POLICIES:
        fail(f"--policies {policies}: must be between 1 and {MAX_POLICIES:,}")
    check_seed(seed)
    out = _output(output, force)
    product = product_option(product_file)
    book = generate_book(policies, seed, product)
    write_book(book, out, product)
    console.print(
        styled("[green]ok[/] {} policies written to {} ({})", len(book), out, _summary(book))
    )


@app.command("import-oed")
@guarded
def import_oed(
    file: Annotated[Path, typer.Argument(help="OED v4 cyber account file (.csv or .parquet).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Book file: .csv or .parquet.")],
    product_file: Annotated[Path | None, typer.Option("--product", help="Product file.")] = None,
    force: ForceOpt = False,
) -> None:
    """Validate every row of an OED account file against the product and write it as a book."""
    from egide.actuarial.oed import write_book

    source = input_book_path(file, "FILE")
    out = _output(output, force)
    product = product_option(product_file)
    book = read_book_file(source, product)
    write_book(book, out, product)
    console.print(
        styled("[green]ok[/] {} policies imported to {} ({})", len(book), out, _summary(book))
    )


@app.command("export-oed")
@guarded
def export_oed(
    book_file: Annotated[
        Path, typer.Argument(metavar="BOOK", help="Book file (.csv or .parquet).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="OED file: .csv or .parquet.")],
    product_file: Annotated[Path | None, typer.Option("--product", help="Product file.")] = None,
    check: Annotated[bool, typer.Option(help="Check the file with ods-tools.")] = True,
    force: ForceOpt = False,
) -> None:
    """Write a book as an OED v4 cyber account file, checked with ods-tools."""
    from egide.actuarial.oed import check_oed, write_book

    source = input_book_path(book_file, "BOOK")
    out = _output(output, force)
    product = product_option(product_file)
    book = read_book_file(source, product)
    write_book(book, out, product)
    if check:
        try:
            reported = check_oed(out)
        except Exception as exc:  # ods-tools raises OdsException on invalid data
            fail(f"{out}: ods-tools rejects the exported file: {exc}", 1)
        if reported:
            for item in reported:
                err_console.print(
                    styled("[yellow]ods-tools:[/] {}", item.get("msg", item)), soft_wrap=True
                )
    checked = ", passes ods-tools' OED checks" if check else ""
    console.print(styled("[green]ok[/] {} policies exported to {}{}", len(book), out, checked))
