"""Product versions and quotes.

Revision ID: 0001_quotes
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0001_quotes"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_versions",
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("product_text", sa.Text(), nullable=False),
        sa.Column("model_text", sa.Text(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_product_versions")),
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("product_ref", sa.String(80), nullable=False),
        sa.Column("establishment_name", sa.String(200), nullable=False),
        sa.Column("siret", sa.String(14), nullable=False),
        sa.Column("application", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("valid_until", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(120), nullable=True),
        sa.Column("reviewed_at", AwareDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_ref"],
            ["product_versions.ref"],
            name=op.f("fk_quotes_product_ref_product_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", name=op.f("uq_quotes_number")),
    )
    op.create_index(op.f("ix_quotes_siret"), "quotes", ["siret"])


def downgrade() -> None:
    op.drop_index(op.f("ix_quotes_siret"), table_name="quotes")
    op.drop_table("quotes")
    op.drop_table("product_versions")
