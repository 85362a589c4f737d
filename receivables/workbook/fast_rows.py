"""The plain data rows of a big table, written into xlsxwriter's row file as xlsxwriter would.

xlsxwriter spends about 6 µs on a cell (a cell tuple in its table, then the cell's XML when
the row is done): the 200,000-row Open items sheet alone took ~25 s of a large night, on the
core the reminders render on.  For rows of numbers, dates, text and internal links, with
or without a height of their own, the same XML is put together here column by column, and xlsxwriter is
told the sheet's new extent.  The file is byte for byte the one xlsxwriter writes itself (a
test writes both); this leans on xlsxwriter's ``constant_memory`` internals, so its version
is pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from xlsxwriter.url import Url
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name

#: a text this long may be cut by xlsxwriter by UTF-16 length: leave those to xlsxwriter
_LONG_TEXT = 16_000


def fits(ws, first_row: int, values: Sequence[list]) -> bool:
    """Whether these rows can go the fast way: a constant-memory sheet in its default row
    layout, nothing stored yet at or below ``first_row``, and only plain values."""
    if not (ws.constant_memory and ws.excel_version == 2007 and ws.default_row_height == ws.original_row_height):
        return False
    if ws.previous_row > first_row or any(r >= first_row for r in ws.row_info):
        return False
    for column in values:
        for v in column:
            if isinstance(v, str):
                if len(v) > _LONG_TEXT or (v.startswith("<r>") and v.endswith("</r>")):
                    return False
            elif isinstance(v, float) and not math.isfinite(v):
                return False
    return True


def write_rows(
    ws, first_row: int, values: Sequence[list], formats: Sequence[list], links: dict[int, list] | None = None
) -> None:
    """Rows ``first_row``, ``first_row + 1``, ... from ``values`` (one list per column, None =
    blank) in ``formats`` (one list of xlsxwriter formats per column, row by row); ``links``
    gives a column's cells their hyperlinks, row by row: (url, text, tip) or None."""
    if first_row > ws.previous_row:
        ws._write_single_row(first_row)  # the rows before (the header) go out first
    _number_styles(values, formats)
    cells = [_column_xml(ws, j, first_row, v, f) for j, (v, f) in enumerate(zip(values, formats))]
    rows, used = [], []
    for i, row in enumerate(zip(*cells)):
        info = ws.row_info.get(first_row + i)
        tag = f'row r="{first_row + i + 1}"' if info is None else _row_tag(ws, first_row + i, info)
        if any(row):
            rows.append(f"<{tag}>{''.join(row)}</row>")
            used.append(i)
        elif info is not None:
            rows.append(f"<{tag}/>")
    ws.fh.write("".join(rows))
    for j, urls in (links or {}).items():
        _register_links(ws, first_row, j, urls)
    if not used:
        return
    columns = [j for j, column in enumerate(values) if any(v is not None for v in column)]
    ws._check_dimensions(first_row + used[0], columns[0])
    ws._check_dimensions(first_row + used[-1], columns[-1])
    # these rows are written: xlsxwriter refuses a later write to them, as to its own
    ws.previous_row = first_row + used[-1] + 1


def _row_tag(ws, row: int, info) -> str:
    """The <row> tag of a row ``set_row`` gave a height (and maybe more), as ``_write_row``."""
    tag = f'row r="{row + 1}"'
    if info.row_format:
        tag += f' s="{info.row_format._get_xf_index()}" customFormat="1"'
    custom = info.height != ws.original_row_height
    if custom:
        tag += f' ht="{info.height * 0.75:.16g}"'
    if info.hidden:
        tag += ' hidden="1"'
    if custom:
        tag += ' customHeight="1"'
    if info.level:
        tag += f' outlineLevel="{info.level}"'
    if info.collapsed:
        tag += ' collapsed="1"'
    return tag


def _register_links(ws, first_row: int, j: int, urls: list) -> None:
    """What ``write_url`` stores for each link cell (the cell's text is written with the rest)."""
    for i, link in enumerate(urls):
        if link is not None:
            url, text, tip = link
            ws.hlink_count += 1
            ref = Url(url)
            ref._text, ref.tip = text, tip
            ws.hyperlinks[first_row + i][j] = ref


def _number_styles(values: Sequence[list], formats: Sequence[list]) -> None:
    """Give the formats their style numbers in the order xlsxwriter would: a format is
    numbered when the first cell using it is written, row by row, left to right."""
    first: dict[int, tuple[int, int, object]] = {}
    for j, (column, column_formats) in enumerate(zip(values, formats)):
        seen: set[int] = set()
        for i, f in enumerate(column_formats):
            if id(f) not in seen and column[i] is not None:
                seen.add(id(f))
                if id(f) not in first or (i, j) < first[id(f)][:2]:
                    first[id(f)] = (i, j, f)
    for _, _, f in sorted(first.values(), key=lambda t: t[:2]):
        f._get_xf_index()


#: what makes a text need xlsxwriter's escaping: control characters, its own _xHHHH_ escapes,
#: XML's special characters, and leading or trailing white space
_SPECIAL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]|_x[0-9a-fA-F]{4}_|^\s|\s$")


def _column_xml(ws, j: int, first_row: int, values: list, formats: list) -> list[str]:
    name = xl_col_to_name(j)
    kinds = set(map(type, values)) - {type(None)}
    if len(set(map(id, formats))) == 1 and kinds and (kinds <= {float, int} or kinds == {str}):
        return _uniform_column_xml(ws, f'<c r="{name}', first_row, values, formats[0], kinds == {str})
    # numbered already (``_number_styles``); a format only blank cells have must stay unnumbered
    styles: dict[int, int] = {}
    serials: dict = {}
    out = []
    for i, (v, f) in enumerate(zip(values, formats)):
        if v is None:
            out.append("")
            continue
        style = styles.get(id(f))
        if style is None:
            style = styles[id(f)] = f._get_xf_index()
        head = f'<c r="{name}{first_row + i + 1}" s="{style}"'
        if isinstance(v, str):
            if _SPECIAL.search(v):
                out.append(head + _escaped_text(ws, v))
            else:
                out.append(f'{head} t="inlineStr"><is><t>{v}</t></is></c>')
        elif hasattr(v, "year"):  # a date: its Excel serial number, once per distinct date
            if v not in serials:
                serials[v] = ws._convert_date_time(v)
            out.append(f"{head}><v>{serials[v]:.16G}</v></c>")
        else:
            out.append(f"{head}><v>{v:.16G}</v></c>")
    return out


def _uniform_column_xml(ws, start: str, first_row: int, values: list, f, texts: bool) -> list[str]:
    """``_column_xml`` of a column with one format and only numbers or only texts (most
    columns of a big table): the same cells, without asking each value what it is."""
    rows = range(first_row + 1, first_row + 1 + len(values))
    style = f'" s="{f._get_xf_index()}"'
    if not texts:
        return ["" if v is None else f"{start}{r}{style}><v>{v:.16G}</v></c>" for r, v in zip(rows, values)]
    out = []
    for r, v in zip(rows, values):
        if v is None:
            out.append("")
        elif _SPECIAL.search(v):
            out.append(f"{start}{r}{style}" + _escaped_text(ws, v))
        else:
            out.append(f'{start}{r}{style} t="inlineStr"><is><t>{v}</t></is></c>')
    return out


def _escaped_text(ws, v: str) -> str:
    text = ws._escape_control_characters(v)
    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f' t="inlineStr"><is><t{space}>{ws._escape_data(text)}</t></is></c>'
