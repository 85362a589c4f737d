"""The casework as tables for a screen (the flow run's Prefect artifacts): the open cases whose
next action is due, the payment plans, and the collector view.

Codes are words (the workbook's labels), dates ISO text, and money a two-place ``Decimal`` in
the column's currency, so the artifact shows ``1234.57``, never cents.  The full picture, with
the cases not yet due and those closed tonight, is the workbook's.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from receivables.money import to_decimal
from receivables.workbook.labels import (
    CASE_STAGES,
    CONTACT_OUTCOMES,
    NEXT_ACTIONS,
    PLAN_ORDER,
    PLAN_STATUSES,
    flag,
    word,
)

#: rows a table meant for a screen shows
SCREEN_ROWS = 200


def due_cases(cases: pd.DataFrame | None, as_of: date, currency: str, limit: int = SCREEN_ROWS) -> pd.DataFrame:
    """The open cases whose next action is due on or before as_of, the longest overdue first
    (then by case id); ``currency`` is the base currency the overdue amounts are in."""
    if cases is None or cases.empty:
        return pd.DataFrame()
    due = pd.to_datetime(cases["next_action_due"])
    mine = cases.loc[cases["closed_on"].isna() & due.notna() & (due <= pd.Timestamp(as_of))]
    mine = mine.assign(_due=due).sort_values(["_due", "case_id"], kind="stable").head(limit)
    return pd.DataFrame(
        {
            "case": mine["case_id"].astype(str),
            "customer": _customer(mine),
            "stage": [word(CASE_STAGES, s) for s in mine["stage"]],
            "owner": [o if isinstance(o, str) and o else "(unassigned)" for o in mine["owner"]],
            "next action": [word(NEXT_ACTIONS, a) for a in mine["next_action"]],
            "due": [_day(d) for d in mine["next_action_due"]],
            "days overdue": mine["days_action_overdue"],
            "SLA breached": [flag(b) for b in mine["sla_breached"]],
            "last contact": [_day(d) for d in mine["last_contact_on"]],
            "last outcome": [word(CONTACT_OUTCOMES, o) for o in mine["last_outcome"]],
            f"overdue ({currency})": _money(mine["overdue_amount"]),
        }
    ).reset_index(drop=True)


def plan_table(plans: pd.DataFrame | None, limit: int = SCREEN_ROWS) -> pd.DataFrame:
    """Every plan (at most ``limit``), the broken ones first, then current, then completed."""
    if plans is None or plans.empty:
        return pd.DataFrame()
    order = [PLAN_ORDER.get(str(s), 3) for s in plans["status"]]
    mine = (
        plans.assign(_order=order)
        .sort_values(["_order", "company_code", "customer_id", "plan_id"], kind="stable")
        .head(limit)
    )
    return pd.DataFrame(
        {
            "plan": mine["plan_id"].astype(str),
            "customer": _customer(mine),
            "status": [word(PLAN_STATUSES, s) for s in mine["status"]],
            "currency": mine["currency"],
            "covered items open": _money(mine["covered_open_amount"]),
            "due to date": _money(mine["due_to_date"]),
            "paid to date": _money(mine["paid_to_date"]),
            "next instalment due": [_day(d) for d in mine["next_due_date"]],
            "next instalment": _money(mine["next_amount"]),
            "missed instalment": mine["missed_seq"],
            "at risk": _money(mine["amount_at_risk"]),
        }
    ).reset_index(drop=True)


def collector_table(collectors: pd.DataFrame | None) -> pd.DataFrame:
    """The collector view with headings a person reads."""
    if collectors is None or collectors.empty:
        return pd.DataFrame()
    return collectors.rename(
        columns={
            "open_cases": "open cases",
            "actions_due": "actions due",
            "actions_overdue": "actions overdue",
            "actions_done": "contacts, last 7 days",
            "sla_breaches": "SLA breaches",
            "promises_kept_pct": "promises kept % (90 days)",
            "contacts_per_day": "contacts per business day (30 days)",
        }
    ).reset_index(drop=True)


def _customer(frame: pd.DataFrame) -> list[str]:
    return [f"{c}/{k}" for c, k in zip(frame["company_code"], frame["customer_id"])]


def _money(cents: pd.Series) -> list:
    return [None if pd.isna(v) else to_decimal(v) for v in cents]


def _day(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
