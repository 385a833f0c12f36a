"""Bearer tokens of the HTTP API: the SHA-256 of each token (never the token), the API client
(or user) it acts for, the scopes it was granted and when it expires.

Revision ID: 0009_api_tokens
Revises: 0008_run_principal
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0009_api_tokens"
down_revision = "0008_run_principal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(40), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("expires_at", AwareDateTime(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.client_id"],
            name=op.f("fk_api_tokens_client_id_api_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_client_id"), "api_tokens", ["client_id"])
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    op.create_index(op.f("ix_api_tokens_expires_at"), "api_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_expires_at"), table_name="api_tokens")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_index(op.f("ix_api_tokens_client_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
