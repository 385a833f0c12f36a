"""Claims: the declaration, the cost → coverage table, cover determination and adjudication.

A claim (sinistre) is read from plain data (parsed YAML or JSON) into a `Declaration`; every broken
rule is collected as a `FieldError` and raised together as `InvalidInput`, nothing is stored.

Adjudication, in order (docs/claims.md):

1. **Cover** of the whole claim: claims-made trigger (discovered during the period of a policy in
   force), incident not before the retroactive date, the claim-level exclusions the product lists
   (war / state-sponsored attack, failure of power or telecom infrastructure, facts known before
   inception, intentional act), and art. L12-10-1 Code des assurances: the losses of an attack on
   IT systems are paid only if a complaint was filed within 72 h of the discovery.
2. **Each cost** goes to one coverage (`CATEGORY_COVERAGE`) and may be left out by a line rule:
   ransom not covered by the product, uninsurable fine, betterment, bodily injury / medical
   malpractice.
3. **Money** goes through `egide.domain.terms.apply_terms`, the one semantics of policy terms
   shared with the portfolio simulation: BI waiting and indemnity periods, sub-deductibles,
   sub-limits, the policy deductible once per claim in coverage order, the annual aggregate.
4. **Back to the lines**: each coverage's result is spread over its cost lines. Deductibles are
   taken from the lines in the order they were declared; limit cuts (sub-limit, then aggregate)
   from the last lines backwards — the same "first in, first paid" rule terms.py uses across
   coverages. Each line then reads ``covered - deductible - limit = payable`` to the cent, with
   the reason codes that explain it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from egide.domain.cover import CoverInForce
from egide.domain.errors import FieldError, InvalidInput
from egide.domain.fields import FieldReader
from egide.domain.money import CENT, ZERO, cents
from egide.domain.product import COVERAGES, Product
from egide.domain.terms import (
    ClaimLosses,
    ClaimOutcome,
    CoverageOutcome,
    apply_terms,
    bi_covered_hours,
)
from egide.domain.text import (
    CODE_MAX,
    COST_ID_MAX,
    DATETIME_MAX,
    DESCRIPTION_MAX,
    LINE_DESCRIPTION_MAX,
    NAME_MAX,
    REF_MAX,
    SHORT_TEXT_MAX,
    shown,
)

PARIS_TZ_NAME = "Europe/Paris"
MAX_AMOUNT = Decimal("1e10")  # ten billion euros: above any healthcare cyber loss, so absurd
MAX_HOURS = Decimal(24 * 366 * 3)
# Art. L12-10-1 Code des assurances (loi LOPMI n° 2023-22, art. 5) applies from 24 April 2023.
L12_10_1_IN_FORCE = date(2023, 4, 24)


# --------------------------------------------------------------------------- vocabularies


class IncidentKind(StrEnum):
    RANSOMWARE = "ransomware"
    DATA_LEAK = "data_leak"
    DENIAL_OF_SERVICE = "denial_of_service"
    CLOUD_OUTAGE = "cloud_outage"
    INTRUSION = "intrusion"
    LOST_DEVICE = "lost_device"
    STAFF_ERROR = "staff_error"
    PHISHING_FRAUD = "phishing_fraud"
    OTHER = "other"

    @property
    def label_fr(self) -> str:
        return INCIDENT_LABELS_FR[self]

    @property
    def attack_by_default(self) -> bool:
        """Whether `incident.attack` defaults to true (attack on IT systems, art. 323-1 C. pén.)."""
        return self in (
            IncidentKind.RANSOMWARE,
            IncidentKind.DENIAL_OF_SERVICE,
            IncidentKind.INTRUSION,
            IncidentKind.PHISHING_FRAUD,
        )


INCIDENT_LABELS_FR: Mapping[IncidentKind, str] = {
    IncidentKind.RANSOMWARE: "Rançongiciel",
    IncidentKind.DATA_LEAK: "Fuite de données",
    IncidentKind.DENIAL_OF_SERVICE: "Déni de service",
    IncidentKind.CLOUD_OUTAGE: "Panne du prestataire cloud",
    IncidentKind.INTRUSION: "Intrusion dans le système d'information",
    IncidentKind.LOST_DEVICE: "Perte ou vol d'un équipement",
    IncidentKind.STAFF_ERROR: "Erreur humaine",
    IncidentKind.PHISHING_FRAUD: "Hameçonnage",
    IncidentKind.OTHER: "Autre incident",
}


class CostCategory(StrEnum):
    """Stable codes of the costs a claim may carry. `LOST_GROSS_MARGIN` comes only from the
    `interruption` block (hours x hourly gross margin), never from the list of costs."""

    IT_FORENSICS = "it_forensics"
    LEGAL_ADVICE = "legal_advice"
    NOTIFICATION = "notification"
    CALL_CENTRE = "call_centre"
    IDENTITY_MONITORING = "identity_monitoring"
    PUBLIC_RELATIONS = "public_relations"
    DATA_RESTORATION = "data_restoration"
    SOFTWARE_RESTORATION = "software_restoration"
    RANSOM_NEGOTIATION = "ransom_negotiation"
    RANSOM_PAYMENT = "ransom_payment"
    EXTORTION_EXPENSES = "extortion_expenses"
    LOST_GROSS_MARGIN = "lost_gross_margin"
    EXTRA_EXPENSES = "extra_expenses"
    REGULATORY_DEFENCE = "regulatory_defence"
    REGULATORY_FINE = "regulatory_fine"
    THIRD_PARTY_DEFENCE = "third_party_defence"
    THIRD_PARTY_DAMAGES = "third_party_damages"

    @property
    def coverage(self) -> str:
        return CATEGORY_COVERAGE[self]

    @property
    def label_fr(self) -> str:
        return CATEGORY_LABELS_FR[self]


# The documented table (docs/claims.md): each category of cost pays under exactly one coverage.
CATEGORY_COVERAGE: Mapping[CostCategory, str] = {
    CostCategory.IT_FORENSICS: "crisis_management",
    CostCategory.LEGAL_ADVICE: "crisis_management",
    CostCategory.NOTIFICATION: "crisis_management",
    CostCategory.CALL_CENTRE: "crisis_management",
    CostCategory.IDENTITY_MONITORING: "crisis_management",
    CostCategory.PUBLIC_RELATIONS: "crisis_management",
    CostCategory.DATA_RESTORATION: "data_restoration",
    CostCategory.SOFTWARE_RESTORATION: "data_restoration",
    CostCategory.RANSOM_NEGOTIATION: "cyber_extortion",
    CostCategory.RANSOM_PAYMENT: "cyber_extortion",
    CostCategory.EXTORTION_EXPENSES: "cyber_extortion",
    CostCategory.LOST_GROSS_MARGIN: "business_interruption",
    CostCategory.EXTRA_EXPENSES: "business_interruption",
    CostCategory.REGULATORY_DEFENCE: "regulatory_investigation",
    CostCategory.REGULATORY_FINE: "regulatory_investigation",
    CostCategory.THIRD_PARTY_DEFENCE: "data_liability",
    CostCategory.THIRD_PARTY_DAMAGES: "data_liability",
}

CATEGORY_LABELS_FR: Mapping[CostCategory, str] = {
    CostCategory.IT_FORENSICS: "Expertise informatique (investigation numérique)",
    CostCategory.LEGAL_ADVICE: "Conseil juridique",
    CostCategory.NOTIFICATION: "Notification des personnes concernées",
    CostCategory.CALL_CENTRE: "Centre d'appel",
    CostCategory.IDENTITY_MONITORING: "Surveillance d'identité des personnes concernées",
    CostCategory.PUBLIC_RELATIONS: "Communication de crise",
    CostCategory.DATA_RESTORATION: "Restauration des données",
    CostCategory.SOFTWARE_RESTORATION: "Restauration des logiciels",
    CostCategory.RANSOM_NEGOTIATION: "Négociation de la rançon",
    CostCategory.RANSOM_PAYMENT: "Rançon",
    CostCategory.EXTORTION_EXPENSES: "Frais liés à l'extorsion",
    CostCategory.LOST_GROSS_MARGIN: "Perte de marge brute",
    CostCategory.EXTRA_EXPENSES: "Frais supplémentaires d'exploitation",
    CostCategory.REGULATORY_DEFENCE: "Défense lors d'une enquête administrative",
    CostCategory.REGULATORY_FINE: "Amende administrative",
    CostCategory.THIRD_PARTY_DEFENCE: "Défense contre une réclamation de tiers",
    CostCategory.THIRD_PARTY_DAMAGES: (
        "Dommages-intérêts versés à des tiers (préjudice moral compris)"
    ),
}

COVERAGE_LABELS_FR: Mapping[str, str] = {
    "business_interruption": "Interruption de service du réseau",
    "cyber_extortion": "Cyber-extorsion",
    "regulatory_investigation": "Enquêtes administratives",
    "data_liability": "Responsabilité liée aux données",
    "data_restoration": "Restauration des données",
    "crisis_management": "Gestion de crise",
}


class ThirdPartyNature(StrEnum):
    MORAL_HARM = "moral_harm"
    FINANCIAL_LOSS = "financial_loss"
    PRIVACY = "privacy"
    BODILY_INJURY = "bodily_injury"
    MEDICAL_MALPRACTICE = "medical_malpractice"
    OTHER = "other"


class Reason(StrEnum):
    """Why a claim or a line pays what it pays. Codes are stable; `label_fr` explains them."""

    COVERED = "covered"
    POLICY_NOT_IN_FORCE = "policy_not_in_force"
    DISCOVERED_OUTSIDE_PERIOD = "discovered_outside_period"
    BEFORE_RETROACTIVE_DATE = "before_retroactive_date"
    EXCLUDED_WAR = "excluded_war"
    EXCLUDED_INFRASTRUCTURE_FAILURE = "excluded_infrastructure_failure"
    EXCLUDED_PRIOR_KNOWLEDGE = "excluded_prior_knowledge"
    EXCLUDED_INTENTIONAL_ACT = "excluded_intentional_act"
    EXCLUDED_BODILY_INJURY = "excluded_bodily_injury"
    EXCLUDED_BETTERMENT = "excluded_betterment"
    COMPLAINT_FILED = "complaint_filed"
    COMPLAINT_AWAITED = "complaint_awaited"
    COMPLAINT_MISSING = "complaint_missing"
    COMPLAINT_LATE = "complaint_late"
    RANSOM_NOT_COVERED = "ransom_not_covered"
    FINE_NOT_INSURABLE = "fine_not_insurable"
    COVERAGE_NOT_BOUGHT = "coverage_not_bought"
    BI_WAITING_PERIOD = "bi_waiting_period"
    BI_BELOW_TRIGGER = "bi_below_trigger"
    BI_INDEMNITY_PERIOD = "bi_indemnity_period"
    SUB_DEDUCTIBLE = "sub_deductible"
    DEDUCTIBLE = "deductible"
    SUB_LIMIT = "sub_limit"
    AGGREGATE_LIMIT = "aggregate_limit"
    ESTIMATED = "estimated"

    @property
    def label_fr(self) -> str:
        return REASON_LABELS_FR[self]

    @property
    def blocks_claim(self) -> bool:
        """A claim-level reason that leaves the whole claim without payment."""
        return self in BLOCKING


REASON_LABELS_FR: Mapping[Reason, str] = {
    Reason.COVERED: "Garanti : la dépense entre dans la garantie indiquée.",
    Reason.POLICY_NOT_IN_FORCE: (
        "Le contrat n'était pas en vigueur à la date de découverte de l'incident."
    ),
    Reason.DISCOVERED_OUTSIDE_PERIOD: (
        "Incident découvert hors de la période d'assurance (garantie déclenchée par la "
        "réclamation, art. L124-5 du Code des assurances)."
    ),
    Reason.BEFORE_RETROACTIVE_DATE: (
        "Incident survenu avant la date de reprise du passé du contrat."
    ),
    Reason.EXCLUDED_WAR: (
        "Exclusion : guerre, y compris les cyberattaques commanditées par un État."
    ),
    Reason.EXCLUDED_INFRASTRUCTURE_FAILURE: (
        "Exclusion : défaillance des infrastructures d'électricité ou de télécommunications."
    ),
    Reason.EXCLUDED_PRIOR_KNOWLEDGE: "Exclusion : faits connus de l'assuré avant la date d'effet.",
    Reason.EXCLUDED_INTENTIONAL_ACT: (
        "Exclusion : faute intentionnelle ou dolosive de l'assuré "
        "(art. L113-1 du Code des assurances)."
    ),
    Reason.EXCLUDED_BODILY_INJURY: "Exclusion : dommages corporels et responsabilité médicale.",
    Reason.EXCLUDED_BETTERMENT: (
        "Exclusion : amélioration des systèmes au-delà de leur état antérieur à l'incident."
    ),
    Reason.COMPLAINT_FILED: (
        "Plainte déposée dans les 72 heures suivant la connaissance de l'atteinte "
        "(art. L12-10-1 du Code des assurances)."
    ),
    Reason.COMPLAINT_AWAITED: (
        "Plainte attendue : le délai de 72 heures de l'art. L12-10-1 du Code des assurances court "
        "encore ; aucun règlement avant le dépôt de la plainte."
    ),
    Reason.COMPLAINT_MISSING: (
        "Aucune plainte déposée dans les 72 heures suivant la connaissance de l'atteinte : "
        "les pertes causées par l'atteinte au système d'information ne sont pas indemnisables "
        "(art. L12-10-1 du Code des assurances)."
    ),
    Reason.COMPLAINT_LATE: (
        "Plainte déposée plus de 72 heures après la connaissance de l'atteinte : "
        "les pertes causées par l'atteinte ne sont pas indemnisables (art. L12-10-1 du Code des assurances)."
    ),
    Reason.RANSOM_NOT_COVERED: "La rançon elle-même n'est pas couverte par ce contrat.",
    Reason.FINE_NOT_INSURABLE: (
        "Amende administrative non assurable selon les conditions du contrat."
    ),
    Reason.COVERAGE_NOT_BOUGHT: "Garantie non souscrite au contrat.",
    Reason.BI_WAITING_PERIOD: (
        "Franchise temporelle : les premières heures d'interruption restent à la charge "
        "de l'assuré."
    ),
    Reason.BI_BELOW_TRIGGER: (
        "Interruption plus courte que le délai de carence : la garantie n'est pas déclenchée."
    ),
    Reason.BI_INDEMNITY_PERIOD: "Au-delà de la période d'indemnisation : non indemnisé.",
    Reason.SUB_DEDUCTIBLE: "Franchise propre à la garantie appliquée.",
    Reason.DEDUCTIBLE: (
        "Franchise du contrat, appliquée une fois par sinistre, garantie par garantie dans l'ordre "
        "du contrat, puis frais par frais dans l'ordre de leur déclaration."
    ),
    Reason.SUB_LIMIT: "Sous-limite de la garantie atteinte (par sinistre).",
    Reason.AGGREGATE_LIMIT: (
        "Plafond annuel du contrat atteint (tous sinistres de l'année d'assurance)."
    ),
    Reason.ESTIMATED: "Montant estimé (réserve) : réglé sur justificatif.",
}

BLOCKING = frozenset(
    {
        Reason.POLICY_NOT_IN_FORCE,
        Reason.DISCOVERED_OUTSIDE_PERIOD,
        Reason.BEFORE_RETROACTIVE_DATE,
        Reason.EXCLUDED_WAR,
        Reason.EXCLUDED_INFRASTRUCTURE_FAILURE,
        Reason.EXCLUDED_PRIOR_KNOWLEDGE,
        Reason.EXCLUDED_INTENTIONAL_ACT,
        Reason.COMPLAINT_AWAITED,
        Reason.COMPLAINT_MISSING,
        Reason.COMPLAINT_LATE,
    }
)

# Flag of the declaration -> exclusion code of the product -> reason.
CLAIM_EXCLUSIONS: tuple[tuple[str, str, Reason], ...] = (
    ("state_sponsored", "war", Reason.EXCLUDED_WAR),
    ("war", "war", Reason.EXCLUDED_WAR),
    ("infrastructure_failure", "infrastructure_failure", Reason.EXCLUDED_INFRASTRUCTURE_FAILURE),
    ("known_before_inception", "prior_knowledge", Reason.EXCLUDED_PRIOR_KNOWLEDGE),
    ("intentional_act", "intentional_act", Reason.EXCLUDED_INTENTIONAL_ACT),
)
INCIDENT_FLAGS = (
    "state_sponsored",
    "war",
    "infrastructure_failure",
    "known_before_inception",
    "intentional_act",
)


# --------------------------------------------------------------------------- the declaration


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    started_at: datetime
    discovered_at: datetime
    attack: bool
    complaint_filed_at: datetime | None = None
    state_sponsored: bool = False
    war: bool = False
    infrastructure_failure: bool = False
    known_before_inception: bool = False
    intentional_act: bool = False
    ars_declaration_required: bool | None = None  # None: by the kind of establishment
    description: str | None = None  # free text: may hold sensitive details, never logged


@dataclass(frozen=True)
class DataBreach:
    patients_affected: int = 0
    categories: tuple[str, ...] = ()
    high_risk: bool | None = None  # None: high when health data of patients are breached

    @property
    def personal_data(self) -> bool:
        return self.patients_affected > 0 or bool(self.categories)

    @property
    def is_high_risk(self) -> bool:
        if self.high_risk is not None:
            return self.high_risk
        return self.patients_affected > 0 and (not self.categories or "health" in self.categories)


@dataclass(frozen=True)
class ThirdPartyClaim:
    ref: str
    nature: ThirdPartyNature
    received_at: datetime | None = None
    amount_claimed: Decimal | None = None
    claimant: str | None = None  # may name a patient: stored, never logged
    description: str | None = None


@dataclass(frozen=True)
class Cost:
    id: str
    category: CostCategory
    amount: Decimal
    estimated: bool = False  # a reserve: an estimate, paid on invoice
    supplier: str | None = None
    incurred_on: date | None = None
    betterment: bool = False
    bodily_injury: bool = False
    third_party_claim: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Interruption:
    outage_hours: Decimal
    hourly_gross_margin: Decimal = ZERO
    extra_expenses: Decimal = ZERO
    systems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notifications:
    """When each notification of the incident clock was made (None: not yet)."""

    cnil_at: datetime | None = None
    patients_at: datetime | None = None
    ars_at: datetime | None = None


@dataclass(frozen=True)
class Declaration:
    incident: Incident
    costs: tuple[Cost, ...] = ()
    interruption: Interruption | None = None
    data_breach: DataBreach = field(default_factory=DataBreach)
    third_party_claims: tuple[ThirdPartyClaim, ...] = ()
    notifications: Notifications = field(default_factory=Notifications)

    def incurred_only(self) -> Declaration:
        """The declaration without its estimated costs (what can be paid now)."""
        return replace(self, costs=tuple(c for c in self.costs if not c.estimated))

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data that `parse_declaration` reads back to an equal declaration."""
        i = self.incident
        incident: dict[str, Any] = {
            "type": i.kind.value,
            "started_at": i.started_at.isoformat(),
            "discovered_at": i.discovered_at.isoformat(),
            "attack": i.attack,
        }
        if i.complaint_filed_at is not None:
            incident["complaint_filed_at"] = i.complaint_filed_at.isoformat()
        for flag in INCIDENT_FLAGS:
            if getattr(i, flag):
                incident[flag] = True
        if i.ars_declaration_required is not None:
            incident["ars_declaration_required"] = i.ars_declaration_required
        if i.description is not None:
            incident["description"] = i.description
        data: dict[str, Any] = {"incident": incident, "costs": [_cost_data(c) for c in self.costs]}
        if self.interruption is not None:
            b = self.interruption
            data["interruption"] = {
                "outage_hours": str(b.outage_hours),
                "hourly_gross_margin": str(b.hourly_gross_margin),
                "extra_expenses": str(b.extra_expenses),
            }
            if b.systems:
                data["interruption"]["systems"] = list(b.systems)
        d = self.data_breach
        breach: dict[str, Any] = {
            "patients_affected": d.patients_affected,
            "categories": list(d.categories),
        }
        if d.high_risk is not None:
            breach["high_risk"] = d.high_risk
        data["data_breach"] = breach
        if self.third_party_claims:
            data["third_party_claims"] = [
                {
                    "ref": t.ref,
                    "nature": t.nature.value,
                    **({"received_at": t.received_at.isoformat()} if t.received_at else {}),
                    **(
                        {"amount_claimed": str(t.amount_claimed)}
                        if t.amount_claimed is not None
                        else {}
                    ),
                    **({"claimant": t.claimant} if t.claimant else {}),
                    **({"description": t.description} if t.description else {}),
                }
                for t in self.third_party_claims
            ]
        n = self.notifications
        notes = {
            k: v.isoformat()
            for k, v in (
                ("cnil_at", n.cnil_at),
                ("patients_at", n.patients_at),
                ("ars_at", n.ars_at),
            )
            if v
        }
        if notes:
            data["notifications"] = notes
        return data


def _cost_data(c: Cost) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "category": c.category.value, "amount": str(c.amount)}
    if c.estimated:
        out["estimated"] = True
    if c.supplier:
        out["supplier"] = c.supplier
    if c.incurred_on:
        out["date"] = c.incurred_on.isoformat()
    for flag in ("betterment", "bodily_injury"):
        if getattr(c, flag):
            out[flag] = True
    if c.third_party_claim:
        out["third_party_claim"] = c.third_party_claim
    if c.description:
        out["description"] = c.description
    return out


# --------------------------------------------------------------------------- parsing


class _Reader(FieldReader):
    """Collects every broken rule of a declaration, with its dotted path."""

    def moment(
        self, data: Mapping[str, Any], path: str, key: str, required: bool
    ) -> datetime | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, "required", "is required (ISO 8601 date-time with an offset)")
            return None
        if isinstance(value, str):
            text = self.text(data, path, key, max_length=DATETIME_MAX, required=True)
            if text is None:
                return None
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                self.add(path, "datetime", f"{shown(text)} is not an ISO 8601 date-time")
                return None
        if not isinstance(value, datetime):
            self.add(
                path, "datetime", "must be a date-time with an offset (2027-02-21T07:30:00+01:00)"
            )
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(
                path, "offset", "must carry a UTC offset (e.g. +01:00): a naive time is ambiguous"
            )
            return None
        return self.in_years(path, value)

    def day(self, data: Mapping[str, Any], path: str, key: str) -> date | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return self.in_years(path, value.date())
        if isinstance(value, date):
            return self.in_years(path, value)
        if isinstance(value, str):
            text = self.text(data, path, key, max_length=DATETIME_MAX, required=True)
            if text is None:
                return None
            try:
                return self.in_years(path, date.fromisoformat(text))
            except ValueError:
                pass
        self.add(path, "date", "must be a date (YYYY-MM-DD)")
        return None

    def flag(
        self, data: Mapping[str, Any], path: str, key: str, default: bool | None
    ) -> bool | None:
        if key not in data or data[key] is None:
            return default
        value = data[key]
        if not isinstance(value, bool):
            self.add(path, "type", "must be true or false")
            return default
        return value

    def number(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        high: Decimal,
        required: bool,
        cent: bool,
    ) -> Decimal | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path, "required", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            self.add(path, "type", "must be a number")
            return None
        try:
            number = (
                Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
            )
        except InvalidOperation:
            self.add(path, "type", f"{shown(value)} is not a number")
            return None
        if not number.is_finite():
            self.add(path, "type", "must be a finite number")
            return None
        if number < 0:
            self.add(path, "range", "must not be negative")
            return None
        if number > high:
            self.add(path, "range", f"must be <= {high} (absurd above)")
            return None
        if cent and number != number.quantize(CENT):
            self.add(path, "cents", "an amount in euros has at most two decimals")
            return None
        return number


_INCIDENT_KEYS = {
    "type",
    "started_at",
    "discovered_at",
    "attack",
    "complaint_filed_at",
    "patients_affected",
    "ars_declaration_required",
    "description",
    *INCIDENT_FLAGS,
}
_COST_KEYS = {
    "id",
    "category",
    "amount",
    "estimated",
    "supplier",
    "date",
    "betterment",
    "bodily_injury",
    "third_party_claim",
    "description",
}


def parse_declaration(data: object, source: str | None = None) -> Declaration:
    """Validate a claim file (parsed YAML or JSON). Every broken rule is reported at once."""
    r = _Reader()
    if not isinstance(data, dict):
        raise InvalidInput(
            [FieldError("(document)", "type", "must be a mapping with incident and costs")], source
        )
    r.unknown(
        data,
        "",
        {"incident", "costs", "interruption", "data_breach", "third_party_claims", "notifications"},
    )
    inc = r.mapping(data, "incident", required=True)
    r.unknown(inc, "incident.", _INCIDENT_KEYS)
    kind: IncidentKind | None = None
    raw_kind = r.text(inc, "incident.type", "type", max_length=CODE_MAX, required=True)
    if raw_kind is not None:
        try:
            kind = IncidentKind(raw_kind)
        except ValueError:
            r.add(
                "incident.type",
                "choice",
                f"{shown(raw_kind)} is not one of {', '.join(k.value for k in IncidentKind)}",
            )
    started = r.moment(inc, "incident.started_at", "started_at", required=True)
    discovered = r.moment(inc, "incident.discovered_at", "discovered_at", required=True)
    complaint = r.moment(inc, "incident.complaint_filed_at", "complaint_filed_at", required=False)
    if started and discovered and discovered < started:
        r.add(
            "incident.discovered_at",
            "after_start",
            "the discovery cannot precede the start of the incident",
        )
    if complaint and started and complaint < started:
        r.add(
            "incident.complaint_filed_at", "after_start", "a complaint cannot precede the incident"
        )
    attack = r.flag(inc, "incident.attack", "attack", kind.attack_by_default if kind else False)
    flags = {f: bool(r.flag(inc, f"incident.{f}", f, False)) for f in INCIDENT_FLAGS}
    ars = r.flag(inc, "incident.ars_declaration_required", "ars_declaration_required", None)
    description = r.text(
        inc,
        "incident.description",
        "description",
        max_length=DESCRIPTION_MAX,
        multiline=True,
        blank_is_absent=True,
    )

    # personal data breached: incident.patients_affected is a shortcut of data_breach
    db = r.mapping(data, "data_breach", required=False)
    r.unknown(db, "data_breach.", {"patients_affected", "categories", "high_risk"})
    patients = 0
    for where, src in (("incident", inc), ("data_breach", db)):
        n = r.number(
            src,
            f"{where}.patients_affected",
            "patients_affected",
            high=Decimal(100_000_000),
            required=False,
            cent=False,
        )
        if n is not None:
            if n != n.to_integral_value():
                r.add(f"{where}.patients_affected", "integer", "must be a whole number")
            patients = max(patients, int(n))
    categories: tuple[str, ...] = ()
    raw_cats = db.get("categories")
    if raw_cats is not None:
        if not isinstance(raw_cats, list) or not all(isinstance(x, str) for x in raw_cats):
            r.add(
                "data_breach.categories",
                "type",
                "must be a list of data categories (health, identity, contact…)",
            )
        else:
            read = r.texts(raw_cats, "data_breach.categories", max_length=SHORT_TEXT_MAX)
            if read is not None:
                categories = read
    breach = DataBreach(
        patients, categories, r.flag(db, "data_breach.high_risk", "high_risk", None)
    )

    third: list[ThirdPartyClaim] = []
    raw_tp = data.get("third_party_claims") or []
    if not isinstance(raw_tp, list):
        r.add("third_party_claims", "type", "must be a list")
        raw_tp = []
    for i, item in enumerate(raw_tp):
        path = f"third_party_claims[{i}]"
        if not isinstance(item, dict):
            r.add(path, "type", "must be a mapping")
            continue
        r.unknown(
            item,
            f"{path}.",
            {"ref", "nature", "received_at", "amount_claimed", "claimant", "description"},
        )
        ref = (
            r.text(
                item, f"{path}.ref", "ref", max_length=REF_MAX, blank_is_absent=True, numbers=True
            )
            or f"R{i + 1}"
        )
        try:
            nature = ThirdPartyNature(
                r.text(item, f"{path}.nature", "nature", max_length=CODE_MAX) or "other"
            )
        except ValueError:
            r.add(
                f"{path}.nature",
                "choice",
                f"must be one of {', '.join(n.value for n in ThirdPartyNature)}",
            )
            nature = ThirdPartyNature.OTHER
        third.append(
            ThirdPartyClaim(
                ref=ref,
                nature=nature,
                received_at=r.moment(item, f"{path}.received_at", "received_at", required=False),
                amount_claimed=r.number(
                    item,
                    f"{path}.amount_claimed",
                    "amount_claimed",
                    high=MAX_AMOUNT,
                    required=False,
                    cent=True,
                ),
                claimant=r.text(
                    item, f"{path}.claimant", "claimant", max_length=NAME_MAX, blank_is_absent=True
                ),
                description=r.text(
                    item,
                    f"{path}.description",
                    "description",
                    max_length=LINE_DESCRIPTION_MAX,
                    multiline=True,
                    blank_is_absent=True,
                ),
            )
        )
    refs = [t.ref for t in third]
    if len(set(refs)) != len(refs):
        r.add("third_party_claims", "unique_ref", "each third-party claim needs its own ref")

    costs = _parse_costs(r, data.get("costs"), set(refs))

    interruption: Interruption | None = None
    bi = r.mapping(data, "interruption", required=False)
    if bi:
        r.unknown(
            bi,
            "interruption.",
            {"outage_hours", "hourly_gross_margin", "extra_expenses", "systems"},
        )
        hours = r.number(
            bi,
            "interruption.outage_hours",
            "outage_hours",
            high=MAX_HOURS,
            required=True,
            cent=False,
        )
        margin = r.number(
            bi,
            "interruption.hourly_gross_margin",
            "hourly_gross_margin",
            high=MAX_AMOUNT,
            required=False,
            cent=True,
        )
        extra = r.number(
            bi,
            "interruption.extra_expenses",
            "extra_expenses",
            high=MAX_AMOUNT,
            required=False,
            cent=True,
        )
        systems: tuple[str, ...] = ()
        raw_sys = bi.get("systems")
        if raw_sys is not None:
            if not isinstance(raw_sys, list) or not all(isinstance(x, str) for x in raw_sys):
                r.add("interruption.systems", "type", "must be a list of system names")
            else:
                systems = r.texts(raw_sys, "interruption.systems", max_length=SHORT_TEXT_MAX) or ()
        if hours is not None:
            interruption = Interruption(hours, margin or ZERO, extra or ZERO, systems)
    has_extra_costs = any(c.category == CostCategory.EXTRA_EXPENSES for c in costs)
    if has_extra_costs and (interruption is None or interruption.outage_hours <= 0):
        r.add(
            "interruption.outage_hours",
            "required",
            "extra expenses are paid for the covered hours of an outage: "
            "give interruption.outage_hours > 0",
        )
    if (
        interruption is not None
        and interruption.outage_hours == 0
        and (interruption.hourly_gross_margin > 0 or interruption.extra_expenses > 0)
    ):
        r.add(
            "interruption.outage_hours",
            "range",
            "must be > 0 when a margin or extra expenses are claimed",
        )

    nt = r.mapping(data, "notifications", required=False)
    r.unknown(nt, "notifications.", {"cnil_at", "patients_at", "ars_at"})
    notes = Notifications(
        cnil_at=r.moment(nt, "notifications.cnil_at", "cnil_at", required=False),
        patients_at=r.moment(nt, "notifications.patients_at", "patients_at", required=False),
        ars_at=r.moment(nt, "notifications.ars_at", "ars_at", required=False),
    )
    for key in ("cnil_at", "patients_at", "ars_at"):
        moment = getattr(notes, key)
        if moment is not None and discovered is not None and moment < discovered:
            r.add(
                f"notifications.{key}",
                "after_discovery",
                "a notification cannot precede the discovery",
            )

    if r.errors or kind is None or started is None or discovered is None:
        raise InvalidInput(r.errors, source)
    incident = Incident(
        kind=kind,
        started_at=started,
        discovered_at=discovered,
        attack=bool(attack),
        complaint_filed_at=complaint,
        ars_declaration_required=ars,
        description=description,
        **flags,
    )
    return Declaration(
        incident=incident,
        costs=tuple(costs),
        interruption=interruption,
        data_breach=breach,
        third_party_claims=tuple(third),
        notifications=notes,
    )


def _parse_costs(r: _Reader, raw: object, refs: set[str]) -> list[Cost]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        r.add("costs", "type", "must be a list of {category, amount}")
        return []
    out: list[Cost] = []
    for i, item in enumerate(raw):
        path = f"costs[{i}]"
        if not isinstance(item, dict):
            r.add(path, "type", "must be a mapping {category, amount, …}")
            continue
        r.unknown(item, f"{path}.", _COST_KEYS)
        raw_cat = r.text(item, f"{path}.category", "category", max_length=CODE_MAX, required=True)
        category: CostCategory | None = None
        if raw_cat is not None:
            try:
                category = CostCategory(raw_cat)
            except ValueError:
                known = ", ".join(
                    c.value for c in CostCategory if c != CostCategory.LOST_GROSS_MARGIN
                )
                msg = f"{shown(raw_cat)} is not a cost category ({known})"
                r.add(f"{path}.category", "choice", msg)
        if category == CostCategory.LOST_GROSS_MARGIN:
            r.add(
                f"{path}.category",
                "interruption_block",
                "the lost gross margin is declared in the interruption block "
                "(outage_hours x hourly_gross_margin)",
            )
            category = None
        amount = r.number(
            item, f"{path}.amount", "amount", high=MAX_AMOUNT, required=True, cent=True
        )
        tp = r.text(
            item,
            f"{path}.third_party_claim",
            "third_party_claim",
            max_length=REF_MAX,
            blank_is_absent=True,
            numbers=True,
        )
        if tp is not None and tp not in refs:
            r.add(
                f"{path}.third_party_claim",
                "unknown_ref",
                f"{shown(tp)} is not the ref of a third_party_claims entry",
            )
        cost_id = (
            r.text(
                item, f"{path}.id", "id", max_length=COST_ID_MAX, blank_is_absent=True, numbers=True
            )
            or f"C{i + 1}"
        )
        estimated = r.flag(item, f"{path}.estimated", "estimated", False)
        betterment = r.flag(item, f"{path}.betterment", "betterment", False)
        bodily = r.flag(item, f"{path}.bodily_injury", "bodily_injury", False)
        if category is None or amount is None:
            continue
        out.append(
            Cost(
                id=cost_id,
                category=category,
                amount=amount,
                estimated=bool(estimated),
                supplier=r.text(
                    item, f"{path}.supplier", "supplier", max_length=NAME_MAX, blank_is_absent=True
                ),
                incurred_on=r.day(item, f"{path}.date", "date"),
                betterment=bool(betterment),
                bodily_injury=bool(bodily),
                third_party_claim=tp,
                description=r.text(
                    item,
                    f"{path}.description",
                    "description",
                    max_length=LINE_DESCRIPTION_MAX,
                    multiline=True,
                    blank_is_absent=True,
                ),
            )
        )
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        r.add("costs", "unique_id", "two costs carry the same id")
    return out


def check_against_now(decl: Declaration, moment: datetime, source: str | None = None) -> None:
    """Facts cannot lie in the future of the declaration."""
    errors = []
    i = decl.incident
    for name, value in (
        ("incident.started_at", i.started_at),
        ("incident.discovered_at", i.discovered_at),
        ("incident.complaint_filed_at", i.complaint_filed_at),
        ("notifications.cnil_at", decl.notifications.cnil_at),
        ("notifications.patients_at", decl.notifications.patients_at),
        ("notifications.ars_at", decl.notifications.ars_at),
    ):
        if value is not None and value > moment:
            errors.append(
                FieldError(name, "not_future", f"lies in the future (now is {moment.isoformat()})")
            )
    if errors:
        raise InvalidInput(errors, source)


# --------------------------------------------------------------------------- cover


@dataclass(frozen=True)
class CoverDecision:
    covered: bool
    reasons: tuple[Reason, ...]
    complaint_deadline: datetime | None  # when art. L12-10-1 applies


def complaint_deadline(decl: Declaration, product: Product) -> datetime | None:
    """The end of the window to file a complaint, when art. L12-10-1 applies (an attack on IT
    systems, learned of by the victim from 24 April 2023): 72 h from the discovery."""
    i = decl.incident
    if not i.attack or i.discovered_at.date() < L12_10_1_IN_FORCE:
        return None
    utc = i.discovered_at.astimezone(UTC) + timedelta(hours=product.complaint_deadline_hours)
    return utc.astimezone(ZoneInfo(PARIS_TZ_NAME))


def determine_cover(
    decl: Declaration, cover: CoverInForce, product: Product, moment: datetime
) -> CoverDecision:
    """Whether the claim as a whole is covered, with the reasons, at `moment` (the clock's now)."""
    paris = ZoneInfo(PARIS_TZ_NAME)
    i = decl.incident
    reasons: list[Reason] = []
    if not (cover.period_start <= i.discovered_at < cover.period_end):
        reasons.append(Reason.DISCOVERED_OUTSIDE_PERIOD)
    elif cover.status != "in_force":
        reasons.append(Reason.POLICY_NOT_IN_FORCE)
    if i.started_at.astimezone(paris).date() < cover.retroactive_date:
        reasons.append(Reason.BEFORE_RETROACTIVE_DATE)
    excluded = {e.code for e in product.exclusions}
    for flag, code, reason in CLAIM_EXCLUSIONS:
        if getattr(i, flag) and code in excluded and reason not in reasons:
            reasons.append(reason)
    deadline = complaint_deadline(decl, product)
    if deadline is not None:
        filed = i.complaint_filed_at
        if filed is not None and filed <= deadline:
            reasons.append(Reason.COMPLAINT_FILED)
        elif filed is not None:
            reasons.append(Reason.COMPLAINT_LATE)
        elif moment < deadline:
            reasons.append(Reason.COMPLAINT_AWAITED)
        else:
            reasons.append(Reason.COMPLAINT_MISSING)
    covered = not any(r.blocks_claim for r in reasons)
    if (covered and Reason.COMPLAINT_FILED not in reasons) or covered:
        reasons.insert(0, Reason.COVERED)
    return CoverDecision(covered, tuple(reasons), deadline)


# --------------------------------------------------------------------------- adjudication


@dataclass(frozen=True)
class SettlementLine:
    """One line of the settlement: ``covered - deductible - limit == payable``."""

    ref: str  # the cost's id, or BI-MARGIN / BI-EXTRA for the interruption block
    category: CostCategory
    coverage: str
    claimed: Decimal
    covered: Decimal
    deductible: Decimal  # sub-deductible and policy deductible taken on this line
    limit: Decimal  # what the sub-limit and the annual aggregate cut on this line
    payable: Decimal
    estimated: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Adjudication:
    cover: CoverDecision
    lines: tuple[SettlementLine, ...]
    outcome: ClaimOutcome  # apply_terms' result, per coverage

    @property
    def covered(self) -> bool:
        return self.cover.covered

    @property
    def payable_total(self) -> Decimal:
        return sum((line.payable for line in self.lines), ZERO)

    @property
    def claimed_total(self) -> Decimal:
        return sum((line.claimed for line in self.lines), ZERO)


@dataclass
class _Draft:
    ref: str
    category: CostCategory
    claimed: Decimal
    covered: Decimal
    estimated: bool
    reasons: list[Reason]
    parts: dict[str, Decimal] = field(default_factory=dict)


def split_cents(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (cents) in proportion to `weights`, largest remainders first; the parts add
    up to `total` exactly, and none exceeds its weight when total <= sum(weights) and the weights
    are whole cents."""
    w_sum = sum(weights, ZERO)
    if w_sum <= 0 or total <= 0:
        return [ZERO for _ in weights]
    units = int((total / CENT).to_integral_value())
    raw = [Decimal(units) * w / w_sum for w in weights]
    floors = [int(x) for x in raw]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda k: (-(raw[k] - floors[k]), k))
    for k in order[:left]:
        floors[k] += 1
    return [Decimal(f) * CENT for f in floors]


def _take_forward(total: Decimal, drafts: list[_Draft], key: str) -> None:
    """Take `total` from the lines' remaining amounts, first line first."""
    left = total
    for d in drafts:
        have = d.covered - sum(d.parts.values(), ZERO)
        take = min(have, left)
        if take > 0:
            d.parts[key] = d.parts.get(key, ZERO) + take
            left -= take


def _take_backward(total: Decimal, drafts: list[_Draft], key: str) -> None:
    _take_forward(total, list(reversed(drafts)), key)


def _line_exclusion(
    cost: Cost, product: Product, tp_nature: Mapping[str, ThirdPartyNature]
) -> Reason | None:
    excluded = {e.code for e in product.exclusions}
    if cost.category == CostCategory.RANSOM_PAYMENT:
        ext = product.coverages["cyber_extortion"]
        if not ext.ransom_payment_covered:
            return Reason.RANSOM_NOT_COVERED
    if cost.category == CostCategory.REGULATORY_FINE:
        reg = product.coverages["regulatory_investigation"]
        if not reg.fines_insurable:
            return Reason.FINE_NOT_INSURABLE
    if cost.betterment and "betterment" in excluded:
        return Reason.EXCLUDED_BETTERMENT
    bodily = cost.bodily_injury or (
        cost.third_party_claim is not None
        and tp_nature.get(cost.third_party_claim)
        in (ThirdPartyNature.BODILY_INJURY, ThirdPartyNature.MEDICAL_MALPRACTICE)
    )
    if bodily and "bodily_injury" in excluded:
        return Reason.EXCLUDED_BODILY_INJURY
    return None


def adjudicate(
    decl: Declaration,
    cover: CoverInForce,
    product: Product,
    aggregate_used: Decimal,
    moment: datetime,
) -> Adjudication:
    """Settle a claim line by line. `aggregate_used`: paid by the policy's OTHER claims of the
    same policy year (the annual aggregate is what remains of it). Money goes through
    `apply_terms`."""
    decision = determine_cover(decl, cover, product, moment)
    blocking = tuple(r for r in decision.reasons if r.blocks_claim)
    tp_nature = {t.ref: t.nature for t in decl.third_party_claims}
    drafts: list[_Draft] = []
    bi_drafts: list[_Draft] = []
    terms = cover.terms

    # the interruption block: lost gross margin, then extra expenses (block, then listed costs)
    b = decl.interruption
    if b is not None and b.outage_hours > 0:
        if b.hourly_gross_margin > 0:
            claimed = cents(b.outage_hours * b.hourly_gross_margin)
            bi_drafts.append(
                _Draft("BI-MARGIN", CostCategory.LOST_GROSS_MARGIN, claimed, claimed, False, [])
            )
        if b.extra_expenses > 0:
            bi_drafts.append(
                _Draft(
                    "BI-EXTRA",
                    CostCategory.EXTRA_EXPENSES,
                    b.extra_expenses,
                    b.extra_expenses,
                    False,
                    [],
                )
            )
    for cost in decl.costs:
        d = _Draft(cost.id, cost.category, cost.amount, cost.amount, cost.estimated, [])
        if cost.estimated:
            d.reasons.append(Reason.ESTIMATED)
        if blocking:
            d.covered = ZERO
            d.reasons.extend(blocking)
        elif (why := _line_exclusion(cost, product, tp_nature)) is not None:
            d.covered = ZERO
            d.reasons.append(why)
        (bi_drafts if cost.category.coverage == "business_interruption" else drafts).append(d)
    if blocking:
        for d in bi_drafts:
            if d.ref.startswith("BI-"):
                d.covered = ZERO
                d.reasons.extend(blocking)

    # BI in apply_terms is hours x hourly loss: hourly loss = (margin + extra expenses) / hours,
    # so extra expenses follow the covered share of the hours (docs/claims.md)
    bi_hours = b.outage_hours if b is not None else ZERO
    bi_total = sum((d.covered for d in bi_drafts), ZERO)
    bi_hourly = bi_total / bi_hours if bi_hours > 0 and bi_total > 0 else ZERO
    amounts: dict[str, Decimal] = {}
    for d in drafts:
        amounts[d.category.coverage] = amounts.get(d.category.coverage, ZERO) + d.covered
    outcome = apply_terms(terms, ClaimLosses(amounts, bi_hours, bi_hourly), aggregate_used)
    by_cov = outcome.by_coverage()

    if bi_drafts and bi_total > 0:
        bi = by_cov["business_interruption"]
        wait, mode = terms.waiting_period_hours, terms.waiting_period_mode
        hours = bi_covered_hours(bi_hours, wait, mode, terms.indemnity_period_hours)
        period_reasons: list[Reason] = []
        if hours < bi_hours:
            if mode == "trigger" and bi_hours <= wait:
                period_reasons.append(Reason.BI_BELOW_TRIGGER)
            else:
                if mode != "trigger" and wait > 0:
                    period_reasons.append(Reason.BI_WAITING_PERIOD)
                if bi_hours - (wait if mode != "trigger" else ZERO) > terms.indemnity_period_hours:
                    period_reasons.append(Reason.BI_INDEMNITY_PERIOD)
        shares = split_cents(bi.covered_before_terms, [d.covered for d in bi_drafts])
        for d, share in zip(bi_drafts, shares, strict=True):
            if d.covered > 0:
                d.reasons.extend(period_reasons)
            d.covered = share
    all_drafts = drafts + bi_drafts

    for code in COVERAGES:
        lines = [d for d in all_drafts if d.category.coverage == code]
        if not lines:
            continue
        o: CoverageOutcome = by_cov[code]
        _take_forward(o.sub_deductible, lines, "sub_deductible")
        _take_forward(o.deductible, lines, "deductible")
        _take_backward(o.sub_limit_cut, lines, "sub_limit")
        _take_backward(o.aggregate_cut, lines, "aggregate")
        bought = code in terms.coverages
        for d in lines:
            for key, reason in (
                ("sub_deductible", Reason.SUB_DEDUCTIBLE),
                ("deductible", Reason.DEDUCTIBLE),
                ("sub_limit", Reason.SUB_LIMIT if bought else Reason.COVERAGE_NOT_BOUGHT),
                ("aggregate", Reason.AGGREGATE_LIMIT),
            ):
                if d.parts.get(key, ZERO) > 0:
                    d.reasons.append(reason)

    out: list[SettlementLine] = []
    for d in all_drafts:
        ded = d.parts.get("sub_deductible", ZERO) + d.parts.get("deductible", ZERO)
        lim = d.parts.get("sub_limit", ZERO) + d.parts.get("aggregate", ZERO)
        payable = d.covered - ded - lim
        reasons = list(dict.fromkeys(d.reasons))
        if (
            payable > 0
            or (d.covered > 0 and not reasons)
            or not reasons
            or reasons == [Reason.ESTIMATED]
        ):
            reasons.insert(0, Reason.COVERED)
        out.append(
            SettlementLine(
                ref=d.ref,
                category=d.category,
                coverage=d.category.coverage,
                claimed=d.claimed,
                covered=d.covered,
                deductible=ded,
                limit=lim,
                payable=payable,
                estimated=d.estimated,
                reasons=tuple(reasons),
            )
        )
    result = Adjudication(decision, tuple(out), outcome)
    if result.payable_total != outcome.payable:  # the lines must add up to apply_terms' result
        raise AssertionError(
            f"lines pay {result.payable_total}, apply_terms pays {outcome.payable}"
        )
    return result


def merge_declaration(base: Declaration, patch: object, source: str | None = None) -> Declaration:
    """Apply a handler's change to a stored declaration and validate the result as a whole.

    The patch may carry `incident` (keys replace the stored ones: flags, complaint date…),
    `interruption` (replaces the block), `data_breach` (keys replace), `notifications` (keys
    replace), `third_party_claims` (appended) and `costs`: a cost whose `id` is an existing one
    replaces it (a reserve updated, an estimate turned into an invoice), any other is appended
    with the next free id.
    """
    if not isinstance(patch, dict):
        raise InvalidInput(
            [FieldError("(document)", "type", "must be a mapping (incident, costs, …)")], source
        )
    allowed = {
        "incident",
        "costs",
        "interruption",
        "data_breach",
        "third_party_claims",
        "notifications",
    }
    keys = FieldReader()
    keys.unknown(patch, "", allowed)
    if keys.errors:
        raise InvalidInput(keys.errors, source)
    data = base.to_data()
    for key in ("incident", "data_breach", "notifications"):
        if key in patch:
            value = patch[key]
            if not isinstance(value, dict):
                raise InvalidInput([FieldError(key, "type", "must be a mapping of keys")], source)
            merged = dict(data.get(key, {}))
            merged.update(value)
            data[key] = merged
    if "interruption" in patch:
        data["interruption"] = patch["interruption"]
    if "third_party_claims" in patch:
        extra = patch["third_party_claims"]
        if not isinstance(extra, list):
            raise InvalidInput([FieldError("third_party_claims", "type", "must be a list")], source)
        data["third_party_claims"] = [*data.get("third_party_claims", []), *extra]
    if "costs" in patch:
        extra_costs = patch["costs"]
        if not isinstance(extra_costs, list):
            raise InvalidInput(
                [FieldError("costs", "type", "must be a list of {category, amount}")], source
            )
        costs: list[dict[str, Any]] = list(data["costs"])
        index = {c["id"]: k for k, c in enumerate(costs)}
        used = {c["id"] for c in costs}
        n = len(costs)
        for item in extra_costs:
            cost_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(cost_id, str | int) and cost_id in index:
                costs[index[cost_id]] = dict(item)
                continue
            if isinstance(item, dict) and "id" not in item:
                n += 1
                while f"C{n}" in used:
                    n += 1
                item = {**item, "id": f"C{n}"}
                used.add(item["id"])
            costs.append(item)
        data["costs"] = costs
    return parse_declaration(data, source)
