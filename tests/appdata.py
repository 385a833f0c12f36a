"""Valid application data for tests, and a hypothesis strategy of random valid applications."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from egide.domain.application import REQUIRED_SECURITY_CONTROLS
from egide.domain.identifiers import luhn_valid
from egide.domain.product import KINDS, Product


def with_luhn(prefix: str) -> str:
    """Complete a digit string with its Luhn check digit."""
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


SIZES: dict[str, dict[str, int]] = {
    "cabinet_medical": {
        "annual_revenue": 450_000,
        "employees": 4,
        "beds": 0,
        "patient_records": 6_000,
    },
    "centre_de_sante": {
        "annual_revenue": 1_800_000,
        "employees": 25,
        "beds": 0,
        "patient_records": 25_000,
    },
    "pharmacie": {"annual_revenue": 2_400_000, "employees": 9, "beds": 0, "patient_records": 9_000},
    "laboratoire": {
        "annual_revenue": 7_000_000,
        "employees": 60,
        "beds": 0,
        "patient_records": 120_000,
    },
    "imagerie": {
        "annual_revenue": 5_000_000,
        "employees": 40,
        "beds": 0,
        "patient_records": 70_000,
    },
    "clinique": {
        "annual_revenue": 35_000_000,
        "employees": 350,
        "beds": 120,
        "patient_records": 150_000,
    },
    "hopital": {
        "annual_revenue": 160_000_000,
        "employees": 2_000,
        "beds": 400,
        "patient_records": 500_000,
    },
    "ehpad": {"annual_revenue": 5_500_000, "employees": 70, "beds": 80, "patient_records": 150},
}


def base_application(kind: str = "cabinet_medical", **cover: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "establishment": {
            "name": f"Établissement test ({kind})",
            "type": kind,
            "siret": "73282932000074",
            "finess": "750053126",
            **SIZES[kind],
        },
        "security": {
            "mfa_remote_access": True,
            "mfa_email": True,
            "edr": False,
            "offline_backups": True,
            "backup_restore_tested": True,
            "hds_hosting": True,
            "critical_patch_days": 30,
            "medical_devices_segmented": True,
            "phishing_training": True,
            "incident_response_plan": False,
            "security_budget_share": 0.06,
        },
        "history": {"incidents_last_5_years": 0, "ransomware_last_5_years": 0},
        "cover": {"limit": 500_000, "deductible": 5_000 if kind == "hopital" else 1_000},
    }
    data["cover"].update(cover)
    return data


def mutate(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with one dotted key set (or deleted when value is ...)."""
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node[p]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


BOOL_CONTROLS = REQUIRED_SECURITY_CONTROLS


@st.composite
def applications(draw: st.DrawFn, product: Product) -> dict[str, Any]:
    """Random valid application data, any kind, any options the product offers that kind."""
    kind = draw(st.sampled_from(KINDS))
    data = base_application(kind)
    e = data["establishment"]
    e["annual_revenue"] = draw(st.integers(50_000, 900_000_000))
    e["employees"] = draw(st.integers(1, 5_000))
    e["patient_records"] = draw(st.integers(0, 3_000_000))
    e["beds"] = draw(st.integers(1, 2_500)) if kind in ("clinique", "hopital", "ehpad") else 0
    s = data["security"]
    for c in BOOL_CONTROLS:
        s[c] = draw(st.booleans())
    s["medical_devices_segmented"] = draw(st.sampled_from([True, False, None]))
    s["critical_patch_days"] = draw(st.integers(0, 365))
    s["security_budget_share"] = draw(st.integers(0, 30)) / 100
    ransomware = draw(st.integers(0, 2))
    data["history"] = {
        "incidents_last_5_years": ransomware + draw(st.integers(0, 3)),
        "ransomware_last_5_years": ransomware,
    }
    data["cover"] = {
        "limit": int(draw(st.sampled_from(product.aggregate_amounts(kind)))),
        "deductible": int(draw(st.sampled_from(product.deductible_amounts(kind)))),
    }
    return data
