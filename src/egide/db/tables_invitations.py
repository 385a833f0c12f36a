"""Invitations to an establishment's account (token hashes only) and their explicit conversion
to the domain value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base
from egide.domain.invitation import Invitation


class InvitationRow(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    invited_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)


def invitation_row(i: Invitation) -> InvitationRow:
    return InvitationRow(
        token_hash=i.token_hash,
        organisation_id=i.organisation_id,
        email=i.email,
        invited_by=i.invited_by,
        created_at=i.created_at,
        expires_at=i.expires_at,
        accepted_at=i.accepted_at,
    )


def invitation_value(row: InvitationRow) -> Invitation:
    return Invitation(
        token_hash=row.token_hash,
        organisation_id=row.organisation_id,
        email=row.email,
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
        id=row.id,
    )
