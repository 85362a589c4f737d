"""collection_cases, case_events, collector_kpis, and the worklist's case columns

A collection case per customer and company code lasts from the night something needs a
person until it is done (SPEC "Collections casework between nights"); a run stores the cases
open or closed that night, what happened to them, and the collector view.  The worklist rows
now come from the cases and say which case, its stage and its action's dates.  Only additions:
nothing is renamed or dropped.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_WORKLIST = (
    ("case_id", sa.String(length=120)),
    ("stage", sa.String(length=16)),
    ("next_action_due", sa.Date()),
    ("days_overdue", sa.Integer()),
    ("last_contact_on", sa.Date()),
    ("last_outcome", sa.String(length=32)),
    ("sla_breached", sa.Boolean()),
)


def _run_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "collection_cases",
        *_run_columns(),
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("stage_since", sa.Date(), nullable=False),
        sa.Column("action_since", sa.Date(), nullable=True),
        sa.Column("next_action", sa.String(length=32), nullable=True),
        sa.Column("next_action_due", sa.Date(), nullable=True),
        sa.Column("days_action_overdue", sa.Integer(), nullable=False),
        sa.Column("sla_due", sa.Date(), nullable=True),
        sa.Column("sla_breached", sa.Boolean(), nullable=False),
        sa.Column("last_contact_on", sa.Date(), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("overdue_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collection_cases") as batch:
        batch.create_index(batch.f("ix_collection_cases_as_of"), ["as_of"], unique=False)
        batch.create_index("ix_collection_cases_account", ["company_code", "customer_id", "as_of"], unique=False)
    op.create_table(
        "case_events",
        *_run_columns(),
        sa.Column("case_id", sa.String(length=120), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_events") as batch:
        batch.create_index(batch.f("ix_case_events_as_of"), ["as_of"], unique=False)
    op.create_table(
        "collector_kpis",
        *_run_columns(),
        sa.Column("collector", sa.String(length=200), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.Column("actions_due", sa.Integer(), nullable=False),
        sa.Column("actions_overdue", sa.Integer(), nullable=False),
        sa.Column("actions_done", sa.Integer(), nullable=False),
        sa.Column("sla_breaches", sa.Integer(), nullable=False),
        sa.Column("promises_kept_pct", sa.Float(), nullable=True),
        sa.Column("contacts_per_day", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collector_kpis") as batch:
        batch.create_index(batch.f("ix_collector_kpis_as_of"), ["as_of"], unique=False)
    with op.batch_alter_table("collector_worklist") as batch:
        for name, kind in _WORKLIST:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collector_worklist") as batch:
        for name, _ in reversed(_WORKLIST):
            batch.drop_column(name)
    for table in ("collector_kpis", "case_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(batch.f(f"ix_{table}_as_of"))
        op.drop_table(table)
    with op.batch_alter_table("collection_cases") as batch:
        batch.drop_index("ix_collection_cases_account")
        batch.drop_index(batch.f("ix_collection_cases_as_of"))
    op.drop_table("collection_cases")
