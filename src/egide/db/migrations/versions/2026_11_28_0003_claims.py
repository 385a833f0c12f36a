"""Claims, their payments and their history.

Revision ID: 0003_claims
Revises: 0002_policies
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0003_claims"
down_revision = "0002_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("policy_number", sa.String(32), nullable=False),
        sa.Column("term_start", AwareDateTime(), nullable=False),
        sa.Column("term_end", AwareDateTime(), nullable=False),
        sa.Column("product_ref", sa.String(80), nullable=False),
        sa.Column("establishment_kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("declaration", sa.JSON(), nullable=False),
        sa.Column("discovered_at", AwareDateTime(), nullable=False),
        sa.Column("declared_at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_number"], ["policies.number"], name=op.f("fk_claims_policy_number_policies")
        ),
        sa.ForeignKeyConstraint(
            ["product_ref"],
            ["product_versions.ref"],
            name=op.f("fk_claims_product_ref_product_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("number", name=op.f("uq_claims_number")),
    )
    op.create_index(op.f("ix_claims_policy_number"), "claims", ["policy_number"])
    op.create_table(
        "claim_payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("policy_number", sa.String(32), nullable=False),
        sa.Column("term_start", AwareDateTime(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("paid_at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_payments_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_payments")),
    )
    op.create_index(op.f("ix_claim_payments_claim_id"), "claim_payments", ["claim_id"])
    op.create_index(op.f("ix_claim_payments_policy_number"), "claim_payments", ["policy_number"])
    op.create_table(
        "claim_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_events_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_events")),
        sa.UniqueConstraint("claim_id", "seq", name="uq_claim_events_claim_seq"),
    )
    op.create_index(op.f("ix_claim_events_claim_id"), "claim_events", ["claim_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_events_claim_id"), table_name="claim_events")
    op.drop_table("claim_events")
    op.drop_index(op.f("ix_claim_payments_policy_number"), table_name="claim_payments")
    op.drop_index(op.f("ix_claim_payments_claim_id"), table_name="claim_payments")
    op.drop_table("claim_payments")
    op.drop_index(op.f("ix_claims_policy_number"), table_name="claims")
    op.drop_table("claims")
