"""A stored claim, its events and its payments as the services see them: values, not rows.

The repositories (`egide.services.ports.Claims`) return and accept them; the row mapping is
explicit in `egide.db.tables_claims` (``claim_value``, ``claim_row``, ``update_claim_row`` and
the same for events and payments). A change is a new value (`dataclasses.replace`) given back
to the repository's ``update``, never an attribute set on something live.

The declaration is kept as the validated plain data it is stored as (`Declaration.to_data()`;
`declared()` reads it back as a `Declaration`), and an event's ``data`` as its JSON document:
their stored text is what the audit trail digests, whichever version of Égide wrote it, and a
reading that re-validated them could not say "this row was altered" without failing first.
Payments carry their amount as Decimal euros (stored as whole cents: `amount_cents`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from egide.domain.claims import Declaration, parse_declaration

CLAIM_STATUSES = ("open", "closed")
PAYMENT_KINDS = ("partial", "final")
EVENT_KINDS = ("declared", "amended", "paid", "closed", "reopened")


@dataclass(frozen=True)
class StoredClaim:
    number: str
    policy_number: str
    term_start: datetime  # start of the policy period the claim falls in (claims-made)
    term_end: datetime
    product_ref: str
    establishment_kind: str
    status: str  # one of CLAIM_STATUSES
    declaration: dict[str, Any]  # `Declaration.to_data()`, as stored
    discovered_at: datetime
    declared_at: datetime
    actor: str
    created_at: datetime
    establishment_id: int | None  # the tenant (egide.services.tenancy)
    broker_id: int | None
    version: int = 0  # the number of its events; each change adds one
    id: int = 0  # given by the repository when stored

    def declared(self) -> Declaration:
        """The stored declaration, validated (`InvalidInput` naming the claim if it is not)."""
        return parse_declaration(copy.deepcopy(self.declaration), f"claim {self.number}")


@dataclass(frozen=True)
class ClaimEvent:
    """What happened to a claim, in order (append-only)."""

    claim_id: int
    seq: int  # 1, 2, ...: the claim's version once the event is recorded
    kind: str  # one of EVENT_KINDS
    at: datetime
    actor: str
    data: dict[str, Any]  # what the event carries (the patch, the amount...), as stored
    note: str | None = None
    id: int = 0


@dataclass(frozen=True)
class ClaimPayment:
    """One payment (never changed, never deleted). It names the policy and the start of its
    term, so that what the annual aggregate has lost is one sum."""

    claim_id: int
    policy_number: str
    term_start: datetime
    amount: Decimal  # euros, whole cents
    kind: str  # one of PAYMENT_KINDS
    paid_at: datetime
    actor: str
    id: int = 0

    @property
    def amount_cents(self) -> int:
        """The amount as stored: whole cents (ValueError for a fraction of a cent)."""
        scaled = self.amount.scaleb(2)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"a payment of {self.amount} EUR is not a whole number of cents")
        return int(scaled)
