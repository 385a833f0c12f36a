"""Users' second factor (TOTP): the salt each secret is derived from with the server key (the
database alone yields no secret), when it was confirmed, and the last time step accepted.

Revision ID: 0013_user_mfa
Revises: 0012_web_sessions
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0013_user_mfa"
down_revision = "0012_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_mfa",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("enabled_at", AwareDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_mfa_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_mfa")),
    )


def downgrade() -> None:
    op.drop_table("user_mfa")
