"""writeoff_proposals: items proposed for write-off per as_of, with the approver role

Only an addition: nothing is renamed or dropped.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "writeoff_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("proposal_id", sa.String(length=100), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("dunning_level", sa.Integer(), nullable=False),
        sa.Column("level_since", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("base_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("approver_role", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("writeoff_proposals") as batch:
        batch.create_index(batch.f("ix_writeoff_proposals_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("writeoff_proposals") as batch:
        batch.drop_index(batch.f("ix_writeoff_proposals_as_of"))
    op.drop_table("writeoff_proposals")
