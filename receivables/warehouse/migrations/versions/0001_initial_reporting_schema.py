"""initial reporting schema: the SPEC's warehouse tables

Frozen on purpose: later changes to receivables/warehouse/tables.py arrive as new revisions,
and tests/receivables/test_warehouse.py checks that head matches the live table definitions.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aging",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("not_due", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("d1_30", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("d31_60", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("d61_90", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("d91_120", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("d121_plus", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total_base", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.PrimaryKeyConstraint("as_of", "company_code", "customer_id", "currency"),
    )
    with op.batch_alter_table("aging", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aging_as_of"), ["as_of"], unique=False)

    op.create_table(
        "cash_applications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("applied_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("writeoff_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("discount_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cash_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cash_applications_as_of"), ["as_of"], unique=False)

    op.create_table(
        "collector_worklist",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("collector", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("overdue_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("next_action", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("as_of", "rank"),
    )
    with op.batch_alter_table("collector_worklist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collector_worklist_as_of"), ["as_of"], unique=False)

    op.create_table(
        "dunning_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("notice_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=False),
        sa.Column("previous_level", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("open_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dunning_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_items_as_of"), ["as_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_dunning_items_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "dunning_notices",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("notice_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("overdue_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fees", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("interest", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("notice_id"),
    )
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_notices_as_of"), ["as_of"], unique=False)

    op.create_table(
        "email_outbox",
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("notice_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_outbox_as_of"), ["as_of"], unique=False)

    op.create_table(
        "kpis",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.PrimaryKeyConstraint("as_of", "company_code", "kpi"),
    )
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpis_as_of"), ["as_of"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("extract", sa.String(length=32), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_as_of"), ["as_of"], unique=False)

    op.create_table(
        "run_log",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("mapping", sa.String(length=100), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=True),
        sa.Column("input_hashes", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_log_as_of"), ["as_of"], unique=False)

    op.create_table(
        "unapplied_cash",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("remaining_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unapplied_cash", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unapplied_cash_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unapplied_cash", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unapplied_cash_as_of"))

    op.drop_table("unapplied_cash")
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_log_as_of"))

    op.drop_table("run_log")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_as_of"))

    op.drop_table("quarantine")
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpis_as_of"))

    op.drop_table("kpis")
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_outbox_as_of"))

    op.drop_table("email_outbox")
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_notices_as_of"))

    op.drop_table("dunning_notices")
    with op.batch_alter_table("dunning_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_items_notice_id"))
        batch_op.drop_index(batch_op.f("ix_dunning_items_as_of"))

    op.drop_table("dunning_items")
    with op.batch_alter_table("collector_worklist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collector_worklist_as_of"))

    op.drop_table("collector_worklist")
    with op.batch_alter_table("cash_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_applications_as_of"))

    op.drop_table("cash_applications")
    with op.batch_alter_table("aging", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aging_as_of"))

    op.drop_table("aging")
