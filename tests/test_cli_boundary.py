"""The CLI's boundary against hostile input and failing environments (issue 9): user text printed
literally, input files bounded and unambiguous, outputs checked before any work and never
overwritten silently, every failure one red line and its documented exit code, no traceback."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
import yaml
from rich.table import Table
from typer.testing import CliRunner, Result

from egide.cli import common
from egide.cli.common import LiteralConsole, styled, visible
from egide.cli.main import app
from egide.db.engine import make_engine
from tests.conftest import EXAMPLES

runner = CliRunner()
PRACTICE = EXAMPLES / "cabinet-medical.yaml"
HOSTILE_NAMES = [
    "Cabinet [/bold] du Dr Martin",
    "[link=file:///etc/passwd]clic[/link]",
    "Cabinet [red]rouge :smile: [",
]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_clean_failure(result: Result, code: int, *needles: str) -> None:
    """Exit `code`, one or more red `error:` lines naming what is wrong, and no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def application(tmp_path: Path, name: str, suffix: str = ".yaml") -> Path:
    data = yaml.safe_load(PRACTICE.read_text(encoding="utf-8"))
    data["establishment"]["name"] = name
    path = tmp_path / f"app{suffix}"
    text = json.dumps(data) if suffix == ".json" else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db_env(any_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on a fresh database of each backend (the rules hold the same on both)."""
    monkeypatch.setenv("EGIDE_DATABASE_URL", any_url)
    return any_url


def count_rows(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- printing literally


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_a_name_is_printed_literally_when_saved_shown_and_bound(
    name: str, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    saved = invoke("quote", "price", str(application(tmp_path, name)), "--save")
    assert saved.exit_code == 0, saved.output
    assert name in saved.stdout
    number = saved.stdout.rsplit("Saved as quote ", 1)[1].split()[0]
    shown = invoke("quote", "show", number)
    assert shown.exit_code == 0, shown.output
    assert name in shown.stdout
    bound = invoke("policy", "bind", number, "--json")
    assert bound.exit_code == 0, bound.output
    policy = invoke("policy", "show", json.loads(bound.stdout)["policy_number"])
    assert policy.exit_code == 0, policy.output
    assert name in policy.stdout


def test_a_terminal_gets_no_hyperlink_escape_or_control_sequence_from_user_text() -> None:
    out = io.StringIO()
    console = LiteralConsole(file=out, force_terminal=True, width=200)
    hostile = "[link=file:///etc/passwd]clic[/link] \x1b[2J\x00 \u202eteniba\u202c :smile:"
    console.print(hostile)
    table = Table("Nom")
    table.add_row(hostile)
    console.print(table)
    console.print(styled("[bold]{}[/] saved", hostile))
    text = out.getvalue()
    assert "\x1b]8;" not in text  # no OSC 8 hyperlink
    assert "\x1b[2J" not in text and "\x00" not in text and "\u202e" not in text
    assert "[link=file:///etc/passwd]clic[/link]" in text
    assert "\\x1b[2J\\x00 \\u202eteniba\\u202c :smile:" in text
    assert "😄" not in text


def test_visible_escapes_controls_and_keeps_french_text() -> None:
    french = "Pharmacie de l'Étoile — « Œuvre » 1\u202f234,56\u00a0€\tligne\nsuite"
    assert visible(french) == french
    assert visible("a\x1bb\x00c\x7fd\u200be\u2066f") == "a\\x1bb\\x00c\\x7fd\\u200be\\u2066f"


def test_json_output_escapes_invisible_characters_and_reads_back_the_same() -> None:
    captured = io.StringIO()
    data = {"name": "a\u202eb\x1bc\x85d", "amount": "1\u202f234"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", captured)
        common.print_json(data)
    text = captured.getvalue()
    assert "\u202e" not in text and "\x1b" not in text and "\x85" not in text
    assert json.loads(text) == data


def test_every_command_goes_through_the_error_boundary() -> None:
    group = typer.main.get_command(app)
    checked, unguarded = [], []

    def walk(command: Any, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:  # a group
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}")
            return
        checked.append(path)
        if not getattr(command.callback, "__egide_guarded__", False):
            unguarded.append(path)

    walk(group, "egide")
    assert {"egide quote price", "egide policy bind", "egide model fit-breaches"} <= set(checked)
    assert unguarded == []


def test_a_bad_parameter_raised_inside_a_command_is_a_usage_error_not_an_internal_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def bad(*_args: object, **_kwargs: object) -> None:
        raise typer.BadParameter("no good")

    monkeypatch.setattr("egide.services.quotes.get_quote", bad)
    result = invoke("quote", "show", "DEV-1")
    assert result.exit_code == 2 and "no good" in result.output


# ---------------------------------------------------------------- input files


def test_a_duplicate_yaml_key_is_refused_naming_both_lines_and_nothing_is_stored(
    db_env: str, tmp_path: Path
) -> None:
    text = PRACTICE.read_text(encoding="utf-8")
    assert "  edr: false\n" in text
    path = tmp_path / "dup.yaml"
    path.write_text(text.replace("  edr: false\n", "  edr: false\n  edr: true\n"), "utf-8")
    first = text.splitlines().index("  edr: false") + 1
    result = invoke("quote", "price", str(path), "--save")
    assert_clean_failure(result, 2, "duplicate key 'edr'", f"lines {first} and {first + 1}")
    assert count_rows(db_env, "quotes") == 0


def test_a_duplicate_json_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(
        '{"establishment": {"name": "A",\n "siret": "1",\n "name": "B"},\n "name": 1}', "utf-8"
    )
    assert_clean_failure(invoke("quote", "price", str(path)), 2, "duplicate key 'name'", "1 and 3")


def test_an_unknown_key_holding_markup_is_reported_literally(tmp_path: Path) -> None:
    data = yaml.safe_load(PRACTICE.read_text(encoding="utf-8"))
    data["establishment"]["[/]"] = 1
    path = tmp_path / "key.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    assert_clean_failure(invoke("quote", "price", str(path)), 2, "establishment.[/]")


def test_the_same_key_in_two_different_mappings_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text('{"a": {"name": 1}, "b": {"name": 2}, "c": [{"x": 1}, {"x": 2}]}', "utf-8")
    assert common.parse_data_text(path.read_text("utf-8"), is_json=True)["c"][1] == {"x": 2}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_input_nested_too_deep_is_refused_naming_the_limit(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 5000 + "]" * 5000, "utf-8")
    assert_clean_failure(invoke("quote", "price", str(path)), 2, "nested deeper than 32 levels")


def test_a_device_a_fifo_and_a_folder_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        assert_clean_failure(invoke("quote", "price", path), 2, "not a regular file")
    assert_clean_failure(invoke("quote", "price", str(tmp_path)), 2, "directory")


def test_an_input_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * common.MAX_INPUT_BYTES + "\n", "utf-8")
    assert_clean_failure(invoke("quote", "price", str(path)), 2, "larger than 2 MiB")


def test_a_product_path_that_is_a_folder_is_bad_input(tmp_path: Path) -> None:
    assert_clean_failure(invoke("product", "check", str(tmp_path)), 2, "is a folder")


# ---------------------------------------------------------------- the environment


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("foo://nowhere", "check EGIDE_DATABASE_URL"),
        ("not a url", "check EGIDE_DATABASE_URL"),
        ("postgresql://egide:s3cr3t-pw@127.0.0.1:1/x", "127.0.0.1:1"),
        ("postgresql+pg8000://egide:s3cr3t-pw@127.0.0.1/x", "pg8000"),
    ],
)
def test_a_database_that_cannot_be_used_exits_5_without_the_password(
    url: str, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_DATABASE_URL", url)
    result = invoke("quote", "show", "DEV-20261201-000000")
    assert_clean_failure(result, 5, needle)
    assert "s3cr3t-pw" not in result.output


def test_a_read_only_database_exits_5_and_names_the_problem(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    monkeypatch.setenv("EGIDE_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    result = invoke("quote", "price", str(PRACTICE), "--save")
    assert_clean_failure(result, 5, "readonly database")


def test_database_errors_never_carry_sql_parameters(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.execute(
            sa.text("insert into quotes (number) values (:n)"), {"n": "PATIENT-DUPONT-SECRET"}
        )
    engine.dispose()
    assert "PATIENT-DUPONT-SECRET" not in str(caught.value)


def test_an_unexpected_error_is_one_line_without_its_message_unless_debugging(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Mme Dupont, dossier 1234")

    monkeypatch.setattr("egide.services.quotes.get_quote", broken)
    result = invoke("quote", "show", "DEV-1")
    assert_clean_failure(result, 70, "internal error (RuntimeError)", "EGIDE_DEBUG=1")
    assert "Dupont" not in result.output
    monkeypatch.setenv("EGIDE_DEBUG", "1")
    debug = invoke("quote", "show", "DEV-1")
    assert isinstance(debug.exception, RuntimeError)


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_a_replay_clock_outside_the_supported_years_is_bad_input(
    moment: str, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", moment)
    result = invoke("quote", "price", str(PRACTICE), "--save")
    assert_clean_failure(result, 2, "EGIDE_NOW", "2000 to 2199")
    assert count_rows(db_env, "quotes") == 0


# ---------------------------------------------------------------- outputs


def saved_quote(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    result = invoke("quote", "price", str(PRACTICE), "--save", "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["quote_number"])


def test_an_output_folder_that_cannot_be_made_exits_5_before_any_work(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = saved_quote(monkeypatch)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_clean_failure(invoke("quote", "document", number, "-o", str(a_file)), 5, "not a folder")
    under_file = a_file / "sub"
    assert_clean_failure(invoke("quote", "document", number, "-o", str(under_file)), 5, "is a file")


def test_an_existing_output_is_never_overwritten_without_force(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = saved_quote(monkeypatch)
    out = tmp_path / "docs"
    first = invoke("quote", "document", number, "-o", str(out))
    assert first.exit_code == 0, first.output
    pdf = out / f"{number}-proposition.pdf"
    pdf.write_bytes(b"mine")
    again = invoke("quote", "document", number, "-o", str(out))
    assert_clean_failure(again, 3, "already exist", "--force")
    assert pdf.read_bytes() == b"mine"
    forced = invoke("quote", "document", number, "-o", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert [p.name for p in out.iterdir()] == [pdf.name]  # no temporary file left behind


def test_a_book_output_in_a_missing_folder_or_over_a_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "book.csv"
    result = invoke("portfolio", "generate", "-n", "3", "-o", str(missing))
    assert_clean_failure(result, 5, "does not exist")
    existing = tmp_path / "book.csv"
    existing.write_text("x")
    assert_clean_failure(
        invoke("portfolio", "generate", "-n", "3", "-o", str(existing)), 3, "already exists"
    )
    assert existing.read_text() == "x"
    forced = invoke("portfolio", "generate", "-n", "3", "-o", str(existing), "--force")
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize("option", ["--plot", "--ord"])
def test_simulation_outputs_are_checked_before_the_simulation_runs(
    option: str, db_env: str, tmp_path: Path
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    book = str(EXAMPLES / "book-small.csv")
    result = invoke("portfolio", "simulate", book, "--years", "100", option, str(a_file / "sub"))
    assert_clean_failure(result, 5, option)
    assert count_rows(db_env, "portfolio_runs") == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--workers", "1000"], "4 per core"),
        (["--seed", str(2**70)], "2**63 - 1"),
        (["--seed", "-1"], "2**63 - 1"),
        (["--block-years", str(10**12)], "--block-years"),
        (["--years", str(10**9)], "--years"),
    ],
)
def test_simulation_sizes_are_bounded_before_any_work(
    args: list[str], needle: str, db_env: str
) -> None:
    result = invoke("portfolio", "simulate", str(EXAMPLES / "book-small.csv"), *args)
    assert_clean_failure(result, 2, needle)
    assert count_rows(db_env, "portfolio_runs") == 0


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--actor", "x" * 121, "longer than 120"),
        ("--actor", "ops\x1b[2J", "U+001B"),
        ("--actor", "ops\u202e", "U+202E"),
        ("--idempotency-key", "k\x00", "U+0000"),
    ],
)
def test_free_text_options_refuse_controls_and_excess_length_before_any_work(
    option: str, value: str, needle: str, db_env: str
) -> None:
    if option == "--idempotency-key":  # quote price takes no key; policy bind does
        result = invoke("policy", "bind", "DEV-1", option, value)
    else:
        result = invoke("quote", "price", str(PRACTICE), "--save", option, value)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert count_rows(db_env, "quotes") == 0


@pytest.mark.parametrize(
    "command",
    [
        ["demo", "--seed-only"],
        ["db", "upgrade"],
    ],
)
def test_printed_database_urls_hide_the_password(
    command: list[str], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_password = pg_url.replace("postgres@", "postgres:Pw-0f-the-insurer@", 1)
    assert with_password != pg_url  # trust authentication ignores the password
    monkeypatch.setenv("EGIDE_DATABASE_URL", with_password)
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    assert "Pw-0f-the-insurer" not in result.output
    assert "postgres:***@" in result.output


def test_a_dask_scheduler_that_cannot_be_reached_is_an_environment_failure(db_env: str) -> None:
    import dask
    import distributed  # noqa: F401 - its defaults must be loaded before one is overridden

    book = str(EXAMPLES / "book-small.csv")
    args = ["--years", "100", "--scheduler", "tcp://127.0.0.1:1", "--no-save"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = invoke("portfolio", "simulate", book, *args)
    assert result.exit_code == 5, result.output
    assert "error: --scheduler tcp://127.0.0.1:1: cannot connect" in result.stderr
    assert "Traceback" not in result.output
