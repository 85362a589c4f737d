"""The Worklist sheet: the customers a person has to deal with today, highest priority first.

Each reason is a column a collector can sort and filter on (oldest bucket, disputed amount,
amount over the credit limit, unapplied cash, broken promises), the next action is in words,
and a short sentence says why at a glance; the full reason text is last, wrapped.  The amounts
that rank the list are in the base currency; the overdue amount as booked stands beside them
with its currency (blank for a customer with several).
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table
from receivables.worklist import ACTION_LABELS

SHEET = "Worklist"


def columns(base: str) -> list[Column]:
    return [
        Column("rank", "Rank", "int", width=6),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("collector", "Collector", width=18),
        Column("action", "Next action", width=24),
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
    frame["action"] = [ACTION_LABELS.get(str(a), str(a)) for a in frame["next_action"]]
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    # zero reads as "not a reason": blank, so the column shows only who has it
    for c in ("disputed_amount", "over_limit_amount", "unapplied_amount", "broken_promise_amount"):
        if c in frame:
            frame[c] = pd.to_numeric(frame[c]).astype("Int64").mask(lambda s: s == 0)
    return frame


def write_worklist(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    write_table(ws, worklist_rows(inputs, items), columns(inputs.facts.base_currency), fm, title=SHEET)
