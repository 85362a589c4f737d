"""payment_plan_status and plan_events: the payment plans' state and history, per as_of

The optional ``payment_plans`` and ``plan_instalments`` extracts (SPEC "Collections casework
between nights") say which documents a plan covers and what is due by when; a run stores each
plan's status that night (current, completed, broken, with what was due and paid) and the
events up to then (agreed, instalment met or missed, completed, broken).  Only an addition:
nothing is renamed or dropped.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_plan_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("covered_open_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("due_to_date", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("paid_to_date", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("next_due_date", sa.Date(), nullable=True),
        sa.Column("next_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("missed_seq", sa.Integer(), nullable=True),
        sa.Column("amount_at_risk", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_plan_status") as batch:
        batch.create_index(batch.f("ix_payment_plan_status_as_of"), ["as_of"], unique=False)
    op.create_table(
        "plan_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_events") as batch:
        batch.create_index(batch.f("ix_plan_events_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_events") as batch:
        batch.drop_index(batch.f("ix_plan_events_as_of"))
    op.drop_table("plan_events")
    with op.batch_alter_table("payment_plan_status") as batch:
        batch.drop_index(batch.f("ix_payment_plan_status_as_of"))
    op.drop_table("payment_plan_status")
