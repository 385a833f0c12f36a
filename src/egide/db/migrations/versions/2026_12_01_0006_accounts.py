"""Organisations, users and API clients; the installation's insurer.

Revision ID: 0006_accounts
Revises: 0005_audit_entries
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0006_accounts"
down_revision = "0005_audit_entries"
branch_labels = None
depends_on = None

INSURER_NAME = "Égide Assurances"  # the installation's insurer; an admin may rename it later


def upgrade() -> None:
    organisations = op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("siren", sa.String(9), nullable=True),
        sa.Column("siret", sa.String(14), nullable=True),
        sa.Column("orias", sa.String(8), nullable=True),
        sa.Column("broker_id", sa.Integer(), nullable=True),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broker_id"],
            ["organisations.id"],
            name=op.f("fk_organisations_broker_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("siret", name=op.f("uq_organisations_siret")),
    )
    op.create_index(op.f("ix_organisations_kind"), "organisations", ["kind"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", AwareDateTime(), nullable=True),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"])
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("last_used_at", AwareDateTime(), nullable=True),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_clients_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    op.create_index(op.f("ix_api_clients_organisation_id"), "api_clients", ["organisation_id"])
    op.bulk_insert(
        organisations,
        [{"kind": "insurer", "name": INSURER_NAME, "created_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    op.drop_table("api_clients")
    op.drop_table("users")
    op.drop_table("organisations")
