"""provisions: the expected-credit-loss provision matrix of a close run

Per company code, segment and aging bucket (or specific provision kind) the exposure, loss
rate, provision and change against the previous month end (receivables.close.provision).
Only an addition: nothing is renamed or dropped.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("company_code", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("exposure", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("loss_rate", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("provision", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("previous_month_end", sa.Date(), nullable=False),
        sa.Column("previous_provision", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("change", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provisions") as batch:
        batch.create_index(batch.f("ix_provisions_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provisions") as batch:
        batch.drop_index(batch.f("ix_provisions_as_of"))
    op.drop_table("provisions")
