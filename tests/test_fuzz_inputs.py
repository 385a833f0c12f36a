"""Hostile input through every field of the three readers (application, claim declaration, OED
book) and through the CLI's printing: a clear error (exit 2, a red ``error:`` line naming the file
and a field) or a result (exit 0, printed literally, no control character reaching the terminal),
never a traceback, and nothing stored on error.

Each test takes a valid input, replaces one leaf chosen at random with a hostile value
(tests/fuzz_strategies.py), writes it as YAML or JSON and runs the command with CliRunner. The
examples are derandomized (the same in every run) and bounded, so CI time is fixed. Each test
makes its own database in its body, once, and compares the row counts before and after each
example; the PostgreSQL variant uses the `pg_url` fixture the same way.

Defects found are pinned by the strict xfail tests at the end, with the exact input; their
values are left out of the fuzz strategies until fixed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.table import Table
from typer.testing import CliRunner

from egide.cli.common import LiteralConsole, note, print_json, styled, visible
from egide.cli.main import app
from egide.db.migrate import upgrade
from tests.conftest import EXAMPLES, REPO
from tests.fuzz_strategies import (
    Raw,
    cell_values,
    dump,
    hostile_values,
    leaf_paths,
    printable_text,
    replaced,
    unsafe,
)

runner = CliRunner()
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None)
MARKUP_NAME = "Cabinet [/bold] [link=file:///etc/passwd]du Dr[/link] :smile: Martin \\"
FEW = settings(max_examples=30, deadline=None, derandomize=True, database=None)

APPLICATIONS = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "cases").glob("*.yaml"))
CLAIMS = {  # the claim example and the moment it is declared at, on the demo practice's policy
    "fuite-donnees-cabinet.yaml": "2027-03-16T17:00:00+01:00",
    "rancongiciel-clinique.yaml": "2027-02-23T09:00:00+01:00",
}
QUOTE_DAY = "2026-12-01T10:00:00+01:00"
BOOK_ROWS = 8  # the first rows of examples/book-small.csv: enough for every kind of column
SECTIONS_APP = ("establishment", "security", "history", "cover", "technology", "(document)")
SECTIONS_CLAIM = (
    "incident",
    "costs",
    "interruption",
    "data_breach",
    "third_party_claims",
    "notifications",
    "(document)",
)
# what a refusal of the file itself says (size, encoding, syntax, duplicate key, depth)
FILE_RULES = ("malformed", "[max_size]", "[duplicate_key]", "[max_depth]", "UTF-8")


# ---------------------------------------------------------------- helpers


def load_example(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    """A fresh SQLite database for one test (not a fixture: hypothesis runs the body many times)."""
    with tempfile.TemporaryDirectory(prefix="egide-fuzz-") as folder:
        url = f"sqlite:///{folder}/egide.db"
        upgrade(url)
        yield url


def row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the database (the migration's own table aside)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
            return {
                n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names
            }
    finally:
        engine.dispose()


def invoke(args: list[str], url: str | None = None, now: str = QUOTE_DAY) -> Result:
    env = {"EGIDE_NOW": now, "EGIDE_DEBUG": None}
    if url is not None:
        env["EGIDE_DATABASE_URL"] = url
    return runner.invoke(app, args, env=env)


def squeeze(text: str) -> str:
    """Text without its whitespace: rich wraps long lines at the console width."""
    return "".join(text.split())


def check_outcome(result: Result, file: Path, sections: tuple[str, ...]) -> None:
    """Exit 0 or 2, no traceback; an error names the file and a field (or the file's own rule);
    a result reaches the terminal without a control or invisible character."""
    out, err = result.stdout, result.stderr
    assert result.exit_code in (0, 2), (result.exit_code, out[-2000:], err[-2000:])
    assert "Traceback" not in out and "Traceback" not in err
    if result.exit_code == 2:
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert lines, err
        assert all(line.startswith(f"error: {file}: ") for line in lines), err
        said = "\n".join(line.removeprefix(f"error: {file}: ") for line in lines)
        assert any(s in said for s in sections) or any(r in said for r in FILE_RULES), err
    assert not unsafe(out), unsafe(out)
    assert not unsafe(err), unsafe(err)


def shown_literally(value: object) -> str | None:
    """What a string answer must look like in the output (the reader strips it), or None when it
    cannot be compared: not a string, control characters (refused, or shown escaped)."""
    if not isinstance(value, str) or unsafe(value):
        return None
    return value.strip() or None


def read_back(text: str, fmt: str) -> Any:
    """The value the reader sees (None when the file does not parse as plain data)."""
    try:
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError):
        return None


def leaf(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            doc = doc[part]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


@st.composite
def hostile_document(
    draw: st.DrawFn, base: dict[str, Any]
) -> tuple[tuple[str | int, ...], object, dict[str, Any]]:
    path = draw(st.sampled_from(leaf_paths(base)))
    value = draw(hostile_values())
    return path, value, replaced(base, path, value)


# ---------------------------------------------------------------- the application


def price_one(
    url: str,
    folder: Path,
    base: dict[str, Any],
    path: tuple[str | int, ...],
    value: object,
    fmt: str,
    save: bool,
    as_json: bool,
    ascii_only: bool = False,
) -> int:
    """Price (and save) one hostile application, check the outcome; returns the exit code."""
    doc = replaced(base, path, value)
    text = dump(doc, path, fmt, ascii_only)
    file = folder / f"application.{fmt}"
    file.write_text(text, encoding="utf-8")
    before = row_counts(url)
    args = ["quote", "price", str(file)] + (["--save"] if save else []) + (["--json"] * as_json)
    result = invoke(args, url)
    check_outcome(result, file, SECTIONS_APP)
    after = row_counts(url)
    if result.exit_code != 0 or not save:
        assert after == before, (before, after)
        if result.exit_code != 0:
            return result.exit_code
    else:
        assert after["quotes"] == before["quotes"] + 1

    seen = leaf(read_back(text, fmt), path) if not isinstance(value, Raw) else None
    name = shown_literally(seen) if path == ("establishment", "name") else None
    if as_json:
        quote = json.loads(result.stdout)
        if isinstance(seen, str) and path == ("establishment", "name"):
            assert quote["establishment"]["name"] == seen.strip()
    elif name is not None:
        assert squeeze(name) in squeeze(result.stdout)
    if not save:
        return 0
    number = (
        quote["quote_number"]
        if as_json
        else re.search(r"Saved as quote (\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    )
    # a stored record shows again, literally
    shown = invoke(["quote", "show", number], url)
    check_outcome(shown, file, SECTIONS_APP)
    assert shown.exit_code == 0, shown.stderr
    if name is not None:
        assert squeeze(name) in squeeze(shown.stdout)
    decision = json.loads(invoke(["quote", "show", number, "--json"], url).stdout)["decision"]
    if decision == "accept":
        bound = invoke(["policy", "bind", number, "--start", "2027-01-01", "--json"], url)
        assert bound.exit_code == 0, bound.stderr
        policy = json.loads(bound.stdout)["policy_number"]
        shown = invoke(["policy", "show", policy], url)
        check_outcome(shown, file, SECTIONS_APP)
        assert shown.exit_code == 0, shown.stderr
        if name is not None:
            assert squeeze(name) in squeeze(shown.stdout)
    return 0


def fuzz_applications(url: str, save: bool, config: settings) -> None:
    """Run `price_one` on hostile applications against one database (made by the caller: the
    hypothesis examples share it, each compares the row counts before and after itself)."""
    codes: Counter[int] = Counter()
    with tempfile.TemporaryDirectory() as folder:

        @config
        @given(
            example=st.sampled_from(APPLICATIONS),
            data=st.data(),
            fmt=st.sampled_from(["yaml", "json"]),
            as_json=st.booleans(),
            ascii_only=st.booleans(),
        )
        def example(
            example: Path, data: st.DataObject, fmt: str, as_json: bool, ascii_only: bool
        ) -> None:
            base = load_example(example)
            path, value, _ = data.draw(hostile_document(base), label="leaf")
            codes[
                price_one(url, Path(folder), base, path, value, fmt, save, as_json, ascii_only)
            ] += 1

        example()
        # the fuzz is not vacuous: hostile values are refused, and (whatever the draws) an
        # acceptable hostile one, markup in the name, goes through the whole path
        base = load_example(APPLICATIONS[0])
        name = ("establishment", "name")
        codes[price_one(url, Path(folder), base, name, MARKUP_NAME, "yaml", save, False)] += 1
    assert codes[0] and codes[2], codes


def test_a_hostile_application_field_is_priced_or_refused_never_a_crash() -> None:
    with sqlite_database() as url:
        fuzz_applications(url, save=False, config=FUZZ)


def test_a_hostile_application_saved_is_stored_and_shown_or_refused_with_nothing_stored() -> None:
    with sqlite_database() as url:
        fuzz_applications(url, save=True, config=FUZZ)


def test_on_postgresql_a_refused_application_stores_nothing(pg_url: str) -> None:
    fuzz_applications(pg_url, save=True, config=FEW)


def test_a_hostile_establishment_name_is_shown_literally_when_priced_saved_and_bound() -> None:
    # the field shown most (quote price, quote show, policy show), fuzzed on its own
    base = load_example(EXAMPLES / "cabinet-medical.yaml")
    with sqlite_database() as url, tempfile.TemporaryDirectory() as folder:

        @settings(max_examples=30, deadline=None, derandomize=True, database=None)
        @given(
            name=printable_text().filter(lambda t: shown_literally(t) is not None),
            fmt=st.sampled_from(["yaml", "json"]),
            as_json=st.booleans(),
        )
        def example(name: str, fmt: str, as_json: bool) -> None:
            path = ("establishment", "name")
            price_one(url, Path(folder), base, path, name, fmt, True, as_json)

        example()


# ---------------------------------------------------------------- the claim declaration


def bound_demo_policy(url: str) -> str:
    """The demo practice's quote (100 000 EUR aggregate), bound from 2027-01-01."""
    quote = json.loads(
        invoke(
            [
                "quote",
                "price",
                str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"),
                "--save",
                "--json",
            ],
            url,
        ).stdout
    )["quote_number"]
    bound = invoke(["policy", "bind", quote, "--start", "2027-01-01", "--json"], url)
    assert bound.exit_code == 0, bound.stderr
    return str(json.loads(bound.stdout)["policy_number"])


def fuzz_claims(url: str, config: settings) -> None:
    policy = bound_demo_policy(url)
    codes: Counter[int] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        @config
        @given(
            example=st.sampled_from(sorted(CLAIMS)),
            data=st.data(),
            fmt=st.sampled_from(["yaml", "json"]),
            as_json=st.booleans(),
        )
        def example(example: str, data: st.DataObject, fmt: str, as_json: bool) -> None:
            base = load_example(EXAMPLES / "claims" / example)
            path, _, doc = data.draw(hostile_document(base), label="leaf")
            declare_one(example, path, doc, fmt, as_json)

        def declare_one(
            example: str, path: tuple[str | int, ...], doc: Any, fmt: str, as_json: bool
        ) -> None:
            file = folder / f"claim.{fmt}"
            file.write_text(dump(doc, path, fmt), encoding="utf-8")
            before = row_counts(url)
            args = ["claim", "declare", policy, str(file)] + (["--json"] * as_json)
            result = invoke(args, url, now=CLAIMS[example])
            check_outcome(result, file, SECTIONS_CLAIM)
            after = row_counts(url)
            codes[result.exit_code] += 1
            if result.exit_code != 0:
                assert after == before, (before, after)
                return
            assert after["claims"] == before["claims"] + 1
            claim_id = (
                json.loads(result.stdout)["claim_id"]
                if as_json
                else re.search(r"Claim (\S+) on policy", result.stdout).group(1)  # type: ignore[union-attr]
            )
            shown = invoke(["claim", "show", claim_id], url, now=CLAIMS[example])
            check_outcome(shown, file, SECTIONS_CLAIM)
            assert shown.exit_code == 0, shown.stderr

        example()
        # not vacuous whatever the draws: an acceptable hostile value (markup) is declared
        name = sorted(CLAIMS)[0]
        base = load_example(EXAMPLES / "claims" / name)
        path = ("incident", "description")
        declare_one(name, path, replaced(base, path, MARKUP_NAME), "yaml", False)
    assert codes[0] and codes[2], codes


def test_a_hostile_claim_field_is_adjudicated_or_refused_with_nothing_stored() -> None:
    with sqlite_database() as url:
        fuzz_claims(url, FUZZ)


# ---------------------------------------------------------------- the OED book


def book_rows() -> list[list[str]]:
    with (EXAMPLES / "book-small.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))[: BOOK_ROWS + 1]


BOOK = book_rows()


def test_a_hostile_cell_of_an_oed_book_is_imported_or_refused_with_no_file_written() -> None:
    codes: Counter[int] = Counter()

    @FUZZ
    @given(row=st.integers(1, BOOK_ROWS), column=st.sampled_from(BOOK[0]), cell=cell_values())
    def example(row: int, column: str, cell: str) -> None:
        import_one(row, column, cell)

    def import_one(row: int, column: str, cell: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            file, out = oed_file(Path(tmp), column, cell, row), Path(tmp) / "out.csv"
            result = invoke(["portfolio", "import-oed", str(file), "-o", str(out)])
            assert result.exit_code in (0, 2), (result.exit_code, result.stdout, result.stderr)
            codes[result.exit_code] += 1
            assert "Traceback" not in result.stdout + result.stderr
            assert not unsafe(result.stdout) and not unsafe(result.stderr)
            if result.exit_code == 0:
                assert f"ok {BOOK_ROWS} policies imported" in result.stdout
                assert out.is_file()
                return
            lines = [x for x in result.stderr.splitlines() if x.startswith("error:")]
            assert lines and all(x.startswith(f"error: {file}: ") for x in lines), result.stderr
            assert f"row {row} " in result.stderr or "(file)" in result.stderr, result.stderr
            assert not out.exists()

    example()
    import_one(
        1, "InsuredName", MARKUP_NAME
    )  # not vacuous whatever the draws: a markup name passes
    assert codes[0] and codes[2], codes


def oed_file(folder: Path, column: str, cell: str, row: int = 1) -> Path:
    """The first rows of examples/book-small.csv with one cell replaced (row counts from 1)."""
    rows = [list(r) for r in BOOK]
    rows[row][BOOK[0].index(column)] = cell
    file = folder / "book.csv"
    with file.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return file


# ---------------------------------------------------------------- the CLI's printing


def printed(*renderables: object) -> str:
    buffer = io.StringIO()
    console = LiteralConsole(file=buffer, width=100_000, highlight=False)
    for r in renderables:
        console.print(r, soft_wrap=True)
    return buffer.getvalue()


# templates as the CLI writes them (a value inside brackets, "[{}]", is not one: see
# test_an_oed_error_line_shows_its_rule_code)
TEMPLATES = ["{}", "[bold]{}[/]", "[bold red]error:[/] {}: {}", "Quote [bold]{}[/] ({}) — {}"]


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    text=printable_text(),
    others=st.lists(printable_text(), min_size=2, max_size=2),
    template=st.sampled_from(TEMPLATES),
)
def test_printed_user_text_is_literal_with_controls_escaped(
    text: str, others: list[str], template: str
) -> None:
    shown = visible(text)
    assert not unsafe(shown)  # nothing left that drives the terminal or reorders it
    # a plain string: no markup, no emoji code, no highlighting; only tabs become spaces
    out = printed(text)
    if "\t" in shown:
        assert out.replace(" ", "") == (shown + "\n").replace("\t", "").replace(" ", "")
    else:
        assert out == shown + "\n"
    # a styled line: our markup styles it, the values are shown as they are
    values = [text, *others][: template.count("{}")]
    line = styled(template, *values)
    bare = template.replace("[bold red]", "").replace("[bold]", "").replace("[/]", "")
    assert line.plain == bare.format(*(visible(v) for v in values))
    assert not unsafe(printed(line))
    # a table cell
    table = Table(box=None, show_header=False)
    table.add_row(text)
    assert squeeze(printed(table)) == squeeze(shown)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(text=st.one_of(st.text(), hostile_values().filter(lambda v: isinstance(v, str))))
def test_json_output_escapes_every_control_and_reads_back_equal(text: Any) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_json({"name": text, "nested": [text]})
    out = buffer.getvalue()
    assert not unsafe(out)
    assert json.loads(out) == {"name": text, "nested": [text]}


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(text=printable_text())
def test_a_note_on_stderr_is_one_literal_line(text: str) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        note(text)
    err = buffer.getvalue()
    assert err.startswith("note: ")
    assert not unsafe(err)
    assert squeeze(visible(text)) in squeeze(err)


# ---------------------------------------------------------------- defects the fuzz found
# Each pins, with its exact input, a defect the fuzz found and that is now fixed.


def write_application(folder: Path, fmt: str, text_edit: tuple[str, str]) -> Path:
    """examples/cabinet-medical.yaml as YAML or JSON, one piece of its text replaced."""
    data = load_example(EXAMPLES / "cabinet-medical.yaml")
    text = json.dumps(data) if fmt == "json" else yaml.safe_dump(data, sort_keys=False)
    assert text_edit[0] in text
    file = folder / f"application.{fmt}"
    file.write_text(text.replace(*text_edit), encoding="utf-8")
    return file


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_whole_number_of_5000_digits_is_bad_input(tmp_path: Path, fmt: str) -> None:
    sep = '": ' if fmt == "json" else ": "
    file = write_application(
        tmp_path, fmt, (f"employees{sep}4", f"employees{sep}" + "9" * 5000)
    )  # egide quote price FILE
    result = invoke(["quote", "price", str(file)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {file}: ")


@pytest.mark.parametrize("command", ["quote price --save", "claim declare"])
def test_a_lone_surrogate_in_stored_text_is_bad_input(tmp_path: Path, command: str) -> None:
    with sqlite_database() as url:
        if command == "claim declare":
            policy = bound_demo_policy(url)
            data = load_example(EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml")
            data["costs"][0]["supplier"] = "SURROGATE"
            file = tmp_path / "claim.json"
            text = json.dumps(data, default=lambda d: d.isoformat())
            file.write_text(text.replace("SURROGATE", "\\ud800"), encoding="utf-8")
            args = ["claim", "declare", policy, str(file)]
            now = CLAIMS["fuite-donnees-cabinet.yaml"]
        else:
            file = write_application(tmp_path, "json", ('"name": "', '"name": "\\ud800'))
            args, now = ["quote", "price", str(file), "--save"], QUOTE_DAY
        before = row_counts(url)
        result = invoke(args, url, now)
        assert row_counts(url) == before
        assert result.exit_code == 2, result.stderr


def test_a_nul_in_a_stored_name_is_bad_input_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    file = write_application(tmp_path, "json", ('"name": "', '"name": "\\u0000'))
    before = row_counts(pg_url)
    result = invoke(["quote", "price", str(file), "--save"], pg_url)
    assert row_counts(pg_url) == before
    assert result.exit_code == 2, result.stderr


def test_a_claim_started_in_year_one_east_of_greenwich_is_bad_input(tmp_path: Path) -> None:
    with sqlite_database() as url:
        policy = bound_demo_policy(url)
        data = load_example(EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml")
        data["incident"]["started_at"] = "0001-01-01T00:00:00+14:00"
        file = tmp_path / "claim.yaml"
        file.write_text(yaml.safe_dump(data), encoding="utf-8")
        before = row_counts(url)
        result = invoke(
            ["claim", "declare", policy, str(file)],
            url,
            CLAIMS["fuite-donnees-cabinet.yaml"],
        )
        assert row_counts(url) == before
        assert result.exit_code == 2, result.stderr
        assert "incident.started_at" in result.stderr


def test_a_yaml_alias_bomb_in_a_claim_is_refused_in_a_few_lines(tmp_path: Path) -> None:
    with sqlite_database() as url:
        policy = bound_demo_policy(url)
        text = (EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml").read_text(encoding="utf-8")
        bomb = ["bombs:", "  - &a0 [x, x, x, x, x, x, x, x, x, x]"]
        bomb += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 6)]
        file = tmp_path / "claim.yaml"
        body = text.replace("  type: data_leak", "  type: *a5")
        file.write_text("\n".join(bomb) + "\n" + body, encoding="utf-8")
        result = invoke(
            ["claim", "declare", policy, str(file)], url, CLAIMS["fuite-donnees-cabinet.yaml"]
        )
        assert result.exit_code == 2
        assert len(result.stderr) < 10_000, len(result.stderr)


@pytest.mark.parametrize(
    ("column", "cell"), [("NumberOfEmployees", "1e5000"), ("BIWaitingPeriod", "9e999999")]
)
def test_an_oed_cell_with_a_huge_exponent_is_bad_input(
    tmp_path: Path, column: str, cell: str
) -> None:
    file = oed_file(tmp_path, column, cell)
    result = invoke(["portfolio", "import-oed", str(file), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2, result.stderr
    assert column in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_an_oed_error_line_shows_its_rule_code(tmp_path: Path) -> None:
    file = oed_file(tmp_path, "LayerParticipation", "0.5")
    result = invoke(["portfolio", "import-oed", str(file), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "LayerParticipation: must be 1 (the product insures 100 %) [product]" in result.stderr


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("{}", "Clinique \\"),
        ("[bold]{}[/] {} — x", "Clinique \\"),
        ("[bold]{}[/]", "x\\\\"),
    ],
)
def test_a_trailing_backslash_is_shown_literally(template: str, value: str) -> None:
    values = [value] * template.count("{}")
    bare = template.replace("[bold]", "").replace("[/]", "")
    assert styled(template, *values).plain == bare.format(*values)
