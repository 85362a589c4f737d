"""Stage 6, report: the Excel workbook finance users open after a run.

One sheet per table (aging, worklist, unapplied cash, dunning proposal, KPIs), each with a
formatted header row that stays in view, a filter on every column, widths that fit the content,
money as numbers with two decimals and dates as dates.

Text from the ERP or the bank (customer names, remittance text) is never a formula: every text
cell is written with ``write_string``, and a text starting with ``= + - @``, a tab or a carriage
return gets a leading apostrophe (OWASP's advice against formula injection), so it stays text
even after a round trip through CSV or an edit in Excel.

Money columns hold integer cents in the frames; only here do they become ``cents / 100`` as a
float, because an Excel cell is a double anyway: any amount below 2^53 cents (90 trillion)
displays to the exact cent.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from receivables.aging import DEFAULT_BUCKETS, AgingConfig
from receivables.cell_text import neutralise
from receivables.errors import ReceivablesError

#: column names that hold integer cents in the pipeline's frames
DEFAULT_MONEY_COLUMNS = frozenset(
    {
        *(b.column for b in DEFAULT_BUCKETS),
        "total",
        "total_base",
        "amount",
        "open_amount",
        "overdue_amount",
        "remaining_amount",
        "fees",
        "interest",
        "promised_amount",
        "applied_amount",
        "writeoff_amount",
        "discount_amount",
        "credit_limit",
    }
)

#: header text for the columns a finance user reads; other columns keep their name
DEFAULT_LABELS: dict[str, str] = {
    **{b.column: b.label for b in DEFAULT_BUCKETS},
    "company_code": "Company code",
    "customer_id": "Customer",
    "name": "Customer name",
    "currency": "Currency",
    "total": "Total",
    "total_base": "Total (base currency)",
    "rank": "Rank",
    "collector": "Collector",
    "priority": "Priority",
    "overdue_amount": "Overdue",
    "reason": "Reason",
    "next_action": "Next action",
    "payment_id": "Payment",
    "value_date": "Value date",
    "remaining_amount": "Unapplied amount",
    "payer_name": "Payer",
    "remittance_info": "Remittance text",
    "notice_id": "Notice",
    "level": "Level",
    "fees": "Fees",
    "interest": "Interest",
    "action": "Action",
    "policy": "Policy",
    "kpi": "KPI",
    "value": "Value",
    "unit": "Unit",
}


def labels_for(config: AgingConfig) -> dict[str, str]:
    """The default headers with the aging buckets named as configured (e.g. "1-45")."""
    return {**DEFAULT_LABELS, **{b.column: b.label for b in config.buckets}}


EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_TEXT = 32_767
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})
_MAX_WIDTH = 60
_WIDTH_SAMPLE = 2000


def _sheet_name(name: str, taken: set[str]) -> str:
    base = (str(name).translate(_BAD_SHEET_CHARS).strip("'") or "Sheet")[:31]
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, Decimal):
        return v.is_nan()
    return False


def _is_date_column(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna().head(50)
    return not sample.empty and all(isinstance(v, (dt.date, pd.Timestamp)) for v in sample)


def write_workbook(
    path: Path | str,
    sheets: Mapping[str, pd.DataFrame],
    money_columns: Collection[str] | Mapping[str, Collection[str]] = DEFAULT_MONEY_COLUMNS,
    labels: Mapping[str, str] | None = None,
    created: dt.datetime | None = None,
) -> Path:
    """Write ``sheets`` (sheet name -> frame, in order) to an .xlsx file and return its path.

    ``money_columns`` names the columns holding money, for all sheets or per sheet name: an
    integer there is cents, a Decimal or float an amount in units (as the warehouse returns
    it).  ``labels`` renames headers for display.  ``created`` fixes the document's creation
    time so a rerun can produce the same file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = DEFAULT_LABELS if labels is None else labels
    for name, frame in sheets.items():
        if len(frame) >= EXCEL_MAX_ROWS:
            raise ReceivablesError(
                f"The sheet '{name}' has {len(frame):,} rows, "
                f"more than the {EXCEL_MAX_ROWS - 1:,} data rows an Excel sheet holds; "
                "the workbook was not written. Use the warehouse table for this one."
            )
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,  # rows are written in order: memory stays flat for big sheets
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        },
    )
    if created is not None:
        workbook.set_properties({"created": created})
    header = workbook.add_format(
        {"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF", "border": 1, "valign": "top", "text_wrap": True}
    )
    money_fmt = workbook.add_format({"num_format": "#,##0.00"})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    taken: set[str] = set()
    try:
        for name, frame in sheets.items():
            money = set(money_columns.get(name, ())) if isinstance(money_columns, Mapping) else set(money_columns)
            _write_sheet(
                workbook.add_worksheet(_sheet_name(name, taken)), frame, money, labels, header, money_fmt, date_fmt
            )
    finally:
        workbook.close()
    return path


def _cells(series: pd.Series, kind: str) -> list:
    """A column as the Python values its cells get (None = blank), converted once per column
    rather than decided cell by cell."""
    if kind != "date" and pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        # whole numbers (cents, ranks, levels): numpy's float division and conversion give the
        # same doubles as Python's int / 100 and float(int) below 2**53, for a fraction of the
        # cost of a million Python calls
        blank = series.isna().to_numpy(dtype=bool)
        ints = series.to_numpy(dtype="int64", na_value=0)
        if not len(ints) or -(2**53) < ints.min() and ints.max() < 2**53:
            out = (ints / 100 if kind == "money" else ints.astype("float64")).tolist()
            for i in np.flatnonzero(blank):
                out[i] = None
            return out
    values = series.astype(object).tolist()
    if kind == "money":
        return [
            None if _missing(v) else (int(v) / 100 if isinstance(v, (int, np.integer)) else float(v)) for v in values
        ]
    if kind == "date":
        return [None if _missing(v) else pd.Timestamp(v).to_pydatetime().replace(tzinfo=None) for v in values]
    if isinstance(series.dtype, pd.StringDtype):  # text only: no per-value type tests
        return [neutralise(v)[:EXCEL_MAX_TEXT] if isinstance(v, str) else None for v in values]
    out: list = []
    for v in values:
        if _missing(v):
            out.append(None)
        elif isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, (int, float, Decimal, np.integer, np.floating)):
            out.append(float(v))
        else:
            out.append(neutralise(str(v))[:EXCEL_MAX_TEXT])
    return out


def _write_sheet(
    ws, frame: pd.DataFrame, money: set[str], labels: Mapping[str, str], header, money_fmt, date_fmt
) -> None:
    columns = list(frame.columns)
    kinds = ["money" if c in money else "date" if _is_date_column(frame[c]) else "value" for c in columns]
    cells = [_cells(frame[c], kind) for c, kind in zip(columns, kinds)]
    for j, c in enumerate(columns):
        shown = [len(str(labels.get(c, c)))]
        if kinds[j] == "money":
            shown.append(14)
        elif kinds[j] == "date":
            shown.append(10)
        else:
            shown += [len(str(v)) for v in cells[j][:_WIDTH_SAMPLE] if v is not None]
        ws.set_column(j, j, min(max(shown) + 2, _MAX_WIDTH), money_fmt if kinds[j] == "money" else None)
    for j, c in enumerate(columns):
        ws.write_string(0, j, str(labels.get(c, c)), header)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(frame), 1), max(len(columns) - 1, 0))
    writers = []
    for j, kind in enumerate(kinds):
        if kind == "money":
            writers.append((j, ws.write_number, money_fmt))
        elif kind == "date":
            writers.append((j, ws.write_datetime, date_fmt))
        else:
            writers.append((j, None, None))
    for i in range(len(frame)):
        r = i + 1
        for j, write, fmt in writers:
            v = cells[j][i]
            if v is None:
                continue
            if write is not None:
                write(r, j, v, fmt)
            elif isinstance(v, str):
                ws.write_string(r, j, v)
            elif isinstance(v, bool):
                ws.write_boolean(r, j, v)
            else:
                ws.write_number(r, j, v)


def report_sheets(
    aging: pd.DataFrame,
    worklist: pd.DataFrame,
    unapplied: pd.DataFrame,
    notices: pd.DataFrame,
    kpis: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    payments: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The run's workbook sheets from the stage frames, with the customer's name beside its id
    and the payment's value date, payer and remittance text beside unapplied cash."""
    names = (
        {}
        if customers is None or customers.empty
        else dict(zip(customers["customer_id"].astype(str), customers["name"]))
    )

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        if "customer_id" not in frame.columns or "name" in frame.columns:
            return frame
        out = frame.copy()
        out.insert(list(out.columns).index("customer_id") + 1, "name", [names.get(str(c)) for c in out["customer_id"]])
        return out

    cash = named(unapplied)
    if payments is not None and not payments.empty:
        extra = [
            c
            for c in ("value_date", "payer_name", "remittance_info")
            if c in payments.columns and c not in cash.columns
        ]
        cash = cash.merge(payments[["payment_id", *extra]].drop_duplicates("payment_id"), on="payment_id", how="left")
    worklist_cols = [
        "rank",
        "company_code",
        "customer_id",
        "collector",
        "priority",
        "overdue_amount",
        "next_action",
        "reason",
    ]
    return {
        "Aging": named(aging),
        "Worklist": named(worklist[[c for c in worklist_cols if c in worklist.columns]]),
        "Unapplied cash": cash,
        "Dunning proposal": named(notices),
        "KPIs": kpis,
    }
