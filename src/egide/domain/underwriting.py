"""Underwriting rules: accept, refer to an underwriter (saying what to check), or decline.

Plain code, one rule a line in `RULES`, each returning a reason code or nothing. The decision is the
worst outcome among the reasons. Reason messages are in French: the broker and the establishment
read them.

Product 2026.2 adds the rules of its `[underwriting]` section (`UnderwritingRules`, parsed from
the product's text; a product without the section, as 2026.1, gets the v1 defaults and the v1
decisions): MFA on remote access for every kind, the plausibility of the declared patient
records against revenue, beds and kind, and the new questions (NIS2 category, annual crisis
exercise, a remote-access appliance from a vendor in the CISA KEV catalogue).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum, StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from egide.domain.application import Application
from egide.domain.errors import ProductError
from egide.domain.product import KINDS
from egide.domain.scoring import SecurityScore

if TYPE_CHECKING:
    from egide.domain.product import Product


class Decision(StrEnum):
    ACCEPT = "accept"
    REFER = "refer"
    DECLINE = "decline"

    @property
    def label_fr(self) -> str:
        return {
            "accept": "Acceptée",
            "refer": "À examiner par un souscripteur",
            "decline": "Refusée",
        }[self.value]


class Reason(Enum):
    """Reason codes: (outcome, French message). Codes are stable: scripts and reports use them."""

    ALL_RULES_PASSED = (Decision.ACCEPT, "Toutes les règles de souscription sont satisfaites.")
    RANSOMWARE_NO_RECOVERY = (
        Decision.DECLINE,
        "Rançongiciel au cours des 5 dernières années sans sauvegarde hors ligne ni restauration testée.",
    )
    LARGE_HOSPITAL_NO_OFFLINE_BACKUP = (
        Decision.DECLINE,
        "Établissement de plus de 300 lits sans sauvegardes hors ligne ou immuables.",
    )
    SCORE_TOO_LOW = (Decision.DECLINE, "Score de sécurité inférieur à 25/100.")
    TOO_MANY_INCIDENTS = (
        Decision.DECLINE,
        "Quatre incidents ou plus au cours des 5 dernières années.",
    )
    RANSOMWARE_HISTORY = (
        Decision.REFER,
        "Rançongiciel au cours des 5 dernières années : vérifier les mesures prises depuis (rapport d'incident, plan de remédiation).",
    )
    RANSOMWARE_RESTORE_UNTESTED = (
        Decision.REFER,
        "Rançongiciel au cours des 5 dernières années et restauration non testée : exiger un test de restauration avant la prise d'effet.",
    )
    NO_OFFLINE_BACKUP_BEDDED = (
        Decision.REFER,
        "Établissement avec lits sans sauvegardes hors ligne : vérifier le plan de sauvegarde.",
    )
    SCORE_LOW = (
        Decision.REFER,
        "Score de sécurité inférieur à 50/100 : vérifier les mesures de sécurité déclarées.",
    )
    NO_MFA_LARGE = (
        Decision.REFER,
        "Pas de MFA sur les accès distants pour un établissement de cette taille : vérifier les accès distants (VPN, prestataires).",
    )
    DEVICES_NOT_SEGMENTED = (
        Decision.REFER,
        "Dispositifs médicaux connectés non isolés : vérifier la segmentation réseau de l'imagerie et du biomédical.",
    )
    KNOWN_CIRCUMSTANCES = (
        Decision.REFER,
        "Faits connus pouvant donner lieu à un sinistre : les décrire, ils seront exclus.",
    )
    SEVERAL_INCIDENTS = (
        Decision.REFER,
        "Deux ou trois incidents au cours des 5 dernières années : obtenir leur description.",
    )
    PATCHING_SLOW = (
        Decision.REFER,
        "Correctifs critiques appliqués en plus de 90 jours : vérifier la gestion des vulnérabilités.",
    )
    LARGE_CAPACITY = (
        Decision.REFER,
        "Plafond de 10 M€ ou plus : accord de la réassurance nécessaire.",
    )
    VERY_LARGE_RISK = (
        Decision.REFER,
        "Très grand établissement (CA > 500 M€ ou plus de 2 000 lits) : tarification à valider par un souscripteur.",
    )
    # product 2026.2 ([underwriting] of the product file)
    NO_MFA_REMOTE_ACCESS = (
        Decision.REFER,
        "Pas de MFA sur les accès distants : condition du marché, vérifier les accès distants (VPN, bureau à distance, prestataires) et exiger la MFA avant la prise d'effet.",
    )
    NO_MFA_REMOTE_ACCESS_DECLINED = (
        Decision.DECLINE,
        "Pas de MFA sur les accès distants pour ce type d'établissement : risque non assurable en l'état.",
    )
    RECORDS_ZERO = (
        Decision.REFER,
        "Aucun dossier patient déclaré pour un établissement qui en détient : vérifier le nombre de patients dont les données sont conservées (file active).",
    )
    RECORDS_LOW = (
        Decision.REFER,
        "Nombre de dossiers patients faible au regard du chiffre d'affaires pour ce type d'établissement : vérifier le nombre de patients dont les données sont conservées.",
    )
    RECORDS_HIGH = (
        Decision.REFER,
        "Nombre de dossiers patients élevé au regard du chiffre d'affaires pour ce type d'établissement : vérifier le nombre de dossiers et le chiffre d'affaires déclarés.",
    )
    RECORDS_BELOW_BEDS = (
        Decision.REFER,
        "Moins de dossiers patients que de lits : vérifier le nombre de lits et le nombre de dossiers déclarés.",
    )
    NIS2_NO_RESPONSE_PLAN = (
        Decision.REFER,
        "Entité NIS2 (essentielle ou importante) sans plan de réponse aux incidents : vérifier la mise en conformité (mesures de gestion des risques, notification des incidents).",
    )
    NO_CRISIS_EXERCISE = (
        Decision.REFER,
        "Pas d'exercice de crise annuel (instruction DNS/2025/12) : demander la date de l'exercice prévu et le plan de continuité.",
    )
    KEV_APPLIANCE_SLOW_PATCHING = (
        Decision.REFER,
        "Équipement d'accès distant d'un éditeur dont des failles figurent au catalogue KEV de la CISA, correctifs critiques appliqués en plus de 30 jours : vérifier la version et les correctifs de l'équipement.",
    )

    @property
    def code(self) -> str:
        return self.name

    @property
    def outcome(self) -> Decision:
        return self.value[0]  # type: ignore[no-any-return,unused-ignore]

    @property
    def message(self) -> str:
        return self.value[1]  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class UnderwritingResult:
    decision: Decision
    reasons: tuple[Reason, ...]


LARGE_BEDS = 300
LARGE_KINDS = frozenset({"clinique", "hopital", "laboratoire", "imagerie"})
DEVICE_KINDS = frozenset({"imagerie", "clinique", "hopital"})

Rule = Callable[[Application, SecurityScore], Reason | None]


def _ransomware(app: Application, _: SecurityScore) -> Reason | None:
    s, h = app.security, app.history
    if h.ransomware_last_5_years == 0:
        return None
    if not s.offline_backups and not s.backup_restore_tested:
        return Reason.RANSOMWARE_NO_RECOVERY
    if not s.backup_restore_tested:
        return Reason.RANSOMWARE_RESTORE_UNTESTED
    return Reason.RANSOMWARE_HISTORY


def _backups(app: Application, _: SecurityScore) -> Reason | None:
    if app.security.offline_backups or app.establishment.beds == 0:
        return None
    if app.establishment.beds >= LARGE_BEDS:
        return Reason.LARGE_HOSPITAL_NO_OFFLINE_BACKUP
    return Reason.NO_OFFLINE_BACKUP_BEDDED


def _score(_: Application, score: SecurityScore) -> Reason | None:
    if score.total < 25:
        return Reason.SCORE_TOO_LOW
    if score.total < 50:
        return Reason.SCORE_LOW
    return None


def _incidents(app: Application, _: SecurityScore) -> Reason | None:
    n = app.history.incidents_last_5_years
    if n >= 4:
        return Reason.TOO_MANY_INCIDENTS
    if n >= 2:
        return Reason.SEVERAL_INCIDENTS
    return None


def _mfa(app: Application, _: SecurityScore) -> Reason | None:
    if app.establishment.type in LARGE_KINDS and not app.security.mfa_remote_access:
        return Reason.NO_MFA_LARGE
    return None


def _devices(app: Application, _: SecurityScore) -> Reason | None:
    if app.establishment.type in DEVICE_KINDS and app.security.medical_devices_segmented is False:
        return Reason.DEVICES_NOT_SEGMENTED
    return None


def _known(app: Application, _: SecurityScore) -> Reason | None:
    return Reason.KNOWN_CIRCUMSTANCES if app.history.known_circumstances else None


def _patching(app: Application, _: SecurityScore) -> Reason | None:
    return Reason.PATCHING_SLOW if app.security.critical_patch_days > 90 else None


def _capacity(app: Application, _: SecurityScore) -> Reason | None:
    return Reason.LARGE_CAPACITY if app.cover.limit >= Decimal(10_000_000) else None


def _size(app: Application, _: SecurityScore) -> Reason | None:
    e = app.establishment
    if e.annual_revenue > Decimal(500_000_000) or e.beds > 2000:
        return Reason.VERY_LARGE_RISK
    return None


RULES: tuple[Rule, ...] = (
    _ransomware,
    _backups,
    _score,
    _incidents,
    _mfa,
    _devices,
    _known,
    _patching,
    _capacity,
    _size,
)
_SEVERITY = {Decision.ACCEPT: 0, Decision.REFER: 1, Decision.DECLINE: 2}


# --------------------------------------------------------------------------- product 2026.2


@dataclass(frozen=True)
class UnderwritingRules:
    """The product's `[underwriting]` settings; the defaults are the v1 rules (2026.1)."""

    mfa_remote_access_all_kinds: bool = False  # v1: referred for LARGE_KINDS only
    mfa_remote_access_decline_kinds: frozenset[str] = frozenset()
    records_check: bool = False
    records_per_keur: Mapping[str, float] = field(default_factory=dict)  # typical, by kind
    records_low_ratio: float = 0.25
    records_high_ratio: float = 10.0
    nis2_requires_response_plan: bool = False
    crisis_exercise_kinds: frozenset[str] = frozenset()
    kev_patch_days: int | None = None  # refer a KEV-listed appliance patched slower than this
    kev_vendors: frozenset[str] = frozenset()

    @property
    def is_v1(self) -> bool:
        return self == UnderwritingRules()


V1_RULES = UnderwritingRules()


def parse_underwriting(text: str, path: str = "product") -> UnderwritingRules:
    """The `[underwriting]` section of a product's text (v1 defaults when absent)."""
    table = tomllib.loads(text).get("underwriting")
    if table is None:
        return V1_RULES

    def fail(key: str, rule: str) -> ProductError:
        return ProductError(path, f"underwriting.{key}", rule)

    if not isinstance(table, dict):
        raise fail("(section)", "must be a table")
    known = {
        "mfa_remote_access_all_kinds",
        "mfa_remote_access_decline_kinds",
        "records_check",
        "records_per_keur",
        "records_low_ratio",
        "records_high_ratio",
        "nis2_requires_response_plan",
        "crisis_exercise_kinds",
        "kev_patch_days",
        "source",
    }
    for key in table:
        if key not in known:
            raise fail(key, f"is not a known field (known: {', '.join(sorted(known))})")

    def flag(key: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise fail(key, "must be true or false")
        return value

    def kinds(key: str) -> frozenset[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or any(v not in KINDS for v in value):
            raise fail(key, f"must be a list of kinds among {', '.join(KINDS)}")
        return frozenset(value)

    def number(key: str, default: float, low: float, high: float) -> float:
        value = table.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (low < value <= high)
        ):
            raise fail(key, f"must be a number > {low:g} and <= {high:g}")
        return float(value)

    ratios = table.get("records_per_keur", {})
    if not isinstance(ratios, dict):
        raise fail("records_per_keur", "must be a table of kind = records per 1 000 EUR")
    per_keur = {}
    for kind, value in ratios.items():
        if kind not in KINDS:
            raise fail(f"records_per_keur.{kind}", f"must be a kind among {', '.join(KINDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise fail(f"records_per_keur.{kind}", "must be a number > 0")
        per_keur[kind] = float(value)
    check = flag("records_check")
    if check and set(per_keur) != set(KINDS):
        raise fail("records_per_keur", "must give every kind when records_check is true")
    kev_days = table.get("kev_patch_days")
    if kev_days is not None and (
        isinstance(kev_days, bool) or not isinstance(kev_days, int) or not 0 <= kev_days <= 3650
    ):
        raise fail("kev_patch_days", "must be a whole number of days, 0..3650")
    low = number("records_low_ratio", 0.25, 0, 1)
    high = number("records_high_ratio", 10.0, 1, 1000)
    return UnderwritingRules(
        mfa_remote_access_all_kinds=flag("mfa_remote_access_all_kinds"),
        mfa_remote_access_decline_kinds=kinds("mfa_remote_access_decline_kinds"),
        records_check=check,
        records_per_keur=per_keur,
        records_low_ratio=low,
        records_high_ratio=high,
        nis2_requires_response_plan=flag("nis2_requires_response_plan"),
        crisis_exercise_kinds=kinds("crisis_exercise_kinds"),
        kev_patch_days=kev_days,
    )


@lru_cache(maxsize=16)
def _rules_of(text: str, path: str, systemic_text: str, systemic_file: str) -> UnderwritingRules:
    rules = parse_underwriting(text, path)
    if rules.kev_patch_days is None or not systemic_text:
        return rules
    from egide.domain.systemic_load import parse_systemic_params

    params = parse_systemic_params(systemic_text, systemic_file)
    kev = frozenset(params.dependencies["remote_access_vendor"].kev)
    return replace(rules, kev_vendors=kev)


def product_rules(product: Product) -> UnderwritingRules:
    """The product's underwriting rules (the KEV vendors from its systemic-events file)."""
    return _rules_of(
        product.source_text,
        product.ref,
        product.systemic_events_text,
        product.systemic_events_file,
    )


def _mfa_v2(app: Application, rules: UnderwritingRules) -> Reason | None:
    if app.security.mfa_remote_access or app.technology.remote_access_vendor == "none":
        return None
    if app.establishment.type in rules.mfa_remote_access_decline_kinds:
        return Reason.NO_MFA_REMOTE_ACCESS_DECLINED
    return (
        Reason.NO_MFA_LARGE
        if app.establishment.type in LARGE_KINDS
        else (Reason.NO_MFA_REMOTE_ACCESS)
    )


def _records(app: Application, rules: UnderwritingRules) -> Reason | None:
    e = app.establishment
    if e.patient_records == 0:
        return Reason.RECORDS_ZERO
    if e.beds and e.patient_records < e.beds:
        return Reason.RECORDS_BELOW_BEDS
    typical = rules.records_per_keur[e.type] * float(e.annual_revenue) / 1000.0
    if e.patient_records < rules.records_low_ratio * typical:
        return Reason.RECORDS_LOW
    if e.patient_records > rules.records_high_ratio * typical:
        return Reason.RECORDS_HIGH
    return None


def _v2_reasons(app: Application, rules: UnderwritingRules) -> list[Reason]:
    out: list[Reason | None] = []
    if rules.mfa_remote_access_all_kinds:
        out.append(_mfa_v2(app, rules))
    if rules.records_check:
        out.append(_records(app, rules))
    s, e = app.security, app.establishment
    if (
        rules.nis2_requires_response_plan
        and e.nis2_category in ("essential", "important")
        and not s.incident_response_plan
    ):
        out.append(Reason.NIS2_NO_RESPONSE_PLAN)
    if e.type in rules.crisis_exercise_kinds and s.crisis_exercise is False:
        out.append(Reason.NO_CRISIS_EXERCISE)
    if (
        rules.kev_patch_days is not None
        and app.technology.remote_access_vendor in rules.kev_vendors
        and s.critical_patch_days > rules.kev_patch_days
    ):
        out.append(Reason.KEV_APPLIANCE_SLOW_PATCHING)
    return [r for r in out if r is not None]


def underwrite(
    app: Application, score: SecurityScore, product: Product | None = None
) -> UnderwritingResult:
    """The decision and its reasons; `product` brings its `[underwriting]` rules (None, or a
    product without the section: the v1 rules)."""
    rules = product_rules(product) if product is not None else V1_RULES
    v1_rules: tuple[Rule, ...] = RULES
    if rules.mfa_remote_access_all_kinds:
        v1_rules = tuple(r for r in RULES if r is not _mfa)  # replaced by _mfa_v2
    reasons = [r for rule in v1_rules if (r := rule(app, score)) is not None]
    if not rules.is_v1:
        reasons += _v2_reasons(app, rules)
    if not reasons:
        return UnderwritingResult(Decision.ACCEPT, (Reason.ALL_RULES_PASSED,))
    decision = max((r.outcome for r in reasons), key=_SEVERITY.__getitem__)
    reasons.sort(key=lambda r: -_SEVERITY[r.outcome])
    return UnderwritingResult(decision, tuple(reasons))
