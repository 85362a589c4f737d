"""The Worklist sheet: the customers a person has to deal with today, highest priority first.

Each reason is a column a collector can sort and filter on (oldest bucket, disputed amount,
amount over the credit limit, unapplied cash, broken promises), the next action is in words
with the case it belongs to (its stage, when the action is due and how late it is, the last
contact, whether the SLA is breached, in red), and a short sentence says why at a glance; the
full reason text is last, wrapped.  A worklist without the case columns shows none of them.  The amounts
that rank the list are in the base currency; the overdue amount as booked stands beside them
with its currency (blank for a customer with several).
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.labels import CASE_STAGES, CONTACT_OUTCOMES, NEXT_ACTIONS, flag, word
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

SHEET = "Worklist"


def columns(base: str) -> list[Column]:
    return [
        Column("rank", "Rank", "int", width=6),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("collector", "Collector", width=18),
        Column("case_id", "Case", width=26),
        Column("stage_words", "Stage", width=16),
        Column("action", "Next action", width=24),
        Column("next_action_due", "Action due", "date"),
        Column("days_overdue", "Action overdue (days)", "int", width=10),
        Column("breached", "SLA breached", width=10, highlight="alert"),
        Column("last_contact_on", "Last contact", "date"),
        Column("outcome_words", "Last outcome", width=22),
        Column("summary", "Why", "wrap", width=36),
        Column("priority", "Priority", "priority"),
        Column("overdue_amount", f"Overdue ({base})", "money"),
        Column("currencies", "Currency", width=9),
        Column("overdue_native", "Overdue (native)", "money"),
        Column("oldest_bucket", "Oldest overdue bucket", width=10),
        Column("disputed_amount", f"Disputed ({base})", "money"),
        Column("over_limit_amount", f"Over credit limit ({base})", "money"),
        Column("unapplied_amount", f"Unapplied cash ({base})", "money"),
        Column("broken_promise_amount", f"Broken promises ({base})", "money"),
        Column("reason", "Details", "wrap", width=70),
    ]


def worklist_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    frame = with_customer(inputs, inputs.worklist, "name")
    frame["action"] = [word(NEXT_ACTIONS, a) for a in frame["next_action"]]
    if "stage" in frame:
        frame["stage_words"] = [word(CASE_STAGES, s) for s in frame["stage"]]
    if "last_outcome" in frame:
        frame["outcome_words"] = [word(CONTACT_OUTCOMES, o) for o in frame["last_outcome"]]
    if "sla_breached" in frame:
        frame["breached"] = [flag(b) for b in frame["sla_breached"]]
        frame["_alert"] = [b == "Yes" for b in frame["breached"]]
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    # zero reads as "not a reason": blank, so the column shows only who has it
    for c in ("disputed_amount", "over_limit_amount", "unapplied_amount", "broken_promise_amount"):
        if c in frame:
            frame[c] = pd.to_numeric(frame[c]).astype("Int64").mask(lambda s: s == 0)
    return frame


def write_worklist(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    write_table(ws, worklist_rows(inputs, items), columns(inputs.facts.base_currency), fm, title=SHEET)
