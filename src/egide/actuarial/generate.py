"""A synthetic book of French healthcare establishments, for the portfolio model and its demos.

The mix of kinds follows national counts times an assumed cyber take-up per kind (a cyber book
is not the population: `KIND_MIX` and docs/exposure.md give both and their sources). Sizes are
lognormal per kind; beds, employees and patient records follow revenue with noise; security
controls are drawn with plausible prevalences that rise with size and with a latent "hygiene"
of each establishment (so controls are correlated, as they are in practice); shared suppliers
(healthcare software, HDS host, e-mail) come from small market-share tables with neutral
placeholder names. Every identifier is valid (SIRET and FINESS pass their Luhn check), every
cover is an option the product offers to that kind.

Every number here is an assumption for a plausible book, not a statistic of a real insurer's
portfolio: docs/exposure.md says where each comes from. Deterministic for a seed; vectorised with
NumPy and building the dataclasses directly (a test holds a sample to `parse_application`).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from egide.actuarial.book import BookEntry
from egide.domain.application import (
    BEDDED,
    FINESS_REQUIRED,
    KIND_LABELS_FR,
    MAX_BEDS,
    MAX_EMPLOYEES,
    MAX_RECORDS,
    MAX_REVENUE,
    Application,
    Cover,
    Establishment,
    History,
    Security,
)
from egide.domain.product import KINDS, Product


@dataclass(frozen=True)
class KindMix:
    """National count of establishments of a kind, and the share assumed to buy this cover."""

    population: int
    take_up: float
    source: str

    @property
    def weight(self) -> float:
        return self.population * self.take_up


# National counts (docs/exposure.md cites each) and take-up assumptions.
KIND_MIX: Mapping[str, KindMix] = {
    "cabinet_medical": KindMix(
        60_000, 0.02, "CNOM atlas: ~100 000 liberal doctors in ~60 000 practices"
    ),
    "centre_de_sante": KindMix(2_800, 0.08, "ANS / FNCS: 2 500-3 000 centres de santé"),
    "pharmacie": KindMix(20_000, 0.06, "Ordre des pharmaciens: ~20 000 officines"),
    "laboratoire": KindMix(4_000, 0.08, "DREES / SDBIO: ~4 000 laboratory sites"),
    "imagerie": KindMix(1_800, 0.10, "FNMR: ~1 800 imaging practices and centres (assumption)"),
    "clinique": KindMix(
        1_650, 0.20, "DREES: ~1 000 for-profit + ~650 non-profit private establishments"
    ),
    "hopital": KindMix(1_300, 0.15, "DREES: ~1 300 public establishments"),
    "ehpad": KindMix(7_500, 0.06, "DREES / CNSA: ~7 500 EHPAD"),
}


@dataclass(frozen=True)
class SizeParams:
    revenue_median: float  # EUR
    revenue_sigma: float
    revenue_per_employee: float  # EUR
    records_per_keur: float  # patient records per thousand euros of revenue
    revenue_per_bed: float  # EUR, for bedded kinds; 0 otherwise
    devices_share: float  # share with connected medical devices (else segmentation is n/a)
    maturity: float  # logit offset of every control's prevalence for the kind


# Assumptions (docs/exposure.md § Sizes): typical French revenues per kind.
SIZES: Mapping[str, SizeParams] = {
    "cabinet_medical": SizeParams(250_000, 0.6, 110_000, 12.0, 0, 0.15, -0.6),
    "centre_de_sante": SizeParams(1_500_000, 0.8, 75_000, 6.0, 0, 0.40, -0.3),
    "pharmacie": SizeParams(2_000_000, 0.5, 260_000, 2.0, 0, 0.05, -0.3),
    "laboratoire": SizeParams(3_000_000, 1.0, 140_000, 15.0, 0, 0.95, 0.2),
    "imagerie": SizeParams(3_000_000, 0.7, 190_000, 5.0, 0, 1.0, 0.1),
    "clinique": SizeParams(25_000_000, 0.9, 95_000, 6.0, 210_000, 1.0, 0.3),
    "hopital": SizeParams(120_000_000, 1.1, 85_000, 4.0, 260_000, 1.0, 0.2),
    "ehpad": SizeParams(3_500_000, 0.5, 55_000, 0.05, 45_000, 0.30, -0.5),
}

# Prevalence of each control in a mid-size establishment of average maturity (assumptions,
# docs/exposure.md § Controls), before the kind's maturity, its size and its hygiene.
CONTROL_PREVALENCE: Mapping[str, float] = {
    "mfa_remote_access": 0.55,
    "mfa_email": 0.40,
    "edr": 0.35,
    "offline_backups": 0.55,
    "backup_restore_tested": 0.35,
    "hds_hosting": 0.50,
    "medical_devices_segmented": 0.40,
    "phishing_training": 0.35,
    "incident_response_plan": 0.30,
    "pgssi_s_compliant": 0.25,
}
SIZE_EFFECT = 0.5  # logit per standard deviation of log revenue within the kind
HYGIENE_EFFECT = 0.9  # logit per standard deviation of the latent hygiene

# Shared suppliers: neutral placeholders and assumed market shares.
SOFTWARE_SHARES: Mapping[str, tuple[tuple[str, float], ...]] = {
    "cabinet_medical": (
        ("lgc_vendor_a", 0.35),
        ("lgc_vendor_b", 0.25),
        ("lgc_vendor_c", 0.15),
        ("lgc_other", 0.25),
    ),
    "centre_de_sante": (("lgc_vendor_a", 0.30), ("lgc_vendor_b", 0.30), ("lgc_other", 0.40)),
    "pharmacie": (
        ("lgo_vendor_a", 0.40),
        ("lgo_vendor_b", 0.30),
        ("lgo_vendor_c", 0.20),
        ("lgo_other", 0.10),
    ),
    "laboratoire": (("sil_vendor_a", 0.45), ("sil_vendor_b", 0.35), ("sil_other", 0.20)),
    "imagerie": (("ris_vendor_a", 0.40), ("ris_vendor_b", 0.35), ("ris_other", 0.25)),
    "clinique": (
        ("dpi_vendor_a", 0.30),
        ("dpi_vendor_b", 0.25),
        ("dpi_vendor_c", 0.20),
        ("dpi_other", 0.25),
    ),
    "hopital": (
        ("dpi_vendor_a", 0.25),
        ("dpi_vendor_b", 0.20),
        ("dpi_vendor_c", 0.20),
        ("dpi_vendor_d", 0.15),
        ("dpi_other", 0.20),
    ),
    "ehpad": (("ehpad_vendor_a", 0.45), ("ehpad_vendor_b", 0.30), ("ehpad_other", 0.25)),
}
HDS_HOST_SHARES: tuple[tuple[str, float], ...] = (
    ("hds_host_a", 0.30),
    ("hds_host_b", 0.20),
    ("hds_host_c", 0.15),
    ("hds_host_d", 0.10),
    ("hds_host_other", 0.25),
)
ON_PREMISES = "on_premises"
EMAIL_SHARES: tuple[tuple[str, float], ...] = (
    ("email_vendor_a", 0.45),
    ("email_vendor_b", 0.25),
    ("email_vendor_c", 0.10),
    ("email_self_hosted", 0.20),
)

# French départements for identifiers and postcodes (96 of metropolitan France, Corsica 2A/2B).
_DEPTS: tuple[str, ...] = (*(f"{d:02d}" for d in range(1, 96) if d != 20), "2A", "2B")


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _luhn_check_digits(body: NDArray[np.int64]) -> NDArray[np.int64]:
    """The digit to append to each row of digits so that the whole number passes Luhn."""
    n = body.shape[1]
    # positions from the right once the check digit is appended: body[-1] is position 1 (doubled)
    doubled = (np.arange(n)[::-1] % 2) == 0
    d = body.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    total = d.sum(axis=1)
    return np.asarray((10 - total % 10) % 10, dtype=np.int64)


def _digits_to_str(digits: NDArray[np.int64]) -> list[str]:
    chars = (digits + ord("0")).astype(np.uint8)
    return [bytes(row).decode("ascii") for row in chars]


def _sirets(rng: np.random.Generator, n: int) -> list[str]:
    """Valid SIRETs: a SIREN (8 digits + Luhn) and a NIC (4 digits + Luhn over all 14)."""
    body = rng.integers(0, 10, size=(n, 8), dtype=np.int64)
    body[:, 0] = rng.integers(1, 10, size=n)  # avoid leading zeros
    body[:, 0] = np.where(body[:, 0] == 3, 4, body[:, 0])  # never La Poste's 356 000 000
    siren = np.column_stack([body, _luhn_check_digits(body)])
    nic = rng.integers(0, 10, size=(n, 4), dtype=np.int64)
    nic[:, 0] = 0
    nic[:, 1] = 0
    head = np.column_stack([siren, nic])
    return _digits_to_str(np.column_stack([head, _luhn_check_digits(head)]))


def _finess(rng: np.random.Generator, depts: NDArray[np.int64]) -> list[str]:
    """Valid FINESS numbers in the given départements (Luhn with 2A/2B read as 20)."""
    n = len(depts)
    codes = [_DEPTS[i] for i in depts.tolist()]
    head = np.zeros((n, 8), dtype=np.int64)
    dept_digits = np.array(
        [[int(c) for c in ("20" if d in ("2A", "2B") else d)] for d in _DEPTS], dtype=np.int64
    )
    head[:, :2] = dept_digits[depts]
    head[:, 2:] = rng.integers(0, 10, size=(n, 6))
    head[:, 2] = rng.integers(0, 2, size=n)  # 0 or 1: the directory's usual third digit
    digits = _digits_to_str(np.column_stack([head, _luhn_check_digits(head)]))
    return [code + rest[2:] for code, rest in zip(codes, digits, strict=True)]


def _choose(
    rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int
) -> NDArray[np.int64]:
    weights = np.array([w for _, w in table], dtype=np.float64)
    return rng.choice(len(table), size=n, p=weights / weights.sum())


def _nearest_options(
    options: list[Decimal], target: NDArray[np.float64], jitter: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Index of the option nearest each target (in log scale), moved by `jitter` steps."""
    values = np.log(np.maximum(np.array([float(o) for o in options]), 1.0))
    nearest = np.abs(np.log(np.maximum(target, 1.0))[:, None] - values[None, :]).argmin(axis=1)
    return np.asarray(np.clip(nearest + jitter, 0, len(options) - 1), dtype=np.int64)


def generate_book(n: int, seed: int, product: Product) -> list[BookEntry]:
    """`n` synthetic policies, the same for the same seed (and product)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    weights = np.array([KIND_MIX[k].weight for k in kinds])
    kind_idx = rng.choice(len(kinds), size=n, p=weights / weights.sum())

    z_size = rng.standard_normal(n)
    z_hygiene = rng.standard_normal(n)
    noise = rng.standard_normal((n, 3))
    median = np.array([SIZES[kinds[k]].revenue_median for k in kind_idx])
    sigma = np.array([SIZES[kinds[k]].revenue_sigma for k in kind_idx])
    revenue = np.clip(np.round(median * np.exp(sigma * z_size), -2), 20_000, float(MAX_REVENUE))
    per_emp = np.array([SIZES[kinds[k]].revenue_per_employee for k in kind_idx])
    employees = np.clip(np.round(revenue / per_emp * np.exp(0.25 * noise[:, 0])), 1, MAX_EMPLOYEES)
    per_keur = np.array([SIZES[kinds[k]].records_per_keur for k in kind_idx])
    records = np.clip(
        np.round(revenue / 1000 * per_keur * np.exp(0.4 * noise[:, 1])), 50, MAX_RECORDS
    )
    per_bed = np.array([SIZES[kinds[k]].revenue_per_bed for k in kind_idx])
    beds = np.where(
        per_bed > 0,
        np.clip(
            np.round(revenue / np.where(per_bed > 0, per_bed, 1) * np.exp(0.2 * noise[:, 2])),
            1,
            MAX_BEDS,
        ),
        0,
    )

    maturity = np.array([SIZES[kinds[k]].maturity for k in kind_idx])
    logit_shift = maturity + SIZE_EFFECT * z_size + HYGIENE_EFFECT * z_hygiene
    controls: dict[str, NDArray[np.bool_]] = {}
    for code, p in CONTROL_PREVALENCE.items():
        prob = _sigmoid(_logit(p) + logit_shift)
        controls[code] = rng.random(n) < prob
    # restoring from backups is only tested where offline backups exist, most of the time
    controls["backup_restore_tested"] &= controls["offline_backups"] | (rng.random(n) < 0.2)
    devices_share = np.array([SIZES[kinds[k]].devices_share for k in kind_idx])
    has_devices = rng.random(n) < devices_share
    care_eligible = np.isin(kind_idx, [kinds.index(k) for k in ("clinique", "hopital", "ehpad")])
    care = care_eligible & (rng.random(n) < 0.5)
    # days to apply a critical patch: median 30 days, shorter with better hygiene
    patch_days = np.clip(
        np.round(30 * np.exp(-0.6 * z_hygiene + 0.6 * rng.standard_normal(n))), 0, 3650
    )
    budget = np.clip(
        np.round(0.03 * np.exp(0.4 * z_hygiene + 0.5 * rng.standard_normal(n)), 3), 0, 1
    )

    base_incident = np.where(
        np.isin(kind_idx, [kinds.index("hopital"), kinds.index("clinique")]), 0.5, 0.15
    )
    incidents = rng.poisson(base_incident * np.exp(0.3 * z_size - 0.3 * z_hygiene))
    ransomware = rng.binomial(incidents, 0.25)
    known = rng.random(n) < 0.02

    sirets = _sirets(rng, n)
    dept_idx = rng.integers(0, len(_DEPTS), size=n)
    finess_all = _finess(rng, dept_idx)
    postcode_tail = rng.integers(0, 1000, size=n)
    software_idx = {k: _choose(rng, SOFTWARE_SHARES[k], n) for k in kinds}
    host_idx = _choose(rng, HDS_HOST_SHARES, n)
    email_idx = _choose(rng, EMAIL_SHARES, n)
    limit_jitter = rng.choice([-1, 0, 0, 0, 1], size=n)
    ded_jitter = rng.choice([-1, 0, 0, 1], size=n)
    sub_pick = rng.random(n)
    sub_cov = rng.choice(["cyber_extortion", "regulatory_investigation"], size=n)
    sub_u = rng.random(n)

    limit_idx = np.zeros(n, dtype=np.int64)
    ded_idx = np.zeros(n, dtype=np.int64)
    for k, kind in enumerate(kinds):
        mask = kind_idx == k
        limit_idx[mask] = _nearest_options(
            product.aggregate_amounts(kind), revenue[mask] * 0.12, limit_jitter[mask]
        )
        ded_idx[mask] = _nearest_options(
            product.deductible_amounts(kind), revenue[mask] * 0.001, ded_jitter[mask]
        )
    aggregate_options = {k: product.aggregate_amounts(k) for k in kinds}
    deductible_options = {k: product.deductible_amounts(k) for k in kinds}
    sub_options = {
        c: product.coverages[c].limit_options
        for c in ("cyber_extortion", "regulatory_investigation")
    }

    # plain Python values once, rather than one NumPy scalar at a time
    kind_l = [kinds[k] for k in kind_idx.tolist()]
    flags = {code: controls[code].tolist() for code in controls}
    devices_l = has_devices.tolist()
    rev_l, emp_l, rec_l = revenue.tolist(), employees.tolist(), records.tolist()
    beds_l, patch_l, care_l = beds.tolist(), patch_days.tolist(), care.tolist()
    budget_l = [Decimal(f"{b:.3f}") for b in budget.tolist()]
    inc_l, ran_l, known_l = incidents.tolist(), ransomware.tolist(), known.tolist()
    dept_l, tail_l = dept_idx.tolist(), postcode_tail.tolist()
    limit_l, ded_l = limit_idx.tolist(), ded_idx.tolist()
    sub_pick_l, sub_cov_l, sub_u_l = sub_pick.tolist(), sub_cov.tolist(), sub_u.tolist()
    soft_l = {k: software_idx[k].tolist() for k in kinds}
    host_l, email_l = host_idx.tolist(), email_idx.tolist()

    book: list[BookEntry] = []
    # hundreds of thousands of small objects: the cyclic collector would rescan them over and
    # over while nothing here is garbage
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(n):
            kind = kind_l[i]
            dept = _DEPTS[dept_l[i]]
            postcode = ("20" if dept in ("2A", "2B") else dept) + f"{tail_l[i]:03d}"
            limit = aggregate_options[kind][limit_l[i]]
            sublimits: dict[str, Decimal] = {}
            if sub_pick_l[i] < 0.15:
                cov = sub_cov_l[i]
                allowed = [o for o in sub_options[cov] if o <= limit]
                if allowed:
                    sublimits[cov] = allowed[int(sub_u_l[i] * len(allowed))]
            app = Application(
                establishment=Establishment(
                    name=f"{KIND_LABELS_FR[kind]} {i + 1:06d}",
                    type=kind,
                    siret=sirets[i],
                    annual_revenue=Decimal(int(rev_l[i])),
                    employees=int(emp_l[i]),
                    patient_records=int(rec_l[i]),
                    beds=int(beds_l[i]) if kind in BEDDED else 0,
                    finess=finess_all[i] if kind in FINESS_REQUIRED else None,
                    postcode=postcode,
                    city=None,
                ),
                security=Security(
                    mfa_remote_access=flags["mfa_remote_access"][i],
                    mfa_email=flags["mfa_email"][i],
                    edr=flags["edr"][i],
                    offline_backups=flags["offline_backups"][i],
                    backup_restore_tested=flags["backup_restore_tested"][i],
                    hds_hosting=flags["hds_hosting"][i],
                    critical_patch_days=int(patch_l[i]),
                    medical_devices_segmented=flags["medical_devices_segmented"][i]
                    if devices_l[i]
                    else None,
                    phishing_training=flags["phishing_training"][i],
                    incident_response_plan=flags["incident_response_plan"][i],
                    security_budget_share=budget_l[i],
                    pgssi_s_compliant=flags["pgssi_s_compliant"][i],
                    care_programme=care_l[i],
                ),
                history=History(
                    incidents_last_5_years=inc_l[i],
                    ransomware_last_5_years=ran_l[i],
                    known_circumstances=known_l[i],
                ),
                cover=Cover(
                    limit=limit, deductible=deductible_options[kind][ded_l[i]], sublimits=sublimits
                ),
            )
            book.append(
                BookEntry(
                    policy_number=f"EG{i + 1:07d}",
                    application=app,
                    software_vendor=SOFTWARE_SHARES[kind][soft_l[kind][i]][0],
                    cloud_host=HDS_HOST_SHARES[host_l[i]][0]
                    if flags["hds_hosting"][i]
                    else ON_PREMISES,
                    email_vendor=EMAIL_SHARES[email_l[i]][0],
                )
            )
    finally:
        if gc_was_enabled:
            gc.enable()
    return book


def kind_shares() -> dict[str, float]:
    """The expected share of each kind in a generated book (national count x take-up)."""
    total = sum(m.weight for m in KIND_MIX.values())
    return {k: KIND_MIX[k].weight / total for k in KINDS}
