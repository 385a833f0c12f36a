"""The questionnaire as an HTML form: its questions, and the posted form read back into the
application data that `egide.domain.application.parse_application` validates.

The form only converts what a browser sends (text) into the application's plain types (numbers
written the French way, yes/no answers, a percentage for the security budget); every rule of the
questionnaire stays in the domain, so the web refuses exactly what the CLI and the API refuse.
A value the form cannot even convert (``12 abc`` as a number) is reported here, on its field,
and the domain's own report for that field is then left out (one message per problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from egide.domain.application import KIND_LABELS_FR, REQUIRED_SECURITY_CONTROLS
from egide.domain.errors import FieldError

YES, NO, NONE = "oui", "non", "aucun"


@dataclass(frozen=True)
class Question:
    """One field of the form: its dotted path, its kind of input, and why it matters."""

    path: str
    kind: str  # text | number | integer | percent | yesno | yesno_none | yesno_unknown | choice
    required: bool = True
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return self.path.replace(".", "-")


NIS2_CHOICES = (
    ("", "Je ne sais pas"),
    ("not_subject", "Non concerné (moins de 50 salariés)"),
    ("important", "Entité importante"),
    ("essential", "Entité essentielle"),
)

# The questionnaire in short steps, as `/tarif` shows it.
STEPS: tuple[tuple[str, tuple[Question, ...]], ...] = (
    (
        "Votre établissement",
        (
            Question("establishment.name", "text"),
            Question(
                "establishment.type",
                "choice",
                choices=tuple(KIND_LABELS_FR.items()),
                help="Le risque et les garanties proposées dépendent du type d'établissement.",
            ),
            Question(
                "establishment.siret",
                "text",
                help="14 chiffres, sur l'avis de situation Insee ou un extrait Kbis.",
            ),
            Question(
                "establishment.finess",
                "text",
                required=False,
                help="Obligatoire sauf pour un cabinet médical ou un centre d'imagerie.",
            ),
            Question("establishment.postcode", "text", required=False),
            Question("establishment.city", "text", required=False),
        ),
    ),
    (
        "Sa taille",
        (
            Question(
                "establishment.annual_revenue",
                "number",
                help="Il mesure la perte d'exploitation qu'un arrêt informatique causerait.",
            ),
            Question("establishment.employees", "integer"),
            Question(
                "establishment.beds",
                "integer",
                required=False,
                help="Au moins un lit pour une clinique, un hôpital ou un EHPAD.",
            ),
            Question(
                "establishment.patient_records",
                "integer",
                help="Le coût d'une fuite de données croît avec le nombre de patients concernés.",
            ),
            Question("establishment.nis2_category", "choice", False, choices=NIS2_CHOICES),
        ),
    ),
    (
        "Sa sécurité informatique",
        (
            Question(
                "security.mfa_remote_access",
                "yesno",
                help="La plupart des rançongiciels entrent par un accès à distance mal protégé.",
            ),
            Question(
                "security.mfa_email",
                "yesno",
                help="Un mot de passe volé ne suffit plus pour lire la messagerie.",
            ),
            Question(
                "security.edr",
                "yesno",
                help="Il détecte et bloque une attaque en cours sur les postes et serveurs.",
            ),
            Question(
                "security.offline_backups",
                "yesno",
                help="Une sauvegarde hors d'atteinte du rançongiciel permet de repartir sans rançon.",
            ),
            Question(
                "security.backup_restore_tested",
                "yesno",
                help="Une sauvegarde jamais restaurée est souvent inutilisable le jour venu.",
            ),
            Question(
                "security.hds_hosting",
                "yesno",
                help="Un hébergeur certifié HDS protège et surveille les données de santé.",
            ),
            Question(
                "security.critical_patch_days",
                "integer",
                help="Les failles connues sont exploitées dans les jours qui suivent leur annonce.",
            ),
            Question(
                "security.medical_devices_segmented",
                "yesno_none",
                help="IRM, scanners et automates sont rarement à jour : isolés, ils ne propagent pas une attaque.",
            ),
            Question(
                "security.phishing_training",
                "yesno",
                help="L'hameçonnage est la première porte d'entrée des attaques.",
            ),
            Question(
                "security.incident_response_plan",
                "yesno",
                help="Savoir qui appeler et quoi couper réduit la durée de l'arrêt.",
            ),
            Question(
                "security.security_budget_share",
                "percent",
                help="Le secteur y consacre en moyenne environ 6 % de son budget informatique.",
            ),
            Question(
                "security.crisis_exercise",
                "yesno_unknown",
                required=False,
                help="Un exercice de crise annuel raccourcit la reprise après une attaque.",
            ),
        ),
    ),
    (
        "Ses antécédents",
        (
            Question("history.incidents_last_5_years", "integer"),
            Question("history.ransomware_last_5_years", "integer"),
            Question(
                "history.known_circumstances",
                "yesno",
                help="Un fait déjà connu qui pourrait conduire à un sinistre n'est pas assurable.",
            ),
        ),
    ),
)

QUESTIONS: dict[str, Question] = {q.path: q for _, qs in STEPS for q in qs}
COVER_FIELDS = ("cover.limit", "cover.deductible")
assert set(REQUIRED_SECURITY_CONTROLS) <= {p.split(".", 1)[1] for p in QUESTIONS}


def french_number(text: str) -> Decimal | None:
    """A number written the French way: ``450 000``, ``0,06``, ``1 000,50``."""
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _set(data: dict[str, Any], path: str, value: object) -> None:
    section, key = path.split(".", 1)
    data.setdefault(section, {})[key] = value


def read_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """The application data of a posted form, and the values the form could not convert."""
    data: dict[str, Any] = {"establishment": {}, "security": {}, "history": {}, "cover": {}}
    errors: list[FieldError] = []
    for path in (*QUESTIONS, *COVER_FIELDS):
        q = QUESTIONS.get(path) or Question(path, "integer")
        raw = (form.get(path) or "").strip()
        if raw == "":
            if q.kind == "yesno_none" and form.get(path) is not None:
                continue  # cannot happen: the choice "aucun" is not empty
            if q.kind == "integer" and not q.required and path == "establishment.beds":
                _set(data, path, 0)
            continue  # absent: the domain says whether it was required
        if q.kind in ("text", "choice"):
            _set(data, path, raw)
        elif q.kind in ("yesno", "yesno_none", "yesno_unknown"):
            allowed = {YES: True, NO: False}
            if q.kind == "yesno_none":
                allowed[NONE] = None  # type: ignore[assignment]
            if q.kind == "yesno_unknown":
                allowed[""] = None  # type: ignore[assignment]
            if raw not in allowed:
                errors.append(FieldError(path, "choice", "must be oui or non"))
            else:
                _set(data, path, allowed[raw])
        else:
            number = french_number(raw)
            if number is None:
                errors.append(FieldError(path, "number", "is not a number"))
            elif q.kind == "integer" and number != number.to_integral_value():
                errors.append(FieldError(path, "integer", "must be a whole number"))
            elif q.kind == "integer":
                _set(data, path, int(number))
            elif q.kind == "percent":
                _set(data, path, str(number / 100))
            else:
                _set(data, path, str(number))
    return data, errors


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's values for application data (to show a priced application again)."""
    values: dict[str, str] = {}
    for path in (*QUESTIONS, *COVER_FIELDS):
        section, key = path.split(".", 1)
        if key not in (data.get(section) or {}):
            continue
        value = data[section][key]
        q = QUESTIONS.get(path)
        if isinstance(value, bool):
            values[path] = YES if value else NO
        elif value is None:
            values[path] = NONE if q and q.kind == "yesno_none" else ""
        elif q and q.kind == "percent":
            values[path] = f"{Decimal(str(value)) * 100:f}".rstrip("0").rstrip(".")
        else:
            values[path] = str(value)
    return values
