"""The statement of account attached to a reminder shows the disputed part of a partly
disputed item in a column of its own (read back from the CSV and the XLSX the customer gets),
and a statement without disputes keeps its columns."""

from __future__ import annotations

from tests.receivables.test_reminders import items_for, notice_for
from tests.receivables.test_statement_of_account import HEADER_ROW, csv_rows, emailed, open_item, xlsx_sheet


def partly_disputed(customer_id: str) -> tuple[dict, object, list[dict]]:
    """Two invoices on the letter: 1,000.00 of which 400.00 is disputed, and 250.00."""
    notice = notice_for(customer_id, overdue=85000)
    items = items_for(notice, 100000, 25000)
    items["disputed_amount"] = [40000, 0]
    open_items = [
        open_item(customer_id, "9000000000", "INV", 100000, "2026-08-31"),
        open_item(customer_id, "9000000001", "INV", 25000, "2026-09-01"),
    ]
    return notice, items, open_items


def test_the_disputed_part_is_its_own_column_in_csv_and_xlsx() -> None:
    notice, items, open_items = partly_disputed("C003")  # English, USD
    email = emailed(notice, items, open_items)

    rows = csv_rows(email)
    assert rows[0][-1] == "Disputed (USD)"
    by_doc = {r[0]: r for r in rows[1:]}
    assert by_doc["9000000000"][-1] == "400.00" and by_doc["9000000000"][-3] == "1000.00"
    assert by_doc["9000000001"][-1] == ""

    sheet = xlsx_sheet(email)
    headings = [c.value for c in sheet[HEADER_ROW]]
    assert headings[-1] == "Disputed (USD)"
    col = len(headings)
    cells = {sheet.cell(r, 1).value: sheet.cell(r, col) for r in range(HEADER_ROW + 1, sheet.max_row)}
    assert cells["9000000000"].value == 400.0 and cells["9000000000"].number_format == "#,##0.00"
    assert cells["9000000001"].value is None
    (total,) = [row for row in sheet.iter_rows() if row[0].value == "Total open (USD)"]
    assert total[8].value == 1250.0  # the open amounts: the disputed part is still open


def test_the_column_is_in_the_letters_language() -> None:
    notice, items, open_items = partly_disputed("C001")  # German: "," decimal mark, ";" separated
    rows = csv_rows(emailed(notice, items, open_items))
    assert rows[0][-1] == "Bestritten (EUR)"
    assert {r[0]: r[-1] for r in rows[1:]} == {"9000000000": "400,00", "9000000001": ""}


def test_a_statement_without_disputes_has_no_disputed_column() -> None:
    notice, items, open_items = partly_disputed("C003")
    items["disputed_amount"] = [0, 0]
    rows = csv_rows(emailed(notice, items, open_items))
    assert not any("Disputed" in h for h in rows[0])
