"""refund_proposals: credit balances proposed for refund per as_of

Net credit balances per company code, customer and currency older than the configured age
(receivables.refunds), with the documents behind them and the customer's IBAN.  Only an
addition: nothing is renamed or dropped.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("refund_id", sa.String(length=40), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("refund_proposals") as batch:
        batch.create_index(batch.f("ix_refund_proposals_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refund_proposals") as batch:
        batch.drop_index(batch.f("ix_refund_proposals_as_of"))
    op.drop_table("refund_proposals")
