"""Every bad input is refused, naming the field and the rule; through the CLI: exit 2, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from egide.cli.main import app
from egide.domain.application import parse_application
from egide.domain.errors import InvalidInput
from egide.domain.product import Product
from tests.appdata import base_application, mutate

BAD_INPUTS: list[tuple[str, str, Any, str, str]] = [
    ("siret check digit", "establishment.siret", "73282932000075", "establishment.siret", "siret"),
    ("siret length", "establishment.siret", "7328293200007", "establishment.siret", "siret"),
    ("siret as a number", "establishment.siret", 73282932000074, "establishment.siret", "type"),
    ("finess check digit", "establishment.finess", "750053127", "establishment.finess", "finess"),
    ("unknown type", "establishment.type", "veterinaire", "establishment.type", "choice"),
    (
        "name with a terminal escape",
        "establishment.name",
        "\x1b[2JCabinet",
        "establishment.name",
        "control_character",
    ),
    ("name too long", "establishment.name", "x" * 201, "establishment.name", "max_length"),
    (
        "negative revenue",
        "establishment.annual_revenue",
        -5,
        "establishment.annual_revenue",
        "range",
    ),
    (
        "absurd revenue",
        "establishment.annual_revenue",
        9e12,
        "establishment.annual_revenue",
        "range",
    ),
    (
        "revenue as text",
        "establishment.annual_revenue",
        "a lot",
        "establishment.annual_revenue",
        "type",
    ),
    ("negative employees", "establishment.employees", -1, "establishment.employees", "range"),
    (
        "fractional records",
        "establishment.patient_records",
        10.5,
        "establishment.patient_records",
        "type",
    ),
    (
        "absurd records",
        "establishment.patient_records",
        10**9,
        "establishment.patient_records",
        "range",
    ),
    ("missing name", "establishment.name", ..., "establishment.name", "required"),
    ("missing security key", "security.edr", ..., "security.edr", "required"),
    (
        "missing devices key",
        "security.medical_devices_segmented",
        ...,
        "security.medical_devices_segmented",
        "required",
    ),
    ("missing section", "cover", ..., "cover", "required"),
    (
        "share above 1",
        "security.security_budget_share",
        1.5,
        "security.security_budget_share",
        "range",
    ),
    (
        "share below 0",
        "security.security_budget_share",
        -0.1,
        "security.security_budget_share",
        "range",
    ),
    ("bool as text", "security.mfa_email", "yes", "security.mfa_email", "type"),
    ("limit not an option", "cover.limit", 300000, "cover.limit", "product_option"),
    ("deductible not an option", "cover.deductible", 750, "cover.deductible", "product_option"),
    ("negative deductible", "cover.deductible", -1000, "cover.deductible", "range"),
    ("unknown key", "security.firewall", True, "security.firewall", "unknown_key"),
    (
        "ransomware above incidents",
        "history.ransomware_last_5_years",
        3,
        "history.ransomware_last_5_years",
        "consistency",
    ),
    (
        "sub-limit above aggregate",
        "cover.sublimits",
        {"cyber_extortion": 1000000},
        "cover.sublimits.cyber_extortion",
        "range",
    ),
    ("unknown coverage", "cover.sublimits", {"cyber": 50000}, "cover.sublimits.cyber", "choice"),
]


@pytest.mark.parametrize(
    ("case", "path", "value", "field", "rule"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_refused_naming_the_field_and_the_rule(
    product: Product, case: str, path: str, value: Any, field: str, rule: str
) -> None:
    data = mutate(base_application(), path, value)
    with pytest.raises(InvalidInput) as err:
        parse_application(data, product)
    assert (field, rule) in {(e.field, e.rule) for e in err.value.errors}, err.value.errors


def test_all_broken_rules_are_reported_at_once(product: Product) -> None:
    data = mutate(mutate(base_application(), "establishment.siret", "1"), "cover.limit", 7)
    with pytest.raises(InvalidInput) as err:
        parse_application(data, product)
    assert {"establishment.siret", "cover.limit"} <= {e.field for e in err.value.errors}


def test_finess_is_required_for_kinds_in_the_finess_directory(product: Product) -> None:
    data = mutate(base_application("pharmacie"), "establishment.finess", ...)
    with pytest.raises(InvalidInput) as err:
        parse_application(data, product)
    assert ("establishment.finess", "required") in {(e.field, e.rule) for e in err.value.errors}
    # a practice is not in FINESS: no number is fine
    parse_application(mutate(base_application(), "establishment.finess", ...), product)


def test_a_hospital_needs_beds_and_an_option_open_to_its_kind(product: Product) -> None:
    data = mutate(base_application("hopital"), "establishment.beds", 0)
    with pytest.raises(InvalidInput) as err:
        parse_application(data, product)
    assert ("establishment.beds", "range") in {(e.field, e.rule) for e in err.value.errors}
    # 100 000 € is not offered to a hospital, 20 M€ not to a practice
    with pytest.raises(InvalidInput):
        parse_application(base_application("hopital", limit=100_000), product)
    with pytest.raises(InvalidInput):
        parse_application(base_application("cabinet_medical", limit=20_000_000), product)


def test_an_application_round_trips_through_plain_data(product: Product) -> None:
    app = parse_application(base_application("clinique"), product)
    assert parse_application(json.loads(json.dumps(app.to_data())), product) == app


def count_quotes(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        return int(conn.execute(sa.text("select count(*) from quotes")).scalar_one())


@pytest.mark.parametrize(
    ("case", "path", "value", "field", "rule"),
    BAD_INPUTS,
    ids=[b[0] for b in BAD_INPUTS],
)
def test_cli_bad_input_exits_2_names_the_field_and_stores_nothing(
    tmp_path: Path, cli_env: str, case: str, path: str, value: Any, field: str, rule: str
) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(
        yaml.safe_dump(mutate(base_application(), path, value), allow_unicode=True),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["quote", "price", str(f), "--save"])
    assert result.exit_code == 2, result.output
    assert field in result.output and str(f) in result.output
    assert count_quotes(cli_env) == 0


def test_cli_refuses_malformed_yaml_and_missing_files(tmp_path: Path, cli_env: str) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("establishment:\n  name: [unclosed\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["quote", "price", str(f), "--save"])
    assert result.exit_code == 2
    assert "malformed YAML at line" in result.output
    missing = runner.invoke(app, ["quote", "price", str(tmp_path / "nope.yaml"), "--save"])
    assert missing.exit_code == 2
    assert "nope.yaml: file does not exist" in missing.output
    j = tmp_path / "app.json"
    j.write_text("{not json", encoding="utf-8")
    bad_json = runner.invoke(app, ["quote", "price", str(j)])
    assert bad_json.exit_code == 2 and "malformed JSON" in bad_json.output
    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- 1\n- 2\n", encoding="utf-8")
    assert runner.invoke(app, ["quote", "price", str(not_mapping)]).exit_code == 2
    assert count_quotes(cli_env) == 0
