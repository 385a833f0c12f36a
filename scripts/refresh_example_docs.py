"""Refresh the figures of docs/examples.md and docs/model.md § Calibration checks from real runs.

Run from the repository root after changing the product or the risk model:
    .venv/bin/python scripts/refresh_example_docs.py
It rewrites the summary tables and the captured CLI outputs; prose around them is left alone.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import yaml
from rich.console import Console

from egide.cli.render import render_quote
from egide.domain.product import load_product
from egide.services.quote_results import PricedQuote
from egide.services.quotes import price_quote
from egide.services.results import contract

ROOT = Path(__file__).resolve().parent.parent
WORKED = ["cabinet-medical", "pharmacie", "laboratoire", "clinique-120-lits", "chu-1500-lits"]
ABBR = {
    "business_interruption": "BI",
    "cyber_extortion": "Extortion",
    "regulatory_investigation": "Regulatory",
    "data_liability": "Liability",
    "data_restoration": "Restoration",
    "crisis_management": "Crisis",
}


def eur(value: str) -> str:
    return f"{Decimal(value).quantize(Decimal(1)):,}".replace(",", " ")


V1 = ROOT / "src" / "egide" / "products" / "cyber-sante-v1.toml"


def quote(path: Path, product_file: Path | None = None) -> PricedQuote:
    """Priced with the default product (docs/examples.md), or `product_file` (docs/model.md's
    calibration tables are those of product 2026.1, risk model v1)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return price_quote(data, load_product(product_file))


def rendered(q: PricedQuote) -> str:
    buf = io.StringIO()
    render_quote(q, Console(file=buf, width=128, color_system=None, highlight=False))
    return buf.getvalue().rstrip("\n")


def main() -> None:
    ex_doc = ROOT / "docs" / "examples.md"
    text = ex_doc.read_text(encoding="utf-8")
    for i, name in enumerate(WORKED, 1):
        priced = quote(ROOT / "examples" / f"{name}.yaml")
        q = contract(priced)
        p = q["premium"]
        row = f"| {i}. `{name}.yaml` | {q['decision']} | {q['security_score']} | {eur(q['expected_loss'])} € | {eur(p['net'])} € | {eur(p['total'])} € |"
        text = re.sub(rf"^\| {i}\. `{re.escape(name)}\.yaml` \|.*$", row, text, flags=re.M)
        block = f"`egide quote price examples/{name}.yaml`:\n\n```\n{rendered(priced)}\n```"
        text = re.sub(
            rf"`egide quote price examples/{re.escape(name)}\.yaml`:\n\n```\n.*?\n```",
            lambda _m, b=block: b,
            text,
            flags=re.S,
        )
    ex_doc.write_text(text, encoding="utf-8")

    model_doc = ROOT / "docs" / "model.md"
    text = model_doc.read_text(encoding="utf-8")
    for name in WORKED:
        q = contract(quote(ROOT / "examples" / f"{name}.yaml", V1))
        cells = " | ".join(
            f"{eur(c['expected_loss'])} / {eur(c['premium'])}" for c in q["coverages"]
        )
        p = q["premium"]
        row = (
            f"| `examples/{name}.yaml` | {cells} | {eur(q['expected_loss'])} | {eur(p['net'])} | "
            f"**{eur(p['total'])}** | {q['decision']}, {q['security_score']} |"
        )
        text = re.sub(rf"^\| `examples/{re.escape(name)}\.yaml` \|.*$", row, text, flags=re.M)
    for path in sorted((ROOT / "examples" / "cases").glob("*.yaml")):
        q = contract(quote(path, V1))
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cover = data["cover"]
        row = (
            f"| `examples/cases/{path.name}` | {data['establishment']['type']} | "
            f"{eur(str(cover['limit']))} / {eur(str(cover['deductible']))} | {q['security_score']} | "
            f"{q['decision']} | {eur(q['expected_loss'])} | {eur(q['premium']['total'])} |"
        )
        text = re.sub(rf"^\| `examples/cases/{re.escape(path.name)}` \|.*$", row, text, flags=re.M)
    model_doc.write_text(text, encoding="utf-8")
    print("refreshed docs/examples.md and docs/model.md tables")


if __name__ == "__main__":
    main()
