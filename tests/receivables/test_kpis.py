"""KPIs against hand-computed numbers: the worked examples of docs/kpis.md, one test each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from receivables.aging import age_open_items, aging_from_warehouse
from receivables.kpi_formulas import (
    age_band,
    average_days_delinquent,
    average_days_late,
    best_possible_dso,
    collection_effectiveness_index,
    days_late,
    dso_count_back,
    dso_standard,
    percent_current,
    previous_month_end,
    promise_attainment,
    weighted_average_days_late,
)
from receivables.kpis import compute_kpis, open_disputes, promise_status
from receivables.money import to_cents
from receivables.reporting_config import KpiConfig

AS_OF = date(2026, 10, 31)
D = pd.Timestamp


def cents(*amounts: str) -> pd.Series:
    return pd.Series([to_cents(a) for a in amounts], dtype="Int64")


def open_items_frame(rows: list[tuple]) -> pd.DataFrame:
    cols = [
        "company_code",
        "document_no",
        "document_type",
        "customer_id",
        "document_date",
        "due_date",
        "currency",
        "amount",
        "open_amount",
    ]
    f = pd.DataFrame(rows, columns=cols)
    for c in ("document_date", "due_date"):
        f[c] = pd.to_datetime(f[c])
    for c in ("amount", "open_amount"):
        f[c] = cents(*f[c])
    return f


# The scenario of docs/kpis.md.  Company 1000 books in EUR (the base currency), 3000 in USD.
OPEN = open_items_frame(
    [
        ("1000", "A", "INV", "C1", "2026-10-01", "2026-10-31", "EUR", "3000.00", "3000.00"),  # due today: current
        ("1000", "B", "INV", "C1", "2026-09-01", "2026-10-01", "EUR", "2000.00", "1500.00"),  # 30 days past due
        ("1000", "C", "INV", "C2", "2026-07-15", "2026-08-14", "EUR", "1000.00", "1000.00"),  # dated before the period
        ("1000", "D", "CRN", "C2", "2026-10-10", "2026-10-10", "EUR", "-500.00", "-500.00"),  # overdue credit note
        ("1000", "E", "INV", "C2", "2026-08-20", "2026-09-19", "EUR", "1500.00", "0.00"),  # settled by today's cash
        ("3000", "U1", "INV", "C3", "2026-10-15", "2026-11-14", "USD", "1000.00", "1000.00"),
        ("3000", "U2", "INV", "C3", "2026-09-01", "2026-10-01", "USD", "1000.00", "1000.00"),
    ]
)

CLEARED = pd.DataFrame(
    {
        "company_code": ["1000", "1000", "1000", "1000"],
        "document_no": ["F", "G", "H", "I"],
        "customer_id": ["C1", "C1", "C2", "C2"],
        "document_date": pd.to_datetime(["2026-08-10", "2026-06-01", "2026-09-05", "2026-10-05"]),
        "due_date": pd.to_datetime(["2026-09-09", "2026-07-01", "2026-09-05", "2026-11-04"]),
        "currency": ["EUR"] * 4,
        "amount": cents("4500.00", "500.00", "-200.00", "1000.00"),
        "clearing_date": pd.to_datetime(["2026-09-19", "2026-08-15", "2026-09-20", "2026-10-25"]),
    }
)

CUSTOMERS = pd.DataFrame(
    {"customer_id": ["C1", "C2", "C3"], "currency": ["EUR", "EUR", "USD"], "company_code": ["1000", "1000", "3000"]}
)

FX = pd.DataFrame(
    {
        "currency": ["USD", "USD", "USD", "EUR"],
        "rate_to_base": [Decimal("0.8"), Decimal("0.9"), Decimal("0.5"), Decimal("1")],
        "rate_date": pd.to_datetime(["2026-09-30", "2026-10-30", "2026-11-01", "2026-10-30"]),
    }
)

PROMISES = pd.DataFrame(
    {
        "promise_id": ["P1", "P2", "P3", "P4", "P5"],
        "company_code": ["1000"] * 5,
        "customer_id": ["C1", "C2", "C1", "C2", "C2"],
        "document_no": ["B", "I", "A", None, "C"],
        "promised_amount": cents("300.00", "1000.00", "3000.00", "200.00", "1000.00"),
        "promised_date": pd.to_datetime(["2026-10-20", "2026-10-24", "2026-11-10", "2026-10-20", "2026-10-30"]),
        "created_on": pd.to_datetime(["2026-10-10"] * 5),
    }
)
BROKEN = pd.DataFrame(
    {
        "promise_id": ["P1"],
        "company_code": ["1000"],
        "customer_id": ["C1"],
        "document_no": ["B"],
        "promised_amount": cents("300.00"),
        "promised_date": pd.to_datetime(["2026-10-20"]),
    }
)

DISPUTES = pd.DataFrame(
    {
        "dispute_id": ["D1", "D2", "D3", "D4", "D5"],
        "company_code": ["1000"] * 5,
        "document_no": ["B", "C", "A", "C", "A"],
        "customer_id": ["C1", "C2", "C1", "C2", "C1"],
        "reason_code": ["PRICING", "QUALITY", "PRICING", "PRICING", "OTHER"],
        "amount": cents("250.00", "400.00", "100.00", "50.00", "75.00"),
        "status": ["OPEN", "OPEN", "RESOLVED", "RESOLVED", "OPEN"],
        "opened_on": pd.to_datetime(["2026-10-21", "2026-08-31", "2026-10-01", "2026-07-01", "2026-11-02"]),
        "resolved_on": pd.to_datetime([None, None, "2026-10-15", "2026-11-05", None]),
    }
)

UNAPPLIED = pd.DataFrame(
    {
        "payment_id": ["P10", "P11", "P12"],
        "company_code": ["1000"] * 3,
        "customer_id": ["C1", None, "C2"],
        "remaining_amount": cents("120.00", "80.00", "50.00"),
        "currency": ["EUR"] * 3,
        "reason": ["NO_MATCH", "UNIDENTIFIED", "OVERPAYMENT"],
    }
)
PAYMENTS = pd.DataFrame(
    {"payment_id": ["P10", "P11", "P12"], "value_date": pd.to_datetime(["2026-10-30", "2026-09-15", "2026-10-31"])}
)

# the aging the warehouse holds for 2026-09-30, read back as Decimal
SNAPSHOT = pd.DataFrame(
    {
        "as_of": [date(2026, 9, 30)] * 3,
        "company_code": ["1000", "1000", "3000"],
        "customer_id": ["C1", "C2", "C3"],
        "currency": ["EUR", "EUR", "USD"],
        "not_due": [Decimal("4000.00"), Decimal("2000.00"), Decimal("2000.00")],
        **{c: [Decimal("0.00")] * 3 for c in ("d1_30", "d31_60", "d61_90", "d91_120", "d121_plus")},
        "total": [Decimal("4000.00"), Decimal("2000.00"), Decimal("2000.00")],
        "total_base": [Decimal("4000.00"), Decimal("2000.00"), Decimal("1600.00")],
    }
)


def run(**overrides) -> pd.DataFrame:
    args = dict(
        cleared_items=CLEARED,
        customers=CUSTOMERS,
        promises=PROMISES,
        broken_promises=BROKEN,
        disputes=DISPUTES,
        unapplied=UNAPPLIED,
        payments=PAYMENTS,
        fx_rates=FX,
        base_currency="EUR",
        previous_month_end_aging=aging_from_warehouse(SNAPSHOT),
    )
    args.update(overrides)
    return compute_kpis(OPEN, AS_OF, **args)


@pytest.fixture(scope="module")
def kpis() -> dict[tuple[str, str], Decimal | None]:
    frame = run()
    return {(c, k): v for c, k, v in zip(frame["company_code"], frame["kpi"], frame["value"])}


# --- the formulas on their own ---------------------------------------------------------------


def test_formulas_by_hand() -> None:
    assert dso_standard(500000, 1200000, 90) == Decimal("37.5")
    assert dso_standard(500000, 0, 90) is None
    assert best_possible_dso(300000, 1200000, 90) == Decimal("22.5")
    assert average_days_delinquent(500000, 300000, 1200000, 90) == Decimal("15")
    assert collection_effectiveness_index(600000, 400000, 500000, 300000) == Decimal("71.4286")
    assert collection_effectiveness_index(0, 0, 0, 0) is None
    assert percent_current(300000, 500000) == Decimal("60")
    assert percent_current(0, 0) is None
    assert promise_attainment(120000, 30000) == Decimal("80")
    assert promise_attainment(0, 0) is None
    assert average_days_late(55, 3) == Decimal("18.3333")
    assert weighted_average_days_late(6750000, 600000) == Decimal("11.25")


def test_count_back_walks_months_newest_first() -> None:
    # 5,000 open: October (31 days, 4,000 sales) is used up, then half of September's 2,000
    assert dso_count_back(500000, [(31, 400000), (30, 200000), (31, 600000)]) == Decimal("46")
    # exactly one month of sales is that month's days
    assert dso_count_back(400000, [(31, 400000), (30, 200000)]) == Decimal("31")
    # a month without sales adds its days and uses nothing up
    assert dso_count_back(100000, [(31, 0), (30, 200000)]) == Decimal("46")
    assert dso_count_back(0, [(31, 400000)]) == Decimal("0")
    assert dso_count_back(-5000, []) == Decimal("0")
    # more receivables than the months hold: not a number we can state
    assert dso_count_back(900000, [(31, 400000), (30, 200000)]) is None


def test_previous_month_end() -> None:
    assert previous_month_end(date(2026, 10, 31)) == date(2026, 9, 30)
    assert previous_month_end(date(2026, 10, 1)) == date(2026, 9, 30)
    assert previous_month_end(date(2026, 3, 15)) == date(2026, 2, 28)
    assert previous_month_end(date(2026, 1, 31)) == date(2025, 12, 31)


def test_days_late_is_floored_at_zero() -> None:
    assert days_late(CLEARED).tolist() == [10, 45, 15, 0]


def test_age_band_edges() -> None:
    labels = KpiConfig().age_band_labels
    assert labels == ["0_30", "31_60", "61_90", "91_plus"]
    ages = pd.Series([0, 30, 31, 60, 61, 90, 91, 5000, np.nan])
    assert age_band(ages, (30, 60, 90), labels).tolist() == [
        "0_30",
        "0_30",
        "31_60",
        "31_60",
        "61_90",
        "61_90",
        "91_plus",
        "91_plus",
        "unknown",
    ]


def test_promise_status() -> None:
    status = promise_status(PROMISES, BROKEN, OPEN, AS_OF, grace_days=3)
    # P1 broken by dunning; P2's document is cleared; P3 is due later; P4 (whole account) passed
    # 2026-10-20 + 3 days without being broken; P5 is still inside 2026-10-30 + 3 days
    assert status.tolist() == ["broken", "kept", "open", "kept", "open"]


def test_open_disputes_as_of() -> None:
    # D3 resolved before as_of, D5 opened after it; D4 is resolved now but was open on as_of
    assert open_disputes(DISPUTES, AS_OF)["dispute_id"].tolist() == ["D1", "D2", "D4"]


# --- compute_kpis: company 1000 (all EUR) ----------------------------------------------------


def test_receivables_and_sales(kpis) -> None:
    assert kpis["1000", "ar_total"] == Decimal("5000.00")  # 3000 + 1500 + 1000 - 500; E is settled
    assert kpis["1000", "ar_current"] == Decimal("3000.00")
    assert kpis["1000", "ar_overdue"] == Decimal("2000.00")
    # invoices dated 2026-08-02..2026-10-31: A, B, E (paid today still a sale), F, I = 12,000
    assert kpis["1000", "sales_period"] == Decimal("12000.00")


def test_dso_kpis(kpis) -> None:
    assert kpis["1000", "dso_standard"] == Decimal("37.5000")
    assert kpis["1000", "best_possible_dso"] == Decimal("22.5000")
    assert kpis["1000", "average_days_delinquent"] == Decimal("15.0000")
    assert kpis["1000", "dso_count_back"] == Decimal("46.0000")
    assert kpis["1000", "pct_current"] == Decimal("60.0000")


def test_cei_from_previous_month_end(kpis) -> None:
    # (6000 + 4000 - 5000) / (6000 + 4000 - 3000) x 100
    assert kpis["1000", "cei"] == Decimal("71.4286")
    without = run(previous_month_end_aging=None)
    assert without.set_index(["company_code", "kpi"]).loc[("1000", "cei"), "value"] is None


def test_promise_kpis(kpis) -> None:
    assert [kpis["1000", f"ptp_{s}_count"] for s in ("kept", "broken", "open")] == [2, 1, 2]
    assert kpis["1000", "ptp_kept_amount"] == Decimal("1200.00")
    assert kpis["1000", "ptp_broken_amount"] == Decimal("300.00")
    assert kpis["1000", "ptp_open_amount"] == Decimal("4000.00")
    assert kpis["1000", "ptp_attainment_pct"] == Decimal("80.0000")


def test_disputed_amount_by_reason_and_age(kpis) -> None:
    assert kpis["1000", "disputed_amount"] == Decimal("700.00")
    assert kpis["1000", "disputed_count"] == 3
    assert kpis["1000", "disputed_amount.reason.PRICING"] == Decimal("300.00")
    assert kpis["1000", "disputed_amount.reason.QUALITY"] == Decimal("400.00")
    assert kpis["1000", "disputed_amount.reason.OTHER"] == Decimal("0.00")
    assert [kpis["1000", f"disputed_amount.age.{b}"] for b in ("0_30", "31_60", "61_90", "91_plus")] == [
        Decimal("250.00"),
        Decimal("0.00"),
        Decimal("400.00"),
        Decimal("50.00"),
    ]


def test_unapplied_cash_by_reason_and_age(kpis) -> None:
    assert kpis["1000", "unapplied_cash"] == Decimal("250.00")
    assert kpis["1000", "unapplied_count"] == 3
    assert kpis["1000", "unapplied_cash.reason.NO_MATCH"] == Decimal("120.00")
    assert kpis["1000", "unapplied_cash.reason.UNIDENTIFIED"] == Decimal("80.00")
    assert kpis["1000", "unapplied_cash.reason.OVERPAYMENT"] == Decimal("50.00")
    assert kpis["1000", "unapplied_cash.reason.AMBIGUOUS"] == Decimal("0.00")
    assert kpis["1000", "unapplied_cash.age.0_30"] == Decimal("170.00")
    assert kpis["1000", "unapplied_cash.age.31_60"] == Decimal("80.00")


def test_average_days_late(kpis) -> None:
    # cleared 2026-08-02..2026-10-31, invoices only: F 10 days, G 45, I 0 (early); H is a credit
    assert kpis["1000", "cleared_count"] == 3
    assert kpis["1000", "avg_days_late"] == Decimal("18.3333")
    # (4500 x 10 + 500 x 45 + 1000 x 0) / 6000
    assert kpis["1000", "avg_days_late_weighted"] == Decimal("11.2500")


# --- company 3000 (USD) and ALL: converted at the as_of rate ---------------------------------


def test_foreign_currency_company_in_base(kpis) -> None:
    # USD at 0.9 (2026-10-30); the 0.5 of 2026-11-01 is after as_of, 0.8 is older
    assert kpis["3000", "ar_total"] == Decimal("1800.00")
    assert kpis["3000", "ar_current"] == Decimal("900.00")
    assert kpis["3000", "dso_standard"] == Decimal("90.0000")
    assert kpis["3000", "best_possible_dso"] == Decimal("45.0000")
    assert kpis["3000", "dso_count_back"] == Decimal("61.0000")
    # the 2,000 USD month-end balance is converted at today's 0.9, not the month-end 0.8
    assert kpis["3000", "cei"] == Decimal("50.0000")
    assert kpis["3000", "currencies_without_fx_rate"] == 0


def test_all_company_codes(kpis) -> None:
    assert kpis["ALL", "ar_total"] == Decimal("6800.00")
    assert kpis["ALL", "sales_period"] == Decimal("13800.00")
    assert kpis["ALL", "dso_standard"] == Decimal("44.3478")  # 6800 / 13800 x 90
    assert kpis["ALL", "best_possible_dso"] == Decimal("25.4348")  # 3900 / 13800 x 90
    assert kpis["ALL", "average_days_delinquent"] == Decimal("18.9130")  # 2900 / 13800 x 90
    assert kpis["ALL", "pct_current"] == Decimal("57.3529")  # 3900 / 6800
    assert kpis["ALL", "cei"] == Decimal("67.0455")  # (7800 + 4900 - 6800) / (7800 + 4900 - 3900)
    assert kpis["ALL", "dso_count_back"] == Decimal("50.6552")  # 31 + 30 x 1900 / 2900
    assert kpis["ALL", "avg_days_late"] == Decimal("18.3333")


def test_currency_without_rate_is_left_out_and_counted() -> None:
    extra = open_items_frame([("4000", "G1", "INV", "C4", "2026-10-01", "2026-10-31", "GBP", "100.00", "100.00")])
    frame = compute_kpis(
        pd.concat([OPEN, extra], ignore_index=True), AS_OF, cleared_items=CLEARED, fx_rates=FX, base_currency="EUR"
    )
    k = frame.set_index(["company_code", "kpi"])["value"]
    assert k["4000", "currencies_without_fx_rate"] == 1
    assert k["4000", "ar_total"] == Decimal("0.00")
    assert k["4000", "dso_standard"] is None
    assert k["ALL", "currencies_without_fx_rate"] == 1
    assert k["ALL", "ar_total"] == Decimal("6800.00")


def test_shape_order_and_rerun_determinism() -> None:
    first = run()
    assert list(first.columns) == ["company_code", "kpi", "value", "unit"]
    assert list(dict.fromkeys(first["company_code"])) == ["1000", "3000", "ALL"]
    assert not first.duplicated(["company_code", "kpi"]).any()
    assert first["kpi"].str.len().max() <= 64
    assert all(v is None or isinstance(v, Decimal) for v in first["value"])
    # the same inputs in another row order give the same rows
    rng = np.random.default_rng(7)
    shuffled = {
        name: f.iloc[rng.permutation(len(f))]
        for name, f in dict(cleared_items=CLEARED, promises=PROMISES, disputes=DISPUTES, unapplied=UNAPPLIED).items()
    }
    again = compute_kpis(
        OPEN.iloc[rng.permutation(len(OPEN))],
        AS_OF,
        customers=CUSTOMERS,
        broken_promises=BROKEN,
        payments=PAYMENTS,
        fx_rates=FX,
        base_currency="EUR",
        previous_month_end_aging=aging_from_warehouse(SNAPSHOT),
        **shuffled,
    )
    pd.testing.assert_frame_equal(first, again)


def test_empty_inputs_give_undefined_ratios_not_errors() -> None:
    empty = OPEN.iloc[0:0]
    frame = compute_kpis(empty, AS_OF)
    assert frame["company_code"].unique().tolist() == ["ALL"]
    k = frame.set_index("kpi")["value"]
    assert k["ar_total"] == Decimal("0.00") and k["dso_standard"] is None and k["cei"] is None


def test_aging_feeds_the_same_totals(kpis) -> None:
    # the KPI receivables agree with the aging table's totals
    aging = age_open_items(OPEN.loc[OPEN["company_code"] == "1000"], AS_OF)
    assert aging["total"].sum() == 500000
    assert aging["not_due"].sum() == 300000


def test_a_document_in_both_extracts_is_one_sale() -> None:
    twice = pd.DataFrame(
        {
            "company_code": ["1000", "3000"],
            "document_no": ["B", "B"],
            "customer_id": ["C1", "C3"],
            "document_date": pd.to_datetime(["2026-09-01", "2026-09-01"]),
            "due_date": pd.to_datetime(["2026-10-01"] * 2),
            "currency": ["EUR", "USD"],
            "amount": cents("2000.00", "100.00"),
            "clearing_date": pd.to_datetime(["2026-10-30"] * 2),
        }
    )
    k = compute_kpis(OPEN, AS_OF, cleared_items=twice, fx_rates=FX).set_index(["company_code", "kpi"])["value"]
    assert k["1000", "sales_period"] == Decimal("6500.00")  # A 3000 + B 2000 + E 1500; B not twice
    assert k["3000", "sales_period"] == Decimal("1890.00")  # 3000's own document B is another sale: 2100 USD x 0.9


# --- as a person reads them ------------------------------------------------------------------------


def test_kpis_as_a_table_by_company_with_units_and_reasons() -> None:
    """The flow's KPI artifact: labels instead of codes, the unit named (money in the base
    currency even for the USD company), one column per company code, a blank said and why."""
    from receivables.kpi_labels import kpi_table, unit_label, why_blank

    frame = pd.DataFrame(
        {
            "company_code": ["1000", "3000", "ALL", "1000", "3000", "ALL", "ALL"],
            "kpi": ["ar_total", "ar_total", "ar_total", "cei", "cei", "cei", "disputed_amount.reason.PRICING"],
            "value": [Decimal("3211175.04"), Decimal("900.00"), Decimal("3212075.04"), None, None, None, Decimal(5)],
            "unit": ["amount"] * 3 + ["percent"] * 3 + ["amount"],
        }
    )
    rows = {r["code"]: r for r in kpi_table(frame, "EUR", date(2026, 9, 30), snapshot=False)}
    assert rows["ar_total"] == {
        "KPI": "Open receivables",
        "unit": "EUR",
        "all companies": "3,212,075.04",
        "1000": "3,211,175.04",
        "3000": "900.00",
        "why blank": "",
        "code": "ar_total",
    }
    assert rows["cei"]["unit"] == "%" and rows["cei"]["all companies"] == "n/a"
    assert rows["cei"]["why blank"] == (
        "needs the aging of the previous month end (2026-09-30), which the warehouse has no run for"
    )
    assert rows["disputed_amount.reason.PRICING"]["KPI"] == "Disputed amount, reason: pricing"
    assert [unit_label(u, "EUR") for u in ("amount", "percent", "days", "count")] == ["EUR", "%", "days", "count"]
    assert why_blank("cei", date(2026, 9, 30), month_end_snapshot=True) == "nothing was collectable in the period"
    assert why_blank("dso_standard") == "no credit sales in the DSO period"
