"""The Aging sheet: per company code, customer and currency, the open amount by days past due.

Amounts are in the row's currency (the Currency column beside them) with the base-currency
total next to them, so a filter on one currency sums to something that means a thing.  The
subtotals per company code and currency stand above the table, outside its filter (a subtotal
inside the table would be added again by every filtered sum), and stay in view.  The two oldest
buckets are shaded; credits (negative amounts) show in red.
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.customer_columns import credit_limits, with_customer
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import LINE_HEIGHT, Column, cells, write_table

SHEET = "Aging"
SUBTOTALS = (
    "Subtotals per company code and currency: sums of the rows below, outside their filter. Base totals are "
    "converted row by row; the KPIs convert per company code and currency, so they can differ by a few cents."
)


def columns(inputs: WorkbookInputs) -> list[Column]:
    base = inputs.facts.base_currency
    buckets = list(inputs.config.aging.buckets)
    shade = {buckets[-2].column: "old", buckets[-1].column: "oldest"}
    return [
        Column("company_code", "Company code"),
        Column("customer_id", "Customer", link="_link"),
        Column("name", "Customer name"),
        Column("collector", "Collector"),
        Column("currency", "Currency", width=9),
        *[Column(b.column, f"{b.label} (native)", "money", highlight=shade.get(b.column)) for b in buckets],
        Column("total", "Total (native)", "money"),
        Column("total_base", f"Total ({base})", "money"),
        Column("limit_native", "Credit limit (native)", "money"),
        Column("limit_base", f"Credit limit ({base})", "money"),
    ]


def aging_rows(inputs: WorkbookInputs, items: OpenItems) -> pd.DataFrame:
    """The aging with the customer's name, collector, credit limit and the link to its items."""
    frame = with_customer(inputs, inputs.aging, "name", "collector")
    frame["limit_native"], frame["limit_base"] = credit_limits(inputs, frame)
    keys = zip(*(frame[c].astype(str) for c in ("company_code", "customer_id", "currency")))
    frame["_link"] = [items.by_currency.get(k) for k in keys]
    return frame


def subtotals(inputs: WorkbookInputs) -> pd.DataFrame:
    """Per company code and currency, the sum of every bucket and total; the base total is
    blank where a currency had no rate."""
    money = [b.column for b in inputs.config.aging.buckets] + ["total"]
    aging = inputs.aging
    if aging.empty:
        return pd.DataFrame(columns=["company_code", "currency", *money, "total_base"])
    groups = aging.groupby(["company_code", "currency"], sort=True)
    out = groups[money].sum().astype("int64")
    out["total_base"] = groups["total_base"].sum(min_count=1).astype("Int64")
    unconverted = groups["total_base"].apply(lambda s: s.isna().any())
    out.loc[unconverted, "total_base"] = pd.NA
    return out.reset_index()


def write_aging(ws, inputs: WorkbookInputs, items: OpenItems, fm: Formats) -> None:
    cols = columns(inputs)
    sums = subtotals(inputs)
    ws.write_string(0, 0, SUBTOTALS, fm.bold)
    ws.set_row(1, 2 * LINE_HEIGHT)  # room for "Credit limit (native)" in a money column's width
    for j, c in enumerate(cols):
        ws.write_string(1, j, c.header, fm.header)
    row = 2
    values = [(j, c, cells(sums[c.key], c.kind)) for j, c in enumerate(cols) if c.key in sums]
    for i in range(len(sums)):
        for j, c, v in values:
            if v[i] is None:
                continue
            if c.kind == "money":
                ws.write_number(row, j, v[i], fm.money_bold)
            else:
                ws.write_string(row, j, str(v[i]), fm.bold)
        row += 1
    base_total = pd.to_numeric(inputs.aging["total_base"]).sum() if not inputs.aging.empty else 0
    if not sums.empty and sums["total_base"].notna().all():
        ws.write_string(row, 0, "All companies", fm.bold)
        ws.write_number(row, [c.key for c in cols].index("total_base"), int(base_total) / 100, fm.money_bold)
        row += 1
    write_table(ws, aging_rows(inputs, items), cols, fm, title=SHEET, top=row + 1)
