"""handovers: the handover packages exported per agency

Only an addition: nothing is renamed or dropped.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("handover_id", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("files", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handovers") as batch:
        batch.create_index(batch.f("ix_handovers_as_of"), ["as_of"], unique=False)
        batch.create_index(batch.f("ix_handovers_handover_id"), ["handover_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handovers") as batch:
        batch.drop_index(batch.f("ix_handovers_handover_id"))
        batch.drop_index(batch.f("ix_handovers_as_of"))
    op.drop_table("handovers")
