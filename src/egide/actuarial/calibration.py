"""The calibration table of a risk model v2 product: the model's national figures per kind of
establishment beside the public anchors they are held against (docs/calibration.md).

For each kind, a documented reference establishment (size, typical answers, the cover it buys) is
priced by the rating engine; its yearly frequency of a claim above the deductible, its expected
loss and premium, times the number of such establishments in France, give the national counts
the model implies. Nothing here is fitted: the figures let a reader compare the model with the
CERT Santé / ANSSI counts, the Cour des comptes' cost of an attack, the size of the French cyber
market and the prices of health professionals' cover.

Pure Python (the rating engine's closed forms, `egide.domain.lognormal`): the command that
prints it imports no numerical stack.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from egide.domain import lognormal
from egide.domain.application import parse_application
from egide.domain.errors import ProductError
from egide.domain.product import KINDS, Product
from egide.domain.rating import (
    bi_hourly_loss,
    incident_components,
    incident_profile,
    policy_terms,
    price,
)

LARGE_CLAIM = 1_000_000.0  # EUR: the threshold of `claims_over_1m_per_year`


@dataclass(frozen=True)
class Reference:
    """A kind's reference establishment and how many there are in France."""

    kind: str
    establishments_in_france: int
    count_source: str
    description: str
    annual_revenue: int
    employees: int
    beds: int
    patient_records: int
    limit: int
    deductible: int
    security: dict[str, Any]


# Typical answers of a French establishment of the kind (assumption, stated in
# docs/calibration.md): remote MFA mostly in place, EDR and tested restores rarer in small
# structures, hospitals behind on patching (Cour des comptes 2024: 20 % of workstations out of
# maintenance) and on security budget (1.7 % of their budget on IT).
_SMALL = {
    "mfa_remote_access": True,
    "mfa_email": False,
    "edr": False,
    "offline_backups": True,
    "backup_restore_tested": False,
    "hds_hosting": True,
    "critical_patch_days": 30,
    "medical_devices_segmented": None,
    "phishing_training": False,
    "incident_response_plan": False,
    "security_budget_share": 0.03,
}
_CARE = {
    **_SMALL,
    "edr": True,
    "medical_devices_segmented": False,
    "incident_response_plan": True,
    "critical_patch_days": 45,
    "security_budget_share": 0.02,
}

REFERENCES: dict[str, Reference] = {
    "cabinet_medical": Reference(
        "cabinet_medical",
        70_000,
        "CNOM Atlas 2024: 237 300 doctors in activity, 48.7 % salaried, so about 121 700 liberal "
        "or mixed; about 1.7 doctors a practice (assumption: most GPs work in groups) -> ~70 000",
        "a group practice of two doctors and a secretary",
        300_000,
        3,
        0,
        5_000,
        100_000,
        1_000,
        _SMALL,
    ),
    "centre_de_sante": Reference(
        "centre_de_sante",
        2_798,
        "FNCS observatory (ATIH e-CDS), 1 Jan 2023",
        "a polyvalent health centre of 20 staff",
        1_500_000,
        20,
        0,
        20_000,
        250_000,
        1_000,
        _SMALL,
    ),
    "pharmacie": Reference(
        "pharmacie",
        20_502,
        "Ordre national des pharmaciens, panorama 2024 (19 887 + 615 overseas)",
        "a town pharmacy of 8 staff",
        2_200_000,
        8,
        0,
        8_000,
        250_000,
        1_000,
        _SMALL,
    ),
    "laboratoire": Reference(
        "laboratoire",
        4_200,
        "dataprospects (NAF 8690B) and CNOP: about 4 200 private laboratory sites (2025)",
        "a laboratory site of a regional group",
        6_000_000,
        50,
        0,
        100_000,
        1_000_000,
        5_000,
        {**_SMALL, "edr": True},
    ),
    "imagerie": Reference(
        "imagerie",
        1_150,
        "Assumption: 9 140 radiologists (DREES 2023), 75 % liberal or mixed, ~6 a centre",
        "an imaging centre with CT and MRI",
        4_000_000,
        35,
        0,
        60_000,
        1_000_000,
        5_000,
        {**_SMALL, "medical_devices_segmented": False},
    ),
    "clinique": Reference(
        "clinique",
        1_633,
        "DREES, Études et Résultats n° 1315 (2024): 656 private non-profit + 977 for-profit",
        "a private MCO clinic of 120 beds",
        30_000_000,
        300,
        120,
        150_000,
        2_000_000,
        10_000,
        _CARE,
    ),
    "hopital": Reference(
        "hopital",
        1_329,
        "DREES, Études et Résultats n° 1315 (2024): 1 329 public hospitals at 31 Dec 2023",
        "a public general hospital (centre hospitalier) of 400 beds",
        150_000_000,
        2_000,
        400,
        300_000,
        5_000_000,
        50_000,
        _CARE,
    ),
    "ehpad": Reference(
        "ehpad",
        7_500,
        "Cour des comptes 2022 (about 7 500 EHPAD)",
        "a nursing home of 80 beds",
        5_000_000,
        70,
        80,
        300,
        500_000,
        2_500,
        _SMALL,
    ),
}

# Public figures the model is held against (docs/calibration.md explains each comparison).
ANCHORS: tuple[dict[str, Any], ...] = (
    {
        "name": "hospital_ransomware_per_year",
        "value": 15,
        "unit": "attacks a year on hospitals and clinics",
        "source": "ANSSI via Cour des comptes 2024: 30 health establishments hit by ransomware "
        "in 2022-2023",
        "model": "ransomware_per_year of hopital + clinique",
    },
    {
        "name": "health_ransomware_declared_per_year",
        "value": 40,
        "unit": "ransomware a year among CERT Santé declarations",
        "source": "ANS / CERT Santé Observatoire 2024 (40 ransomware among 749 incidents)",
        "model": "ransomware_per_year, all kinds",
    },
    {
        "name": "health_incidents_with_impact_per_year",
        "value": 350,
        "unit": "incidents with impact a year (about 70 % from establishments)",
        "source": "ANS / CERT Santé Observatoire 2023-2024: 581-749 declarations a year, more "
        "than half without impact on care or data",
        "model": "incidents_per_year of hopital + clinique (about 245 of the 350)",
    },
    {
        "name": "hospital_attack_cost",
        "value": 10_000_000,
        "unit": "EUR, a major attack (crisis and remediation; lost revenue up to 20 MEUR)",
        "source": "Cour des comptes 2024 (S2024-1456); CHSF 2022 ~7 MEUR, CH Dax 2021 ~2.3 MEUR",
        "model": "ransomware_cost_1_in_20 of the reference hospital",
    },
    {
        "name": "french_cyber_market_premium",
        "value": 317_000_000,
        "unit": "EUR of premiums a year, every sector",
        "source": "AMRAE LUCY 2025 (year 2024: 317 MEUR of premiums, 55 MEUR of losses)",
        "model": "premium_national of hopital (well below: hospitals are a small part of it)",
    },
    {
        "name": "practice_price_100k",
        "value": [314, 439],
        "unit": "EUR TTC a year for 100 kEUR of cover, a practice with good hygiene",
        "source": "prices of health professionals' cyber cover quoted in issue 11 (market "
        "offers); AMRAE LUCY 2024 small firms ~1 260 EUR for 700 kEUR",
        "model": "examples/cabinet-medical.yaml (docs/examples.md), and cabinet_medical "
        "premium_total_ttc",
    },
    {
        "name": "sme_healthcare_incident_cost",
        "value": 261_000,
        "unit": "USD, average incident cost of a healthcare SME",
        "source": "NetDiligence Cyber Claims Study 2024 (10 464 claims 2019-2023, US-heavy)",
        "model": "mean_claim of clinique / laboratoire (French sizes: below)",
    },
)


def _application(ref: Reference) -> dict[str, Any]:
    return {
        "establishment": {
            "name": f"Référence {ref.kind}",
            "type": ref.kind,
            "siret": "73282932000074",
            "finess": "750053126",
            "annual_revenue": ref.annual_revenue,
            "employees": ref.employees,
            "beds": ref.beds,
            "patient_records": ref.patient_records,
        },
        "security": copy.deepcopy(ref.security),
        "history": {"incidents_last_5_years": 0, "ransomware_last_5_years": 0},
        "cover": {"limit": ref.limit, "deductible": ref.deductible},
    }


def kind_figures(product: Product, ref: Reference) -> dict[str, Any]:
    """The model's figures for one kind: its reference establishment, and national totals."""
    model = product.risk_model
    app = parse_application(_application(ref), product)
    terms = policy_terms(app, product)
    hourly = bi_hourly_loss(app, model)
    ded, agg = float(terms.deductible), float(terms.aggregate_limit)
    quote = price(app, product)
    frequency = incidents = over_1m = 0.0
    ransomware = ransomware_20 = ransomware_paid_20 = 0.0
    for code, risk in incident_profile(app, model).items():
        comps = [c for _, c in incident_components(risk, terms, hourly)]
        incidents += risk.frequency
        frequency += risk.frequency * lognormal.comonotone_exceedance(comps, ded)
        if agg > LARGE_CLAIM:
            over_1m += risk.frequency * lognormal.comonotone_exceedance(comps, ded + LARGE_CLAIM)
        if code == "ransomware":
            ransomware = risk.frequency
            z = _norm_ppf(0.95)
            ransomware_20 = sum(
                min(line.fixed + line.median * math.exp(line.sigma * z), line.cap)
                * (hourly if line.coverage == "business_interruption" else 1.0)
                for line in risk.costs
            )
            ransomware_paid_20 = _quantile(comps, 0.95, ded, agg)
    n = ref.establishments_in_france
    el = float(quote.expected_loss)
    return {
        "establishments_in_france": n,
        "establishments_source": ref.count_source,
        "frequency": frequency,
        "claims_per_year": n * frequency,
        "claims_over_1m_per_year": n * over_1m,
        "incidents_per_year": n * incidents,
        "ransomware_per_year": n * ransomware,
        "expected_loss": el,
        "mean_claim": el / frequency if frequency > 0 else 0.0,
        "expected_loss_national": n * el,
        "premium": float(quote.net),
        "premium_total_ttc": float(quote.total),
        "premium_national": n * float(quote.net),
        "ransomware_cost_1_in_20": ransomware_20,  # ground up, before any term
        "ransomware_paid_1_in_20": ransomware_paid_20,  # what the policy pays of it
        "reference": {
            "description": ref.description,
            "annual_revenue": ref.annual_revenue,
            "employees": ref.employees,
            "beds": ref.beds,
            "patient_records": ref.patient_records,
            "limit": ref.limit,
            "deductible": ref.deductible,
            "security": ref.security,
        },
    }


def _quantile(comps: list[lognormal.Component], p: float, ded: float, agg: float) -> float:
    """The claim (after one deductible, capped at the aggregate) of the incident at its p-th
    quantile: the payments are nondecreasing in z, so it is their value at z_p."""
    z = _norm_ppf(p)
    total = 0.0
    for a, b, k, t, lim in comps:
        total += min(max(a + b * math.exp(k * z) - t, 0.0), lim)
    return min(max(total - ded, 0.0), agg)


def _norm_ppf(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if lognormal.norm_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def calibration(product: Product) -> dict[str, Any]:
    """{"kinds": {KIND: figures}, "anchors": [...], "totals": {...}} for a risk model v2 product."""
    if product.risk_model.incident_model is None:
        raise ProductError(product.ref, "risk_model", "calibration needs risk model v2 (incidents)")
    kinds = {kind: kind_figures(product, REFERENCES[kind]) for kind in KINDS}
    care = ("hopital", "clinique")
    totals = {
        "premium_national": sum(k["premium_national"] for k in kinds.values()),
        "expected_loss_national": sum(k["expected_loss_national"] for k in kinds.values()),
        "ransomware_per_year": sum(k["ransomware_per_year"] for k in kinds.values()),
        "hospital_and_clinic_ransomware_per_year": sum(
            kinds[k]["ransomware_per_year"] for k in care
        ),
        "hospital_and_clinic_incidents_per_year": sum(kinds[k]["incidents_per_year"] for k in care),
    }
    return {
        "product": product.ref,
        "risk_model_version": product.risk_model.version,
        "kinds": kinds,
        "totals": totals,
        "anchors": [dict(a) for a in ANCHORS],
    }
