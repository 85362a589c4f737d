"""The Provision sheet of a month-end close: the expected-credit-loss provision
(``receivables.close.provision``, docs/close.md) per company code, segment and aging bucket,
with the exposure a controller ticks against the Aging sheet's buckets, the loss rate, the
provision, and the change against the previous month end.  Totals per company code stand
above the table, outside its filter.  A night that is not a close says so in one line."""

from __future__ import annotations

import pandas as pd

from receivables.close.provision import PROVISION_COLUMNS
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.sheets import Column, write_table

PROVISION = "Provision"
NOT_A_CLOSE = "No provision tonight: the expected-credit-loss provision is made by the month-end close run."
TOTALS = "Totals per company code (base currency), outside the table's filter"
_METHODS = {
    "roll_rate": "Roll rates",
    "pooled_roll_rate": "Roll rates (pooled)",
    "default_matrix": "Default matrix",
    "specific": "Specific",
    "no_exposure": "No exposure tonight",
}


def provision_columns(inputs: WorkbookInputs) -> list[Column]:
    base = inputs.facts.base_currency
    return [
        Column("company_code", "Company code"),
        Column("segment", "Segment", width=16),
        Column("bucket_label", "Bucket", width=22),
        Column("exposure", f"Exposure ({base})", "money"),
        Column("rate", "Loss rate", "percent", width=10),
        Column("rate_exact", "Loss rate (exact fraction)", width=12),
        Column("provision", f"Provision ({base})", "money"),
        Column("method_words", "Method", width=20),
        Column("previous_month_end", "Previous month end", "date"),
        Column("previous_provision", f"Previous provision ({base})", "money"),
        Column("change", f"Change ({base})", "money"),
    ]


def provision_rows(inputs: WorkbookInputs) -> pd.DataFrame:
    """The provision rows in the warehouse's order, with readable bucket and method names."""
    frame = inputs.provisions if inputs.provisions is not None else pd.DataFrame(columns=PROVISION_COLUMNS)
    labels = {b.column: b.label for b in inputs.config.aging.buckets}
    frame = frame.reset_index(drop=True).copy()
    frame["bucket_label"] = [labels.get(str(b), str(b).replace("specific:", "Specific: ")) for b in frame["bucket"]]
    # the percent cell is rounded for reading; the exact six-decimal fraction applied is beside it
    frame["rate"] = [float(r) for r in frame["loss_rate"]]
    frame["rate_exact"] = [f"{r:.6f}" for r in frame["loss_rate"]]
    frame["method_words"] = [_METHODS.get(str(m), str(m)) for m in frame["method"]]
    return frame


def company_totals(frame: pd.DataFrame) -> pd.DataFrame:
    money = ["exposure", "provision", "previous_provision", "change"]
    if frame.empty:
        return pd.DataFrame(columns=["company_code", *money])
    return frame.groupby("company_code", sort=True)[money].sum().astype("int64").reset_index()


def write_provision(ws, inputs: WorkbookInputs, fm: Formats) -> None:
    frame = provision_rows(inputs)
    cols = provision_columns(inputs)
    if inputs.provisions is None:
        write_table(ws, frame, cols, fm, title=PROVISION)
        ws.write_string(1, 0, NOT_A_CLOSE, fm.note)
        return
    totals = company_totals(frame)
    keys = [c.key for c in cols]
    ws.write_string(0, 0, TOTALS, fm.bold)
    for i, row in enumerate(totals.itertuples(index=False), start=1):
        ws.write_string(i, 0, str(row.company_code), fm.bold)
        for name in ("exposure", "provision", "previous_provision", "change"):
            ws.write_number(i, keys.index(name), int(getattr(row, name)) / 100, fm.money_bold)
    write_table(ws, frame, cols, fm, title=PROVISION, top=len(totals) + 2)
