"""The "Delinquency drivers" sheet (tonight's overdue balance per company code split by
driver, with a bar chart) and the "Root causes" sheet (the drivers at each month's last run
and the disputes opened per reason code, months as columns, with a line chart).  Both use
native Excel charts, so a reader can restyle or copy them.
"""

from __future__ import annotations

import pandas as pd

from receivables.root_causes import RootCauses
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.sheets import Column, write_table

DRIVERS_SHEET = "Delinquency drivers"
ROOT_CAUSES_SHEET = "Root causes"
DRIVER_LABELS = {
    "disputed": "Disputed",
    "covered_by_customer_money": "Covered by the customer's own money",
    "promised": "Promised to pay",
    "payment_plan": "Under a payment plan",
    "blocked": "Dunning block",
    "handed_over": "Handed over to the agency",
    "plain_late": "Plain late",
}
COLUMNS = [
    Column("company_code", "Company code", width=14),
    Column("label", "Driver", width=36),
    Column("amount", "Overdue amount ({base})", "money"),
    Column("share", "Share of overdue", "percent"),
    Column("count", "Items", "count"),
    Column("avg_days_delinquent", "Average days past due", "days", width=12),
    Column("driver", "Warehouse code", width=28),
]


def driver_rows(inputs: WorkbookInputs) -> pd.DataFrame:
    drivers = inputs.drivers if inputs.drivers is not None else pd.DataFrame(columns=[c.key for c in COLUMNS])
    return drivers.assign(label=[DRIVER_LABELS.get(str(d), str(d)) for d in drivers["driver"]])


def write_drivers(ws, inputs: WorkbookInputs, fm: Formats, book) -> None:
    """The drivers table and, beside it, one bar series per company code."""
    rows = driver_rows(inputs)
    base = inputs.facts.base_currency
    columns = [Column(c.key, c.header.format(base=base), c.kind, c.width) for c in COLUMNS]
    write_table(ws, rows, columns, fm, title=DRIVERS_SHEET)
    if rows.empty:
        return
    chart = book.add_chart({"type": "bar"})
    start = 1
    for company, block in rows.groupby("company_code", sort=False):
        end = start + len(block) - 1
        chart.add_series(
            {
                "name": f"Company {company}",
                "categories": [ws.name, start, 1, end, 1],
                "values": [ws.name, start, 2, end, 2],
            }
        )
        start = end + 1
    chart.set_title({"name": f"Overdue by driver ({inputs.facts.base_currency})"})
    chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 640, "height": 420})
    ws.insert_chart(1, len(COLUMNS) + 1, chart)


def root_cause_rows(found: RootCauses | None, base: str) -> tuple[pd.DataFrame, list[Column]]:
    """One row per driver (its amount at each month's last run) and per dispute reason code
    (the amount and the number of disputes opened each month); months as columns."""
    months = found.months if found is not None else []
    columns = [Column("what", "Root cause", width=36), Column("kind", "Kind", width=22)]
    columns += [Column(f"a:{m}", f"{m} ({base})", "money") for m in months]
    columns += [Column(f"n:{m}", f"{m} disputes opened", "count", width=12) for m in months]
    if found is None:
        return pd.DataFrame(columns=[c.key for c in columns]), columns
    drivers = found.drivers.rename(columns={m: f"a:{m}" for m in months})
    drivers = drivers.assign(what=[DRIVER_LABELS.get(str(d), str(d)) for d in drivers["driver"]], kind="Overdue")
    parts = [drivers]
    d = found.disputes
    if not d.empty:
        amounts = d.loc[d["measure"] == "amount"].set_index("reason_code")
        counts = d.loc[d["measure"] == "opened"].set_index("reason_code")
        both = amounts.rename(columns={m: f"a:{m}" for m in months}).join(
            counts.rename(columns={m: f"n:{m}" for m in months}).drop(columns="measure"), how="outer"
        )
        parts.append(both.reset_index().assign(what=lambda f: f["reason_code"], kind="Disputes opened"))
    out = pd.concat(parts, ignore_index=True).reindex(columns=[c.key for c in columns])
    numbers = [c.key for c in columns[2:]]
    out[numbers] = out[numbers].astype("Int64")  # cents and counts, blank where none
    return out, columns


def write_root_causes(ws, inputs: WorkbookInputs, fm: Formats, book) -> None:
    """Months as columns: the driver amounts at each month's last run, then the disputes
    opened per reason code (amount and count); a line chart of the drivers below."""
    found = inputs.root_causes
    rows, columns = root_cause_rows(found, inputs.facts.base_currency)
    ws.write_string(0, 0, "Root causes over time", fm.title)
    ends = ", ".join(f"{m}: {d}" for m, d in (found.month_ends if found else {}).items())
    ws.write_string(1, 0, f"Overdue at each month's last run ({ends or 'no history yet'})", fm.note)
    write_table(ws, rows, columns, fm, title=ROOT_CAUSES_SHEET, top=3)
    n_months = len(found.months) if found is not None else 0
    if n_months and not found.drivers.empty:
        _trend_chart(ws, book, len(found.drivers), n_months, 3 + len(rows) + 3)


def _trend_chart(ws, book, n_drivers: int, n_months: int, row: int) -> None:
    chart = book.add_chart({"type": "line"})
    for i in range(4, 4 + n_drivers):
        chart.add_series(
            {
                "name": [ws.name, i, 0],
                "categories": [ws.name, 3, 2, 3, 1 + n_months],
                "values": [ws.name, i, 2, i, 1 + n_months],
                "marker": {"type": "circle"},
            }
        )
    chart.set_title({"name": "Overdue by driver, month by month"})
    chart.set_size({"width": 760, "height": 400})
    ws.insert_chart(row, 0, chart)
