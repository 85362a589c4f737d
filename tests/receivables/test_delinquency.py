"""Delinquency drivers: the hand-computed example of docs/kpis.md, and the property that the
drivers split the KPI ar_overdue to the cent, by precedence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.delinquency import DRIVERS, DriverFacts, attribute_items, delinquency_drivers
from receivables.kpis import compute_kpis
from receivables.money import to_cents

AS_OF = date(2026, 10, 31)
ITEM_COLUMNS = [
    "company_code",
    "document_no",
    "document_type",
    "customer_id",
    "document_date",
    "due_date",
    "currency",
    "amount",
    "open_amount",
    "dunning_block",
]


def items_frame(rows: list[tuple]) -> pd.DataFrame:
    f = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    for c in ("document_date", "due_date"):
        f[c] = pd.to_datetime(f[c])
    for c in ("amount", "open_amount"):
        f[c] = pd.Series([to_cents(a) if isinstance(a, str) else a for a in f[c]], dtype="Int64")
    return f


def disputes_frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["dispute_id", "company_code", "document_no", "customer_id", "reason_code", "amount", "status"]
    f = pd.DataFrame(rows, columns=cols)
    f["opened_on"] = pd.Timestamp("2026-10-01")
    f["resolved_on"] = pd.NaT
    f["amount"] = pd.Series([to_cents(a) if isinstance(a, str) else a for a in f["amount"]], dtype="Int64")
    return f


def unapplied_frame(rows: list[tuple]) -> pd.DataFrame:
    f = pd.DataFrame(rows, columns=["payment_id", "company_code", "customer_id", "remaining_amount", "currency"])
    f["remaining_amount"] = [to_cents(a) if isinstance(a, str) else a for a in f["remaining_amount"]]
    return f


# The worked example of docs/kpis.md ("Delinquency drivers"), company 1000 in EUR on 2026-10-31.
EXAMPLE = items_frame(
    [
        ("1000", "I1", "INV", "C1", "2026-08-31", "2026-09-30", "EUR", "1000.00", "1000.00", False),  # 31 days
        ("1000", "I2", "INV", "C1", "2026-09-21", "2026-10-21", "EUR", "500.00", "500.00", False),  # 10 days
        ("1000", "N1", "CRN", "C1", "2026-10-27", "2026-11-10", "EUR", "-100.00", "-100.00", False),  # not yet due
        ("1000", "I3", "INV", "C2", "2026-08-01", "2026-08-31", "EUR", "800.00", "800.00", True),  # 61 days, blocked
        ("1000", "N2", "CRN", "C2", "2026-10-01", "2026-10-01", "EUR", "-300.00", "-300.00", False),  # overdue credit
        ("1000", "I4", "INV", "C2", "2026-09-16", "2026-10-16", "EUR", "200.00", "200.00", False),  # 15 days
        ("1000", "I5", "INV", "C3", "2026-09-30", "2026-10-30", "EUR", "150.00", "150.00", False),  # 1 day
        ("1000", "P1", "PMT", "C3", "2026-10-05", "2026-10-05", "EUR", "-300.00", "-300.00", False),  # on account
        ("1000", "I6", "INV", "C3", "2026-10-20", "2026-11-19", "EUR", "900.00", "900.00", False),  # current
    ]
)
EXAMPLE_DISPUTES = disputes_frame([("D1", "1000", "I1", "C1", "PRICE", "400.00", "OPEN")])
EXAMPLE_UNAPPLIED = unapplied_frame([("PAY1", "1000", "C1", "250.00", "EUR")])
EXAMPLE_FACTS = DriverFacts(
    promised=pd.DataFrame({"company_code": ["1000"], "document_no": ["I2"]}),
    handed_over=pd.DataFrame({"company_code": ["1000"], "customer_id": ["C2"]}),
)


def test_worked_example_of_the_docs() -> None:
    rows = delinquency_drivers(
        EXAMPLE, AS_OF, disputes=EXAMPLE_DISPUTES, unapplied=EXAMPLE_UNAPPLIED, facts=EXAMPLE_FACTS
    ).set_index("driver")
    assert rows["amount"].to_dict() == {
        "disputed": 40000,
        "covered_by_customer_money": 35000,
        "promised": 50000,
        "payment_plan": 0,
        "blocked": 50000,
        "handed_over": 20000,
        "plain_late": 10000,
    }
    assert rows["count"].to_dict() == {
        "disputed": 1,
        "covered_by_customer_money": 1,
        "promised": 1,
        "payment_plan": 0,
        "blocked": 1,
        "handed_over": 1,
        "plain_late": 1,
    }
    assert rows.loc["disputed", "share"] == Decimal("0.1951")
    assert rows.loc["plain_late", "share"] == Decimal("0.0488")
    assert rows.loc["blocked", "avg_days_delinquent"] == Decimal("61.0000")
    assert rows.loc["plain_late", "avg_days_delinquent"] == Decimal("31.0000")
    assert rows.loc["payment_plan", "avg_days_delinquent"] is None
    kpi = compute_kpis(EXAMPLE, AS_OF).set_index(["company_code", "kpi"])["value"]
    assert kpi["1000", "ar_overdue"] == Decimal("2050.00") == Decimal(int(rows["amount"].sum())) / 100


def test_item_split_of_the_example() -> None:
    items = attribute_items(
        EXAMPLE, AS_OF, disputes=EXAMPLE_DISPUTES, unapplied=EXAMPLE_UNAPPLIED, facts=EXAMPLE_FACTS
    ).set_index("document_no")
    assert items.loc["I1", ["disputed", "covered_by_customer_money", "plain_late"]].tolist() == [40000, 35000, 25000]
    assert items.loc["I3", ["netted", "blocked"]].tolist() == [30000, 50000]  # C2's overdue credit, oldest first
    assert items.loc["I5", ["netted", "plain_late"]].tolist() == [15000, 0]  # C3 is in credit by 150.00
    assert "I6" not in items.index


def test_a_whole_account_dispute_and_a_blank_amount_cover_whole_items() -> None:
    disputes = disputes_frame(
        [("D1", "1000", None, "C2", "SERVICE", None, "OPEN"), ("D2", "1000", "I2", "C1", "PRICE", None, "OPEN")]
    )
    items = attribute_items(EXAMPLE, AS_OF, disputes=disputes).set_index("document_no")
    assert items.loc["I2", "disputed"] == 50000
    # C2's overdue credit nets the undisputed rest first; there is none, so it nets disputed cents
    assert items.loc["I3", ["disputed", "netted"]].tolist() == [50000, 30000]
    assert items.loc["I4", "disputed"] == 20000


def test_fx_companies_sum_to_the_kpi() -> None:
    usd = items_frame(
        [
            ("3000", "U1", "INV", "C9", "2026-09-01", "2026-10-01", "USD", "333.33", "333.33", False),
            ("3000", "U2", "INV", "C9", "2026-09-01", "2026-10-02", "USD", "333.33", "333.33", True),
            ("3000", "U3", "INV", "C9", "2026-10-01", "2026-11-02", "USD", "100.01", "100.01", False),
        ]
    )
    fx = pd.DataFrame({"currency": ["USD"], "rate_date": [pd.Timestamp("2026-10-30")], "rate_to_base": ["0.92345"]})
    rows = delinquency_drivers(usd, AS_OF, fx_rates=fx)
    kpi = compute_kpis(usd, AS_OF, fx_rates=fx).set_index(["company_code", "kpi"])["value"]
    assert Decimal(int(rows["amount"].sum())) / 100 == kpi["3000", "ar_overdue"]


# --- the property -------------------------------------------------------------------------------

CUSTOMERS = ["C1", "C2", "C3", "C4"]
item = st.tuples(
    st.sampled_from(["1000", "2000"]),
    st.sampled_from(CUSTOMERS),
    st.sampled_from(["EUR", "USD", "GBP"]),
    st.integers(-40, 120),  # days past due
    st.integers(-60_000, 200_000),  # open amount in cents
    st.booleans(),  # item block
    st.sampled_from(["", "", "promised", "planned"]),
)
dispute = st.tuples(st.integers(0, 30), st.none() | st.integers(-5, 150_000), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(item, min_size=1, max_size=25),
    st.lists(dispute, max_size=6),
    st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.integers(0, 90_000)), max_size=3),
    st.sets(st.sampled_from(CUSTOMERS), max_size=2),
    st.sets(st.sampled_from(CUSTOMERS), max_size=2),
)
def test_drivers_split_ar_overdue_by_precedence(items, disputes, cash, handed, blocked_customers) -> None:
    rows = [
        (co, f"X{i}", "INV" if amt > 0 else "CRN", cu, pd.Timestamp(AS_OF) - pd.Timedelta(days=dpd + 30),
         pd.Timestamp(AS_OF) - pd.Timedelta(days=dpd), ccy, amt, amt, block)
        for i, (co, cu, ccy, dpd, amt, block, _) in enumerate(items)
    ]  # fmt: skip
    open_items = items_frame(rows)
    flagged = [(co, f"X{i}", kind) for i, (co, _, _, _, _, _, kind) in enumerate(items)]
    facts = DriverFacts(
        promised=pd.DataFrame(
            [(c, d) for c, d, k in flagged if k == "promised"], columns=["company_code", "document_no"]
        ),
        planned=pd.DataFrame(
            [(c, d) for c, d, k in flagged if k == "planned"], columns=["company_code", "document_no"]
        ),
        handed_over=pd.DataFrame([("1000", c) for c in handed], columns=["company_code", "customer_id"]),
    )
    dispute_rows = [
        (f"D{n}", rows[i % len(rows)][0], None if whole else rows[i % len(rows)][1], rows[i % len(rows)][3],
         "PRICE", amount, "OPEN")
        for n, (i, amount, whole) in enumerate(disputes)
    ]  # fmt: skip
    dispute_frame = disputes_frame(dispute_rows)
    unapplied = unapplied_frame([(f"P{n}", "1000", c, a, "EUR") for n, (c, a) in enumerate(cash)])
    customers = pd.DataFrame({"customer_id": CUSTOMERS, "dunning_block": [c in blocked_customers for c in CUSTOMERS]})
    fx = pd.DataFrame({"currency": ["USD"], "rate_date": [pd.Timestamp("2026-10-01")], "rate_to_base": ["0.91377"]})
    args = dict(disputes=dispute_frame, customers=customers, unapplied=unapplied, facts=facts)
    drivers = delinquency_drivers(open_items, AS_OF, fx_rates=fx, **args)
    kpi = compute_kpis(open_items, AS_OF, fx_rates=fx).set_index(["company_code", "kpi"])["value"]

    assert (drivers["amount"] >= 0).all()
    for company, rows_of in drivers.groupby("company_code"):
        assert list(rows_of["driver"]) == list(DRIVERS)
        overdue = int(kpi[company, "ar_overdue"] * 100)
        assert int(rows_of["amount"].sum()) == max(overdue, 0)

    split = attribute_items(open_items, AS_OF, **args)
    assert (split[[*DRIVERS, "netted"]] >= 0).all().all()
    # every cent of an item is in one place, and a disputed cent is never in a later driver
    by_doc = open_items.set_index("document_no")["open_amount"].astype(int)
    assert (split[[*DRIVERS, "netted"]].sum(axis=1) == split["document_no"].map(by_doc)).all()
    claimed = _disputed_independently(open_items, dispute_frame).reindex(split["document_no"]).to_numpy()
    assert (split["disputed"].to_numpy() + split["netted"].to_numpy() >= claimed).all()
    assert (split["disputed"].to_numpy() <= claimed).all()


def _disputed_independently(open_items: pd.DataFrame, disputes: pd.DataFrame) -> pd.Series:
    """Per document the cents its disputes claim, computed row by row."""
    out = {}
    for _, it in open_items.iterrows():
        amount = int(it["open_amount"])
        total = 0
        for _, d in disputes.iterrows():
            if d["company_code"] != it["company_code"]:
                continue
            if pd.isna(d["document_no"]) and d["customer_id"] == it["customer_id"]:
                total += amount
            elif d["document_no"] == it["document_no"]:
                total += int(d["amount"]) if not pd.isna(d["amount"]) and d["amount"] > 0 else amount
        out[it["document_no"]] = min(total, max(amount, 0))
    return pd.Series(out)
