"""The KPIs sheet, and the KPI values as cells (shared with the Summary's grid by company).

A KPI's value is a number cell in its unit's format: money in the base currency with two
decimals, days with one, percentages as fractions with a percent format, counts whole.  A KPI
that is undefined tonight is blank with the reason beside it.  The warehouse code stays in the
last column, for whoever checks a figure against the ``kpis`` table.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from receivables.kpi_labels import HEADLINE, kpi_label, unit_label, why_blank
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import WorkbookInputs
from receivables.workbook.sheets import Column, write_table

SHEET = "KPIs"
#: the format (a ``Formats`` attribute) of each unit's cells
FORMATS = {"amount": "money", "percent": "percent", "days": "days", "count": "count"}
COLUMNS = [
    Column("company", "Company code", width=14),
    Column("label", "KPI", width=46),
    Column("cell", "Value", "by_row", width=16),
    Column("unit_label", "Unit", width=7),
    Column("note", "Why blank", "wrap", width=50),
    Column("kpi", "Warehouse code", width=34),
]


def cell_value(value: object, unit: str) -> float | None:
    """A KPI value as its cell holds it: a percentage as a fraction (59.7827 -> 0.597827)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    number = Decimal(str(value))
    return float(number / 100) if unit == "percent" else float(number)


def kpi_rows(inputs: WorkbookInputs) -> pd.DataFrame:
    kpis = inputs.kpis
    facts = inputs.facts
    frame = kpis.assign(
        company=["All companies" if c == "ALL" else str(c) for c in kpis["company_code"]],
        label=[kpi_label(str(k)) for k in kpis["kpi"]],
        cell=[cell_value(v, str(u)) for v, u in zip(kpis["value"], kpis["unit"])],
        unit_label=[unit_label(str(u), facts.base_currency) for u in kpis["unit"]],
        _format=[FORMATS.get(str(u), "count") for u in kpis["unit"]],
    )
    frame["note"] = [
        why_blank(str(k), facts.month_end, facts.month_end_snapshot) if pd.isna(v) else None
        for k, v in zip(frame["kpi"], frame["cell"])
    ]
    return frame


def kpi_grid(inputs: WorkbookInputs) -> pd.DataFrame:
    """The KPIs without a breakdown, one row each (the headline ones first), one column per
    company code with all companies first: the layout of the Summary."""
    rows = kpi_rows(inputs)
    rows = rows.loc[~rows["kpi"].astype(str).str.contains(".", regex=False)]
    if rows.empty:
        return pd.DataFrame(columns=["kpi", "label", "unit", "unit_label"])
    codes = list(dict.fromkeys(rows["kpi"].astype(str)))
    order = [c for c in HEADLINE if c in codes] + [c for c in codes if c not in HEADLINE]
    grid = rows.pivot_table(index="kpi", columns="company", values="cell", aggfunc="first", dropna=False)
    companies = ["All companies"] + sorted(c for c in grid.columns if c != "All companies")
    grid = grid.reindex(index=order, columns=[c for c in companies if c in grid.columns])
    meta = rows.drop_duplicates("kpi").set_index("kpi").loc[order, ["label", "unit", "unit_label", "_format"]]
    return meta.join(grid).reset_index()


def write_kpis(ws, inputs: WorkbookInputs, fm: Formats) -> None:
    write_table(ws, kpi_rows(inputs), COLUMNS, fm, title=SHEET)
