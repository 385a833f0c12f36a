"""Underwriting rules: accept, refer to an underwriter (saying what to check), or decline.

Plain code, one rule a line in `RULES`, each returning a reason code or nothing. The decision is the
worst outcome among the reasons. Reason messages are in French: the broker and the establishment
read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum

from egide.domain.application import Application
from egide.domain.scoring import SecurityScore


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


def underwrite(app: Application, score: SecurityScore) -> UnderwritingResult:
    reasons = [r for rule in RULES if (r := rule(app, score)) is not None]
    if not reasons:
        return UnderwritingResult(Decision.ACCEPT, (Reason.ALL_RULES_PASSED,))
    decision = max((r.outcome for r in reasons), key=_SEVERITY.__getitem__)
    reasons.sort(key=lambda r: -_SEVERITY[r.outcome])
    return UnderwritingResult(decision, tuple(reasons))
