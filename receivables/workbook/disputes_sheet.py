"""The Disputes sheet: every dispute opened by as_of (``dispute_status``), the open ones first
and among them the breached ones, with its reason, amount (in its own currency and in the
base currency), age, target date, escalation tier, owner and, once resolved, when and how many
days it took.  A breached target stands out in red.  Beside the list, the top customers by
open disputed amount per company code (they are not KPI rows: see
``receivables.dispute_views``).  A night without disputes still has the sheet, with its
header and one line saying so.
"""

from __future__ import annotations

import pandas as pd

from receivables.dispute_views import TOP_COLUMNS, VIEW_COLUMNS, open_first, top_disputed_customers
from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.labels import flag
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

DISPUTES = "Disputes"
NO_DISPUTES = "No dispute has been opened."
TOP_TITLE = "Top customers by open disputed amount"


def dispute_columns(base: str) -> list[Column]:
    return [
        Column("dispute_id", "Dispute", width=12),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("document_no", "Document", width=14),
        Column("reason_code", "Reason", width=15),
        Column("owner", "Owner", width=18),
        Column("status_words", "Status", width=9),
        Column("currency", "Currency", width=9),
        Column("amount", "Disputed (native)", "money"),
        Column("amount_base", f"Disputed ({base})", "money"),
        Column("opened_on", "Opened on", "date"),
        Column("age_days", "Age (days)", "int", width=9),
        Column("target_date", "Target date", "date"),
        Column("breached_words", "Target breached", width=10, highlight="alert"),
        Column("escalation_level", "Escalation tier", "int", width=10),
        Column("resolved_on", "Resolved on", "date"),
        Column("days_to_resolve", "Days to resolve", "int", width=9),
    ]


def dispute_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """Every dispute, open before resolved, breached first, then by escalation tier and age."""
    view = inputs.dispute_status if inputs.dispute_status is not None else pd.DataFrame(columns=VIEW_COLUMNS)
    frame = with_customer(inputs, open_first(view) if not view.empty else view, "name")
    is_open = frame["open"].astype(bool)
    frame["status_words"] = ["Open" if o else "Resolved" for o in is_open]
    frame["breached_words"] = [flag(b) for b in frame["breached"]]
    frame["_alert"] = frame["breached"].astype(bool).to_numpy()
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    return frame


def top_rows(inputs: WorkbookInputs) -> pd.DataFrame:
    view = inputs.dispute_status
    top = top_disputed_customers(view) if view is not None and not view.empty else pd.DataFrame(columns=TOP_COLUMNS)
    return with_customer(inputs, top, "name")


def top_columns(base: str) -> list[Column]:
    """The top customers' block beside the list, after an empty column."""
    return [
        Column("_gap", "", width=3),
        Column("top_company_code", f"{TOP_TITLE}: company code", width=16),
        Column("top_rank", "Rank", "int", width=6),
        Column("top_customer_id", "Customer", width=12),
        Column("top_name", "Customer name", width=30),
        Column("top_open_disputes", "Open disputes", "count"),
        Column("top_disputed_base", f"Open disputed ({base})", "money"),
    ]


def _beside(frame: pd.DataFrame, top: pd.DataFrame) -> pd.DataFrame:
    """The top customers in the first rows of the list's frame: the workbook is written row by
    row (constant memory), so the block beside the list is written with the list's rows.
    Every top customer has an open dispute, so the list is never the shorter one."""
    out = frame.reset_index(drop=True).copy()
    out["_gap"] = None
    top = top.reset_index(drop=True)
    for c in ("company_code", "customer_id", "name"):
        out[f"top_{c}"] = pd.Series(top[c].astype(object).tolist(), dtype=object).reindex(out.index)
    for c in ("rank", "open_disputes", "disputed_base"):
        out[f"top_{c}"] = pd.Series(pd.array(top[c].tolist(), dtype="Int64")).reindex(out.index)
    return out


def write_disputes(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    """The list of disputes, and to its right the top customers per company code; the filter
    covers the list only."""
    base = inputs.facts.base_currency
    frame = dispute_rows(inputs, items)
    columns = dispute_columns(base)
    write_table(ws, _beside(frame, top_rows(inputs)), columns + top_columns(base), fm, title=DISPUTES)
    ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    if frame.empty:
        ws.write_string(1, 0, NO_DISPUTES, fm.note)
