"""The big tables' rows written the fast way make the very file xlsxwriter writes itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from receivables.workbook import NO_DELIVERY, fast_rows, write_report_workbook
from receivables.workbook.formats import Formats
from receivables.workbook.sheets import Column, write_table
from tests.receivables import workbook_data as data

CREATED = dt.datetime(2026, 10, 31)

TRICKY = pd.DataFrame(
    {
        "text": [
            "plain",
            "  leading",
            "trailing ",
            "a & b < c > d",
            'quote "x"',
            "tab\there",
            "ctl\x01x",
            "_x0041_",
            None,
            "",
        ],
        "money": [12345, -1, 0, None, 10**15, 5, 99, 100, 7, 8],
        "due": pd.to_datetime(
            ["2026-10-01", None, "2026-01-31", "1999-12-31", "2026-10-01", None, None, None, None, None]
        ),
        "days": [1, 2, 3, 4, 5, 6, 7, 8, 9, None],
        "flag": [True, False, True, False, True, False, True, False, True, False],
        "customer": ["C1", "C2", None, "C4", "C5", "C6", "C7", "C8", "C9", "C10"],
        "_link": [2, None, 4, 5, 6, 7, 8, 9, 10, 11],
        "why": [
            "short",
            "a reason long enough to wrap over two lines of its column",
            None,
            "",
            "x\ny\nz",
            None,
            None,
            None,
            None,
            None,
        ],
    }
).astype({"days": "Int64", "money": "Int64"})
COLUMNS = [
    Column("text", "Text", highlight="alert"),
    Column("money", "Amount", "money", highlight="old"),
    Column("due", "Due", "date"),
    Column("days", "Days", "days"),
    Column("customer", "Customer", link="_link"),
    Column("why", "Why", "wrap", width=20),
]


def _table(path: Path, fast: bool, monkeypatch) -> bytes:
    if not fast:
        monkeypatch.setattr(fast_rows, "fits", lambda *args: False)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    book.set_properties({"created": CREATED})
    ws = book.add_worksheet("Open items")
    ws.write_string(0, 0, "above the table")
    write_table(ws, TRICKY.assign(_alert=TRICKY["flag"]), COLUMNS, Formats.of(book), title="T", top=2)
    ws.write_string(20, 0, "below the table")
    book.close()
    monkeypatch.undo()
    return path.read_bytes()


def test_a_table_of_tricky_values_is_the_same_file_either_way(tmp_path: Path, monkeypatch) -> None:
    fast = _table(tmp_path / "fast.xlsx", True, monkeypatch)
    slow = _table(tmp_path / "slow.xlsx", False, monkeypatch)
    assert fast == slow
    ws = openpyxl.load_workbook(tmp_path / "fast.xlsx")["Open items"]
    assert ws["A5"].value == "  leading" and ws["A7"].value == "a & b < c > d"
    assert ws["B4"].value == 123.45 and ws["B7"].value is None
    assert ws["C4"].value == dt.datetime(2026, 10, 1) and ws["A21"].value == "below the table"
    assert ws["E4"].hyperlink.location == "'Open items'!A2" and ws["E5"].hyperlink is None
    assert ws.row_dimensions[5].height == 45 and ws["F8"].value == "x\ny\nz"


@pytest.mark.parametrize("delivery", [NO_DELIVERY])
def test_the_run_workbook_is_the_same_file_either_way(tmp_path: Path, monkeypatch, delivery) -> None:
    fast = write_report_workbook(tmp_path / "fast.xlsx", data.inputs(), delivery, created=CREATED).read_bytes()
    monkeypatch.setattr(fast_rows, "fits", lambda *args: False)
    slow = write_report_workbook(tmp_path / "slow.xlsx", data.inputs(), delivery, created=CREATED).read_bytes()
    assert fast == slow
