"""Bearer tokens of the HTTP API: their SHA-256 only, never the token (`egide.domain.tokens`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import AwareDateTime, Base, Timestamped
from egide.domain.access import Scope
from egide.domain.tokens import AccessToken


class ApiTokenRow(Base, Timestamped):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_clients.client_id"), index=True, default=None
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    scopes: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


def token_value(row: ApiTokenRow) -> AccessToken:
    return AccessToken(
        id=row.id,
        token_hash=row.token_hash,
        client_id=row.client_id,
        user_id=row.user_id,
        scopes=frozenset(Scope(s) for s in row.scopes) if row.scopes is not None else None,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def token_row(token: AccessToken) -> ApiTokenRow:
    return ApiTokenRow(
        token_hash=token.token_hash,
        client_id=token.client_id,
        user_id=token.user_id,
        scopes=sorted(s.value for s in token.scopes) if token.scopes is not None else None,
        created_at=token.created_at,
        expires_at=token.expires_at,
    )
