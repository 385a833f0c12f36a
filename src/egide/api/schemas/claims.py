"""The bodies of the claim routes and the claim contracts (those of ``egide claim ... --json``).

The declaration is the claim file's keys as JSON (examples/claims/*.yaml, docs/claims.md): its
structure and rules are the domain's (`egide.domain.claims.parse_declaration`), reported with
the same field names and rule codes as the CLI; here only its size is bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from egide.api.schemas.common import Amount, Out
from egide.domain.text import CODE_MAX, NUMBER_MAX


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclareIn(_In):
    policy_number: Annotated[str, Field(min_length=1, max_length=NUMBER_MAX)]
    declaration: dict[Annotated[str, Field(max_length=CODE_MAX)], Any] = Field(
        max_length=10,
        description="The claim file's keys (incident, costs, interruption, data_breach, "
        "third_party_claims, notifications); date-times as ISO 8601 text with an offset.",
    )


class PaymentIn(_In):
    amount: Amount | None = Field(
        None,
        description="Pay only this much (EUR, a number or a decimal string, a partial "
        "payment); default: what is payable now.",
    )
    final: StrictBool = Field(False, description="A final settlement: the claim is closed.")


class Deadline(Out):
    code: str
    label: str
    due_at: str
    done_at: str | None
    status: str
    status_text: str


class Line(Out):
    ref: str
    category: str
    coverage: str
    estimated: bool
    claimed: str
    covered: str
    deductible: str
    limit: str
    payable: str
    reasons: list[str]


class Claim(Out):
    """A claim today (``egide claim declare|show --json``)."""

    claim_id: str
    policy_number: str
    status: str = Field(description="open or closed")
    incident_type: str
    discovered_at: str
    declared_at: str
    covered: bool
    reasons: list[str]
    claimed_total: str
    payable_total: str
    payable_now: str
    paid_total: str
    reserve: str
    aggregate_limit: str
    remaining_aggregate: str
    lines: list[Line]
    deadlines: list[Deadline]
    payments: list[dict[str, Any]]


class ClaimSummary(Out):
    """A claim in a list (``egide claim list --json``)."""

    claim_id: str
    policy_number: str
    status: str
    discovered_at: str
    declared_at: str
    next_deadline: Deadline | None


class Clock(Out):
    """The incident clock (``egide claim clock --json``)."""

    claim_id: str
    now: str
    discovered_at: str
    deadlines: list[Deadline]


class Payment(Out):
    """A payment (``egide claim settle --json``)."""

    claim_id: str
    paid_now: str
    paid_total: str
    payable_now: str
    reserve: str
    status: str
    remaining_aggregate: str
