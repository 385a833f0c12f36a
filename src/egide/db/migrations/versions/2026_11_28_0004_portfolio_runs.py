"""Saved portfolio simulations.

Revision ID: 0004_portfolio_runs
Revises: 0003_claims
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0004_portfolio_runs"
down_revision = "0003_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portfolio_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("book_source", sa.String(500), nullable=False),
        sa.Column("book_sha256", sa.String(64), nullable=False),
        sa.Column("policies", sa.Integer(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("block_years", sa.Integer(), nullable=False),
        sa.Column("product_ref", sa.String(80), nullable=False),
        sa.Column("risk_model_sha256", sa.String(64), nullable=False),
        sa.Column("systemic_model", sa.String(80), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_portfolio_runs_run_id")),
    )


def downgrade() -> None:
    op.drop_table("portfolio_runs")
