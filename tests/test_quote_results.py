"""The quote use cases return typed values (egide.services.quote_results) whose JSON contract is
byte for byte the one the services built as dictionaries before (issue 10, part 5).

The reference is the code that built those dictionaries, kept here as it was (`legacy_*`): each
test builds the old contract from the same input (the same assessment, the same stored row) and
compares it with what `egide quote ... --json` prints now."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from egide.cli.common import print_json
from egide.cli.main import app
from egide.clock import iso_paris
from egide.db.uow import SqlUnitOfWork
from egide.domain.application import KIND_LABELS_FR, parse_application
from egide.domain.money import cents
from egide.domain.product import Product
from egide.domain.quote import Assessment, assess
from egide.domain.quote_record import StoredQuote
from egide.services import quotes
from egide.services.quote_results import PricedQuote
from egide.services.results import contract
from tests.conftest import EXAMPLES, REPO
from tests.fakes import OPERATOR

ALL_EXAMPLES = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "cases").glob("*.yaml"))
runner = CliRunner()


# ------------------------------------------------- the dictionaries the services built before


def legacy_money(value: Decimal) -> str:
    return str(cents(value))


def legacy_assessment_to_dict(a: Assessment, product: Product) -> dict[str, Any]:
    e = a.application.establishment
    bi = product.coverages["business_interruption"]
    coverages = []
    for c in a.price.coverages:
        item: dict[str, Any] = {
            "code": c.code,
            "label": c.label,
            "limit": legacy_money(c.limit),
            "deductible": legacy_money(c.deductible),
            "sub_deductible": legacy_money(c.sub_deductible),
            "premium": legacy_money(c.premium),
            "expected_loss": legacy_money(c.expected_loss),
            "frequency": round(c.frequency, 6),
            "mean_severity": legacy_money(Decimal(repr(c.mean_severity))),
            "factors": [
                {"code": f.code, "applies_to": f.applies_to, "value": round(f.value, 4)}
                for f in c.factors
            ],
        }
        if c.code == "business_interruption":
            item["waiting_period_hours"] = int(bi.waiting_period_hours or 0)
            item["waiting_period_mode"] = bi.waiting_period_mode
            item["indemnity_period_days"] = int(bi.indemnity_period_days or 0)
        coverages.append(item)
    return {
        "product": a.product_ref,
        "model_version": a.model_version,
        "establishment": {
            "name": e.name,
            "type": e.type,
            "type_label": KIND_LABELS_FR[e.type],
            "siret": e.siret,
            "finess": e.finess,
        },
        "decision": a.underwriting.decision.value,
        "decision_label": a.underwriting.decision.label_fr,
        "reasons": [{"code": r.code, "message": r.message} for r in a.underwriting.reasons],
        "security_score": a.score.total,
        "score_factors": [
            {"code": f.code, "label": f.label, "weight": f.weight, "points": str(f.points)}
            for f in a.score.factors
        ],
        "coverages": coverages,
        "aggregate_limit": legacy_money(a.application.cover.limit),
        "deductible": legacy_money(a.application.cover.deductible),
        "expected_loss": legacy_money(a.price.expected_loss),
        "loadings": {k: legacy_money(v) for k, v in a.price.loadings.items()},
        "minimum_premium": legacy_money(a.price.minimum_premium),
        "minimum_applied": a.price.minimum_applied,
        "premium": {
            "net": legacy_money(a.price.net),
            "tax": legacy_money(a.price.tax),
            "total": legacy_money(a.price.total),
        },
        "tax": {"name": product.tax_name, "rate": str(product.tax_rate)},
        "recommendations": [
            {
                "code": r.code,
                "message": r.message,
                "premium_change": legacy_money(r.premium_change),
                "score_change": r.score_change,
            }
            for r in a.recommendations
        ],
    }


def legacy_tenant(row: StoredQuote) -> dict[str, Any]:
    return {"establishment_id": row.establishment_id, "broker_id": row.broker_id}


def legacy_shown(row: StoredQuote) -> dict[str, Any]:
    result = dict(row.result)
    result["status"] = row.status
    if row.reviewed_by:
        result["review"] = {
            "by": row.reviewed_by,
            "at": iso_paris(row.reviewed_at) if row.reviewed_at else None,
            "note": row.review_note,
        }
    return {**result, **legacy_tenant(row)}


def legacy_quote_summary(row: StoredQuote) -> dict[str, Any]:
    premium = row.result.get("premium", {})
    return {
        "quote_number": row.number,
        "status": row.status,
        "decision": row.decision,
        "establishment": {"name": row.establishment_name, "siret": row.siret},
        **legacy_tenant(row),
        "product": row.product_ref,
        "premium_total": premium.get("total"),
        "created_at": iso_paris(row.created_at),
        "valid_until": iso_paris(row.valid_until),
    }


# ------------------------------------------------------------------------------- helpers


def printed(data: Any) -> str:
    """What `print_json` writes for `data`: the CLI's one JSON serialiser."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_json(data)
    return out.getvalue()


def cli_json(*args: str) -> str:
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return done.stdout


def stored(url: str, number: str) -> StoredQuote:
    with SqlUnitOfWork.from_url(url) as uow:
        row = uow.quotes.get(number)
    assert row is not None
    return row


def application(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
def test_quote_price_json_prints_byte_for_byte_the_dictionary_built_before(
    path: Path, product: Product
) -> None:
    legacy = legacy_assessment_to_dict(
        assess(parse_application(application(path), product, str(path)), product), product
    )
    assert cli_json("quote", "price", str(path)) == printed(legacy)


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
def test_a_priced_quote_reads_back_from_its_contract_as_the_same_value(
    path: Path, product: Product
) -> None:
    priced = quotes.price_quote(application(path), product)
    assert PricedQuote.from_public(priced.public()) == priced
    assert PricedQuote.from_public(json.loads(json.dumps(priced.public()))) == priced


def test_saved_shown_reviewed_and_listed_quotes_print_the_dictionaries_built_before(
    cli_env: str, frozen_now: str
) -> None:
    numbers = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        out = cli_json("quote", "price", str(path), "--save")
        number = json.loads(out)["quote_number"]
        numbers.append(number)
        assert out == printed(legacy_shown(stored(cli_env, number)))  # as saved
        assert cli_json("quote", "show", number) == out
    referred = [n for n in numbers if stored(cli_env, n).status == "referred"]
    assert len(referred) >= 2  # the clinic and the hospital examples are referred
    approved = cli_json("quote", "approve", referred[0], "--note", "plan reçu", "--actor", "uw")
    declined = cli_json("quote", "decline", referred[1], "--note", "trop exposé")
    for number, out in ((referred[0], approved), (referred[1], declined)):
        row = stored(cli_env, number)
        assert row.reviewed_by is not None
        assert out == printed(legacy_shown(row))
        assert "review" in json.loads(out)
        assert cli_json("quote", "show", number) == out
    listed = cli_json("quote", "list", "--limit", "3")
    with SqlUnitOfWork.from_url(cli_env) as uow:
        rows = uow.quotes.find(limit=100)
    page = contract(quotes.list_quotes(SqlUnitOfWork.from_url(cli_env), OPERATOR, limit=3))
    assert listed == printed(page)
    legacy_items = [legacy_quote_summary(r) for r in rows[:3]]
    assert listed == printed({"items": legacy_items, "next_cursor": page["next_cursor"]})
    assert page["next_cursor"] is not None  # five quotes, pages of three


def test_the_demo_prints_the_dictionary_built_before(cli_env: str, frozen_now: str) -> None:
    out = cli_json(
        "quote", "price", str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"), "--save"
    )
    assert out == printed(legacy_shown(stored(cli_env, json.loads(out)["quote_number"])))
