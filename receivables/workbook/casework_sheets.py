"""The casework sheets: Cases (every collection case open on as_of, and those closed tonight),
Collectors (each collector's load and record) and Payment plans (every plan's state, the
broken ones first).

Codes are words, money is in the base currency on Cases (the case's overdue amount) and in the
plan's own currency beside its Currency column on Payment plans, with the amount at risk also
in the base currency.  What needs a person now stands out in red: a breached SLA, a broken
plan.  A night without cases or plans still has the sheet, with its header and one line saying
there is nothing.
"""

from __future__ import annotations

import pandas as pd

from receivables.casework.collectors import COLLECTOR_COLUMNS
from receivables.casework.lifecycle import CASE_COLUMNS
from receivables.payment_plans import STATUS_COLUMNS
from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs, base_currency_cents
from receivables.workbook.kpi_sheet import cell_value
from receivables.workbook.labels import (
    CASE_STAGES,
    CLOSE_REASONS,
    CONTACT_OUTCOMES,
    NEXT_ACTIONS,
    PLAN_ORDER,
    PLAN_STATUSES,
    flag,
    word,
)
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

CASES = "Cases"
COLLECTORS = "Collectors"
PLANS = "Payment plans"
#: the casework frames' columns, for a night without them
CASE_FIELDS = [*CASE_COLUMNS, "currency"]
COLLECTOR_FIELDS = COLLECTOR_COLUMNS
PLAN_FIELDS = STATUS_COLUMNS
NO_CASES = "No collection case is open tonight, and none was closed."
NO_COLLECTORS = "No collector has a case tonight."
NO_PLANS = "No payment plan has been agreed."


def case_columns(base: str) -> list[Column]:
    return [
        Column("case_id", "Case", width=26),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("stage_words", "Stage", width=16),
        Column("stage_since", "In stage since", "date"),
        Column("owner", "Owner", width=18),
        Column("action_words", "Next action", width=26),
        Column("next_action_due", "Action due", "date"),
        Column("days_action_overdue", "Action overdue (days)", "int", width=10),
        Column("sla_due", "SLA due", "date"),
        Column("breached", "SLA breached", width=10, highlight="alert"),
        Column("last_contact_on", "Last contact", "date"),
        Column("outcome_words", "Last outcome", width=22),
        Column("overdue_amount", f"Overdue ({base})", "money"),
        Column("opened_on", "Opened on", "date"),
        Column("closed_on", "Closed on", "date"),
        Column("close_words", "Closed because", width=12),
        Column("detail", "Detail", "wrap", width=50),
    ]


def collector_columns() -> list[Column]:
    return [
        Column("collector", "Collector", width=20),
        Column("open_cases", "Open cases", "count"),
        Column("actions_due", "Actions due", "count"),
        Column("actions_overdue", "Actions overdue", "count"),
        Column("actions_done", "Contacts, last 7 days", "count"),
        Column("sla_breaches", "SLA breaches", "count"),
        Column("promises_kept", "Promises kept, last 90 days", "percent", width=12),
        Column("contacts_per_day", "Contacts per business day, last 30 days", "decimal", width=14),
    ]


def plan_columns(base: str) -> list[Column]:
    return [
        Column("plan_id", "Plan", width=12),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("collector", "Collector", width=18),
        Column("status_words", "Status", width=11, highlight="alert"),
        Column("currency", "Currency", width=9),
        Column("covered_open_amount", "Covered items open (native)", "money"),
        Column("due_to_date", "Due to date (native)", "money"),
        Column("paid_to_date", "Paid to date (native)", "money"),
        Column("next_due_date", "Next instalment due", "date"),
        Column("next_amount", "Next instalment (native)", "money"),
        Column("missed_seq", "Missed instalment", "int", width=10),
        Column("missed_due_date", "Missed instalment due", "date"),
        Column("amount_at_risk", "At risk (native)", "money", highlight="alert"),
        Column("at_risk_base", f"At risk ({base})", "money", highlight="alert"),
    ]


def _given(frame: pd.DataFrame | None, fields: list[str]) -> pd.DataFrame:
    """The stage's frame, or an empty one with its columns on a night without it."""
    return pd.DataFrame(columns=fields) if frame is None else frame


def _linked(frame: pd.DataFrame, items: OpenItems) -> list:
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    return [items.by_customer.get(k) for k in keys]


def case_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """The open cases by the day their next action is due (then case id), the cases closed
    tonight after them; codes in words."""
    cases = _given(inputs.cases, CASE_FIELDS)
    closed = cases["closed_on"].notna().to_numpy(dtype=bool)
    due = pd.to_datetime(cases["next_action_due"]).where(~closed)  # a closed case's next action is moot
    cases = (
        cases.assign(_closed=closed, _due=due)
        .sort_values(["_closed", "_due", "case_id"], na_position="last", kind="stable")
        .reset_index(drop=True)
    )
    frame = with_customer(inputs, cases, "name")
    frame["stage_words"] = [word(CASE_STAGES, s) for s in frame["stage"]]
    frame["action_words"] = [word(NEXT_ACTIONS, a) for a in frame["next_action"]]
    frame["outcome_words"] = [word(CONTACT_OUTCOMES, o) for o in frame["last_outcome"]]
    frame["close_words"] = [word(CLOSE_REASONS, r) for r in frame["close_reason"]]
    frame["breached"] = [flag(b) for b in frame["sla_breached"]]
    frame["_alert"] = [b == "Yes" for b in frame["breached"]]
    frame["_link"] = _linked(frame, items)
    return frame


def collector_rows(inputs: WorkbookInputs) -> pd.DataFrame:
    """The collector view as the stage ordered it; the kept share as a fraction (a percent cell)."""
    frame = _given(inputs.collectors, COLLECTOR_FIELDS).copy()
    frame["promises_kept"] = [cell_value(v, "percent") for v in frame["promises_kept_pct"]]
    return frame


def plan_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """Every plan, the broken ones first (then current, then completed), each group by company
    code, customer and plan; the amount at risk blank where nothing is."""
    plans = _given(inputs.plan_status, PLAN_FIELDS)
    order = [PLAN_ORDER.get(str(s), 3) for s in plans["status"]]
    plans = (
        plans.assign(_order=order)
        .sort_values(["_order", "company_code", "customer_id", "plan_id"], kind="stable")
        .reset_index(drop=True)
    )
    frame = with_customer(inputs, plans, "name", "collector")
    broken = (frame["status"].astype(str) == "BROKEN").to_numpy(dtype=bool)
    at_risk = pd.to_numeric(frame["amount_at_risk"]).astype("Int64").where(broken)
    frame["amount_at_risk"] = at_risk
    currencies = frame["currency"].where(frame["currency"].notna(), "")
    frame["at_risk_base"] = pd.array(
        base_currency_cents(inputs, frame.assign(currency=currencies), "amount_at_risk"), dtype="Int64"
    )
    frame["status_words"] = [word(PLAN_STATUSES, s) for s in frame["status"]]
    frame["_alert"] = broken
    frame["_link"] = _linked(frame, items)
    return frame


def _table(ws, frame: pd.DataFrame, columns: list[Column], fm: Formats, title: str, nothing: str) -> None:
    write_table(ws, frame, columns, fm, title=title)
    if frame.empty:
        ws.write_string(1, 0, nothing, fm.note)


def write_cases(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    _table(ws, case_rows(inputs, items), case_columns(inputs.facts.base_currency), fm, CASES, NO_CASES)


def write_collectors(ws, inputs: WorkbookInputs, fm: Formats) -> None:
    _table(ws, collector_rows(inputs), collector_columns(), fm, COLLECTORS, NO_COLLECTORS)


def write_plans(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    _table(ws, plan_rows(inputs, items), plan_columns(inputs.facts.base_currency), fm, PLANS, NO_PLANS)
