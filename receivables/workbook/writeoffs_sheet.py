"""The Write-offs sheet: tonight's write-off proposals (``receivables.close.writeoffs``,
docs/close.md "Write-off proposals"), one row per item with the reason, the amount in its own
currency and in the base currency, the role whose approval the amount needs and whether it is
approved yet.  Totals per company code and approver role stand above the table, outside its
filter, so an approver sees at a glance what waits for them.  A night without proposals still
has the sheet, with its header and one line saying so."""

from __future__ import annotations

import pandas as pd

from receivables.close.writeoffs import WRITEOFF_COLUMNS
from receivables.workbook.customer_columns import with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import Column, write_table

WRITEOFFS = "Write-offs"
NO_WRITEOFFS = "No open item is proposed for write-off tonight."
TOTALS = "Totals per company code and approver role (base currency), outside the table's filter"
REASONS = {
    "AGENCY_RETURNED": "Returned by the agency as uncollectible",
    "MAX_LEVEL_AGED": "At the last dunning level too long",
    "SMALL_BALANCE": "Small old balance",
}
STATUSES = {"PROPOSED": "Proposed", "APPROVED": "Approved"}


def writeoff_columns(base: str) -> list[Column]:
    return [
        Column("proposal_id", "Proposal", width=24),
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name", width=30),
        Column("document_no", "Document", width=16),
        Column("due_date", "Due date", "date"),
        Column("days_past_due", "Days past due", "days"),
        Column("dunning_level", "Dunning level", "int"),
        Column("reason_words", "Reason", width=34),
        Column("currency", "Currency", width=9),
        Column("amount", "Amount to write off (native)", "money"),
        Column("base_amount", f"Amount to write off ({base})", "money"),
        Column("approver_role", "Approver role", width=14),
        Column("status_words", "Status", width=10),
        Column("approved_by", "Approved by", width=18),
        Column("approved_on", "Approved on", "date"),
    ]


def writeoff_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """The proposals by company code, customer and document, with the customer's name."""
    frame = inputs.writeoffs if inputs.writeoffs is not None else pd.DataFrame(columns=WRITEOFF_COLUMNS)
    frame = frame.sort_values(["company_code", "customer_id", "document_no"], kind="stable").reset_index(drop=True)
    frame = with_customer(inputs, frame, "name")
    frame["reason_words"] = [REASONS.get(str(r), str(r)) for r in frame["reason"]]
    frame["status_words"] = [STATUSES.get(str(s), str(s).title()) for s in frame["status"]]
    keys = zip(frame["company_code"].astype(str), frame["customer_id"].astype(str))
    frame["_link"] = [items.by_customer.get(k) for k in keys]
    return frame


def role_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Per company code and approver role: how many proposals, their base amount and the part
    already approved (base cents; a proposal without a rate counts in the number only)."""
    cols = ["company_code", "approver_role", "proposals", "base_amount", "approved"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    base = pd.to_numeric(frame["base_amount"]).fillna(0).astype("int64")
    work = pd.DataFrame(
        {
            "company_code": frame["company_code"].astype(str),
            "approver_role": frame["approver_role"].astype(str),
            "proposals": 1,
            "base_amount": base,
            "approved": base.where(frame["status"] == "APPROVED", 0),
        }
    )
    return work.groupby(["company_code", "approver_role"], sort=True).sum().astype("int64").reset_index()[cols]


def write_writeoffs(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    frame = writeoff_rows(inputs, items)
    cols = writeoff_columns(inputs.facts.base_currency)
    if frame.empty:
        write_table(ws, frame, cols, fm, title=WRITEOFFS)
        ws.write_string(1, 0, NO_WRITEOFFS, fm.note)
        return
    totals = role_totals(frame)
    ws.write_string(0, 0, TOTALS, fm.bold)
    base = inputs.facts.base_currency
    headers = ("Company code", "Approver role", "Proposals", f"Amount ({base})", f"Of which approved ({base})")
    for j, header in enumerate(headers):
        ws.write_string(1, j, header, fm.bold)
    for i, row in enumerate(totals.itertuples(index=False), start=2):
        ws.write_string(i, 0, str(row.company_code), fm.bold)
        ws.write_string(i, 1, str(row.approver_role), fm.bold)
        ws.write_number(i, 2, int(row.proposals), fm.count)
        ws.write_number(i, 3, int(row.base_amount) / 100, fm.money_bold)
        ws.write_number(i, 4, int(row.approved) / 100, fm.money_bold)
    write_table(ws, frame, cols, fm, title=WRITEOFFS, top=len(totals) + 3)
