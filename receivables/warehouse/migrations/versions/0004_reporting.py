"""reporting: kpis.unit and collector_worklist.currency

The KPI rows say what their value counts in, and the worklist's overdue amount (converted to
the base currency so customers in several currencies rank together) says which currency.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpis") as batch:
        batch.add_column(sa.Column("unit", sa.String(16), nullable=True))
    with op.batch_alter_table("collector_worklist") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collector_worklist") as batch:
        batch.drop_column("currency")
    with op.batch_alter_table("kpis") as batch:
        batch.drop_column("unit")
