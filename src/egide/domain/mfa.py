"""A user's second factor (TOTP, RFC 6238): the random salt its secret is derived from, when it
was confirmed, and the last time step accepted (a code is accepted once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UserMfa:
    user_id: int
    salt: str  # hex; the secret is HMAC(server key, salt), so the database alone yields none
    enabled_at: datetime | None  # None: enrolment started, not confirmed
    last_step: int  # the last TOTP time step accepted (0: none yet)
