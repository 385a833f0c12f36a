"""What every command shares: consoles, the error boundary, input files, the database, the actor.

Exit codes: 0 done; 2 bad input (a field and its rule, a missing file, an unknown object);
3 conflict (a concurrent change won, an idempotency key reused, a state that forbids the action).
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
import yaml
from rich.console import Console

from egide.clock import ClockError
from egide.db.engine import make_engine
from egide.db.migrate import ensure_schema
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    ProductError,
)
from egide.domain.product import Product, load_product
from egide.settings import get_settings


def _console(stderr: bool = False) -> Console:
    """A terminal gets its own width; a pipe or a file gets 140 columns (COLUMNS overrides), so
    tables stay readable in logs and captured output instead of wrapping at 80."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=140)
    return console


console = _console()
err_console = _console(stderr=True)

# The options every command shares.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who acts (default: the OS user).")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Retry-safe key: a retry with it does the work once (default: new).",
    ),
]
ProductOpt = Annotated[
    Path | None, typer.Option("--product", help="Product TOML file (default: the packaged one).")
]

EXIT_BAD_INPUT = 2
EXIT_CONFLICT = 3

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """The one error boundary: domain errors become a red line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            where = f"{exc.source}: " if exc.source else ""
            for e in exc.errors:
                err_console.print(f"[bold red]error:[/] {where}{e}", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (ProductError, NotFound, ClockError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except Conflict as exc:
            fail(f"conflict: {exc}", EXIT_CONFLICT)
        except DomainError as exc:
            fail(str(exc), EXIT_BAD_INPUT)

    return wrapper


def read_data_file(path: Path) -> Any:
    """Parse a YAML or JSON file; a missing or malformed file is bad input naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: file does not exist")
    except IsADirectoryError:
        fail(f"{path}: is a directory, not a file")
    except UnicodeDecodeError:
        fail(f"{path}: is not UTF-8 text")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        fail(f"{path}: malformed YAML{where}: {problem}")


def product_option(path: Path | None) -> Product:
    """The product a command prices with: --product FILE, else EGIDE_PRODUCT_FILE, else default."""
    chosen = path or (Path(p) if (p := get_settings().product_file) else None)
    return load_product(chosen)


def open_uow() -> SqlUnitOfWork:
    """A unit of work on EGIDE_DATABASE_URL, the schema brought up to date first."""
    url = get_settings().database_url
    engine = make_engine(url)
    ensure_schema(engine, url)
    return SqlUnitOfWork.from_engine(engine)


def actor(value: str | None) -> str:
    """Who acts: --actor, else the operating-system user."""
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


def parse_set_options(values: list[str], *, scalars_only: bool = False) -> dict[str, object]:
    """``--set key=value`` options to ``{dotted key: value}``; values are YAML scalars (``true``,
    ``1000000``, ``0.05``, text). Every malformed item is reported, naming it."""
    changes: dict[str, object] = {}
    errors = []
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            errors.append(FieldError("set", "format", f"{item!r} is not key=value"))
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            errors.append(FieldError(key, "yaml", f"{raw!r} is not a YAML scalar"))
            continue
        if scalars_only and isinstance(value, dict | list):
            errors.append(FieldError(key, "scalar", "must be a single value"))
            continue
        changes[key] = value
    if errors:
        raise InvalidInput(errors)
    return changes


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
