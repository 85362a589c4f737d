"""The statement's XLSX as written by ``receivables.reminders.statement_xlsx``, read back with
openpyxl cell by cell: values, number formats, dates as dates, text exactly as it was given
(including text that is not plain XML), and a well-formed package."""

from __future__ import annotations

import copy
import io
import zipfile
from datetime import date, datetime

import openpyxl
from babel import Locale
from lxml import etree

from receivables.reminders.statement import _statement_files
from receivables.reminders.statement_xlsx import column_letter
from receivables.reminders.templates import _catalog, template_dirs

AS_OF = date(2026, 10, 31)
MONEY = "#,##0.00"
DAY = "mm-dd-yy"  # openpyxl's name for built-in format 14, the reader's short date


def item(document_no: str, document_type: str, open_cents: int, due: date, **extra) -> dict:
    credit = open_cents < 0
    return {
        "document_no": document_no,
        "document_type": document_type,
        "reference": extra.pop("reference", ""),
        "document_date": date(due.year, due.month, 1),
        "due_date": due,
        "days_past_due": None if credit else max((AS_OF - due).days, 0),
        "currency": "EUR",
        "amount": extra.pop("amount", open_cents),
        "open_amount": open_cents,
        "dunning_level": extra.pop("dunning_level", None),
        "disputed": extra.pop("disputed", None),
    }


def workbook(rows: list[dict], claims=(), catalog: dict | None = None, customer_name: str = "Müller & Söhne GmbH"):
    files = _statement_files(
        rows,
        catalog or _catalog(template_dirs()),
        "de",
        Locale.parse("de_DE"),
        "C001",
        customer_name,
        {"name": "Beispiel <Handels> GmbH"},
        AS_OF,
        "EUR",
        claims=list(claims),
    )
    name, content, _ = files[1]
    assert name == "Kontoauszug_C001_2026-10-31.xlsx"
    return content


def cells(content: bytes) -> dict[str, tuple[object, str]]:
    """Every non-empty cell: its value and number format, by coordinate."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return {c.coordinate: (c.value, c.number_format) for row in sheet.iter_rows() for c in row if c.value is not None}


def test_every_cell_reads_back_with_its_value_and_number_format() -> None:
    rows = [
        item("9000000000", "INV", 119000, date(2026, 8, 31), reference="PO-4711", dunning_level=2, disputed=40000),
        item("9000000002", "CRN", -11900, date(2026, 9, 20), amount=None),
    ]
    content = workbook(rows, claims=[("Gebühren aus früheren Mahnungen noch offen", 500)])
    heads = ["Beleg", "Belegart", "Referenz", "Belegdatum", "Fällig am", "Tage überfällig", "Währung"]
    heads += ["Ursprungsbetrag (EUR)", "Offener Betrag (EUR)", "Mahnstufe", "Bestritten (EUR)"]
    midnight = datetime.min.time()
    expected = {
        "A1": ("Kontoauszug – Beispiel <Handels> GmbH", "General"),
        "A2": ("Kunde", "General"),
        "B2": ("C001 Müller & Söhne GmbH", "General"),
        "A3": ("Stand", "General"),
        "B3": (datetime(2026, 10, 31), DAY),
        **{f"{column_letter(n)}5": (h, "General") for n, h in enumerate(heads)},
        "A6": ("9000000000", "General"),
        "B6": ("Rechnung", "General"),
        "C6": ("PO-4711", "General"),
        "D6": (datetime.combine(date(2026, 8, 1), midnight), DAY),
        "E6": (datetime(2026, 8, 31), DAY),
        "F6": (61, "General"),
        "G6": ("EUR", "General"),
        "H6": (1190.0, MONEY),
        "I6": (1190.0, MONEY),
        "J6": (2, "General"),
        "K6": (400.0, MONEY),
        "A7": ("9000000002", "General"),
        "B7": ("Gutschrift", "General"),
        "D7": (datetime(2026, 9, 1), DAY),
        "E7": (datetime(2026, 9, 20), DAY),
        "G7": ("EUR", "General"),
        "I7": (-119.0, MONEY),
        "A8": ("Gebühren aus früheren Mahnungen noch offen", "General"),
        "I8": (5.0, MONEY),
        "A9": ("Summe offen (EUR)", "General"),
        "I9": (1076.0, MONEY),  # 1190.00 - 119.00 + 5.00
    }
    assert cells(content) == expected
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet.title == "Kontoauszug" and sheet.auto_filter.ref == "A5:K8"
    assert sheet["A1"].font.b and sheet["A1"].font.sz == 14 and sheet["A5"].alignment.wrap_text
    assert sheet["G6"].alignment.horizontal == "center" and sheet["I9"].border.top.style == "thin"


def test_text_that_is_not_plain_xml_reads_back_as_it_was_given() -> None:
    odd = ["A & B <c>", "  leading and trailing  ", "Zeile 1\nZeile 2", "_x0041_ literal", "x" * 40000]
    rows = [item(f"D{n}", "INV", 100 + n, date(2026, 9, 1), reference=text) for n, text in enumerate(odd)]
    references = {row[0].value: row[2].value for row in openpyxl.load_workbook(io.BytesIO(workbook(rows))).active}
    assert [references[f"D{n}"] for n in range(len(odd))] == odd[:4] + ["x" * 32767]  # Excel's cell limit


def test_a_control_character_does_not_break_the_file() -> None:
    """XML 1.0 cannot hold it: written as Excel writes it (_x0007_), the file still opens."""
    content = workbook([item("D1", "INV", 100, date(2026, 9, 1), reference="bell\x07")])
    assert cells(content)["C6"] == ("bell_x0007_", "General")


def test_a_sheet_name_with_an_apostrophe_keeps_its_print_titles() -> None:
    catalog = copy.deepcopy(_catalog(template_dirs()))
    catalog["statement"]["de"]["title"] = "Kunde's Auszug & Co"
    sheet = openpyxl.load_workbook(io.BytesIO(workbook([item("D1", "INV", 100, date(2026, 9, 1))], catalog=catalog)))
    sheet = sheet.active
    assert sheet.title == "Kunde's Auszug & Co" and sheet.print_title_rows == "$5:$5"
    assert sheet.freeze_panes == "A6"


def test_the_package_is_well_formed_compressed_and_the_same_bytes_on_a_rerun() -> None:
    rows = [item("D1", "INV", 100, date(2026, 9, 1))]
    content = workbook(rows)
    assert workbook(rows) == content
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert package.testzip() is None
        names = package.namelist()
        assert names[0] == "[Content_Types].xml"
        assert {"xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/sharedStrings.xml"} <= set(names)
        for info in package.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED and info.date_time == (1980, 1, 1, 0, 0, 0)
            etree.fromstring(package.read(info))  # well-formed XML, or it raises


def test_column_letters() -> None:
    assert [column_letter(n) for n in (0, 10, 25, 26, 27, 701, 702)] == ["A", "K", "Z", "AA", "AB", "ZZ", "AAA"]
