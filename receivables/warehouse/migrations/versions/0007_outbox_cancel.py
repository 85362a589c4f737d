"""email_outbox: cancelled emails (cancelled_at, cancel_reason, withdrawn_by)

An email that should no longer go out is kept as status ``cancelled`` with when and why,
never deleted: the outbox is the record of what was proposed to whom.  ``withdrawn_by`` is
the run id of the corrected rerun that withdrew it, NULL when an operator cancelled it with
``receivables outbox cancel``; a later rerun that proposes the email again restores only the
former.  Only additions: nothing is renamed or dropped.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_outbox") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_outbox") as batch:
        batch.drop_column("withdrawn_by")
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
