"""The calibration of risk model v2 held inside bands stated from the public sources (not from
the model's own outputs): ANSSI's ~15 hospital ransomware attacks a year, CERT Santé's 40
declared ransomware, the Cour des comptes' cost of a major hospital attack, the French cyber
market (AMRAE LUCY: 317 MEUR) and the price of a practice's cover (314-439 EUR TTC for 100 kEUR).
docs/calibration.md states each band and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from egide.actuarial.calibration import ANCHORS, REFERENCES, calibration
from egide.cli.main import app
from egide.domain.application import parse_application
from egide.domain.errors import ProductError
from egide.domain.product import KINDS, Product, load_product
from egide.domain.rating import price
from tests.conftest import EXAMPLES

PRODUCTS = Path(__file__).resolve().parents[1] / "src" / "egide" / "products"
ANSSI_HOSPITAL_RANSOMWARE = 15.0  # a year, hospitals and clinics (Cour des comptes 2024)
CERT_SANTE_RANSOMWARE = 40.0  # declared a year (ANS / CERT Santé 2024)
FRENCH_CYBER_MARKET = 317e6  # EUR of premiums, 2024 (AMRAE LUCY 2025)
MAJOR_HOSPITAL_ATTACK = 30e6  # EUR: up to 10 MEUR of crisis + 20 MEUR of lost revenue
PRACTICE_PRICE = (314.0, 439.0)  # EUR TTC for 100 kEUR


@pytest.fixture(scope="module")
def v2() -> Product:
    return load_product(PRODUCTS / "cyber-sante-v2.toml")


@pytest.fixture(scope="module")
def table(v2: Product) -> dict[str, Any]:
    return calibration(v2)


def test_the_table_has_the_contract_keys_for_every_kind(table: dict[str, Any]) -> None:
    keys = {
        "establishments_in_france",
        "frequency",
        "claims_per_year",
        "claims_over_1m_per_year",
        "expected_loss_national",
        "premium_national",
        "reference",
    }
    assert set(table["kinds"]) == set(KINDS)
    for kind, figures in table["kinds"].items():
        assert keys <= set(figures), kind
        assert figures["claims_per_year"] == pytest.approx(
            figures["establishments_in_france"] * figures["frequency"]
        )
        assert figures["establishments_source"]
    assert {a["name"] for a in table["anchors"]} == {a["name"] for a in ANCHORS}
    assert all(a["source"] for a in table["anchors"])


def test_hospital_and_clinic_ransomware_is_of_the_order_of_anssis_count(
    table: dict[str, Any],
) -> None:
    """Within a factor 2 of ANSSI's count (which misses some attacks, and counts some without
    a claim above the deductible)."""
    value = table["totals"]["hospital_and_clinic_ransomware_per_year"]
    assert ANSSI_HOSPITAL_RANSOMWARE / 2 <= value <= ANSSI_HOSPITAL_RANSOMWARE * 2


def test_hospital_claims_above_a_million_are_of_the_order_of_the_ransomware_attacks(
    table: dict[str, Any],
) -> None:
    """v1 implied about 65 a year; ransomware is what costs a hospital more than 1 MEUR, so the
    count sits near ANSSI's ~15 attacks (a third to twice)."""
    value = table["kinds"]["hopital"]["claims_over_1m_per_year"]
    assert ANSSI_HOSPITAL_RANSOMWARE / 3 <= value <= ANSSI_HOSPITAL_RANSOMWARE * 2


def test_the_national_hospital_premium_is_well_under_the_whole_cyber_market(
    table: dict[str, Any],
) -> None:
    """v1 implied 1.8 x the whole market; hospitals are one sector of it: at most half."""
    assert table["kinds"]["hopital"]["premium_national"] <= 0.5 * FRENCH_CYBER_MARKET


def test_establishments_ransomware_is_within_reach_of_cert_santes_declarations(
    table: dict[str, Any],
) -> None:
    """The kinds bound to declare to CERT Santé (establishments, labs, centres, EHPAD, imaging):
    between half and 2.5 x the 40 declared a year (declaration is incomplete outside hospitals)."""
    bound = ("hopital", "clinique", "laboratoire", "centre_de_sante", "ehpad", "imagerie")
    value = sum(table["kinds"][k]["ransomware_per_year"] for k in bound)
    assert CERT_SANTE_RANSOMWARE / 2 <= value <= CERT_SANTE_RANSOMWARE * 2.5


def test_a_bad_hospital_ransomware_costs_millions_but_no_more_than_the_worst_reported(
    table: dict[str, Any],
) -> None:
    cost = table["kinds"]["hopital"]["ransomware_cost_1_in_20"]
    assert 1e6 <= cost <= MAJOR_HOSPITAL_ATTACK


def test_the_practice_with_good_hygiene_pays_the_market_price(v2: Product) -> None:
    import yaml

    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    assert data["cover"]["limit"] == 100_000
    quote = price(parse_application(data, v2), v2)
    low, high = PRACTICE_PRICE
    assert low <= float(quote.total) <= high


def test_every_reference_is_a_valid_application_of_its_kind(v2: Product) -> None:
    for kind, ref in REFERENCES.items():
        assert ref.kind == kind
        assert ref.limit in [int(a) for a in v2.aggregate_amounts(kind)]
        assert ref.deductible in [int(d) for d in v2.deductible_amounts(kind)]


def test_calibration_refuses_a_v1_product() -> None:
    with pytest.raises(ProductError):
        calibration(load_product(PRODUCTS / "cyber-sante-v1.toml"))


def test_the_command_prints_the_table_as_json() -> None:
    result = CliRunner().invoke(app, ["model", "calibration", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) >= {"kinds", "anchors"}
    assert payload["kinds"]["hopital"]["establishments_in_france"] == 1_329


def test_docs_calibration_md_shows_the_table_the_command_prints(table: dict[str, Any]) -> None:
    """docs/calibration.md quotes the figures of `egide model calibration` (refreshed by hand):
    counts, claims a year and national premiums, to their printed rounding."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "calibration.md").read_text("utf-8")
    for kind, k in table["kinds"].items():
        line = next(x for x in text.splitlines() if x.startswith(f"| {kind} | ") and "M€" in x)
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert int(cells[1].replace(" ", "")) == k["establishments_in_france"], kind
        assert float(cells[3]) == pytest.approx(k["claims_per_year"], abs=0.051), kind
        assert float(cells[4]) == pytest.approx(k["claims_over_1m_per_year"], abs=0.0051), kind
        assert float(cells[5]) == pytest.approx(k["ransomware_per_year"], abs=0.051), kind
        national = float(cells[10].split()[0])
        assert national == pytest.approx(k["premium_national"] / 1e6, abs=0.051), kind
