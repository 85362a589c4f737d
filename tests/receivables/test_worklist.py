"""The collector worklist: who is on it, why, the next action and the documented priority
(docs/worklist.md has the same numbers); and the report tables written to the warehouse
twice for one as_of give identical rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from receivables.aging import TABLE_BUCKETS, add_base_totals, age_open_items
from receivables.kpis import compute_kpis
from receivables.money import to_cents
from receivables.reporting_config import ReportingConfig, WorklistConfig
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.database import read_table
from receivables.worklist import build_worklist, priority_score

AS_OF = date(2026, 10, 31)


def cents(*amounts: str) -> pd.Series:
    return pd.Series([to_cents(a) for a in amounts], dtype="int64")


def aging_row(customer: str, bucket: str, amount: str, currency: str = "EUR", company: str = "1000") -> dict:
    row = {"company_code": company, "customer_id": customer, "currency": currency, **{b: 0 for b in TABLE_BUCKETS}}
    row[bucket] = to_cents(amount)
    row["total"] = to_cents(amount)
    return row


AGING = pd.DataFrame(
    [
        aging_row("K1", "d121_plus", "9999.00"),  # handover notice and a broken promise
        aging_row("K2", "d31_60", "999.00"),  # call-task notice
        aging_row("K3", "d1_30", "200.00"),  # only an email reminder: no person needed
        aging_row("K4", "d61_90", "99.00"),  # dispute open 20 days
        aging_row("K5", "d121_plus", "40.00"),  # small and only very old: write off
        aging_row("K6", "d91_120", "10000.00"),  # old and large: escalate
        aging_row("K7", "not_due", "12000.00"),  # over its 10,000 credit limit
        aging_row("K8", "d1_30", "99.00"),  # dunning leaves items to a person
        aging_row("K9", "d1_30", "99.00"),  # unapplied cash to clarify
        aging_row("K10", "d31_60", "1110.00", "USD", "3000"),  # call task, USD at 0.9 = 999.00 EUR
        aging_row("K11", "d1_30", "500.00"),  # dispute only 5 days old: not yet
    ]
)

NOTICES = pd.DataFrame(
    {
        "notice_id": ["N1", "N2", "N3", "N10"],
        "company_code": ["1000", "1000", "1000", "3000"],
        "customer_id": ["K1", "K2", "K3", "K10"],
        "currency": ["EUR", "EUR", "EUR", "USD"],
        "level": [4, 3, 1, 3],
        "overdue_amount": cents("9999.00", "999.00", "200.00", "1110.00"),
        "fees": cents("40.00", "5.00", "0.00", "5.00"),
        "interest": cents("0.00", "0.00", "0.00", "0.00"),
        "action": ["handover", "call_task", "email", "call_task"],
        "policy": ["STANDARD"] * 4,
    }
)
SKIPPED = pd.DataFrame(
    {
        "company_code": ["1000", "1000", "1000", "1000"],
        "document_no": ["X1", "X2", "X3", "X4"],
        "customer_id": ["K8", "K8", "K8", "K4"],
        "reason": ["CUSTOMER_BLOCK", "CUSTOMER_BLOCK", "CREDIT_BALANCE", "DISPUTE"],  # a dispute has its own rule
    }
)
BROKEN = pd.DataFrame(
    {
        "promise_id": ["P1"],
        "company_code": ["1000"],
        "customer_id": ["K1"],
        "document_no": ["INV-9"],
        "promised_amount": cents("500.00"),
        "promised_date": pd.to_datetime(["2026-10-20"]),
    }
)
DISPUTES = pd.DataFrame(
    {
        "dispute_id": ["D4", "D11"],
        "company_code": ["1000", "1000"],
        "document_no": ["INV-4", "INV-11"],
        "customer_id": ["K4", "K11"],
        "reason_code": ["PRICING", "QUALITY"],
        "amount": cents("99.00", "500.00"),
        "status": ["OPEN", "OPEN"],
        "opened_on": pd.to_datetime(["2026-10-11", "2026-10-26"]),
        "resolved_on": pd.to_datetime([None, None]),
        "owner": ["Anna", "Anna"],
    }
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [f"K{i}" for i in range(1, 12)],
        "company_code": ["1000"] * 9 + ["3000", "1000"],
        "currency": ["EUR"] * 9 + ["USD", "EUR"],
        "credit_limit": pd.array([None] * 6 + [to_cents("10000.00")] + [None] * 4, dtype="Int64"),
        "collector": ["Anna", "Ben", "Ben", "Anna", "Cleo", "Cleo", "Ben", "Anna", "Anna", "Dan", None],
    }
)
UNAPPLIED = pd.DataFrame(
    {
        "payment_id": ["P9", "P0"],
        "company_code": ["1000", "1000"],
        "customer_id": ["K9", None],
        "remaining_amount": cents("120.00", "80.00"),
        "currency": ["EUR", "EUR"],
        "reason": ["NO_MATCH", "UNIDENTIFIED"],
    }
)
FX = pd.DataFrame({"currency": ["USD"], "rate_to_base": [Decimal("0.9")], "rate_date": pd.to_datetime(["2026-10-30"])})


def build(**overrides) -> pd.DataFrame:
    args = dict(
        aging=AGING,
        notices=NOTICES,
        skipped=SKIPPED,
        broken_promises=BROKEN,
        disputes=DISPUTES,
        customers=CUSTOMERS,
        unapplied=UNAPPLIED,
        as_of=AS_OF,
        config=ReportingConfig(),
        fx_rates=FX,
        base_currency="EUR",
    )
    args.update(overrides)
    return build_worklist(**args)


@pytest.fixture(scope="module")
def worklist() -> pd.DataFrame:
    return build()


def test_who_is_on_the_list_in_which_order(worklist) -> None:
    assert list(worklist.columns) == [
        "rank",
        "company_code",
        "customer_id",
        "collector",
        "priority",
        "overdue_amount",
        "reason",
        "next_action",
        "currencies",
        "overdue_native",
        "oldest_bucket",
        "disputed_amount",
        "over_limit_amount",
        "unapplied_amount",
        "broken_promise_amount",
        "summary",
        "kinds",
    ]
    # K3 (email reminder only) and K11 (dispute 5 days old, follow-up after 14) need nobody
    assert worklist[
        ["rank", "customer_id", "collector", "next_action", "priority", "overdue_amount"]
    ].values.tolist() == [
        [1, "K1", "Anna", "handover", 113.07, 999900],
        [2, "K6", "Cleo", "escalate", 76.07, 1000000],
        [3, "K10", "Dan", "call", 42.07, 99900],  # 1,110.00 USD x 0.9; ties with K2, customer id decides
        [4, "K2", "Ben", "call", 42.07, 99900],
        [5, "K4", "Anna", "resolve_dispute", 39.07, 9900],
        [6, "K8", "Anna", "call", 30.07, 9900],
        [7, "K9", "Anna", "call", 30.07, 9900],
        [8, "K7", "Ben", "escalate", 30.0, 0],
        [9, "K5", "Cleo", "write_off_candidate", 29.19, 4000],
    ]


def test_reasons_name_every_trigger_most_serious_first(worklist) -> None:
    reason = dict(zip(worklist["customer_id"], worklist["reason"]))
    assert reason["K1"] == (
        "dunning level 4 handover for 9,999.00 EUR overdue; "
        "broken promise P1 on INV-9: 500.00 EUR promised for 2026-10-20"
    )
    assert reason["K6"] == "10,000.00 EUR overdue, oldest 91+ days past due"
    assert reason["K4"] == "dispute D4 (PRICING) over 99.00 EUR open 20 days"
    assert reason["K7"] == "open balance 12,000.00 EUR above the credit limit of 10,000.00 EUR"
    assert reason["K8"] == "no reminder goes out for 3 overdue item(s): CREDIT_BALANCE 1, CUSTOMER_BLOCK 2"
    assert reason["K9"] == "unapplied cash 120.00 EUR (NO_MATCH) to clarify against the overdue items"
    assert reason["K5"] == "only 40.00 EUR overdue, all of it 121+ days past due"


def test_reasons_as_columns_and_a_short_sentence(worklist) -> None:
    """What a collector filters and sorts on: one value per kind of reason (base cents), the
    overdue amount as booked with its currency, the oldest bucket, and a sentence short enough
    to read in a column."""
    rows = worklist.set_index("customer_id")
    assert rows.loc["K1", "summary"] == "Dunning hands over; broken promise"
    assert rows.loc["K1", "broken_promise_amount"] == 50000
    assert rows.loc["K1", "oldest_bucket"] == "121+"
    assert rows.loc["K4", "disputed_amount"] == 9900 and rows.loc["K4", "summary"] == "Dispute open"
    assert rows.loc["K7", "over_limit_amount"] == 200000  # 12,000.00 open, limit 10,000.00
    assert pd.isna(rows.loc["K7", "oldest_bucket"]) and rows.loc["K7", "summary"] == "Over the credit limit"
    assert rows.loc["K9", "unapplied_amount"] == 12000
    # the USD customer: overdue in EUR for the ranking, and as booked in USD beside it
    assert rows.loc["K10", ["currencies", "overdue_native", "overdue_amount"]].tolist() == ["USD", 111000, 99900]
    assert rows.loc["K10", "summary"] == "Dunning asks for a call"
    assert worklist["summary"].str.len().max() <= 80


def test_a_converted_amount_follows_the_booked_one() -> None:
    """A USD customer's escalation reads in dollars first, euros after: never a dollar
    balance called euros."""
    aging = pd.DataFrame([aging_row("U1", "d121_plus", "20000.00", "USD", "3000")])
    customers = pd.DataFrame(
        {
            "customer_id": ["U1"],
            "company_code": ["3000"],
            "currency": ["USD"],
            "credit_limit": pd.array([to_cents("15000.00")], dtype="Int64"),
            "collector": ["Dan"],
        }
    )
    frame = build(aging=aging, customers=customers, notices=None, skipped=None, broken_promises=None, disputes=None)
    assert frame["reason"].tolist() == [
        "20,000.00 USD (18,000.00 EUR) overdue, oldest 121+ days past due; "
        "open balance 20,000.00 USD (18,000.00 EUR) above the credit limit of 15,000.00 USD (13,500.00 EUR)"
    ]
    assert frame["over_limit_amount"].tolist() == [450000]
    assert frame["summary"].tolist() == ["Large and old balance; over the credit limit"]


def test_priority_formula_by_hand() -> None:
    config = ReportingConfig()
    # 10 x log10(1 + 999) + 2 x 31 / 30 + 10 (call) = 30 + 2.0667 + 10
    assert priority_score(99900, 31, {"call"}, config) == 42.07
    # 10 x log10(1 + 9999) + 2 x 121 / 30 + 40 (handover) + 25 (broken promise)
    assert priority_score(999900, 121, {"handover", "chase_broken_promise"}, config) == 113.07
    # 10 x log10(41) + 2 x 121 / 30 + 5 = 16.128 + 8.067 + 5
    assert priority_score(4000, 121, {"write_off_candidate"}, config) == 29.19
    # a net credit scores no amount points
    assert priority_score(-5000, 0, {"escalate"}, config) == 30.0


def test_thresholds_are_inclusive() -> None:
    aging = pd.DataFrame(
        [
            aging_row("E1", "d91_120", "9999.99"),  # a cent short of escalation
            aging_row("E2", "d121_plus", "10000.00"),
            aging_row("E3", "d61_90", "20000.00"),  # large but not old enough
            aging_row("W1", "d121_plus", "50.00"),  # write-off at the limit
            aging_row("W2", "d121_plus", "50.01"),
            aging_row("W3", "d121_plus", "30.00") | {"d1_30": 1000, "total": 4000},  # also a young 10.00 overdue
        ]
    )
    frame = build_worklist(aging, None, None, None, None, None, None, AS_OF)
    assert dict(zip(frame["customer_id"], frame["next_action"])) == {"E2": "escalate", "W1": "write_off_candidate"}


def test_dispute_follow_up_edge() -> None:
    config = ReportingConfig(worklist=WorklistConfig(dispute_follow_up_days=5))
    frame = build(config=config)
    assert frame.set_index("customer_id").loc["K11", "next_action"] == "resolve_dispute"


def test_currency_without_rate_is_left_out_and_said() -> None:
    frame = build(fx_rates=None)
    k10 = frame.set_index("customer_id").loc["K10"]
    assert k10["overdue_amount"] == 0
    assert k10["reason"].endswith("amounts in USD left out: no FX rate on or before 2026-10-31")


def test_single_currency_mode_adds_amounts_as_they_are() -> None:
    frame = build(base_currency=None, fx_rates=None)
    assert frame.set_index("customer_id").loc["K10", "overdue_amount"] == 111000


def test_nothing_to_do_is_an_empty_list() -> None:
    frame = build_worklist(AGING.iloc[0:0], None, None, None, None, None, None, AS_OF)
    assert frame.empty and list(frame.columns)[0] == "rank"


def test_rerun_and_row_order_give_the_same_list(worklist) -> None:
    rng = np.random.default_rng(3)
    shuffle = lambda f: f.iloc[rng.permutation(len(f))]  # noqa: E731
    again = build(
        aging=shuffle(AGING),
        notices=shuffle(NOTICES),
        skipped=shuffle(SKIPPED),
        disputes=shuffle(DISPUTES),
        customers=shuffle(CUSTOMERS),
        unapplied=shuffle(UNAPPLIED),
    )
    pd.testing.assert_frame_equal(worklist, again)


# --- the report tables in the warehouse ------------------------------------------------------


def test_report_tables_rerun_gives_identical_rows(tmp_path: Path, worklist) -> None:
    """aging, kpis and collector_worklist written twice for one as_of (one transaction each
    time) leave one identical copy; another date's rows stay."""
    items = pd.DataFrame(
        {
            "company_code": ["1000", "1000", "3000"],
            "document_no": ["A", "B", "C"],
            "document_type": ["INV"] * 3,
            "customer_id": ["K1", "K2", "K10"],
            "document_date": pd.to_datetime(["2026-09-01"] * 3),
            "due_date": pd.to_datetime(["2026-10-01", "2026-11-30", "2026-10-01"]),
            "currency": ["EUR", "EUR", "USD"],
            "amount": pd.array([100001, 5000, 7777], dtype="Int64"),
            "open_amount": pd.array([100001, 5000, 7777], dtype="Int64"),
        }
    )
    engine = connect(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)

    def write(as_of: date, run_id: str) -> None:
        aging = add_base_totals(age_open_items(items, as_of), FX, "EUR", as_of).aging
        kpis = compute_kpis(items, as_of, fx_rates=FX, base_currency="EUR")
        with engine.begin() as conn:
            replace_for_as_of(conn, "aging", as_of, aging, run_id)
            replace_for_as_of(conn, "kpis", as_of, kpis, run_id)
            replace_for_as_of(conn, "collector_worklist", as_of, worklist, run_id)

    keys = {
        "aging": ["company_code", "customer_id", "currency"],
        "kpis": ["company_code", "kpi"],
        "collector_worklist": ["rank"],
    }

    def rows(table: str, as_of: date) -> pd.DataFrame:
        return read_table(engine, table, as_of).drop(columns="run_id").sort_values(keys[table]).reset_index(drop=True)

    write(date(2026, 10, 30), "run-0")
    write(AS_OF, "run-1")
    first = {t: rows(t, AS_OF) for t in ("aging", "kpis", "collector_worklist")}
    write(AS_OF, "run-2")
    for table, before in first.items():
        after = rows(table, AS_OF)
        pd.testing.assert_frame_equal(before, after)
        assert set(read_table(engine, table)["run_id"]) == {"run-0", "run-2"}
    aging = first["aging"].set_index("customer_id")
    assert aging.loc["K1", "d1_30"] == Decimal("1000.01")
    assert aging.loc["K10", "total_base"] == Decimal("69.99")  # 77.77 USD x 0.9 = 69.993
    kpi = first["kpis"].set_index(["company_code", "kpi"])["value"]
    assert kpi["ALL", "ar_total"] == Decimal("1120.00")  # 1000.01 + 50.00 + 69.99
    assert first["collector_worklist"]["overdue_amount"].iloc[0] == Decimal("9999.00")
    engine.dispose()


def test_a_reminder_that_cannot_be_emailed_puts_the_customer_on_the_list() -> None:
    """K3's level-1 email needs no person, unless its address is unusable: then the letter is
    never built and a collector has to call and correct the master data."""
    reachable = CUSTOMERS.assign(email=["ap@k.example"] * len(CUSTOMERS))
    assert "K3" not in set(build(customers=reachable)["customer_id"])
    unreachable = reachable.assign(email=["ap@k.example", "ap@k.example", ""] + ["ap@k.example"] * 8)
    (k3,) = build(customers=unreachable).query("customer_id == 'K3'").to_dict("records")
    assert k3["next_action"] == "call"
    assert k3["reason"] == (
        "reminder level 1 not sent: Customer K3 has no email address; call and correct the master data"
    )
