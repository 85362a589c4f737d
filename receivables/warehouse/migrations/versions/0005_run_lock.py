"""run_locks: one row per as_of while a run for that date is in progress

Two runs for the same business date must never interleave (a schedule firing while an
operator's month-end rerun is still going); the primary key on as_of makes the second one
fail at its start instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_locks",
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(255)),
    )


def downgrade() -> None:
    op.drop_table("run_locks")
