"""A book of policies as an OED v4 cyber account file (CSV or Parquet), and back.

Open Exposure Data (OED, github.com/OasisLMF/ODS_OpenExposureData) is the industry's exchange
format for exposure; v4 carries cyber accounts (an account file alone, no location file). One row
per policy. What OED says natively (insured, SIRET, revenue, records, employees, the policy's
deductible, per-coverage sub-limits and sub-deductibles, the BI waiting and indemnity periods in
days, the aggregate as a layer) is written in its standard fields; what it cannot say (the kind of
healthcare establishment, beds, FINESS, each security control, the history, the healthcare
software vendor, the HDS host) goes to OED's flexible fields ``FlexiAcc<Name>`` /
``FlexiPol<Name>``. docs/exposure.md lists every column.

`read_book` rebuilds each application through `parse_application`, so every row is validated
against the product; an invalid row raises `OedError` naming the row, its AccNumber and PolNumber,
the OED column and the rule. `egide.actuarial.oed_columns` reads the same file by columns into the
engine's arrays (for `portfolio simulate`), by the same rules; both start from `read_columns`.

`oasis_account_insured_loss` applies an OED cyber account's terms to ground-up losses per
coverage the way the Oasis financial module does, through our terms engine
(`egide.domain.terms.apply_terms`); tests/test_oasis_validation.py holds it to Oasis's own cyber
validation case.
"""

from __future__ import annotations

import contextlib
import gc
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egide.actuarial.book import BookEntry
from egide.domain.application import (
    OPTIONAL_SECURITY_CONTROLS,
    REQUIRED_SECURITY_CONTROLS,
    parse_application,
)
from egide.domain.errors import DomainError, FieldError, InvalidInput
from egide.domain.money import ZERO
from egide.domain.product import COVERAGES, Product
from egide.domain.rating import HOURS_PER_DAY, policy_terms
from egide.domain.terms import ClaimLosses, CoverageTermsInForce, PolicyTerms, apply_terms

if TYPE_CHECKING:
    import pandas as pd  # imported where a frame is made or read: a book read by columns needs none

OED_VERSION = "4.0.0"
PERIL_ALL_CYBER = "CC1"  # OED PerilValues: "All Cyber perils"
# OED CoverageValues, cyber coverages 7 to 15, in OED's order.
OED_CYBER_COVERAGES: tuple[str, ...] = (
    "NPBI",
    "CBI",
    "DIAS",
    "EXT",
    "FIN",
    "INRE",
    "LIA",
    "REG",
    "ENO",
)
OED_COVERAGE_TYPE_ID: Mapping[str, int] = {c: 7 + i for i, c in enumerate(OED_CYBER_COVERAGES)}
# The coverages of OED that the product does not sell.
NOT_OFFERED: tuple[str, ...] = ("CBI", "FIN", "ENO")

# NAICS 2022 codes (OED IndustryCodeValues) closest to each kind of establishment.
KIND_NAICS: Mapping[str, int] = {
    "cabinet_medical": 621111,  # Offices of Physicians (except Mental Health Specialists)
    "centre_de_sante": 621498,  # All Other Outpatient Care Centers
    "pharmacie": 456110,  # Pharmacies and Drug Retailers
    "laboratoire": 621511,  # Medical Laboratories
    "imagerie": 621512,  # Diagnostic Imaging Centers
    "clinique": 622110,  # General Medical and Surgical Hospitals
    "hopital": 622110,  # General Medical and Surgical Hospitals
    "ehpad": 623110,  # Nursing Care Facilities (Skilled Nursing Facilities)
}

SECURITY_BOOLS = REQUIRED_SECURITY_CONTROLS + OPTIONAL_SECURITY_CONTROLS


def _camel(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


# Flexible fields: what OED cannot say. Names are FlexiAcc/FlexiPol + a CamelCase modifier.
FLEXI_KIND = "FlexiAccKind"
FLEXI_FINESS = "FlexiAccFiness"
FLEXI_BEDS = "FlexiAccBeds"
FLEXI_SECURITY: Mapping[str, str] = {
    **{b: f"FlexiAcc{_camel(b)}" for b in SECURITY_BOOLS},
    "medical_devices_segmented": "FlexiAccMedicalDevicesSegmented",
    "critical_patch_days": "FlexiAccCriticalPatchDays",
    "security_budget_share": "FlexiAccSecurityBudgetShare",
}
FLEXI_HISTORY: Mapping[str, str] = {
    "incidents_last_5_years": "FlexiAccIncidentsLast5Years",
    "ransomware_last_5_years": "FlexiAccRansomwareLast5Years",
    "known_circumstances": "FlexiAccKnownCircumstances",
}
FLEXI_SOFTWARE = "FlexiAccSoftwareVendor"
FLEXI_CLOUD_HOST = "FlexiAccCloudHost"
FLEXI_EMAIL = "FlexiAccEmailVendor"
FLEXI_SUBLIMITS = "FlexiPolSublimitsChosen"
FLEXI_PRODUCT = "FlexiPolProduct"

STANDARD_COLUMNS: tuple[str, ...] = (
    "PortNumber",
    "AccNumber",
    "AccName",
    "AccCurrency",
    "PolNumber",
    "PolInceptionDate",
    "PolExpiryDate",
    "LOB",
    "PolPerilsCovered",
    "PolCoverage",
    "LayerNumber",
    "LayerParticipation",
    "LayerLimit",
    "LayerAttachment",
    "LayerAggLimit",
    "OEDVersion",
    "CompanyIDScheme1",
    "CompanyIDCode1",
    "InsuredName",
    "PostalCode",
    "City",
    "CountryCode",
    "IndustryScheme1",
    "IndustryCode1",
    "IndustryVintage1",
    "NumberOfEmployees",
    "AnnualRevenue",
    "AnnualRevenueCurrency",
    "NumberOfRecords",
    "PolDed",
    *(f"PolLimit{c}" for c in ("NPBI", "DIAS", "EXT", "INRE", "LIA", "REG")),
    *(f"PolDed{c}" for c in ("NPBI", "DIAS", "EXT", "INRE", "LIA", "REG")),
    "LimitCurrency",
    "DedCurrency",
    "CloudVendor",
    "EmailVendor",
    "PatchPolicy",
    "BIWaitingPeriod",
    "BIPOI",
)
FLEXI_COLUMNS: tuple[str, ...] = (
    FLEXI_KIND,
    FLEXI_FINESS,
    FLEXI_BEDS,
    *FLEXI_SECURITY.values(),
    *FLEXI_HISTORY.values(),
    FLEXI_SOFTWARE,
    FLEXI_CLOUD_HOST,
    FLEXI_EMAIL,
    FLEXI_SUBLIMITS,
    FLEXI_PRODUCT,
)
ACCOUNT_COLUMNS: tuple[str, ...] = STANDARD_COLUMNS + FLEXI_COLUMNS

# The OED column behind each field of an application, to name it in an error.
FIELD_COLUMN: dict[str, str] = {
    "establishment.name": "InsuredName",
    "establishment.type": FLEXI_KIND,
    "establishment.siret": "CompanyIDCode1",
    "establishment.finess": FLEXI_FINESS,
    "establishment.annual_revenue": "AnnualRevenue",
    "establishment.employees": "NumberOfEmployees",
    "establishment.beds": FLEXI_BEDS,
    "establishment.patient_records": "NumberOfRecords",
    "establishment.postcode": "PostalCode",
    "establishment.city": "City",
    **{f"security.{k}": v for k, v in FLEXI_SECURITY.items()},
    **{f"history.{k}": v for k, v in FLEXI_HISTORY.items()},
    "cover.limit": "LayerAggLimit",
    "cover.deductible": "PolDed",
}


class OedError(DomainError):
    """An OED file that cannot become a book: names the file, each bad row (its AccNumber and
    PolNumber), the OED column, our field and the rule."""

    def __init__(self, path: str, problems: Sequence[tuple[int, str, str, FieldError]]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = [
            f"row {row} (AccNumber {acc!r}, PolNumber {pol!r}): "
            f"{err.field}: {err.message} [{err.rule}]"
            for row, acc, pol, err in self.problems[:20]
        ]
        more = len(self.problems) - 20
        if more > 0:
            lines.append(f"... and {more} more")
        super().__init__(f"{path}: " + "; ".join(lines))


# --------------------------------------------------------------------------- write


def _amount(value: Decimal) -> float:
    return float(value)


def _patch_policy(days: int) -> int:
    """OED PatchPolicy (cadence of patches: 2 daily, 3 weekly, 4 monthly, 5 annually, 6 ad hoc),
    derived from the delay to apply critical patches. Informative: not read back."""
    if days <= 1:
        return 2
    if days <= 7:
        return 3
    if days <= 31:
        return 4
    if days <= 366:
        return 5
    return 6


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def _dec_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def book_to_frame(
    book: Sequence[BookEntry],
    product: Product,
    *,
    portfolio: str = "EGIDE",
    inception: date = date(2027, 1, 1),
) -> pd.DataFrame:
    """The OED account rows of a book, one per policy, with OED's column names."""
    expiry = date(inception.year + 1, inception.month, inception.day) - timedelta(days=1)
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    cols: dict[str, list[Any]] = {c: [] for c in ACCOUNT_COLUMNS}
    oed_of = {code: product.coverages[code].oed_code for code in COVERAGES}
    # the terms depend on the cover alone, and books repeat a few covers many times
    terms_by_cover: dict[tuple[Decimal, Decimal, tuple[tuple[str, Decimal], ...]], PolicyTerms] = {}
    for entry in book:
        app = entry.application
        e, s, h = app.establishment, app.security, app.history
        key = (app.cover.limit, app.cover.deductible, tuple(sorted(app.cover.sublimits.items())))
        terms = terms_by_cover.get(key)
        if terms is None:
            terms = terms_by_cover[key] = policy_terms(app, product)
        row: dict[str, Any] = {
            "PortNumber": portfolio,
            "AccNumber": entry.policy_number,
            "AccName": e.name,
            "AccCurrency": product.currency,
            "PolNumber": entry.policy_number,
            "PolInceptionDate": inception.isoformat(),
            "PolExpiryDate": expiry.isoformat(),
            "LOB": "Cyber",
            "PolPerilsCovered": PERIL_ALL_CYBER,
            "PolCoverage": ";".join(oed_of[c] for c in COVERAGES),
            "LayerNumber": 1,
            "LayerParticipation": 1.0,
            "LayerLimit": _amount(app.cover.limit),
            "LayerAttachment": 0.0,
            "LayerAggLimit": _amount(app.cover.limit),
            "OEDVersion": OED_VERSION,
            "CompanyIDScheme1": "SIRET",
            "CompanyIDCode1": int(e.siret),
            "InsuredName": e.name,
            "PostalCode": e.postcode or "",
            "City": e.city or "",
            "CountryCode": "FR",
            "IndustryScheme1": "NAICS",
            "IndustryCode1": KIND_NAICS[e.type],
            "IndustryVintage1": 2022,
            "NumberOfEmployees": e.employees,
            "AnnualRevenue": _amount(e.annual_revenue),
            "AnnualRevenueCurrency": product.currency,
            "NumberOfRecords": e.patient_records,
            "PolDed": _amount(app.cover.deductible),
            "LimitCurrency": product.currency,
            "DedCurrency": product.currency,
            # OED's codes name global clouds and mailers only: 0 (unknown); our HDS hosts and
            # e-mail vendors are FlexiAccCloudHost and FlexiAccEmailVendor
            "CloudVendor": 0,
            "EmailVendor": 0,
            "PatchPolicy": _patch_policy(s.critical_patch_days),
            "BIWaitingPeriod": float(bi.waiting_period_hours / HOURS_PER_DAY),
            "BIPOI": float(bi.indemnity_period_days),
            FLEXI_KIND: e.type,
            FLEXI_FINESS: e.finess or "",
            FLEXI_BEDS: str(e.beds),
            FLEXI_SOFTWARE: entry.software_vendor,
            FLEXI_CLOUD_HOST: entry.cloud_host,
            FLEXI_EMAIL: entry.email_vendor,
            FLEXI_SUBLIMITS: ";".join(oed_of[c] for c in COVERAGES if c in app.cover.sublimits),
            FLEXI_PRODUCT: product.ref,
        }
        for code in COVERAGES:
            cov = terms.coverages[code]
            row[f"PolLimit{oed_of[code]}"] = _amount(cov.limit)
            row[f"PolDed{oed_of[code]}"] = _amount(cov.sub_deductible)
        for b in SECURITY_BOOLS:
            row[FLEXI_SECURITY[b]] = _flag(getattr(s, b))
        row[FLEXI_SECURITY["medical_devices_segmented"]] = _flag(s.medical_devices_segmented)
        row[FLEXI_SECURITY["critical_patch_days"]] = str(s.critical_patch_days)
        row[FLEXI_SECURITY["security_budget_share"]] = _dec_text(s.security_budget_share)
        row[FLEXI_HISTORY["incidents_last_5_years"]] = str(h.incidents_last_5_years)
        row[FLEXI_HISTORY["ransomware_last_5_years"]] = str(h.ransomware_last_5_years)
        row[FLEXI_HISTORY["known_circumstances"]] = _flag(h.known_circumstances)
        for c in ACCOUNT_COLUMNS:
            cols[c].append(row[c])
    import pandas as pd

    frame = pd.DataFrame(cols, columns=list(ACCOUNT_COLUMNS))
    for c in ACCOUNT_COLUMNS:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("string")
    return frame


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write OED rows as CSV or Parquet, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: unsupported suffix {path.suffix!r} (use .csv or .parquet)")
    return path


def write_book(
    book: Sequence[BookEntry],
    path: str | Path,
    product: Product,
    *,
    portfolio: str = "EGIDE",
    inception: date = date(2027, 1, 1),
) -> Path:
    """Write a book as an OED v4 cyber account file (.csv or .parquet, same columns)."""
    return write_frame(
        book_to_frame(book, product, portfolio=portfolio, inception=inception), Path(path)
    )


def check_oed(path: str | Path) -> list[dict[str, Any]]:
    """Run ods-tools' OED checks on an account file; raises ods_tools' OdsException on invalid
    data, returns the list of problems its configuration only reports."""
    from ods_tools.oed import OedExposure

    with contextlib.redirect_stderr(io.StringIO()):  # its progress bars
        exposure = OedExposure(account=str(path), check_oed=False)
        result: list[dict[str, Any]] = exposure.check()
    return result


# --------------------------------------------------------------------------- read


def _cell(value: object) -> str | None:
    """A cell as text, None when blank (CSV read as text; Parquet floats through repr)."""
    if value is None:
        return None
    if not isinstance(value, str) and type(value).__name__ == "NAType":  # pandas' NA
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return repr(value)
    text = str(value).strip()
    return text or None


def _column_texts(frame: pd.DataFrame) -> dict[str, list[str | None]]:
    """Every cell as text (None when blank), column by column: CSV is read as text, Parquet's
    numbers go through ``repr`` (exact for the float64 OED stores)."""
    import pandas as pd

    out: dict[str, list[str | None]] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column.dtype):
            out[str(name)] = [None if x != x else repr(x) for x in column.tolist()]
        elif pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(
            column.dtype
        ):
            out[str(name)] = [None if x is None else str(x) for x in column.tolist()]
        else:
            out[str(name)] = [_cell(x) for x in column.tolist()]
    return out


def _read_frame(path: Path) -> pd.DataFrame:
    """The file as pandas reads it (CSV as text): the fallback of `read_columns` for a CSV file
    that Arrow's reader refuses (a short row, a duplicate header, invalid UTF-8...)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


ProgressFn = Callable[[int, int], None]


def read_columns(path: str | Path, on_progress: ProgressFn | None = None) -> dict[str, Any]:
    """The columns of an OED account file (.csv or .parquet), by name (stripped), as Arrow arrays:
    CSV cells as text (Arrow's reader; pandas' when Arrow refuses the file), Parquet columns as
    stored. Both readers of a book (`read_book`, row by row, and
    `egide.actuarial.oed_columns.read_book_columns`) start here, so they see the same cells.
    `on_progress(done, total)`: bytes read of a CSV file, row groups of a Parquet file. A file
    that cannot be read raises `OedError` naming the file."""
    file = Path(path)
    if not file.is_file():
        raise OedError(
            str(file),
            [(0, "", "", FieldError("(file)", "exists", "does not exist or is not a file"))],
        )
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise OedError(
            str(file), [(0, "", "", FieldError("(file)", "suffix", "must end in .csv or .parquet"))]
        )
    try:
        if suffix == ".csv":
            columns = _read_csv(file, on_progress)
        else:
            columns = _read_parquet(file, on_progress)
    except OedError:
        raise
    except Exception as exc:  # a file that is not CSV or Parquet at all
        raise OedError(
            str(file), [(0, "", "", FieldError("(file)", "format", f"cannot be read: {exc}"))]
        ) from None
    return columns


def _named(names: Sequence[str], arrays: Sequence[Any], file: Path) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, array in zip(names, arrays, strict=True):
        key = str(name).strip()
        if key in columns:
            raise OedError(
                str(file),
                [(0, "", "", FieldError(key or "(column)", "unique", "column appears twice"))],
            )
        columns[key] = array
    return columns


def _read_csv(file: Path, on_progress: ProgressFn | None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pv

    size = file.stat().st_size
    try:
        names = pv.open_csv(file).schema.names
        if len(set(names)) == len(names):
            options = pv.ConvertOptions(column_types={n: pa.string() for n in names})
            batches = []
            with pa.memory_map(str(file)) as source:
                reader = pv.open_csv(source, convert_options=options)
                for batch in reader:
                    batches.append(batch)
                    if on_progress is not None:
                        on_progress(min(source.tell(), size), size)
            table = pa.Table.from_batches(batches, schema=reader.schema)
            if on_progress is not None:
                on_progress(size, size)
            return _named(names, [c.combine_chunks() for c in table.columns], file)
    except pa.ArrowException:
        pass  # pandas reads what it can, and says why it cannot
    frame = _read_frame(file)
    names = [str(c) for c in frame.columns]
    _named(names, names, file)  # a name twice once stripped
    texts = _column_texts(frame)
    if on_progress is not None:
        on_progress(size, size)
    return _named(names, [pa.array(texts[name], pa.string()) for name in names], file)


def _read_parquet(file: Path, on_progress: ProgressFn | None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(file)
    groups = parquet.num_row_groups
    tables = []
    for i in range(groups):
        tables.append(parquet.read_row_group(i))
        if on_progress is not None:
            on_progress(i + 1, groups)
    table = pa.concat_tables(tables) if tables else parquet.schema_arrow.empty_table()
    if on_progress is not None:
        on_progress(groups, groups)
    return _named(table.column_names, [c.combine_chunks() for c in table.columns], file)


def arrow_texts(array: Any) -> list[str | None]:
    """Every cell of an Arrow column as text, None when blank: what the row reader reads. Text
    is stripped; floats go through ``repr`` (exact for float64), whole numbers and booleans
    through ``str``."""
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    values = array.to_pylist()
    if pa.types.is_floating(kind):
        return [None if x is None or x != x else repr(float(x)) for x in values]
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return [None if x is None else str(x) for x in values]
    return [_cell(x) for x in values]


class _Row:
    """One OED row, with the errors met while turning its text into our plain data."""

    def __init__(self, columns: Mapping[str, list[str | None]], index: int) -> None:
        self.columns = columns
        self.index = index
        self.errors: list[FieldError] = []
        self._numbers: dict[str, Decimal | None] = {}

    def has(self, column: str) -> bool:
        return column in self.columns

    def get(self, column: str) -> str | None:
        values = self.columns.get(column)
        return None if values is None else values[self.index]

    def require(self, column: str, field: str) -> str | None:
        value = self.get(column)
        if value is None:
            self.errors.append(FieldError(f"{column} ({field})", "required", "is required"))
        return value

    def flag(self, column: str, field: str, *, nullable: bool = False) -> bool | None:
        value = self.get(column)
        if value is None:
            if not nullable:
                self.errors.append(
                    FieldError(f"{column} ({field})", "required", "is required (1 or 0)")
                )
            return None
        low = value.lower()
        if low in ("1", "1.0", "true"):
            return True
        if low in ("0", "0.0", "false"):
            return False
        self.errors.append(
            FieldError(
                f"{column} ({field})", "type", "must be 1 or 0" + (" or blank" if nullable else "")
            )
        )
        return None

    def number(self, column: str) -> Decimal | None:
        """The column as a number (None when blank); a bad number is reported once."""
        if column not in self._numbers:
            self._numbers[column] = self._parse_number(column)
        return self._numbers[column]

    def _parse_number(self, column: str) -> Decimal | None:
        value = self.get(column)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.errors.append(FieldError(column, "type", "must be a number"))
            return None
        if not number.is_finite():
            self.errors.append(FieldError(column, "type", "must be a finite number"))
            return None
        if number.adjusted() >= MAX_MAGNITUDE:  # exact: reads the exponent, computes nothing
            self.errors.append(
                FieldError(column, "range", f"must be below 10^{MAX_MAGNITUDE} in magnitude")
            )
            return None
        return number


# No OED amount, count or period of a French healthcare establishment comes near 10^15; bounding the
# magnitude before any arithmetic keeps '1e5000' from overflowing a conversion or a product.
MAX_MAGNITUDE = 15


def _integral_text(value: str | None) -> str | None:
    """'12.0' (a Parquet float, a spreadsheet's export) -> '12'; other text unchanged."""
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    small = number.is_finite() and number.adjusted() < MAX_MAGNITUDE
    if small and number == number.to_integral_value():
        return str(int(number))
    return value


def _row_to_data(row: _Row, product: Product) -> tuple[dict[str, Any], dict[str, Decimal]]:
    """Plain application data from an OED row, and the sub-limits it states per coverage."""
    siret = _integral_text(row.require("CompanyIDCode1", "establishment.siret"))
    scheme = row.get("CompanyIDScheme1")
    if scheme is not None and scheme.upper() != "SIRET":
        row.errors.append(
            FieldError(
                "CompanyIDScheme1", "choice", "must be SIRET (the French establishment number)"
            )
        )
    establishment: dict[str, Any] = {
        "name": row.require("InsuredName", "establishment.name"),
        "type": row.require(FLEXI_KIND, "establishment.type"),
        "siret": siret.zfill(14) if siret is not None and siret.isdigit() else siret,
        "annual_revenue": row.require("AnnualRevenue", "establishment.annual_revenue"),
        "employees": _integral_text(row.require("NumberOfEmployees", "establishment.employees")),
        "patient_records": _integral_text(
            row.require("NumberOfRecords", "establishment.patient_records")
        ),
    }
    for key, column in (("finess", FLEXI_FINESS), ("postcode", "PostalCode"), ("city", "City")):
        if (value := row.get(column)) is not None:
            establishment[key] = value
    if (beds := row.get(FLEXI_BEDS)) is not None:
        establishment["beds"] = _integral_text(beds)

    security: dict[str, Any] = {}
    for b in SECURITY_BOOLS:
        optional = b in ("pgssi_s_compliant", "care_programme")
        flag = row.flag(FLEXI_SECURITY[b], f"security.{b}", nullable=optional)
        if flag is not None:
            security[b] = flag
    security["medical_devices_segmented"] = row.flag(
        FLEXI_SECURITY["medical_devices_segmented"],
        "security.medical_devices_segmented",
        nullable=True,
    )
    security["critical_patch_days"] = _integral_text(
        row.require(FLEXI_SECURITY["critical_patch_days"], "security.critical_patch_days")
    )
    security["security_budget_share"] = row.require(
        FLEXI_SECURITY["security_budget_share"], "security.security_budget_share"
    )
    history: dict[str, Any] = {}
    for key in ("incidents_last_5_years", "ransomware_last_5_years"):
        if (value := row.get(FLEXI_HISTORY[key])) is not None:
            history[key] = _integral_text(value)
    known = row.flag(
        FLEXI_HISTORY["known_circumstances"], "history.known_circumstances", nullable=True
    )
    if known is not None:
        history["known_circumstances"] = known

    limit_text = row.get("LayerAggLimit") or row.get("LayerLimit")
    if limit_text is None:
        row.errors.append(
            FieldError(
                "LayerAggLimit (cover.limit)", "required", "is required (the annual aggregate)"
            )
        )
    cover: dict[str, Any] = {
        "limit": limit_text,
        "deductible": row.require("PolDed", "cover.deductible"),
    }
    stated = _stated_limits(row, product)
    data = {
        "establishment": establishment,
        "security": security,
        "history": history,
        "cover": cover,
    }
    return data, stated


def _stated_limits(row: _Row, product: Product) -> dict[str, Decimal]:
    """The sub-limits an OED row states per coverage (``PolLimit<COV>``, blank or 0: none)."""
    stated: dict[str, Decimal] = {}
    for code in COVERAGES:
        oed = product.coverages[code].oed_code
        stated_limit = row.number(f"PolLimit{oed}")
        if stated_limit is not None and stated_limit != 0:
            stated[code] = stated_limit
    return stated


def _chosen_sublimits(row: _Row, product: Product, stated: Mapping[str, Decimal]) -> dict[str, Any]:
    """The sub-limits chosen (as application data): those ``FlexiPolSublimitsChosen`` names, or,
    in a file without that column, each stated one that is not the default."""
    oed_to_code = {product.coverages[c].oed_code: c for c in COVERAGES}
    chosen_text = row.get(FLEXI_SUBLIMITS)
    sublimits: dict[str, Any] = {}
    limit = row.number("LayerAggLimit") or row.number("LayerLimit")
    if row.has(FLEXI_SUBLIMITS):
        for oed in (chosen_text or "").split(";"):
            oed = oed.strip()
            if not oed:
                continue
            code = oed_to_code.get(oed)
            if code is None:
                row.errors.append(
                    FieldError(
                        FLEXI_SUBLIMITS, "choice", f"{oed!r} is not one of {', '.join(oed_to_code)}"
                    )
                )
            elif code not in stated:
                row.errors.append(
                    FieldError(
                        f"PolLimit{oed}", "required", f"is required ({FLEXI_SUBLIMITS} names {oed})"
                    )
                )
            else:
                sublimits[code] = str(stated[code])
    elif limit is not None:
        # a file from elsewhere: a sub-limit that is not the default one was chosen
        for code, value in stated.items():
            if value != _default_sublimit(product, code, limit):
                sublimits[code] = str(value)
    return sublimits


def _check_stated_in_force(
    row: _Row, product: Product, stated: Mapping[str, Decimal], terms: PolicyTerms
) -> None:
    """Each stated sub-limit must be the one in force (a default one that differs is refused)."""
    for code, value in stated.items():
        if value != terms.coverages[code].limit:
            oed = product.coverages[code].oed_code
            row.errors.append(
                FieldError(
                    f"PolLimit{oed}",
                    "consistency",
                    f"is {value} but the sub-limit in force is {terms.coverages[code].limit}",
                )
            )


def _check_policy_terms(row: _Row, product: Product) -> None:
    """What an OED row may say but our product cannot: refused, naming the column."""
    for column in ("AccCurrency", "AnnualRevenueCurrency"):
        value = row.get(column)
        if value is not None and value != product.currency:
            row.errors.append(
                FieldError(column, "choice", f"must be {product.currency} (the product's currency)")
            )
    participation = row.number("LayerParticipation")
    if participation is not None and participation != 1:
        row.errors.append(
            FieldError("LayerParticipation", "product", "must be 1 (the product insures 100 %)")
        )
    attachment = row.number("LayerAttachment")
    if attachment is not None and attachment != 0:
        row.errors.append(
            FieldError("LayerAttachment", "product", "must be 0 (the product has no attachment)")
        )
    agg, layer = row.number("LayerAggLimit"), row.number("LayerLimit")
    if agg is not None and layer is not None and layer not in (0, agg):
        row.errors.append(
            FieldError(
                "LayerLimit",
                "consistency",
                "must equal LayerAggLimit (the annual aggregate also caps each claim)",
            )
        )
    for oed in NOT_OFFERED:
        other = row.number(f"PolLimit{oed}")
        if other is not None and other != 0:
            row.errors.append(
                FieldError(
                    f"PolLimit{oed}", "product", f"must be blank: the product does not cover {oed}"
                )
            )
    for code in COVERAGES:
        cov = product.coverages[code]
        sub_ded = row.number(f"PolDed{cov.oed_code}")
        if sub_ded is not None and sub_ded != cov.sub_deductible:
            row.errors.append(
                FieldError(
                    f"PolDed{cov.oed_code}",
                    "product",
                    f"must be {cov.sub_deductible} (the product's sub-deductible)",
                )
            )
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    wait = row.number("BIWaitingPeriod")
    if wait is not None and wait * HOURS_PER_DAY != bi.waiting_period_hours:
        row.errors.append(
            FieldError(
                "BIWaitingPeriod",
                "product",
                f"must be {bi.waiting_period_hours / HOURS_PER_DAY} days "
                f"({bi.waiting_period_hours} hours, the product's waiting period)",
            )
        )
    poi = row.number("BIPOI")
    if poi is not None and poi != bi.indemnity_period_days:
        row.errors.append(
            FieldError(
                "BIPOI",
                "product",
                f"must be {bi.indemnity_period_days} days (the product's indemnity period)",
            )
        )


def _default_sublimit(product: Product, code: str, limit: Decimal) -> Decimal:
    """The sub-limit in force when none is chosen (as `policy_terms` sets it)."""
    share = product.coverages[code].default_limit_share
    return min(limit * share, limit).quantize(Decimal("0.01"))


_TermsCache = dict[tuple[Decimal, tuple[tuple[str, Decimal], ...]], PolicyTerms]


def _entry_from_row(
    row: _Row, product: Product, source: str, terms_cache: _TermsCache
) -> BookEntry | None:
    _check_policy_terms(row, product)
    data, stated = _row_to_data(row, product)
    data["cover"]["sublimits"] = _chosen_sublimits(row, product, stated)
    software = row.require(FLEXI_SOFTWARE, "software_vendor")
    cloud = row.require(FLEXI_CLOUD_HOST, "cloud_host")
    email = row.require(FLEXI_EMAIL, "email_vendor")
    policy_number = row.require("PolNumber", "policy_number")
    if row.errors:
        return None
    try:
        app = parse_application(data, product, source)
    except InvalidInput as exc:
        for err in exc.errors:
            column = FIELD_COLUMN.get(err.field)
            if column is None and err.field.startswith("cover.sublimits."):
                column = f"PolLimit{product.coverages[err.field.rsplit('.', 1)[1]].oed_code}"
            label = f"{column} ({err.field})" if column else err.field
            row.errors.append(FieldError(label, err.rule, err.message))
        return None
    key = (app.cover.limit, tuple(sorted(app.cover.sublimits.items())))
    terms = terms_cache.get(key)
    if terms is None:
        terms = terms_cache[key] = policy_terms(app, product)
    _check_stated_in_force(row, product, stated, terms)
    if row.errors:
        return None
    assert policy_number and software and cloud and email
    return BookEntry(
        policy_number=policy_number,
        application=app,
        software_vendor=software,
        cloud_host=cloud,
        email_vendor=email,
    )


def frame_to_book(
    frame: pd.DataFrame, product: Product, source: str = "(frame)"
) -> list[BookEntry]:
    """Validate OED account rows and turn them into book entries (all rows checked; errors
    collected, then raised together as `OedError`)."""
    return texts_to_book(_column_texts(frame), len(frame), product, source)


def _rows_to_book(
    n: int,
    columns: Mapping[str, list[str | None]],
    product: Product,
    source: str,
    terms_cache: _TermsCache,
    problems: list[tuple[int, str, str, FieldError]],
    book: list[BookEntry],
) -> None:
    seen: dict[str, int] = {}
    for i in range(1, n + 1):
        row = _Row(columns, i - 1)
        entry = _entry_from_row(row, product, source, terms_cache)
        acc, pol = row.get("AccNumber") or "", row.get("PolNumber") or ""
        if entry is not None:
            if entry.policy_number in seen:
                row.errors.append(
                    FieldError("PolNumber", "unique", f"repeats row {seen[entry.policy_number]}")
                )
            else:
                seen[entry.policy_number] = i
                book.append(entry)
        problems.extend((i, acc, pol, err) for err in row.errors)


def read_book(path: str | Path, product: Product) -> list[BookEntry]:
    """Read an OED v4 cyber account file (.csv or .parquet) back into a book, validating every
    row through `parse_application`. Row numbers in errors count data rows from 1."""
    columns = read_columns(path)
    source = str(Path(path))
    texts = {name: arrow_texts(array) for name, array in columns.items()}
    n = len(next(iter(columns.values()))) if columns else 0
    return texts_to_book(texts, n, product, source)


def texts_to_book(
    texts: Mapping[str, list[str | None]], n: int, product: Product, source: str
) -> list[BookEntry]:
    """Validate OED rows given as text column by column (None when blank) and turn them into
    book entries (all rows checked; errors collected, then raised together as `OedError`)."""
    problems: list[tuple[int, str, str, FieldError]] = []
    book: list[BookEntry] = []
    terms_cache: _TermsCache = {}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects, no garbage: spare the cyclic collector's rescans
    try:
        _rows_to_book(n, texts, product, source, terms_cache, problems, book)
    finally:
        if gc_was_enabled:
            gc.enable()
    if problems:
        raise OedError(source, problems)
    return book


# --------------------------------------------------------------------------- Oasis FM semantics


INFINITE = Decimal("Infinity")
# OED coverage -> our coverage (the product file says the same: CoverageTerms.oed_code).
_OUR_CODE: Mapping[str, str] = {
    "NPBI": "business_interruption",
    "EXT": "cyber_extortion",
    "REG": "regulatory_investigation",
    "LIA": "data_liability",
    "DIAS": "data_restoration",
    "INRE": "crisis_management",
}
_LENT_SLOT = "data_liability"  # the slot lent to CBI, FIN, ENO (any non-BI slot would do)


@dataclass(frozen=True)
class OasisResult:
    """Insured loss of one OED cyber account for one event, the Oasis way."""

    ground_up: Decimal
    after_coverage_terms: Mapping[str, Decimal]  # per OED coverage, after its sub-terms
    after_policy_deductible: Decimal
    insured: Decimal  # after the layer (attachment, limit, participation)
    per_item: Mapping[str, Decimal]  # the insured loss back-allocated to each coverage


def _oed_amount(account: Mapping[str, object], column: str) -> Decimal:
    text = _cell(account.get(column))
    return Decimal(text) if text is not None else ZERO


def _limit_or_infinite(value: Decimal) -> Decimal:
    """OED: a blank (0) limit means no limit."""
    return INFINITE if value == 0 else value


def oasis_account_insured_loss(
    account: Mapping[str, object], ground_up: Mapping[str, Decimal]
) -> OasisResult:
    """Apply an OED v4 cyber account's terms to one event's ground-up losses per OED coverage
    (``{"NPBI": ..., "DIAS": ...}``), as the Oasis financial module does:

    1. each coverage: its sub-deductible ``PolDed<COV>`` then its sub-limit ``PolLimit<COV>``
       (Oasis calcrule 1) -- through our `apply_terms`, step 2. Our six coverages go through one
       call; CBI, FIN and ENO, which our product does not have, each go through the same rule in a
       call of their own (one coverage slot lent to them): the rule does not depend on the slot;
    2. the policy deductible ``PolDed`` on the sum of the coverages (Oasis calcrule 12; our terms,
       step 3, on the same sum);
    3. the layer: ``min(max(x - LayerAttachment, 0), LayerLimit) x LayerParticipation`` (Oasis
       calcrule 2; our product has no layer, an OED reader must honour it). A blank or 0 limit is
       no limit.

    `per_item` back-allocates the insured loss to the coverages pro rata to their loss after
    step 1 (Oasis's default allocation rule for insured losses), which is not the rule of our
    engine: see docs/exposure.md. Amounts are exact Decimals; Oasis computes in float32.
    The BI waiting period (``BIWaitingPeriod``) is not applied: in Oasis it is no financial term
    (the ground-up loss of a cyber model already accounts for it), so ground-up NPBI is money.
    """
    unknown = set(ground_up) - set(OED_CYBER_COVERAGES)
    if unknown:
        raise ValueError(f"unknown OED cyber coverages: {', '.join(sorted(unknown))}")
    ours = {cov_code: oed for oed, cov_code in _OUR_CODE.items()}
    terms_ours = PolicyTerms(
        coverages={
            code: CoverageTermsInForce(
                limit=_limit_or_infinite(_oed_amount(account, f"PolLimit{oed}")),
                sub_deductible=_oed_amount(account, f"PolDed{oed}"),
            )
            for code, oed in ours.items()
        },
        deductible=ZERO,  # the policy deductible is applied across all nine coverages below
        aggregate_limit=INFINITE,
        waiting_period_hours=ZERO,
        indemnity_period_hours=INFINITE,
    )
    bi = ground_up.get("NPBI", ZERO)
    outcome = apply_terms(
        terms_ours,
        ClaimLosses(
            amounts={
                code: ground_up.get(oed, ZERO)
                for code, oed in ours.items()
                if code != "business_interruption"
            },
            bi_hours=bi,  # money as hours x 1 EUR/hour: no waiting period, no indemnity cap
            bi_hourly_loss=Decimal(1),
        ),
    )
    after: dict[str, Decimal] = {}
    lines = outcome.by_coverage()
    for code, oed in ours.items():
        line = lines[code]
        after[oed] = line.covered_before_terms - line.sub_deductible - line.sub_limit_cut
    for oed in NOT_OFFERED:
        after[oed] = _sub_terms_in_lent_slot(account, oed, ground_up.get(oed, ZERO))
    total = sum(after.values(), ZERO)
    policy_deductible = min(_oed_amount(account, "PolDed"), total)
    net = total - policy_deductible
    attachment = _oed_amount(account, "LayerAttachment")
    layer_limit = _limit_or_infinite(_oed_amount(account, "LayerLimit"))
    participation_text = _cell(account.get("LayerParticipation"))
    participation = Decimal(participation_text) if participation_text is not None else Decimal(1)
    insured = min(max(net - attachment, ZERO), layer_limit) * participation
    per_item = {
        oed: (insured * after[oed] / total if total > 0 else ZERO) for oed in OED_CYBER_COVERAGES
    }
    return OasisResult(
        ground_up=sum((ground_up.get(o, ZERO) for o in OED_CYBER_COVERAGES), ZERO),
        after_coverage_terms={o: after[o] for o in OED_CYBER_COVERAGES},
        after_policy_deductible=net,
        insured=insured,
        per_item=per_item,
    )


def _sub_terms_in_lent_slot(account: Mapping[str, object], oed: str, amount: Decimal) -> Decimal:
    """A coverage our product lacks, through `apply_terms`'s per-coverage rule in a lent slot."""
    terms = PolicyTerms(
        coverages={
            _LENT_SLOT: CoverageTermsInForce(
                limit=_limit_or_infinite(_oed_amount(account, f"PolLimit{oed}")),
                sub_deductible=_oed_amount(account, f"PolDed{oed}"),
            )
        },
        deductible=ZERO,
        aggregate_limit=INFINITE,
    )
    line = apply_terms(terms, ClaimLosses(amounts={_LENT_SLOT: amount})).by_coverage()[_LENT_SLOT]
    return line.covered_before_terms - line.sub_deductible - line.sub_limit_cut
