"""What a policy covers on a given moment: the view the claims side reads from the policy side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from egide.domain.application import Application
from egide.domain.terms import PolicyTerms


@dataclass(frozen=True)
class CoverInForce:
    policy_number: str
    status: str  # in_force | cancelled | expired | not_yet_in_force
    period_start: datetime  # aware, Europe/Paris midnight
    period_end: datetime  # aware, exclusive
    retroactive_date: date
    product_ref: str
    application: Application  # the insured's answers in force (after endorsements)
    terms: PolicyTerms  # limits, deductibles, BI periods in force
