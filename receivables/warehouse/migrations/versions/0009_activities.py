"""activities: the collectors' contact log, per as_of

The optional ``activities`` extract (SPEC "Collections casework between nights") records each
call, email, letter, meeting or portal message with its outcome; a ``PROMISE`` outcome is a
promise to pay like a row of ``promises``.  A run stores the accepted rows of its as_of, so
the contact history behind a night's decisions can be audited and replayed.  Only an
addition: nothing is renamed or dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("collector", sa.String(length=200), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("promised_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_contact_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activities") as batch:
        batch.create_index(batch.f("ix_activities_as_of"), ["as_of"], unique=False)
        batch.create_index("ix_activities_account", ["company_code", "customer_id", "occurred_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_index("ix_activities_account")
        batch.drop_index(batch.f("ix_activities_as_of"))
    op.drop_table("activities")
