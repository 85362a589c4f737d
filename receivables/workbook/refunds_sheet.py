"""The Refunds sheet: every net credit balance proposed for refund tonight (``receivables.refunds``),
its amount in its own currency and in the base currency, the documents behind it, and the IBAN
it would be paid to.  A proposal the bank file leaves out (no usable IBAN) stands out in red with
the reason.  A night without proposals still has the sheet, with its header and one line saying
so.
"""

from __future__ import annotations

import pandas as pd

from receivables.refunds import REFUND_COLUMNS
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs, base_currency_cents
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

REFUNDS = "Refunds"
NO_REFUNDS = "No credit balance is old enough to refund tonight."
_STATUSES = {"PROPOSED": "Proposed"}


def refund_columns(base: str) -> list[Column]:
    return [
        Column("refund_id", "Refund", width=22),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("currency", "Currency", width=9),
        Column("amount", "Credit to refund (native)", "money"),
        Column("amount_base", f"Credit to refund ({base})", "money"),
        Column("documents", "Documents", "wrap", width=30),
        Column("iban", "IBAN", width=26),
        Column("status_words", "Status", width=10),
        Column("note", "Note", width=40, highlight="alert"),
    ]


def refund_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """The proposals by company code, customer and currency; documents one per line."""
    frame = inputs.refunds if inputs.refunds is not None else pd.DataFrame(columns=REFUND_COLUMNS)
    frame = frame.sort_values(["company_code", "customer_id", "currency"], kind="stable").reset_index(drop=True)
    frame["amount_base"] = pd.array(base_currency_cents(inputs, frame, "amount"), dtype="Int64")
    frame["documents"] = frame["documents"].astype(str).str.replace(";", "\n", regex=False)
    frame["status_words"] = [_STATUSES.get(str(s), str(s).title()) for s in frame["status"]]
    frame["_alert"] = frame["note"].notna().to_numpy(dtype=bool)
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    return frame


def write_refunds(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    frame = refund_rows(inputs, items)
    write_table(ws, frame, refund_columns(inputs.facts.base_currency), fm, title=REFUNDS)
    if frame.empty:
        ws.write_string(1, 0, NO_REFUNDS, fm.note)
