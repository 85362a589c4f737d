"""The dispute KPIs with hand-computed numbers (docs/kpis.md, "Dispute KPIs", uses the same
example), the top customers by open disputed amount, and the workbook's Disputes sheet.

as_of 2026-10-31 with a 30-day KPI period: the period is 2026-10-02 .. 2026-10-31 (a dispute
opened on 2026-10-01 is before it).  Targets from the shipped disputes.yaml: PRICING 14,
QUALITY 21, BILLING_ERROR 7, OTHER 30 days.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from receivables.dispute_rules import load_dispute_rules
from receivables.dispute_views import dispute_view, screen_table, top_disputed_customers
from receivables.disputes import dispute_status
from receivables.kpi_formulas import average_days_to_resolve, median_days_to_resolve, resolved_within_target
from receivables.kpi_labels import kpi_label, kpi_table
from receivables.kpis import compute_kpis
from receivables.reporting_config import KpiConfig
from receivables.workbook import write_report_workbook
from receivables.workbook.formats import ALERT_FILL
from tests.receivables import workbook_data as data

AS_OF = date(2026, 10, 31)
CONFIG = KpiConfig(dso_period_days=30)

#: id, company, customer, document, reason, amount (cents), status, opened, resolved
ROWS = [
    ("D1", "1000", "C1", "A1", "PRICING", 10000, "RESOLVED", "2026-10-05", "2026-10-15"),  # 10 days, target 10-19
    ("D2", "1000", "C2", "A2", "QUALITY", 20000, "RESOLVED", "2026-09-01", "2026-10-10"),  # 39 days, target 09-22
    ("D3", "1000", "C1", "A1", "BILLING_ERROR", 30000, "OPEN", "2026-10-20", None),  # age 11, target 10-27
    ("D4", "1000", "C2", "A2", "PRICING", 5000, "RESOLVED", "2026-08-15", "2026-09-20"),  # resolved before
    ("D5", "3000", "C3", "U1", "OTHER", 7000, "RESOLVED", "2026-10-02", "2026-10-06"),  # 4 days
    ("D6", "3000", "C3", "U1", "PRICING", 20000, "OPEN", "2026-10-25", None),  # 200.00 USD
    ("D7", "1000", "C2", "A2", "PRICING", 50000, "OPEN", "2026-09-10", None),  # age 51, target 09-24
    ("D8", "1000", "C1", "A3", "QUALITY", 10000, "OPEN", "2026-10-28", None),  # age 3
    ("D9", "1000", "C1", "A3", "PRICING", 1000, "RESOLVED", "2026-10-01", "2026-10-03"),  # 2 days
]
DISPUTES = pd.DataFrame(
    [
        {
            "dispute_id": i,
            "company_code": c,
            "customer_id": cu,
            "document_no": doc,
            "reason_code": r,
            "amount": a,
            "status": s,
            "opened_on": pd.Timestamp(o),
            "resolved_on": pd.Timestamp(z) if z else pd.NaT,
            "owner": "John Miller",
        }
        for i, c, cu, doc, r, a, s, o, z in ROWS
    ]
)
OPEN_ITEMS = pd.DataFrame(
    {
        "company_code": ["1000", "1000", "1000", "3000"],
        "document_no": ["A1", "A2", "A3", "U1"],
        "document_type": ["INV"] * 4,
        "customer_id": ["C1", "C2", "C1", "C3"],
        "document_date": pd.to_datetime(["2026-08-01"] * 4),
        "due_date": pd.to_datetime(["2026-08-31"] * 4),
        "currency": ["EUR", "EUR", "EUR", "USD"],
        "amount": [100000, 100000, 100000, 100000],
        "open_amount": [100000, 100000, 100000, 100000],
    }
)
CUSTOMERS = data.CUSTOMERS
FX = data.FX  # USD at 0.9


@pytest.fixture(scope="module")
def status() -> pd.DataFrame:
    return dispute_status(DISPUTES, AS_OF, load_dispute_rules())


@pytest.fixture(scope="module")
def kpis(status) -> dict[tuple[str, str], tuple[Decimal | None, str]]:
    frame = compute_kpis(
        OPEN_ITEMS,
        AS_OF,
        customers=CUSTOMERS,
        disputes=DISPUTES,
        fx_rates=FX,
        config=CONFIG,
        dispute_status=status,
    )
    return {(c, k): (v, u) for c, k, v, u in frame[["company_code", "kpi", "value", "unit"]].values}


@pytest.fixture(scope="module")
def view(status) -> pd.DataFrame:
    return dispute_view(status, DISPUTES, OPEN_ITEMS, None, CUSTOMERS, FX, "EUR", AS_OF)


def test_formulas_by_hand() -> None:
    assert average_days_to_resolve({10: 1, 39: 1, 2: 1}) == Decimal("17")
    assert median_days_to_resolve({10: 1, 39: 1, 2: 1}) == Decimal("10")
    assert median_days_to_resolve({2: 1, 4: 1, 10: 1, 39: 1}) == Decimal("7")  # (4 + 10) / 2
    assert median_days_to_resolve({5: 3, 40: 1}) == Decimal("5")
    assert median_days_to_resolve({1: 1, 4: 1}) == Decimal("2.5")
    assert average_days_to_resolve({}) is None and median_days_to_resolve({}) is None
    assert resolved_within_target(2, 3) == Decimal("66.6667")
    assert resolved_within_target(0, 0) is None


def test_opened_and_resolved_in_the_period(kpis) -> None:
    # 1000: opened D1, D3, D8 (D9 on 10-01 is before the period); resolved D1, D2, D9 (D4 in Sept)
    assert kpis["1000", "disputes_opened"] == (Decimal(3), "count")
    assert kpis["1000", "disputes_resolved"] == (Decimal(3), "count")
    assert kpis["3000", "disputes_opened"] == (Decimal(2), "count")  # D5, D6
    assert kpis["3000", "disputes_resolved"] == (Decimal(1), "count")  # D5
    assert kpis["ALL", "disputes_opened"] == (Decimal(5), "count")
    assert kpis["ALL", "disputes_resolved"] == (Decimal(4), "count")


def test_days_to_resolve_average_and_median(kpis) -> None:
    # 1000: 10, 39, 2 days; 3000: 4 days; all: 2, 4, 10, 39
    assert kpis["1000", "avg_days_to_resolve"] == (Decimal("17"), "days")
    assert kpis["1000", "median_days_to_resolve"] == (Decimal("10"), "days")
    assert kpis["3000", "avg_days_to_resolve"][0] == Decimal("4")
    assert kpis["ALL", "avg_days_to_resolve"][0] == Decimal("13.75")  # 55 / 4
    assert kpis["ALL", "median_days_to_resolve"][0] == Decimal("7")  # not the mean of the companies' medians


def test_share_resolved_within_target(kpis) -> None:
    # D1 and D9 by their target, D2 39 days against QUALITY's 21; D5 within OTHER's 30
    assert kpis["1000", "resolved_within_target_pct"] == (Decimal("66.6667"), "percent")
    assert kpis["3000", "resolved_within_target_pct"][0] == Decimal("100")
    assert kpis["ALL", "resolved_within_target_pct"][0] == Decimal("75")


def test_open_count_by_reason_and_age_band(kpis) -> None:
    # open on 10-31 in 1000: D3 BILLING_ERROR age 11, D7 PRICING age 51, D8 QUALITY age 3
    reasons = {r: kpis["1000", f"disputed_count.reason.{r}"][0] for r in ("BILLING_ERROR", "PRICING", "QUALITY")}
    assert reasons == {"BILLING_ERROR": 1, "PRICING": 1, "QUALITY": 1}
    assert kpis["1000", "disputed_count.reason.OTHER"] == (Decimal(0), "count")
    bands = [kpis["1000", f"disputed_count.age.{b}"][0] for b in ("0_30", "31_60", "61_90", "91_plus")]
    assert bands == [2, 1, 0, 0]
    assert kpis["1000", "disputed_count"][0] == 3
    # the amounts beside them: 300.00 + 100.00 within 30 days, 500.00 in 31..60
    assert kpis["1000", "disputed_amount.age.0_30"] == (Decimal("400.00"), "amount")
    assert kpis["ALL", "disputed_count.reason.PRICING"][0] == 2  # D7 and D6
    assert kpis["ALL", "disputed_amount.reason.PRICING"][0] == Decimal("680.00")  # 500.00 + 200.00 USD x 0.9


def test_without_the_dispute_status_no_lifecycle_rows() -> None:
    frame = compute_kpis(OPEN_ITEMS, AS_OF, customers=CUSTOMERS, disputes=DISPUTES, fx_rates=FX, config=CONFIG)
    assert "disputes_opened" not in set(frame["kpi"])
    assert "disputed_count.reason.PRICING" in set(frame["kpi"])


def test_labels_and_why_blank() -> None:
    assert kpi_label("disputed_count.reason.BILLING_ERROR") == "Open disputes, reason: billing error"
    assert kpi_label("median_days_to_resolve") == "Median days to resolve a dispute"
    frame = compute_kpis(OPEN_ITEMS.iloc[0:0], AS_OF, config=CONFIG, dispute_status=DISPUTES.iloc[0:0])
    rows = {r["code"]: r for r in kpi_table(frame, "EUR")}
    assert rows["disputes_opened"]["all companies"] == "0"
    assert rows["avg_days_to_resolve"]["why blank"] == "no dispute was resolved in the period"


def test_top_customers_by_open_disputed_amount(view) -> None:
    top = top_disputed_customers(view)
    assert top.to_dict("records") == [
        {"company_code": "1000", "rank": 1, "customer_id": "C2", "open_disputes": 1, "disputed_base": 50000},
        {"company_code": "1000", "rank": 2, "customer_id": "C1", "open_disputes": 2, "disputed_base": 40000},
        {"company_code": "3000", "rank": 1, "customer_id": "C3", "open_disputes": 1, "disputed_base": 18000},
    ]


def test_top_five_per_company() -> None:
    many = pd.DataFrame(
        {
            "dispute_id": [f"X{n}" for n in range(7)],
            "company_code": ["1000"] * 7,
            "customer_id": [f"K{n}" for n in range(7)],
            "amount_base": pd.array([100, 700, 300, 300, 500, 600, 200], dtype="Int64"),
            "open": [True] * 6 + [False],
        }
    )
    top = top_disputed_customers(many)
    # K1 700, K5 600, K4 500, then the tie K2 / K3 at 300 by customer id; K6 is resolved
    assert top["customer_id"].tolist() == ["K1", "K5", "K4", "K2", "K3"]
    assert top["rank"].tolist() == [1, 2, 3, 4, 5]


def test_screen_table_lists_open_disputes_breached_first(view) -> None:
    table = screen_table(view, "EUR")
    # D7 breached tier 2 (age 51), D3 breached tier 1 (age 11), then D6 and D8 not breached
    assert table["dispute"].tolist() == ["D7", "D3", "D6", "D8"]
    assert table.loc[0, "amount"] == "500.00" and table.loc[2, "amount (EUR)"] == "180.00"
    assert table["breached"].tolist() == ["Yes", "Yes", "No", "No"]
    assert table["escalation tier"].tolist() == [2, 1, 0, 0]


def test_disputes_sheet(tmp_path, view) -> None:
    path = write_report_workbook(tmp_path / "book.xlsx", data.inputs(dispute_status=view), data.delivery())
    ws = openpyxl.load_workbook(path)["Disputes"]
    headers = [c.value for c in ws[1]]
    table = [dict(zip(headers, r)) for r in ws.iter_rows(min_row=2)]
    assert [r["Dispute"].value for r in table] == ["D7", "D3", "D6", "D8", "D2", "D4", "D1", "D5", "D9"]
    d7 = table[0]
    assert d7["Status"].value == "Open" and d7["Reason"].value == "PRICING" and d7["Owner"].value == "John Miller"
    assert d7["Disputed (native)"].value == 500.0 and d7["Age (days)"].value == 51
    assert d7["Target date"].value.date() == date(2026, 9, 24) and d7["Escalation tier"].value == 2
    assert d7["Target breached"].value == "Yes" and d7["Target breached"].fill.fgColor.rgb.endswith(ALERT_FILL[1:])
    d6 = table[2]
    assert d6["Target breached"].value == "No" and not d6["Target breached"].fill.fgColor.rgb.endswith(ALERT_FILL[1:])
    assert d6["Disputed (EUR)"].value == 180.0 and d6["Currency"].value == "USD"
    d2 = next(r for r in table if r["Dispute"].value == "D2")
    assert d2["Resolved on"].value.date() == date(2026, 10, 10) and d2["Days to resolve"].value == 39
    top = [
        (
            r["Top customers by open disputed amount: company code"].value,
            r["Rank"].value,
            r["Open disputed (EUR)"].value,
        )
        for r in table[:3]
    ]
    assert top == [("1000", 1, 500.0), ("1000", 2, 400.0), ("3000", 1, 180.0)]
    assert table[3]["Rank"].value is None
    assert ws.auto_filter.ref == "A1:R10"  # the list only, not the block beside it


def test_disputes_sheet_on_a_night_without_disputes(tmp_path) -> None:
    path = write_report_workbook(tmp_path / "book.xlsx", data.inputs(), data.delivery())
    ws = openpyxl.load_workbook(path)["Disputes"]
    assert ws["A1"].value == "Dispute" and ws["A2"].value == "No dispute has been opened."
