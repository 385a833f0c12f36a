"""The application (the body of ``POST /api/v1/quotes``: the YAML file's keys as JSON, see
docs/application.md) and the quote contracts (those of ``egide quote price --json``).

The input schema bounds types and sizes and refuses unknown keys; which answers are required,
their ranges and how they relate are the domain's rules (`egide.domain.application`), reported
all at once with the same field names and rule codes as the CLI. Numbers and booleans are
strict: ``"true"`` is not a boolean and ``1`` is not ``true``, as in the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from egide.api.schemas.common import Out
from egide.domain.text import CITY_MAX, CODE_MAX, NAME_MAX, SHORT_TEXT_MAX

Code = Annotated[str, Field(max_length=CODE_MAX)]
Count = StrictInt
Share = StrictInt | StrictFloat
Money = StrictInt | StrictFloat | Annotated[str, Field(max_length=40)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EstablishmentIn(_In):
    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    type: Code | None = Field(
        None,
        description="cabinet_medical, centre_de_sante, pharmacie, laboratoire, imagerie, "
        "clinique, hopital or ehpad",
    )
    siret: Code | None = Field(None, description="14 digits with a valid check digit.")
    finess: Code | None = None
    annual_revenue: Money | None = None
    employees: Count | None = None
    beds: Count | None = None
    patient_records: Count | None = None
    postcode: Code | None = None
    city: Annotated[str, Field(max_length=CITY_MAX)] | None = None
    nis2_category: Code | None = None


class SecurityIn(_In):
    mfa_remote_access: StrictBool | None = None
    mfa_email: StrictBool | None = None
    edr: StrictBool | None = None
    offline_backups: StrictBool | None = None
    backup_restore_tested: StrictBool | None = None
    hds_hosting: StrictBool | None = None
    critical_patch_days: Count | None = None
    medical_devices_segmented: StrictBool | None = None
    phishing_training: StrictBool | None = None
    incident_response_plan: StrictBool | None = None
    security_budget_share: Share | None = None
    pgssi_s_compliant: StrictBool | None = None
    care_programme: StrictBool | None = None
    crisis_exercise: StrictBool | None = None


class HistoryIn(_In):
    incidents_last_5_years: Count | None = None
    ransomware_last_5_years: Count | None = None
    known_circumstances: StrictBool | None = None


Vendor = Annotated[str, Field(max_length=SHORT_TEXT_MAX)]


class TechnologyIn(_In):
    software_vendor: Vendor | None = None
    cloud_host: Vendor | None = None
    email_vendor: Vendor | None = None
    remote_access_vendor: Vendor | None = None


class CoverIn(_In):
    limit: Money | None = None
    deductible: Money | None = None
    sublimits: Annotated[dict[Code, Money], Field(max_length=20)] | None = None


class ApplicationIn(_In):
    """An application, as the YAML file of ``egide quote price``."""

    establishment: EstablishmentIn | None = None
    security: SecurityIn | None = None
    history: HistoryIn | None = None
    technology: TechnologyIn | None = None
    cover: CoverIn | None = None

    def data(self) -> dict[str, Any]:
        """The answers given, as the domain reads a file: keys left out stay out."""
        return self.model_dump(exclude_unset=True)


class Reason(Out):
    code: str
    message: str


class Premium(Out):
    net: str
    tax: str
    total: str


class PricedQuote(Out):
    """A priced application (``egide quote price --json``); nothing stored."""

    product: str
    model_version: str | int
    establishment: dict[str, Any]
    decision: str = Field(description="accept, refer or decline")
    decision_label: str
    reasons: list[Reason]
    security_score: int | float
    coverages: list[dict[str, Any]]
    aggregate_limit: str
    deductible: str
    premium: Premium
    recommendations: list[dict[str, Any]]


class Review(Out):
    by: str
    at: str | None
    note: str | None


class Quote(PricedQuote):
    """A stored quote (``egide quote show --json``)."""

    quote_number: str
    status: str = Field(description="priced, referred, declined, approved or bound")
    created_at: str
    valid_until: str
    establishment_id: int | None
    broker_id: int | None
    review: Review | None = None


class EstablishmentRef(Out):
    name: str
    siret: str


class QuoteSummary(Out):
    """A quote in a list (``egide quote list --json``)."""

    quote_number: str
    status: str
    decision: str
    establishment: EstablishmentRef
    establishment_id: int | None
    broker_id: int | None
    product: str
    premium_total: str | None
    created_at: str
    valid_until: str
