"""Who started a portfolio run: the principal's description as history records it, the user's id
or the API client's, and the organisation. The runs saved before have NULL there (they were
started by whoever ran the CLI, recorded only by the free-text `actor`), so their audit digest
is unchanged (`egide.services.audit.run_content` leaves the NULL columns out).

Revision ID: 0008_run_principal
Revises: 0007_tenancy
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_run_principal"
down_revision = "0007_tenancy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portfolio_runs") as batch:
        batch.add_column(sa.Column("started_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("started_by_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("started_by_client_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("started_by_organisation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_portfolio_runs_started_by_user_id_users"),
            "users",
            ["started_by_user_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_portfolio_runs_started_by_organisation_id_organisations"),
            "organisations",
            ["started_by_organisation_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("portfolio_runs") as batch:
        batch.drop_constraint(
            op.f("fk_portfolio_runs_started_by_organisation_id_organisations"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("fk_portfolio_runs_started_by_user_id_users"), type_="foreignkey"
        )
        batch.drop_column("started_by_organisation_id")
        batch.drop_column("started_by_client_id")
        batch.drop_column("started_by_user_id")
        batch.drop_column("started_by")
