"""The statement of account attached to every reminder: the customer's open items as CSV and XLSX.

What the customer reads on it must agree with the letter it comes with:

* Only what is still open after tonight's cash application: an item the night's payments
  settled (open amount 0) is left out, so the statement's total is the letter's.
* A credit note or payment on account is not "overdue": its days overdue are blank.
* The dunning level of an item on the letter is the level the letter gives it (after tonight's
  advance); of any other item the level the statement rows carry (``dunning_level``, when the
  caller joined the dunning history), else blank.  Level 0 is shown blank: it means "not
  dunned yet", and a ``0`` next to an item the letter calls overdue reads as a contradiction.
* Document types (INV, CRN, ...) in the letter's language (``messages.yaml``), unknown codes as
  they are; money headings name the currency.

Both files are built byte-identical for a rerun of the same as_of, and every text cell is made
inert for spreadsheets (CWE-1236): master data is not trusted to stay out of formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import get_decimal_symbol

from receivables.cell_text import neutralise
from receivables.money import to_decimal
from receivables.reminders.cells import _as_date, _cents, _first, _missing, _records, _text
from receivables.reminders.statement_xlsx import (
    PAPER_A4,
    PAPER_LETTER,
    STYLE_BOLD,
    STYLE_CODE,
    STYLE_HEAD,
    STYLE_MONEY,
    STYLE_MONEY_BOLD,
    STYLE_TITLE,
    SheetLayout,
    StatementSheet,
)
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
#: columns whose heading names the currency: the cells hold bare numbers
_MONEY_COLUMNS = ("amount", "open_amount")
#: document types that are money owed to the customer, whatever their sign
_CREDIT_TYPES = frozenset({"CRN"})


def _statement_rows(item_rows: list[dict], statement: Any, as_of: date, currency: str) -> list[dict]:
    """The customer's items still open after tonight's cash application (or the notice's
    items), oldest due date first, with the letter's levels on the items it lists."""
    dunned = {_text(r.get("document_no")): r for r in item_rows}
    source = _records(statement) or item_rows
    # a dunned item missing from the statement source still belongs on the statement
    listed = {_text(r.get("document_no")) for r in source}
    source = source + [r for doc, r in dunned.items() if doc not in listed]
    rows = []
    for r in source:
        doc = _text(r.get("document_no"))
        item = dunned.get(doc)
        open_cents = _cents((item or r).get("open_amount"))
        if open_cents == 0:
            continue  # settled tonight: nothing left to pay, and the total stays the letter's
        due = _as_date(r.get("due_date"))
        doc_type = _text(r.get("document_type"))
        credit = open_cents < 0 or doc_type in _CREDIT_TYPES
        rows.append(
            {
                "document_no": doc,
                "document_type": doc_type,
                "reference": _text(r.get("reference")),
                "document_date": _as_date(r.get("document_date")),
                "due_date": due,
                "days_past_due": None if credit or due is None else max((as_of - due).days, 0),
                "currency": _text(r.get("currency")) or currency,
                "amount": None if _missing(r.get("amount")) else _cents(r.get("amount")),
                "open_amount": open_cents,
                "dunning_level": _level(item, r),
                "disputed": _disputed(item),
            }
        )
    rows.sort(key=lambda r: (r["due_date"] or date.max, r["document_no"]))
    return rows


# --- the disputed part of an item: a column of its own, only on a statement that has one ----------

#: the English heading when neither the letter's language nor the fallback names the column
_DISPUTED_HEADING = "Disputed"


def _disputed(item: Mapping[str, Any] | None) -> int | None:
    """The disputed part of an item the letter lists (``disputed_amount`` of its dunning
    item), None where nothing is disputed; other items carry no dispute facts."""
    if item is None or _missing(item.get("disputed_amount")):
        return None
    return _cents(item["disputed_amount"]) or None


def _shows_disputed(rows: list[dict]) -> bool:
    """Whether the statement has a disputed column: only when one of its items is partly or
    wholly disputed, so a customer without disputes keeps the statement he knows."""
    return any(r.get("disputed") for r in rows)


def _disputed_heading(words: Mapping[str, Any], catalog: dict, currency: str) -> str:
    """The column's heading in the letter's language; a team's catalogue from before the
    column names it in English."""
    shipped = (catalog["statement"].get(FALLBACK_LANGUAGE) or {}).get("columns") or {}
    label = words["columns"].get("disputed") or shipped.get("disputed") or _DISPUTED_HEADING
    return neutralise(f"{label} ({currency})")


def _disputed_csv(row: Mapping[str, Any], decimal_mark: str) -> str:
    disputed = row.get("disputed")
    return "" if not disputed else str(to_decimal(disputed)).replace(".", decimal_mark)


def _xlsx_disputed(sheet: StatementSheet, rows: list[dict], col: int) -> None:
    """The disputed amounts in the last column, beside the items they belong to."""
    for n, r in enumerate(rows, start=_HEADER_ROW + 1):
        if r.get("disputed"):
            sheet.number(n, col, to_decimal(r["disputed"]), STYLE_MONEY)


def _level(item: Mapping[str, Any] | None, row: Mapping[str, Any]) -> int | None:
    """The letter's level for an item it lists, else the level the statement row carries;
    None (a blank cell) for level 0, which means "not dunned yet", or when nobody knows."""
    value = item.get("level") if item is not None else _first(row.get("dunning_level"))
    return None if _missing(value) else (int(value) or None)


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
    claims: list[tuple[str, int]] | None = None,
) -> tuple[Attachment, ...]:
    """The statement as CSV and XLSX, in the letter's language; ``claims`` (label, cents) are
    the fees and interest earlier reminders still claim, lines of their own after the items."""
    claims = [(neutralise(label), cents) for label, cents in claims or []]
    words = _statement_words(catalog, language)
    # the team's own words are text cells too
    headings = [
        neutralise(f"{words['columns'][c]} ({currency})" if c in _MONEY_COLUMNS else words["columns"][c])
        for c in _STATEMENT_COLUMNS
    ]
    if _shows_disputed(rows):
        headings.append(_disputed_heading(words, catalog, currency))
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{words['file']}_{customer_id}_{as_of.isoformat()}")
    customer_line = f"{customer_id} {customer_name}"
    xlsx = _statement_xlsx(
        rows, headings, words, customer_line, str(company["name"]), as_of, currency, locale.territory, claims
    )
    csv_bytes = _statement_csv(rows, headings, words["document_types"], locale, claims, currency)
    return (
        (f"{stem}.csv", csv_bytes, CSV_MIMETYPE),
        (f"{stem}.xlsx", xlsx, XLSX_MIMETYPE),
    )


def _statement_words(catalog: dict, language: str) -> dict[str, Any]:
    """The statement's words in the language, English for what the language lacks; document
    types only from the language itself (an English "Invoice" on a German statement would be
    worse than the code)."""
    sections = catalog["statement"]
    own = sections.get(language) or sections[FALLBACK_LANGUAGE]
    # labels as text (YAML reads `ADJ: 2024` as a number); a code YAML reads as a boolean (NO) must be quoted
    types = {str(k): str(v) for k, v in (own.get("document_types") or {}).items()}
    return {**sections[FALLBACK_LANGUAGE], **own, "document_types": types}


def _statement_csv(
    rows: list[dict],
    headings: list[str],
    types: Mapping[str, str],
    locale: Locale,
    claims: list[tuple[str, int]] | None = None,
    currency: str = "",
) -> bytes:
    # Excel opens a CSV with the system's list separator: ";" where the decimal mark is ",".
    decimal_mark = get_decimal_symbol(locale)
    delimiter = ";" if decimal_mark == "," else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headings)
    disputed = _shows_disputed(rows)
    for r in rows:
        writer.writerow(
            [
                neutralise(r["document_no"]),
                neutralise(types.get(r["document_type"], r["document_type"])),
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
            + ([_disputed_csv(r, decimal_mark)] if disputed else [])
        )
    for label, cents in claims or []:
        # a claim line: its label where the items name their type, its amount as an open amount
        amount = str(to_decimal(cents)).replace(".", decimal_mark)
        writer.writerow(["", label, "", "", "", "", neutralise(currency), "", amount, ""] + ([""] if disputed else []))
    # a BOM so that Excel reads UTF-8 (umlauts, accents) instead of the ANSI code page
    return buffer.getvalue().encode("utf-8-sig")


#: sheet rows: the title block above, then the column headings, the items and the total
_HEADER_ROW = 4
#: a date in the reader's short date format (number format 14): "31.10.2026", "10/31/2026"
_DATE_CHARS = 10
#: a text column no wider than this: a long reference is cut off on screen rather than
#: shrinking the whole printed page (text is cut, never shown as ###)
_MAX_TEXT_CHARS = 40
#: proportional and bold letters are wider than the digit that a column width counts in
_TEXT_FACTOR, _BOLD_FACTOR = 1.1, 1.2
#: room for the cell margins and the autofilter button of the heading
_PADDING = 3
#: points per line of the headings' row: spreadsheet applications do not grow a row for
#: wrapped text they load, so the row is made as high as its longest heading wraps
_LINE_POINTS = 15
#: where the customer prints on US Letter rather than A4 (CLDR supplemental paperSize)
_LETTER_TERRITORIES = frozenset({"BZ", "CA", "CL", "CO", "CR", "GT", "MX", "NI", "PA", "PH", "PR", "SV", "US", "VE"})


def _statement_xlsx(
    rows: list[dict],
    headings: list[str],
    words: dict,
    customer_line: str,
    company_name: str,
    as_of: date,
    currency: str,
    territory: str | None,
    claims: list[tuple[str, int]] | None = None,
) -> bytes:
    """The statement as a workbook: a title block, one row per item, the total; frozen and
    repeated headings, columns as wide as their content, one page wide in landscape."""
    # text cells are shared strings, never evaluated; neutralise() covers other apps
    sheet = StatementSheet()
    sheet.text(0, 0, neutralise(f"{words['title']} – {company_name}"), STYLE_TITLE)
    sheet.text(1, 0, neutralise(words["customer"]), STYLE_BOLD)
    sheet.text(1, 1, neutralise(customer_line))
    sheet.text(2, 0, neutralise(words["as_of"]), STYLE_BOLD)
    sheet.day(2, 1, as_of)
    for col, text in enumerate(headings):
        sheet.text(_HEADER_ROW, col, text, STYLE_HEAD)
    _xlsx_items(sheet, rows, words["document_types"])
    if _shows_disputed(rows):
        _xlsx_disputed(sheet, rows, len(headings) - 1)
    claims = claims or []
    for n, (label, cents) in enumerate(claims, start=_HEADER_ROW + len(rows) + 1):
        sheet.text(n, 0, label)  # overflows into the empty cells to its right
        sheet.number(n, 8, to_decimal(cents), STYLE_MONEY)
    last = _HEADER_ROW + len(rows) + len(claims)
    # the label overflows into the empty cells to its right; the total is a number we
    # computed in cents, not a formula: exact and inert (the claims' lines are owed too)
    total = sum(r["open_amount"] for r in rows) + sum(cents for _, cents in claims)
    sheet.text(last + 1, 0, neutralise(f"{words['total']} ({currency})"), STYLE_BOLD)
    sheet.number(last + 1, 8, to_decimal(total), STYLE_MONEY_BOLD)
    widths = _column_widths(rows, headings, words, total)
    if _shows_disputed(rows):
        disputed = [r["disputed"] for r in rows if r.get("disputed")]
        widths[-1] = max(widths[-1], round(_money_chars(disputed) + _PADDING, 1))
    head_height = _LINE_POINTS * max(_heading_lines(h, w) for h, w in zip(headings, widths))
    # printed: landscape on the customer's paper, every column on one page (as many pages
    # down as it takes), the headings on every page; frozen and filtered on screen
    layout = SheetLayout(
        sheet_name=words["title"][:31],
        title=words["title"],
        author=company_name,
        created=as_of,  # not the clock: the file is byte-identical across reruns of the same as_of
        widths=widths,
        heights={_HEADER_ROW: head_height},
        header_row=_HEADER_ROW,
        filter_last=max(last, _HEADER_ROW + 1),
        paper=PAPER_LETTER if territory in _LETTER_TERRITORIES else PAPER_A4,
    )
    return sheet.package(layout)


def _xlsx_items(sheet: StatementSheet, rows: list[dict], types: Mapping[str, str]) -> None:
    """One sheet row per open item below the headings; empty values stay empty cells."""
    for n, r in enumerate(rows, start=_HEADER_ROW + 1):
        for col, key in ((0, "document_no"), (2, "reference")):
            if r[key]:
                sheet.text(n, col, neutralise(r[key]))
        if r["currency"]:
            sheet.text(n, 6, neutralise(r["currency"]), STYLE_CODE)
        if r["document_type"]:
            sheet.text(n, 1, neutralise(types.get(r["document_type"], r["document_type"])))
        for col, key in ((3, "document_date"), (4, "due_date")):
            if r[key]:
                sheet.day(n, col, r[key])
        if r["days_past_due"] is not None:
            sheet.number(n, 5, r["days_past_due"])
        if r["amount"] is not None:
            sheet.number(n, 7, to_decimal(r["amount"]), STYLE_MONEY)
        sheet.number(n, 8, to_decimal(r["open_amount"]), STYLE_MONEY)
        if r["dunning_level"] is not None:
            sheet.number(n, 9, r["dunning_level"])


def _column_widths(rows: list[dict], headings: list[str], words: dict, total: int) -> list[float]:
    """Each column as wide as its widest value, so that no date or amount shows ``###``.

    Headings wrap onto two lines at most; column B also holds the as-of date and column A the
    labels of the title block.  Widths count in digits of the default font.
    """
    types = words["document_types"]
    chars = [_heading_chars(h) for h in headings]
    chars[0] = max(chars[0], len(words["customer"]) * _BOLD_FACTOR, len(words["as_of"]) * _BOLD_FACTOR)
    texts = {
        0: [r["document_no"] for r in rows],
        1: [types.get(r["document_type"], r["document_type"]) for r in rows],
        2: [r["reference"] for r in rows],
        6: [r["currency"] for r in rows],
    }
    for col, values in texts.items():
        chars[col] = max(chars[col], min(max(map(len, values), default=0) * _TEXT_FACTOR, _MAX_TEXT_CHARS))
    for col in (1, 3, 4):  # the as-of date, the document and due dates
        chars[col] = max(chars[col], _DATE_CHARS)
    for col, key in ((5, "days_past_due"), (9, "dunning_level")):
        chars[col] = max(chars[col], max((len(str(r[key])) for r in rows if r[key] is not None), default=0))
    amounts = [r["amount"] for r in rows if r["amount"] is not None]
    chars[7] = max(chars[7], _money_chars(amounts))
    chars[8] = max(chars[8], _money_chars([r["open_amount"] for r in rows]), _money_chars([total]) * _BOLD_FACTOR)
    return [round(c + _PADDING, 1) for c in chars]


def _money_chars(cents: list[int]) -> int:
    """How many characters the widest of these amounts takes in ``#,##0.00``."""
    if not cents:
        return 0
    widest = max(abs(c) for c in cents)
    return len(f"{widest // 100:,}") + 3 + (1 if min(cents) < 0 else 0)


# cached: a night repeats the same few headings (language x currency) thousands of times
@lru_cache(maxsize=256)
def _heading_chars(heading: str) -> float:
    """The width a heading needs on at most two lines: the narrower side of its best break."""
    words = heading.split()
    splits = [max(len(" ".join(words[:k])), len(" ".join(words[k:]))) for k in range(1, len(words))]
    return min(splits, default=len(heading)) * _BOLD_FACTOR


@lru_cache(maxsize=1024)
def _heading_lines(heading: str, width: float) -> int:
    """How many lines a heading wraps onto in a column of this width (breaking at spaces)."""
    lines, used = 1, 0.0
    for word in heading.split():
        need = len(word) * _BOLD_FACTOR
        if used and used + _BOLD_FACTOR + need > width - _PADDING:
            lines, used = lines + 1, need
        else:
            used += (_BOLD_FACTOR if used else 0) + need
    return lines
