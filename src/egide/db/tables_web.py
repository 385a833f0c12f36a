"""The web application's sessions (hashes of their tokens only) and their explicit conversion
to the domain value the repositories return."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import Base
from egide.domain.web_session import WebSession


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


def web_session_row(s: WebSession) -> WebSessionRow:
    return WebSessionRow(
        token_hash=s.token_hash, user_id=s.user_id, created_at=s.created_at, expires_at=s.expires_at
    )


def web_session_value(row: WebSessionRow) -> WebSession:
    return WebSession(
        id=row.id,
        token_hash=row.token_hash,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
