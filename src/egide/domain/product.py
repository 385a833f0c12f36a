"""The product and its risk model, loaded from versioned TOML files and validated once.

Every error names the file, the field and the rule (`ProductError`). The loaded objects are frozen:
rating, underwriting, claims and the simulation read them, never change them.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from egide.domain.errors import ProductError
from egide.domain.text import is_forbidden

COVERAGES: tuple[str, ...] = (
    "business_interruption",
    "cyber_extortion",
    "regulatory_investigation",
    "data_liability",
    "data_restoration",
    "crisis_management",
)
KINDS: tuple[str, ...] = (
    "cabinet_medical",
    "centre_de_sante",
    "pharmacie",
    "laboratoire",
    "imagerie",
    "clinique",
    "hopital",
    "ehpad",
)
CONTROL_FIELDS: tuple[str, ...] = (
    "mfa_remote_access",
    "mfa_email",
    "edr",
    "offline_backups",
    "backup_restore_tested",
    "hds_hosting",
    "medical_devices_segmented",
    "phishing_training",
    "incident_response_plan",
)
GRADED_FIELDS: tuple[str, ...] = ("critical_patch_days", "security_budget_share")
# The incident types of risk model v2 (`[model] structure = "incidents"`).
INCIDENTS: tuple[str, ...] = (
    "ransomware",
    "data_breach",
    "denial_of_service",
    "outage",
    "lost_device",
)
COST_EXPOSURES: tuple[str, ...] = ("revenue", "records_exposed", "outage_hours")
DEFAULT_PRODUCT_FILE = "cyber-sante-v2.toml"


# --------------------------------------------------------------------------- risk model


@dataclass(frozen=True)
class KindParams:
    code: str
    label: str
    reference_revenue: Decimal
    base_frequency: Decimal
    gross_margin_rate: Decimal
    operating_hours: Decimal
    outage_median_hours: Decimal
    outage_sigma: Decimal


@dataclass(frozen=True)
class SeverityParams:
    median: Decimal  # at the reference exposure
    reference_exposure: Decimal  # EUR of revenue or number of patient records
    sigma: Decimal
    exposure: str  # "revenue" | "records"
    exponent: Decimal


@dataclass(frozen=True)
class Control:
    code: str
    label: str
    recommendation: str
    score_weight: int
    frequency: Mapping[str, Decimal]  # factor when the control is missing
    severity: Mapping[str, Decimal]


@dataclass(frozen=True)
class GradedControl:
    code: str
    label: str
    recommendation: str
    score_weight: int
    good: Decimal
    bad: Decimal
    worst_factor: Decimal
    applies_to: tuple[str, ...]

    def badness(self, value: Decimal) -> Decimal:
        """0 at `good` (or better), 1 at `bad` (or worse), linear between."""
        span = self.bad - self.good
        x = (value - self.good) / span
        return min(Decimal(1), max(Decimal(0), x))


@dataclass(frozen=True)
class CostParams:
    """One coverage's ground-up cost in one incident type (risk model v2).

    cost = fixed + variable, capped at `fixed + variable(records held)` for records-driven costs:
    - fixed = fixed_cost * (revenue / 1 MEUR) ** fixed_exponent (forensics, legal advice,
      notification set-up: paid whatever the incident's size);
    - variable = median * (exposure / reference) ** exponent * exp(sigma * z), z the incident's one
      standard normal driver (every cost of an incident moves with the same z: comonotone).
    Exposure "revenue": reference 1 MEUR; "records_exposed": the records the incident exposes
    (lognormal, from the breach-size fit), reference 1 000 records, sigma then = exponent x the
    records' sigma; "outage_hours": business interruption, `median` unused, hours from the kind.
    """

    coverage: str
    exposure: str
    fixed: Decimal
    fixed_exponent: Decimal
    median: Decimal
    exponent: Decimal
    sigma: Decimal


@dataclass(frozen=True)
class IncidentType:
    code: str
    label: str
    history: str  # "ransomware" | "incident": which history count raises its frequency
    records_mu: Decimal  # log records exposed at `records_reference` records held
    records_sigma: Decimal
    records_reference: Decimal
    outage_sigma: Decimal
    costs: Mapping[str, CostParams]  # coverage -> cost (coverages the incident triggers)


@dataclass(frozen=True)
class IncidentModel:
    """The incident types of risk model v2 and, per kind, their frequencies and outage hours."""

    incidents: Mapping[str, IncidentType]
    frequency: Mapping[str, Mapping[str, Decimal]]  # kind -> incident -> yearly frequency
    outage_hours: Mapping[str, Mapping[str, Decimal]]  # kind -> incident -> median hours


@dataclass(frozen=True)
class RiskModel:
    version: str
    coverage_share: Mapping[str, Decimal]
    kinds: Mapping[str, KindParams]
    frequency_size_exponent: Decimal
    max_size_ratio: Decimal
    severity: Mapping[str, SeverityParams]
    controls: Mapping[str, Control]
    graded: Mapping[str, GradedControl]
    incident_factor: Decimal
    ransomware_factor: Decimal
    history_max_factor: Decimal
    sha256: str
    # risk model v2 only (None in v1): the incident model; controls' `frequency` factors are then
    # keyed by incident type and their `severity` factors by coverage (variable costs only)
    incident_model: IncidentModel | None = None

    @property
    def is_incident_model(self) -> bool:
        return self.incident_model is not None


# --------------------------------------------------------------------------- product


@dataclass(frozen=True)
class Option:
    amount: Decimal
    kinds: frozenset[str]


@dataclass(frozen=True)
class CoverageTerms:
    code: str
    label: str
    description: str
    oed_code: str
    default_limit_share: Decimal
    limit_options: tuple[Decimal, ...]
    sub_deductible: Decimal
    waiting_period_hours: Decimal | None = None
    waiting_period_mode: str | None = None  # "time_deductible" | "trigger"
    indemnity_period_days: Decimal | None = None
    ransom_payment_covered: bool = False
    fines_insurable: bool = False


@dataclass(frozen=True)
class Exclusion:
    code: str
    label: str


@dataclass(frozen=True)
class Distribution:
    """What the pre-contractual documents say that no other table of the product holds (the
    optional ``[distribution]`` table, product 2026.2 on): the insurer named in the IPID's header
    (Implementing Regulation (EU) 2017/1469), the type of insurance, the territory, and the
    statements on obligations, payments, start and end, and cancellation, in French, one item a
    line. The deadlines of a claim (complaint, notice to the insurer), the cancellation refunds,
    the exclusions, the options and the tax come from their own tables: the IPID derives them,
    so a number is never written twice. Read by the documents only: no premium depends on it."""

    insurer: str
    insurer_details: str
    product_type: str
    territory: tuple[str, ...]
    obligations: tuple[str, ...]
    payments: tuple[str, ...]
    start_and_end: tuple[str, ...]
    cancellation: tuple[str, ...]
    source: str


DISTRIBUTION_TEXTS: tuple[str, ...] = ("insurer", "insurer_details", "product_type", "source")
DISTRIBUTION_LISTS: tuple[str, ...] = (
    "territory",
    "obligations",
    "payments",
    "start_and_end",
    "cancellation",
)


@dataclass(frozen=True)
class Product:
    code: str
    version: str
    name: str
    currency: str
    quote_validity_days: int
    trigger: str
    tax_name: str
    tax_rate: Decimal
    tax_source: str
    expenses: Decimal
    broker_commission: Decimal
    profit_and_risk: Decimal
    minimum_premium: Mapping[str, Decimal]
    aggregate_options: tuple[Option, ...]
    deductible_options: tuple[Option, ...]
    coverages: Mapping[str, CoverageTerms]
    exclusions: tuple[Exclusion, ...]
    complaint_deadline_hours: int
    notice_to_insurer_days: int
    deductible_basis: str
    cancellation: Mapping[str, str]
    risk_model: RiskModel
    source_text: str = field(repr=False)
    model_text: str = field(repr=False)
    sha256: str = ""
    # increased-limit factor (product 2026.2 on): the premium is multiplied by
    # (limit / the kind's lowest limit option) ** ilf_exponent; 0 (v1): no factor
    ilf_exponent: Decimal = Decimal(0)
    # The systemic-events file the product names (`systemic_events` in [product], 2026.2 on):
    # its text, read by egide.domain.systemic_load; empty when the product names none.
    systemic_events_file: str = ""
    systemic_events_text: str = field(default="", repr=False)
    # the optional [distribution] table (None: the product has none; 2026.1)
    distribution: Distribution | None = None

    @property
    def ref(self) -> str:
        return f"{self.code}@{self.version}"

    @property
    def loading_total(self) -> Decimal:
        return self.expenses + self.broker_commission + self.profit_and_risk

    def aggregate_amounts(self, kind: str) -> list[Decimal]:
        return [o.amount for o in self.aggregate_options if kind in o.kinds]

    def deductible_amounts(self, kind: str) -> list[Decimal]:
        return [o.amount for o in self.deductible_options if kind in o.kinds]

    def increased_limit_factor(self, kind: str, limit: Decimal) -> float:
        """(limit / lowest limit option of the kind) ** ilf_exponent, 1 when there is none."""
        if self.ilf_exponent == 0:
            return 1.0
        base = min(self.aggregate_amounts(kind))
        ratio = float(max(limit / base, Decimal(1)))
        return float(ratio ** float(self.ilf_exponent))


# --------------------------------------------------------------------------- validation helpers


class _Reader:
    """Reads a TOML table with the path of each field, so that every error names it."""

    def __init__(self, path: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, rule: str) -> ProductError:
        return ProductError(self.path, self._name(key), rule)

    def table(self, key: str) -> _Reader:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "is required and must be a table")
        return _Reader(self.path, value, self._name(key) + ".")

    def has(self, key: str) -> bool:
        return key in self.data

    def names(self) -> list[str]:
        return list(self.data.keys())

    def text(self, key: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "is required and must be a non-empty string")
        if choices is not None and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "is required and must be true or false")
        return value

    def dec(
        self,
        key: str,
        *,
        low: Decimal | int | None = None,
        high: Decimal | int | None = None,
        strict_low: bool = False,
        default: Decimal | None = None,
    ) -> Decimal:
        value = self.data.get(key)
        if value is None and default is not None:
            return default
        return self.number(key, value, low=low, high=high, strict_low=strict_low)

    def number(
        self,
        key: str,
        value: object,
        *,
        low: Decimal | int | None = None,
        high: Decimal | int | None = None,
        strict_low: bool = False,
    ) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(key, "is required and must be a number")
        try:
            result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            raise self.fail(key, "must be a number") from None
        if not result.is_finite():
            raise self.fail(key, "must be a finite number")
        if low is not None and (result <= low if strict_low else result < low):
            raise self.fail(key, f"must be {'>' if strict_low else '>='} {low}")
        if high is not None and result > high:
            raise self.fail(key, f"must be <= {high}")
        return result

    def factors(self, key: str, codes: tuple[str, ...] = COVERAGES) -> dict[str, Decimal]:
        what = "coverage" if codes is COVERAGES else "incident type"
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table of {what} = factor")
        out: dict[str, Decimal] = {}
        for cov, factor in value.items():
            if cov not in codes:
                raise self.fail(
                    f"{key}.{cov}", f"is not a{'n' if what[0] == 'i' else ''} {what} code"
                )
            out[cov] = self.number(f"{key}.{cov}", factor, low=1)
        return out

    def amounts(self, key: str, codes: tuple[str, ...], *, low: int = 0) -> dict[str, Decimal]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "is required and must be a table of incident type = number")
        out: dict[str, Decimal] = {}
        for code, amount in value.items():
            if code not in codes:
                raise self.fail(f"{key}.{code}", "is not an incident type code")
            out[code] = self.number(f"{key}.{code}", amount, low=low)
        return out


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProductError(str(path), "(file)", "does not exist") from None
    except IsADirectoryError:
        raise ProductError(str(path), "(file)", "is a folder, not a file") from None
    except UnicodeDecodeError:
        raise ProductError(str(path), "(file)", "is not UTF-8 text") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(str(path), "(syntax)", f"is not valid TOML: {exc}") from None


def parse_risk_model(text: str, path: str = "risk-model") -> RiskModel:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(path, "(syntax)", f"is not valid TOML: {exc}") from None
    r = _Reader(path, data)
    model = r.table("model")
    structured = model.has("structure")
    if structured:
        model.text("structure", ("incidents",))
        return _parse_incident_risk_model(r, text)
    shares = r.table("coverage_share")
    shares.text("source")
    coverage_share = {c: shares.dec(c, low=0, high=1, strict_low=True) for c in COVERAGES}
    kinds_r = r.table("kinds")
    kinds: dict[str, KindParams] = {}
    for kind in KINDS:
        k = kinds_r.table(kind)
        k.text("source")
        kinds[kind] = KindParams(
            code=kind,
            label=k.text("label"),
            reference_revenue=k.dec("reference_revenue", low=0, strict_low=True),
            base_frequency=k.dec("base_frequency", low=0, high=10, strict_low=True),
            gross_margin_rate=k.dec("gross_margin_rate", low=0, high=1, strict_low=True),
            operating_hours=k.dec("operating_hours", low=1, high=8784),
            outage_median_hours=k.dec("outage_median_hours", low=0, strict_low=True),
            outage_sigma=k.dec("outage_sigma", low=0, high=5, strict_low=True),
        )
    for extra in kinds_r.names():
        if extra not in KINDS:
            raise kinds_r.fail(extra, "is not a kind of establishment")
    size = r.table("size")
    size.text("source")
    sev_r = r.table("severity")
    severity: dict[str, SeverityParams] = {}
    for cov in COVERAGES:
        if cov == "business_interruption":
            continue
        s = sev_r.table(cov)
        s.text("source")
        severity[cov] = SeverityParams(
            median=s.dec("median", low=0, strict_low=True),
            reference_exposure=s.dec("reference_exposure", low=0, strict_low=True),
            sigma=s.dec("sigma", low=0, high=5, strict_low=True),
            exposure=s.text("exposure", ("revenue", "records")),
            exponent=s.dec("exponent", low=0, high=2),
        )
    controls, graded = _parse_controls(r, path, COVERAGES)
    hist = r.table("history")
    hist.text("source")
    return RiskModel(
        version=model.text("version"),
        coverage_share=coverage_share,
        kinds=kinds,
        frequency_size_exponent=size.dec("frequency_exponent", low=0, high=2),
        max_size_ratio=size.dec("max_size_ratio", low=1),
        severity=severity,
        controls=controls,
        graded=graded,
        incident_factor=hist.dec("incident_factor", low=0),
        ransomware_factor=hist.dec("ransomware_factor", low=0),
        history_max_factor=hist.dec("max_factor", low=1),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def _parse_controls(
    r: _Reader, path: str, frequency_codes: tuple[str, ...]
) -> tuple[dict[str, Control], dict[str, GradedControl]]:
    """The controls and graded controls; frequency factors keyed by `frequency_codes` (coverages
    in v1, incident types in v2), severity factors by coverage."""
    ctrl_r = r.table("controls")
    controls: dict[str, Control] = {}
    for code in CONTROL_FIELDS:
        c = ctrl_r.table(code)
        c.text("source")
        controls[code] = Control(
            code=code,
            label=c.text("label"),
            recommendation=c.text("recommendation"),
            score_weight=int(c.dec("score_weight", low=0, high=100)),
            frequency=c.factors("frequency", frequency_codes),
            severity=c.factors("severity"),
        )
    graded_r = r.table("graded")
    graded: dict[str, GradedControl] = {}
    what = "coverage" if frequency_codes is COVERAGES else "incident type"
    for code in GRADED_FIELDS:
        g = graded_r.table(code)
        g.text("source")
        applies = g.data.get("applies_to")
        if not isinstance(applies, list) or not all(a in frequency_codes for a in applies):
            raise g.fail("applies_to", f"must be a list of {what} codes")
        good, bad = g.dec("good"), g.dec("bad")
        if good == bad:
            raise g.fail("bad", "must differ from good")
        graded[code] = GradedControl(
            code=code,
            label=g.text("label"),
            recommendation=g.text("recommendation"),
            score_weight=int(g.dec("score_weight", low=0, high=100)),
            good=good,
            bad=bad,
            worst_factor=g.dec("worst_factor", low=1),
            applies_to=tuple(applies),
        )
    total_weight = sum(c.score_weight for c in controls.values()) + sum(
        g.score_weight for g in graded.values()
    )
    if total_weight != 100:
        raise ProductError(
            path, "controls.*.score_weight", f"must add up to 100 (got {total_weight})"
        )
    return controls, graded


def _parse_cost(c: _Reader, coverage: str) -> CostParams:
    c.text("source")
    exposure = c.text("exposure", COST_EXPOSURES)
    if (exposure == "outage_hours") != (coverage == "business_interruption"):
        raise c.fail("exposure", "is outage_hours for business_interruption and only for it")
    return CostParams(
        coverage=coverage,
        exposure=exposure,
        fixed=c.dec("fixed", low=0, default=Decimal(0)),
        fixed_exponent=c.dec("fixed_exponent", low=0, high=2, default=Decimal(0)),
        median=c.dec("median", low=0, default=Decimal(0)),
        exponent=c.dec("exponent", low=0, high=2, default=Decimal(0)),
        sigma=c.dec("sigma", low=0, high=5, default=Decimal(0)),
    )


def _parse_incident_risk_model(r: _Reader, text: str) -> RiskModel:
    """Risk model v2: incident types, each with its frequency by kind and its correlated costs
    over the coverages it triggers (docs/model.md § Incident model)."""
    path = r.path
    model = r.table("model")
    inc_r = r.table("incidents")
    incidents: dict[str, IncidentType] = {}
    for code in INCIDENTS:
        i = inc_r.table(code)
        i.text("source")
        costs_r = i.table("costs")
        costs: dict[str, CostParams] = {}
        for cov in costs_r.names():
            if cov not in COVERAGES:
                raise costs_r.fail(cov, "is not a coverage code")
            costs[cov] = _parse_cost(costs_r.table(cov), cov)
        if not costs:
            raise i.fail("costs", "must name at least one coverage")
        needs_records = any(c.exposure == "records_exposed" for c in costs.values())
        zero = Decimal(0)
        incidents[code] = IncidentType(
            code=code,
            label=i.text("label"),
            history=i.text("history", ("ransomware", "incident")),
            records_mu=i.dec("records_mu") if needs_records else zero,
            records_sigma=i.dec("records_sigma", low=0, high=5) if needs_records else zero,
            records_reference=(i.dec("records_reference", low=1) if needs_records else Decimal(1)),
            outage_sigma=(
                i.dec("outage_sigma", low=0, high=5, strict_low=True)
                if "business_interruption" in costs
                else zero
            ),
            costs=costs,
        )
    for extra in inc_r.names():
        if extra not in INCIDENTS:
            raise inc_r.fail(extra, f"is not an incident type (one of {', '.join(INCIDENTS)})")
    kinds_r = r.table("kinds")
    kinds: dict[str, KindParams] = {}
    frequency: dict[str, dict[str, Decimal]] = {}
    outage: dict[str, dict[str, Decimal]] = {}
    bi_incidents = tuple(c for c in INCIDENTS if "business_interruption" in incidents[c].costs)
    for kind in KINDS:
        k = kinds_r.table(kind)
        k.text("source")
        freq = k.amounts("frequency", INCIDENTS)
        for code in INCIDENTS:
            if code not in freq:
                raise k.fail(f"frequency.{code}", "is required (a yearly frequency >= 0)")
        hours = k.amounts("outage_hours", bi_incidents)
        for code in bi_incidents:
            if code not in hours or hours[code] <= 0:
                raise k.fail(f"outage_hours.{code}", "is required and must be > 0")
        frequency[kind], outage[kind] = freq, hours
        kinds[kind] = KindParams(
            code=kind,
            label=k.text("label"),
            reference_revenue=k.dec("reference_revenue", low=0, strict_low=True),
            base_frequency=sum(freq.values(), Decimal(0)),
            gross_margin_rate=k.dec("gross_margin_rate", low=0, high=1, strict_low=True),
            operating_hours=k.dec("operating_hours", low=1, high=8784),
            outage_median_hours=hours.get("ransomware", Decimal(1)),
            outage_sigma=incidents["ransomware"].outage_sigma or Decimal(1),
        )
    for extra in kinds_r.names():
        if extra not in KINDS:
            raise kinds_r.fail(extra, "is not a kind of establishment")
    size = r.table("size")
    size.text("source")
    controls, graded = _parse_controls(r, path, INCIDENTS)
    hist = r.table("history")
    hist.text("source")
    return RiskModel(
        version=model.text("version"),
        coverage_share={c: Decimal(0) for c in COVERAGES},
        kinds=kinds,
        frequency_size_exponent=size.dec("frequency_exponent", low=0, high=2),
        max_size_ratio=size.dec("max_size_ratio", low=1),
        severity={},
        controls=controls,
        graded=graded,
        incident_factor=hist.dec("incident_factor", low=0),
        ransomware_factor=hist.dec("ransomware_factor", low=0),
        history_max_factor=hist.dec("max_factor", low=1),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        incident_model=IncidentModel(incidents=incidents, frequency=frequency, outage_hours=outage),
    )


def _distribution(r: _Reader) -> Distribution | None:
    """The optional ``[distribution]`` table: French texts, each a non-empty single line without
    control characters (they print in the IPID), every list non-empty; an unknown key is refused
    (a misspelt one would silently drop a statement from the IPID)."""
    if not r.has("distribution"):
        return None
    d = r.table("distribution")
    for key in d.names():
        if key not in DISTRIBUTION_TEXTS + DISTRIBUTION_LISTS:
            known = ", ".join(DISTRIBUTION_TEXTS + DISTRIBUTION_LISTS)
            raise d.fail(key, f"is not a field of [distribution] (one of {known})")

    def line(key: str, value: object) -> str:
        """The text with its runs of spaces (and, in `source`, its line breaks) folded to one."""
        if not isinstance(value, str) or not value.strip():
            raise d.fail(key, "is required and must be a non-empty string")
        if any(is_forbidden(ch, multiline=key == "source") for ch in value):
            raise d.fail(key, "must hold no control or formatting character (one line of text)")
        return " ".join(value.split())

    def lines(key: str) -> tuple[str, ...]:
        raw = d.data.get(key)
        if not isinstance(raw, list) or not raw:
            raise d.fail(key, "is required and must be a non-empty list of strings")
        return tuple(line(f"{key}[{i}]", item) for i, item in enumerate(raw))

    return Distribution(
        insurer=line("insurer", d.data.get("insurer")),
        insurer_details=line("insurer_details", d.data.get("insurer_details")),
        product_type=line("product_type", d.data.get("product_type")),
        territory=lines("territory"),
        obligations=lines("obligations"),
        payments=lines("payments"),
        start_and_end=lines("start_and_end"),
        cancellation=lines("cancellation"),
        source=line("source", d.data.get("source")),
    )


def _options(r: _Reader, key: str) -> tuple[Option, ...]:
    table = r.table(key)
    raw = table.data.get("options")
    if not isinstance(raw, list) or not raw:
        raise table.fail("options", "must be a non-empty list of {amount, kinds}")
    out: list[Option] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise table.fail(f"options[{i}]", "must be a table")
        o = _Reader(r.path, item, f"{table.prefix}options[{i}].")
        amount = o.dec("amount", low=0)
        kinds = item.get("kinds")
        if not isinstance(kinds, list) or not kinds or not all(k in KINDS for k in kinds):
            raise o.fail("kinds", f"must be a non-empty list of kinds among {', '.join(KINDS)}")
        out.append(Option(amount=amount, kinds=frozenset(kinds)))
    amounts = [o.amount for o in out]
    if amounts != sorted(set(amounts)):
        raise table.fail("options", "amounts must be distinct and in increasing order")
    return tuple(out)


def parse_product(
    text: str,
    model_text: str,
    path: str = "product",
    model_path: str = "",
    systemic_text: str | None = None,
) -> Product:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(path, "(syntax)", f"is not valid TOML: {exc}") from None
    systemic_file, systemic_text = _systemic_events(data, path, systemic_text)
    risk_model = parse_risk_model(model_text, model_path or "risk-model")
    r = _Reader(path, data)
    p = r.table("product")
    tax = r.table("tax")
    loadings = r.table("loadings")
    loadings.text("source")
    minimum = r.table("minimum_premium")
    aggregate_options = _options(r, "aggregate_limit")
    deductible_options = _options(r, "deductible")
    cov_r = r.table("coverages")
    coverages: dict[str, CoverageTerms] = {}
    max_aggregate = max(o.amount for o in aggregate_options)
    for code in COVERAGES:
        c = cov_r.table(code)
        raw_limits = c.data.get("limit_options")
        if not isinstance(raw_limits, list) or not raw_limits:
            raise c.fail("limit_options", "must be a non-empty list of amounts")
        limits = tuple(
            c.number(f"limit_options[{i}]", v, low=0, strict_low=True)
            for i, v in enumerate(raw_limits)
        )
        if list(limits) != sorted(set(limits)):
            raise c.fail("limit_options", "amounts must be distinct and in increasing order")
        extra: dict[str, Any] = {}
        if code == "business_interruption":
            extra["waiting_period_hours"] = c.dec("waiting_period_hours", low=0, high=720)
            extra["waiting_period_mode"] = c.text(
                "waiting_period_mode", ("time_deductible", "trigger")
            )
            extra["indemnity_period_days"] = c.dec("indemnity_period_days", low=1, high=730)
        if code == "cyber_extortion":
            extra["ransom_payment_covered"] = c.flag("ransom_payment_covered")
        if code == "regulatory_investigation":
            extra["fines_insurable"] = c.flag("fines_insurable")
        coverages[code] = CoverageTerms(
            code=code,
            label=c.text("label"),
            description=c.text("description"),
            oed_code=c.text("oed_code", ("NPBI", "EXT", "REG", "LIA", "DIAS", "INRE")),
            default_limit_share=c.dec("default_limit_share", low=0, high=1, strict_low=True),
            limit_options=limits,
            sub_deductible=c.dec("sub_deductible", low=0, high=max_aggregate),
            **extra,
        )
    for extra_key in cov_r.names():
        if extra_key not in COVERAGES:
            raise cov_r.fail(extra_key, "is not one of the six coverage codes")
    raw_excl = data.get("exclusions")
    if not isinstance(raw_excl, list) or not raw_excl:
        raise r.fail("exclusions", "must be a non-empty list of {code, label}")
    exclusions = []
    for i, item in enumerate(raw_excl):
        e = _Reader(path, item if isinstance(item, dict) else {}, f"exclusions[{i}].")
        exclusions.append(Exclusion(code=e.text("code"), label=e.text("label")))
    ilf_exponent = Decimal(0)
    if r.has("increased_limit"):
        ilf = r.table("increased_limit")
        ilf.text("source")
        ilf_exponent = ilf.dec("exponent", low=0, high=1)
    claims = r.table("claims")
    cancel = r.table("cancellation")
    policy_modes = ("pro_rata", "no_refund")
    product = Product(
        code=p.text("code"),
        version=p.text("version"),
        name=p.text("name"),
        currency=p.text("currency", ("EUR",)),
        quote_validity_days=int(p.dec("quote_validity_days", low=1, high=365)),
        trigger=p.text("trigger", ("claims_made",)),
        tax_name=tax.text("name"),
        tax_rate=tax.dec("rate", low=0, high=1),
        tax_source=tax.text("source"),
        expenses=loadings.dec("expenses", low=0, high=1),
        broker_commission=loadings.dec("broker_commission", low=0, high=1),
        profit_and_risk=loadings.dec("profit_and_risk", low=0, high=1),
        minimum_premium={k: minimum.dec(k, low=0) for k in KINDS},
        aggregate_options=aggregate_options,
        deductible_options=deductible_options,
        coverages=coverages,
        exclusions=tuple(exclusions),
        complaint_deadline_hours=int(claims.dec("complaint_deadline_hours", low=1, high=720)),
        notice_to_insurer_days=int(claims.dec("notice_to_insurer_days", low=1, high=365)),
        deductible_basis=claims.text("deductible_basis", ("per_claim",)),
        cancellation={
            "insured_request": cancel.text("insured_request", policy_modes),
            "non_payment": cancel.text("non_payment", policy_modes),
        },
        risk_model=risk_model,
        source_text=text,
        model_text=model_text,
        sha256=hashlib.sha256(
            (text + "\0" + model_text + ("\0" + systemic_text if systemic_text else "")).encode()
        ).hexdigest(),
        ilf_exponent=ilf_exponent,
        systemic_events_file=systemic_file,
        systemic_events_text=systemic_text,
        distribution=_distribution(r),
    )
    bi_terms = coverages["business_interruption"]
    if risk_model.incident_model is not None and bi_terms.waiting_period_mode != "time_deductible":
        raise ProductError(
            path,
            "coverages.business_interruption.waiting_period_mode",
            "must be time_deductible with an incident risk model (structure = incidents)",
        )
    if systemic_text:
        from egide.domain.systemic_load import product_systemic_params  # imports this module

        product_systemic_params(product)  # validated once, here: errors name that file
    if product.loading_total >= 1:
        raise ProductError(
            path, "loadings", "expenses + broker_commission + profit_and_risk must be < 1"
        )
    for kind in KINDS:
        if not product.aggregate_amounts(kind):
            raise ProductError(path, "aggregate_limit.options", f"offer no option to kind {kind}")
        if not product.deductible_amounts(kind):
            raise ProductError(path, "deductible.options", f"offer no option to kind {kind}")
    return product


def _systemic_events(data: Mapping[str, Any], path: str, given: str | None) -> tuple[str, str]:
    """(file name, text) of the systemic-events file the product names, or ("", "").

    Without `given` text (a product re-read from its stored text, or a packaged one), the file is
    read from the packaged products: a released file is never edited, and its text is in the
    product's sha256, so a changed file cannot pass under a recorded version."""
    table = data.get("product")
    name = table.get("systemic_events") if isinstance(table, dict) else None
    if name is None:
        return "", ""
    if not isinstance(name, str) or not name.endswith(".toml") or "/" in name:
        raise ProductError(path, "product.systemic_events", "must name a .toml file")
    if given is not None:
        return name, given
    try:
        return name, resources.files("egide.products").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProductError(path, "product.systemic_events", f"{name} does not exist") from None


DISTRIBUTION_FILE = "distribution-fr.toml"


def load_distribution(path: str | Path | None = None) -> Distribution:
    """The statements of the pre-contractual documents: a file holding one ``[distribution]``
    table (None: the packaged ``products/distribution-fr.toml``), validated as the table of a
    product file is, each error naming the file, the field and the rule. Kept apart from the
    product files: no premium depends on it, so correcting its French never changes a product
    version's text (nor the SHA-256 a database records for it)."""
    if path is None:
        name = DISTRIBUTION_FILE
        data = tomllib.loads(resources.files("egide.products").joinpath(name).read_text("utf-8"))
    else:
        name = str(path)
        _, data = _read_toml(Path(path))
    found = _distribution(_Reader(name, data))
    if found is None:
        raise ProductError(name, "distribution", "is required and must be a table")
    return found


def load_product(path: str | Path | None = None) -> Product:
    """Load a product file and the risk model it names (same folder). None: the default product."""
    if path is None:
        folder = resources.files("egide.products")
        text = folder.joinpath(DEFAULT_PRODUCT_FILE).read_text(encoding="utf-8")
        data = tomllib.loads(text)
        model_name = data["product"]["risk_model"]
        model_text = folder.joinpath(model_name).read_text(encoding="utf-8")
        return parse_product(text, model_text, DEFAULT_PRODUCT_FILE, model_name)
    file = Path(path)
    text, data = _read_toml(file)
    product_table = data.get("product")
    model_name = product_table.get("risk_model") if isinstance(product_table, dict) else None
    if not isinstance(model_name, str) or not model_name:
        raise ProductError(str(file), "product.risk_model", "is required and must name a file")
    model_path = file.parent / model_name
    model_text, _ = _read_toml(model_path)
    systemic_name = (
        product_table.get("systemic_events") if isinstance(product_table, dict) else None
    )
    systemic_text = None
    if isinstance(systemic_name, str) and systemic_name and "/" not in systemic_name:
        systemic_text, _ = _read_toml(file.parent / systemic_name)  # same folder
    return parse_product(text, model_text, str(file), str(model_path), systemic_text)
