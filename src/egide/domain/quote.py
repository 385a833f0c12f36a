"""A quote: the application underwritten, scored and priced, with recommendations.

`assess` is pure: the same application and product always give the same quote. Recommendations
re-price the application with one missing control put right, by the same engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from egide.domain.application import Application
from egide.domain.product import Product
from egide.domain.rating import Price, price
from egide.domain.scoring import SecurityScore, control_present, security_score
from egide.domain.underwriting import UnderwritingResult, underwrite


@dataclass(frozen=True)
class Recommendation:
    code: str
    message: str
    premium_change: Decimal  # on the total premium with tax; negative is a saving
    score_change: int


@dataclass(frozen=True)
class Assessment:
    product_ref: str
    model_version: str
    application: Application
    score: SecurityScore
    underwriting: UnderwritingResult
    price: Price
    recommendations: tuple[Recommendation, ...]


def _fixes(app: Application, product: Product) -> list[tuple[str, str, dict[str, Any]]]:
    model = product.risk_model
    fixes: list[tuple[str, str, dict[str, Any]]] = []
    for code, control in model.controls.items():
        if not control_present(app.security, code):
            fixes.append((code, control.recommendation, {code: True}))
    for code, graded in model.graded.items():
        value = Decimal(getattr(app.security, code))
        if graded.badness(value) > 0:
            good: Any = int(graded.good) if code == "critical_patch_days" else graded.good
            fixes.append((code, graded.recommendation, {code: good}))
    return fixes


def assess(app: Application, product: Product, *, with_recommendations: bool = True) -> Assessment:
    model = product.risk_model
    score = security_score(app.security, model)
    uw = underwrite(app, score, product)
    current = price(app, product)
    recs: list[Recommendation] = []
    if with_recommendations:
        for code, message, change in _fixes(app, product):
            better = app.with_security(**change)
            new_price = price(better, product)
            new_score = security_score(better.security, model)
            recs.append(
                Recommendation(
                    code, message, new_price.total - current.total, new_score.total - score.total
                )
            )
        recs.sort(key=lambda r: (r.premium_change, -r.score_change, r.code))
    return Assessment(
        product_ref=product.ref,
        model_version=model.version,
        application=app,
        score=score,
        underwriting=uw,
        price=current,
        recommendations=tuple(recs),
    )


def valid_until(created_at: datetime, product: Product) -> datetime:
    """A quote is valid for the product's validity days, to the end of the last day (Paris)."""
    last = (created_at + timedelta(days=product.quote_validity_days)).date()
    return datetime.combine(
        last, datetime.max.time().replace(microsecond=0), tzinfo=created_at.tzinfo
    )
