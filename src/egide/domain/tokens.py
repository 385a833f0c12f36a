"""Bearer tokens of the HTTP API as domain values: only the SHA-256 of a token is ever held.

A token is 256 random bits (`egide.services.tokens`): it cannot be guessed, so a fast hash is
enough at rest, as for API client secrets; a database dump yields hashes, not usable tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from egide.domain.access import Scope


@dataclass(frozen=True)
class AccessToken:
    id: int
    token_hash: str  # hex SHA-256 of the token
    client_id: str | None  # the API client's public id (client credentials)
    user_id: int | None  # or the user's (a session of the web application)
    scopes: frozenset[Scope] | None  # a client's token: the scopes it was granted
    created_at: datetime
    expires_at: datetime

    def expired(self, moment: datetime) -> bool:
        return moment >= self.expires_at
