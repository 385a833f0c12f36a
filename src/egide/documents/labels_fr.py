"""The one catalogue of French texts printed for a code: underwriting decisions and reasons,
claim adjudication reasons.

The domain keeps stable codes (and its own messages, whatever their language); what an
establishment reads in a PDF is chosen here, at the documents edge, keyed by the code. A code
missing from the catalogue is an error (`UnknownCode`), never a silent fall-back to the domain's
message or to the code itself: ``tests/test_documents_labels.py`` walks every code the domain can
produce and fails on the first one without a French text.

Codes are looked up as strings, as they arrive in the views (`ReasonView.code`):

- underwriting reasons by their name, ``"ALL_RULES_PASSED"`` (`egide.domain.underwriting.Reason`);
- underwriting decisions by their value, ``"accept"`` (`egide.domain.underwriting.Decision`);
- claim reasons by their value, ``"covered"`` (`egide.domain.claims.Reason`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from egide.documents.views import DocumentDataError, UnderwritingOutcome

NBSP = "\u00a0"  # before « : », « ; » and a unit
NNBSP = "\u202f"  # between thousands


class UnknownCode(DocumentDataError):
    """A code with no French text in the catalogue `catalogue`."""

    def __init__(self, field: str, catalogue: str, code: str) -> None:
        self.catalogue = catalogue
        self.code = code
        super().__init__(field, "french_label", f"no French text for {catalogue} code {code!r}")


def _fr(texts: Mapping[str, str]) -> Mapping[str, str]:
    """French typography: a no-break space before « : » and « ; »; read-only."""
    return MappingProxyType(
        {
            code: text.replace(" :", f"{NBSP}:").replace(" ;", f"{NBSP};")
            for code, text in texts.items()
        }
    )


# --------------------------------------------------------------------------- underwriting

OUTCOME_LABELS: Mapping[UnderwritingOutcome, str] = MappingProxyType(
    {
        UnderwritingOutcome.ACCEPTED: "Acceptée",
        UnderwritingOutcome.REFERRED: "À examiner par un souscripteur",
        UnderwritingOutcome.DECLINED: "Refusée",
    }
)

# The domain's decision codes and the outcome a document prints for each.
DECISION_OUTCOMES: Mapping[str, UnderwritingOutcome] = MappingProxyType(
    {
        "accept": UnderwritingOutcome.ACCEPTED,
        "refer": UnderwritingOutcome.REFERRED,
        "decline": UnderwritingOutcome.DECLINED,
    }
)

UNDERWRITING_REASONS: Mapping[str, str] = _fr(
    {
        "ALL_RULES_PASSED": "Toutes les règles de souscription sont satisfaites.",
        "RANSOMWARE_NO_RECOVERY": (
            "Rançongiciel au cours des 5 dernières années sans sauvegarde hors ligne ni "
            "restauration testée."
        ),
        "LARGE_HOSPITAL_NO_OFFLINE_BACKUP": (
            "Établissement de plus de 300 lits sans sauvegardes hors ligne ou immuables."
        ),
        "SCORE_TOO_LOW": "Score de sécurité inférieur à 25/100.",
        "TOO_MANY_INCIDENTS": "Quatre incidents ou plus au cours des 5 dernières années.",
        "RANSOMWARE_HISTORY": (
            "Rançongiciel au cours des 5 dernières années : vérifier les mesures prises depuis "
            "(rapport d'incident, plan de remédiation)."
        ),
        "RANSOMWARE_RESTORE_UNTESTED": (
            "Rançongiciel au cours des 5 dernières années et restauration non testée : exiger un "
            "test de restauration avant la prise d'effet."
        ),
        "NO_OFFLINE_BACKUP_BEDDED": (
            "Établissement avec lits sans sauvegardes hors ligne : vérifier le plan de sauvegarde."
        ),
        "SCORE_LOW": (
            "Score de sécurité inférieur à 50/100 : vérifier les mesures de sécurité déclarées."
        ),
        "NO_MFA_LARGE": (
            "Pas d'authentification multifacteur sur les accès distants pour un établissement de "
            "cette taille : vérifier les accès distants (VPN, prestataires)."
        ),
        "DEVICES_NOT_SEGMENTED": (
            "Dispositifs médicaux connectés non isolés : vérifier la segmentation réseau de "
            "l'imagerie et du biomédical."
        ),
        "KNOWN_CIRCUMSTANCES": (
            "Faits connus pouvant donner lieu à un sinistre : les décrire, ils seront exclus."
        ),
        "SEVERAL_INCIDENTS": (
            "Deux ou trois incidents au cours des 5 dernières années : obtenir leur description."
        ),
        "PATCHING_SLOW": (
            "Correctifs critiques appliqués en plus de 90 jours : vérifier la gestion des "
            "vulnérabilités."
        ),
        "LARGE_CAPACITY": f"Plafond de 10{NBSP}M€ ou plus : accord de la réassurance nécessaire.",
        "VERY_LARGE_RISK": (
            f"Très grand établissement (chiffre d'affaires supérieur à 500{NBSP}M€ ou plus de "
            f"2{NNBSP}000 lits) : tarification à valider par un souscripteur."
        ),
        # product 2026.2 (egide.domain.underwriting, [underwriting] of cyber-sante-v2.toml)
        "NO_MFA_REMOTE_ACCESS": (
            "Pas d'authentification multifacteur sur les accès distants : condition du marché, "
            "vérifier les accès distants (VPN, bureau à distance, prestataires) et l'exiger avant "
            "la prise d'effet."
        ),
        "NO_MFA_REMOTE_ACCESS_DECLINED": (
            "Pas d'authentification multifacteur sur les accès distants pour ce type "
            "d'établissement : risque non assurable en l'état."
        ),
        "RECORDS_ZERO": (
            "Aucun dossier patient déclaré pour un établissement qui en détient : vérifier le "
            "nombre de patients dont les données sont conservées (file active)."
        ),
        "RECORDS_LOW": (
            "Nombre de dossiers patients faible au regard du chiffre d'affaires pour ce type "
            "d'établissement : vérifier le nombre de patients dont les données sont conservées."
        ),
        "RECORDS_HIGH": (
            "Nombre de dossiers patients élevé au regard du chiffre d'affaires pour ce type "
            "d'établissement : vérifier le nombre de dossiers et le chiffre d'affaires déclarés."
        ),
        "RECORDS_BELOW_BEDS": (
            "Moins de dossiers patients que de lits : vérifier le nombre de lits et le nombre de "
            "dossiers déclarés."
        ),
        "NIS2_NO_RESPONSE_PLAN": (
            "Entité essentielle ou importante au sens de la directive NIS2 sans plan de réponse "
            "aux incidents : vérifier la mise en conformité (gestion des risques, notification "
            "des incidents)."
        ),
        "NO_CRISIS_EXERCISE": (
            "Pas d'exercice de crise annuel (instruction DNS/2025/12) : demander la date de "
            "l'exercice prévu et le plan de continuité."
        ),
        "KEV_APPLIANCE_SLOW_PATCHING": (
            "Équipement d'accès distant d'un éditeur dont des failles sont au catalogue des "
            "vulnérabilités exploitées de la CISA, correctifs critiques appliqués en plus de "
            "30 jours : vérifier la version et les correctifs de l'équipement."
        ),
    }
)

# --------------------------------------------------------------------------- claims

_L12 = "art. L12-10-1 du Code des assurances"

CLAIM_REASONS: Mapping[str, str] = _fr(
    {
        "covered": "Garanti : la dépense entre dans la garantie indiquée.",
        "policy_not_in_force": (
            "Le contrat n'était pas en vigueur à la date de découverte de l'incident."
        ),
        "discovered_outside_period": (
            "Incident découvert hors de la période d'assurance (garantie déclenchée par la "
            "réclamation, art. L124-5 du Code des assurances)."
        ),
        "before_retroactive_date": "Incident survenu avant la date de reprise du passé du contrat.",
        "excluded_war": "Exclusion : guerre, y compris les cyberattaques commanditées par un État.",
        "excluded_infrastructure_failure": (
            "Exclusion : défaillance des infrastructures d'électricité ou de télécommunications."
        ),
        "excluded_prior_knowledge": "Exclusion : faits connus de l'assuré avant la date d'effet.",
        "excluded_intentional_act": (
            "Exclusion : faute intentionnelle ou dolosive de l'assuré "
            "(art. L113-1 du Code des assurances)."
        ),
        "excluded_bodily_injury": "Exclusion : dommages corporels et responsabilité médicale.",
        "excluded_betterment": (
            "Exclusion : amélioration des systèmes au-delà de leur état antérieur à l'incident."
        ),
        "complaint_filed": (
            f"Plainte déposée dans les 72 heures suivant la connaissance de l'atteinte ({_L12})."
        ),
        "complaint_awaited": (
            f"Plainte attendue : le délai de 72 heures de l'{_L12} court encore ; aucun règlement "
            "avant le dépôt de la plainte."
        ),
        "complaint_missing": (
            "Aucune plainte déposée dans les 72 heures suivant la connaissance de l'atteinte : "
            "les pertes causées par l'atteinte au système d'information ne sont pas "
            f"indemnisables ({_L12})."
        ),
        "complaint_late": (
            "Plainte déposée plus de 72 heures après la connaissance de l'atteinte : les pertes "
            f"causées par l'atteinte ne sont pas indemnisables ({_L12})."
        ),
        "ransom_not_covered": "La rançon elle-même n'est pas couverte par ce contrat.",
        "fine_not_insurable": "Amende administrative non assurable selon les conditions du contrat.",
        "coverage_not_bought": "Garantie non souscrite au contrat.",
        "bi_waiting_period": (
            "Franchise temporelle : les premières heures d'interruption restent à la charge de "
            "l'assuré."
        ),
        "bi_below_trigger": (
            "Interruption plus courte que le délai de carence : la garantie n'est pas déclenchée."
        ),
        "bi_indemnity_period": "Au-delà de la période d'indemnisation : non indemnisé.",
        "sub_deductible": "Franchise propre à la garantie appliquée.",
        "deductible": (
            "Franchise du contrat, appliquée une fois par sinistre, garantie par garantie dans "
            "l'ordre du contrat, puis frais par frais dans l'ordre de leur déclaration."
        ),
        "sub_limit": "Sous-limite de la garantie atteinte (par sinistre).",
        "aggregate_limit": (
            "Plafond annuel du contrat atteint (tous sinistres de l'année d'assurance)."
        ),
        "estimated": "Montant estimé (réserve) : réglé sur justificatif.",
    }
)

CATALOGUES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"underwriting reason": UNDERWRITING_REASONS, "claim reason": CLAIM_REASONS}
)


# --------------------------------------------------------------------------- look-ups


def _lookup(catalogue: str, code: str, field: str) -> str:
    try:
        return CATALOGUES[catalogue][code]
    except KeyError:
        raise UnknownCode(field, catalogue, code) from None


def underwriting_reason(code: str, field: str = "reason.code") -> str:
    """The French text of an underwriting reason code (``"SCORE_LOW"``)."""
    return _lookup("underwriting reason", code, field)


def claim_reason(code: str, field: str = "reason.code") -> str:
    """The French text of a claim adjudication reason code (``"sub_limit"``)."""
    return _lookup("claim reason", code, field)


def outcome_label(outcome: UnderwritingOutcome) -> str:
    """« Acceptée », « À examiner par un souscripteur », « Refusée »."""
    return OUTCOME_LABELS[outcome]


def decision_outcome(code: str, field: str = "decision") -> UnderwritingOutcome:
    """The document's outcome for a domain decision code (``"refer"``)."""
    try:
        return DECISION_OUTCOMES[code]
    except KeyError:
        raise UnknownCode(field, "underwriting decision", code) from None
