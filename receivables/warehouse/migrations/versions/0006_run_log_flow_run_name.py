"""run_log.flow_run_name: the Prefect flow run's name (``ar-2026-11-20-send``)

The run history is read by people: the name the Prefect UI shows is what they look for,
not a UUID.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_log") as batch:
        batch.add_column(sa.Column("flow_run_name", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("run_log") as batch:
        batch.drop_column("flow_run_name")
