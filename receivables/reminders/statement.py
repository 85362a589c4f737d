"""The statement of account attached to every reminder: the customer's open items as CSV and XLSX.

Both files are built byte-identical for a rerun of the same as_of, and every text cell is made
inert for spreadsheets (CWE-1236): master data is not trusted to stay out of formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.numbers import get_decimal_symbol

from receivables.cell_text import neutralise
from receivables.money import to_decimal
from receivables.reminders.cells import _as_date, _cents, _missing, _records, _text
from receivables.reminders.templates import FALLBACK_LANGUAGE

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"

#: (filename, content, mimetype)
Attachment = tuple[str, bytes, str]

_STATEMENT_COLUMNS = (
    "document_no",
    "document_type",
    "reference",
    "document_date",
    "due_date",
    "days_past_due",
    "currency",
    "amount",
    "open_amount",
    "dunning_level",
)


def _statement_rows(item_rows: list[dict], statement: Any, as_of: date, currency: str) -> list[dict]:
    """The customer's open items (or the notice's items), with the dunned items' levels."""
    dunned = {_text(r.get("document_no")): r for r in item_rows}
    source = _records(statement) or item_rows
    # a dunned item missing from the statement source still belongs on the statement
    listed = {_text(r.get("document_no")) for r in source}
    source = source + [r for doc, r in dunned.items() if doc not in listed]
    rows = []
    for r in source:
        doc = _text(r.get("document_no"))
        due = _as_date(r.get("due_date"))
        item = dunned.get(doc, {})
        open_cents = _cents(item.get("open_amount") if item else r.get("open_amount"))
        rows.append(
            {
                "document_no": doc,
                "document_type": _text(r.get("document_type")),
                "reference": _text(r.get("reference")),
                "document_date": _as_date(r.get("document_date")),
                "due_date": due,
                "days_past_due": max((as_of - due).days, 0) if due else None,
                "currency": _text(r.get("currency")) or currency,
                "amount": None if _missing(r.get("amount")) else _cents(r.get("amount")),
                "open_amount": open_cents,
                "dunning_level": int(item["level"]) if item and not _missing(item.get("level")) else None,
            }
        )
    rows.sort(key=lambda r: (r["due_date"] or date.max, r["document_no"]))
    return rows


def _statement_files(
    rows: list[dict],
    catalog: dict,
    language: str,
    locale: Locale,
    customer_id: str,
    customer_name: str,
    company: Mapping[str, Any],
    as_of: date,
    currency: str,
) -> tuple[Attachment, ...]:
    words = {**catalog["statement"][FALLBACK_LANGUAGE], **catalog["statement"].get(language, {})}
    headings = [words["columns"][c] for c in _STATEMENT_COLUMNS]
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{words['file']}_{customer_id}_{as_of.isoformat()}")
    return (
        (f"{stem}.csv", _statement_csv(rows, headings, locale), CSV_MIMETYPE),
        (
            f"{stem}.xlsx",
            _statement_xlsx(rows, headings, words, customer_id, customer_name, company, as_of, currency),
            XLSX_MIMETYPE,
        ),
    )


def _statement_csv(rows: list[dict], headings: list[str], locale: Locale) -> bytes:
    # Excel opens a CSV with the system's list separator: ";" where the decimal mark is ",".
    decimal_mark = get_decimal_symbol(locale)
    delimiter = ";" if decimal_mark == "," else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headings)
    for r in rows:
        writer.writerow(
            [
                neutralise(r["document_no"]),
                neutralise(r["document_type"]),
                neutralise(r["reference"]),
                r["document_date"].isoformat() if r["document_date"] else "",
                r["due_date"].isoformat() if r["due_date"] else "",
                "" if r["days_past_due"] is None else r["days_past_due"],
                neutralise(r["currency"]),
                # numbers we format ourselves (a credit note's "-119,00") are data, not formulas
                "" if r["amount"] is None else str(to_decimal(r["amount"])).replace(".", decimal_mark),
                str(to_decimal(r["open_amount"])).replace(".", decimal_mark),
                "" if r["dunning_level"] is None else r["dunning_level"],
            ]
        )
    # a BOM so that Excel reads UTF-8 (umlauts, accents) instead of the ANSI code page
    return buffer.getvalue().encode("utf-8-sig")


def _statement_xlsx(
    rows: list[dict],
    headings: list[str],
    words: dict,
    customer_id: str,
    customer_name: str,
    company: Mapping[str, Any],
    as_of: date,
    currency: str,
) -> bytes:
    """The statement as a workbook: a heading, one row per item, the total, frozen headings."""
    import xlsxwriter

    buffer = io.BytesIO()
    # strings_to_formulas off: write_string never evaluates; neutralise() covers other apps
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    # a fixed creation time keeps the file byte-identical across reruns of the same as_of
    book.set_properties(
        {
            "title": words["title"],
            "author": str(company["name"]),
            "created": datetime.combine(as_of, datetime.min.time()),
        }
    )
    sheet = book.add_worksheet(words["title"][:31])
    fmt = _xlsx_formats(book)
    sheet.write_string(0, 0, neutralise(f"{words['title']} – {company['name']}"), fmt["title"])
    sheet.write_string(1, 0, words["customer"], fmt["bold"])
    sheet.write_string(1, 1, neutralise(f"{customer_id} {customer_name}"))
    sheet.write_string(2, 0, words["as_of"], fmt["bold"])
    sheet.write_datetime(2, 1, datetime.combine(as_of, datetime.min.time()), fmt["day"])
    header_row = 4
    for col, text in enumerate(headings):
        sheet.write_string(header_row, col, text, fmt["head"])
    _xlsx_items(sheet, rows, header_row + 1, fmt)
    last = header_row + len(rows)
    # the total is a number we computed in cents, not a formula: exact and inert
    sheet.write_string(last + 1, 7, f"{words['total']} ({currency})", fmt["bold"])
    sheet.write_number(last + 1, 8, float(to_decimal(sum(r["open_amount"] for r in rows))), fmt["money_bold"])
    sheet.freeze_panes(header_row + 1, 0)
    sheet.autofilter(header_row, 0, max(last, header_row + 1), len(headings) - 1)
    for col, width in enumerate((16, 8, 22, 13, 13, 10, 8, 15, 15, 10)):
        sheet.set_column(col, col, width)
    book.close()
    return buffer.getvalue()


def _xlsx_formats(book: Any) -> dict[str, Any]:
    """The statement's cell formats: headings, money, and dates in the reader's own format."""
    return {
        "bold": book.add_format({"bold": True}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "head": book.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1, "text_wrap": True, "valign": "top"}),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "money_bold": book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1}),
        "day": book.add_format({"num_format": 14}),  # the reader's own short date format
    }


def _xlsx_items(sheet: Any, rows: list[dict], first_row: int, fmt: dict[str, Any]) -> None:
    """One sheet row per open item from ``first_row`` on; empty values stay empty cells."""
    for n, r in enumerate(rows, start=first_row):
        for col, key in ((0, "document_no"), (1, "document_type"), (2, "reference"), (6, "currency")):
            if r[key]:
                sheet.write_string(n, col, neutralise(r[key]))
        for col, key in ((3, "document_date"), (4, "due_date")):
            if r[key]:
                sheet.write_datetime(n, col, datetime.combine(r[key], datetime.min.time()), fmt["day"])
        if r["days_past_due"] is not None:
            sheet.write_number(n, 5, r["days_past_due"])
        if r["amount"] is not None:
            sheet.write_number(n, 7, float(to_decimal(r["amount"])), fmt["money"])
        sheet.write_number(n, 8, float(to_decimal(r["open_amount"])), fmt["money"])
        if r["dunning_level"] is not None:
            sheet.write_number(n, 9, r["dunning_level"])
