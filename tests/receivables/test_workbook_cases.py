"""The casework in the workbook, opened again with openpyxl as a collector's Excel would: the
Cases sheet with the due actions first and a breached SLA in red, the Payment plans with the
broken plan's amount at risk, the Collectors' view, the Worklist's case columns, and a night
without any of it, whose sheets say so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from receivables.workbook import NO_DELIVERY, write_report_workbook
from receivables.workbook.casework_sheets import NO_CASES, NO_COLLECTORS, NO_PLANS
from receivables.workbook.formats import ALERT_FILL, DATE, MONEY, PERCENT
from tests.receivables import workbook_data as data
from tests.receivables.test_workbook import header_row, rows


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("cases") / "run.xlsx"
    return openpyxl.load_workbook(write_report_workbook(path, data.inputs(), data.delivery()))


def headers(ws) -> list[str]:
    return [c.value for c in ws[header_row(ws)]]


def red(cell) -> bool:
    return cell.fill.fill_type is not None and cell.fill.fgColor.rgb.endswith(ALERT_FILL[1:])


def test_the_cases_sheet_has_what_a_collector_works_from(book) -> None:
    assert headers(book["Cases"]) == [
        "Case",
        "Company code",
        "Customer",
        "Customer name",
        "Stage",
        "In stage since",
        "Owner",
        "Next action",
        "Action due",
        "Action overdue (days)",
        "SLA due",
        "SLA breached",
        "Last contact",
        "Last outcome",
        "Overdue (EUR)",
        "Opened on",
        "Closed on",
        "Closed because",
        "Detail",
    ]


def test_open_cases_come_by_due_date_and_the_closed_ones_after(book) -> None:
    cases = [r["Case"].value for r in rows(book["Cases"])]
    assert cases == [
        "C-1000-C1-20261001",  # due 2026-10-28
        "C-3000-C3-20260915",  # due 2026-11-05
        "C-3000-C1-20261020",  # open, nothing due
        "C-1000-C2-20261005",  # closed tonight
    ]


def test_a_late_case_reads_in_words_with_its_money_dates_and_red_sla(book) -> None:
    late = rows(book["Cases"])[0]
    assert [late[h].value for h in ("Stage", "Owner", "Next action", "Last outcome", "Action overdue (days)")] == [
        "Calling",
        "Anna",
        "Call the customer",
        "No answer",
        3,
    ]
    assert late["Overdue (EUR)"].value == 1234.57 and late["Overdue (EUR)"].number_format == MONEY
    assert late["Action due"].value == dt.datetime(2026, 10, 28) and late["Action due"].number_format == DATE
    assert late["SLA due"].value == dt.datetime(2026, 10, 30)
    assert late["Last contact"].value == dt.datetime(2026, 10, 20)
    assert late["SLA breached"].value == "Yes" and red(late["SLA breached"])
    assert late["Customer name"].value == "'" + data.HOSTILE  # the name stays text
    assert late["Customer"].hyperlink.location == "'Open items'!A2"  # C1's first document
    on_time = rows(book["Cases"])[1]
    assert on_time["SLA breached"].value == "No" and not red(on_time["SLA breached"])
    assert on_time["Overdue (EUR)"].value == 900.01


def test_a_case_closed_tonight_says_when_and_why(book) -> None:
    closed = rows(book["Cases"])[-1]
    assert [closed[h].value for h in ("Stage", "Owner", "Next action", "Closed because", "Detail")] == [
        "Promise to pay",
        None,
        None,
        "Paid",
        "The promised payment arrived.",
    ]
    assert closed["Closed on"].value == dt.datetime(2026, 10, 31)
    assert closed["Overdue (EUR)"].value == 0


def test_payment_plans_put_the_broken_one_first_with_its_amount_at_risk(book) -> None:
    ws = book["Payment plans"]
    assert headers(ws) == [
        "Plan",
        "Company code",
        "Customer",
        "Customer name",
        "Collector",
        "Status",
        "Currency",
        "Covered items open (native)",
        "Due to date (native)",
        "Paid to date (native)",
        "Next instalment due",
        "Next instalment (native)",
        "Missed instalment",
        "Missed instalment due",
        "At risk (native)",
        "At risk (EUR)",
    ]
    plans = rows(ws)
    assert [r["Plan"].value for r in plans] == ["PL2", "PL1", "PL3"]
    broken = plans[0]
    assert [broken[h].value for h in ("Status", "Currency", "Collector", "Missed instalment")] == [
        "Broken",
        "USD",
        "Dan",
        2,
    ]
    # 77.77 USD x 0.9 = 69.993 EUR
    assert [broken["At risk (native)"].value, broken["At risk (EUR)"].value] == [77.77, 69.99]
    assert [broken["Due to date (native)"].value, broken["Paid to date (native)"].value] == [40.0, 10.0]
    assert broken["Missed instalment due"].value == dt.datetime(2026, 10, 15)
    assert red(broken["Status"]) and red(broken["At risk (native)"])
    current = plans[1]
    assert [current["Status"].value, current["At risk (native)"].value, current["At risk (EUR)"].value] == [
        "Current",
        None,
        None,
    ]
    assert current["Next instalment due"].value == dt.datetime(2026, 11, 15)
    assert current["Next instalment (native)"].value == 30.0 and not red(current["Status"])
    assert plans[2]["Status"].value == "Completed"


def test_the_collector_view_one_row_per_collector(book) -> None:
    ws = book["Collectors"]
    assert headers(ws) == [
        "Collector",
        "Open cases",
        "Actions due",
        "Actions overdue",
        "Contacts, last 7 days",
        "SLA breaches",
        "Promises kept, last 90 days",
        "Contacts per business day, last 30 days",
    ]
    by_name = {r["Collector"].value: r for r in rows(ws)}
    assert list(by_name) == ["Anna", "Dan", "(unassigned)"]
    anna = by_name["Anna"]
    assert [anna[h].value for h in headers(ws)[1:6]] == [2, 1, 1, 3, 1]
    kept = anna["Promises kept, last 90 days"]
    assert kept.value == pytest.approx(0.667) and kept.number_format == PERCENT  # shows 66.7 %
    assert anna["Contacts per business day, last 30 days"].value == 0.3
    assert by_name["Dan"]["Promises kept, last 90 days"].value is None  # no promise to judge


def test_the_worklist_shows_each_rows_case(book) -> None:
    ws = book["Worklist"]
    c1 = {r["Customer"].value: r for r in rows(ws)}["C1"]
    assert [c1[h].value for h in ("Case", "Stage", "Action overdue (days)", "Last outcome", "SLA breached")] == [
        "C-1000-C1-20261001",
        "Calling",
        3,
        "No answer",
        "Yes",
    ]
    assert c1["Action due"].value == dt.datetime(2026, 10, 28)
    assert c1["Last contact"].value == dt.datetime(2026, 10, 20)
    assert red(c1["SLA breached"])
    c3 = {r["Customer"].value: r for r in rows(ws)}["C3"]
    assert [c3["Last contact"].value, c3["SLA breached"].value] == [None, "No"]


def test_a_night_without_casework_has_the_sheets_and_says_there_is_nothing(tmp_path: Path) -> None:
    worklist = data.WORKLIST.drop(columns=data.WORKLIST_CASE_COLUMNS)  # a worklist from before casework
    inputs = data.inputs(
        cases=None,
        collectors=data.COLLECTORS.iloc[0:0],
        plan_status=None,
        worklist=worklist,
    )
    book = openpyxl.load_workbook(write_report_workbook(tmp_path / "quiet.xlsx", inputs, NO_DELIVERY))
    for sheet, said, first in (
        ("Cases", NO_CASES, "Case"),
        ("Collectors", NO_COLLECTORS, "Collector"),
        ("Payment plans", NO_PLANS, "Plan"),
    ):
        ws = book[sheet]
        assert headers(ws)[0] == first
        assert [c.value for c in ws[header_row(ws) + 1] if c.value is not None] == [said], sheet
        assert ws.max_row == 2, sheet
    assert "Case" not in headers(book["Worklist"]) and "SLA breached" not in headers(book["Worklist"])


def test_an_unknown_code_shows_as_it_is(tmp_path: Path) -> None:
    cases = data.CASES.assign(stage=["NEW_STAGE", "PROMISE", "DISPUTE", "CALLING"])
    path = write_report_workbook(tmp_path / "c.xlsx", data.inputs(cases=cases), NO_DELIVERY)
    stages = {r["Case"].value: r["Stage"].value for r in rows(openpyxl.load_workbook(path)["Cases"])}
    assert [stages["C-3000-C1-20261020"], stages["C-1000-C1-20261001"]] == ["NEW_STAGE", "Calling"]
