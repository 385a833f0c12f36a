"""The security score: 0 to 100, higher is better, each factor's contribution shown.

Weights come from the risk model file (`controls.*.score_weight`, `graded.*.score_weight`; they add
up to 100). A yes/no control earns its whole weight or nothing; a graded one earns its weight in
proportion to how close it is to the good value. No connected medical devices earns the weight of
their segmentation (nothing to segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from egide.domain.application import Security
from egide.domain.product import RiskModel


@dataclass(frozen=True)
class ScoreFactor:
    code: str
    label: str
    weight: int
    points: Decimal  # contribution to the score, 0..weight, one decimal


@dataclass(frozen=True)
class SecurityScore:
    total: int
    factors: tuple[ScoreFactor, ...]


def control_present(security: Security, code: str) -> bool:
    value = getattr(security, code)
    if code == "medical_devices_segmented" and value is None:
        return True
    return bool(value)


def graded_value(security: Security, code: str) -> Decimal:
    return Decimal(getattr(security, code))


def security_score(security: Security, model: RiskModel) -> SecurityScore:
    factors = []
    for code, control in model.controls.items():
        points = Decimal(control.score_weight) if control_present(security, code) else Decimal(0)
        factors.append(ScoreFactor(code, control.label, control.score_weight, points))
    for code, graded in model.graded.items():
        good_share = Decimal(1) - graded.badness(graded_value(security, code))
        points = (graded.score_weight * good_share).quantize(Decimal("0.1"), ROUND_HALF_UP)
        factors.append(ScoreFactor(code, graded.label, graded.score_weight, points))
    total = int(sum((f.points for f in factors), Decimal(0)).quantize(Decimal(1), ROUND_HALF_UP))
    return SecurityScore(total=max(0, min(100, total)), factors=tuple(factors))
