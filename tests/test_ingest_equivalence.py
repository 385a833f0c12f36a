"""The column reader (`egide.actuarial.oed_columns`) against the row reader (`oed.read_book`): the
same book, the same arrays and the same simulation, bit for bit, on the example books and a
generated one; on hostile cells, the same acceptance and the same problems, message for message.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.actuarial.book import BookColumns
from egide.actuarial.engine import portfolio_arrays, simulate, simulate_book
from egide.actuarial.generate import generate_book
from egide.actuarial.oed import OedError, read_book, write_book
from egide.actuarial.oed_columns import (
    _NO_EDGE_BLANK,
    _SAFE_TEXT,
    portfolio_arrays_of,
    read_book_columns,
)
from egide.actuarial.systemic import load_systemic_model
from egide.domain.product import Product
from egide.domain.text import is_forbidden
from tests.conftest import EXAMPLES
from tests.fuzz_strategies import cell_values

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None)


def assert_same_columns(a: BookColumns, b: BookColumns) -> None:
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert x.type == y.type and x.to_pylist() == y.to_pylist(), f.name


def assert_same_arrays(a: Any, b: Any) -> None:
    for name in ("frequency", "mu", "sigma", "kind", "vendor", "host"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert (a.vendor_names, a.host_names, a.kind_names) == (
        b.vendor_names,
        b.host_names,
        b.kind_names,
    )
    for f in fields(a.terms):
        assert np.array_equal(getattr(a.terms, f.name), getattr(b.terms, f.name)), f.name
    assert a.expected_loss == b.expected_loss


def both(path: Path, product: Product) -> tuple[Any, Any]:
    """What each reader makes of the file: its book, or its OedError's problems."""
    try:
        rows: Any = BookColumns.from_entries(read_book(path, product))
    except OedError as exc:
        rows = exc.problems
    try:
        columns: Any = read_book_columns(path, product)
    except OedError as exc:
        columns = exc.problems
    return rows, columns


def assert_same_reading(path: Path, product: Product) -> Any:
    rows, columns = both(path, product)
    if isinstance(rows, list):
        assert columns == rows
    else:
        assert isinstance(columns, BookColumns), columns
        assert_same_columns(columns, rows)
    return rows


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, product: Product) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("generated")
    book = generate_book(3000, 11, product)
    return {s: write_book(book, folder / f"book.{s}", product) for s in ("csv", "parquet")}


@pytest.mark.parametrize("name", ["book-small.csv", "book-small.parquet", "csv", "parquet"])
def test_a_book_read_by_columns_simulates_bit_for_bit_as_read_by_rows(
    name: str, product: Product, generated: dict[str, Path]
) -> None:
    path = generated[name] if name in generated else EXAMPLES / name
    entries = read_book(path, product)
    columns = read_book_columns(path, product)
    assert_same_columns(columns, BookColumns.from_entries(entries))
    arrays = portfolio_arrays_of(columns, product)
    assert_same_arrays(arrays, portfolio_arrays(entries, product))
    systemic = load_systemic_model()
    by_rows = simulate_book(entries, product, 400, 17, block_years=150, systemic=systemic)
    by_columns = simulate(arrays, 400, 17, block_years=150, systemic=systemic)
    for f in fields(by_rows.ylt):
        assert np.array_equal(getattr(by_rows.ylt, f.name), getattr(by_columns.ylt, f.name))
    assert np.array_equal(by_rows.systemic_event_loss, by_columns.systemic_event_loss)
    assert by_rows.to_json() == by_columns.to_json()
    assert by_rows.aal > 0


def test_a_book_has_one_fingerprint_in_csv_parquet_or_entries(
    product: Product, generated: dict[str, Path]
) -> None:
    from_csv = read_book_columns(generated["csv"], product).fingerprint()
    from_parquet = read_book_columns(generated["parquet"], product).fingerprint()
    entries = read_book(generated["csv"], product)
    assert from_csv == from_parquet == BookColumns.from_entries(entries).fingerprint()
    assert BookColumns.from_entries(entries[1:]).fingerprint() != from_csv
    swapped = [entries[1], entries[0], *entries[2:]]
    assert BookColumns.from_entries(swapped).fingerprint() != from_csv


# ---------------------------------------------------------------- hostile cells

with (EXAMPLES / "book-small.csv").open(encoding="utf-8", newline="") as _fh:
    BOOK = list(csv.reader(_fh))[:9]  # the header and 8 rows: every kind of column
HEADER = BOOK[0]

# Spellings at the edges of what the column reader decides alone (patterns, ranges, keys).
EDGES = [
    "5000000000",
    "5000000000.0",
    "5000000000.0000001",
    "4999999999.9999999",
    "0.00000000000000000001",
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1e3",
    "1E3",
    "012",
    "12.0",
    "12.00",
    "12.5",
    "+12",
    " 12",
    "12 ",
    "\u00a012",
    "12\u2003",
    "\x1c12",
    "200000",
    "200001",
    "100000000",
    "100000001",
    "3650",
    "3651",
    "1",
    "1.0",
    "0",
    "True",
    "false",
    "TRUE",
    "yes",
    "2A004",
    "2Axyz",
    "2B000",
    "75001",
    "7500",
    "750011",
    "54458049100196",
    "54458049100197",
    "5445804910019",
    "00054458049100196",
    "35600000000048",
    "35600000000049",
    "2A0094381",
    "2A0094382",
    "2B0094381",
    "750000001",
    "750000002",
    "x" * 200,
    "x" * 201,
    "Clinique\u00adSoft",
    "Clinique\u200bZero",
    "Clinique\u00a0Sainte-Anne",
    "Pharmacie d\u2019Orsay",
    "Centre Œ",
    "NPBI",
    "NPBI;EXT",
    "NPBI; EXT ;",
    "CBI",
    "npbi",
    "EUR",
    "eur",
    "USD",
    "0.5",
    "90",
    "90.0",
    "100000",
    "250000",
    "1000000",
    "500",
    "siret",
    "SIRET",
    "hopital",
    "ehpad",
    "cabinet_medical",
    "EG0000001",
]


def cells() -> st.SearchStrategy[str]:
    return st.one_of(cell_values(), st.sampled_from(EDGES))


def book_file(folder: Path, changes: list[tuple[int, str, str]]) -> Path:
    rows = [list(r) for r in BOOK]
    for row, column, cell in changes:
        if column not in rows[0]:  # a column our files leave out (PolLimitCBI...)
            for r in rows:
                r.append(column if r is rows[0] else "")
        rows[row][rows[0].index(column)] = cell
    path = folder / "book.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@FUZZ
@given(
    changes=st.lists(
        st.tuples(st.integers(1, len(BOOK) - 1), st.sampled_from(HEADER), cells()),
        min_size=1,
        max_size=3,
    )
)
def test_hostile_cells_are_accepted_or_refused_by_columns_exactly_as_by_rows(
    changes: list[tuple[int, str, str]],
) -> None:
    from egide.domain.product import load_product

    product = load_product()
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_reading(book_file(Path(tmp), changes), product)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    row=st.integers(0, 7),
    column=st.sampled_from(
        [
            "AnnualRevenue",
            "NumberOfEmployees",
            "NumberOfRecords",
            "CompanyIDCode1",
            "LayerAggLimit",
            "LayerLimit",
            "PolDed",
            "PolLimitNPBI",
            "PolDedEXT",
            "BIWaitingPeriod",
            "BIPOI",
            "LayerParticipation",
        ]
    ),
    value=st.one_of(
        st.floats(),
        st.sampled_from([-0.0, 0.0, 5e9, 5e9 + 1e-6, 4999999999.999999, 1e300, 2.5e5, 1e16]),
        st.integers(-(2**40), 2**50).map(float),
    ),
)
def test_hostile_numbers_of_a_parquet_file_are_read_by_columns_as_by_rows(
    row: int, column: str, value: float
) -> None:
    from egide.domain.product import load_product

    product = load_product()
    frame = pd.read_parquet(EXAMPLES / "book-small.parquet").head(8)
    frame[column] = frame[column].astype("float64")
    frame.loc[row, column] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.parquet"
        frame.to_parquet(path, index=False)
        assert_same_reading(path, product)


def test_typed_and_missing_columns_are_read_by_columns_as_by_rows(
    tmp_path: Path, product: Product
) -> None:
    frame = pd.read_parquet(EXAMPLES / "book-small.parquet").head(20)
    cases = {
        "bools": frame.assign(FlexiAccEdr=frame["FlexiAccEdr"] == "1"),
        "ints": frame.assign(
            FlexiAccCriticalPatchDays=frame["FlexiAccCriticalPatchDays"].astype(int)
        ),
        "nullable": frame.assign(FlexiAccBeds=pd.array([None] * 20, dtype="Int64")),
        "category": frame.assign(FlexiAccKind=frame["FlexiAccKind"].astype("category")),
        "no sub-limit column": frame.drop(columns=["FlexiPolSublimitsChosen"]),
        "no PolNumber": frame.drop(columns=["PolNumber"]),
        "repeated policy": frame.assign(PolNumber=["EG1"] * 20),
        "int policy numbers": frame.assign(PolNumber=range(20), AccNumber=range(20)),
    }
    outcomes = set()
    for name, case in cases.items():
        path = tmp_path / f"{name}.parquet"
        case.to_parquet(path, index=False)
        rows = assert_same_reading(path, product)
        outcomes.add(isinstance(rows, list))
    assert outcomes == {True, False}  # some refused, some accepted


def test_a_malformed_file_is_refused_by_both_readers_with_the_same_problem(
    tmp_path: Path, product: Product
) -> None:
    short = tmp_path / "short.csv"
    short.write_text(",".join(HEADER) + "\n" + ",".join(BOOK[1][:5]) + "\n", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\n\x00\x01")
    twice = tmp_path / "twice.csv"
    twice.write_text("PolNumber, PolNumber\nA,B\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path in (short, binary, twice, empty, tmp_path / "missing.csv", tmp_path / "book.xlsx"):
        rows, columns = both(path, product)
        assert isinstance(rows, list) and rows and columns == rows, path
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    assert assert_same_reading(header_only, product).n_policies == 0


# ---------------------------------------------------------------- the column reader's own rules


def single_characters(codes: range) -> Any:
    return pa.array([chr(c) for c in codes if not 0xD800 <= c <= 0xDFFF], pa.string())


def test_the_safe_text_pattern_admits_only_characters_free_text_accepts() -> None:
    chars = single_characters(range(0x30000))
    safe = pc.match_substring_regex(chars, _SAFE_TEXT).to_pylist()
    admitted = [c for c, ok in zip(chars.to_pylist(), safe, strict=True) if ok]
    assert admitted and all(not is_forbidden(c) and c.strip() == c for c in admitted)
    assert {"é", "’", "Œ", "€"} <= set(admitted)
    assert "\u00ad" not in admitted and "\u200b" not in admitted
    inside = pa.array([f"a{c}b" for c in chars.to_pylist()], pa.string())
    between = pc.match_substring_regex(inside, _SAFE_TEXT).to_pylist()
    spaces = [c for c, ok in zip(chars.to_pylist(), between, strict=True) if ok]
    assert set(spaces) == set(admitted) | {" ", "\u00a0"}
    edges = pa.array([" a", "a ", "\u00a0a", "a\u00a0", ""], pa.string())
    assert not any(pc.match_substring_regex(edges, _SAFE_TEXT).to_pylist())


def test_the_edge_pattern_admits_no_character_python_strips() -> None:
    chars = single_characters(range(0x30000))
    edge = pc.match_substring_regex(chars, _NO_EDGE_BLANK).to_pylist()
    admitted = [c for c, ok in zip(chars.to_pylist(), edge, strict=True) if ok]
    assert admitted and all(c.strip() == c for c in admitted)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.tuples(
        st.text("0123456789", min_size=1, max_size=15),
        st.text("0123456789", min_size=1, max_size=20),
    ).map(".".join)
)
def test_arrow_reads_a_plain_amount_as_python_reads_it(text: str) -> None:
    from decimal import Decimal

    arrow = pa.array([text]).cast(pa.float64())[0].as_py()
    assert arrow == float(Decimal(text))


# ---------------------------------------------------------------- the edges, column by column


def luhn_completed(body: str) -> str:
    """`body` and the digit that makes its Luhn key right."""
    from egide.domain.identifiers import luhn_valid

    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def wrong_key(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def edge_cases() -> list[tuple[int, str, str]]:
    """(row, column, cell): spellings at the edge of each rule the column reader decides alone."""
    siret = luhn_completed("0445804910019")  # 14 digits, a leading zero
    la_poste = next(
        "356000000" + f"{i:05d}"
        for i in range(100)
        if sum(int(c) for c in "356000000" + f"{i:05d}") % 5 == 0
    )
    finess = luhn_completed("75000000")
    corsica = "2A" + luhn_completed("20000000")[2:]
    by_column: dict[str, list[str]] = {
        "AnnualRevenue": [
            "5000000000",
            "5000000000.0",
            "5000000000.0000001",
            "4999999999.9999999",
            "0.00000000000000000001",
            "0",
            "0.0",
            "-0",
            "1e3",
            "1E3",
            " 12",
            "+12",
            "١٢٣",
            "1_000",
            "12,5",
            "",
            "NaN",
            "Infinity",
            "1e400",
            "123456789012345.12345678901234567",
        ],
        "NumberOfEmployees": [
            "200000",
            "200001",
            "12.0",
            "12.00",
            "12.5",
            "012",
            "1e3",
            "-0",
            "+12",
            "",
            "١٢",
            "0.0",
            "999999999999999",
            "9999999999999999",
        ],
        "NumberOfRecords": ["100000000", "100000001", "12.0", "0", "1e8", "", "-1"],
        "CompanyIDCode1": [
            siret,
            siret[1:],
            wrong_key(siret),
            "000" + siret[1:],
            "0" * 20 + siret[1:],
            la_poste,
            wrong_key(la_poste),
            "".join(chr(0x660 + int(c)) for c in siret),
            siret[1:] + ".0",
            "",
            "1e13",
            "x" * 41,
            siret + "0",
        ],
        FINESS_COLUMN: [
            finess,
            wrong_key(finess),
            corsica,
            corsica.replace("2A", "2B"),
            corsica.replace("2A", "2a"),
            "",
            "12345678",
            finess + "1",
        ],
        "PostalCode": ["75001", "2A004", "2Axyz", "7500", "750011", "", "７５００１", "7500\u200b"],
        "City": ["x" * 100, "x" * 101, "Saint-Étienne", "Lyon\u00ad", "L\u200bi", "😀", " Nice "],
        "InsuredName": [
            "x" * 200,
            "x" * 201,
            "Clinique\u00a0Sainte-Anne",
            "Pharmacie d’Orsay",
            "Œ",
            "Soft\u00adhyphen",
            "Zero\u200bwidth",
            "😀",
            "\u00a0Edge",
            "",
            "\x1c",
            "诊所",
        ],
        "FlexiAccEdr": ["1", "0", "1.0", "0.0", "True", "TRUE", "yes", "", "-0.0", " 1"],
        "FlexiAccPgssiSCompliant": ["", "1", "x"],
        "FlexiAccMedicalDevicesSegmented": ["", "1", "0", "2"],
        "FlexiAccBeds": ["0", "1", "10000", "10001", "", "1.0", "abc"],
        "FlexiAccCriticalPatchDays": ["3650", "3651", "", "0", "12.0", "-1"],
        "FlexiAccSecurityBudgetShare": ["1", "1.0000000001", "0", "-0", "", "0.5", "1e-3"],
        "FlexiAccIncidentsLast5Years": ["", "0", "1000", "1001", "2.0"],
        "FlexiAccRansomwareLast5Years": ["", "1", "3", "1000"],
        "FlexiAccKnownCircumstances": ["", "1", "x"],
        "FlexiAccKind": ["clinique", "hopital", "ehpad", "pharmacie", "imagerie", "x", ""],
        "LayerAggLimit": ["100000", "100000.00", "1e5", "250000", "20000000", "0", "", "1e20"],
        "LayerLimit": ["0", "", "100000", "250000"],
        "PolDed": ["500", "0", "100000", "", "-0", "500.0000000001"],
        "PolLimitEXT": ["50000", "25000", "100000", "", "0", "50000.004"],
        "PolLimitNPBI": ["100000", "50000", "", "1e5"],
        "PolLimitCBI": ["", "0", "1"],
        "PolDedEXT": ["0", "", "0.0", "1"],
        "FlexiPolSublimitsChosen": ["", "EXT", "NPBI", "CBI", " EXT ; ", "ext", "EXT;EXT"],
        "BIWaitingPeriod": ["0.5", "", "0.50", "12/24", "1"],
        "BIPOI": ["90", "90.0", "", "91"],
        "LayerParticipation": ["1", "", "0.5", "1.00"],
        "LayerAttachment": ["0", "", "-0", "1"],
        "AccCurrency": ["EUR", "", "eur", "USD"],
        "PolNumber": ["", " EG0000001 ", "EG0000002"],
        "FlexiAccSoftwareVendor": ["", " v "],
    }
    rows = (1, 2, 6)  # a practice with a chosen sub-limit, a pharmacy, a clinic with beds
    return [
        (rows[i % 3], column, cell)
        for column, values in by_column.items()
        for i, cell in enumerate(values)
    ]


FINESS_COLUMN = "FlexiAccFiness"


def test_each_rule_at_its_edges_is_decided_by_columns_as_by_rows(
    tmp_path: Path, product: Product
) -> None:
    accepted = refused = 0
    for row, column, cell in edge_cases():
        rows = assert_same_reading(book_file(tmp_path, [(row, column, cell)]), product)
        if isinstance(rows, list):
            refused += 1
        else:
            accepted += 1
    assert accepted > 60 and refused > 60, (accepted, refused)
