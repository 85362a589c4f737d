"""The run's Excel workbook, opened again with openpyxl as a finance user's Excel would: money
as money (currency in the header, never cents), codes as words, the sheets and links a collector
and a controller work from, and the print setup."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from receivables.charts import aging_chart, trend_chart
from receivables.workbook import NO_DELIVERY, SHEETS, neutralise, write_report_workbook
from receivables.workbook.formats import MONEY, OLD_FILL, OLDEST_FILL
from tests.receivables import workbook_data as data

CREATED = dt.datetime(2026, 10, 31)


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("charts")
    return {
        "aging_chart": str(aging_chart(data.AGING, folder / "aging.png")),
        "trend_chart": str(trend_chart(data.AGING.assign(as_of=data.AS_OF), folder / "trend.png")),
    }


@pytest.fixture(scope="module")
def book(tmp_path_factory, charts) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("wb") / "run.xlsx"
    write_report_workbook(path, data.inputs(), data.delivery(charts), created=CREATED)
    return openpyxl.load_workbook(path)


def header_row(ws) -> int:
    """The table's header row (1-based): the row above the frozen pane."""
    return int(ws.freeze_panes[1:]) - 1


def rows(ws) -> list[dict]:
    """The table's data rows as header -> cell."""
    top = header_row(ws)
    headers = [c.value for c in ws[top]]
    return [dict(zip(headers, line)) for line in ws.iter_rows(min_row=top + 1)]


def column(ws, header: str) -> list:
    return [r[header].value for r in rows(ws)]


def test_sheets_in_reading_order(book) -> None:
    assert (
        book.sheetnames
        == list(SHEETS)
        == [
            "Summary",
            "Worklist",
            "Cases",
            "Collectors",
            "Aging",
            "Delinquency drivers",
            "Root causes",
            "Dunning proposal",
            "Disputes",
            "Payment plans",
            "Open items",
            "Unapplied cash",
            "Suggestions",
            "Refunds",
            "Write-offs",
            "Provision",
            "KPIs",
        ]
    )
    assert book.active.title == "Summary"


def test_every_money_column_names_its_currency_and_is_formatted(book) -> None:
    """A column holding money says "(EUR)" or "(native)" with a Currency column beside it, and
    each of its cells is a number with two decimals; no other column has the money format.
    (KPIs mix units in one column: there the Unit column names each row's.)"""
    for name in SHEETS[1:-1]:
        ws = book[name]
        headers = [c.value for c in ws[header_row(ws)]]
        for header in headers:
            cells = [r[header] for r in rows(ws) if r[header].value is not None]
            money = header.endswith(("(EUR)", "(native)"))
            if header.endswith("(native)"):
                assert "Currency" in headers, (name, header)
            for cell in cells:
                assert (cell.number_format == MONEY) == money, (name, header, cell.number_format)
                if money:
                    assert isinstance(cell.value, (int, float)), (name, header, cell.value)


@pytest.mark.parametrize(
    ("sheet", "header", "frame", "cents"),
    [
        ("Dunning proposal", "Credit on account (native)", data.NOTICES, "credit_amount"),
        ("Dunning proposal", "Overdue (native)", data.NOTICES, "overdue_amount"),
        ("Dunning proposal", "Fees (native)", data.NOTICES, "fees"),
        ("Dunning proposal", "Interest (native)", data.NOTICES, "interest"),
        ("Aging", "Not due (native)", data.AGING, "not_due"),
        ("Aging", "121+ (native)", data.AGING, "d121_plus"),
        ("Aging", "Total (native)", data.AGING, "total"),
        ("Aging", "Total (EUR)", data.AGING, "total_base"),
        ("Worklist", "Overdue (EUR)", data.WORKLIST, "overdue_amount"),
        ("Worklist", "Overdue (native)", data.WORKLIST, "overdue_native"),
        ("Unapplied cash", "Unapplied amount (native)", data.UNAPPLIED, "remaining_amount"),
        ("Suggestions", "Proposed amount (native)", data.SUGGESTIONS, "applied_amount"),
        (
            "Open items",
            "Open amount (native)",
            data.OPEN_ITEMS.sort_values(["company_code", "customer_id"]),
            "open_amount",
        ),
    ],
)
def test_money_is_never_cents(book, sheet, header, frame, cents) -> None:
    """Each money cell is the source's cents / 100, to the cent."""
    expected = [None if pd.isna(v) else int(v) / 100 for v in frame[cents]]
    shown = column(book[sheet], header)
    if sheet == "Open items":  # ordered by company, customer, currency, due date
        shown, expected = sorted(shown), sorted(expected)
    assert shown == expected


def test_the_credit_on_account_reads_as_euros_beside_the_overdue_amount(book) -> None:
    """The issue's example: -647.14 EUR of credit, not -64714."""
    n1 = rows(book["Dunning proposal"])[0]
    assert [n1["Overdue (native)"].value, n1["Credit on account (native)"].value, n1["Currency"].value] == [
        1249.01,
        -647.14,
        "EUR",
    ]
    assert [n1["Letter template"].value, n1["Language"].value, n1["Action"].value] == ["reminder_2", "de", "Email"]


def test_usd_amounts_are_named_and_converted_beside_the_booked_ones(book) -> None:
    aging = {r["Customer"].value: r for r in rows(book["Aging"])}
    c3 = aging["C3"]
    assert [c3["Currency"].value, c3["Total (native)"].value, c3["Total (EUR)"].value] == ["USD", 2.1, 1.89]
    # the US limit in dollars beside the converted one; a customer without a limit shows none
    assert [c3["Credit limit (native)"].value, c3["Credit limit (EUR)"].value] == [5000.0, 4500.0]
    assert aging["C2"]["Credit limit (EUR)"].value is None
    unapplied = {r["Payment"].value: r for r in rows(book["Unapplied cash"])}
    assert [unapplied["P2"][h].value for h in ("Currency", "Unapplied amount (native)", "Unapplied amount (EUR)")] == [
        "USD",
        1100.0,
        990.0,
    ]
    items = {r["Document"].value: r for r in rows(book["Open items"])}
    assert [items["US-1"][h].value for h in ("Currency", "Open amount (native)", "Open amount (EUR)")] == [
        "USD",
        1000.01,
        900.01,
    ]


def test_aging_subtotals_per_company_and_currency_stand_outside_the_filter(book) -> None:
    ws = book["Aging"]
    top = header_row(ws)
    assert ws.auto_filter.ref == f"A{top}:O{top + 3}"
    above = [[c.value for c in line] for line in ws.iter_rows(min_row=3, max_row=top - 2)]
    by_key = {(r[0], r[4]): r for r in above if r[4]}
    headers = [c.value for c in ws[top]]
    total, base = headers.index("Total (native)"), headers.index("Total (EUR)")
    assert [by_key[("1000", "EUR")][total], by_key[("1000", "EUR")][base]] == [1260.56, 1260.56]
    assert [by_key[("3000", "USD")][total], by_key[("3000", "USD")][base]] == [2.1, 1.89]
    everything = [r for r in above if r[0] == "All companies"][0]
    assert everything[base] == 1262.45


def test_the_two_oldest_buckets_are_shaded_and_credits_red(book) -> None:
    aging = {r["Customer"].value: r for r in rows(book["Aging"])}
    assert aging["C3"]["91-120 (native)"].fill.fgColor.rgb.endswith(OLD_FILL[1:])
    assert aging["C3"]["121+ (native)"].fill.fgColor.rgb.endswith(OLDEST_FILL[1:])
    assert aging["C2"]["121+ (native)"].fill.fill_type is None  # nothing there: no colour
    assert aging["C2"]["61-90 (native)"].value == -25.0
    assert "[Red]-" in aging["C2"]["61-90 (native)"].number_format


def test_kpis_read_as_labels_units_and_formats(book) -> None:
    kpis = {(r["Company code"].value, r["Warehouse code"].value): r for r in rows(book["KPIs"])}
    total = kpis[("All companies", "ar_total")]
    assert [total["KPI"].value, total["Unit"].value, total["Value"].number_format] == ["Open receivables", "EUR", MONEY]
    # 1,249.01 + 99.00 - 647.14 + 50.00 EUR, and 1,077.78 USD x 0.9 = 970.00 EUR
    assert total["Value"].value == 1720.87
    for r in kpis.values():
        assert (r["Value"].number_format == MONEY) == (r["Unit"].value == "EUR"), r["Warehouse code"].value
    share = kpis[("All companies", "pct_current")]
    assert [share["Unit"].value, share["Value"].number_format] == ["%", "0.0%"]
    assert 0 < share["Value"].value < 1  # a fraction that shows as a percentage
    pricing = kpis[("3000", "disputed_amount.reason.PRICING")]
    assert pricing["KPI"].value == "Disputed amount, reason: pricing"
    cei = kpis[("All companies", "cei")]
    assert cei["Value"].value is None
    assert cei["Why blank"].value.startswith("needs the aging of the previous month end (2026-09-30)")
    days = kpis[("1000", "dso_standard")]
    assert [days["KPI"].value, days["Value"].value, days["Unit"].value] == ["DSO (standard)", 52.0229, "days"]
    assert days["Value"].number_format == "#,##0.0"
    late = kpis[("1000", "avg_days_late")]
    assert [late["Value"].value, late["Why blank"].value] == [None, "no invoice was cleared in the period"]


def test_worklist_reasons_as_columns_and_actions_in_words(book) -> None:
    ws = book["Worklist"]
    first = rows(ws)[0]
    assert first["Next action"].value == "Escalate"
    assert first["Why"].value == "Large and old balance; dispute open"
    assert first["Oldest overdue bucket"].value == "121+"
    assert [first["Disputed (EUR)"].value, first["Unapplied cash (EUR)"].value] == [225.0, 990.0]
    assert first["Over credit limit (EUR)"].value is None  # zero: not a reason, so blank
    assert rows(ws)[1]["Over credit limit (EUR)"].value == 235.56
    assert [first["Currency"].value, first["Overdue (native)"].value, first["Overdue (EUR)"].value] == [
        "USD",
        10.0,
        9.0,
    ]
    assert first["Details"].alignment.wrap_text and first["Why"].alignment.wrap_text
    details = first["Details"].column_letter
    assert ws.column_dimensions[details].width >= 60 and ws.row_dimensions[2].height >= 45  # the long reason fits


def test_customer_cells_link_to_their_open_items(book) -> None:
    items = book["Open items"]
    for sheet in ("Aging", "Worklist", "Dunning proposal", "Payment plans"):
        for r in rows(book[sheet]):
            cell = r["Customer"]
            target = cell.hyperlink.location
            assert target.startswith("'Open items'!A"), (sheet, target)
            row = int(target.rsplit("A", 1)[1])
            assert items.cell(row, 2).value == cell.value  # the first item of that customer
            assert items.cell(row - 1, 2).value != cell.value


def test_open_items_one_row_per_document_with_its_flags(book) -> None:
    items = {r["Document"].value: {k: c.value for k, c in r.items()} for r in rows(book["Open items"])}
    assert len(items) == len(data.OPEN_ITEMS)
    assert items["INV-1"]["Customer name"] == "'" + data.HOSTILE
    assert [items["INV-1"][k] for k in ("Aging bucket", "Days past due", "Dunning level", "Dunning tonight")] == [
        "1-30",
        30,
        2,
        "On tonight's notice",
    ]
    assert [items["INV-2"][k] for k in ("Payment plan", "Dunning block", "Dunning tonight")] == [
        "PL1",
        "Item",
        "Item blocked for dunning",
    ]
    assert items["INV-9"]["Dunning block"] == "Customer"
    assert items["INV-9"]["Promise to pay"] == "Broken, promised for 2026-10-20"
    assert items["US-1"]["Disputed (native)"] == 250.0
    assert items["US-2"]["Promise to pay"] == "Open, promised for 2026-11-05"  # a whole-account promise
    assert items["CRN-1"]["Open amount (native)"] == -647.14
    assert items["INV-1"]["Due date"] == dt.datetime(2026, 10, 1)


def test_suggestions_show_the_payment_and_the_items_it_would_pay(book) -> None:
    lines = [{k: c.value for k, c in r.items()} for r in rows(book["Suggestions"])]
    assert [(r["Payment"], r["Proposed item"], r["Proposed amount (native)"]) for r in lines] == [
        ("P2", "US-1", 1000.01),
        ("P2", "US-2", 77.77),
    ]
    first = lines[0]
    assert [first["Payment amount (native)"], first["Currency"], first["Payer"], first["Found by"]] == [
        1100.0,
        "USD",
        "ACME SUPPLY",
        "Combination of items",
    ]
    assert first["Confidence"] == 0.85 and first["Item open amount (native)"] == 1000.01


def test_failed_and_held_emails_are_visible_on_the_proposal(book) -> None:
    notices = {r["Notice"].value: r for r in rows(book["Dunning proposal"])}
    assert notices["N1"]["Delivery status"].value == "Previewed only (.eml written, not sent)"
    assert notices["N1"]["Recipients"].value == "ap@c1.example"
    assert notices["N2"]["Delivery status"].value == "Failed"
    assert notices["N2"]["Delivery problem"].value == "Customer C2 has no email address."
    assert notices["N3"]["Delivery status"].value is None  # a call: no email
    assert notices["N4"]["Delivery status"].value == "Held for review"  # not the cancelled earlier row
    assert notices["N3"]["Collector"].value == "Dan"
    assert notices["N1"]["Credit limit (EUR)"].value == 1000.0


def test_a_run_that_wrote_no_dunning_state_says_why_nothing_was_queued(tmp_path: Path) -> None:
    inputs = data.inputs()
    inputs.facts.dunning_written, inputs.facts.why_not = False, "report-only run (reminders off)"
    path = write_report_workbook(tmp_path / "r.xlsx", inputs, NO_DELIVERY)
    statuses = column(openpyxl.load_workbook(path)["Dunning proposal"], "Delivery status")
    not_queued = "Not queued: report-only run (reminders off)"
    assert statuses == [not_queued, not_queued, None, not_queued]


def test_summary_has_the_run_facts_kpis_by_company_and_the_charts(book) -> None:
    ws = book["Summary"]
    facts = {
        r[0].value: r[1].value for r in ws.iter_rows(min_row=4, max_row=40) if r[0].value and r[1].value is not None
    }
    assert facts["Business date (as_of)"] == dt.datetime(2026, 10, 31)
    assert facts["Mail mode"] == "preview"
    assert facts["Dunning notices"] == 4
    assert facts["Emails previewed (written as .eml, not sent)"] == 1
    assert facts["Emails failed or not built (see Dunning proposal)"] == 1
    assert facts["Emails held for review"] == 1
    assert facts["Quarantined input rows"] == 3
    assert [facts["Unapplied cash (EUR)"], facts["Unapplied cash (USD)"]] == [80.0, 1100.0]
    assert facts["Unapplied cash, all currencies (EUR)"] == 1070.0
    assert facts["Cash-application suggestions to review (see Suggestions)"] == 2
    grid_top = next(r[0].row for r in ws.iter_rows() if r[0].value == "KPI")
    headers = [c.value for c in ws[grid_top]]
    assert headers[:5] == ["KPI", "Unit", "All companies", "1000", "3000"]
    grid = {r[0].value: r for r in ws.iter_rows(min_row=grid_top + 1) if r[0].value}
    assert [grid["Open receivables"][1].value, grid["Open receivables"][3].number_format] == ["EUR", MONEY]
    assert grid["Collection effectiveness (CEI)"][2].value == "n/a"
    assert len(ws._images) == 2


def test_print_setup_on_every_sheet(book) -> None:
    """Landscape, one page wide, the header row on every page."""
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, ws.title
        if ws.title != "Summary":
            top = header_row(ws)
            assert ws.print_title_rows == f"${top}:${top}", ws.title
            assert ws[f"A{top}"].font.b


def test_formula_like_text_stays_text(book) -> None:
    aging = {r["Customer"].value: r for r in rows(book["Aging"])}
    assert aging["C1"]["Customer name"].value == "'" + data.HOSTILE
    assert aging["C1"]["Customer name"].data_type == "s"
    assert aging["C3"]["Customer name"].value == "'@SUM(1+1)"
    cash = {r["Payment"].value: r for r in rows(book["Unapplied cash"])}
    assert cash["P1"]["Payer"].value == "'+49 ACME"
    assert cash["P1"]["Remittance text"].value == "'\t=cmd|' /C calc'!A0"
    assert rows(book["Worklist"])[1]["Details"].value == "'-1 day: call"
    for ws in book.worksheets:
        for line in ws.iter_rows():
            assert all(c.data_type != "f" for c in line)


def test_neutralise() -> None:
    assert [neutralise(t) for t in ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "a=1", "", "Acme"]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "'\rx",
        "a=1",
        "",
        "Acme",
    ]


def test_same_input_same_file(tmp_path: Path, charts) -> None:
    a = write_report_workbook(tmp_path / "a.xlsx", data.inputs(), data.delivery(charts), created=CREATED)
    b = write_report_workbook(tmp_path / "b.xlsx", data.inputs(), data.delivery(charts), created=CREATED)
    assert a.read_bytes() == b.read_bytes()


def test_an_item_dunning_paused_for_a_promise_reads_as_promised(tmp_path: Path) -> None:
    """A promise recorded elsewhere (a call's outcome) pauses dunning without a row in the
    promises extract: the item still reads as promised."""
    skipped = pd.concat(
        [
            data.SKIPPED,
            pd.DataFrame({"company_code": ["1000"], "document_no": ["CRN-1"], "reason": ["PROMISE"], "level": [0]}),
        ]
    )
    path = write_report_workbook(tmp_path / "p.xlsx", data.inputs(skipped=skipped), data.delivery())
    items = {r["Document"].value: r for r in rows(openpyxl.load_workbook(path)["Open items"])}
    assert items["CRN-1"]["Promise to pay"].value == "Open: dunning paused"
    assert items["CRN-1"]["Dunning tonight"].value == "Promise to pay"


def test_every_reason_dunning_can_give_has_words_in_the_workbook() -> None:
    # a new exclusion reason (PLAN, HANDOVER, WRITTEN_OFF came late) must not show as a code
    from receivables.dunning import COMPANY_NOT_CONFIGURED
    from receivables.dunning.exclusions import EXCLUSION_REASONS
    from receivables.dunning.levels import HOLD_REASONS
    from receivables.workbook.labels import SKIP_REASONS

    assert {*EXCLUSION_REASONS, *HOLD_REASONS, COMPANY_NOT_CONFIGURED} <= set(SKIP_REASONS)
