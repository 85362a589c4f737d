"""dunning state: notice and item details, skips, broken promises, dunning runs

Stage 4 (receivables.dunning) writes, per as_of: the notices with the credits netted, the
policy, template and language the Remind stage needs; the items with what the notice shows
(dates, reference, original amount) and their interest and fee; the overdue items skipped
and why; the broken promises; and one dunning_runs row, so that the latest dunning date is
known even when a run produced no notice.  Only additions: nothing is renamed or dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broken_promises",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("promise_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("document_no", sa.String(length=64), nullable=True),
        sa.Column("promised_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("covered_open_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("broken_promises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broken_promises_as_of"), ["as_of"], unique=False)

    op.create_table(
        "dunning_runs",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("broken_promises", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("as_of"),
    )
    op.create_table(
        "dunning_skips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("document_no", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("open_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dunning_skips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_skips_as_of"), ["as_of"], unique=False)

    with op.batch_alter_table("dunning_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("document_type", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reference", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(
            sa.Column("interest", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("fee", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False))
        batch_op.create_index("ix_dunning_items_document", ["company_code", "document_no", "as_of"], unique=False)

    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit_amount", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("policy", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("template")
        batch_op.drop_column("policy")
        batch_op.drop_column("credit_amount")

    with op.batch_alter_table("dunning_items", schema=None) as batch_op:
        batch_op.drop_index("ix_dunning_items_document")
        batch_op.drop_column("fee")
        batch_op.drop_column("interest")
        batch_op.drop_column("amount")
        batch_op.drop_column("reference")
        batch_op.drop_column("due_date")
        batch_op.drop_column("document_date")
        batch_op.drop_column("document_type")
        batch_op.drop_column("currency")
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("dunning_skips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_skips_as_of"))

    op.drop_table("dunning_skips")
    op.drop_table("dunning_runs")
    with op.batch_alter_table("broken_promises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broken_promises_as_of"))

    op.drop_table("broken_promises")
