"""The monthly statement night: every customer with an open balance gets a statement of account.

On the first business day of a month (the ``statements`` deployment) each customer and company
code whose open items, after the night's cash application, add up to more than zero gets one
friendly email in its language: the balance as of the date, the part of it that is overdue,
the open items, and the same statement CSV/XLSX that reminders carry.  The extract set is read,
validated and its cash applied exactly as a night does (``pipeline.read_extracts``,
``validate``, ``apply_cash``), so the balance is the one the night's reports show.

Who is left out, and counted: companies the preflight holds back (no creditor details to print),
a zero or credit balance (nothing to ask for), a customer with a dunning block (collections
agreed to leave the account alone), and a customer without a usable address.

The emails go through the reminders' outbox, but with rules of their own (``enqueue_statements``):
the idempotency key is per company, customer, currency and *month*, so a rerun of the month,
on any day, never sends a second statement; nothing the night queued is withdrawn.  The run
writes nothing else to the warehouse but its run-log row, and it takes the warehouse lock of
its as_of, the same lock as the night of that date: both write that date's outbox and deliver
it, so they must not interleave.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from receivables import pipeline
from receivables.cash_application import CashApplication
from receivables.errors import ConfigError
from receivables.outbox import PENDING, DeliveryReport, Enqueued, deliver
from receivables.outbox.enqueueing import STATEMENT_TEMPLATE, _outbox_row, _queue, _refresh
from receivables.outbox.store import CANCELLED, _now
from receivables.pipeline import CallStage, Run, direct
from receivables.preflight import Preflight
from receivables.reminders import ComposedEmail, compose, render_reminder
from receivables.reminders.recipients import parse_recipients
from receivables.reminders.templates import _catalog, _search_path
from receivables.run_summary import email_counts
from receivables.warehouse.tables import email_outbox

#: the template of the statement email (``configs/templates/email/statement_of_account.*``)
#: bump when the fields of the statement key change, so old and new keys never collide
STATEMENT_KEY_VERSION = "statement-v1"


@dataclasses.dataclass(frozen=True)
class StatementPlan:
    """Who gets a statement (one row per company, customer and currency with a positive
    balance) and how many were left out, by reason."""

    recipients: pd.DataFrame
    skipped: dict[str, int]


def statement_balances(open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Balance and overdue part per company, customer and currency (integer cents).

    The balance is every open item, credit notes and payments on account included; the
    overdue part is what invoices past their due date still owe, never more than the balance
    (credits on the account are money the customer already has with us)."""
    columns = ["company_code", "customer_id", "currency", "balance", "overdue"]
    if open_items is None or open_items.empty:
        return pd.DataFrame(columns=columns)
    f = open_items[["company_code", "customer_id", "currency", "open_amount", "due_date"]].copy()
    f["open_amount"] = f["open_amount"].astype("int64")
    due = pd.to_datetime(f["due_date"]).dt.date
    f["overdue"] = f["open_amount"].where((f["open_amount"] > 0) & (due < as_of), 0)
    keys = ["company_code", "customer_id", "currency"]
    out = f.groupby(keys, as_index=False, sort=True).agg(balance=("open_amount", "sum"), overdue=("overdue", "sum"))
    out["overdue"] = out[["overdue", "balance"]].min(axis=1).clip(lower=0)
    return out[columns]


def plan_statements(balances: pd.DataFrame, customers: pd.DataFrame, held_companies: list[str]) -> StatementPlan:
    """The statements to send, and what was skipped: a held company, a zero or credit
    balance, a customer's dunning block, no usable email address (in that order)."""
    skipped = {"held_company": 0, "no_balance": 0, "dunning_block": 0, "no_address": 0}
    held = balances["company_code"].astype(str).isin(set(map(str, held_companies)))
    skipped["held_company"] = int(held.sum())
    rest = balances[~held]
    positive = rest["balance"] > 0
    skipped["no_balance"] = int((~positive).sum())
    rest = rest[positive]
    info = customers.drop_duplicates("customer_id").set_index("customer_id")
    blocks = (
        info["dunning_block"].fillna(False).astype(bool)
        if "dunning_block" in info
        else pd.Series(False, index=info.index)
    )
    blocked = rest["customer_id"].map(blocks).fillna(False).astype(bool)
    skipped["dunning_block"] = int(blocked.sum())
    rest = rest[~blocked]
    emails = info["email"] if "email" in info else pd.Series("", index=info.index)
    usable = [
        parse_recipients("" if pd.isna(emails.get(cid)) else str(emails.get(cid)), str(cid))[1] is None
        for cid in rest["customer_id"]
    ]
    skipped["no_address"] = len(usable) - sum(usable)
    return StatementPlan(recipients=rest[usable].reset_index(drop=True), skipped=skipped)


def statement_key(company_code: str, customer_id: str, currency: str, as_of: date) -> str:
    """The outbox key of a statement: sha256 over company, customer, currency and the month
    of as_of, so one month's statement is one email whichever day (re)runs it."""
    parts = (STATEMENT_KEY_VERSION, f"{as_of:%Y-%m}", str(company_code).strip(), str(customer_id).strip())
    parts += (str(currency).strip().upper(),)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def compose_statements(
    plan: StatementPlan,
    customers: pd.DataFrame,
    open_items: pd.DataFrame,
    as_of: date,
    companies: Mapping[str, Mapping[str, Any]],
    template_dir: Any = None,
) -> list[ComposedEmail]:
    """One composed email per planned statement, rendered like a reminder letter (language,
    locale, header checks, the attached statement) from the ``statement_of_account`` template."""
    _check_template(template_dir)
    by_customer = {r["customer_id"]: r for r in customers.drop_duplicates("customer_id").to_dict("records")}
    items = open_items[open_items["open_amount"].astype("int64") != 0]
    grouped = {k: g for k, g in items.groupby(["company_code", "customer_id", "currency"], sort=False)}
    emails = []
    for row in plan.recipients.to_dict("records"):
        code, customer_id, currency = row["company_code"], row["customer_id"], row["currency"]
        if str(code) not in companies:
            continue  # the preflight holds such a company back; nothing to print a letter with
        lines = _statement_lines(grouped[(code, customer_id, currency)], as_of)
        # a statement is rendered as a letter with no dunning level: the "overdue" total is the
        # overdue part, and the rest of the balance (not yet due, credits) takes the credits'
        # place, so that the letter's total is the balance
        notice = {
            "notice_id": f"SOA-{as_of:%Y-%m}",
            "company_code": code,
            "customer_id": customer_id,
            "currency": currency,
            "level": 0,
            "template": STATEMENT_TEMPLATE,
            "overdue_amount": row["overdue"],
            "credit_amount": row["balance"] - row["overdue"],
        }
        company = companies[str(code)]
        rendered = render_reminder(notice, lines, by_customer[customer_id], company, as_of, template_dir)
        rendered = dataclasses.replace(rendered, key=statement_key(code, customer_id, currency, as_of))
        # stored without currency and level: the night's reconciliation of a date treats rows
        # of one (company, customer, currency) as levels of one letter, and a statement is not
        # one of them (the currency is in the key and on the statement itself)
        emails.append(dataclasses.replace(compose(rendered), currency=None, level=None))
    return emails


def _check_template(template_dir: Any) -> None:
    """A template folder given on its own (without the shipped catalogue behind it, which fills
    in what a team's older messages.yaml lacks) may have no subjects for the statements: say
    so once, with the fix, instead of failing on the first customer."""
    tdir = _search_path(template_dir)
    if STATEMENT_TEMPLATE not in _catalog(tdir)["templates"]:
        raise ConfigError(
            f"messages.yaml of {' or '.join(tdir)} has no entry {STATEMENT_TEMPLATE!r}, so the statements of "
            f"account have no subject. Fix: copy the {STATEMENT_TEMPLATE} entry under templates: from the "
            "shipped configs/templates/email/messages.yaml into the configuration folder's one."
        )


def _statement_lines(items: pd.DataFrame, as_of: date) -> list[dict]:
    """The account's open items as the letter and its attachment list them."""
    lines = []
    for r in items.to_dict("records"):
        due = pd.Timestamp(r["due_date"]).date() if pd.notna(r.get("due_date")) else None
        credit = int(r["open_amount"]) < 0 or str(r.get("document_type")) == "CRN"
        # blank, not 0, for what is not overdue: the letter's table reads "days overdue"
        days = None if credit or due is None or due >= as_of else (as_of - due).days
        lines.append(r | {"days_past_due": days})
    return lines


def enqueue_statements(conn: Connection, as_of: date, run_id: str, emails: list[ComposedEmail]) -> Enqueued:
    """Put the statements in the outbox inside the caller's transaction.

    Unlike a night's ``enqueue`` nothing else is withdrawn: a new key is queued, a known key
    keeps its status (a statement of the month that went out never goes again; one still
    pending takes this rendering), and one a night's rerun withdrew is restored; one an
    operator cancelled stays cancelled."""
    now = _now()
    rows = [_outbox_row(e, run_id, now) for e in emails]
    keys = [r["idempotency_key"] for r in rows]
    existing = {}
    if keys:
        c = email_outbox.c
        query = sa.select(c.idempotency_key, c.status, c.withdrawn_by).where(c.idempotency_key.in_(keys))
        existing = {r.idempotency_key: r for r in conn.execute(query)}
    result = Enqueued()
    new, restore, refresh = [], [], []
    for row in rows:
        known = existing.get(row["idempotency_key"])
        if known is None:
            new.append(row)
        elif known.status == CANCELLED and known.withdrawn_by:
            restore.append(row)
        else:
            result.already_present += 1
            if known.status == PENDING:
                refresh.append(row)
    _queue(conn, new, restore, result)
    result.refreshed = _refresh(conn, refresh)
    return result


def deliver_statements(run: Run, emails: list[ComposedEmail]) -> DeliveryReport:
    """Deliver the month's pending statements exactly once: those of this as_of, and any still
    pending from an earlier run of the month (their outbox row keeps its first date)."""
    keys = [e.key for e in emails]
    dates = {run.as_of}
    if keys:
        c = email_outbox.c
        with run.engine.connect() as conn:
            query = sa.select(c.as_of).where(c.idempotency_key.in_(keys), c.status == PENDING).distinct()
            dates |= set(conn.execute(query).scalars())
    reports = [deliver(run.engine, run.settings, as_of=day) for day in sorted(dates)]
    report = reports[-1]
    for other in reports[:-1]:
        for name in ("sent", "previewed", "redirected", "failed", "held", "retried", "not_attempted"):
            setattr(report, name, getattr(report, name) + getattr(other, name))
        report.problems = other.problems + report.problems
        report.eml_paths = other.eml_paths + report.eml_paths
        report.aborted = report.aborted or other.aborted
    return report


def plan_for_run(run: Run, validated, cash: CashApplication, checked: Preflight) -> StatementPlan:
    """Stage: who gets a statement tonight (see ``plan_statements``)."""
    balances = statement_balances(cash.open_items_after, run.as_of)
    return plan_statements(balances, validated.frames["customers"], checked.held_companies)


def compose_for_run(run: Run, validated, cash: CashApplication, plan: StatementPlan) -> list[ComposedEmail]:
    """Stage: the planned statements rendered and composed."""
    return compose_statements(
        plan, validated.frames["customers"], cash.open_items_after, run.as_of, run.rules.companies, run.rules.templates
    )


def publish_statements(run: Run, emails: list[ComposedEmail]) -> dict:
    """Stage: the statements into the outbox, in one transaction."""
    with run.engine.begin() as conn:
        queued = enqueue_statements(conn, run.as_of, run.run_id, emails)
    return {
        "inserted": queued.inserted,
        "already_present": queued.already_present,
        "restored": queued.restored,
        "rejected": queued.rejected,
    }


def statement_stages(run: Run, call: CallStage = direct) -> dict:
    """The stages of a statement night in order; returns its summary (also the run log's
    counts).  The same read, gate, preflight and cash application as a night; no archive
    (the night of the date keeps the inputs) and no report rows."""

    def stage(name: str, fn: Any, *args: Any) -> Any:
        with run.timed(name):
            return call(name, fn, *args)

    extracts = stage("ingest", pipeline.ingest, run)
    validated = stage("validate", pipeline.validate, run, extracts)
    run.counts["extracts"] = validated.counts
    run.counts["quarantined_rows"] = validated.quarantined_rows
    checked = stage("preflight", pipeline.check_configuration, run, validated, extracts.statement_accounts)
    run.counts["preflight"] = checked.counts()
    cash = stage("cash_application", pipeline.apply_cash, run, validated)
    plan = stage("plan_statements", plan_for_run, run, validated, cash, checked)
    emails = stage("compose_statements", compose_for_run, run, validated, cash, plan)
    queued = stage("publish_statements", publish_statements, run, emails)
    delivered = stage("deliver_statements", deliver_statements, run, emails)
    delivered.not_built = queued["rejected"]
    run.counts["statements"] = {"planned": len(plan.recipients), "skipped": plan.skipped, "outbox": queued}
    run.counts["emails"] = email_counts(delivered)
    summary = {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "kind": "statements",
        "mode": run.settings.effective_mail_mode,
        "statements": run.counts["statements"],
        "emails": run.counts["emails"],
        "held_companies": checked.held_companies,
        "input_hashes": extracts.input_hashes(),
    }
    call("finish", pipeline.finish, run, summary)
    return summary


def run_statements(source: str, as_of: date, settings, *, rules=None, flow_run_name: str | None = None) -> dict:
    """A statement night directly, lock and run log included; returns its summary."""
    run = Run(
        source=source,
        as_of=as_of,
        settings=settings,
        rules=rules,
        flow_run_name=flow_run_name or f"statements-{as_of.isoformat()}-{settings.effective_mail_mode}",
    )
    pipeline.begin(run)
    try:
        return statement_stages(run)
    except BaseException as exc:
        pipeline.fail(run, exc)
        raise
