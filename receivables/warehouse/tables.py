"""The reporting schema users query (SPEC "Warehouse tables"): names and key columns are a
contract with BI tools and auditors.  Change them only with an Alembic migration.

Money is ``NUMERIC(18, 2)``; every table a run writes carries ``as_of`` and ``run_id``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Money = sa.Numeric(18, 2, asdecimal=True)


def _run_columns() -> list[sa.Column]:
    return [
        sa.Column("as_of", sa.Date, nullable=False, index=True),
        sa.Column("run_id", sa.String(36), nullable=False),
    ]


run_log = sa.Table(
    "run_log",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("flow_run_id", sa.String(36)),
    sa.Column("as_of", sa.Date, nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("source", sa.Text),
    sa.Column("mapping", sa.String(100)),
    sa.Column("counts", sa.JSON),
    sa.Column("timings", sa.JSON),
    sa.Column("input_hashes", sa.JSON),
    sa.Column("error", sa.Text),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("extract", sa.String(32), nullable=False),
    sa.Column("file", sa.Text),
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.Column("column", sa.String(200), nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
)

cash_applications = sa.Table(
    "cash_applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("payment_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("document_no", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("applied_amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("writeoff_amount", Money, nullable=False),
    sa.Column("discount_amount", Money, nullable=False),
)

unapplied_cash = sa.Table(
    "unapplied_cash",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("payment_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16)),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("remaining_amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("value_date", sa.Date),
)

dunning_notices = sa.Table(
    "dunning_notices",
    metadata,
    *_run_columns(),
    sa.Column("notice_id", sa.String(64), primary_key=True),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("overdue_amount", Money, nullable=False),
    sa.Column("fees", Money, nullable=False),
    sa.Column("interest", Money, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
)

dunning_items = sa.Table(
    "dunning_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("notice_id", sa.String(64), nullable=False, index=True),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("document_no", sa.String(64), nullable=False),
    sa.Column("previous_level", sa.Integer, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("days_past_due", sa.Integer, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
)

email_outbox = sa.Table(
    "email_outbox",
    metadata,
    sa.Column("idempotency_key", sa.String(64), primary_key=True),
    *_run_columns(),
    sa.Column("notice_id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(255)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("error", sa.Text),
)

aging = sa.Table(
    "aging",
    metadata,
    *_run_columns(),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("not_due", Money, nullable=False),
    sa.Column("d1_30", Money, nullable=False),
    sa.Column("d31_60", Money, nullable=False),
    sa.Column("d61_90", Money, nullable=False),
    sa.Column("d91_120", Money, nullable=False),
    sa.Column("d121_plus", Money, nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("total_base", Money),
    sa.PrimaryKeyConstraint("as_of", "company_code", "customer_id", "currency"),
)

kpis = sa.Table(
    "kpis",
    metadata,
    *_run_columns(),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("kpi", sa.String(64), nullable=False),
    sa.Column("value", sa.Numeric(20, 4)),
    sa.PrimaryKeyConstraint("as_of", "company_code", "kpi"),
)

collector_worklist = sa.Table(
    "collector_worklist",
    metadata,
    *_run_columns(),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(200)),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("overdue_amount", Money, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("next_action", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("as_of", "rank"),
)
