"""Users' second factors (salts only: the TOTP secrets are derived from the server key) and the
explicit conversion to the domain value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import Base
from egide.domain.mfa import UserMfa


class UserMfaRow(Base):
    __tablename__ = "user_mfa"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


def mfa_row(m: UserMfa) -> UserMfaRow:
    return UserMfaRow(
        user_id=m.user_id, salt=m.salt, enabled_at=m.enabled_at, last_step=m.last_step
    )


def mfa_value(row: UserMfaRow) -> UserMfa:
    return UserMfa(row.user_id, row.salt, row.enabled_at, row.last_step)


def update_mfa_row(row: UserMfaRow, m: UserMfa) -> None:
    row.salt, row.enabled_at, row.last_step = m.salt, m.enabled_at, m.last_step
