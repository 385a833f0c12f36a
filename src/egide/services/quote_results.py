"""The typed results of the quote use cases (`egide.services.quotes`) and their JSON contracts.

`PricedQuote` is what pricing gives (``egide quote price --json``); `Quote` is a stored quote as
saved, shown and reviewed (``egide quote save|show|approve|decline --json``); `QuoteSummary` is
one item of ``egide quote list``. Each ``public()`` is the JSON contract of the earlier issues,
key for key and in the same order (tests/test_quote_results.py pins it against the dictionaries
the services built before). Money is Decimal here and a string of euros with cents in JSON.

Amounts are rounded to the cent once, when a quote is priced (`PricedQuote.of`), as the contract
shows them. A stored quote keeps the priced breakdown it was saved with (a JSON document in the
database); `PricedQuote.from_public` reads it back, so a stored quote is shown exactly as it was
priced, and ``PricedQuote.from_public(p.public()) == p``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from egide.clock import iso_paris
from egide.domain.money import cents

if TYPE_CHECKING:
    from egide.domain.product import Product
    from egide.domain.quote import Assessment


def money(value: Decimal) -> str:
    """Euros with cents, as every contract writes money: ``"1234.50"``."""
    return str(cents(value))


@dataclass(frozen=True)
class QuotedEstablishment:
    name: str
    type: str
    type_label: str  # in French
    siret: str
    finess: str | None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "type_label": self.type_label,
            "siret": self.siret,
            "finess": self.finess,
        }


@dataclass(frozen=True)
class Reason:
    """A reason of the underwriting decision: its code and its French message."""

    code: str
    message: str

    def public(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ScoreLine:
    """One factor of the security score: its weight and the points it earned."""

    code: str
    label: str
    weight: int
    points: Decimal

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "weight": self.weight,
            "points": str(self.points),
        }


@dataclass(frozen=True)
class FactorLine:
    """A multiplicative effect on a coverage's frequency or severity (rounded to 4 places)."""

    code: str
    applies_to: str
    value: float

    def public(self) -> dict[str, Any]:
        return {"code": self.code, "applies_to": self.applies_to, "value": self.value}


@dataclass(frozen=True)
class BusinessInterruptionTerms:
    """The waiting and indemnity periods, shown on the business interruption coverage."""

    waiting_period_hours: int
    waiting_period_mode: str | None
    indemnity_period_days: int


@dataclass(frozen=True)
class CoverageLine:
    code: str
    label: str
    limit: Decimal
    deductible: Decimal
    sub_deductible: Decimal
    premium: Decimal
    expected_loss: Decimal
    frequency: float  # claims a year, rounded to 6 places
    mean_severity: Decimal
    factors: tuple[FactorLine, ...]
    interruption: BusinessInterruptionTerms | None = None

    def public(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "code": self.code,
            "label": self.label,
            "limit": money(self.limit),
            "deductible": money(self.deductible),
            "sub_deductible": money(self.sub_deductible),
            "premium": money(self.premium),
            "expected_loss": money(self.expected_loss),
            "frequency": self.frequency,
            "mean_severity": money(self.mean_severity),
            "factors": [f.public() for f in self.factors],
        }
        if self.interruption is not None:
            item["waiting_period_hours"] = self.interruption.waiting_period_hours
            item["waiting_period_mode"] = self.interruption.waiting_period_mode
            item["indemnity_period_days"] = self.interruption.indemnity_period_days
        return item


@dataclass(frozen=True)
class Premium:
    net: Decimal
    tax: Decimal
    total: Decimal

    def public(self) -> dict[str, Any]:
        return {"net": money(self.net), "tax": money(self.tax), "total": money(self.total)}


@dataclass(frozen=True)
class Tax:
    name: str
    rate: Decimal

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "rate": str(self.rate)}


@dataclass(frozen=True)
class Advice:
    """A recommendation: one control put right, and what it changes."""

    code: str
    message: str
    premium_change: Decimal  # on the total premium with tax; negative is a saving
    score_change: int

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "premium_change": money(self.premium_change),
            "score_change": self.score_change,
        }


@dataclass(frozen=True)
class PricedQuote:
    """An application underwritten and priced: decision, score, premium per coverage, advice."""

    product: str  # the product's reference, code@version
    model_version: str
    establishment: QuotedEstablishment
    decision: str  # accept | refer | decline
    decision_label: str
    reasons: tuple[Reason, ...]
    security_score: int
    score_factors: tuple[ScoreLine, ...]
    coverages: tuple[CoverageLine, ...]
    aggregate_limit: Decimal
    deductible: Decimal
    expected_loss: Decimal
    loadings: Mapping[str, Decimal]  # in the product's order
    minimum_premium: Decimal
    minimum_applied: bool
    premium: Premium
    tax: Tax
    recommendations: tuple[Advice, ...]

    @staticmethod
    def of(a: Assessment, product: Product) -> PricedQuote:
        from egide.domain.application import KIND_LABELS_FR

        e = a.application.establishment
        bi = product.coverages["business_interruption"]
        interruption = BusinessInterruptionTerms(
            int(bi.waiting_period_hours or 0),
            bi.waiting_period_mode,
            int(bi.indemnity_period_days or 0),
        )
        return PricedQuote(
            product=a.product_ref,
            model_version=a.model_version,
            establishment=QuotedEstablishment(
                e.name, e.type, KIND_LABELS_FR[e.type], e.siret, e.finess
            ),
            decision=a.underwriting.decision.value,
            decision_label=a.underwriting.decision.label_fr,
            reasons=tuple(Reason(r.code, r.message) for r in a.underwriting.reasons),
            security_score=a.score.total,
            score_factors=tuple(
                ScoreLine(f.code, f.label, f.weight, f.points) for f in a.score.factors
            ),
            coverages=tuple(
                CoverageLine(
                    code=c.code,
                    label=c.label,
                    limit=cents(c.limit),
                    deductible=cents(c.deductible),
                    sub_deductible=cents(c.sub_deductible),
                    premium=cents(c.premium),
                    expected_loss=cents(c.expected_loss),
                    frequency=round(c.frequency, 6),
                    mean_severity=cents(Decimal(repr(c.mean_severity))),
                    factors=tuple(
                        FactorLine(f.code, f.applies_to, round(f.value, 4)) for f in c.factors
                    ),
                    interruption=interruption if c.code == "business_interruption" else None,
                )
                for c in a.price.coverages
            ),
            aggregate_limit=cents(a.application.cover.limit),
            deductible=cents(a.application.cover.deductible),
            expected_loss=cents(a.price.expected_loss),
            loadings={k: cents(v) for k, v in a.price.loadings.items()},
            minimum_premium=cents(a.price.minimum_premium),
            minimum_applied=a.price.minimum_applied,
            premium=Premium(cents(a.price.net), cents(a.price.tax), cents(a.price.total)),
            tax=Tax(product.tax_name, product.tax_rate),
            recommendations=tuple(
                Advice(r.code, r.message, cents(r.premium_change), r.score_change)
                for r in a.recommendations
            ),
        )

    @staticmethod
    def from_public(doc: Mapping[str, Any]) -> PricedQuote:
        """The priced quote a contract describes (a stored quote's breakdown)."""
        e = doc["establishment"]
        return PricedQuote(
            product=doc["product"],
            model_version=doc["model_version"],
            establishment=QuotedEstablishment(
                e["name"], e["type"], e["type_label"], e["siret"], e["finess"]
            ),
            decision=doc["decision"],
            decision_label=doc["decision_label"],
            reasons=tuple(Reason(r["code"], r["message"]) for r in doc["reasons"]),
            security_score=doc["security_score"],
            score_factors=tuple(
                ScoreLine(f["code"], f["label"], f["weight"], Decimal(f["points"]))
                for f in doc["score_factors"]
            ),
            coverages=tuple(_coverage_from_public(c) for c in doc["coverages"]),
            aggregate_limit=Decimal(doc["aggregate_limit"]),
            deductible=Decimal(doc["deductible"]),
            expected_loss=Decimal(doc["expected_loss"]),
            loadings={k: Decimal(v) for k, v in doc["loadings"].items()},
            minimum_premium=Decimal(doc["minimum_premium"]),
            minimum_applied=doc["minimum_applied"],
            premium=Premium(*(Decimal(doc["premium"][k]) for k in ("net", "tax", "total"))),
            tax=Tax(doc["tax"]["name"], Decimal(doc["tax"]["rate"])),
            recommendations=tuple(
                Advice(r["code"], r["message"], Decimal(r["premium_change"]), r["score_change"])
                for r in doc["recommendations"]
            ),
        )

    def public(self) -> dict[str, Any]:
        """The contract of ``egide quote price --json``."""
        return {
            "product": self.product,
            "model_version": self.model_version,
            "establishment": self.establishment.public(),
            "decision": self.decision,
            "decision_label": self.decision_label,
            "reasons": [r.public() for r in self.reasons],
            "security_score": self.security_score,
            "score_factors": [f.public() for f in self.score_factors],
            "coverages": [c.public() for c in self.coverages],
            "aggregate_limit": money(self.aggregate_limit),
            "deductible": money(self.deductible),
            "expected_loss": money(self.expected_loss),
            "loadings": {k: money(v) for k, v in self.loadings.items()},
            "minimum_premium": money(self.minimum_premium),
            "minimum_applied": self.minimum_applied,
            "premium": self.premium.public(),
            "tax": self.tax.public(),
            "recommendations": [r.public() for r in self.recommendations],
        }


def _coverage_from_public(c: Mapping[str, Any]) -> CoverageLine:
    interruption = None
    if "waiting_period_hours" in c:
        interruption = BusinessInterruptionTerms(
            c["waiting_period_hours"], c["waiting_period_mode"], c["indemnity_period_days"]
        )
    return CoverageLine(
        code=c["code"],
        label=c["label"],
        limit=Decimal(c["limit"]),
        deductible=Decimal(c["deductible"]),
        sub_deductible=Decimal(c["sub_deductible"]),
        premium=Decimal(c["premium"]),
        expected_loss=Decimal(c["expected_loss"]),
        frequency=c["frequency"],
        mean_severity=Decimal(c["mean_severity"]),
        factors=tuple(FactorLine(f["code"], f["applies_to"], f["value"]) for f in c["factors"]),
        interruption=interruption,
    )


@dataclass(frozen=True)
class Review:
    """An underwriter's approval or decline of a referred quote."""

    by: str
    at: datetime | None
    note: str | None

    def public(self) -> dict[str, Any]:
        return {"by": self.by, "at": iso_paris(self.at) if self.at else None, "note": self.note}


@dataclass(frozen=True)
class Quote:
    """A stored quote: its number, current status and dates, the breakdown it was priced with,
    its review if any, and its tenant (the establishment organisation, the broker of record)."""

    quote_number: str
    status: str  # one of egide.domain.quote_record.QUOTE_STATUSES
    created_at: datetime
    valid_until: datetime
    priced: PricedQuote
    review: Review | None
    establishment_id: int | None
    broker_id: int | None

    @property
    def decision(self) -> str:
        return self.priced.decision

    def header(self) -> dict[str, Any]:
        """The part of the contract stored before the breakdown (number, status, dates)."""
        return {
            "quote_number": self.quote_number,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "valid_until": self.valid_until.isoformat(),
        }

    def public(self) -> dict[str, Any]:
        """The contract of ``egide quote show --json`` (and of save, approve and decline)."""
        data = {**self.header(), **self.priced.public()}
        if self.review is not None:
            data["review"] = self.review.public()
        data["establishment_id"] = self.establishment_id
        data["broker_id"] = self.broker_id
        return data


@dataclass(frozen=True)
class QuoteSummary:
    """One quote in a list: number, status, establishment, tenant, premium and dates."""

    quote_number: str
    status: str
    decision: str
    establishment_name: str
    siret: str
    establishment_id: int | None
    broker_id: int | None
    product: str
    premium_total: Decimal | None  # as priced, with tax; None if the breakdown has none
    created_at: datetime
    valid_until: datetime

    def public(self) -> dict[str, Any]:
        return {
            "quote_number": self.quote_number,
            "status": self.status,
            "decision": self.decision,
            "establishment": {"name": self.establishment_name, "siret": self.siret},
            "establishment_id": self.establishment_id,
            "broker_id": self.broker_id,
            "product": self.product,
            "premium_total": None if self.premium_total is None else str(self.premium_total),
            "created_at": iso_paris(self.created_at),
            "valid_until": iso_paris(self.valid_until),
        }
