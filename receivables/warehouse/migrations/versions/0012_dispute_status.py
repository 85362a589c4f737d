"""dispute_status: the disputes' lifecycle per as_of (target date, breach, escalation), and
the disputed part of a dunned item

A dispute now blocks only its amount of an item; ``dunning_items.disputed_amount`` is the
part of the item's open amount not claimed on the notice.  Only additions: nothing is
renamed or dropped.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispute_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("days_to_resolve", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispute_status") as batch:
        batch.create_index(batch.f("ix_dispute_status_as_of"), ["as_of"], unique=False)
    with op.batch_alter_table("dunning_items") as batch:
        batch.add_column(
            sa.Column("disputed_amount", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("dunning_items") as batch:
        batch.drop_column("disputed_amount")
    with op.batch_alter_table("dispute_status") as batch:
        batch.drop_index(batch.f("ix_dispute_status_as_of"))
    op.drop_table("dispute_status")
