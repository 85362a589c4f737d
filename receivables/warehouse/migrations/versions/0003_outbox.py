"""email outbox: what exactly-once delivery and an audit of each email need

Stage 5 (receivables.outbox) keeps in email_outbox, besides the SPEC's columns: the notice's
company code, currency, level and template; the Reply-To; the rendered message itself
(zlib-compressed, so that what was enqueued is what is sent and auditors can see it); the
mode, envelope recipients and .eml path of the last delivery step; when a test copy went to
the redirect address; and row timestamps.  An index on status serves the delivery queue.
Only additions: nothing is renamed or dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("mime_zlib", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("mode", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivered_to", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("eml_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("redirected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_email_outbox_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_email_outbox_status")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_at")
        batch_op.drop_column("redirected_at")
        batch_op.drop_column("eml_path")
        batch_op.drop_column("delivered_to")
        batch_op.drop_column("mode")
        batch_op.drop_column("mime_zlib")
        batch_op.drop_column("reply_to")
        batch_op.drop_column("template")
        batch_op.drop_column("level")
        batch_op.drop_column("currency")
        batch_op.drop_column("company_code")
