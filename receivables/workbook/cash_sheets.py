"""The cash sheets: Unapplied cash (every payment or part of one left unapplied, why, and what
the bank said) and Suggestions (the applications cash application found but was not sure
enough to post: the payment, and each item it proposes to pay, for a person to confirm).

Both give the amount in the payment's currency beside the Currency column and, for unapplied
cash, its base-currency value, so a filtered sum of either column means something.
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs, base_currency_cents
from receivables.workbook.labels import RULES, UNAPPLIED_REASONS, word
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

UNAPPLIED = "Unapplied cash"
SUGGESTIONS = "Suggestions"
_PAYMENT = ["payment_id", "value_date", "amount", "payer_name", "remittance_info"]


def unapplied_columns(base: str) -> list[Column]:
    return [
        Column("payment_id", "Payment"),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("value_date", "Value date", "date"),
        Column("currency", "Currency", width=9),
        Column("remaining_amount", "Unapplied amount (native)", "money"),
        Column("remaining_base", f"Unapplied amount ({base})", "money"),
        Column("reason_words", "Why unapplied", width=28),
        Column("payer_name", "Payer", width=30),
        Column("remittance_info", "Remittance text", width=50),
    ]


def suggestion_columns() -> list[Column]:
    return [
        Column("payment_id", "Payment"),
        Column("company_code", "Company code"),
        Column("value_date", "Value date", "date"),
        Column("payer_name", "Payer", width=30),
        Column("currency", "Currency", width=9),
        Column("amount", "Payment amount (native)", "money"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("document_no", "Proposed item"),
        Column("due_date", "Item due date", "date"),
        Column("open_amount", "Item open amount (native)", "money"),
        Column("applied_amount", "Proposed amount (native)", "money"),
        Column("writeoff_amount", "Write-off (native)", "money"),
        Column("discount_amount", "Discount (native)", "money"),
        Column("rule_words", "Found by", width=28),
        Column("confidence", "Confidence", "percent"),
        Column("remittance_info", "Remittance text", width=50),
    ]


def _payments(inputs: WorkbookInputs, columns: list[str]) -> pd.DataFrame:
    payments = inputs.payments
    present = [c for c in columns if c in payments.columns]
    return payments[present].drop_duplicates("payment_id")


def _linked(frame: pd.DataFrame, items: OpenItems) -> list:
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    return [items.by_customer.get(k) for k in keys]


def unapplied_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    frame = with_customer(inputs, inputs.unapplied, "name")
    extra = [c for c in ("value_date", "payer_name", "remittance_info") if c not in frame.columns]
    if extra and not frame.empty:
        frame = frame.merge(_payments(inputs, ["payment_id", *extra]), on="payment_id", how="left")
    frame["remaining_base"] = pd.array(base_currency_cents(inputs, frame, "remaining_amount"), dtype="Int64")
    frame["reason_words"] = [word(UNAPPLIED_REASONS, r) for r in frame["reason"]]
    frame["_link"] = _linked(frame, items)
    return frame


def suggestion_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """One row per proposed item, the payment's facts repeated on each."""
    frame = inputs.suggestions.sort_values(["payment_id", "document_no"], kind="stable")
    frame = with_customer(inputs, frame, "name")
    if frame.empty:
        return frame
    frame = frame.merge(_payments(inputs, _PAYMENT), on="payment_id", how="left")
    docs = inputs.open_items[["company_code", "document_no", "due_date", "open_amount"]]
    frame = frame.merge(
        docs.drop_duplicates(["company_code", "document_no"]), on=["company_code", "document_no"], how="left"
    )
    frame["rule_words"] = [word(RULES, r) for r in frame["rule"]]
    frame["_link"] = _linked(frame, items)
    return frame


def write_unapplied(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    write_table(ws, unapplied_rows(inputs, items), unapplied_columns(inputs.facts.base_currency), fm, title=UNAPPLIED)


def write_suggestions(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    write_table(ws, suggestion_rows(inputs, items), suggestion_columns(), fm, title=SUGGESTIONS)
