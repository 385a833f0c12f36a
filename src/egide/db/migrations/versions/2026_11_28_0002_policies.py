"""Policies, their append-only transactions (hash-chained), idempotency keys.

Revision ID: 0002_policies
Revises: 0001_quotes
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0002_policies"
down_revision = "0001_quotes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("quote_number", sa.String(32), nullable=False),
        sa.Column("siret", sa.String(14), nullable=False),
        sa.Column("establishment_name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_number"], ["quotes.number"], name=op.f("fk_policies_quote_number_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("number", name=op.f("uq_policies_number")),
        sa.UniqueConstraint("quote_number", name=op.f("uq_policies_quote_number")),
    )
    op.create_index(op.f("ix_policies_siret"), "policies", ["siret"])
    op.create_table(
        "policy_transactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("retroactive_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("product_ref", sa.String(80), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("change_net_cents", sa.BigInteger(), nullable=False),
        sa.Column("change_tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("term_net_cents", sa.BigInteger(), nullable=False),
        sa.Column("term_tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_policy_transactions_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["product_ref"],
            ["product_versions.ref"],
            name=op.f("fk_policy_transactions_product_ref_product_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_transactions")),
        sa.UniqueConstraint("policy_id", "seq", name="uq_policy_transactions_policy_seq"),
    )
    op.create_index(op.f("ix_policy_transactions_policy_id"), "policy_transactions", ["policy_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(60), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_policy_transactions_policy_id"), table_name="policy_transactions")
    op.drop_table("policy_transactions")
    op.drop_index(op.f("ix_policies_siret"), table_name="policies")
    op.drop_table("policies")
