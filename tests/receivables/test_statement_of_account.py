"""The statement of account attached to a reminder, read back as the customer opens it: the XLSX
with openpyxl, the CSV with csv.  What is on it agrees with the letter, in the letter's language,
and it prints one page wide."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from receivables.reminders import RenderedEmail, render_notices
from tests.receivables.test_reminders import AS_OF, COMPANIES, CUSTOMERS, items_for, notice_for

HEADER_ROW = 5  # the sheet's row of column headings (1-based, as openpyxl counts)


def open_item(customer_id: str, document_no: str, document_type: str, open_cents: int, due: str, **extra) -> dict:
    c = CUSTOMERS[customer_id]
    return {
        "company_code": c["company_code"],
        "document_no": document_no,
        "document_type": document_type,
        "customer_id": customer_id,
        "document_date": pd.Timestamp(due) - pd.Timedelta(days=30),
        "due_date": pd.Timestamp(due),
        "currency": c["currency"],
        "amount": extra.pop("amount", open_cents),
        "open_amount": open_cents,
        "reference": None,
        **extra,
    }


def emailed(notice: dict, items: pd.DataFrame, open_items: list[dict]) -> RenderedEmail:
    """The night's email of one notice, rendered as the batch renders it."""
    customers = pd.DataFrame(list(CUSTOMERS.values()))
    (email,) = render_notices(
        pd.DataFrame([notice]), items, customers, pd.DataFrame(open_items), AS_OF, companies=COMPANIES
    )
    return email


def csv_rows(email: RenderedEmail) -> list[list[str]]:
    name, content, _ = email.attachments[0]
    assert name.endswith(".csv")
    text = content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") else ","))


def xlsx_sheet(email: RenderedEmail):
    name, content, _ = email.attachments[1]
    assert name.endswith(".xlsx")
    return openpyxl.load_workbook(io.BytesIO(content)).active


def sheet_items(sheet) -> dict[str, dict[str, object]]:
    """The item rows (below the headings, above the total) by document number, each cell by
    its column heading."""
    headings = [c.value for c in sheet[HEADER_ROW]]
    rows = sheet.iter_rows(min_row=HEADER_ROW + 1, max_row=sheet.max_row - 1)
    return {row[0].value: dict(zip(headings, row)) for row in rows}


def german_night() -> tuple[dict, pd.DataFrame, list[dict]]:
    """C001: an overdue invoice on the notice, one settled by tonight's payment, a credit note."""
    notice = notice_for("C001", overdue=119000, credit_amount=-11900)
    items = items_for(notice, 119000)
    open_items = [
        open_item("C001", "9000000000", "INV", 119000, "2026-08-31"),
        open_item("C001", "9000000001", "INV", 0, "2026-09-10", amount=50000),  # paid tonight
        open_item("C001", "9000000002", "CRN", -11900, "2026-09-20"),
    ]
    return notice, items, open_items


def test_items_settled_tonight_are_left_out_and_the_total_is_the_letters() -> None:
    notice, items, open_items = german_night()
    email = emailed(notice, items, open_items)
    assert "Zu zahlender Gesamtbetrag: 1.071,00\u00a0€" in email.text  # 1190.00 - 119.00

    rows = csv_rows(email)
    assert [r[0] for r in rows[1:]] == ["9000000000", "9000000002"]  # not the one paid tonight
    sheet = xlsx_sheet(email)
    assert set(sheet_items(sheet)) == {"9000000000", "9000000002"}
    (total,) = [row for row in sheet.iter_rows() if row[0].value == "Summe offen (EUR)"]
    assert total[8].value == 1071.0 and total[8].number_format == "#,##0.00"


def test_credit_notes_and_payments_on_account_have_no_days_overdue() -> None:
    notice, items, open_items = german_night()
    open_items.append(open_item("C001", "9000000003", "PMT", -5000, "2026-09-25"))
    email = emailed(notice, items, open_items)
    by_doc = {r[0]: r for r in csv_rows(email)[1:]}
    assert by_doc["9000000000"][5] == "61"  # 2026-08-31 to 2026-10-31
    assert by_doc["9000000002"][5] == "" and by_doc["9000000003"][5] == ""
    rows = sheet_items(xlsx_sheet(email))
    assert rows["9000000000"]["Tage überfällig"].value == 61
    assert rows["9000000002"]["Tage überfällig"].value is None
    assert rows["9000000003"]["Tage überfällig"].value is None


@pytest.mark.parametrize(
    "customer_id, language, expected",
    [
        ("C003", "en", ["Invoice", "Credit note", "Payment on account", "Adjustment", "ZZ"]),
        ("C001", "de", ["Rechnung", "Gutschrift", "Zahlung", "Korrektur", "ZZ"]),
        ("C002", "es", ["Factura", "Abono", "Pago a cuenta", "Ajuste", "ZZ"]),
    ],
)
def test_document_types_are_in_the_letters_language(customer_id: str, language: str, expected: list[str]) -> None:
    notice = notice_for(customer_id, overdue=100000)
    codes = ["INV", "CRN", "PMT", "ADJ", "ZZ"]  # ZZ: a code the catalogue does not know
    open_items = [
        open_item(customer_id, f"D{n}", code, 100000 if code == "INV" else -100 - n, f"2026-09-0{n + 1}")
        for n, code in enumerate(codes)
    ]
    items = items_for(notice, 100000).assign(document_no="D0")
    email = emailed(notice, items, open_items)
    assert email.language == language
    assert [r[1] for r in csv_rows(email)[1:]] == expected
    sheet = xlsx_sheet(email)
    assert [row[1].value for row in sheet.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + 5)] == expected


def test_dunning_levels_agree_with_the_letter() -> None:
    """An item on the letter shows the letter's level; one the letter lists before it reaches
    level 1 shows no level (not 0); one off the letter its level from the dunning history
    when the statement rows carry it, else none."""
    notice = notice_for("C003", template="reminder_2", level=2, overdue=300000)
    items = items_for(notice, 200000, 100000)
    items.loc[1, ["previous_level", "level", "days_past_due"]] = [0, 0, 3]  # overdue 3 days
    listed, early = items["document_no"]
    open_items = [
        open_item("C003", listed, "INV", 200000, "2026-08-31"),
        open_item("C003", early, "INV", 100000, "2026-10-28"),
        # disputed, so off tonight's notice, but dunned once before
        open_item("C003", "INV-7", "INV", 70000, "2026-09-01", dunning_level=1),
        open_item("C003", "INV-8", "INV", 80000, "2026-11-20"),  # not due yet, never dunned
    ]
    email = emailed(notice, items, open_items)
    assert listed in email.text and early in email.text  # both are on the letter
    levels = {r[0]: r[9] for r in csv_rows(email)[1:]}
    assert levels == {listed: "2", early: "", "INV-7": "1", "INV-8": ""}
    rows = sheet_items(xlsx_sheet(email))
    assert {doc: row["Dunning level"].value for doc, row in rows.items()} == {
        listed: 2,
        early: None,
        "INV-7": 1,
        "INV-8": None,
    }


@pytest.mark.parametrize(
    "customer_id, currency, heading, total_label",
    [
        ("C001", "EUR", "Offener Betrag (EUR)", "Summe offen (EUR)"),
        ("C002", "EUR", "Importe pendiente (EUR)", "Total pendiente (EUR)"),
        ("C003", "USD", "Open amount (USD)", "Total open (USD)"),
    ],
)
def test_xlsx_amounts_are_numbers_in_currency_units_with_two_decimals(
    customer_id: str, currency: str, heading: str, total_label: str
) -> None:
    notice = notice_for(customer_id, overdue=1234567)
    open_items = [
        open_item(customer_id, "9000000000", "INV", 1234567, "2026-08-31", amount=2000001),
        open_item(customer_id, "9000000001", "CRN", -11999, "2026-09-20"),
    ]
    email = emailed(notice, items_for(notice), open_items)
    sheet = xlsx_sheet(email)
    headings = [c.value for c in sheet[HEADER_ROW]]
    assert headings[7].endswith(f"({currency})") and headings[8] == heading
    rows = sheet_items(sheet)
    money = [rows[doc][h] for doc in rows for h in headings[7:9]]
    # 12,345.67 and not 1234567: every amount is a number of currency units, to the cent
    assert sorted(c.value for c in money) == [-119.99, -119.99, 12345.67, 20000.01]
    assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in money)
    (total,) = [row for row in sheet.iter_rows() if row[0].value == total_label]
    assert total[8].value == 12225.68
    dates = [rows[doc][h] for doc in rows for h in headings[3:5]] + [sheet["B3"]]
    assert all(c.is_date for c in dates) and sheet["B3"].value == datetime(2026, 10, 31)


@pytest.mark.parametrize(
    "customer_id, delimiter, amounts",
    [
        ("C001", ";", ["12345,67", "-119,99"]),  # German: decimal comma, Excel's ";" list
        ("C002", ";", ["12345,67", "-119,99"]),
        ("C003", ",", ["12345.67", "-119.99"]),  # en_US: decimal point
    ],
)
def test_csv_amounts_are_decimal_text_in_the_letters_locale(customer_id: str, delimiter: str, amounts: list) -> None:
    notice = notice_for(customer_id, overdue=1234567)
    open_items = [
        open_item(customer_id, "9000000000", "INV", 1234567, "2026-08-31"),
        open_item(customer_id, "9000000001", "CRN", -11999, "2026-09-20"),
    ]
    content = emailed(notice, items_for(notice), open_items).attachments[0][1].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=delimiter))
    assert all(len(r) == 10 for r in rows)
    assert rows[0][8].endswith(f"({CUSTOMERS[customer_id]['currency']})")
    assert [r[8] for r in rows[1:]] == amounts and [r[7] for r in rows[1:]] == amounts
    cents = [int(Decimal(r[8].replace(",", ".")) * 100) for r in rows[1:]]
    assert cents == [1234567, -11999]


@pytest.mark.parametrize("customer_id, paper", [("C001", 9), ("C002", 9), ("C003", 1)])  # A4, A4, US Letter
def test_statement_prints_landscape_one_page_wide_with_headings_on_every_page(customer_id: str, paper: int) -> None:
    notice = notice_for(customer_id, overdue=100000)
    open_items = [open_item(customer_id, f"9{n:09d}", "INV", 1000 + n, "2026-09-30") for n in range(120)]
    open_items[0]["open_amount"] = 100000
    email = emailed(notice, items_for(notice).assign(document_no=f"9{0:09d}"), open_items)
    sheet = xlsx_sheet(email)
    setup = sheet.page_setup
    assert setup.orientation == "landscape" and int(setup.paperSize) == paper
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # one page wide (1 is the default, so left out of the file), any number of pages long
    assert (setup.fitToWidth or 1, int(setup.fitToHeight)) == (1, 0)
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"


def test_columns_are_wide_enough_for_their_dates_and_amounts() -> None:
    """A number or date wider than its column shows as ### (the as-of date did, in a column
    8 digits wide): every column fits its widest value in its display format."""
    notice = notice_for("C001", overdue=98765432101)
    open_items = [
        open_item("C001", "9000000000", "INV", 98765432101, "2026-08-31", amount=98765432101),
        open_item("C001", "9000000001", "CRN", -98765432, "2026-09-20"),
    ]
    sheet = xlsx_sheet(emailed(notice, items_for(notice), open_items))
    # equal neighbouring columns are stored as one range
    widths = {get_column_letter(n): d.width for d in sheet.column_dimensions.values() for n in range(d.min, d.max + 1)}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.is_date:
                shown = "31.10.2026"  # the longest short date: dd.mm.yyyy, mm/dd/yyyy
            elif cell.data_type == "n" and cell.value is not None:
                shown = f"{cell.value:,.2f}" if cell.number_format == "#,##0.00" else str(cell.value)
            else:
                continue
            assert widths[cell.column_letter] >= len(shown) + 2, (cell.coordinate, shown)
    assert sheet["B3"].is_date and widths["B"] >= 12  # the as-of date
    assert sheet.row_dimensions[HEADER_ROW].height >= 30  # headings wrap onto two lines
    assert max(widths.values()) <= 45  # one long reference does not shrink the whole page


def test_a_statement_is_the_same_file_on_a_rerun() -> None:
    notice, items, open_items = german_night()
    first, second = emailed(notice, items, open_items), emailed(notice, items, open_items)
    assert first.attachments == second.attachments
    assert first.as_of == date(2026, 10, 31)
