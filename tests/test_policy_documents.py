"""The French documents of a policy: every figure printed matches the policy's record (text
extracted with pypdf, amounts formatted here independently of the renderer)."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from egide.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()
NB = "\u202f"


def eur(amount: str | Decimal) -> str:
    """'250000.00' -> '250 000,00 €' (narrow no-break spaces, also before the euro sign),
    absolute value."""
    value = abs(Decimal(amount)).quantize(Decimal("0.01"))
    whole, frac = f"{value:.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{NB.join(groups)},{frac}{NB}€"


def fr_date(iso: str) -> str:
    y, m, d = iso[:10].split("-")
    return f"{d}/{m}/{y}"


def text_of(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return re.sub(r"[ \n]+", " ", "\n".join(p.extract_text() for p in reader.pages))


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def missing(text: str, expected: list[str]) -> list[str]:
    return [e for e in expected if e not in text]


@pytest.fixture
def documents(cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    q = cli("quote", "price", str(EXAMPLES / "cabinet-medical.yaml"), "--save", "--json")
    number = cli("policy", "bind", q["quote_number"], "--json")["policy_number"]
    cli("policy", "endorse", number, "--effective", "2027-03-01", "--set", "cover.limit=250000",
        "--json")  # fmt: skip
    cli("policy", "cancel", number, "--effective", "2027-09-01", "--json")
    cli("policy", "reinstate", number, "--effective", "2027-09-15", "--json")
    files = cli("policy", "documents", number, "-o", str(tmp_path), "--json")["files"]
    return {
        "quote": q,
        "policy": cli("policy", "show", number, "--as-of", "2027-03-01", "--json"),
        "texts": {Path(f).stem.removeprefix(f"{number}-"): text_of(Path(f)) for f in files},
    }


def test_policy_documents_are_the_proposition_schedule_avenants_and_attestation(
    documents: dict[str, Any],
) -> None:
    q = documents["quote"]["quote_number"]
    assert sorted(documents["texts"]) == sorted(
        [f"proposition-{q}", "conditions-particulieres-T1", "avenant-1", "avenant-2",
         "avenant-3", "attestation"]
    )  # fmt: skip


def test_the_conditions_particulieres_print_the_figures_of_the_issued_policy(
    documents: dict[str, Any],
) -> None:
    p = documents["policy"]
    issue = p["transactions"][0]
    text = documents["texts"]["conditions-particulieres-T1"]
    assert "Conditions particulières" in text
    expected = [
        p["policy_number"],
        "Cabinet du Dr Martin",
        "73282932000074",
        fr_date(issue["period_start"]),
        fr_date(issue["period_end"]),
        fr_date(p["retroactive_date"]),
        "Base réclamation",
        eur("100000"),  # the aggregate as issued
        eur(p["deductible"]),
        eur(issue["premium_change"]["net"]),
        eur(issue["premium_change"]["tax"]),
        eur(issue["premium_change"]["total"]),
        "9 %".replace(" ", NB),
    ]
    assert not missing(text, expected)


def test_each_avenant_prints_its_change_and_its_premium_adjustment(
    documents: dict[str, Any],
) -> None:
    txs = documents["policy"]["transactions"]
    texts = documents["texts"]
    endorse, cancel, reinstate = txs[1], txs[2], txs[3]
    assert not missing(
        texts["avenant-1"],
        [
            "01/03/2027",
            eur("100000"),
            eur("250000"),
            "Plafond annuel",
            eur(endorse["premium_change"]["net"]),
            eur(endorse["premium_change"]["tax"]),
            eur(endorse["premium_change"]["total"]),
            eur(endorse["annual_premium"]["total"]),
        ],
    )
    assert not missing(
        texts["avenant-2"],
        [
            "01/09/2027",
            "Résilié",
            "À rembourser à l'assuré",
            eur(cancel["premium_change"]["total"]),
            eur(cancel["term_premium"]["total"]),
        ],
    )
    assert not missing(
        texts["avenant-3"],
        ["15/09/2027", "Remis en vigueur", eur(reinstate["premium_change"]["total"])],
    )


def test_the_attestation_and_the_proposition_match_the_policy_and_the_quote(
    documents: dict[str, Any],
) -> None:
    p, q = documents["policy"], documents["quote"]
    # the attestation is of the cover in force today (1 December 2026: before the endorsement)
    assert not missing(
        documents["texts"]["attestation"],
        [p["policy_number"], "01/12/2026", "01/12/2027", eur("100000"), "Cabinet du Dr Martin"],
    )
    assert eur("250000") not in documents["texts"]["attestation"]
    assert not missing(
        documents["texts"][f"proposition-{q['quote_number']}"],
        [
            q["quote_number"],
            eur(q["premium"]["net"]),
            eur(q["premium"]["tax"]),
            eur(q["premium"]["total"]),
            eur(q["aggregate_limit"]),
            *[eur(c["limit"]) for c in q["coverages"]],
        ],
    )


def _annual_premium_printed(text: str) -> tuple[str, str, str]:
    """(HT, tax, TTC) under « Nouvelle prime annuelle » (panel titles print in capitals)."""
    amount = rf"([\d{NB}]+,\d\d{NB}€)"
    found = re.search(
        rf"NOUVELLE PRIME ANNUELLE .*?Prime HT {amount} TSCA \(9{NB}%\) {amount} "
        rf"Prime TTC {amount}",
        text,
    )
    assert found, text
    return found.group(1), found.group(2), found.group(3)


def test_the_endorsement_and_reinstatement_avenants_print_the_annual_premium_in_force(
    documents: dict[str, Any],
) -> None:
    txs = {t["seq"]: t for t in documents["policy"]["transactions"]}
    for seq in (2, 4):  # avenant 1: the endorsement, avenant 3: the reinstatement
        annual = txs[seq]["annual_premium"]
        printed = _annual_premium_printed(documents["texts"][f"avenant-{seq - 1}"])
        assert printed == (eur(annual["net"]), eur(annual["tax"]), eur(annual["total"]))


def test_the_cancellation_avenant_prints_the_annual_premium_in_force_not_the_prorated_one(
    documents: dict[str, Any],
) -> None:
    cancel = documents["policy"]["transactions"][2]
    assert cancel["kind"] == "cancel"
    annual, term = cancel["annual_premium"], cancel["term_premium"]
    assert annual != term  # the test would prove nothing otherwise
    text = documents["texts"]["avenant-2"]
    assert _annual_premium_printed(text) == (
        eur(annual["net"]),
        eur(annual["tax"]),
        eur(annual["total"]),
    )
    assert "PRIME DE LA PÉRIODE D'ASSURANCE" in text
    assert eur(term["total"]) in text
