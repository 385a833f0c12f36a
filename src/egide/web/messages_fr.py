"""The one catalogue of French messages of the web application, keyed by stable codes.

The domain reports a broken rule as `FieldError(field, rule, message)` with an English message
for the CLI and the API; the web shows, beside the field, the French sentence of the rule's code
(`RULES`), completed by what the rule needs to say (the allowed values, the bounds) from
`field_message`. Templates never hold message strings: a page asks this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from egide.domain.errors import FieldError

# The labels of the questionnaire's fields, as the form shows them.
FIELD_LABELS: dict[str, str] = {
    "establishment.name": "Nom de l'établissement",
    "establishment.type": "Type d'établissement",
    "establishment.siret": "Numéro SIRET",
    "establishment.finess": "Numéro FINESS",
    "establishment.annual_revenue": "Chiffre d'affaires ou budget annuel (€)",
    "establishment.employees": "Nombre de salariés",
    "establishment.beds": "Nombre de lits",
    "establishment.patient_records": "Nombre de dossiers patients détenus",
    "establishment.postcode": "Code postal",
    "establishment.city": "Commune",
    "establishment.nis2_category": "Catégorie NIS2",
    "security.mfa_remote_access": "Double authentification sur les accès à distance",
    "security.mfa_email": "Double authentification sur la messagerie",
    "security.edr": "Logiciel de détection et réponse (EDR) sur les postes et serveurs",
    "security.offline_backups": "Sauvegardes hors ligne ou immuables",
    "security.backup_restore_tested": "Restauration testée depuis moins de 12 mois",
    "security.hds_hosting": "Données de santé chez un hébergeur certifié HDS",
    "security.critical_patch_days": "Délai d'application des correctifs critiques (jours)",
    "security.medical_devices_segmented": "Appareils médicaux connectés isolés du réseau",
    "security.phishing_training": "Sensibilisation du personnel à l'hameçonnage",
    "security.incident_response_plan": "Plan de réponse à incident écrit",
    "security.security_budget_share": "Part du budget informatique consacrée à la sécurité (%)",
    "security.crisis_exercise": "Exercice de crise cyber dans l'année",
    "history.incidents_last_5_years": "Incidents cyber ces 5 dernières années",
    "history.ransomware_last_5_years": "Dont attaques par rançongiciel",
    "history.known_circumstances": "Faits connus pouvant donner lieu à un sinistre",
    "cover.limit": "Plafond annuel de garantie",
    "cover.deductible": "Franchise par sinistre",
    "email": "Adresse électronique",
    "note": "Note du souscripteur",
    "amount": "Montant à régler (€)",
    "incident.type": "Nature de l'incident",
    "incident.started_at": "Début de l'incident",
    "incident.discovered_at": "Découverte de l'incident",
    "incident.complaint_filed_at": "Dépôt de plainte",
    "incident.attack": "S'agit-il d'une attaque informatique ?",
    "incident.description": "Ce qui s'est passé",
    "data_breach.patients_affected": "Nombre de patients concernés",
    "data_breach.categories": "Données touchées",
    "notifications.cnil_at": "Notification à la CNIL",
    "decision": "Décision",
    "kind": "Type d'organisation",
    "name": "Nom",
    "siren": "SIREN",
    "siret": "SIRET",
    "orias": "Numéro ORIAS",
    "broker": "Courtier",
    "role": "Rôles",
    "scope": "Périmètres",
    "organisation_id": "Organisation",
    "general": "Action",
    "url": "Adresse du webhook",
    "events": "Événements",
    "start": "Date d'effet",
    "received": "Documents reçus",
    "password": "Mot de passe",
}

# One sentence per rule code (`FieldError.rule`), in French.
RULES: dict[str, str] = {
    "required": "Ce champ est obligatoire.",
    "type": "Cette valeur n'a pas le format attendu.",
    "number": "Saisissez un nombre (par exemple 450000 ou 0,06).",
    "integer": "Saisissez un nombre entier.",
    "range": "Cette valeur est hors des limites admises.",
    "choice": "Choisissez une des valeurs proposées.",
    "siret": "Ce numéro SIRET n'est pas valide : 14 chiffres dont une clé de contrôle.",
    "finess": "Ce numéro FINESS n'est pas valide : 9 caractères dont une clé de contrôle.",
    "postcode": "Ce code postal n'est pas valide : 5 chiffres.",
    "product_option": "Ce montant n'est pas proposé pour ce type d'établissement.",
    "consistency": "Cette réponse contredit une autre réponse du questionnaire.",
    "unknown_key": "Ce champ n'est pas attendu.",
    "max_length": "Ce texte est trop long.",
    "control_character": "Ce texte contient un caractère invisible ou de contrôle.",
    "format": "Cette valeur n'a pas le format attendu.",
    "email": "Cette adresse électronique n'est pas valide.",
    "year_range": "Cette date est hors des années admises.",
    "csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
    "credentials": "Adresse électronique ou mot de passe incorrect.",
    "rate_limited": "Trop de tentatives. Réessayez dans une minute.",
    "not_allowed": "Votre rôle ne permet pas cette action.",
    "received": "Cochez la case pour confirmer que vous avez reçu et lu les deux documents.",
    "stale_document": (
        "Un document a changé depuis l'affichage de la page : lisez la nouvelle version, puis "
        "confirmez."
    ),
    "date": "Indiquez une date (jj/mm/aaaa).",
    "not_in_past": "La date d'effet ne peut pas être passée.",
    "too_far": "La date d'effet doit être dans les 90 jours.",
    "totp": "Ce code n'est pas le code actuel de votre application d'authentification.",
    "min_length": "Ce mot de passe est trop court : 12 caractères au moins.",
    "enum": "Choisissez une des valeurs proposées.",
    "kind": "Ce choix ne convient pas à ce type d'organisation.",
    "siren": "Ce numéro SIREN n'est pas valide : 9 chiffres dont une clé de contrôle.",
    "orias": "Ce numéro ORIAS n'est pas valide : 8 chiffres.",
    "state": "Ce devis a changé entre-temps : rechargez la page.",
    "claim_state": "Ce sinistre a changé entre-temps ou est clos : rechargez la page.",
    "at_most_payable": "Ce montant dépasse ce qui est payable aujourd'hui.",
    "positive": "Le montant doit être positif.",
    "after_start": "Cette date ne peut pas précéder le début de l'incident.",
    "after_discovery": "Cette date ne peut pas précéder la découverte de l'incident.",
    "datetime": "Indiquez une date et une heure.",
    "in_future": "Cette date est dans le futur.",
}

_BOUND = re.compile(r"(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)")
_FROM_TO = re.compile(r"from (-?\d+(?:\.\d+)?) to (-?\d+(?:\.\d+)?)")
_COMPARISON = {
    ">=": "supérieure ou égale à",
    "<=": "inférieure ou égale à",
    ">": "strictement supérieure à",
    "<": "strictement inférieure à",
}


def _fr_number(text: str) -> str:
    """``5000000000`` as people read it: ``5 000 000 000`` (``0.5``: ``0,5``)."""
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    grouped = " ".join(digits[max(i - 3, 0) : i] for i in range(len(digits), 0, -3)[::-1])
    return sign + grouped + ("," + frac if frac else "")


_COST_FIELD = re.compile(r"costs\[(\d+)\]\.(\w+)")
_COST_LABELS = {"category": "nature", "amount": "montant", "supplier": "prestataire"}


def label(field: str) -> str:
    """The French label of a field (its dotted path when none is known)."""
    if m := _COST_FIELD.fullmatch(field):
        return f"Frais n° {int(m.group(1)) + 1} : {_COST_LABELS.get(m.group(2), m.group(2))}"
    return FIELD_LABELS.get(field, field)


def field_message(error: FieldError) -> str:
    """The French message shown beside `error.field`: the rule's sentence, and the bounds when
    the rule is a range the English message states (``0..3650``)."""
    if error.field == "email" and error.rule == "format":
        return RULES["email"]
    identifier = error.field.rsplit(".", 1)[-1]
    if error.rule == "format" and identifier in ("siren", "siret", "orias", "finess"):
        return RULES[identifier]
    text = RULES.get(error.rule, "Cette valeur n'est pas acceptée.")
    if error.rule != "range":
        return text
    if error.field == "security.security_budget_share":  # the form asks for a percentage
        return "Indiquez un pourcentage entre 0 et 100."
    if m := _FROM_TO.search(error.message):
        low, high = (_fr_number(v) for v in m.groups())
        return f"Cette valeur doit être comprise entre {low} et {high}."
    if m := _BOUND.search(error.message):
        return f"Cette valeur doit être {_COMPARISON[m.group(1)]} {_fr_number(m.group(2))}."
    return text


CONFLICTS: dict[str, str] = {
    "siret_taken": "Une organisation détient déjà ce SIRET.",
    "email_taken": "Un compte existe déjà pour cette adresse.",
    "handover_missing": (
        "Le document d'information (IPID) et la fiche de devoir de conseil doivent vous avoir été "
        "remis avant la souscription."
    ),
    "broker_of_record_conflict": (
        "Un autre courtier est l'intermédiaire de cet établissement : il a un devis ouvert ou un "
        "contrat en vigueur depuis moins de 60 jours. Un administrateur peut transférer le "
        "mandat avec une note."
    ),
}


def conflict_message(error: Exception) -> str:
    """The French sentence of a conflict or a missing object: by its code when it has one."""
    code = getattr(error, "code", None)
    if isinstance(code, str) and code in CONFLICTS:
        return CONFLICTS[code]
    if type(error).__name__ == "NotFound":
        return "Cet élément n'existe pas."
    return "Cette action n'est pas possible dans l'état actuel : rechargez la page."


def by_field(errors: Iterable[FieldError]) -> dict[str, list[str]]:
    """French messages grouped by field, in the order the rules were broken, without repeats."""
    grouped: dict[str, list[str]] = {}
    for e in errors:
        msgs = grouped.setdefault(e.field, [])
        if (m := field_message(e)) not in msgs:
            msgs.append(m)
    return grouped


def summary(errors: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(field, "Label : message") for the summary at the top of a form."""
    return [(f, f"{label(f)} : {m}") for f, msgs in errors.items() for m in msgs]
