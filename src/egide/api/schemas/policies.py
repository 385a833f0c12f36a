"""The bodies of the policy routes and the policy contracts (those of ``egide policy ... --json``).

Inputs refuse unknown keys and bound their sizes; dates are ISO text (``2027-04-01``), never a
number. Whether a date, a path or a value is allowed is the domain's rule, reported with the same
field names and rule codes as the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
)

from egide.api.schemas.common import Out
from egide.api.schemas.quotes import ApplicationIn, Premium
from egide.domain.text import CODE_MAX, NOTE_MAX


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a date as text (YYYY-MM-DD)")
    return value


Day = Annotated[date, BeforeValidator(_text_only)]
Note = Annotated[str, Field(min_length=1, max_length=NOTE_MAX)]
# An endorsement's value, as the CLI's ``--set key=value`` reads it: one scalar.
Scalar = StrictBool | StrictInt | StrictFloat | Annotated[str, Field(max_length=NOTE_MAX)] | None
Path = Annotated[str, Field(min_length=1, max_length=120)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BindIn(_In):
    start: Day = Field(description="First day of the one-year period (Paris), not in the past.")
    retroactive_date: Day | None = Field(None, description="Default: the start.")


class EndorseIn(_In):
    effective: Day = Field(description="The change applies from 0 h (Paris) that day.")
    set: dict[Path, Scalar] = Field(
        min_length=1,
        max_length=100,
        description="Dotted paths of the application and their new values, as the CLI's "
        "``--set``: ``cover.*``, ``security.*`` and some of ``establishment.*``.",
        examples=[{"cover.limit": 250000, "security.edr": True}],
    )
    underwriter_note: Note | None = Field(
        None, description="An underwriter approves a referral that the change brings."
    )


class CancelIn(_In):
    effective: Day
    reason: Annotated[str, Field(max_length=CODE_MAX)] = Field(
        "insured_request", description="insured_request or non_payment"
    )


class ReinstateIn(_In):
    effective: Day


class RenewIn(_In):
    application: ApplicationIn | None = Field(
        None, description="The updated answers (the application's keys); default: those in force."
    )
    underwriter_note: Note | None = None


class BoundPolicy(Out):
    """A bound quote (``egide policy bind --json``)."""

    policy_number: str
    quote_number: str
    status: str = Field(description="not_yet_in_force, in_force or expired")
    period_start: str
    period_end: str
    retroactive_date: str
    trigger: str
    premium: Premium
    version: int = Field(description="The policy's version: its ETag.")
    idempotency_key: str | None = None


class Transaction(Out):
    """A change (``egide policy endorse|cancel|reinstate|renew --json``)."""

    policy_number: str
    transaction: int
    kind: str = Field(description="endorse, cancel, reinstate or renew")
    effective: str
    premium_change: Premium
    term_premium: Premium
    version: int = Field(description="The policy's version after the change: its ETag.")
    idempotency_key: str | None = None


class EstablishmentRef(Out):
    name: str
    siret: str


class Policy(Out):
    """A policy on a moment (``egide policy show --json``): the cover in force and the history."""

    policy_number: str
    quote_number: str
    as_of: str
    status: str
    term: int
    period_start: str
    period_end: str
    retroactive_date: str
    product: str
    establishment: EstablishmentRef
    aggregate_limit: str
    deductible: str
    annual_premium: Premium
    term_premium: Premium
    version: int
    coverages: list[dict[str, Any]]
    transactions: list[dict[str, Any]]


class PolicySummary(Out):
    """A policy in a list (``egide policy list --json``)."""

    policy_number: str
    quote_number: str
    establishment: EstablishmentRef
    status: str
    term: int
    period_start: str
    period_end: str
    annual_premium: Premium
    version: int


class DocumentLink(Out):
    kind: str = Field(examples=["conditions-particulieres-T1"])
    href: str


class Documents(Out):
    policy_number: str
    items: list[DocumentLink]
