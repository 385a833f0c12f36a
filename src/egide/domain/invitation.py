"""An invitation to join an establishment's account: who is invited, by whom, until when. The
token itself is never stored, only its SHA-256; an invitation is used once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Invitation:
    token_hash: str
    organisation_id: int
    email: str
    invited_by: str  # the inviting principal, as history records it
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    id: int = 0
