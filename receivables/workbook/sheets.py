"""One table on a sheet: a header row that stays in view and repeats on every printed page, a
filter on every column, widths that fit, and each column written as what it is.

A ``Column`` says what a frame column holds (``kind``) and what its header reads.  Money arrives
as integer cents (or a ``Decimal`` in units, as the warehouse returns it) and is written as
``cents / 100``: an Excel cell is a double anyway, and any amount below 2^53 cents (90 trillion)
displays to the exact cent.

Text from the ERP or the bank (customer names, remittance text) is never a formula: every text
cell is written with ``write_string`` after ``neutralise`` (a leading apostrophe for text that
starts like a formula, OWASP's advice), so it stays text even after a round trip through CSV.

The workbook is written with xlsxwriter's ``constant_memory``: rows go out in order and memory
stays flat for a million rows, so a column is converted once, vectorised, and the row loop only
picks the writer each column chose beforehand.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from receivables.cell_text import neutralise
from receivables.errors import ReceivablesError
from receivables.workbook import fast_rows
from receivables.workbook.formats import Formats, print_setup

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_TEXT = 32_767
#: Excel keeps at most this many hyperlinks on one sheet; rows further down are not linked
MAX_LINKS = 65_530
_MAX_WIDTH = 60
_WIDTH_SAMPLE = 2000
#: widths of columns whose content has a known shape
_WIDTHS = {"money": 15, "date": 11, "int": 8, "count": 10, "days": 9, "decimal": 9, "percent": 9, "priority": 9}


@dataclass(frozen=True)
class Column:
    """A column of a sheet: the frame column ``key`` under ``header``, written as ``kind``:
    ``text``, ``wrap`` (text wrapped in a fixed width), ``money`` (cents), ``date``, ``int``,
    ``count``, ``days``, ``decimal`` (one decimal), ``percent`` (a fraction), ``priority`` or
    ``by_row`` (a number whose format the frame's ``_format`` column names, row by row)."""

    key: str
    header: str
    kind: str = "text"
    width: float | None = None
    #: ``old``, ``oldest`` or ``alert`` fills each non-zero money cell; ``alert`` on a text
    #: column fills the cells of the rows the frame's boolean ``_alert`` column marks
    highlight: str | None = None
    #: a frame column holding the 1-based row of ``Open items`` this cell links to
    link: str | None = None


def missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, Decimal):
        return v.is_nan()
    return False


def cells(series: pd.Series, kind: str) -> list:
    """A column as the Python values its cells get (None = blank)."""
    numeric = pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if kind in ("money", "int", "count") and numeric:
        # cents, ranks, levels: numpy's float division gives the same doubles as int / 100
        # below 2**53, for a fraction of the cost of a million Python calls
        blank = series.isna().to_numpy(dtype=bool)
        ints = series.to_numpy(dtype="int64", na_value=0)
        if not len(ints) or -(2**53) < ints.min() and ints.max() < 2**53:
            out = (ints / 100 if kind == "money" else ints.astype("float64")).tolist()
            for i in np.flatnonzero(blank):
                out[i] = None
            return out
    # numpy's datetime64, with or without a time zone (an Arrow date32 is not one of them)
    numpy_dates = isinstance(series.dtype, np.dtype) and series.dtype.kind == "M"
    if kind == "date" and (numpy_dates or isinstance(series.dtype, pd.DatetimeTZDtype)):
        naive = series.dt.tz_localize(None) if series.dt.tz is not None else series
        out = naive.dt.to_pydatetime().tolist()
        for i in np.flatnonzero(series.isna().to_numpy(dtype=bool)):
            out[i] = None
        return out
    if kind in ("text", "wrap") and isinstance(series.dtype, pd.StringDtype):
        return _texts(series)
    values = series.astype(object).tolist()
    if kind == "money":
        return [
            None if missing(v) else (int(v) / 100 if isinstance(v, (int, np.integer)) else float(v)) for v in values
        ]
    if kind == "date":
        return [None if missing(v) else pd.Timestamp(v).to_pydatetime().replace(tzinfo=None) for v in values]
    if kind in ("text", "wrap"):
        return [None if missing(v) or v == "" else neutralise(str(v))[:EXCEL_MAX_TEXT] for v in values]
    return [None if missing(v) else float(v) for v in values]


def _texts(series: pd.Series) -> list:
    """The cells of a string column as ``cells`` gives any text: blanks are None, the rest
    ``neutralise``d and cut at Excel's limit.  A text that starts with a letter or a digit is
    inert as it is, so only the others (a few in a million) are looked at one by one."""
    filled = series.fillna("")
    out = filled.tolist()
    plain = filled.str.match(r"[0-9A-Za-z]").to_numpy(dtype=bool) & (filled.str.len().to_numpy() <= EXCEL_MAX_TEXT)
    for i in np.flatnonzero(~plain):
        out[i] = neutralise(out[i])[:EXCEL_MAX_TEXT] if out[i] else None
    return out


def write_table(
    ws,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    fm: Formats,
    *,
    title: str,
    top: int = 0,
    link_sheet: str = "Open items",
) -> None:
    """``frame`` as a table whose header is on row ``top`` (0-based), with the filter, frozen
    header, widths and print setup; rows above ``top`` are the caller's (already written)."""
    if len(frame) + top >= EXCEL_MAX_ROWS:
        raise ReceivablesError(
            f"The sheet '{title}' has {len(frame):,} rows, "
            f"more than the {EXCEL_MAX_ROWS - 1 - top:,} data rows an Excel sheet holds; "
            "the workbook was not written. Use the warehouse table for this one."
        )
    columns = [c for c in columns if c.key in frame.columns]
    values = [cells(frame[c.key], c.kind) for c in columns]
    widths = [_width(c, v) for c, v in zip(columns, values)]
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    ws.set_row(top, row_height([c.header for c in columns], widths))
    for j, c in enumerate(columns):
        ws.write_string(top, j, c.header, fm.header)
    ws.freeze_panes(top + 1, 0)
    ws.autofilter(top, 0, top + max(len(frame), 1), max(len(columns) - 1, 0))
    print_setup(ws, top, title)
    formats = [_formats(c, frame, fm, v) for c, v in zip(columns, values)]
    links = [_link_writer(ws, frame[c.link].tolist(), fm, link_sheet) if _linked(c, frame) else None for c in columns]
    wrapped = [(values[j], widths[j]) for j, c in enumerate(columns) if c.kind == "wrap"]
    if fast_rows.fits(ws, top + 1, values):
        _write_fast(ws, top, frame, columns, values, formats, fm, link_sheet, wrapped)
        return
    writers = [link or _cell_writer(ws, c.kind) for c, link in zip(columns, links)]
    for i in range(len(frame)):
        r = top + 1 + i
        if wrapped:
            # an application sizes a wrapped row only when it is edited: give it its lines now
            ws.set_row(r, row_height([v[i] for v, _ in wrapped], [w for _, w in wrapped]))
        for j, write in enumerate(writers):
            v = values[j][i]
            if v is not None:
                write(r, j, v, formats[j][i], i)


#: points per line of the default 11-point font, and the most lines a row is given
LINE_HEIGHT = 15
MAX_LINES = 10


def row_height(texts: Sequence[object], widths: Sequence[float]) -> float:
    """The height that shows each text wrapped in its column width (at most ``MAX_LINES``)."""
    lines = 1
    for text, width in zip(texts, widths):
        if isinstance(text, str) and text:
            # a width unit is one digit; prose averages a little narrower than digits
            per_line = max(width * 1.15 - 2, 1)
            lines = max(lines, sum(math.ceil(max(len(part), 1) / per_line) for part in text.split("\n")))
    return LINE_HEIGHT * min(lines, MAX_LINES)


def _width(c: Column, values: list) -> float:
    if c.width is not None:
        return c.width
    shown = [len(c.header) if len(c.header) < 16 else 14]
    if c.kind in _WIDTHS:
        shown.append(_WIDTHS[c.kind])
    else:
        shown += [len(str(v)) for v in values[:_WIDTH_SAMPLE] if v is not None]
    return min(max(shown) + 2, _MAX_WIDTH)


def _write_fast(
    ws, top: int, frame, columns, values: list, formats: list, fm: Formats, link_sheet: str, wrapped: list
) -> None:
    """The rows by ``fast_rows``, except the last: xlsxwriter keeps a sheet's last row until
    the file closes and numbers its formats then, so it goes through xlsxwriter as ever."""
    targets = {
        j: _link_targets(frame[c.link].tolist(), values[j], link_sheet)
        for j, c in enumerate(columns)
        if _linked(c, frame)
    }
    for j, urls in targets.items():
        formats[j] = [fm.text if url is None else fm.link for url in urls]
    r, last = top + len(frame), len(frame) - 1
    for i in range(last + 1 if wrapped else 0):
        # an application sizes a wrapped row only when it is edited: give it its lines now
        ws.set_row(top + 1 + i, row_height([v[i] for v, _ in wrapped], [w for _, w in wrapped]))
    fast_rows.write_rows(
        ws, top + 1, [v[:-1] for v in values], [f[:-1] for f in formats], {j: t[:-1] for j, t in targets.items()}
    )
    for j, c in enumerate(columns):
        v = values[j][last] if last >= 0 else None
        if v is None:
            continue
        if j in targets and targets[j][last] is not None:
            url, text, tip = targets[j][last]
            ws.write_url(r, j, url, fm.link, text, tip)
        else:
            _cell_writer(ws, c.kind)(r, j, v, formats[j][last], last)


def _linked(c: Column, frame: pd.DataFrame) -> bool:
    return c.link is not None and c.link in frame.columns


def _cell_writer(ws, kind: str):
    """How a cell of this kind is written: ``write(row, col, value, format, i)``."""
    if kind == "date":
        return lambda r, j, v, f, i: ws.write_datetime(r, j, v, f)
    if kind in ("text", "wrap"):
        return lambda r, j, v, f, i: ws.write_string(r, j, v, f)
    return lambda r, j, v, f, i: ws.write_number(r, j, v, f)


def _formats(c: Column, frame: pd.DataFrame, fm: Formats, values: list) -> list:
    """The format of each cell of column ``c``, row by row."""
    n = len(values)
    if _linked(c, frame):
        return [fm.link] * n
    if c.kind == "money":
        fmt = {"old": fm.money_old, "oldest": fm.money_oldest, "alert": fm.money_alert}.get(c.highlight or "", fm.money)
        return [fm.money] * n if fmt is fm.money else [fmt if v else fm.money for v in values]
    if c.kind == "date":
        return [fm.date] * n
    if c.kind == "by_row":
        return [getattr(fm, str(f)) for f in frame["_format"].tolist()]
    if c.kind in ("text", "wrap"):
        fmt = fm.wrap if c.kind == "wrap" else fm.text
        if c.highlight == "alert" and "_alert" in frame.columns:
            return [fm.alert if a else fmt for a in frame["_alert"].fillna(False).astype(bool).tolist()]
        return [fmt] * n
    kinds = {"days": fm.days, "decimal": fm.days, "count": fm.count, "percent": fm.percent, "priority": fm.priority}
    return [kinds.get(c.kind, fm.text)] * n


def _link_targets(targets: list, values: list, sheet: str) -> list[tuple[str, str, str] | None]:
    """Per row, the link a cell carries (url, text, tip) as ``_link_writer`` writes it: to the
    first ``MAX_LINKS`` rows that have a target; None for a plain text cell."""
    out: list[tuple[str, str, str] | None] = []
    written = 0
    for target, v in zip(targets, values):
        if v is None or missing(target) or written >= MAX_LINKS:
            out.append(None)
            continue
        written += 1
        out.append((f"internal:'{sheet}'!A{int(target)}", v, f"Open items of {v}"[:255]))
    return out


def _link_writer(ws, targets: list, fm: Formats, sheet: str):
    """Text that links to a row of ``sheet`` (its first ``MAX_LINKS`` rows: Excel's limit)."""
    written = [0]

    def write(r: int, j: int, v: str, f, i: int) -> None:
        target = targets[i]
        if missing(target) or written[0] >= MAX_LINKS:
            ws.write_string(r, j, v, fm.text)
            return
        written[0] += 1
        ws.write_url(r, j, f"internal:'{sheet}'!A{int(target)}", fm.link, v, f"Open items of {v}"[:255])

    return write


def date_cell(value: object) -> dt.datetime | None:
    """A date as the naive datetime ``write_datetime`` takes (None for a blank)."""
    return None if missing(value) else pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
