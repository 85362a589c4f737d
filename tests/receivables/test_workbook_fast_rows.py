"""The big tables' rows written the fast way make the very file xlsxwriter writes itself."""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
import xlsxwriter
import xlsxwriter.workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.cell_text import neutralise
from receivables.workbook import NO_DELIVERY, fast_rows, write_report_workbook
from receivables.workbook.formats import Formats
from receivables.workbook.sheets import Column, cells, write_table
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


def test_the_run_workbook_is_deflated_quickly_and_leaves_xlsxwriter_as_it_was(tmp_path: Path) -> None:
    """Level 1 for the run's workbook only: a workbook xlsxwriter writes for anything else
    (the agency packages) is zipped as xlsxwriter zips it."""
    zip_file = xlsxwriter.workbook.ZipFile
    path = write_report_workbook(tmp_path / "run.xlsx", data.inputs(), NO_DELIVERY, created=CREATED)
    assert xlsxwriter.workbook.ZipFile is zip_file
    with zipfile.ZipFile(path) as package:
        sheets = [i for i in package.infolist() if i.filename.startswith("xl/worksheets/")]
        assert sheets and all(i.compress_type == zipfile.ZIP_DEFLATED for i in sheets)
        for info in sheets:  # what zipfile's deflate at level 1 makes of the sheet, to the byte
            quick = zlib.compressobj(1, zlib.DEFLATED, -15)
            xml = package.read(info)
            assert info.compress_size == len(quick.compress(xml) + quick.flush())
    assert openpyxl.load_workbook(path, read_only=True).sheetnames[0] == "Summary"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30), st.sampled_from(["str", "string", "object"]))
def test_a_text_column_gives_each_cell_what_the_rule_of_one_value_gives(texts, dtype):
    """Blank cells for missing and empty text, ``neutralise``d text otherwise, whatever the
    column's string dtype (a string column takes the vectorised path, object the plain one)."""
    expected = [None if v is None or v == "" else neutralise(v) for v in texts]
    assert cells(pd.Series(texts, dtype=dtype), "text") == expected


def test_a_date_column_gives_naive_datetimes_and_blanks_whatever_its_time_zone():
    days = pd.Series(pd.to_datetime(["2026-10-01 08:30", None, "1999-12-31 00:00"]))
    expected = [dt.datetime(2026, 10, 1, 8, 30), None, dt.datetime(1999, 12, 31)]
    assert cells(days, "date") == expected
    assert cells(days.dt.tz_localize("Europe/Berlin"), "date") == expected  # wall time kept
    assert cells(days.astype(object), "date") == expected
    arrow_days = pd.Series([d.date() if d else None for d in expected], dtype=pd.ArrowDtype(pa.date32()))
    assert cells(arrow_days, "date") == [dt.datetime(2026, 10, 1), None, dt.datetime(1999, 12, 31)]
    assert all(type(v) is dt.datetime for v in cells(days, "date") if v is not None)


def _plain_table(path: Path, frame: pd.DataFrame, fast: bool) -> bytes:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    book.set_properties({"created": CREATED})
    ws = book.add_worksheet("T")
    columns = [Column("text", "Text"), Column("amount", "Amount", "money"), Column("days", "Days", "days")]
    real_fits = fast_rows.fits
    fast_rows.fits = real_fits if fast else (lambda *args: False)
    try:
        write_table(ws, frame, columns, Formats.of(book), title="T")
        book.close()
    finally:
        fast_rows.fits = real_fits
    return path.read_bytes()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=8)),
            st.one_of(st.none(), st.integers(-(10**15), 10**15)),
            st.one_of(st.none(), st.integers(-(10**6), 10**6)),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_columns_of_one_format_are_the_file_xlsxwriter_writes(tmp_path_factory, rows):
    """The columns of one format and one kind of value (most of a big table) take their own
    path through ``fast_rows``: texts of any characters, cents and days, with blanks."""
    frame = pd.DataFrame(rows, columns=["text", "amount", "days"]).astype(
        {"text": "str", "amount": "Int64", "days": "Int64"}
    )
    folder = tmp_path_factory.mktemp("plain")
    assert _plain_table(folder / "fast.xlsx", frame, True) == _plain_table(folder / "slow.xlsx", frame, False)
