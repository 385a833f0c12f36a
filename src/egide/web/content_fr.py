"""The French texts of the public pages that are not messages: what each coverage is for, in
plain words, and the product sheet's worked case. Labels and amounts come from the product file
and the example claim; only the explanations are written here."""

from __future__ import annotations

COVERAGE_EXPLAINED: dict[str, str] = {
    "business_interruption": (
        "Votre informatique est à l'arrêt après une attaque : la garantie verse la marge perdue "
        "et les frais engagés pour continuer à soigner (locations, heures supplémentaires), "
        "après le délai de carence et pendant la période d'indemnisation."
    ),
    "cyber_extortion": (
        "Un pirate chiffre vos fichiers ou menace de publier vos données : la garantie prend en "
        "charge les spécialistes qui gèrent la crise et, dans les limites de la loi, les frais "
        "d'extorsion."
    ),
    "regulatory_investigation": (
        "La CNIL ou l'ARS ouvre une enquête après une fuite de données : la garantie paie votre "
        "défense et, lorsque la loi le permet, les sanctions assurables."
    ),
    "data_liability": (
        "Des patients vous réclament réparation parce que leurs données ont fuité : la garantie "
        "paie votre avocat et les dommages et intérêts, préjudice moral compris."
    ),
    "data_restoration": (
        "Vos dossiers patients et logiciels sont détruits ou chiffrés : la garantie paie les "
        "experts qui les restaurent depuis les sauvegardes ou les reconstituent."
    ),
    "crisis_management": (
        "La confiance de vos patients est en jeu : la garantie paie les experts informatiques, "
        "l'agence de communication de crise et l'information des personnes concernées."
    ),
}

RISKS: tuple[tuple[str, str], ...] = (
    (
        "Le vol de données",
        "Un dossier médical se revend plus cher qu'une carte bancaire : les établissements de "
        "santé sont la cible préférée des cybercriminels.",
    ),
    (
        "Le rançongiciel qui paralyse les soins",
        "Dossiers patients, rendez-vous, prescriptions, imagerie : tout s'arrête, et les patients "
        "doivent être réorientés.",
    ),
    (
        "Les appareils connectés mal protégés",
        "IRM, scanners, automates de laboratoire tournent souvent sur des systèmes anciens, "
        "difficiles à mettre à jour.",
    ),
    (
        "Un budget de sécurité trop faible",
        "En moyenne, environ 6 % seulement des budgets informatiques du secteur vont à la "
        "sécurité.",
    ),
)

# The product sheet's case: examples/claims/fuite-donnees-cabinet.yaml under the demo policy
# (docs/claims.md). The amounts are the example's costs; a test checks they add up to what the
# claim settlement pays.
WORKED_CASE_COSTS: tuple[tuple[str, int], ...] = (
    ("Experts informatiques (investigation numérique)", 8400),
    ("Agence de communication de crise", 2170),
    ("Défense du cabinet face à la réclamation d'un patient", 4500),
    ("Dommages et intérêts pour préjudice moral", 10500),
)
WORKED_CASE_DEDUCTIBLE = 1000

# What to do for each legal deadline of an incident (`egide.domain.incident_clock.RULES`).
DEADLINE_TODO: dict[str, str] = {
    "cnil_notification": (
        "Notifiez la violation sur le site de la CNIL (téléservice « Notifier une violation de "
        "données personnelles ») ; complétez plus tard ce que vous ignorez encore."
    ),
    "patient_notification": (
        "Informez les patients concernés en termes clairs : ce qui s'est passé, les données "
        "touchées, les conséquences probables et ce que vous faites."
    ),
    "ars_declaration": (
        "Signalez l'incident sur le portail de signalement des événements sanitaires "
        "indésirables ; le CERT Santé vous accompagne."
    ),
    "complaint": (
        "Déposez plainte au commissariat, à la gendarmerie ou auprès du procureur : sans plainte "
        "dans les 72 heures, l'assurance ne peut pas indemniser les pertes de l'attaque."
    ),
    "insurer_notice": "Déclarez le sinistre à votre assureur ou à votre courtier.",
}

DEADLINE_STATUS: dict[str, str] = {
    "done": "Fait",
    "done_late": "Fait en retard",
    "due": "À faire",
    "due_now": "À faire sans délai",
    "overdue": "En retard",
}
