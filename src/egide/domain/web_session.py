"""A person's session in the web application: who, since when, until when. The token itself is
never stored, only its SHA-256 (a database dump yields no usable session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WebSession:
    token_hash: str  # hex SHA-256 of the cookie's token
    user_id: int
    created_at: datetime
    expires_at: datetime  # absolute end; a disabled user's sessions end at once anyway
    id: int | None = None
