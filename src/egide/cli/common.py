"""What every command shares: consoles, the error boundary, input and output files, the database.

Exit codes (the README lists them too): 0 done; 1 the audit chain is broken (``audit verify``);
2 bad input (a field and its rule, a missing file, an unknown object, an input over a limit);
3 conflict (a concurrent change won, an idempotency key reused, a state that forbids the action,
an output file that exists without ``--force``); 4 not allowed; 5 environment or I/O (an output
that cannot be written, a database that cannot be reached or written, a driver missing);
70 an internal error (a bug: the message says so; ``EGIDE_DEBUG=1`` shows the traceback).

Text that comes from users or files is printed literally: the consoles render no markup and no
emoji codes, and show control and invisible characters as escapes (``\\x1b``, ``\\u202e``).
Styled lines are built with :func:`styled`, whose template is ours and whose values are escaped.
"""

from __future__ import annotations

import functools
import getpass
import json
import json.decoder
import json.scanner
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
import yaml
from rich.console import Console
from rich.text import Text

from egide.clock import ClockError
from egide.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotAllowed,
    NotFound,
    ProductError,
)
from egide.domain.text import ACTOR_MAX, check_parameters, is_forbidden

if TYPE_CHECKING:  # these pull in SQLAlchemy, Alembic and the product model: imported when used
    from egide.db.uow import SqlUnitOfWork
    from egide.domain.access import Principal
    from egide.domain.product import Product
    from egide.services.pages import Page

EXIT_AUDIT_BROKEN = 1
EXIT_BAD_INPUT = 2
EXIT_CONFLICT = 3
EXIT_NOT_ALLOWED = 4
EXIT_ENVIRONMENT = 5
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug, never a user's mistake

# Input files (an application, a claim declaration, --set values): a few KiB in practice.
MAX_INPUT_BYTES = 2 * 1024 * 1024
MAX_INPUT_DEPTH = 32  # nesting of mappings and lists; an application is 3 deep


# ---------------------------------------------------------------- printing user text literally


def _shown(ch: str) -> bool:
    """A character printed as itself: anything free text may hold, tabs and newlines included."""
    return not is_forbidden(ch, multiline=True)


def visible(text: str) -> str:
    """`text` with every character free text may not hold (NUL, escape sequences, bidirectional
    overrides, zero-width characters: `egide.domain.text.is_forbidden`) shown as its escape
    (``\\x1b``, ``\\u202e``), so printing it can neither drive the terminal nor reorder what is
    shown. Stored records written before that rule existed are shown this way too."""
    if text.isprintable():
        return text
    return "".join(ch if _shown(ch) else ascii(ch)[1:-1] for ch in text)


class LiteralConsole(Console):
    """A rich console on which every string is data: no markup, no emoji codes, no highlighting,
    and control characters made visible. Every string rich renders (printed text, table cells,
    titles) goes through `render_str`, so this one override covers them all; styled output is a
    `Text` built by `styled`."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible(text), **kwargs)


_FIELD = "\x00"  # stands for a value while the template's markup is parsed: never in a template


def styled(template: str, *values: object) -> Text:
    """A styled line: `template` is our rich markup with ``{}`` fields (a literal bracket is
    ``\\[``); each value takes the style around its field and is never parsed, so it is shown
    literally whatever it holds (``styled("[bold]{}[/] saved", name)``). Values are not escaped
    into the markup (rich's escape gets a trailing backslash wrong): the template is parsed with
    a placeholder character for each field, which is then replaced by the value's text."""
    parsed = Text.from_markup(template.replace("{}", _FIELD), emoji=False)
    cuts = [i for i, ch in enumerate(parsed.plain) if ch == _FIELD]
    if len(cuts) != len(values):
        raise ValueError(f"styled: {len(cuts)} fields for {len(values)} values")
    bounds = sorted({0, len(parsed.plain), *cuts, *(i + 1 for i in cuts)})
    pieces = parsed.divide(bounds[1:-1]) if len(bounds) > 2 else [parsed]
    out = Text()
    given = iter(values)
    for piece in pieces:
        if piece.plain != _FIELD:
            out.append_text(piece)
            continue
        value = next(given)
        shown = Text(visible(value if isinstance(value, str) else str(value)), style=piece.style)
        for span in piece.spans:
            shown.stylize(span.style, 0, len(shown))
        out.append_text(shown)
    return out


def _console(stderr: bool = False) -> LiteralConsole:
    """A terminal gets its own width; a pipe or a file gets 140 columns (COLUMNS overrides), so
    tables stay readable in logs and captured output instead of wrapping at 80."""
    console = LiteralConsole(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = LiteralConsole(stderr=stderr, highlight=False, width=140)
    return console


console = _console()
err_console = _console(stderr=True)


def note(message: str) -> None:
    """A remark on stderr that does not change the outcome (``note: …``)."""
    err_console.print(Text.assemble(("note: ", "yellow"), visible(message)), soft_wrap=True)


def error_line(message: str) -> None:
    """One red ``error:`` line on stderr; `message` is printed literally."""
    err_console.print(Text.assemble(("error: ", "bold red"), visible(message)), soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One red line on stderr and the exit code."""
    error_line(message)
    raise typer.Exit(code)


# ---------------------------------------------------------------- free-text options


def _checked_text(option: str) -> Callable[[str | None], str | None]:
    """A click callback: the option's value follows the rule of the service parameter of the
    same name (`egide.domain.text.PARAMETERS`), checked before any work."""
    name = option.lstrip("-").replace("-", "_")

    def check(value: str | None) -> str | None:
        errors = check_parameters(**{name: value})
        if errors:
            raise typer.BadParameter("; ".join(e.message for e in errors))
        return value

    return check


# The options every command shares.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help=f"Who acts (default: the OS user); at most {ACTOR_MAX} characters.",
        callback=_checked_text("--actor"),
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Retry-safe key: a retry with it does the work once (default: new).",
        callback=_checked_text("--idempotency-key"),
    ),
]
AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="EGIDE_AS",
        help="Act as this user (for operators on this machine; default: the local operator).",
    ),
]
CursorOpt = Annotated[str | None, typer.Option("--cursor", help="The next page of a list.")]
EstablishmentOpt = Annotated[
    int | None, typer.Option("--establishment", help="Only this establishment (organisation id).")
]
LimitOpt = Annotated[int, typer.Option("--limit", help="Items per page (1 to 100).")]
ProductOpt = Annotated[
    Path | None, typer.Option("--product", help="Product TOML file (default: the packaged one).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite output files that already exist.")
]


def text_option(name: str, help: str) -> Any:
    """A free-text option checked like every other (no control character, bounded length)."""
    return typer.Option(name, help=help, callback=_checked_text(name))


# ---------------------------------------------------------------- the error boundary

P = ParamSpec("P")
R = TypeVar("R")


def _database_problem(exc: BaseException) -> str:
    """What went wrong with the database, in one line, without SQL, parameters or password."""
    from egide.db.engine import display_url
    from egide.settings import get_settings

    try:
        url = display_url(get_settings().database_url)
    except Exception:
        url = "EGIDE_DATABASE_URL"
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return f"database {url}: {first}"


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """The one error boundary of every command: domain errors become a red line and their exit
    code; environment and I/O failures exit 5; anything else is reported as an internal error
    (exit 70) without a traceback, unless EGIDE_DEBUG=1 asks for it. Tracebacks never show SQL
    parameters (the engines hide them)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except InvalidInput as exc:
            where = f"{exc.source}: " if exc.source else ""
            for e in exc.errors:
                error_line(f"{where}{e}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (ProductError, NotFound, ClockError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except Conflict as exc:
            fail(f"conflict: {exc}", EXIT_CONFLICT)
        except NotAllowed as exc:
            fail(f"not allowed: {exc}", EXIT_NOT_ALLOWED)
        except DomainError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            if os.environ.get("EGIDE_DEBUG") == "1":
                raise
            import sqlalchemy.exc as sa_exc  # here, not above: a command may never load SQLAlchemy

            if isinstance(exc, sa_exc.NoSuchModuleError | sa_exc.ArgumentError):
                fail(f"{_database_problem(exc)} (check EGIDE_DATABASE_URL)", EXIT_ENVIRONMENT)
            if isinstance(exc, sa_exc.DBAPIError | sa_exc.OperationalError):
                fail(_database_problem(exc), EXIT_ENVIRONMENT)
            if isinstance(exc, ModuleNotFoundError):
                fail(f"a required module is missing: {exc.name}", EXIT_ENVIRONMENT)
            if isinstance(exc, MemoryError):
                fail("out of memory", EXIT_ENVIRONMENT)
            if isinstance(exc, OSError):
                where = f"{exc.filename}: " if exc.filename else ""
                fail(f"{where}{exc.strerror or exc}", EXIT_ENVIRONMENT)
            fail(
                f"internal error ({type(exc).__name__}): this is a bug in Égide, please report it; "
                "EGIDE_DEBUG=1 shows the traceback",
                EXIT_INTERNAL,
            )

    wrapper.__egide_guarded__ = True  # type: ignore[attr-defined]
    return wrapper


# ---------------------------------------------------------------- input files


class _Refused(Exception):
    """Input refused while parsing (duplicate key, nesting too deep): the message says where."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys (naming both lines) and nesting deeper
    than MAX_INPUT_DEPTH (PyYAML would otherwise recurse until RecursionError). PyYAML has no
    option for either, hence these two overrides."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_INPUT_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _Refused(
                    f"nested deeper than {MAX_INPUT_DEPTH} levels at line {mark.line + 1} "
                    "[max_depth]"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise _Refused(
                    f"duplicate key {key!r} at lines {first} and {line}: give each key once "
                    "[duplicate_key]"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _json_key_lines(text: str, start: int, end: int) -> dict[str, list[int]]:
    """The lines of each key of the JSON object spanning text[start:end] (its own keys only)."""
    lines: dict[str, list[int]] = {}
    depth, i = 0, start
    while i < end:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            k = j + 1
            while k < end and text[k] in " \t\r\n":
                k += 1
            if depth == 0 and k < end and text[k] == ":":
                lines.setdefault(json.loads(text[i : j + 1]), []).append(text.count("\n", 0, i) + 1)
            i = j + 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return lines


def _load_json(text: str) -> Any:
    """json.loads that refuses duplicate keys (naming both lines) and nesting deeper than
    MAX_INPUT_DEPTH; the standard decoder has hooks for neither position nor depth, so this uses
    its pure-Python scanner with counting wrappers."""
    decoder = json.JSONDecoder()
    depth = 0

    def enter(pos: int) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_INPUT_DEPTH:
            line = text.count("\n", 0, pos) + 1
            raise _Refused(
                f"nested deeper than {MAX_INPUT_DEPTH} levels at line {line} [max_depth]"
            )

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        nonlocal depth
        enter(s_and_end[1])
        try:
            pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
                s_and_end, *args[:2], None, list, *args[4:]
            )
        finally:
            depth -= 1
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            for key, at in _json_key_lines(text, s_and_end[1], end).items():
                if len(at) > 1:
                    raise _Refused(
                        f"duplicate key {key!r} at lines {at[0]} and {at[1]}: give each key once "
                        "[duplicate_key]"
                    )
        return dict(pairs), end

    def parse_array(s_and_end: tuple[str, int], scan_once: Any) -> tuple[Any, int]:
        nonlocal depth
        enter(s_and_end[1])
        try:
            array, end = json.decoder.JSONArray(s_and_end, scan_once)  # type: ignore[attr-defined]
            return array, int(end)
        finally:
            depth -= 1

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.parse_array = parse_array  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def read_input_text(path: Path, what: str = "", limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of an input file: a regular file of at most `limit` bytes (a device, a FIFO
    or a folder is refused before reading), else bad input naming the file and the rule."""
    label = f"{what} {path}" if what else str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                fail(f"{label}: is not a regular file [regular_file]")
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        fail(f"{label}: file does not exist")
    except IsADirectoryError:
        fail(f"{label}: is a directory, not a file [regular_file]")
    except PermissionError:
        fail(f"{label}: cannot be read (permission denied)", EXIT_ENVIRONMENT)
    if len(raw) > limit:
        fail(
            f"{label}: is larger than {limit // 1024 // 1024} MiB, the limit of an input file [max_size]"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{label}: is not UTF-8 text")


def parse_data_text(text: str, is_json: bool) -> Any:
    """YAML (safe, no duplicate keys, bounded nesting) or JSON (the same rules)."""
    if is_json:
        return _load_json(text)
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe


def read_data_file(path: Path) -> Any:
    """Parse a YAML or JSON file; a missing, oversized or malformed file is bad input naming the
    file and the rule."""
    text = read_input_text(path)
    try:
        return parse_data_text(text, path.suffix.lower() == ".json")
    except _Refused as exc:
        fail(f"{path}: {exc}")
    except json.JSONDecodeError as exc:
        fail(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        fail(f"{path}: malformed YAML{where}: {problem}")
    except (ValueError, OverflowError) as exc:  # a YAML date 2027-13-45, a 5 000-digit number
        if "digits" in str(exc):  # Python's int/str conversion limit
            fail(f"{path}: holds a number too long to read (over 4 300 digits) [number_size]")
        fail(f"{path}: holds a value that cannot be read: {exc} [value]")


# ---------------------------------------------------------------- output files


def output_folder(path: Path, option: str) -> Path:
    """Before any work: a folder we can write into (created if missing, inside a writable one);
    else exit 5 naming the option and the reason."""
    if path.exists():
        if not path.is_dir():
            fail(f"{option} {path}: is a file, not a folder", EXIT_ENVIRONMENT)
        if not os.access(path, os.W_OK | os.X_OK):
            fail(f"{option} {path}: folder is not writable", EXIT_ENVIRONMENT)
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        fail(f"{option} {path}: {parent} is a file, not a folder", EXIT_ENVIRONMENT)
    if not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{option} {path}: cannot create it, {parent} is not writable", EXIT_ENVIRONMENT)
    return path


def output_file(path: Path, option: str, force: bool) -> Path:
    """Before any work: a file we may write: its folder exists and is writable, it is not a
    folder, and it does not exist unless --force (exit 3); else exit 5 naming the reason."""
    if path.is_dir():
        fail(f"{option} {path}: is a folder, not a file", EXIT_ENVIRONMENT)
    parent = path.parent
    if not parent.is_dir():
        what = "is a file" if parent.exists() else "does not exist"
        fail(f"{option} {path}: folder {parent} {what}", EXIT_ENVIRONMENT)
    if not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{option} {path}: folder {parent} is not writable", EXIT_ENVIRONMENT)
    if path.exists() and not force:
        fail(f"{option} {path}: already exists (--force overwrites it)", EXIT_CONFLICT)
    return path


def no_clobber(folder: Path, names: list[str], option: str, force: bool) -> list[Path]:
    """The paths of `names` in `folder`; one that exists is a conflict (exit 3) unless --force."""
    targets = [folder / name for name in names]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        shown = ", ".join(p.name for p in existing[:3]) + (" …" if len(existing) > 3 else "")
        fail(f"{option} {folder}: {shown} already exist (--force overwrites)", EXIT_CONFLICT)
    return targets


def write_files(folder: Path, files: Mapping[str, bytes], option: str, force: bool) -> list[Path]:
    """Write `files` (name -> content) into `folder`, all or none: every target is checked first
    (an existing one is a conflict unless --force), each is written to a temporary file beside
    it and renamed into place, so a failure never leaves half a file."""
    output_folder(folder, option)
    targets = no_clobber(folder, list(files), option, force)
    folder.mkdir(parents=True, exist_ok=True)
    mask = os.umask(0)
    os.umask(mask)
    for target, data in zip(targets, files.values(), strict=True):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~mask)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return targets


def write_file(path: Path, data: bytes, option: str, force: bool) -> Path:
    """Write one output file the same way (`output_file` rules, atomic replace)."""
    output_file(path, option, force)
    return write_files(path.parent, {path.name: data}, option, force=True)[0]


# ---------------------------------------------------------------- sizes the machine can do

MAX_SEED = 2**63 - 1  # a run's seed is stored as a 64-bit integer


def check_seed(seed: int, option: str = "--seed") -> int:
    if not 0 <= seed <= MAX_SEED:
        fail(f"{option} {seed}: must be a whole number from 0 to 2**63 - 1 [seed_range]")
    return seed


def max_workers() -> int:
    """Local Dask worker processes: 4 per core (more only queue on the same cores and exhaust the
    machine's semaphores)."""
    return 4 * (os.cpu_count() or 1)


# ---------------------------------------------------------------- the product, the database, the actor


def product_option(path: Path | None) -> Product:
    """The product a command prices with: --product FILE, else EGIDE_PRODUCT_FILE, else default."""
    from egide.domain.product import load_product
    from egide.settings import get_settings

    chosen = path or (Path(p) if (p := get_settings().product_file) else None)
    return load_product(chosen)


def open_uow() -> SqlUnitOfWork:
    """A unit of work on EGIDE_DATABASE_URL, the schema brought up to date first."""
    from egide.db.engine import make_engine
    from egide.db.migrate import ensure_schema
    from egide.db.uow import SqlUnitOfWork
    from egide.settings import get_settings

    url = get_settings().database_url
    engine = make_engine(url)
    ensure_schema(engine, url)
    return SqlUnitOfWork.from_engine(engine)


def print_page(
    page: Page, json_out: bool, columns: list[str], cells: Callable[[Any], list[str]]
) -> None:
    """A list as JSON ({items, next_cursor}) or as a table, with the next page's option."""
    if json_out:
        print_json(page.public())
        return
    from rich.table import Table

    table = Table(*columns)
    for item in page.items:
        table.add_row(*cells(item))
    console.print(table)
    if page.next_cursor:
        console.print(styled("More: --cursor {}", page.next_cursor))


def day_option(value: str | None, option: str) -> datetime | None:
    """A day given on the command line (YYYY-MM-DD) as 0 h Paris time on that day."""
    if value is None:
        return None
    from egide.domain.errors import FieldError, InvalidInput
    from egide.domain.fields import year_problem
    from egide.domain.policy import midnight

    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput([FieldError(option, "format", "must be a day, YYYY-MM-DD")]) from None
    if problem := year_problem(option, day):
        raise InvalidInput([problem])
    return midnight(day)


def acting(as_email: str | None) -> tuple[SqlUnitOfWork, Principal]:
    """The unit of work and who acts: the local operator, or with ``--as EMAIL`` the local
    operator acting as that user (history records both)."""
    from egide.services.accounts import acting_principal

    uow = open_uow()
    return uow, acting_principal(uow, as_email)


def actor(value: str | None) -> str:
    """Who acts: --actor, else the operating-system user."""
    if value:
        return value
    try:
        return visible(getpass.getuser())[:ACTOR_MAX]
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
        if len(item) > 10_000:
            errors.append(FieldError(key[:60], "max_length", "is longer than 10 000 characters"))
            continue
        try:
            value = parse_data_text(raw, is_json=False) if raw.strip() else None
        except (yaml.YAMLError, _Refused):
            errors.append(FieldError(key, "yaml", f"{raw!r} is not a YAML scalar"))
            continue
        if scalars_only and isinstance(value, dict | list):
            errors.append(FieldError(key, "scalar", "must be a single value"))
            continue
        changes[key] = value
    if errors:
        raise InvalidInput(errors)
    return changes


def money(amount: str | Decimal) -> str:
    """Money as people read it in every human output of the CLI: ``24 570,00 €`` (the --json
    output, for scripts, keeps plain decimal strings: ``"24570.00"``)."""
    from egide.domain.money import fmt_eur

    return fmt_eur(Decimal(amount))


def print_json(data: Any) -> None:
    """One JSON object on stdout. Control characters are escaped by JSON itself; the other
    invisible ones (bidirectional overrides…) too, so a terminal shows what is stored."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if not text.isprintable():
        text = "".join(ch if _shown(ch) else json.dumps(ch)[1:-1] for ch in text)
    sys.stdout.write(text + "\n")
