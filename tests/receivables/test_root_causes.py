"""Root causes over time: a warehouse holding three months of driver and dispute rows, read
back per month, and the workbook's "Delinquency drivers" and "Root causes" sheets."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd

from receivables.delinquency import DRIVERS, delinquency_drivers
from receivables.root_causes import root_causes
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.workbook import write_report_workbook
from tests.receivables.test_delinquency import EXAMPLE, EXAMPLE_DISPUTES, EXAMPLE_FACTS, EXAMPLE_UNAPPLIED
from tests.receivables.workbook_data import delivery, inputs


def _drivers(amounts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [("1000", d, amounts.get(d, 0), 1, None, None) for d in DRIVERS],
        columns=["company_code", "driver", "amount", "count", "share", "avg_days_delinquent"],
    )


def _disputes(rows: list[tuple]) -> pd.DataFrame:
    cols = ["dispute_id", "company_code", "customer_id", "reason_code", "amount", "opened_on"]
    f = pd.DataFrame(rows, columns=cols)
    return f.assign(
        opened_on=pd.to_datetime(f["opened_on"]), age_days=0, target_date=pd.Timestamp("2027-01-01"),
        breached=False, escalation_level=0,
    )  # fmt: skip


def _warehouse(tmp_path: Path):
    engine = connect(f"sqlite:///{tmp_path / 'wh.db'}")
    migrate(engine)
    nights = {
        date(2026, 8, 15): {"disputed": 10_000, "plain_late": 50_000},
        date(2026, 8, 31): {"disputed": 20_000, "plain_late": 40_000},  # August's last run
        date(2026, 9, 30): {"disputed": 35_000, "plain_late": 30_000, "promised": 5_000},
        date(2026, 10, 20): {"disputed": 60_000, "plain_late": 25_000},  # October's last run so far
    }
    disputes = {
        date(2026, 8, 31): [("D1", "1000", "C1", "BILLING_ERROR", 10_000, "2026-08-03")],
        date(2026, 9, 30): [
            ("D1", "1000", "C1", "BILLING_ERROR", 12_000, "2026-08-03"),  # latest amount counts
            ("D2", "1000", "C2", "NO_POD", 20_000, "2026-09-10"),
        ],
        date(2026, 10, 20): [
            ("D2", "1000", "C2", "NO_POD", 20_000, "2026-09-10"),
            ("D3", "1000", "C3", "NO_POD", 7_000, "2026-10-02"),
            ("D4", "1000", "C1", "BILLING_ERROR", 3_000, "2026-10-05"),
        ],
    }
    with engine.begin() as conn:
        for night, amounts in nights.items():
            replace_for_as_of(conn, "delinquency_drivers", night, _drivers(amounts), "r")
        for night, rows in disputes.items():
            replace_for_as_of(conn, "dispute_status", night, _disputes(rows), "r")
    return engine


def test_three_months_of_history_per_month(tmp_path: Path) -> None:
    found = root_causes(_warehouse(tmp_path))
    assert found.months == ["2026-08", "2026-09", "2026-10"]
    assert found.month_ends == {"2026-08": "2026-08-31", "2026-09": "2026-09-30", "2026-10": "2026-10-20"}
    drivers = found.drivers.set_index("driver")
    assert drivers.loc["disputed"].tolist() == [20_000, 35_000, 60_000]
    assert drivers.loc["plain_late"].tolist() == [40_000, 30_000, 25_000]
    assert drivers.loc["promised"].tolist() == [0, 5_000, 0]
    disputes = found.disputes.set_index(["reason_code", "measure"])
    assert disputes.loc[("BILLING_ERROR", "opened")].tolist() == [1, 0, 1]
    assert disputes.loc[("BILLING_ERROR", "amount")].tolist() == [12_000, 0, 3_000]
    assert disputes.loc[("NO_POD", "opened")].tolist() == [0, 1, 1]
    assert disputes.loc[("NO_POD", "amount")].tolist() == [0, 20_000, 7_000]


def test_tonight_replaces_its_stored_rows(tmp_path: Path) -> None:
    tonight = _drivers({"disputed": 1_000})
    found = root_causes(_warehouse(tmp_path), date(2026, 10, 31), tonight)
    assert found.month_ends["2026-10"] == "2026-10-31"
    assert found.drivers.set_index("driver").loc["disputed", "2026-10"] == 1_000


def test_sheets_show_drivers_and_months(tmp_path: Path) -> None:
    drivers = delinquency_drivers(
        EXAMPLE, date(2026, 10, 31), disputes=EXAMPLE_DISPUTES, unapplied=EXAMPLE_UNAPPLIED, facts=EXAMPLE_FACTS
    )
    history = root_causes(_warehouse(tmp_path))
    path = write_report_workbook(tmp_path / "book.xlsx", inputs(drivers=drivers, root_causes=history), delivery())
    book = openpyxl.load_workbook(path)
    names = book.sheetnames
    assert names.index("Delinquency drivers") == names.index("Aging") + 1
    rows = list(book["Delinquency drivers"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Company code", "Driver", "Overdue amount (EUR)")
    assert ("1000", "Disputed", 400.0) == rows[1][:3]
    assert sum(r[2] for r in rows[1:]) == float(Decimal("2050.00"))
    causes = list(book["Root causes"].iter_rows(values_only=True))
    assert "2026-08: 2026-08-31, 2026-09: 2026-09-30, 2026-10: 2026-10-20" in causes[1][0]
    assert causes[3][:5] == ("Root cause", "Kind", "2026-08 (EUR)", "2026-09 (EUR)", "2026-10 (EUR)")
    assert causes[4][:5] == ("Disputed", "Overdue", 200.0, 350.0, 600.0)
    no_pod = next(r for r in causes if r[0] == "NO_POD")
    assert no_pod[1:] == ("Disputes opened", 0, 200.0, 70.0, 0, 1, 1)
    with zipfile.ZipFile(path) as z:  # one native chart per sheet
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 2


def test_a_night_publishes_drivers_that_add_up_to_ar_overdue(workdir: Path, valid_set: Path) -> None:
    from receivables import pipeline
    from receivables.settings import load_settings
    from tests.conftest import VALID_AS_OF

    settings = load_settings(mail_mode="preview")
    pipeline.run_nightly(str(valid_set), pd.Timestamp(VALID_AS_OF).date(), settings)
    engine = pipeline.warehouse_engine(settings.db_url)
    drivers = pd.read_sql("SELECT company_code, driver, amount FROM delinquency_drivers", engine)
    overdue = pd.read_sql("SELECT company_code, value FROM kpis WHERE kpi = 'ar_overdue'", engine)
    assert not drivers.empty
    for company, value in overdue.loc[overdue["company_code"] != "ALL"].itertuples(index=False):
        split = drivers.loc[drivers["company_code"] == company, "amount"]
        assert round(Decimal(str(split.sum())), 2) == round(Decimal(str(value)), 2)
    book = openpyxl.load_workbook(next((workdir).rglob("receivables-*.xlsx")), read_only=True)
    assert {"Delinquency drivers", "Root causes"} <= set(book.sheetnames)
