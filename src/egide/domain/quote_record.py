"""A stored quote as the services see it: a value, not a database row.

The repositories (`egide.services.ports.Quotes`) return and accept it; the row mapping is
explicit in `egide.db.tables` (`quote_value`, `quote_row`, `update_quote_row`). A change is a
new value (`dataclasses.replace`) given back to the repository's `update`, never an attribute set
on something live. `application` and `result` are the JSON documents as stored (the repository
copies them in and out, so changing one in place changes nothing stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

QUOTE_STATUSES = ("priced", "referred", "declined", "approved", "bound")


@dataclass(frozen=True)
class StoredQuote:
    number: str
    status: str  # one of QUOTE_STATUSES
    decision: str  # the engine's: accept | refer | decline
    product_ref: str
    establishment_name: str
    siret: str
    application: dict[str, Any]
    result: dict[str, Any]
    valid_until: datetime
    actor: str
    created_at: datetime
    establishment_id: int | None  # the tenant (egide.services.tenancy)
    broker_id: int | None
    review_note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    id: int = 0  # given by the repository when stored
