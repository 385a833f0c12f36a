"""The product and risk model files: loaded, and refused with file, field and rule when wrong."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, KINDS, Product, load_product

PRODUCTS = Path(str(resources.files("egide.products")))


def copy_product(tmp_path: Path) -> tuple[Path, Path]:
    p = tmp_path / "product.toml"
    m = tmp_path / "risk-model-v1.toml"
    shutil.copy(PRODUCTS / "cyber-sante-v1.toml", p)
    shutil.copy(PRODUCTS / "risk-model-v1.toml", m)
    return p, m


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first match of the regular expression `old` (values may be recalibrated)."""
    text = path.read_text(encoding="utf-8")
    changed, n = re.subn(old, new, text, count=1, flags=re.S)
    assert n == 1, old
    path.write_text(changed, encoding="utf-8")


def test_the_packaged_product_offers_the_required_options(product: Product) -> None:
    assert tuple(product.coverages) == COVERAGES
    aggregates = {int(o.amount) for o in product.aggregate_options}
    assert {
        100_000,
        250_000,
        500_000,
        1_000_000,
        2_000_000,
        5_000_000,
        10_000_000,
        20_000_000,
    } <= aggregates
    deductibles = {int(o.amount) for o in product.deductible_options}
    assert {0, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000} <= deductibles
    for kind in KINDS:
        assert product.aggregate_amounts(kind) and product.deductible_amounts(kind)
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    assert product.tax_rate > 0 and "1001" in product.tax_source


def test_every_model_parameter_table_carries_a_source() -> None:
    text = (PRODUCTS / "risk-model-v1.toml").read_text(encoding="utf-8")
    tables = [line for line in text.splitlines() if line.startswith("[") and line != "[model]"]
    blocks = text.split("\n[")
    assert len(tables) > 20
    for block in blocks[1:]:
        header = block.split("]", 1)[0]
        if header == "model":
            continue
        assert "source" in block, f"[{header}] has no source"


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "rule"),
    [
        ("product", r'rate = "[0-9.]+"', 'rate = "1.5"', "tax.rate", "must be <= 1"),
        (
            "product",
            r"\[coverages.cyber_extortion\]",
            "[coverages.cyber_extorsion]",
            "coverages.cyber_extortion",
            "is required",
        ),
        (
            "product",
            r"amount = 250000\n",
            "amount = 50000\n",
            "aggregate_limit.options",
            "increasing order",
        ),
        (
            "product",
            r'kinds = \["hopital"\]',
            'kinds = ["hospital"]',
            "aggregate_limit.options[7].kinds",
            "must be a non-empty list of kinds",
        ),
        (
            "product",
            r'waiting_period_mode = "time_deductible"',
            'waiting_period_mode = "sometimes"',
            "coverages.business_interruption.waiting_period_mode",
            "must be one of",
        ),
        (
            "product",
            r'profit_and_risk = "[0-9.]+"',
            'profit_and_risk = "0.70"',
            "loadings",
            "must be < 1",
        ),
        (
            "model",
            r'(\[controls.edr\].*?frequency = \{ business_interruption = )"[0-9.]+"',
            r'\1"0.9"',
            "controls.edr.frequency.business_interruption",
            "must be >= 1",
        ),
        (
            "model",
            r"(\[controls.mfa_remote_access\].*?score_weight = )\d+",
            r"\g<1>99",
            "controls.*.score_weight",
            "must add up to 100",
        ),
        (
            "model",
            r'(\[kinds.centre_de_sante\].*?base_frequency = )"[0-9.]+"',
            r'\1"-1"',
            "kinds.centre_de_sante.base_frequency",
            "must be > 0",
        ),
    ],
)
def test_a_broken_product_is_refused_naming_file_field_and_rule(
    tmp_path: Path, file: str, old: str, new: str, field: str, rule: str
) -> None:
    p, m = copy_product(tmp_path)
    edit(p if file == "product" else m, old, new)
    with pytest.raises(ProductError) as err:
        load_product(p)
    assert str(p if file == "product" else m) in str(err.value)
    assert err.value.field == field
    assert rule in err.value.rule


def test_malformed_toml_and_missing_files_are_refused(tmp_path: Path) -> None:
    p, _ = copy_product(tmp_path)
    p.write_text("[product\ncode = 1", encoding="utf-8")
    with pytest.raises(ProductError, match="is not valid TOML"):
        load_product(p)
    with pytest.raises(ProductError, match="does not exist"):
        load_product(tmp_path / "nope.toml")
    (tmp_path / "x").mkdir()
    p2, m2 = copy_product(tmp_path / "x")
    m2.unlink()
    with pytest.raises(ProductError, match=r"risk-model-v1.toml: \(file\): does not exist"):
        load_product(p2)


def test_product_check_command_reports_ok_or_the_broken_rule(tmp_path: Path) -> None:
    p, _ = copy_product(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(app, ["product", "check", str(p)])
    assert ok.exit_code == 0, ok.output
    assert "egide-cyber-sante@2026.1" in ok.output
    edit(p, r'rate = "[0-9.]+"', 'rate = "abc"')
    bad = runner.invoke(app, ["product", "check", str(p)])
    assert bad.exit_code == 2
    assert "tax.rate" in bad.output and "must be a number" in bad.output
