"""The reporting schema users query (SPEC "Warehouse tables"): names and key columns are a
contract with BI tools and auditors.  Change them only with an Alembic migration.

Money is ``NUMERIC(18, 2)``; every table a run writes carries ``as_of`` and ``run_id``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Money = sa.Numeric(18, 2, asdecimal=True)


def in_cents(column: sa.ColumnElement) -> sa.ColumnElement:
    """A money column read back as whole cents, converted by the database (no Decimal per row).

    On PostgreSQL's exact NUMERIC(18, 2) ROUND(x * 100) is the value itself; on SQLite's float
    storage of a two-place amount x * 100 is within far less than half a cent of it, so ROUND
    (half away from zero, as ``money.to_cents``'s half-up) lands on the same integer."""
    return sa.cast(sa.func.round(column * 100), sa.BigInteger).label(column.name)


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
    sa.Column("flow_run_name", sa.String(200)),
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
    # 0002: credits netted against the overdue amount (<= 0), and what the Remind stage needs
    sa.Column("credit_amount", Money, nullable=False, server_default="0"),
    # 0008: the customer's unapplied payments that cover part of the overdue amount
    sa.Column("unapplied_amount", Money, nullable=False, server_default="0"),
    sa.Column("policy", sa.String(64)),
    sa.Column("template", sa.String(64)),
    sa.Column("language", sa.String(8)),
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
    # 0002: the item as the notice shows it, and its charges
    sa.Column("customer_id", sa.String(64)),
    sa.Column("currency", sa.String(3)),
    sa.Column("document_type", sa.String(8)),
    sa.Column("document_date", sa.Date),
    sa.Column("due_date", sa.Date),
    sa.Column("reference", sa.Text),
    sa.Column("amount", Money),
    sa.Column("interest", Money, nullable=False, server_default="0"),
    sa.Column("fee", Money, nullable=False, server_default="0"),
    # 0012: the part of open_amount open disputes block (not claimed on the notice)
    sa.Column("disputed_amount", Money, nullable=False, server_default="0"),
    # the dunning state: the latest level of an item before a date, from the index alone (0019)
    sa.Index("ix_dunning_items_document_level", "company_code", "document_no", "as_of", "level"),
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
    # 0003: what exactly-once delivery and an audit of each email need (receivables.outbox)
    sa.Column("company_code", sa.String(16)),
    sa.Column("currency", sa.String(3)),
    sa.Column("level", sa.Integer),
    sa.Column("template", sa.String(64)),
    sa.Column("reply_to", sa.Text),
    #: the rendered message (zlib-compressed RFC 5322 bytes) without Date and Message-ID,
    #: which are added when it goes out: what was enqueued is what is sent
    sa.Column("mime_zlib", sa.LargeBinary),
    #: preview / redirect / send: the mode of the last delivery step
    sa.Column("mode", sa.String(16)),
    #: the envelope recipients of the last attempt (the test address in redirect mode)
    sa.Column("delivered_to", sa.Text),
    sa.Column("eml_path", sa.Text),
    sa.Column("redirected_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    # 0007: an email withdrawn before it went out (status ``cancelled``): when, why, and the
    # rerun that withdrew it (NULL when an operator cancelled it: a rerun never undoes that)
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("withdrawn_by", sa.String(36)),
    sa.Index("ix_email_outbox_status", "status"),
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
    # 0004: what the value counts in (days, percent, the base currency, count)
    sa.Column("unit", sa.String(16)),
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
    # 0004: overdue_amount is converted to this (base) currency
    sa.Column("currency", sa.String(3)),
    # 0011: the collection case the row comes from, and its action's dates
    sa.Column("case_id", sa.String(120)),
    sa.Column("stage", sa.String(16)),
    sa.Column("next_action_due", sa.Date),
    sa.Column("days_overdue", sa.Integer),
    sa.Column("last_contact_on", sa.Date),
    sa.Column("last_outcome", sa.String(32)),
    sa.Column("sla_breached", sa.Boolean),
    sa.PrimaryKeyConstraint("as_of", "rank"),
)


# --- dunning state (stage 4, migration 0002) ---------------------------------------------------

#: one row per as_of the dunning stage ran for, also when it produced no notice: the rule
#: "a run for a date earlier than the latest changes no dunning state" needs the latest date
dunning_runs = sa.Table(
    "dunning_runs",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("notices", sa.Integer, nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("broken_promises", sa.Integer, nullable=False),
)

#: overdue items that were not dunned or did not advance, and why (auditors ask)
dunning_skips = sa.Table(
    "dunning_skips",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("document_no", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("currency", sa.String(3)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("days_past_due", sa.Integer, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
)

#: promises to pay whose date and grace passed with less than the promised amount paid
broken_promises = sa.Table(
    "broken_promises",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("promise_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("document_no", sa.String(64)),
    sa.Column("promised_amount", Money, nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("covered_open_amount", Money, nullable=False),
)


# --- collections casework (SPEC "Collections casework between nights") ------------------------

#: the collectors' contact log as the night's ``activities`` extract held it (accepted rows;
#: migration 0009): auditors and the casework read who talked to whom, when, and what came of it
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("activity_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("collector", sa.String(200)),
    sa.Column("occurred_on", sa.Date, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("promised_amount", Money),
    sa.Column("promised_date", sa.Date),
    sa.Column("note", sa.Text),
    sa.Column("next_contact_on", sa.Date),
    # an account's contact history, newest first, is the question a collector asks
    sa.Index("ix_activities_account", "company_code", "customer_id", "occurred_on"),
)

#: every payment plan agreed by as_of and its state that night (migration 0010): current plans
#: pause the dunning of their documents, broken ones resume it and go to the worklist
payment_plan_status = sa.Table(
    "payment_plan_status",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("covered_open_amount", Money, nullable=False),
    sa.Column("due_to_date", Money, nullable=False),
    sa.Column("paid_to_date", Money, nullable=False),
    sa.Column("next_due_date", sa.Date),
    sa.Column("next_amount", Money),
    sa.Column("missed_seq", sa.Integer),
    sa.Column("amount_at_risk", Money, nullable=False),
)

#: what happened to each plan up to as_of (agreed, instalments met or missed, completed,
#: broken; migration 0010), derived from the night's extracts so a rerun writes the same rows
plan_events = sa.Table(
    "plan_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("seq", sa.Integer),
    sa.Column("amount", Money),
    sa.Column("on_date", sa.Date, nullable=False),
)

#: one row per collection case open on as_of or closed on it (migration 0011): the case a
#: collector works on, carried from night to night (receivables.casework)
collection_cases = sa.Table(
    "collection_cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("case_id", sa.String(120), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(200)),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("stage_since", sa.Date, nullable=False),
    sa.Column("action_since", sa.Date),
    sa.Column("next_action", sa.String(32)),
    sa.Column("next_action_due", sa.Date),
    sa.Column("days_action_overdue", sa.Integer, nullable=False),
    sa.Column("sla_due", sa.Date),
    sa.Column("sla_breached", sa.Boolean, nullable=False),
    sa.Column("last_contact_on", sa.Date),
    sa.Column("last_outcome", sa.String(32)),
    # in the base currency, like the worklist
    sa.Column("overdue_amount", Money, nullable=False),
    sa.Column("currency", sa.String(3)),
    sa.Column("closed_on", sa.Date),
    sa.Column("close_reason", sa.String(16)),
    sa.Column("detail", sa.Text),
    sa.Index("ix_collection_cases_account", "company_code", "customer_id", "as_of"),
)

#: what happened to the cases on as_of (migration 0011): opened, stage changed, contact
#: recorded, SLA breached, closed
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("case_id", sa.String(120), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("from_stage", sa.String(16)),
    sa.Column("to_stage", sa.String(16)),
    sa.Column("detail", sa.Text),
)

#: the collector view per as_of (migration 0011): workload and results per collector
collector_kpis = sa.Table(
    "collector_kpis",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("collector", sa.String(200), nullable=False),
    sa.Column("open_cases", sa.Integer, nullable=False),
    sa.Column("actions_due", sa.Integer, nullable=False),
    sa.Column("actions_overdue", sa.Integer, nullable=False),
    sa.Column("actions_done", sa.Integer, nullable=False),
    sa.Column("sla_breaches", sa.Integer, nullable=False),
    sa.Column("promises_kept_pct", sa.Float),
    sa.Column("contacts_per_day", sa.Float, nullable=False),
)

#: every dispute of the extract opened by as_of, its lifecycle that night (migration 0012):
#: target date by reason code, breach, escalation tier reached (receivables.disputes)
dispute_status = sa.Table(
    "dispute_status",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("dispute_id", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("document_no", sa.String(64)),
    sa.Column("reason_code", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(200)),
    sa.Column("amount", Money, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("age_days", sa.Integer, nullable=False),
    sa.Column("target_date", sa.Date, nullable=False),
    sa.Column("breached", sa.Boolean, nullable=False),
    sa.Column("escalation_level", sa.Integer, nullable=False),
    sa.Column("resolved_on", sa.Date),
    sa.Column("days_to_resolve", sa.Integer),
)

#: the overdue balance split by driver per company code (migration 0013,
#: receivables.delinquency): amounts in the base currency, adding up to the KPI ar_overdue
delinquency_drivers = sa.Table(
    "delinquency_drivers",
    metadata,
    *_run_columns(),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("driver", sa.String(32), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("share", sa.Numeric(9, 4)),
    sa.Column("avg_days_delinquent", sa.Numeric(12, 4)),
    sa.PrimaryKeyConstraint("as_of", "company_code", "driver"),
)

#: net credit balances old enough to pay back, one per company code, customer and currency
#: (migration 0014, receivables.refunds): amount positive, the documents behind it ``;``-separated
refund_proposals = sa.Table(
    "refund_proposals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("refund_id", sa.String(40), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("documents", sa.Text, nullable=False),
    sa.Column("iban", sa.String(34)),
    sa.Column("name", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False),
    # why the proposal cannot be paid by transfer as it is (no or an invalid IBAN)
    sa.Column("note", sa.Text),
)

#: the expected-credit-loss provision of a month-end close run (migration 0017,
#: receivables.close.provision): per company code, segment and aging bucket (or
#: ``specific:<kind>``) the exposure in the base currency, the loss rate (a fraction, six
#: decimals), the provision, and the change against the previous month end's row
provisions = sa.Table(
    "provisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("segment", sa.String(64), nullable=False),
    sa.Column("bucket", sa.String(32), nullable=False),
    sa.Column("exposure", Money, nullable=False),
    sa.Column("loss_rate", sa.Numeric(9, 6, asdecimal=True), nullable=False),
    sa.Column("provision", Money, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("previous_month_end", sa.Date, nullable=False),
    sa.Column("previous_provision", Money, nullable=False),
    sa.Column("change", Money, nullable=False),
)

# --- write-off proposals (migration 0015) and handover packages (0016) ---------------------------

writeoff_proposals = sa.Table(
    "writeoff_proposals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("proposal_id", sa.String(100), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("document_no", sa.String(64), nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("days_past_due", sa.Integer, nullable=False),
    sa.Column("dunning_level", sa.Integer, nullable=False),
    sa.Column("level_since", sa.Date),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", Money, nullable=False),
    # blank: no rate for the currency on as_of (the last approver tier decides)
    sa.Column("base_amount", Money),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("approver_role", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("approved_by", sa.String(200)),
    sa.Column("approved_on", sa.Date),
)

handovers = sa.Table(
    "handovers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("handover_id", sa.String(200), nullable=False, index=True),
    sa.Column("agency", sa.String(64), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("case_id", sa.String(120), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3)),
    sa.Column("files", sa.Text, nullable=False),
)

# --- claims for fees and interest (migration 0018, receivables.close.claims) ---------------------

#: every fee and interest amount a notice charged, per as_of: the amount accrued to accrued_to,
#: what payments settled of it, and the principal part of those payments a 367 BGB allocation
#: took for it (document_no blank: the notice's level fee)
claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_run_columns(),
    sa.Column("claim_id", sa.String(200), nullable=False),
    sa.Column("company_code", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("notice_id", sa.String(64), nullable=False),
    sa.Column("document_no", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("arose_on", sa.Date, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("accrued_to", sa.Date, nullable=False),
    sa.Column("settled_amount", Money, nullable=False),
    sa.Column("principal_shortfall", Money, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("waived_by", sa.String(200)),
    sa.Column("waived_reason", sa.Text),
)

# --- run locks (migration 0005) ------------------------------------------------------------------

#: at most one run per as_of at a time: two interleaving runs for the same date would mix their
#: rows and could both decide the same reminders; a crashed run's row is broken by hand or
#: after it has gone stale (receivables.warehouse.run_lock)
run_locks = sa.Table(
    "run_locks",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("flow_run_id", sa.String(36)),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("host", sa.String(255)),
)
