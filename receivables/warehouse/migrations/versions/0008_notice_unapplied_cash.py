"""dunning_notices.unapplied_amount: the customer's own unapplied payments beside a notice

A customer whose payments cash application could not allocate is not reminded while they
cover its net overdue amount (the items are skipped as ``UNAPPLIED_CASH``); when they cover
part of it the notice carries the amount, and the letter names it and asks for remittance
details.  Only an addition, with 0 for the notices written before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dunning_notices") as batch:
        batch.add_column(
            sa.Column("unapplied_amount", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("dunning_notices") as batch:
        batch.drop_column("unapplied_amount")
