"""The Summary sheet, first in the workbook: what night this was and what it did (mode, notices,
emails sent, failed and held, quarantined rows, unapplied cash, suggestions), the KPIs of each
company code side by side, and the aging and trend charts.

It is written last, after delivery (the email counts come from the outbox), although it is the
first sheet: xlsxwriter keeps each sheet's rows apart, so the order of writing is free.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from receivables.kpi_labels import why_blank
from receivables.workbook.formats import Formats, print_setup
from receivables.workbook.inputs import Delivery, WorkbookInputs, base_currency_cents
from receivables.workbook.kpi_sheet import kpi_grid
from receivables.workbook.labels import DUNNING_ACTIONS, word
from receivables.workbook.open_items_sheet import OpenItems
from receivables.workbook.sheets import date_cell

SHEET = "Summary"
#: (label, value, kind) with kind text, date, count or money
Fact = tuple[str, object, str]
#: the charts at a little over half their size, and the rows that takes
_IMAGE = {"x_scale": 0.55, "y_scale": 0.55, "object_position": 3}
_CHART_ROWS = 18


def run_facts(inputs: WorkbookInputs, items: OpenItems, delivery: Delivery) -> list[Fact]:
    f = inputs.facts
    facts: list[Fact] = [
        ("Business date (as_of)", f.as_of, "date"),
        ("Mail mode", f.mode, "text"),
        ("Run id", f.run_id, "text"),
        ("Dunning state", "written" if f.dunning_written else f"not written: {f.why_not}", "text"),
        ("Dunning notices", len(inputs.notices), "count"),
    ]
    actions = inputs.notices["action"].value_counts().sort_index() if not inputs.notices.empty else {}
    facts += [(f"  of them: {word(DUNNING_ACTIONS, a)}", int(n), "count") for a, n in dict(actions).items()]
    emails = delivery.email_counts()
    for key, label in (
        ("sent", "Emails sent"),
        ("previewed", "Emails previewed (written as .eml, not sent)"),
        ("failed", "Emails failed or not built (see Dunning proposal)"),
        ("held", "Emails held for review"),
        ("queued", "Emails queued, not sent yet"),
    ):
        if emails.get(key) or key in ("sent", "failed", "held"):
            facts.append((label, emails.get(key, 0), "count"))
    facts.append(("Quarantined input rows", f.quarantined_rows, "count"))
    facts += _cash_facts(inputs)
    shown = f" (the sheet lists the first {len(items.frame):,})" if items.total > len(items.frame) else ""
    facts.append((f"Open items{shown}", items.total, "count"))
    if f.missing_fx:
        facts.append(("Currencies without an FX rate (no base amount)", ", ".join(f.missing_fx), "text"))
    if f.held_companies:
        facts.append(("Company codes held back (no dunning)", ", ".join(f.held_companies), "text"))
    return facts


def _cash_facts(inputs: WorkbookInputs) -> list[Fact]:
    """Unapplied cash per currency and in base, and the suggestions for review."""
    base = inputs.facts.base_currency
    unapplied = inputs.unapplied
    out: list[Fact] = [("Unapplied payments", unapplied["payment_id"].nunique(), "count")]
    if not unapplied.empty:
        for currency, cents in unapplied.groupby("currency", sort=True)["remaining_amount"].sum().items():
            out.append((f"Unapplied cash ({currency})", int(cents), "money"))
        # summed per company code and currency before converting, as the KPIs do: the two agree
        sums = unapplied.groupby(["company_code", "currency"], sort=True)["remaining_amount"].sum().reset_index()
        converted = base_currency_cents(inputs, sums, "remaining_amount")
        if all(c is not None for c in converted):
            out.append((f"Unapplied cash, all currencies ({base})", sum(converted), "money"))
    suggested = inputs.suggestions
    out.append(("Cash-application suggestions to review (see Suggestions)", len(suggested), "count"))
    if not suggested.empty:
        for currency, cents in suggested.groupby("currency", sort=True)["applied_amount"].sum().items():
            out.append((f"Suggested amount ({currency})", int(cents), "money"))
    return out


def write_summary(ws, inputs: WorkbookInputs, items: OpenItems, delivery: Delivery, fm: Formats) -> None:
    """The run's facts with the aging chart beside them, the KPI grid under both, and the
    trend chart under the grid: one page wide on paper, the facts first on screen."""
    ws.set_column(0, 0, 52)
    ws.set_column(1, 8, 16)
    ws.write_string(0, 0, f"Receivables run {inputs.facts.as_of.isoformat()}", fm.title)
    ws.write_string(2, 0, "Run", fm.header)
    ws.write_string(2, 1, "Value", fm.header)
    row = 3
    for label, value, kind in run_facts(inputs, items, delivery):
        ws.write_string(row, 0, label, fm.text)
        _write_fact(ws, row, 1, value, kind, fm)
        row += 1
    charts = {k: p for k, p in delivery.charts.items() if p and Path(p).exists()}
    if "aging_chart" in charts:
        ws.insert_image(2, 3, charts["aging_chart"], _IMAGE)
        row = max(row, 2 + _CHART_ROWS)
    bottom = _write_kpi_grid(ws, row + 1, inputs, fm)
    if "trend_chart" in charts:
        ws.insert_image(bottom + 2, 0, charts["trend_chart"], _IMAGE)
    print_setup(ws, None, SHEET)
    ws.activate()


def _write_fact(ws, row: int, col: int, value: object, kind: str, fm: Formats) -> None:
    if kind == "date":
        ws.write_datetime(row, col, date_cell(value), fm.date)
    elif kind == "money":
        ws.write_number(row, col, int(value) / 100, fm.money)  # type: ignore[call-overload]
    elif kind == "count":
        ws.write_number(row, col, int(value), fm.count)  # type: ignore[call-overload]
    else:
        ws.write_string(row, col, str(value), fm.text)


def _write_kpi_grid(ws, top: int, inputs: WorkbookInputs, fm: Formats) -> int:
    """KPI rows by company code columns, from row ``top``; returns the last row used."""
    base = inputs.facts.base_currency
    grid = kpi_grid(inputs)
    companies = [c for c in grid.columns if c not in ("kpi", "label", "unit", "unit_label", "_format")]
    ws.write_string(top, 0, f"KPIs by company code (money in {base}, the base currency)", fm.bold)
    headers = ["KPI", "Unit", *companies, "Why blank"]
    ws.set_column(len(headers) - 1, len(headers) - 1, 45)
    for j, h in enumerate(headers):
        ws.write_string(top + 1, j, h, fm.header)
    facts = inputs.facts
    row = top + 1
    for r in grid.to_dict("records"):
        row += 1
        ws.write_string(row, 0, str(r["label"]), fm.text)
        ws.write_string(row, 1, str(r["unit_label"]), fm.text)
        blank = False
        for j, company in enumerate(companies):
            v = r[company]
            if v is None or pd.isna(v):
                blank = True
                ws.write_string(row, 2 + j, "n/a", fm.na)
            else:
                ws.write_number(row, 2 + j, float(v), getattr(fm, str(r["_format"])))
        if blank:
            note = why_blank(str(r["kpi"]), facts.month_end, facts.month_end_snapshot)
            ws.write_string(row, 2 + len(companies), note, fm.note)
    return row
