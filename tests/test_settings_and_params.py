"""The settings read from the environment without pydantic (egide.settings), and the command
line's plain options coerced without it (egide.cli.params), behave as they did through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from egide.settings import Settings, default_database_url, get_settings
from tests.conftest import EXAMPLES


def test_settings_names_are_read_in_any_case_and_an_empty_database_url_means_the_default() -> None:
    read = Settings.from_environ(
        {"egide_database_url": "sqlite:////tmp/x.db", "EGIDE_PRODUCT_FILE": "p.toml", "X": "y"}
    )
    assert read.database_url == "sqlite:////tmp/x.db"
    assert read.product_file == "p.toml"
    assert read.now is None and read.audit_key is None and not read.production
    assert Settings.from_environ({"EGIDE_DATABASE_URL": ""}).database_url == (
        default_database_url()
    )


def test_egide_env_wins_over_egide_environment_and_production_is_recognised() -> None:
    both = Settings.from_environ({"EGIDE_ENV": "Production ", "EGIDE_ENVIRONMENT": "dev"})
    assert both.production
    assert Settings.from_environ({"EGIDE_ENVIRONMENT": "prod"}).production
    assert not Settings.from_environ({"EGIDE_ENV": "staging"}).production
    assert Settings.from_environ({}).environment == "development"


def test_a_secret_setting_never_shows_in_repr_or_text() -> None:
    key = "0f" * 32
    read = Settings.from_environ({"EGIDE_AUDIT_KEY": key, "EGIDE_AUDIT_OLD_KEYS": f"old:{key}"})
    assert read.audit_key is not None and read.audit_key.get_secret_value() == key
    assert read.audit_old_keys is not None
    assert key not in repr(read) and key not in str(read.audit_key)


def test_get_settings_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    assert get_settings().now == "2026-12-01T10:00:00+01:00"


def test_a_missing_input_file_is_still_refused_by_the_command(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["quote", "price", str(tmp_path / "none.yaml")])
    assert done.exit_code == 2
    assert "does not exist" in done.output


def test_a_number_option_is_still_checked_by_typer() -> None:
    done = CliRunner().invoke(app, ["quote", "list", "--limit", "many"])
    assert done.exit_code == 2
    assert "--limit" in done.output


def test_a_path_argument_reaches_the_command_as_a_path_and_a_text_option_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, object] = {}

    def price_quote(data: object, product: object, source: str | None = None) -> object:
        seen["source"] = source
        raise SystemExit(0)

    monkeypatch.setattr("egide.services.quotes.price_quote", price_quote)
    done = CliRunner().invoke(app, ["quote", "price", str(EXAMPLES / "cabinet-medical.yaml")])
    assert done.exit_code == 0, done.output
    assert seen["source"] == str(EXAMPLES / "cabinet-medical.yaml")
