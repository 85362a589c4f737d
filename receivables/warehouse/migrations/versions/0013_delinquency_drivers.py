"""delinquency_drivers: the overdue balance split by driver per as_of

Only an addition: nothing is renamed or dropped.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delinquency_drivers",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("driver", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("share", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("avg_days_delinquent", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.PrimaryKeyConstraint("as_of", "company_code", "driver"),
    )
    with op.batch_alter_table("delinquency_drivers") as batch:
        batch.create_index(batch.f("ix_delinquency_drivers_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delinquency_drivers") as batch:
        batch.drop_index(batch.f("ix_delinquency_drivers_as_of"))
    op.drop_table("delinquency_drivers")
