"""Reading an OED book by columns: from the file to the engine's arrays at array speed.

`egide.actuarial.oed.read_book` rebuilds every row as an `Application` through
`parse_application`, the one definition of the rules and of their messages, at about 0.2 ms a
row. `read_book_columns` reads the same file into the same values, column by column:

1. **read**: `oed.read_columns`, the cells as Arrow columns (the row reader starts there too, so
   both see the same cells);
2. **validate**: each column is checked at once, by the same rules as the row reader: a column
   with a value per policy (names, SIRET, FINESS, postcodes, cities, revenue, counts) by Arrow and
   NumPy (a pattern, a range, the Luhn key), with the values those cannot decide checked one by
   one; the other columns once per distinct value; the cover (limit, deductible, sub-limits and
   the product's fixed terms) once per distinct combination of its columns, by the row reader's
   own functions (`oed._check_policy_terms`, `_chosen_sublimits`, `_check_stated_in_force`).
   A row is accepted only when every column accepts it, and then it holds what the row reader
   would make of it (tests/test_ingest_equivalence.py holds this on hostile cells). Any other
   row goes through the row reader itself, which names its problems (the same
   `OedError.problems`: row, AccNumber, PolNumber, column and rule, in row order) or accepts it
   (an unusual but valid spelling, such as ``1e5`` for an amount);
3. the validated columns are a `BookColumns`: what the fingerprint hashes and what the engine's
   arrays are built from (`portfolio_arrays_of`), with no application per row.

Rating needs nothing per row in Python: `egide.actuarial.sim_params.parameters` computes every
policy's frequencies, severities, terms and expected loss on the arrays.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from egide.actuarial.book import FLAG_FIELDS, BookColumns, BookEntry
from egide.actuarial.engine import PortfolioArrays, arrays_from_inputs
from egide.actuarial.oed import (
    FLEXI_BEDS,
    FLEXI_CLOUD_HOST,
    FLEXI_EMAIL,
    FLEXI_FINESS,
    FLEXI_HISTORY,
    FLEXI_KIND,
    FLEXI_SECURITY,
    FLEXI_SOFTWARE,
    FLEXI_SUBLIMITS,
    NOT_OFFERED,
    OED_CYBER_COVERAGES,
    OedError,
    _check_policy_terms,
    _check_stated_in_force,
    _chosen_sublimits,
    _integral_text,
    _Row,
    _stated_limits,
    _TermsCache,
    arrow_texts,
    read_columns,
)
from egide.actuarial.oed import _cell as cell_text
from egide.actuarial.oed import _entry_from_row as entry_from_row
from egide.actuarial.systemic import SystemicInputs
from egide.domain.application import (
    BEDDED,
    FINESS_REQUIRED,
    MAX_BEDS,
    MAX_EMPLOYEES,
    MAX_RECORDS,
    MAX_REVENUE,
    OPTIONAL_SECURITY_CONTROLS,
    Application,
    Cover,
    Establishment,
    History,
    Security,
    _Collector,
)
from egide.domain.errors import FieldError
from egide.domain.identifiers import finess_problem, postcode_valid, siret_problem
from egide.domain.product import COVERAGES, KINDS, Product
from egide.domain.rating import policy_terms
from egide.domain.text import CITY_MAX, CODE_MAX, NAME_MAX

BOOL = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
ProgressFn = Callable[[int, int], None]
StageProgressFn = Callable[[str, int, int], None]  # (stage, done, total)

_BAD: Any = object()  # a value the row reader refuses

# A cell whose first and last characters are no blank of any kind is its own stripped text.
_NO_EDGE_BLANK = r"(?s)^[!-~\x{a1}-\x{167f}](?:.*[!-~\x{a1}-\x{167f}])?$"
# Characters of free text that `egide.domain.text` accepts anywhere (printable ASCII, Latin-1 and
# Latin Extended-A letters and signs but the soft hyphen, typographic quotes and dashes, the euro
# sign), and those of them that are no blank: a text of these alone, with no blank at either
# end, is its own stripped text and needs no character-by-character check.
_SAFE_SIGNS = r"\x{a1}-\x{ac}\x{ae}-\x{17f}\x{2013}\x{2014}\x{2018}\x{2019}\x{201c}\x{201d}\x{20ac}"
_SAFE_TEXT = rf"^[!-~{_SAFE_SIGNS}](?:[ -~\x{{a0}}{_SAFE_SIGNS}]*[!-~{_SAFE_SIGNS}])?$"
_PLAIN_AMOUNT = r"^[0-9]{1,15}(?:\.[0-9]{1,20})?$"
_PLAIN_COUNT = r"^[0-9]{1,15}(?:\.0)?$"

# The cover, read in three groups of columns, each once per distinct combination of its cells:
# the product's fixed terms (`oed._check_policy_terms`), the limit and deductible offered to the
# kind, the sub-limits (chosen, stated, in force).
_LIMIT_COLUMNS = ("LayerAggLimit", "LayerLimit")
_TERMS_COLUMNS: tuple[str, ...] = (
    *_LIMIT_COLUMNS,
    *(f"PolLimit{c}" for c in NOT_OFFERED),
    "PolDedNPBI",
    "PolDedDIAS",
    "PolDedEXT",
    "PolDedINRE",
    "PolDedLIA",
    "PolDedREG",
    "BIWaitingPeriod",
    "BIPOI",
    "LayerParticipation",
    "LayerAttachment",
    "AccCurrency",
    "AnnualRevenueCurrency",
)
_OPTION_COLUMNS: tuple[str, ...] = (FLEXI_KIND, *_LIMIT_COLUMNS, "PolDed")
_SUBLIMIT_COLUMNS: tuple[str, ...] = (
    *_LIMIT_COLUMNS,
    *(f"PolLimit{c}" for c in OED_CYBER_COVERAGES if c not in NOT_OFFERED),
    FLEXI_SUBLIMITS,
)
assert set(NOT_OFFERED) < set(OED_CYBER_COVERAGES)
_HISTORY_COLUMNS = tuple(FLEXI_HISTORY.values())


# --------------------------------------------------------------------------- the entry points


def read_book_columns(
    path: str | Path, product: Product, on_progress: StageProgressFn | None = None
) -> BookColumns:
    """Read and validate an OED v4 cyber account file (.csv or .parquet) by columns. Accepts
    and refuses exactly what `egide.actuarial.oed.read_book` does, with the same `OedError`.
    `on_progress(stage, done, total)` for the stages ``read`` and ``validate``."""
    columns = read_columns(path, _stage(on_progress, "read"))
    return validate_columns(columns, product, str(Path(path)), _stage(on_progress, "validate"))


def portfolio_arrays_of(
    book: BookColumns, product: Product, on_progress: ProgressFn | None = None
) -> PortfolioArrays:
    """The engine's arrays of a book read by columns: the same as
    `egide.actuarial.engine.portfolio_arrays` of its entries, bit for bit."""
    steps = 3
    _report(on_progress, 0, steps)
    inputs = book.inputs(product)
    _report(on_progress, 1, steps)
    vendor, host = _index(book.software_vendor), _index(book.cloud_host)
    _report(on_progress, 2, steps)
    arrays = arrays_from_inputs(inputs, product, vendor, host)
    arrays = replace(arrays, systemic_inputs=SystemicInputs.from_columns(book))
    _report(on_progress, 3, steps)
    return arrays


def _stage(on_progress: StageProgressFn | None, name: str) -> ProgressFn | None:
    if on_progress is None:
        return None
    report = on_progress
    return lambda done, total: report(name, done, total)


def _report(on_progress: ProgressFn | None, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(done, total)


def _index(texts: Any) -> tuple[I64, tuple[str, ...]]:
    """(index per policy, sorted distinct names), as `engine._index` of the values."""
    encoded = pc.dictionary_encode(texts)
    names: list[str] = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names), dtype=np.int64)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[codes], tuple(names[i] for i in order)


# --------------------------------------------------------------------------- columns


# Columns with about one value per policy: read by Arrow patterns first (`_Checked`); every other
# column is read once per distinct cell.
_PER_ROW: frozenset[str] = frozenset(
    {
        "PolNumber",
        "InsuredName",
        "CompanyIDCode1",
        FLEXI_FINESS,
        "PostalCode",
        "City",
        "AnnualRevenue",
        "NumberOfEmployees",
        "NumberOfRecords",
    }
)


class _Columns:
    """The file's columns as canonical text (what the row reader reads: stripped, null when
    blank), computed on demand, whole or as distinct texts."""

    def __init__(self, columns: Mapping[str, Any], n: int) -> None:
        self.raw = columns
        self.n = n
        self._text: dict[str, Any] = {}
        self._distinct: dict[str, tuple[list[str | None], I64]] = {}

    def has(self, name: str) -> bool:
        return name in self.raw

    def text(self, name: str) -> Any:
        """The column as an Arrow string array: stripped text, null when blank or absent."""
        if name not in self._text:
            if name in _PER_ROW:
                self._text[name] = self._canonical(name)
            else:
                uniques, codes = self.distinct(name)
                self._text[name] = pa.array(uniques, pa.string()).take(pa.array(codes))
        return self._text[name]

    def _canonical(self, name: str) -> Any:
        array = self.raw.get(name)
        if array is None:
            return pa.nulls(self.n, pa.string())
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        kind = array.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            array = array.cast(pa.string())
            empty = pc.fill_null(pc.equal(array, ""), False)
            array = pc.if_else(empty, pa.scalar(None, pa.string()), array)
            odd = _mask(pc.invert(pc.or_(_matches(array, _NO_EDGE_BLANK), empty)))
            odd &= _mask(pc.is_valid(array))
            if not odd.any():
                return array
            cells = array.filter(pa.array(odd)).to_pylist()
            fixed = pa.array([cell_text(x) for x in cells], pa.string())
            return pc.replace_with_mask(array, pa.array(odd), fixed)
        if pa.types.is_integer(kind):
            return array.cast(pa.string())
        uniques, codes = distinct_texts(array)
        return pa.array(uniques, pa.string()).take(pa.array(codes))

    def distinct(self, name: str) -> tuple[list[str | None], I64]:
        """The column's distinct texts and, per row, the index of its text among them (two
        indices may hold the same text: cells that differ only by surrounding blanks)."""
        if name not in self._distinct:
            array = self.raw.get(name)
            if array is None:
                found: tuple[list[str | None], I64] = ([None], np.zeros(self.n, np.int64))
            elif name in self._text:
                values, codes = _encoded(self._text[name])
                found = (values.to_pylist(), codes)
            else:
                found = distinct_texts(array)
            self._distinct[name] = found
        return self._distinct[name]

    def per_value(
        self, name: str, check: Callable[[str | None], Any], dtype: Any
    ) -> tuple[BOOL, npt.NDArray[Any]]:
        """`check` once per distinct text: (accepted per row, the number per row)."""
        uniques, codes = self.distinct(name)
        values = [check(u) for u in uniques]
        accepted = np.array([v is not _BAD for v in values], dtype=np.bool_)
        numbers = np.array([0 if v is _BAD or v is None else v for v in values], dtype=dtype)
        return accepted[codes], numbers[codes]

    def combinations(self, names: Sequence[str]) -> tuple[I64, I64]:
        """Rows grouped by their texts in `names`: (group per row, the first row of each)."""
        key = np.zeros(self.n, dtype=np.int64)
        for name in names:
            uniques, codes = self.distinct(name)
            k = len(uniques)
            if k <= 1:
                continue
            if key.max(initial=0) >= (2**62) // k:
                key = _encoded(pa.array(key))[1]
            key = key * k + codes
        group = _encoded(pa.array(key))[1]
        return group, _first_rows(group)

    def per_group(
        self, names: Sequence[str], check: Callable[[_Row], Any]
    ) -> tuple[BOOL, list[Any], I64]:
        """`check` once per distinct combination of the columns `names`, on a row holding just
        those: (accepted per row, the value per combination, the combination per row)."""
        group, first = self.combinations(names)
        values = [check(self.mini_row(names, int(r))) for r in first]
        accepted = np.array([v is not _BAD for v in values], dtype=np.bool_)
        return accepted[group], values, group

    def mini_row(self, names: Sequence[str], row: int) -> _Row:
        """One row of the columns `names` the file has, for the row reader's own functions."""
        texts: dict[str, list[str | None]] = {}
        for name in names:
            if self.has(name):
                uniques, codes = self.distinct(name)
                texts[name] = [uniques[codes[row]]]
        return _Row(texts, 0)


def _encoded(array: Any) -> tuple[Any, I64]:
    """Arrow's dictionary encoding of an array (nulls as a value): (distinct values, index of
    each row's value), the values in order of first appearance."""
    encoded = pc.dictionary_encode(array, null_encoding="encode")
    codes = _indices(encoded.indices)
    return encoded.dictionary, codes


def _indices(array: Any) -> I64:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


def distinct_texts(array: Any) -> tuple[list[str | None], I64]:
    """The distinct texts of a column as the row reader reads its cells (`oed.arrow_texts`),
    and the index of each row's text among them; cells are compared as stored (floats bit for
    bit: -0.0 is not 0.0), so two indices may hold one text (cells that differ by blanks)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_floating(array.type):
        bits, codes = _encoded(array.cast(pa.float64()).view(pa.int64()))
        texts = arrow_texts(bits.view(pa.float64()))
        return texts, codes
    try:
        values, codes = _encoded(array)
    except pa.ArrowNotImplementedError:  # a type Arrow cannot hash: compare the texts
        seen: dict[str | None, int] = {}
        rows = [seen.setdefault(t, len(seen)) for t in arrow_texts(array)]
        return list(seen), np.array(rows, dtype=np.int64)
    return arrow_texts(values), codes


def _first_rows(codes: I64) -> I64:
    """The first row of each code, for codes numbered in order of first appearance."""
    running = np.maximum.accumulate(codes) if len(codes) else codes
    first: I64 = np.flatnonzero(np.diff(running, prepend=-1) > 0).astype(np.int64)
    return first


def _matches(array: Any, pattern: str) -> Any:
    return pc.fill_null(pc.match_substring_regex(array, pattern), False)


def _mask(array: Any) -> BOOL:
    out: BOOL = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.bool_)
    return out


# --------------------------------------------------------------------------- one value


def _collector_value(read: Callable[[_Collector], Any]) -> Any:
    c = _Collector()
    value = read(c)
    return _BAD if c.errors else value


def _text(max_length: int, required: bool) -> Callable[[str | None], Any]:
    """A free-text answer (as `parse_application` reads it); None when absent and optional."""

    def check(t: str | None) -> Any:
        if t is None:
            return _BAD if required else None
        return _collector_value(
            lambda c: c.text({"v": t}, "v", "v", max_length=max_length, required=required)
        )

    return check


def _kind(t: str | None) -> Any:
    value = _text(CODE_MAX, True)(t)
    return KINDS.index(value) if value in KINDS else _BAD


def _scheme(t: str | None) -> Any:
    return 1 if t is None or t.upper() == "SIRET" else _BAD


def _siret(t: str | None) -> Any:
    if t is None:
        return _BAD
    siret = _integral_text(t)
    assert siret is not None
    siret = siret.zfill(14) if siret.isdigit() else siret
    value = _text(CODE_MAX, True)(siret)
    if value is _BAD or siret_problem(value):
        return _BAD
    return value


def _finess(t: str | None) -> Any:
    """The FINESS number, None when absent (required or not by the kind: decided per row)."""
    value = _text(CODE_MAX, False)(t)
    if value is None or value is _BAD:
        return value
    return _BAD if finess_problem(value) else value


def _postcode(t: str | None) -> Any:
    value = _text(CODE_MAX, False)(t)
    if value is None or value is _BAD:
        return value
    return value if postcode_valid(value) else _BAD


def _amount(low: Decimal, high: Decimal, strict_low: bool = False) -> Callable[[str | None], Any]:
    def check(t: str | None) -> Any:
        if t is None:
            return _BAD
        value = _collector_value(
            lambda c: c.decimal({"v": t}, "v", "v", low=low, high=high, strict_low=strict_low)
        )
        return value if value is _BAD else float(value)

    return check


def _count(high: int, required: bool = True) -> Callable[[str | None], Any]:
    """A whole number as the row reader reads it ('12.0' is 12); None when absent and optional."""

    def check(t: str | None) -> Any:
        if t is None:
            return _BAD if required else None
        text = _integral_text(t)
        return _collector_value(
            lambda c: c.integer({"v": text}, "v", "v", low=0, high=high, required=required)
        )

    return check


def _flag(nullable: bool) -> Callable[[str | None], Any]:
    """A yes/no cell as `oed._Row.flag` reads it: 1, 0, or -1 when blank (nullable)."""

    def check(t: str | None) -> Any:
        row = _Row({"v": [t]}, 0)
        value = row.flag("v", "v", nullable=nullable)
        if row.errors:
            return _BAD
        return -1 if value is None else int(value)

    return check


def _given(t: str | None) -> Any:
    return _BAD if t is None else t


def _history(row: _Row) -> Any:
    """(incidents, ransomware, known circumstances) as `parse_application` reads the history."""
    incidents_col, ransomware_col, known_col = _HISTORY_COLUMNS
    known = row.flag(known_col, "known", nullable=True)
    if row.errors:
        return _BAD
    history: dict[str, Any] = {}
    for key, column in (("incidents", incidents_col), ("ransomware", ransomware_col)):
        if (value := row.get(column)) is not None:
            history[key] = _integral_text(value)
    if known is not None:
        history["known"] = known
    c = _Collector()
    incidents = c.integer(history, "i", "incidents", low=0, high=1000, required=False, default=0)
    ransomware = c.integer(history, "r", "ransomware", low=0, high=1000, required=False, default=0)
    known_value = c.boolean(history, "k", "known", default=False)
    if c.errors or incidents is None or ransomware is None:
        return _BAD
    if ransomware > incidents and "incidents" in history:
        return _BAD
    return incidents, ransomware, int(bool(known_value))


def _fixed_terms(product: Product) -> Callable[[_Row], Any]:
    """What a row may say of the terms the product fixes (currency, layer, sub-deductibles, BI
    periods): `oed._check_policy_terms` itself."""

    def check(row: _Row) -> Any:
        _check_policy_terms(row, product)
        return _BAD if row.errors else 1

    return check


_TOP = Decimal("1e12")


def _limit_text(row: _Row) -> str | None:
    return row.get("LayerAggLimit") or row.get("LayerLimit")


def _options(product: Product) -> Callable[[_Row], Any]:
    """(limit, deductible) when both are amounts the product offers the kind, as
    `parse_application` reads the cover."""

    def check(row: _Row) -> Any:
        kind, limit_text, deductible_text = row.get(FLEXI_KIND), _limit_text(row), row.get("PolDed")
        if kind not in KINDS or limit_text is None or deductible_text is None:
            return _BAD  # the kind is refused, or a cover column is missing
        c = _Collector()
        cover = {"limit": limit_text, "deductible": deductible_text}
        limit = c.decimal(cover, "l", "limit", low=Decimal(0), high=_TOP, strict_low=True)
        deductible = c.decimal(cover, "d", "deductible", low=Decimal(0), high=_TOP)
        if c.errors or limit is None or deductible is None:
            return _BAD
        if limit not in product.aggregate_amounts(kind):
            return _BAD
        if deductible not in product.deductible_amounts(kind):
            return _BAD
        return float(limit), float(deductible)

    return check


def _sublimits(product: Product) -> Callable[[_Row], Any]:
    """The chosen sub-limits ({coverage: amount}) as the row reader reads them: those named or
    stated (`oed._chosen_sublimits`), each an option of its coverage within the limit
    (`parse_application`), every stated one the one in force (`oed._check_stated_in_force`)."""
    template = _template()

    def check(row: _Row) -> Any:
        stated = _stated_limits(row, product)
        sublimits = _chosen_sublimits(row, product, stated)
        limit_text = _limit_text(row)
        if row.errors or limit_text is None:
            return _BAD
        c = _Collector()
        limit = c.decimal({"v": limit_text}, "l", "v", low=Decimal(0), high=_TOP, strict_low=True)
        if limit is None:
            return _BAD
        chosen: dict[str, Decimal] = {}
        for code in sublimits:
            value = c.decimal(sublimits, "s", code, low=Decimal(0), high=_TOP, strict_low=True)
            if value is None or value not in product.coverages[code].limit_options:
                return _BAD
            if value > limit:
                return _BAD
            chosen[code] = value
        cover = Cover(limit, Decimal(0), chosen)  # the deductible sets no sub-limit
        _check_stated_in_force(
            row, product, stated, policy_terms(replace(template, cover=cover), product)
        )
        if row.errors:
            return _BAD
        return {k: float(v) for k, v in chosen.items()}

    return check


def _template() -> Application:
    """An application to carry a cover into `policy_terms`, which reads the cover alone."""
    return Application(
        establishment=Establishment("-", KINDS[0], "0", Decimal(1), 0, 0),
        security=Security(
            mfa_remote_access=True,
            mfa_email=True,
            edr=True,
            offline_backups=True,
            backup_restore_tested=True,
            hds_hosting=True,
            critical_patch_days=0,
            medical_devices_segmented=None,
            phishing_training=True,
            incident_response_plan=True,
            security_budget_share=Decimal(0),
        ),
        history=History(),
        cover=Cover(Decimal(1), Decimal(0)),
    )


# --------------------------------------------------------------------------- whole columns


_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # 2d, less 9 above 9


def _luhn(digits: npt.NDArray[np.int64]) -> BOOL:
    """Luhn (mod 10) of each row of digits, as `egide.domain.identifiers.luhn_valid`."""
    width = digits.shape[1]
    doubled = (np.arange(width)[::-1] % 2) == 1
    total = digits[:, ~doubled].sum(axis=1) + _DOUBLED[digits[:, doubled]].sum(axis=1)
    out: BOOL = total % 10 == 0
    return out


def _digits(array: Any, width: int) -> npt.NDArray[np.int64]:
    """The characters of an Arrow string array whose values are `width` ASCII digits each."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start = int(offsets[array.offset])
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    chars = data[start : start + width * len(array)].reshape(len(array), width)
    return chars.astype(np.int64) - ord("0")


def _fast_siret(text: Any) -> tuple[BOOL, Any]:
    """SIRETs of 1 to 14 ASCII digits (padded to 14 with zeros, as the row reader does) whose
    key is right: (accepted per row, the padded SIRET)."""
    plain = _mask(_matches(text, r"^[0-9]{1,14}$"))
    padded = pc.utf8_lpad(pc.fill_null(text, "0"), 14, "0")
    accepted = np.zeros(len(plain), dtype=np.bool_)
    rows = np.flatnonzero(plain)
    if len(rows):
        sirets = padded.take(pa.array(rows))
        digits = _digits(sirets, 14)
        la_poste = np.all(digits[:, :9] == np.array([3, 5, 6, 0, 0, 0, 0, 0, 0]), axis=1)
        ok = np.where(la_poste, digits.sum(axis=1) % 5 == 0, _luhn(digits))
        accepted[rows] = ok
    return accepted, padded


def _fast_finess(text: Any) -> tuple[BOOL, Any]:
    """FINESS numbers of 9 ASCII digits, or 2A/2B and 7 digits, whose Luhn key is right."""
    plain = _mask(_matches(text, r"^(?:[0-9]{9}|2[AB][0-9]{7})$"))
    accepted = np.zeros(len(plain), dtype=np.bool_)
    rows = np.flatnonzero(plain)
    if len(rows):
        numbers = pc.replace_substring_regex(text.take(pa.array(rows)), r"^2[AB]", "20")
        accepted[rows] = _luhn(_digits(numbers, 9))
    return accepted, text


def _fast_text(max_length: int) -> Callable[[Any], tuple[BOOL, Any]]:
    def fast(text: Any) -> tuple[BOOL, Any]:
        short = pc.fill_null(pc.less_equal(pc.utf8_length(text), max_length), False)
        return _mask(pc.and_(_matches(text, _SAFE_TEXT), short)), text

    return fast


def _fast_postcode(text: Any) -> tuple[BOOL, Any]:
    return _mask(_matches(text, r"^[0-9]{5}$")), text


def _fast_numbers(
    text: Any, pattern: str, dtype: Any, accept: Callable[[npt.NDArray[Any]], BOOL]
) -> tuple[BOOL, npt.NDArray[Any]]:
    """Cells in a plain decimal spelling, converted by Arrow (correctly rounded, as Python's
    float of the Decimal), accepted when `accept` holds for them."""
    plain = _mask(_matches(text, pattern))
    values = np.zeros(len(plain), dtype=dtype)
    accepted = np.zeros(len(plain), dtype=np.bool_)
    rows = np.flatnonzero(plain)
    if len(rows):
        cells = text.take(pa.array(rows))
        if np.dtype(dtype).kind == "i":
            cells = pc.replace_substring_regex(cells, r"\.0$", "")
            target = pa.int64()
        else:
            target = pa.float64()
        numbers = cells.cast(target).to_numpy(zero_copy_only=False).astype(dtype)
        values[rows] = numbers
        accepted[rows] = accept(numbers)
    return accepted, values


def _numpy(array: Any, fill: Any) -> tuple[npt.NDArray[Any], BOOL]:
    """An Arrow numeric column as NumPy (`fill` where null), and where it is not null."""
    valid = _mask(pc.is_valid(array))
    return array.fill_null(fill).to_numpy(zero_copy_only=False), valid


class _Checked:
    """A column with about a value per row, checked for every row: by an Arrow pattern or a NumPy
    test on the cells as stored (a cell the test accepts has no blank to strip), then by the row
    reader's rule (`check`) on the text of each distinct cell the test did not accept."""

    def __init__(self, columns: _Columns, name: str, check: Callable[[str | None], Any]) -> None:
        self.columns, self.name, self.check = columns, name, check
        self.raw = columns.raw.get(name)
        if self.raw is not None and pa.types.is_dictionary(self.raw.type):
            self.raw = self.raw.dictionary_decode()

    def stored_text(self) -> Any:
        """The cells as Arrow text when they are text or whole numbers (``str``), else None."""
        raw = self.raw
        if raw is None:
            return None
        kind = raw.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind):
            return raw.cast(pa.string())
        return None

    def rest(self, accepted: BOOL) -> tuple[I64, list[Any]]:
        """The rows not accepted, and `check` of their text (once per distinct text)."""
        rows = np.flatnonzero(~accepted)
        if not len(rows):
            return rows, []
        if self.raw is None:
            return rows, [self.check(None)] * len(rows)
        texts, codes = distinct_texts(self.raw.take(pa.array(rows)))
        checked = [self.check(t) for t in texts]
        return rows, [checked[c] for c in codes.tolist()]

    def texts(self, fast: Callable[[Any], tuple[BOOL, Any]]) -> tuple[BOOL, Any]:
        """(accepted per row, the value per row as an Arrow string array, null when absent)."""
        text = self.stored_text()
        if text is None:
            accepted = np.zeros(self.columns.n, dtype=np.bool_)
            out = pa.nulls(self.columns.n, pa.string())
        else:
            accepted, out = fast(text)
            accepted = accepted.copy()
        rows, values = self.rest(accepted)
        if len(rows):
            accepted[rows] = np.array([v is not _BAD for v in values], dtype=np.bool_)
            mask = np.zeros(len(accepted), dtype=np.bool_)
            mask[rows] = True
            fixed = pa.array([None if v is _BAD else v for v in values], pa.string())
            out = pc.replace_with_mask(out, pa.array(mask), fixed)
        return accepted, out

    def numbers(
        self, pattern: str, dtype: Any, accept: Callable[[npt.NDArray[Any]], BOOL]
    ) -> tuple[BOOL, npt.NDArray[Any]]:
        """(accepted per row, the number per row): stored numbers tested by NumPy, text in a
        plain decimal spelling converted by Arrow (correctly rounded, as Python's float of the
        Decimal), the rest by `check`."""
        n, raw = self.columns.n, self.raw
        whole = np.dtype(dtype).kind == "i"
        accepted = np.zeros(n, dtype=np.bool_)
        values = np.zeros(n, dtype=dtype)
        if raw is not None and pa.types.is_floating(raw.type):
            x, valid = _numpy(raw.cast(pa.float64()), np.nan)
            ok = valid & np.isfinite(x)
            if whole:
                ok &= np.floor(np.where(ok, x, 0.0)) == x
            accepted = ok & accept(np.where(ok, x, 0.0))
            values = np.where(accepted, x, 0.0).astype(dtype)
        elif raw is not None and pa.types.is_integer(raw.type) and raw.type != pa.uint64():
            x, valid = _numpy(raw.cast(pa.int64()), 0)
            values = x.astype(dtype)
            accepted = valid & accept(values)
        elif (text := self.stored_text()) is not None:
            accepted, values = _fast_numbers(text, pattern, dtype, accept)
        rows, rest = self.rest(accepted)
        if len(rows):
            accepted[rows] = np.array([v is not _BAD for v in rest], dtype=np.bool_)
            values[rows] = np.array([0 if v is _BAD else v for v in rest], dtype=dtype)
        return accepted, values


# --------------------------------------------------------------------------- the book


def validate_columns(
    raw: Mapping[str, Any], product: Product, source: str, on_progress: ProgressFn | None = None
) -> BookColumns:
    """Validate the columns of an OED file (`oed.read_columns`) into a `BookColumns`; raises
    `OedError` with the problems of every refused row, as `oed.read_book` does."""
    n = len(next(iter(raw.values()))) if raw else 0
    cols = _Columns(raw, n)
    steps = 9  # the advance() calls below
    step = 0

    def advance() -> None:
        nonlocal step
        step += 1
        _report(on_progress, step, steps)

    _report(on_progress, 0, steps)
    ok = np.ones(n, dtype=np.bool_)

    def accept(mask: BOOL) -> None:
        np.logical_and(ok, mask, out=ok)

    # who: the policy, its dependencies
    texts: dict[str, Any] = {}
    for key, column in (
        ("policy_number", "PolNumber"),
        ("software_vendor", FLEXI_SOFTWARE),
        ("cloud_host", FLEXI_CLOUD_HOST),
        ("email_vendor", FLEXI_EMAIL),
    ):
        texts[key] = cols.text(column)
        accept(_mask(pc.is_valid(texts[key])))
    advance()

    # the establishment
    accepted, kind_values = cols.per_value(FLEXI_KIND, _kind, np.int64)
    kind = kind_values.astype(np.int64)
    accept(accepted)
    accepted, texts["name"] = _Checked(cols, "InsuredName", _text(NAME_MAX, True)).texts(
        _fast_text(NAME_MAX)
    )
    accept(accepted)
    accept(cols.per_value("CompanyIDScheme1", _scheme, np.int8)[0])
    accepted, texts["siret"] = _Checked(cols, "CompanyIDCode1", _siret).texts(_fast_siret)
    accept(accepted)
    advance()
    accepted, texts["finess"] = _Checked(cols, FLEXI_FINESS, _finess).texts(_fast_finess)
    accept(accepted)
    kind_known = np.isin(np.arange(len(KINDS)), [KINDS.index(k) for k in FINESS_REQUIRED])
    finess_required = kind_known[kind]
    accept(_mask(pc.is_valid(texts["finess"])) | ~finess_required)
    accepted, texts["postcode"] = _Checked(cols, "PostalCode", _postcode).texts(_fast_postcode)
    accept(accepted)
    accepted, texts["city"] = _Checked(cols, "City", _text(CITY_MAX, False)).texts(
        _fast_text(CITY_MAX)
    )
    accept(accepted)
    advance()
    top = float(MAX_REVENUE)
    accepted, revenue = _Checked(
        cols, "AnnualRevenue", _amount(Decimal(0), MAX_REVENUE, strict_low=True)
    ).numbers(_PLAIN_AMOUNT, np.float64, lambda x: (x > 0) & (x < top))
    accept(accepted)
    accepted, employees = _Checked(cols, "NumberOfEmployees", _count(MAX_EMPLOYEES)).numbers(
        _PLAIN_COUNT, np.int64, lambda x: (x >= 0) & (x <= MAX_EMPLOYEES)
    )
    accept(accepted)
    accepted, records = _Checked(cols, "NumberOfRecords", _count(MAX_RECORDS)).numbers(
        _PLAIN_COUNT, np.int64, lambda x: (x >= 0) & (x <= MAX_RECORDS)
    )
    accept(accepted)
    accepted, beds = cols.per_value(FLEXI_BEDS, _count(MAX_BEDS, False), np.int64)
    accept(accepted)
    bedded = np.isin(np.arange(len(KINDS)), [KINDS.index(k) for k in BEDDED])[kind]
    accept(~bedded | (beds >= 1))  # a blank reads 0: a bedded kind needs its beds
    advance()

    # the security answers
    flags = np.zeros((n, len(FLAG_FIELDS)), dtype=np.int8)
    for j, field in enumerate(FLAG_FIELDS):
        nullable = field in OPTIONAL_SECURITY_CONTROLS or field == "medical_devices_segmented"
        accepted, values = cols.per_value(FLEXI_SECURITY[field], _flag(nullable), np.int8)
        accept(accepted)
        if field in OPTIONAL_SECURITY_CONTROLS:
            values = np.where(values < 0, 0, values)  # blank: no
        flags[:, j] = values
    accepted, patch_days = cols.per_value(
        FLEXI_SECURITY["critical_patch_days"], _count(3650), np.int64
    )
    accept(accepted)
    accepted, budget = cols.per_value(
        FLEXI_SECURITY["security_budget_share"], _amount(Decimal(0), Decimal(1)), np.float64
    )
    accept(accepted)
    advance()

    # the history, per distinct combination
    accepted, histories, group = cols.per_group(_HISTORY_COLUMNS, _history)
    accept(accepted)
    history = np.array([(0, 0, 0) if h is _BAD else h for h in histories], dtype=np.int64)
    history = history.reshape(len(histories), 3)[group]
    advance()

    # the cover, per distinct combination of each group's columns
    accept(cols.per_group(_TERMS_COLUMNS, _fixed_terms(product))[0])
    accepted, options, options_group = cols.per_group(_OPTION_COLUMNS, _options(product))
    accept(accepted)
    limit = np.array([o[0] if o is not _BAD else 0.0 for o in options], dtype=np.float64)
    deductible = np.array([o[1] if o is not _BAD else 0.0 for o in options], dtype=np.float64)
    accepted, chosen, chosen_group = cols.per_group(_SUBLIMIT_COLUMNS, _sublimits(product))
    accept(accepted)
    sublimit = np.full((len(chosen), len(COVERAGES)), np.nan)
    for i, c in enumerate(chosen):
        if c is not _BAD:
            for code, amount in c.items():
                sublimit[i, COVERAGES.index(code)] = amount
    advance()

    book = BookColumns(
        policy_number=texts["policy_number"],
        software_vendor=texts["software_vendor"],
        cloud_host=texts["cloud_host"],
        email_vendor=texts["email_vendor"],
        name=texts["name"],
        kind=kind,
        siret=texts["siret"],
        finess=texts["finess"],
        postcode=texts["postcode"],
        city=texts["city"],
        annual_revenue=revenue,
        employees=employees,
        beds=beds,
        patient_records=records,
        flags=flags,
        critical_patch_days=patch_days,
        security_budget_share=budget,
        incidents_last_5_years=history[:, 0].copy(),
        ransomware_last_5_years=history[:, 1].copy(),
        known_circumstances=history[:, 2].astype(np.int8),
        limit=limit[options_group],
        deductible=deductible[options_group],
        sublimit=sublimit[chosen_group],
    )
    advance()
    # the rows some column did not accept: the row reader says why, or accepts them
    book = _through_row_reader(cols, book, ok, product, source)
    advance()
    return book


def _through_row_reader(
    cols: _Columns, book: BookColumns, ok: BOOL, product: Product, source: str
) -> BookColumns:
    problems: dict[int, list[FieldError]] = {}
    rows = np.flatnonzero(~ok)
    valid = ok.copy()
    entries: list[BookEntry] = []
    kept: list[int] = []
    header: dict[int, tuple[str, str]] = {}
    if len(rows):
        index = pa.array(rows)
        texts = {name: arrow_texts(array.take(index)) for name, array in cols.raw.items()}
        terms_cache: _TermsCache = {}
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for j, r in enumerate(rows.tolist()):
                row = _Row(texts, j)
                entry = entry_from_row(row, product, source, terms_cache)
                header[r] = (row.get("AccNumber") or "", row.get("PolNumber") or "")
                if entry is None:
                    problems[r] = row.errors
                else:
                    entries.append(entry)
                    kept.append(r)
                    valid[r] = True
        finally:
            if gc_was_enabled:
                gc.enable()
    # a policy number twice: the later rows repeat the first accepted one
    numbers = cols.text("PolNumber").to_pylist()
    if len(set(numbers)) < len(numbers):
        _repeats(cols, valid, problems, header)
    if problems:
        raise OedError(
            source,
            [(r + 1, *header[r], err) for r in sorted(problems) for err in problems[r]],
        )
    if entries:
        book = _placed(book, np.array(kept, dtype=np.int64), BookColumns.from_entries(entries))
    return book


def _repeats(
    cols: _Columns,
    valid: BOOL,
    problems: dict[int, list[FieldError]],
    header: dict[int, tuple[str, str]],
) -> None:
    """A policy number on two accepted rows: the later ones are refused, naming the first."""
    uniques, codes = cols.distinct("PolNumber")
    valid_rows = np.flatnonzero(valid)
    first_row = np.full(len(uniques), -1, dtype=np.int64)
    seen, where = np.unique(codes[valid_rows], return_index=True)
    first_row[seen] = valid_rows[where]
    repeats = np.flatnonzero(valid & (first_row[codes] != np.arange(cols.n)))
    if not len(repeats):
        return
    accounts = cols.raw.get("AccNumber")
    index = pa.array(repeats)
    acc = [None] * len(repeats) if accounts is None else arrow_texts(accounts.take(index))
    pol = cols.text("PolNumber").take(index).to_pylist()
    for r, a, p in zip(repeats.tolist(), acc, pol, strict=True):
        first = int(first_row[codes[r]]) + 1
        problems[r] = [FieldError("PolNumber", "unique", f"repeats row {first}")]
        header[r] = (a or "", p or "")


def _placed(book: BookColumns, rows: I64, other: BookColumns) -> BookColumns:
    """`book` with the policies at `rows` (in increasing order) replaced by those of `other`."""
    from dataclasses import fields

    mask = np.zeros(book.n_policies, dtype=np.bool_)
    mask[rows] = True
    changes: dict[str, Any] = {}
    for f in fields(book):
        mine, theirs = getattr(book, f.name), getattr(other, f.name)
        if isinstance(mine, np.ndarray):
            merged = mine.copy()
            merged[rows] = theirs
            changes[f.name] = merged
        else:
            changes[f.name] = pc.replace_with_mask(mine, pa.array(mask), theirs.cast(mine.type))
    return BookColumns(**changes)
