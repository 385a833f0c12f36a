"""HHS OCR breach portal: a loader that says what it dropped, and the fit of breach sizes.

The portal lists every breach of the health data of 500 or more individuals reported to the U.S.
Department of Health and Human Services (see ``../shared/data/hhs-breach-portal/PROVENANCE.md``).
The number of individuals affected per breach is the exposure that drives notification, crisis
management and liability costs; since the portal starts at 500, its distribution is fitted as a
lognormal *left-truncated* at 500 by maximum likelihood, with two alternatives (a truncated
log-logistic and a Pareto from 500) and goodness-of-fit figures: the plain moments of log size,
the Kolmogorov–Smirnov distance of each fitted law and a Hill estimate of the tail index.
``docs/breaches.md`` reports the results and how the risk model uses them.

>>> from egide.actuarial.breaches import TruncatedLognormal
>>> d = TruncatedLognormal(mu=8.0, sigma=2.0, threshold=500.0)
>>> round(float(d.cdf(500.0)), 6), round(float(d.ppf(0.0)), 6)
(0.0, 500.0)
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from egide.actuarial.breach_filter import HACKING, PROVIDER, EntityFilter

FloatArray = NDArray[np.float64]
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

#: Breaches affecting fewer individuals are not reported to the portal (45 CFR 164.408).
REPORTING_THRESHOLD = 500
#: Counts entered while the real number is unknown (see docs/breaches.md § Placeholder counts).
PLACEHOLDER_COUNTS: frozenset[int] = frozenset({500, 501})
#: Years the two re-hosted exports under-count: cases closed between mid-2023 and November 2024
#: are in neither file (PROVENANCE.md). 2009 is partial too: the portal starts on 2009-10-21.
UNDER_COUNTED_YEARS: frozenset[int] = frozenset({2023, 2024})
PARTIAL_YEARS: frozenset[int] = frozenset({2009})
QUANTILE_LEVELS: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99)
#: Hill estimator: k (the number of upper order statistics) runs over 2 % to 10 % of the sample,
#: and the estimate reported is the one at 5 % (docs/breaches.md § Tail index).
HILL_K_RANGE: tuple[float, float] = (0.02, 0.10)
HILL_K_CHOICE = 0.05
#: Asymptotic 5 % critical value of sqrt(n) * D for the KS test with known parameters.
KS_CRITICAL_5PCT = 1.358

COL_NAME = "Name of Covered Entity"
COL_STATE = "State"
COL_ENTITY_TYPE = "Covered Entity Type"
COL_INDIVIDUALS = "Individuals Affected"
COL_DATE = "Breach Submission Date"
COL_TYPE = "Type of Breach"
COL_LOCATION = "Location of Breached Information"
COL_BUSINESS_ASSOCIATE = "Business Associate Present"
COL_DESCRIPTION = "Web Description"
#: Columns the loader needs; the others are read when present.
REQUIRED_COLUMNS: tuple[str, ...] = (COL_NAME, COL_ENTITY_TYPE, COL_INDIVIDUALS, COL_DATE, COL_TYPE)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    COL_STATE,
    COL_LOCATION,
    COL_BUSINESS_ASSOCIATE,
    COL_DESCRIPTION,
)


class BreachDataError(Exception):
    """A breach file that cannot be read: names the file and the rule it breaks."""

    def __init__(self, path: str | Path, rule: str) -> None:
        self.path, self.rule = str(path), rule
        super().__init__(f"{self.path}: {rule}")


class BreachFitError(Exception):
    """A sample the fit cannot use (too small, under the threshold), or a fit that failed."""


class DropReason(StrEnum):
    """Why a row of a breach file was not kept. Each row gets the first reason that applies."""

    MALFORMED_ROW = "malformed_row"
    EXACT_DUPLICATE = "exact_duplicate"
    MISSING_COUNT = "missing_count"
    NON_NUMERIC_COUNT = "non_numeric_count"
    ZERO_COUNT = "zero_count"
    BELOW_THRESHOLD = "below_reporting_threshold"
    INVALID_DATE = "invalid_date"
    SUPERSEDED = "superseded_by_later_file"

    @property
    def description(self) -> str:
        return _DROP_DESCRIPTIONS[self]


_DROP_DESCRIPTIONS: dict[DropReason, str] = {
    DropReason.MALFORMED_ROW: "fewer fields than the header (or non-empty extra fields)",
    DropReason.EXACT_DUPLICATE: "identical, field for field, to an earlier row of the same file",
    DropReason.MISSING_COUNT: "Individuals Affected is empty",
    DropReason.NON_NUMERIC_COUNT: "Individuals Affected is not a whole number",
    DropReason.ZERO_COUNT: "Individuals Affected is 0",
    DropReason.BELOW_THRESHOLD: f"Individuals Affected is under {REPORTING_THRESHOLD}",
    DropReason.INVALID_DATE: "Breach Submission Date is not a MM/DD/YYYY date",
    DropReason.SUPERSEDED: "same entity and submission date as a row of a later export",
}


class Note(StrEnum):
    """A kept record with a missing or multi-valued field (kept: the size and date are sound)."""

    MISSING_NAME = "missing_entity_name"
    MISSING_STATE = "missing_state"
    MISSING_ENTITY_TYPE = "missing_entity_type"
    MISSING_BREACH_TYPE = "missing_breach_type"
    MISSING_LOCATION = "missing_location"
    MULTI_VALUED_TYPE = "multi_valued_breach_type"
    MULTI_VALUED_LOCATION = "multi_valued_location"
    PLACEHOLDER_COUNT = "placeholder_count_500_or_501"


@dataclass(frozen=True, slots=True)
class BreachRecord:
    """One kept breach. `line` is the physical line where the row starts in `source`."""

    entity: str
    state: str | None
    entity_type: str | None
    individuals: int
    submitted: date
    breach_types: tuple[str, ...]
    locations: tuple[str, ...]
    business_associate: bool | None
    source: str
    line: int

    @property
    def is_provider(self) -> bool:
        return self.entity_type is not None and self.entity_type.casefold() == PROVIDER.casefold()

    @property
    def is_hacking(self) -> bool:
        return any(t.casefold() == HACKING.casefold() for t in self.breach_types)

    def matches(self, entity_filter: EntityFilter) -> bool:
        if entity_filter is EntityFilter.ALL:
            return True
        if entity_filter is EntityFilter.PROVIDER:
            return self.is_provider
        return self.is_provider and self.is_hacking


@dataclass(frozen=True)
class FileSummary:
    """What one file contributed: records read, kept, and its latest submission date (the
    snapshot date that decides which file wins an overlap)."""

    path: str
    read: int
    kept: int
    latest_submission: date | None


@dataclass(frozen=True)
class DroppedReport:
    """Rows read and rows dropped per reason, with up to three examples (``file:line``) each."""

    read: int
    counts: Mapping[DropReason, int]
    examples: Mapping[DropReason, tuple[str, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class BreachData:
    """The kept records of one or more HHS exports, and what was dropped on the way."""

    records: tuple[BreachRecord, ...]
    dropped: DroppedReport
    notes: Mapping[Note, int]
    files: tuple[FileSummary, ...]

    @property
    def kept(self) -> int:
        return len(self.records)

    def select(self, entity_filter: EntityFilter = EntityFilter.ALL) -> tuple[BreachRecord, ...]:
        return tuple(r for r in self.records if r.matches(entity_filter))

    def individuals(self, entity_filter: EntityFilter = EntityFilter.ALL) -> FloatArray:
        """Individuals affected per kept breach that passes the filter, as floats."""
        return np.array([r.individuals for r in self.select(entity_filter)], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------------

_COUNT_RE = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def normalise_name(name: str) -> str:
    """Entity name for matching: accents folded, case folded, punctuation and spaces collapsed.

    >>> normalise_name("  Unlimited Care, Inc. ")
    'unlimited care inc'
    >>> normalise_name("Cheyenne Radiology Group & MRI, P.C.")
    'cheyenne radiology group mri pc'
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    joined = re.sub(r"[.'`]", "", folded.casefold())  # "P.C." = "PC", "Mary's" = "Marys"
    return " ".join(re.sub(r"[^0-9a-z]+", " ", joined).split())


def _canonical_header(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _split_multi(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _parse_count(value: str) -> int | DropReason:
    text = value.strip()
    if not text:
        return DropReason.MISSING_COUNT
    if not _COUNT_RE.fullmatch(text):
        return DropReason.NON_NUMERIC_COUNT
    count = int(text.replace(",", ""))
    if count == 0:
        return DropReason.ZERO_COUNT
    if count < REPORTING_THRESHOLD:
        return DropReason.BELOW_THRESHOLD
    return count


def _parse_date(value: str) -> date | None:
    try:
        return datetime.strptime(value.strip(), "%m/%d/%Y").date()
    except ValueError:
        return None


def _parse_yes_no(value: str) -> bool | None:
    text = value.strip().casefold()
    return {"yes": True, "no": False}.get(text)


@dataclass
class _FileRows:
    path: str
    read: int = 0
    kept: list[BreachRecord] = field(default_factory=list)
    dropped: list[tuple[DropReason, str]] = field(default_factory=list)


def _read_text(path: Path) -> str:
    if not path.exists():
        raise BreachDataError(path, "file not found")
    if not path.is_file():
        raise BreachDataError(path, "not a regular file")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise BreachDataError(path, "not a CSV text file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BreachDataError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc


def _read_file(path: Path) -> _FileRows:
    text = _read_text(path)
    out = _FileRows(path=str(path))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header: list[str] | None = None
        for row in reader:
            if any(cell.strip() for cell in row):
                header = row
                break
        if header is None:
            raise BreachDataError(path, "empty file: no header row")
        index = {_canonical_header(h): i for i, h in enumerate(header)}
        missing = [c for c in REQUIRED_COLUMNS if _canonical_header(c) not in index]
        if missing:
            found = ", ".join(repr(h.strip()) for h in header[:9])
            raise BreachDataError(
                path,
                f"missing required column(s) {', '.join(repr(c) for c in missing)} "
                f"(header has: {found})",
            )
        col = {c: index.get(_canonical_header(c)) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        width = len(header)
        seen: set[tuple[str, ...]] = set()
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue  # a blank line is not a record
            out.read += 1
            where = f"{path.name}:{start}"
            if len(row) < width or any(cell.strip() for cell in row[width:]):
                out.dropped.append((DropReason.MALFORMED_ROW, where))
                continue
            row = row[:width]
            key = tuple(row)
            if key in seen:
                out.dropped.append((DropReason.EXACT_DUPLICATE, where))
                continue
            seen.add(key)

            def get(column: str, row: list[str] = row) -> str:
                i = col[column]
                return "" if i is None else row[i]

            count = _parse_count(get(COL_INDIVIDUALS))
            if isinstance(count, DropReason):
                out.dropped.append((count, where))
                continue
            submitted = _parse_date(get(COL_DATE))
            if submitted is None:
                out.dropped.append((DropReason.INVALID_DATE, where))
                continue
            out.kept.append(
                BreachRecord(
                    entity=" ".join(get(COL_NAME).split()),
                    state=get(COL_STATE).strip() or None,
                    entity_type=" ".join(get(COL_ENTITY_TYPE).split()) or None,
                    individuals=count,
                    submitted=submitted,
                    breach_types=_split_multi(get(COL_TYPE)),
                    locations=_split_multi(get(COL_LOCATION)),
                    business_associate=_parse_yes_no(get(COL_BUSINESS_ASSOCIATE)),
                    source=path.name,
                    line=start,
                )
            )
    except csv.Error as exc:
        raise BreachDataError(path, f"not valid CSV near line {reader.line_num}: {exc}") from exc
    return out


def _match_score(a: BreachRecord, b: BreachRecord) -> tuple[int, float]:
    same_type = (a.entity_type or "").casefold() == (b.entity_type or "").casefold()
    return (0 if same_type else 1, abs(math.log(a.individuals / b.individuals)))


def load_breaches(paths: Path | str | Sequence[Path | str]) -> BreachData:
    """Load one or more HHS breach-portal CSV exports.

    Per file: blank lines skipped, rows with a wrong number of fields, exact duplicates and rows
    without a usable count (empty, not a whole number, 0, under 500) or date are dropped, each with
    its reason. Across files, a row whose normalised entity name and submission date match a row
    of a file with a later snapshot (latest submission date) is dropped as superseded: the later
    export has the revised figures. Matching is one to one, so distinct reports filed by one
    entity on one day (e.g. a business associate filing per client) are not merged.

    Raises `BreachDataError` naming the file and the rule for a missing, non-text or non-CSV file
    or one lacking a required column.
    """
    path_list = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not path_list:
        raise BreachDataError("<none>", "no file given")
    per_file = [_read_file(p) for p in path_list]

    def snapshot(i: int) -> tuple[date, int]:
        dates = [r.submitted for r in per_file[i].kept]
        return (max(dates) if dates else date.min, i)

    order = sorted(range(len(per_file)), key=snapshot, reverse=True)
    pool: dict[tuple[str, date], list[BreachRecord]] = defaultdict(list)
    kept_by_file: dict[int, list[BreachRecord]] = {}
    for i in order:
        rows = per_file[i]
        candidates: dict[tuple[str, date], list[int]] = defaultdict(list)
        for j, rec in enumerate(rows.kept):
            key = (normalise_name(rec.entity), rec.submitted)
            if key[0] and key in pool:
                candidates[key].append(j)
        superseded: set[int] = set()
        for key, js in candidates.items():
            pairs = sorted(
                (_match_score(rows.kept[j], later), j, k)
                for j in js
                for k, later in enumerate(pool[key])
            )
            used_later: set[int] = set()
            for _, j, k in pairs:
                if j not in superseded and k not in used_later:
                    superseded.add(j)
                    used_later.add(k)
        kept_here = [r for j, r in enumerate(rows.kept) if j not in superseded]
        rows.dropped.extend(
            (DropReason.SUPERSEDED, f"{r.source}:{r.line}")
            for j, r in enumerate(rows.kept)
            if j in superseded
        )
        kept_by_file[i] = kept_here
        for rec in kept_here:
            pool[(normalise_name(rec.entity), rec.submitted)].append(rec)

    records = [r for i in range(len(per_file)) for r in kept_by_file[i]]
    records.sort(key=lambda r: (r.submitted, r.source, r.line))
    counts: Counter[DropReason] = Counter()
    examples: dict[DropReason, list[str]] = defaultdict(list)
    for rows in per_file:
        for reason, where in rows.dropped:
            counts[reason] += 1
            if len(examples[reason]) < 3:
                examples[reason].append(where)
    files = tuple(
        FileSummary(
            path=per_file[i].path,
            read=per_file[i].read,
            kept=len(kept_by_file[i]),
            latest_submission=max((r.submitted for r in per_file[i].kept), default=None),
        )
        for i in range(len(per_file))
    )
    return BreachData(
        records=tuple(records),
        dropped=DroppedReport(
            read=sum(f.read for f in per_file),
            counts={r: counts[r] for r in DropReason if counts[r]},
            examples={r: tuple(v) for r, v in examples.items()},
        ),
        notes=_notes(records),
        files=files,
    )


def _notes(records: Iterable[BreachRecord]) -> dict[Note, int]:
    notes: Counter[Note] = Counter()
    for r in records:
        notes[Note.MISSING_NAME] += not r.entity
        notes[Note.MISSING_STATE] += r.state is None
        notes[Note.MISSING_ENTITY_TYPE] += r.entity_type is None
        notes[Note.MISSING_BREACH_TYPE] += not r.breach_types
        notes[Note.MISSING_LOCATION] += not r.locations
        notes[Note.MULTI_VALUED_TYPE] += len(r.breach_types) > 1
        notes[Note.MULTI_VALUED_LOCATION] += len(r.locations) > 1
        notes[Note.PLACEHOLDER_COUNT] += r.individuals in PLACEHOLDER_COUNTS
    return {n: notes[n] for n in Note if notes[n]}


def yearly_counts(
    records: Iterable[BreachRecord], entity_filter: EntityFilter = EntityFilter.ALL
) -> dict[int, int]:
    """Number of kept breaches per submission year, every year from the first to the last.

    2023 and 2024 are under-counted with the two re-hosted exports (`UNDER_COUNTED_YEARS`) and
    2009 starts on 21 October (`PARTIAL_YEARS`): do not read a trend into them.
    """
    years = Counter(r.submitted.year for r in records if r.matches(entity_filter))
    if not years:
        return {}
    return {y: years[y] for y in range(min(years), max(years) + 1)}


def size_sample(
    data: BreachData,
    entity_filter: EntityFilter = EntityFilter.PROVIDER,
    *,
    keep_placeholders: bool = False,
) -> tuple[FloatArray, int]:
    """Individuals affected for the fit, and how many placeholder counts (500, 501) were left out.

    A placeholder only says "at least 500": under truncation at 500 its likelihood is 1, so leaving
    it out is the exact treatment, not a loss of information (docs/breaches.md).
    """
    x = data.individuals(entity_filter)
    if keep_placeholders:
        return x, 0
    placeholder = np.isin(x, np.array(sorted(PLACEHOLDER_COUNTS), dtype=np.float64))
    return x[~placeholder], int(placeholder.sum())


# --------------------------------------------------------------------------------------------
# Distributions, all left-truncated at a threshold t (support x >= t)
# --------------------------------------------------------------------------------------------


class TruncatedModel(Protocol):
    """A distribution of x >= threshold with a name and a number of fitted parameters."""

    @property
    def name(self) -> str: ...

    @property
    def n_params(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    def logpdf(self, x: ArrayLike) -> FloatArray: ...

    def cdf(self, x: ArrayLike) -> FloatArray: ...

    def ppf(self, p: ArrayLike) -> FloatArray: ...


@dataclass(frozen=True)
class TruncatedLognormal:
    """log X ~ Normal(mu, sigma) conditioned on X >= threshold."""

    mu: float
    sigma: float
    threshold: float = float(REPORTING_THRESHOLD)
    name: ClassVar[str] = "lognormal"
    n_params: ClassVar[int] = 2

    @property
    def alpha(self) -> float:
        """Standardised truncation point (log t - mu) / sigma."""
        return (math.log(self.threshold) - self.mu) / self.sigma

    @property
    def truncated_mass(self) -> float:
        """Share of the untruncated lognormal below the threshold (breaches the portal misses)."""
        return float(stats.norm.cdf(self.alpha))

    def logpdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        y = np.log(np.maximum(xa, self.threshold))
        out = (
            stats.norm.logpdf((y - self.mu) / self.sigma)
            - math.log(self.sigma)
            - y
            - stats.norm.logsf(self.alpha)
        )
        return np.where(xa >= self.threshold, out, -np.inf).astype(np.float64)

    def cdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        y = np.log(np.maximum(xa, self.threshold))
        sf = stats.norm.sf((y - self.mu) / self.sigma) / stats.norm.sf(self.alpha)
        return np.asarray(np.clip(1.0 - sf, 0.0, 1.0), dtype=np.float64)

    def ppf(self, p: ArrayLike) -> FloatArray:
        pa = np.asarray(p, dtype=np.float64)
        z = stats.norm.isf((1.0 - pa) * stats.norm.sf(self.alpha))
        return np.asarray(np.exp(self.mu + self.sigma * z), dtype=np.float64)

    def rvs(self, size: int, rng: np.random.Generator) -> FloatArray:
        return self.ppf(rng.uniform(size=size))

    def log_moments(self) -> tuple[float, float, float, float]:
        """Mean, standard deviation, skewness and excess kurtosis of log X (a truncated normal)."""
        law = stats.truncnorm(self.alpha, np.inf, loc=self.mu, scale=self.sigma)
        mean, var, skew, kurt = (float(v) for v in law.stats(moments="mvsk"))
        return mean, math.sqrt(var), skew, kurt

    def hill_alpha(self, tail_fraction: float) -> float:
        """The tail index the Hill estimator converges to on this law with k = tail_fraction * n.

        1 / E[log X - log x_q | X > x_q], x_q the quantile of level 1 - tail_fraction: a lognormal
        has every moment finite, yet shows this apparent alpha over its top `tail_fraction`.
        """
        p = tail_fraction * float(stats.norm.sf(self.alpha))  # share of the untruncated law
        z = float(stats.norm.isf(p))
        mills = math.exp(float(stats.norm.logpdf(z) - stats.norm.logsf(z)))
        return 1.0 / (self.sigma * (mills - z))


@dataclass(frozen=True)
class TruncatedLogLogistic:
    """log X ~ Logistic(m, s) conditioned on X >= threshold (a Fisk / Burr-type tail)."""

    m: float
    s: float
    threshold: float = float(REPORTING_THRESHOLD)
    name: ClassVar[str] = "log-logistic"
    n_params: ClassVar[int] = 2

    @property
    def _a(self) -> float:
        return (math.log(self.threshold) - self.m) / self.s

    def logpdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        y = np.log(np.maximum(xa, self.threshold))
        out = (
            stats.logistic.logpdf((y - self.m) / self.s)
            - math.log(self.s)
            - y
            - stats.logistic.logsf(self._a)
        )
        return np.where(xa >= self.threshold, out, -np.inf).astype(np.float64)

    def cdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        y = np.log(np.maximum(xa, self.threshold))
        sf = stats.logistic.sf((y - self.m) / self.s) / stats.logistic.sf(self._a)
        return np.asarray(np.clip(1.0 - sf, 0.0, 1.0), dtype=np.float64)

    def ppf(self, p: ArrayLike) -> FloatArray:
        pa = np.asarray(p, dtype=np.float64)
        u = stats.logistic.isf((1.0 - pa) * stats.logistic.sf(self._a))
        return np.asarray(np.exp(self.m + self.s * u), dtype=np.float64)


@dataclass(frozen=True)
class ParetoFromThreshold:
    """Pareto type I with scale = threshold: P(X > x) = (x / t) ** -alpha."""

    alpha: float
    threshold: float = float(REPORTING_THRESHOLD)
    name: ClassVar[str] = "pareto"
    n_params: ClassVar[int] = 1

    def logpdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        xs = np.maximum(xa, self.threshold)
        out = (
            math.log(self.alpha)
            + self.alpha * math.log(self.threshold)
            - (self.alpha + 1) * (np.log(xs))
        )
        return np.where(xa >= self.threshold, out, -np.inf).astype(np.float64)

    def cdf(self, x: ArrayLike) -> FloatArray:
        xa = np.asarray(x, dtype=np.float64)
        return np.clip(1.0 - (np.maximum(xa, self.threshold) / self.threshold) ** -self.alpha, 0, 1)

    def ppf(self, p: ArrayLike) -> FloatArray:
        pa = np.asarray(p, dtype=np.float64)
        return np.asarray(self.threshold * (1.0 - pa) ** (-1.0 / self.alpha), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A fitted parameter with its standard error (from the observed information)."""

    name: str
    value: float
    se: float


@dataclass(frozen=True)
class QuantileRow:
    """Empirical quantile of the sample, its 90 % bootstrap interval (resampling breaches), and
    the fitted quantile of each model, at level `p`."""

    p: float
    empirical: float
    empirical_low: float
    empirical_high: float
    fitted: Mapping[str, float]


@dataclass(frozen=True)
class ModelFit:
    """One model fitted by maximum likelihood on a sample, with its goodness of fit.

    ``ks_pvalue`` is the nominal Kolmogorov–Smirnov p-value, which ignores that the parameters were
    estimated on the same sample (it is too large); `ks_bootstrap_pvalue` gives a proper one.
    """

    model: TruncatedModel
    estimates: tuple[Estimate, ...]
    loglik: float
    n: int
    ks_statistic: float
    ks_pvalue: float
    #: covariance of the estimates, in the order of `estimates` (inverse observed information)
    covariance: FloatArray | None = None

    @property
    def name(self) -> str:
        return self.model.name

    def correlation(self, a: str, b: str) -> float:
        """Correlation of two estimates (NaN without a covariance)."""
        if self.covariance is None:
            return math.nan
        names = [e.name for e in self.estimates]
        i, j = names.index(a), names.index(b)
        c = self.covariance
        return float(c[i, j] / math.sqrt(c[i, i] * c[j, j]))

    @property
    def aic(self) -> float:
        return 2.0 * self.model.n_params - 2.0 * self.loglik

    def estimate(self, name: str) -> Estimate:
        for e in self.estimates:
            if e.name == name:
                return e
        raise KeyError(name)


@dataclass(frozen=True)
class LogMoments:
    """Plain moments of log(x) of a sample: mean, standard deviation (n - 1 in the denominator),
    skewness g1 = m3 / m2^1.5 and excess kurtosis g2 = m4 / m2^2 - 3 (m_r the central moments).

    The standard errors are the normal-theory ones (exact under normality of log x, too small for
    a skewed sample): sd / sqrt(n), sd / sqrt(2 (n - 1)), sqrt(6 (n - 2) / ((n + 1)(n + 3))) and
    sqrt(24 n (n - 2)(n - 3) / ((n + 1)^2 (n + 3)(n + 5))).
    """

    n: int
    mean: float
    sd: float
    skewness: float
    excess_kurtosis: float

    @property
    def se_mean(self) -> float:
        return self.sd / math.sqrt(self.n)

    @property
    def se_sd(self) -> float:
        return self.sd / math.sqrt(2.0 * (self.n - 1))

    @property
    def se_skewness(self) -> float:
        n = self.n
        return math.sqrt(6.0 * (n - 2) / ((n + 1) * (n + 3)))

    @property
    def se_excess_kurtosis(self) -> float:
        n = self.n
        return math.sqrt(24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5)))


def log_moments(x: ArrayLike) -> LogMoments:
    """Plain moments of log(x) (see `LogMoments`); x > 0, at least 4 values."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    if xa.size < 4:
        raise BreachFitError(f"need at least 4 values for the moments of log size, got {xa.size}")
    if not np.all(np.isfinite(xa)) or np.any(xa <= 0):
        raise BreachFitError("the moments of log size need finite positive values")
    y = np.log(xa)
    dev = y - y.mean()
    m2 = float(np.mean(dev**2))
    if m2 <= 0:
        raise BreachFitError("all values are equal: skewness and kurtosis are undefined")
    return LogMoments(
        n=int(y.size),
        mean=float(y.mean()),
        sd=float(y.std(ddof=1)),
        skewness=float(np.mean(dev**3)) / m2**1.5,
        excess_kurtosis=float(np.mean(dev**4)) / m2**2 - 3.0,
    )


@dataclass(frozen=True)
class KSDistance:
    """Kolmogorov–Smirnov distance D = sup |F(x) - F_n(x)| between a fitted CDF F and the
    empirical CDF F_n, its two sides (D+ = sup F_n - F: the fit lags the data; D- = sup F - F_n:
    the fit runs ahead), and where it is reached: at size `at`, F is `fitted_cdf` and F_n (or its
    left limit, for D-) is `empirical_cdf`."""

    model: str
    n: int
    d: float
    d_plus: float
    d_minus: float
    at: float
    fitted_cdf: float
    empirical_cdf: float

    @property
    def sqrt_n_d(self) -> float:
        return math.sqrt(self.n) * self.d

    @property
    def critical_5pct(self) -> float:
        """D above this rejects at 5 % if the parameters were known (they were fitted: lenient)."""
        return KS_CRITICAL_5PCT / math.sqrt(self.n)


def ks_distance(model: TruncatedModel, x: ArrayLike) -> KSDistance:
    """The KS distance of `model` on the sample `x` (ties are handled: F_n jumps once per value)."""
    xs = np.sort(np.asarray(x, dtype=np.float64).ravel())
    n = xs.size
    if n == 0:
        raise BreachFitError("the KS distance needs at least one value")
    f = model.cdf(xs)
    i = np.arange(1, n + 1, dtype=np.float64)
    plus, minus = i / n - f, f - (i - 1) / n
    j_plus, j_minus = int(np.argmax(plus)), int(np.argmax(minus))
    d_plus, d_minus = float(plus[j_plus]), float(minus[j_minus])
    if d_plus >= d_minus:
        j, empirical = j_plus, float(i[j_plus] / n)
    else:
        j, empirical = j_minus, float((i[j_minus] - 1) / n)
    return KSDistance(
        model=model.name,
        n=int(n),
        d=max(d_plus, d_minus),
        d_plus=d_plus,
        d_minus=d_minus,
        at=float(xs[j]),
        fitted_cdf=float(f[j]),
        empirical_cdf=empirical,
    )


def hill_alphas(x: ArrayLike, ks: ArrayLike) -> FloatArray:
    """Hill estimates of the tail index, one per k: 1 / H_k with
    H_k = (1/k) sum_{i<=k} log x_(i) - log x_(k+1), x_(1) >= x_(2) >= ... the sample sorted down."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    k = np.asarray(ks, dtype=np.int64).ravel()
    if k.size == 0 or k.min() < 1 or k.max() >= xa.size:
        raise BreachFitError(f"k must run from 1 to n - 1 = {xa.size - 1}")
    if np.any(xa <= 0):
        raise BreachFitError("the Hill estimator needs positive values")
    y = np.sort(np.log(xa))[::-1]
    h = np.cumsum(y)[k - 1] / k - y[k]
    if np.any(h <= 0):
        raise BreachFitError("the largest values are all equal: the Hill estimator is undefined")
    return np.asarray(1.0 / h, dtype=np.float64)


@dataclass(frozen=True)
class HillEstimate:
    """Hill estimate of the tail index alpha (P(X > x) ~ x^-alpha) at `k` upper order statistics,
    its asymptotic standard error alpha / sqrt(k), and its range over k = k_low..k_high.

    `lognormal_alpha` (and its range over the same k) is what the estimator converges to on the
    fitted truncated lognormal: the benchmark that says whether the data's tail is heavier than
    the lognormal's (NaN when no lognormal was given).
    """

    n: int
    k: int
    alpha: float
    threshold: float  # x_(k+1): the estimate uses the breaches above it
    k_low: int
    k_high: int
    alpha_min: float
    alpha_max: float
    k_rule: str
    lognormal_alpha: float = math.nan
    lognormal_alpha_min: float = math.nan
    lognormal_alpha_max: float = math.nan

    @property
    def se(self) -> float:
        return self.alpha / math.sqrt(self.k)

    @property
    def ci95(self) -> tuple[float, float]:
        return self.alpha - 1.96 * self.se, self.alpha + 1.96 * self.se

    @property
    def interpretation(self) -> str:
        """What the estimate would mean for a power-law tail, how the range reads, and the
        lognormal benchmark when there is one."""
        line = hill_reading(self.alpha, self.alpha_min, self.alpha_max)
        if not math.isfinite(self.lognormal_alpha):
            return line
        if abs(self.alpha - self.lognormal_alpha) <= 2 * self.se:
            verdict = (
                "the data's tail is as heavy as the lognormal's within two standard errors, so "
                "this alpha alone does not point to an infinite moment"
            )
        else:
            heavier = "heavier" if self.alpha < self.lognormal_alpha else "lighter"
            verdict = f"the data's tail is {heavier} than the lognormal's by over two std. errors"
        return (
            f"{line}. The fitted lognormal, every moment finite, shows alpha = "
            f"{self.lognormal_alpha:.2f} ({self.lognormal_alpha_min:.2f}–"
            f"{self.lognormal_alpha_max:.2f}) at the same k: {verdict}"
        )


def hill_reading(alpha: float, low: float, high: float) -> str:
    """One line: the moment a power law of index `alpha` lacks, and whether [low, high] crosses
    1 or 2 (alpha < 1: infinite mean; 1 <= alpha < 2: finite mean, infinite variance)."""

    def reading(a: float) -> str:
        if a < 1.0:
            return "alpha < 1: a power-law tail this heavy has an infinite mean"
        if a < 2.0:
            return "1 <= alpha < 2: finite mean, infinite variance for a power-law tail"
        return "alpha >= 2: finite mean and variance"

    crosses = [b for b in (1.0, 2.0) if low < b <= high]
    spread = (
        f"; over the range alpha crosses {' and '.join(f'{b:g}' for b in crosses)}"
        if crosses
        else "; the whole range reads the same"
    )
    return reading(alpha) + spread


def _hill_k_range(n: int, k_range: tuple[float, float], k_choice: float) -> tuple[int, int, int]:
    low, high = k_range
    if not 0.0 < low <= k_choice <= high < 1.0:
        raise BreachFitError(f"need 0 < {low} <= {k_choice} <= {high} < 1 for the Hill range")
    k_low = max(2, math.ceil(low * n))
    k_high = min(n - 1, max(k_low, math.floor(high * n)))
    if k_low > k_high:
        raise BreachFitError(f"too few values ({n}) for the Hill estimator")
    k = min(k_high, max(k_low, round(k_choice * n)))
    return k_low, k, k_high


def hill_estimate(
    x: ArrayLike,
    *,
    k_range: tuple[float, float] = HILL_K_RANGE,
    k_choice: float = HILL_K_CHOICE,
    lognormal: TruncatedLognormal | None = None,
) -> HillEstimate:
    """Hill tail index at k = round(k_choice * n), with its min and max over
    k = ceil(k_range[0] * n) .. floor(k_range[1] * n) (k at least 2, at most n - 1).

    The estimator assumes a power-law (regularly varying) tail above x_(k+1). On a lognormal it
    drifts up as k shrinks; `lognormal` (the fitted law) gives that drift as a benchmark.
    """
    xa = np.asarray(x, dtype=np.float64).ravel()
    k_low, k, k_high = _hill_k_range(int(xa.size), k_range, k_choice)
    ks = np.arange(k_low, k_high + 1)
    alphas = hill_alphas(xa, ks)
    threshold = float(np.sort(xa)[::-1][k])
    rule = f"k = {k_choice:.0%} of n; range k = {k_range[0]:.0%} to {k_range[1]:.0%} of n"
    lognormal_fields: dict[str, float] = {}
    if lognormal is not None:
        n = xa.size
        at_k, at_low, at_high = (lognormal.hill_alpha(j / n) for j in (k, k_low, k_high))
        lognormal_fields = {
            "lognormal_alpha": at_k,
            "lognormal_alpha_min": min(at_low, at_high),
            "lognormal_alpha_max": max(at_low, at_high),
        }
    return HillEstimate(
        n=int(xa.size),
        k=k,
        alpha=float(alphas[k - k_low]),
        threshold=threshold,
        k_low=k_low,
        k_high=k_high,
        alpha_min=float(alphas.min()),
        alpha_max=float(alphas.max()),
        k_rule=rule,
        **lognormal_fields,
    )


@dataclass(frozen=True)
class BreachSizeFit:
    """The lognormal fit, its alternatives, the quantile table and the comparison by AIC, with
    the plain moments of log size, the KS distance of every law and the Hill tail index."""

    threshold: float
    n: int
    lognormal: ModelFit
    alternatives: tuple[ModelFit, ...]
    quantiles: tuple[QuantileRow, ...]
    log_moments: LogMoments
    ks: tuple[KSDistance, ...]
    hill: HillEstimate

    @property
    def models(self) -> tuple[ModelFit, ...]:
        return (self.lognormal, *self.alternatives)

    @property
    def best_by_aic(self) -> ModelFit:
        return min(self.models, key=lambda m: m.aic)


def _check_sample(x: ArrayLike, threshold: float, minimum: int = 10) -> FloatArray:
    xa = np.asarray(x, dtype=np.float64).ravel()
    if xa.size < minimum:
        raise BreachFitError(f"need at least {minimum} breaches to fit, got {xa.size}")
    if not np.all(np.isfinite(xa)):
        raise BreachFitError("the sample has non-finite values")
    if np.any(xa < threshold):
        raise BreachFitError(
            f"{int((xa < threshold).sum())} values are under the truncation point {threshold:g}"
        )
    return xa


def _lognormal_nll_grad(
    theta: FloatArray, y: FloatArray, a: float, sum_y: float
) -> tuple[float, FloatArray]:
    """Negative log-likelihood of x = exp(y) and its gradient in (mu, log sigma)."""
    mu, sigma = float(theta[0]), math.exp(float(theta[1]))
    n = y.size
    z = (y - mu) / sigma
    alpha = (a - mu) / sigma
    log_sf = float(stats.norm.logsf(alpha))
    lam = math.exp(float(stats.norm.logpdf(alpha)) - log_sf)  # inverse Mills ratio
    sz, szz = float(z.sum()), float(z @ z)
    nll = n * math.log(sigma) + 0.5 * szz + n * log_sf + sum_y + 0.5 * n * math.log(2 * math.pi)
    d_mu = (sz - n * lam) / sigma  # d loglik / d mu
    d_sigma = (-n + szz - n * lam * alpha) / sigma  # d loglik / d sigma
    return nll, np.array([-d_mu, -d_sigma * sigma], dtype=np.float64)


def lognormal_observed_information(
    mu: float, sigma: float, x: ArrayLike, threshold: float
) -> FloatArray:
    """Observed Fisher information of the truncated lognormal in (mu, sigma), analytic.

    Minus the Hessian of the log-likelihood; with no truncation (threshold -> 0) it is
    diag(n / sigma^2, 2 n / sigma^2) at the maximum.
    """
    y = np.log(np.asarray(x, dtype=np.float64))
    n = y.size
    z = (y - mu) / sigma
    alpha = (math.log(threshold) - mu) / sigma
    lam = math.exp(float(stats.norm.logpdf(alpha) - stats.norm.logsf(alpha)))
    dlam = lam * (lam - alpha)
    sz, szz = float(z.sum()), float(z @ z)
    h_mm = (-n + n * dlam) / sigma**2
    h_ms = (-2 * sz + n * dlam * alpha + n * lam) / sigma**2
    h_ss = (n - 3 * szz + n * dlam * alpha**2 + 2 * n * lam * alpha) / sigma**2
    return -np.array([[h_mm, h_ms], [h_ms, h_ss]], dtype=np.float64)


def _ks(model: TruncatedModel, x: FloatArray) -> tuple[float, float]:
    res = stats.kstest(x, lambda v: model.cdf(v))
    return float(res.statistic), float(res.pvalue)


def _loglik(model: TruncatedModel, x: FloatArray) -> float:
    return float(np.sum(model.logpdf(x)))


def _covariance(info: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.inv(info), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.full(info.shape, np.nan)


def _standard_errors(cov: FloatArray) -> FloatArray:
    diag = np.diag(cov)
    return np.asarray(np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan), dtype=np.float64)


def fit_truncated_lognormal(x: ArrayLike, threshold: float = REPORTING_THRESHOLD) -> ModelFit:
    """Maximum-likelihood lognormal left-truncated at `threshold`.

    Standard errors come from the analytic observed information at the maximum.
    """
    xa = _check_sample(x, threshold)
    y = np.log(xa)
    a = math.log(threshold)
    sd = float(y.std())
    if sd <= 0:
        raise BreachFitError("all values are equal: the dispersion cannot be estimated")
    start = np.array([float(y.mean()) - 0.5 * sd, math.log(1.3 * sd)])
    res = optimize.minimize(
        _lognormal_nll_grad, start, args=(y, a, float(y.sum())), jac=True, method="BFGS"
    )
    mu, sigma = float(res.x[0]), math.exp(float(res.x[1]))
    grad_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else math.inf
    if not (math.isfinite(mu) and math.isfinite(sigma)) or grad_norm > 1e-3 * xa.size:
        raise BreachFitError(f"the truncated lognormal fit did not converge ({res.message})")
    model = TruncatedLognormal(mu=mu, sigma=sigma, threshold=float(threshold))
    cov = _covariance(lognormal_observed_information(mu, sigma, xa, threshold))
    se = _standard_errors(cov)
    ks, p = _ks(model, xa)
    return ModelFit(
        model=model,
        estimates=(Estimate("mu", mu, float(se[0])), Estimate("sigma", sigma, float(se[1]))),
        loglik=_loglik(model, xa),
        n=int(xa.size),
        ks_statistic=ks,
        ks_pvalue=p,
        covariance=cov,
    )


def numeric_hessian(f: Callable[[FloatArray], float], theta: ArrayLike) -> FloatArray:
    """Central-difference Hessian of a scalar function (steps scaled to each coordinate)."""
    t = np.asarray(theta, dtype=np.float64)
    k = t.size
    h = 1e-4 * np.maximum(np.abs(t), 1.0)
    hess = np.empty((k, k), dtype=np.float64)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            v = (f(t + ei + ej) - f(t + ei - ej) - f(t - ei + ej) + f(t - ei - ej)) / (
                4 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = v
    return hess


def fit_truncated_loglogistic(x: ArrayLike, threshold: float = REPORTING_THRESHOLD) -> ModelFit:
    """Maximum-likelihood log-logistic left-truncated at `threshold` (numeric standard errors)."""
    xa = _check_sample(x, threshold)
    y = np.log(xa)
    sd = float(y.std())

    def nll(theta: FloatArray) -> float:
        return -_loglik(
            TruncatedLogLogistic(float(theta[0]), math.exp(float(theta[1])), float(threshold)), xa
        )

    start = np.array(
        [float(np.median(y)) - 0.5 * sd, math.log(max(sd, 1e-3) * math.sqrt(3) / 3.14)]
    )
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-8}
    )
    res = optimize.minimize(nll, res.x, method="BFGS")
    m, s = float(res.x[0]), math.exp(float(res.x[1]))
    if not (math.isfinite(m) and math.isfinite(s)):
        raise BreachFitError(f"the truncated log-logistic fit did not converge ({res.message})")
    model = TruncatedLogLogistic(m=m, s=s, threshold=float(threshold))

    def nll_natural(theta: FloatArray) -> float:
        return -_loglik(
            TruncatedLogLogistic(float(theta[0]), float(theta[1]), float(threshold)), xa
        )

    cov = _covariance(numeric_hessian(nll_natural, np.array([m, s])))
    se = _standard_errors(cov)
    ks, p = _ks(model, xa)
    return ModelFit(
        model=model,
        estimates=(Estimate("m", m, float(se[0])), Estimate("s", s, float(se[1]))),
        loglik=_loglik(model, xa),
        n=int(xa.size),
        ks_statistic=ks,
        ks_pvalue=p,
        covariance=cov,
    )


def fit_pareto(x: ArrayLike, threshold: float = REPORTING_THRESHOLD) -> ModelFit:
    """Pareto from the threshold, closed form: alpha = n / sum(log(x / t)), se = alpha / sqrt(n)."""
    xa = _check_sample(x, threshold)
    total = float(np.sum(np.log(xa / threshold)))
    if total <= 0:
        raise BreachFitError("every value equals the threshold: the Pareto index is undefined")
    alpha = xa.size / total
    model = ParetoFromThreshold(alpha=alpha, threshold=float(threshold))
    ks, p = _ks(model, xa)
    return ModelFit(
        model=model,
        estimates=(Estimate("alpha", alpha, alpha / math.sqrt(xa.size)),),
        loglik=_loglik(model, xa),
        n=int(xa.size),
        ks_statistic=ks,
        ks_pvalue=p,
    )


def fit_breach_sizes(
    x: ArrayLike,
    threshold: float = REPORTING_THRESHOLD,
    levels: Sequence[float] = QUANTILE_LEVELS,
    *,
    n_boot_quantiles: int = 500,
    seed: int = 0,
) -> BreachSizeFit:
    """Truncated lognormal, truncated log-logistic and Pareto fits with a quantile table, the
    plain moments of log size, the KS distance of each law and the Hill tail index.

    The empirical quantiles carry a 90 % interval from `n_boot_quantiles` resamples of the
    breaches (seeded): a fitted quantile inside it is as close as the sample can tell.
    """
    xa = _check_sample(x, threshold)
    lognormal = fit_truncated_lognormal(xa, threshold)
    alternatives = (fit_truncated_loglogistic(xa, threshold), fit_pareto(xa, threshold))
    ps = np.asarray(levels, dtype=np.float64)
    emp = np.quantile(xa, ps)
    if n_boot_quantiles > 0:
        rng = np.random.default_rng(seed)
        boot = np.array([np.quantile(rng.choice(xa, xa.size), ps) for _ in range(n_boot_quantiles)])
        low, high = np.percentile(boot, [5.0, 95.0], axis=0)
    else:
        low = high = np.full(ps.size, np.nan)
    rows = tuple(
        QuantileRow(
            p=float(ps[i]),
            empirical=float(emp[i]),
            empirical_low=float(low[i]),
            empirical_high=float(high[i]),
            fitted={m.name: float(m.model.ppf(ps[i])) for m in (lognormal, *alternatives)},
        )
        for i in range(ps.size)
    )
    lognormal_model = lognormal.model
    assert isinstance(lognormal_model, TruncatedLognormal)
    return BreachSizeFit(
        threshold=float(threshold),
        n=int(xa.size),
        lognormal=lognormal,
        alternatives=alternatives,
        quantiles=rows,
        log_moments=log_moments(xa),
        ks=tuple(ks_distance(m.model, xa) for m in (lognormal, *alternatives)),
        hill=hill_estimate(xa, lognormal=lognormal_model),
    )


def ks_bootstrap_pvalue(
    fit: ModelFit, n_boot: int, seed: int = 0, threshold: float | None = None
) -> float:
    """Parametric-bootstrap p-value of the KS statistic of a truncated-lognormal fit.

    Draws `n_boot` samples of the same size from the fitted model, refits each and compares the
    refitted KS statistics with the observed one (Lilliefors' correction for estimated
    parameters). Returns (1 + #{KS* >= KS}) / (1 + n_boot).
    """
    model = fit.model
    if not isinstance(model, TruncatedLognormal):
        raise BreachFitError("the bootstrap is implemented for the truncated lognormal only")
    t = model.threshold if threshold is None else threshold
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_boot):
        sample = model.rvs(fit.n, rng)
        if fit_truncated_lognormal(sample, t).ks_statistic >= fit.ks_statistic:
            exceed += 1
    return (1 + exceed) / (1 + n_boot)


@dataclass(frozen=True)
class WithinEntityDispersion:
    """Spread of log(individuals) between the breaches of one same entity (repeat reporters).

    ``sd_naive`` is the pooled standard deviation around each entity's mean; ``sd`` is the
    truncation-aware estimate (fixed entity effects, every breach truncated at the threshold,
    degrees-of-freedom corrected), ``se`` its standard error from a bootstrap over entities (NaN
    when no bootstrap was asked for).
    """

    sd: float
    se: float
    sd_naive: float
    entities: int
    breaches: int


def _entity_groups(
    records: Iterable[BreachRecord], entity_filter: EntityFilter, keep_placeholders: bool
) -> list[FloatArray]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if not r.matches(entity_filter) or not r.entity:
            continue
        if not keep_placeholders and r.individuals in PLACEHOLDER_COUNTS:
            continue
        groups[normalise_name(r.entity)].append(math.log(r.individuals))
    return [np.array(v, dtype=np.float64) for v in groups.values() if len(v) >= 2]


def within_sd_truncated(groups: Sequence[FloatArray], threshold: float) -> tuple[float, float]:
    """Within-group sd of log values truncated at log(threshold): (truncation-aware, naive).

    Model: y_ij ~ Normal(u_i, s) conditioned on y_ij >= a, with a free u_i per group. For each s
    the u_i solve E[y | u_i, s] = mean_i (a monotone equation, by bisection); s maximises the
    profile likelihood and is scaled by sqrt(N / (N - k)) like the unbiased pooled variance.
    A simulation (tests/test_breaches.py) shows a residual downward bias of a few per cent.
    """
    gs = [g for g in groups if g.size >= 2]
    if not gs:
        raise BreachFitError("no entity has two breaches or more")
    a = math.log(threshold)
    lens = np.array([g.size for g in gs])
    means = np.array([float(g.mean()) for g in gs])
    idx = np.repeat(np.arange(len(gs)), lens)
    y = np.concatenate(gs)
    n, k = int(lens.sum()), len(gs)
    ss = float(sum(float(((g - g.mean()) ** 2).sum()) for g in gs))
    naive = math.sqrt(ss / (n - k))

    def u_hat(s: float) -> FloatArray:
        lo, hi = np.full(k, a - 40.0 * s), means.copy()
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            alpha = (a - mid) / s
            mean = mid + s * np.exp(-0.5 * alpha**2 - _LOG_SQRT_2PI - special.log_ndtr(-alpha))
            above = mean > means
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        return np.asarray(0.5 * (lo + hi), dtype=np.float64)

    def nll(s: float) -> float:
        u = u_hat(s)
        z = (y - u[idx]) / s
        return float(0.5 * (z @ z) + n * math.log(s) + lens @ special.log_ndtr((u - a) / s))

    if naive <= 0:
        return 0.0, 0.0
    res = optimize.minimize_scalar(nll, bounds=(naive / 10, naive * 10), method="bounded")
    return float(res.x) * math.sqrt(n / (n - k)), naive


def within_entity_dispersion(
    records: Iterable[BreachRecord],
    entity_filter: EntityFilter = EntityFilter.PROVIDER,
    *,
    threshold: float = REPORTING_THRESHOLD,
    keep_placeholders: bool = False,
    n_boot: int = 0,
    seed: int = 0,
) -> WithinEntityDispersion:
    """Dispersion of log(records exposed) among repeat reporters (same normalised name, >= 2
    breaches): the HHS spread without its between-entity part (entities of every size), the
    nearer analogue of one establishment's dispersion. Placeholder counts are left out unless
    asked for. Same name is taken as same entity; chains (pharmacies) are therefore one entity.
    """
    groups = _entity_groups(records, entity_filter, keep_placeholders)
    sd, naive = within_sd_truncated(groups, threshold)
    se = math.nan
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = [
            within_sd_truncated(
                [groups[i] for i in rng.integers(0, len(groups), len(groups))], threshold
            )[0]
            for _ in range(n_boot)
        ]
        se = float(np.std(draws, ddof=1))
    return WithinEntityDispersion(
        sd=sd,
        se=se,
        sd_naive=naive,
        entities=len(groups),
        breaches=int(sum(g.size for g in groups)),
    )
