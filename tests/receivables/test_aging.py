"""Aging: every bucket edge by hand, grouping, base-currency totals, and the reporting config."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from receivables.aging import (
    DEFAULT_BUCKETS,
    AgingConfig,
    Bucket,
    add_base_totals,
    age_open_items,
    aging_from_warehouse,
    overdue_cents,
    rates_on,
)
from receivables.errors import ConfigError
from receivables.reporting_config import ReportingConfig, load_reporting_config

AS_OF = date(2026, 10, 31)
BUCKETS = ["not_due", "d1_30", "d31_60", "d61_90", "d91_120", "d121_plus"]


def items(rows: list[tuple]) -> pd.DataFrame:
    """(company, customer, currency, days past due, open amount in cents[, document type])"""
    frame = pd.DataFrame(
        {
            "company_code": [r[0] for r in rows],
            "document_no": [f"D{i}" for i in range(len(rows))],
            "document_type": [r[5] if len(r) > 5 else "INV" for r in rows],
            "customer_id": [r[1] for r in rows],
            "document_date": pd.to_datetime([AS_OF - timedelta(days=r[3] + 30) for r in rows]),
            "due_date": pd.to_datetime([AS_OF - timedelta(days=r[3]) for r in rows]),
            "currency": [r[2] for r in rows],
            "amount": pd.array([abs(r[4]) if r[4] is not None else 0 for r in rows], dtype="Int64"),
            "open_amount": pd.array([r[4] for r in rows], dtype="Int64"),
        }
    )
    return frame


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-30, "not_due"),
        (-1, "not_due"),
        (0, "not_due"),  # due today is not yet overdue
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d91_120"),
        (120, "d91_120"),
        (121, "d121_plus"),
        (4000, "d121_plus"),
    ],
)
def test_every_bucket_edge(days: int, bucket: str) -> None:
    aging = age_open_items(items([("1000", "C1", "EUR", days, 12345)]), AS_OF)
    row = aging.iloc[0]
    assert {b: int(row[b]) for b in BUCKETS} == {b: (12345 if b == bucket else 0) for b in BUCKETS}
    assert row["total"] == 12345


def test_sums_per_company_customer_and_currency() -> None:
    frame = items(
        [
            ("1000", "C1", "EUR", 0, 100000),
            ("1000", "C1", "EUR", 15, 2550),
            ("1000", "C1", "EUR", 20, -1000, "CRN"),  # a credit note is aged by its own due date
            ("1000", "C1", "USD", 45, 700),  # another currency: its own row
            ("2000", "C1", "EUR", 200, 999),  # another company code: its own row
            ("1000", "C2", "EUR", 95, 1),
            ("1000", "C2", "EUR", 95, 0),  # settled by cash application: ignored
            ("1000", "C3", "EUR", 10, 0),  # nothing open: no row at all
        ]
    )
    aging = age_open_items(frame, AS_OF)
    assert aging[["company_code", "customer_id", "currency", *BUCKETS, "total"]].values.tolist() == [
        ["1000", "C1", "EUR", 100000, 1550, 0, 0, 0, 0, 101550],
        ["1000", "C1", "USD", 0, 0, 700, 0, 0, 0, 700],
        ["1000", "C2", "EUR", 0, 0, 0, 0, 1, 0, 1],
        ["2000", "C1", "EUR", 0, 0, 0, 0, 0, 999, 999],
    ]
    assert all(aging[c].dtype == "int64" for c in BUCKETS + ["total"])
    assert overdue_cents(aging).tolist() == [1550, 700, 1, 999]


def test_missing_due_date_ages_from_the_document_date() -> None:
    frame = items([("1000", "C1", "EUR", 0, 500)])
    frame["due_date"] = pd.NaT
    frame["document_date"] = pd.Timestamp(AS_OF - timedelta(days=40))
    assert age_open_items(frame, AS_OF).iloc[0]["d31_60"] == 500


def test_configured_edges() -> None:
    # a 5-day grace before "overdue", and 1-35 as the first overdue bucket
    edges = [5, 35, 60, 90, 120, None]
    config = AgingConfig(buckets=tuple(Bucket(column=b, label=b, max_days=e) for b, e in zip(BUCKETS, edges)))
    aging = age_open_items(
        items(
            [("1", "C", "EUR", 5, 1), ("1", "C", "EUR", 6, 10), ("1", "C", "EUR", 35, 100), ("1", "C", "EUR", 36, 1000)]
        ),
        AS_OF,
        config,
    )
    assert aging[BUCKETS].values.tolist() == [[1, 110, 1000, 0, 0, 0]]


def test_empty_and_all_settled() -> None:
    assert age_open_items(items([]), AS_OF).columns.tolist() == [
        "company_code",
        "customer_id",
        "currency",
        *BUCKETS,
        "total",
    ]
    assert age_open_items(items([("1000", "C1", "EUR", 3, 0)]), AS_OF).empty


def test_rerun_and_row_order_give_identical_frames() -> None:
    rng = np.random.default_rng(1)
    rows = [
        (
            str(rng.choice(["1000", "2000"])),
            f"C{rng.integers(5)}",
            str(rng.choice(["EUR", "USD"])),
            int(rng.integers(-20, 200)),
            int(rng.integers(-5000, 90000)),
        )
        for _ in range(300)
    ]
    frame = items(rows)
    first = age_open_items(frame, AS_OF)
    pd.testing.assert_frame_equal(first, age_open_items(frame, AS_OF))
    pd.testing.assert_frame_equal(first, age_open_items(frame.iloc[rng.permutation(len(frame))], AS_OF))
    assert first["total"].sum() == sum(r[4] for r in rows)


# --- base-currency totals ------------------------------------------------------------------------

FX = pd.DataFrame(
    {
        "currency": ["USD", "USD", "USD", "CHF"],
        "rate_to_base": [Decimal("0.8"), Decimal("0.9"), Decimal("0.5"), Decimal("1.05")],
        "rate_date": pd.to_datetime(["2026-09-30", "2026-10-30", "2026-11-01", "2026-10-31"]),
    }
)


def test_rates_latest_on_or_before_as_of() -> None:
    assert rates_on(FX, "EUR", AS_OF) == {"USD": Decimal("0.9"), "CHF": Decimal("1.05"), "EUR": Decimal(1)}
    assert rates_on(FX, "EUR", date(2026, 10, 29)) == {"USD": Decimal("0.8"), "EUR": Decimal(1)}
    assert rates_on(None, "EUR", AS_OF) == {"EUR": Decimal(1)}


def test_total_base_rounded_half_up_and_missing_rate_reported() -> None:
    aging = age_open_items(
        items(
            [
                ("1000", "C1", "USD", 0, 105),  # 1.05 x 0.9 = 0.945 -> 0.95 (half-up, not banker's 0.94)
                ("1000", "C2", "USD", 0, -105),  # -0.945 -> -0.95: away from zero, like an invoice
                ("1000", "C3", "USD", 0, 101),  # 0.909 -> 0.91
                ("1000", "C4", "EUR", 10, 123456),  # base currency: as it is
                ("1000", "C5", "GBP", 10, 5000),  # no rate: NA, and said so
                ("1000", "C6", "CHF", 10, 1000),  # a rate dated on as_of counts
            ]
        ),
        AS_OF,
    )
    result = add_base_totals(aging, FX, "EUR", AS_OF)
    got = dict(zip(result.aging["customer_id"], result.aging["total_base"]))
    assert got["C1"] == 95 and got["C2"] == -95 and got["C3"] == 91 and got["C4"] == 123456 and got["C6"] == 1050
    assert got["C5"] is pd.NA
    assert result.aging["total_base"].dtype == "Int64"
    assert result.missing_currencies == ["GBP"]
    aging_frame, missing = result  # unpacks like a tuple
    assert missing == ["GBP"]


def test_aging_from_warehouse_back_to_cents() -> None:
    rows = pd.DataFrame(
        {
            "company_code": ["1000"],
            "customer_id": ["C1"],
            "currency": ["EUR"],
            **{b: [Decimal("0.00")] for b in BUCKETS},
            "total": [Decimal("1234.56")],
            "total_base": [None],
        }
    )
    back = aging_from_warehouse(rows)
    assert back["total"].tolist() == [123456]
    assert back["total_base"].isna().all()


# --- configuration -------------------------------------------------------------------------------


def test_shipped_config_is_the_default() -> None:
    assert load_reporting_config() == ReportingConfig()
    assert ReportingConfig().aging.buckets == DEFAULT_BUCKETS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reporting.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "aging:\n  buckets:\n    - {column: not_due, label: x, max_days: 0}\n",
            "the bucket columns must be not_due, d1_30",
        ),
        (
            "aging:\n  buckets:\n"
            + "".join(
                f"    - {{column: {b}, label: x, max_days: {e}}}\n"
                for b, e in zip(BUCKETS, [0, 30, 30, 90, 120, "null"])
            ),
            "max_days must increase",
        ),
        (
            "aging:\n  buckets:\n"
            + "".join(
                f"    - {{column: {b}, label: x, max_days: {e}}}\n" for b, e in zip(BUCKETS, [0, 30, 60, 90, 120, 150])
            ),
            "only the last bucket has no max_days",
        ),
        ("kpis:\n  dso_period_days: 0\n", "kpis.dso_period_days: Input should be greater than or equal to 1"),
        ("kpis:\n  age_bands: [60, 30]\n", "kpis.age_bands: must be a non-empty list of increasing"),
        (
            "worklist:\n  write_off:\n    max_amount: '50.001'\n",
            "worklist.write_off.max_amount: must be an amount >= 0 with at most 2 decimals",
        ),
        (
            "worklist:\n  escalate:\n    min_days_past_due: 100\n",
            "worklist.escalate.min_days_past_due is 100, "
            "but must be where an overdue bucket starts: [1, 31, 61, 91, 121]",
        ),
        ("worklist:\n  weights: 3\n", "worklist.weights: Extra inputs are not permitted"),
        ("- 1\n- 2\n", "must hold a mapping"),
        ("aging: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_config_is_one_readable_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_reporting_config(write(tmp_path, text))
    assert message in str(err.value)
    assert str(err.value).startswith(f"Reporting config file {tmp_path / 'reporting.yaml'}")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_reporting_config(tmp_path / "nope.yaml")
