"""The application (questionnaire) of an establishment, parsed from plain data and validated.

Every broken rule is collected (not only the first) as a `FieldError` naming the dotted field and a
stable rule code; `parse_application` raises `InvalidInput` with all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from egide.domain.errors import FieldError, InvalidInput
from egide.domain.fields import FieldReader
from egide.domain.identifiers import finess_problem, postcode_valid, siret_problem
from egide.domain.product import CONTROL_FIELDS, COVERAGES, KINDS, Product
from egide.domain.text import CITY_MAX, CODE_MAX, NAME_MAX, SHORT_TEXT_MAX

# Kinds registered in the FINESS directory: their FINESS number is required.
FINESS_REQUIRED = frozenset(
    {"centre_de_sante", "pharmacie", "laboratoire", "clinique", "hopital", "ehpad"}
)
# Kinds that have beds: at least one is required.
BEDDED = frozenset({"clinique", "hopital", "ehpad"})

KIND_LABELS_FR = {
    "cabinet_medical": "Cabinet médical",
    "centre_de_sante": "Centre de santé",
    "pharmacie": "Pharmacie d'officine",
    "laboratoire": "Laboratoire de biologie médicale",
    "imagerie": "Centre d'imagerie médicale",
    "clinique": "Clinique",
    "hopital": "Hôpital",
    "ehpad": "EHPAD",
}

# The yes/no security answers: the product's rated controls, which every application must give
# (medical_devices_segmented aside: it is also null when there are no connected devices), then
# those that default to no.
REQUIRED_SECURITY_CONTROLS: tuple[str, ...] = tuple(
    f for f in CONTROL_FIELDS if f != "medical_devices_segmented"
)
OPTIONAL_SECURITY_CONTROLS: tuple[str, ...] = ("pgssi_s_compliant", "care_programme")

MAX_REVENUE = Decimal("5000000000")  # above the largest French hospital group's budget: absurd
MAX_RECORDS = 100_000_000  # more than France's population
MAX_EMPLOYEES = 200_000
MAX_BEDS = 10_000

# NIS2 (directive (EU) 2022/2555, art. 3; size per Recommendation 2003/361/EC, as transposed in
# France): a healthcare provider is an essential entity from 250 staff (or more than 50 M€ of
# revenue), an important one from 50 staff (or more than 10 M€), below that not subject.
NIS2_CATEGORIES: tuple[str, ...] = ("essential", "important", "not_subject")
NIS2_ESSENTIAL_STAFF = 250
NIS2_IMPORTANT_STAFF = 50
NIS2_ESSENTIAL_REVENUE = Decimal(50_000_000)
NIS2_IMPORTANT_REVENUE = Decimal(10_000_000)

# Answers added by product 2026.2, each optional: absent (None, or "unknown" for a vendor) means
# unknown, priced as such. `Application.to_data` leaves an unknown one out, so the data of every
# application written before them is unchanged.
NEW_OPTIONAL_FIELDS: tuple[tuple[str, str], ...] = (
    ("establishment", "nis2_category"),
    ("security", "crisis_exercise"),
    ("technology", "remote_access_vendor"),
)


@dataclass(frozen=True)
class Establishment:
    name: str
    type: str
    siret: str
    annual_revenue: Decimal
    employees: int
    patient_records: int
    beds: int = 0
    finess: str | None = None
    postcode: str | None = None
    city: str | None = None
    nis2_category: str | None = None  # NIS2_CATEGORIES; None: not answered


@dataclass(frozen=True)
class Security:
    mfa_remote_access: bool
    mfa_email: bool
    edr: bool
    offline_backups: bool
    backup_restore_tested: bool
    hds_hosting: bool
    critical_patch_days: int
    medical_devices_segmented: bool | None  # None: no connected medical devices
    phishing_training: bool
    incident_response_plan: bool
    security_budget_share: Decimal
    pgssi_s_compliant: bool = False  # follows the PGSSI-S referentials (informative)
    care_programme: bool = False  # enrolled in the CaRE programme
    # an annual crisis exercise (instruction DNS/2025/12); None: not answered
    crisis_exercise: bool | None = None


@dataclass(frozen=True)
class History:
    incidents_last_5_years: int = 0
    ransomware_last_5_years: int = 0
    known_circumstances: bool = False  # facts known today that could lead to a claim


@dataclass(frozen=True)
class Technology:
    """The shared dependencies that systemic events strike (accumulation): the main healthcare
    software vendor (DPI, LGC or LGO), the HDS host (or ``on_premises``), the e-mail provider,
    the remote-access appliance (VPN / remote-desktop gateway vendor, ``none`` without remote
    access). Free text, normalised to lower case; ``unknown`` when not answered."""

    software_vendor: str = "unknown"
    cloud_host: str = "unknown"
    email_vendor: str = "unknown"
    remote_access_vendor: str = "unknown"


@dataclass(frozen=True)
class Cover:
    limit: Decimal  # annual aggregate
    deductible: Decimal
    sublimits: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Application:
    establishment: Establishment
    security: Security
    history: History
    cover: Cover
    technology: Technology = field(default_factory=Technology)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data that `parse_application` reads back to an equal application."""

        def conv(value: Any) -> Any:
            if isinstance(value, Decimal):
                return int(value) if value == value.to_integral_value() else str(value)
            if isinstance(value, dict):
                return {k: conv(v) for k, v in value.items()}
            return value

        data = {k: conv(v) for k, v in asdict(self).items()}
        for section, key in NEW_OPTIONAL_FIELDS:
            if data[section].get(key) in (None, "unknown"):
                del data[section][key]
        return data

    def with_security(self, **changes: Any) -> Application:
        return replace(self, security=replace(self.security, **changes))

    def with_cover(self, **changes: Any) -> Application:
        return replace(self, cover=replace(self.cover, **changes))


class _Collector(FieldReader):
    def section(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        return self.mapping(data, key, required=True)

    def boolean(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        nullable: bool = False,
        default: bool | None = None,
    ) -> bool | None:
        if key not in data:
            if default is not None or nullable:
                return default
            self.add(path, "required", "is required (true or false)")
            return None
        value = data[key]
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            self.add(path, "type", "must be true or false" + (" or null" if nullable else ""))
            return None
        return value

    def decimal(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        low: Decimal,
        high: Decimal,
        required: bool = True,
        default: Decimal | None = None,
        strict_low: bool = False,
    ) -> Decimal | None:
        if key not in data or data[key] is None:
            if required:
                self.add(path, "required", "is required")
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.add(path, "type", "must be a number")
            return None
        try:
            number = (
                Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
            )
        except InvalidOperation:
            self.add(path, "type", "must be a number")
            return None
        if not number.is_finite():
            self.add(path, "type", "must be a finite number")
            return None
        if number < low or (strict_low and number == low):
            self.add(path, "range", f"must be {'>' if strict_low else '>='} {low}")
            return None
        if number > high:
            self.add(path, "range", f"must be <= {high} (absurd above)")
            return None
        return number

    def integer(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        low: int,
        high: int,
        required: bool = True,
        default: int | None = None,
    ) -> int | None:
        number = self.decimal(
            data, path, key, low=Decimal(low), high=Decimal(high), required=required
        )
        if number is None:
            return default
        if number != number.to_integral_value():
            self.add(path, "type", "must be a whole number")
            return None
        return int(number)


def parse_application(data: object, product: Product, source: str | None = None) -> Application:
    """Validate plain data (parsed YAML or JSON) against the rules and the product's options."""
    c = _Collector()
    if not isinstance(data, dict):
        raise InvalidInput(
            [
                FieldError(
                    "(document)",
                    "type",
                    "must be a mapping with establishment, security, history and cover",
                )
            ],
            source,
        )
    c.unknown(data, "", {"establishment", "security", "history", "cover", "technology"})

    e = c.section(data, "establishment")
    c.unknown(
        e,
        "establishment.",
        {
            "name",
            "type",
            "siret",
            "finess",
            "annual_revenue",
            "employees",
            "beds",
            "patient_records",
            "postcode",
            "city",
            "nis2_category",
        },
    )
    name = c.text(e, "establishment.name", "name", max_length=NAME_MAX, required=True)
    kind = c.text(e, "establishment.type", "type", max_length=CODE_MAX, required=True)
    if kind is not None and kind not in KINDS:
        c.add("establishment.type", "choice", f"must be one of {', '.join(KINDS)}")
        kind = None
    siret = c.text(e, "establishment.siret", "siret", max_length=CODE_MAX, required=True)
    if siret is not None and (problem := siret_problem(siret)):
        c.add("establishment.siret", "siret", problem)
    finess = c.text(
        e,
        "establishment.finess",
        "finess",
        max_length=CODE_MAX,
        required=kind in FINESS_REQUIRED,
    )
    if finess is not None and (problem := finess_problem(finess)):
        c.add("establishment.finess", "finess", problem)
    revenue = c.decimal(
        e,
        "establishment.annual_revenue",
        "annual_revenue",
        low=Decimal(0),
        high=MAX_REVENUE,
        strict_low=True,
    )
    employees = c.integer(e, "establishment.employees", "employees", low=0, high=MAX_EMPLOYEES)
    beds = c.integer(
        e, "establishment.beds", "beds", low=0, high=MAX_BEDS, required=False, default=0
    )
    if (
        kind in BEDDED
        and beds == 0
        and "beds" in e
        and not any(x.field == "establishment.beds" for x in c.errors)
    ):
        c.add("establishment.beds", "range", f"must be >= 1 for a {kind}")
    elif kind in BEDDED and "beds" not in e:
        c.add("establishment.beds", "required", f"is required for a {kind}")
    records = c.integer(
        e, "establishment.patient_records", "patient_records", low=0, high=MAX_RECORDS
    )
    postcode = c.text(e, "establishment.postcode", "postcode", max_length=CODE_MAX)
    if postcode is not None and not postcode_valid(postcode):
        c.add("establishment.postcode", "format", "must be a 5-character French postcode")
    city = c.text(e, "establishment.city", "city", max_length=CITY_MAX)
    nis2 = _nis2_category(c, e, employees, revenue)

    s = c.section(data, "security")
    bools = REQUIRED_SECURITY_CONTROLS
    c.unknown(
        s,
        "security.",
        {
            *bools,
            *OPTIONAL_SECURITY_CONTROLS,
            "critical_patch_days",
            "medical_devices_segmented",
            "security_budget_share",
            "crisis_exercise",
        },
    )
    flags = {b: c.boolean(s, f"security.{b}", b) for b in bools}
    devices = c.boolean(
        s, "security.medical_devices_segmented", "medical_devices_segmented", nullable=True
    )
    if "medical_devices_segmented" not in s:
        c.add(
            "security.medical_devices_segmented",
            "required",
            "is required (true, false, or null when there are no connected medical devices)",
        )
    patch_days = c.integer(
        s, "security.critical_patch_days", "critical_patch_days", low=0, high=3650
    )
    budget = c.decimal(
        s,
        "security.security_budget_share",
        "security_budget_share",
        low=Decimal(0),
        high=Decimal(1),
    )
    pgssi = c.boolean(s, "security.pgssi_s_compliant", "pgssi_s_compliant", default=False)
    care = c.boolean(s, "security.care_programme", "care_programme", default=False)
    exercise = c.boolean(s, "security.crisis_exercise", "crisis_exercise", nullable=True)

    h_raw = data.get("history", {})
    if not isinstance(h_raw, dict):
        c.add("history", "type", "must be a mapping of keys")
        h_raw = {}
    c.unknown(
        h_raw,
        "history.",
        {"incidents_last_5_years", "ransomware_last_5_years", "known_circumstances"},
    )
    incidents = c.integer(
        h_raw,
        "history.incidents_last_5_years",
        "incidents_last_5_years",
        low=0,
        high=1000,
        required=False,
        default=0,
    )
    ransomware = c.integer(
        h_raw,
        "history.ransomware_last_5_years",
        "ransomware_last_5_years",
        low=0,
        high=1000,
        required=False,
        default=0,
    )
    known = c.boolean(h_raw, "history.known_circumstances", "known_circumstances", default=False)
    if (
        incidents is not None
        and ransomware is not None
        and ransomware > incidents
        and "incidents_last_5_years" in h_raw
    ):
        c.add(
            "history.ransomware_last_5_years",
            "consistency",
            "cannot exceed history.incidents_last_5_years",
        )

    cv = c.section(data, "cover")
    c.unknown(cv, "cover.", {"limit", "deductible", "sublimits"})
    limit = c.decimal(
        cv, "cover.limit", "limit", low=Decimal(0), high=Decimal("1e12"), strict_low=True
    )
    deductible = c.decimal(
        cv, "cover.deductible", "deductible", low=Decimal(0), high=Decimal("1e12")
    )
    if kind is not None and limit is not None:
        options = product.aggregate_amounts(kind)
        if limit not in options:
            c.add(
                "cover.limit",
                "product_option",
                f"must be one of the product's aggregate limits for a {kind}: {', '.join(str(o) for o in options)}",
            )
    if kind is not None and deductible is not None:
        options = product.deductible_amounts(kind)
        if deductible not in options:
            c.add(
                "cover.deductible",
                "product_option",
                f"must be one of the product's deductibles for a {kind}: {', '.join(str(o) for o in options)}",
            )
    sublimits: dict[str, Decimal] = {}
    raw_sub = cv.get("sublimits", {}) or {}
    if not isinstance(raw_sub, dict):
        c.add("cover.sublimits", "type", "must be a mapping of coverage code to amount")
        raw_sub = {}
    for code, _amount in raw_sub.items():
        if code not in COVERAGES:
            c.refuse_key(
                "cover.sublimits.",
                code,
                "choice",
                f"is not a coverage; coverages: {', '.join(COVERAGES)}",
            )
            continue
        path = f"cover.sublimits.{code}"
        value = c.decimal(
            raw_sub, path, code, low=Decimal(0), high=Decimal("1e12"), strict_low=True
        )
        if value is None:
            continue
        sub_options = product.coverages[code].limit_options
        if value not in sub_options:
            c.add(
                path, "product_option", f"must be one of {', '.join(str(o) for o in sub_options)}"
            )
        elif limit is not None and value > limit:
            c.add(path, "range", "must not exceed cover.limit (the annual aggregate)")
        else:
            sublimits[code] = value

    t_raw = data.get("technology", {}) or {}
    if not isinstance(t_raw, dict):
        c.add("technology", "type", "must be a mapping of keys")
        t_raw = {}
    tech_keys = ("software_vendor", "cloud_host", "email_vendor", "remote_access_vendor")
    c.unknown(t_raw, "technology.", set(tech_keys))
    tech: dict[str, str] = {}
    for key in tech_keys:
        answer = c.text(t_raw, f"technology.{key}", key, max_length=SHORT_TEXT_MAX)
        if answer is not None:
            tech[key] = answer.lower()

    if c.errors:
        raise InvalidInput(c.errors, source)
    assert (
        name
        and kind
        and siret
        and revenue is not None
        and employees is not None
        and records is not None
    )
    assert (
        patch_days is not None
        and budget is not None
        and limit is not None
        and deductible is not None
    )
    return Application(
        establishment=Establishment(
            name=name,
            type=kind,
            siret=siret,
            finess=finess,
            annual_revenue=revenue,
            employees=employees,
            beds=beds or 0,
            patient_records=records,
            postcode=postcode,
            city=city,
            nis2_category=nis2,
        ),
        security=Security(
            **{b: bool(v) for b, v in flags.items()},
            critical_patch_days=patch_days,
            medical_devices_segmented=devices,
            security_budget_share=budget,
            pgssi_s_compliant=bool(pgssi),
            care_programme=bool(care),
            crisis_exercise=exercise,
        ),
        history=History(
            incidents_last_5_years=incidents or 0,
            ransomware_last_5_years=ransomware or 0,
            known_circumstances=bool(known),
        ),
        cover=Cover(limit=limit, deductible=deductible, sublimits=sublimits),
        technology=Technology(**tech),
    )


def _nis2_category(
    c: _Collector, e: Mapping[str, Any], employees: int | None, revenue: Decimal | None
) -> str | None:
    """The declared NIS2 category, checked against the declared staff (and revenue): essential
    needs 250 staff or more (or > 50 M€ of revenue); important needs 50 or more (or > 10 M€) and
    fewer than 250; not subject needs fewer than 50."""
    path = "establishment.nis2_category"
    answer = c.text(e, path, "nis2_category", max_length=CODE_MAX)
    if answer is None:
        return None
    if answer not in NIS2_CATEGORIES:
        c.add(path, "choice", f"must be one of {', '.join(NIS2_CATEGORIES)}")
        return None
    if employees is None or revenue is None:
        return answer  # the staff or revenue has its own error already
    large = employees >= NIS2_ESSENTIAL_STAFF or revenue > NIS2_ESSENTIAL_REVENUE
    medium = employees >= NIS2_IMPORTANT_STAFF or revenue > NIS2_IMPORTANT_REVENUE
    if answer == "essential" and not large:
        c.add(
            path,
            "consistency",
            f"essential needs establishment.employees >= {NIS2_ESSENTIAL_STAFF}"
            " (or annual_revenue > 50 000 000)",
        )
    elif answer == "important" and not medium:
        c.add(
            path,
            "consistency",
            f"important needs establishment.employees >= {NIS2_IMPORTANT_STAFF}"
            " (or annual_revenue > 10 000 000)",
        )
    elif answer == "important" and employees >= NIS2_ESSENTIAL_STAFF:
        c.add(
            path,
            "consistency",
            f"is essential, not important, from {NIS2_ESSENTIAL_STAFF} establishment.employees",
        )
    elif answer == "not_subject" and employees >= NIS2_IMPORTANT_STAFF:
        c.add(
            path,
            "consistency",
            f"cannot be not_subject with {NIS2_IMPORTANT_STAFF} establishment.employees or more",
        )
    return answer
