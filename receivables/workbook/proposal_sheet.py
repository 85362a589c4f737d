"""The Dunning proposal sheet: tonight's notices, what each says (level, amounts in its own
currency, the credit on account set against it), who the customer is (collector, credit limit)
and what became of its email: the recipients and the delivery status from the outbox, so a
notice whose email failed or is held reads so instead of just "Email".

The outbox is read after delivery (``Delivery``); a notice of a run that wrote no dunning state
says why nothing was queued.
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.customer_columns import credit_limits, with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import Delivery, WorkbookInputs, base_currency_cents
from receivables.workbook.labels import DELIVERY, DUNNING_ACTIONS, PREVIEWED, REDIRECTED, word
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

SHEET = "Dunning proposal"


def columns(base: str) -> list[Column]:
    return [
        Column("notice_id", "Notice", width=30),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("collector", "Collector", width=18),
        Column("currency", "Currency", width=9),
        Column("level", "Level", "int", width=7),
        Column("overdue_amount", "Overdue (native)", "money"),
        Column("credit_amount", "Credit on account (native)", "money"),
        Column("fees", "Fees (native)", "money"),
        Column("interest", "Interest (native)", "money"),
        Column("overdue_base", f"Overdue ({base})", "money"),
        Column("limit_native", "Credit limit (native)", "money"),
        Column("limit_base", f"Credit limit ({base})", "money"),
        Column("action_words", "Action", width=14),
        Column("policy", "Policy", width=12),
        Column("template", "Letter template", width=14),
        Column("language", "Language", width=9),
        Column("recipients", "Recipients"),
        Column("delivery", "Delivery status", "wrap", width=40),
        Column("error", "Delivery problem", "wrap", width=40),
    ]


def proposal_base(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """The notices with what the sheet shows of them before the delivery: the customer, the
    amounts in the base currency, the credit limit, the action and the link to Open items."""
    frame = with_customer(inputs, inputs.notices, "name", "collector")
    frame["overdue_base"] = pd.array(base_currency_cents(inputs, frame, "overdue_amount"), dtype="Int64")
    frame["limit_native"], frame["limit_base"] = credit_limits(inputs, frame)
    frame["action_words"] = [word(DUNNING_ACTIONS, a) for a in frame["action"]]
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    return frame


def with_delivery(frame: pd.DataFrame, inputs: WorkbookInputs, delivery: Delivery) -> pd.DataFrame:
    """``proposal_base`` with each notice's email as the outbox has it after the delivery."""
    outbox = latest_per_notice(delivery.outbox)
    frame = frame.merge(outbox, on="notice_id", how="left") if not frame.empty else frame
    # only the fields _status reads, not a dict of every column per notice
    fields = [c for c in _STATUS_FIELDS if c in frame.columns]
    frame["delivery"] = [_status(dict(zip(fields, values)), inputs) for values in zip(*(frame[c] for c in fields))]
    return frame


def latest_per_notice(outbox: pd.DataFrame) -> pd.DataFrame:
    """One outbox row per notice: a live one before a cancelled one, the newest first."""
    if outbox.empty:
        return pd.DataFrame(columns=["notice_id", "recipients", "status", "error", "eml_path", "delivered_to"])
    rows = outbox.assign(_cancelled=outbox["status"].astype(str).eq("cancelled"))
    order = ["_cancelled", "updated_at"] if "updated_at" in rows else ["_cancelled"]
    rows = rows.sort_values(order, ascending=[True, False][: len(order)], kind="stable")
    keep = ["notice_id", "recipients", "status", "error", "eml_path", "delivered_to", "redirected_at"]
    return rows.drop_duplicates("notice_id")[[c for c in keep if c in rows]]


#: what a notice's delivery status is made of
_STATUS_FIELDS = ("status", "action", "eml_path", "redirected_at", "delivered_to")


def _status(row: dict, inputs: WorkbookInputs) -> str | None:
    """A notice's delivery status in words."""
    status = row.get("status") if isinstance(row.get("status"), str) else None
    if status is None:
        if str(row.get("action")) != "email":
            return None
        if not inputs.facts.dunning_written:
            return f"Not queued: {inputs.facts.why_not or 'this run wrote no dunning state'}"
        return "Not queued"
    if status == "pending" and _given(row.get("eml_path")):
        return PREVIEWED
    if status == "pending" and _given(row.get("redirected_at")):
        return REDIRECTED.format(to=row.get("delivered_to") or "the test address")
    return word(DELIVERY, status)


def _given(v: object) -> bool:
    return v is not None and not pd.isna(v)


def write_proposal(ws, inputs: WorkbookInputs, base: pd.DataFrame, delivery: Delivery, fm: Formats) -> None:
    """The sheet from ``proposal_base`` (made before the delivery) and the delivery's outbox."""
    write_table(ws, with_delivery(base, inputs, delivery), columns(inputs.facts.base_currency), fm, title=SHEET)
