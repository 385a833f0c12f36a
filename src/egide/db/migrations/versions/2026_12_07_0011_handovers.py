"""The hand-overs of the pre-contractual documents (IPID, fiche de devoir de conseil): one row per
document handed over, append-only, each sealed in the audit trail of its quote.

Revision ID: 0011_handovers
Revises: 0010_webhooks
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from egide.db.base import AwareDateTime

revision = "0011_handovers"
down_revision = "0010_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_handovers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("quote_number", sa.String(32), nullable=False),
        sa.Column("document", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("handed_over_at", AwareDateTime(), nullable=False),
        sa.Column("actor", sa.String(400), nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_ref", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_number"],
            ["quotes.number"],
            name=op.f("fk_document_handovers_quote_number_quotes"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_document_handovers_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_handovers")),
    )
    op.create_index(
        op.f("ix_document_handovers_quote_number"), "document_handovers", ["quote_number"]
    )


def downgrade() -> None:
    # Hand-overs are audited records (each is in its quote's chain): dropping them would leave
    # the trail naming records that no longer exist. A downgrade below 0011 is refused while
    # any is stored; export or keep the schema instead.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM document_handovers")).scalar()
    if held:
        raise RuntimeError(
            f"document_handovers holds {held} audited hand-over records: a downgrade below "
            "0011_handovers would delete them from the audit trail's view; refused"
        )
    op.drop_index(op.f("ix_document_handovers_quote_number"), table_name="document_handovers")
    op.drop_table("document_handovers")
