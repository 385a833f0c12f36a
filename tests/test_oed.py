"""OED v4 cyber account export and import of a book."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from egide.actuarial.book import BookEntry
from egide.actuarial.generate import generate_book
from egide.actuarial.oed import (
    ACCOUNT_COLUMNS,
    FLEXI_COLUMNS,
    FLEXI_SUBLIMITS,
    OedError,
    book_to_frame,
    check_oed,
    read_book,
    write_book,
)
from egide.cli.book_cmd import app
from egide.domain.application import Application
from egide.domain.product import COVERAGES, Product
from egide.domain.rating import policy_terms
from tests.conftest import SHARED_DATA

OED_FIELDS = SHARED_DATA / "oed-v4" / "OEDInputFields.csv"


@pytest.fixture(scope="module")
def small_book(product: Product) -> list[BookEntry]:
    return generate_book(60, seed=11, product=product)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_book_survives_an_oed_round_trip(
    tmp_path: Path, product: Product, small_book: list[BookEntry], suffix: str
) -> None:
    path = write_book(small_book, tmp_path / f"book{suffix}", product)
    assert read_book(path, product) == small_book


def test_csv_and_parquet_carry_the_same_columns_and_values(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    csv = pd.read_csv(
        write_book(small_book, tmp_path / "b.csv", product), dtype=str, keep_default_na=False
    )
    pq = pd.read_parquet(write_book(small_book, tmp_path / "b.parquet", product))
    assert list(csv.columns) == list(pq.columns) == list(ACCOUNT_COLUMNS)
    assert csv["CompanyIDCode1"].tolist() == [str(v) for v in pq["CompanyIDCode1"]]
    assert [Decimal(v) for v in csv["AnnualRevenue"]] == [
        Decimal(repr(v)) for v in pq["AnnualRevenue"]
    ]


def test_every_standard_column_is_an_oed_account_field_open_to_cyber() -> None:
    fields = pd.read_csv(OED_FIELDS)
    acc = fields[fields["File Name"].str.contains("Acc")]
    status = {
        name.replace("XX", "1"): str(s)
        for name, s in zip(acc["Input Field Name"], acc["Cyber field status"], strict=True)
    }
    for column in ACCOUNT_COLUMNS:
        if column in FLEXI_COLUMNS:
            assert column.startswith(("FlexiAcc", "FlexiPol"))
            continue
        assert column in status, column
        assert status[column] in ("R", "O", "CR"), (column, status[column])
    required = {name for name, s in status.items() if s == "R"}
    assert required <= set(ACCOUNT_COLUMNS), required - set(ACCOUNT_COLUMNS)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_exported_file_passes_ods_tools_checks(
    tmp_path: Path, product: Product, small_book: list[BookEntry], suffix: str
) -> None:
    path = write_book(small_book, tmp_path / f"account{suffix}", product)
    assert check_oed(path) == []


def test_export_states_the_terms_in_force_for_an_oed_reader(
    product: Product, small_book: list[BookEntry]
) -> None:
    frame = book_to_frame(small_book, product)
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    for entry, (_, row) in zip(small_book, frame.iterrows(), strict=True):
        app = entry.application
        terms = policy_terms(app, product)
        for code in COVERAGES:
            oed = product.coverages[code].oed_code
            assert Decimal(repr(row[f"PolLimit{oed}"])) == terms.coverages[code].limit
            assert Decimal(repr(row[f"PolDed{oed}"])) == terms.coverages[code].sub_deductible
        assert Decimal(repr(row["PolDed"])) == app.cover.deductible
        assert Decimal(repr(row["LayerAggLimit"])) == app.cover.limit
        # OED states the BI periods in days; the product in hours (waiting) and days (indemnity)
        assert Decimal(repr(row["BIWaitingPeriod"])) * 24 == bi.waiting_period_hours
        assert Decimal(repr(row["BIPOI"])) == bi.indemnity_period_days
        assert row["CompanyIDCode1"] == int(app.establishment.siret)


def _write_frame(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_invalid_row_is_named_by_row_account_policy_and_column(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    frame = book_to_frame(small_book[:5], product).astype(object)
    frame.loc[2, "FlexiAccEdr"] = "maybe"
    frame.loc[3, "CompanyIDCode1"] = "12345678901234"  # Luhn fails
    path = _write_frame(frame, tmp_path / "bad.csv")
    with pytest.raises(OedError) as info:
        read_book(path, product)
    problems = {(row, err.field.split(" ")[0], err.rule) for row, _, _, err in info.value.problems}
    assert (3, "FlexiAccEdr", "type") in problems
    assert (4, "CompanyIDCode1", "siret") in problems
    message = str(info.value)
    assert f"AccNumber {small_book[2].policy_number!r}" in message
    assert f"PolNumber {small_book[3].policy_number!r}" in message


def test_a_limit_not_offered_to_the_kind_is_refused_naming_the_oed_column(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    entry = small_book[0]
    kind = entry.application.establishment.type
    offered = set(product.aggregate_amounts(kind))
    refused = next(o.amount for o in product.aggregate_options if o.amount not in offered)
    frame = book_to_frame([entry], product).astype(object)
    frame.loc[0, "LayerAggLimit"] = str(refused)
    frame.loc[0, "LayerLimit"] = str(refused)
    with pytest.raises(OedError) as info:
        read_book(_write_frame(frame, tmp_path / "b.csv"), product)
    fields = [err.field for *_, err in info.value.problems]
    assert any(f.startswith("LayerAggLimit (cover.limit)") for f in fields), fields


def test_terms_the_product_does_not_have_are_refused(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    frame = book_to_frame(small_book[:1], product).astype(object)
    frame["PolLimitCBI"] = "100000"
    frame.loc[0, "LayerParticipation"] = "0.5"
    frame.loc[0, "BIWaitingPeriod"] = "2"
    with pytest.raises(OedError) as info:
        read_book(_write_frame(frame, tmp_path / "b.csv"), product)
    columns = {err.field for *_, err in info.value.problems}
    assert {"PolLimitCBI", "LayerParticipation", "BIWaitingPeriod"} <= columns


def test_sub_limit_that_is_not_the_one_in_force_is_refused(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    entry = next(e for e in small_book if not e.application.cover.sublimits)
    frame = book_to_frame([entry], product).astype(object)
    frame.loc[0, "PolLimitEXT"] = str(product.coverages["cyber_extortion"].limit_options[0] + 1)
    with pytest.raises(OedError) as info:
        read_book(_write_frame(frame, tmp_path / "b.csv"), product)
    assert any(err.field == "PolLimitEXT" for *_, err in info.value.problems)


def test_file_from_elsewhere_without_the_flexi_sublimit_list_infers_chosen_sublimits(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    entries = [e for e in small_book if e.application.cover.sublimits][:3] + small_book[:3]
    frame = book_to_frame(entries, product).drop(columns=[FLEXI_SUBLIMITS])
    path = tmp_path / "b.parquet"
    frame.to_parquet(path, index=False)
    back = read_book(path, product)
    for original, read in zip(entries, back, strict=True):
        # a chosen sub-limit equal to the default one cannot be told apart: same terms in force
        assert policy_terms(read.application, product) == policy_terms(
            original.application, product
        )


def test_repeated_policy_numbers_are_refused(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    frame = book_to_frame([small_book[0], small_book[0]], product)
    with pytest.raises(OedError) as info:
        read_book(_write_frame(frame, tmp_path / "b.csv"), product)
    assert [(row, err.rule) for row, *_, err in info.value.problems] == [(2, "unique")]


def test_missing_or_foreign_file_is_an_error_naming_it(tmp_path: Path, product: Product) -> None:
    with pytest.raises(OedError, match="does not exist"):
        read_book(tmp_path / "nope.csv", product)
    (tmp_path / "book.xlsx").write_text("x")
    with pytest.raises(OedError, match=r"\.csv or \.parquet"):
        read_book(tmp_path / "book.xlsx", product)


# --------------------------------------------------------------------------- property


def _kind_apps(product: Product) -> st.SearchStrategy[Application]:
    """Random valid applications: a generated one, its cover and controls redrawn."""
    base = generate_book(40, seed=3, product=product)

    @st.composite
    def build(draw: st.DrawFn) -> Application:
        app = draw(st.sampled_from(base)).application
        kind = app.establishment.type
        limit = draw(st.sampled_from(product.aggregate_amounts(kind)))
        deductible = draw(st.sampled_from(product.deductible_amounts(kind)))
        sublimits = {}
        for code in draw(st.sets(st.sampled_from(COVERAGES), max_size=3)):
            options = [o for o in product.coverages[code].limit_options if o <= limit]
            if options:
                sublimits[code] = draw(st.sampled_from(options))
        app = app.with_cover(limit=limit, deductible=deductible, sublimits=sublimits)
        return app.with_security(
            edr=draw(st.booleans()),
            critical_patch_days=draw(st.integers(0, 3650)),
            security_budget_share=draw(st.decimals(0, 1, places=4)),
            medical_devices_segmented=draw(st.none() | st.booleans()),
            care_programme=draw(st.booleans()),
        )

    return build()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_applications_survive_the_round_trip(
    tmp_path_factory: pytest.TempPathFactory, product: Product, data: st.DataObject
) -> None:
    apps = data.draw(st.lists(_kind_apps(product), min_size=1, max_size=4))
    book = [BookEntry(f"P{i}", a, "sw", "on_premises", "mail") for i, a in enumerate(apps)]
    path = write_book(book, tmp_path_factory.mktemp("rt") / "b.parquet", product)
    assert read_book(path, product) == book


# --------------------------------------------------------------------------- CLI


def test_cli_generate_export_import_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    book = tmp_path / "book.parquet"
    result = runner.invoke(app, ["generate", "--policies", "30", "--seed", "5", "-o", str(book)])
    assert result.exit_code == 0, result.output
    account = tmp_path / "account.csv"
    result = runner.invoke(app, ["export-oed", str(book), "-o", str(account)])
    assert result.exit_code == 0, result.output
    assert "ods-tools" in result.output
    again = tmp_path / "again.parquet"
    result = runner.invoke(app, ["import-oed", str(account), "-o", str(again)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["generate", "--policies", "0", "-o", "x.csv"], "--policies"),
        (["generate", "--policies", "3", "-o", "x.txt"], "--output"),
        (["import-oed", "missing.csv", "-o", "x.csv"], "does not exist"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_option_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert needle in result.output


def test_cli_import_of_an_invalid_file_exits_2_naming_row_and_column(
    tmp_path: Path, product: Product, small_book: list[BookEntry]
) -> None:
    frame = book_to_frame(small_book[:2], product).astype(object)
    frame.loc[1, "FlexiAccKind"] = "spa"
    path = _write_frame(frame, tmp_path / "bad.csv")
    result = CliRunner().invoke(app, ["import-oed", str(path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "row 2" in result.output and "FlexiAccKind" in result.output
    assert not (tmp_path / "o.csv").exists()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["book-small.csv", "book-small.parquet"])
def test_committed_example_book_is_valid_and_is_the_generator_s_output(
    product: Product, name: str
) -> None:
    """examples/book-small.* = `egide portfolio generate --policies 200 --seed 2026`."""
    assert read_book(EXAMPLES / name, product) == generate_book(200, 2026, product)
