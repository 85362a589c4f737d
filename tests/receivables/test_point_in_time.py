"""The shipped extraction queries are point in time: a rerun of an earlier date against the ERP
database reads that date's ledger, whatever was posted, cleared or paid since (SPEC "Reruns
and replay"), on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from receivables import pipeline
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.settings import load_settings
from tests.conftest import VALID_SET
from tests.erp import CLEARINGS, DISPUTES, DOCUMENTS, PAYMENTS, PROMISES, create_all, create_erp, engine_for, insert

T = date(2026, 10, 31)
LATER = date(2026, 11, 5)
CANONICAL = load_mapping("canonical")

#: the report tables a rerun must reproduce, compared without their run ids
REPORT_TABLES = ("aging", "kpis", "collector_worklist", "cash_applications", "unapplied_cash")


def report_rows(db_url: str, as_of: date, tables: tuple[str, ...] = REPORT_TABLES) -> dict[str, list[tuple]]:
    """Every row of ``tables`` for ``as_of``, sorted, without run_id and surrogate ids."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            found = {}
            for table in tables:
                frame = pd.read_sql(sa.text(f"SELECT * FROM {table} WHERE as_of = :d"), conn, params={"d": as_of})
                frame = frame.drop(columns=[c for c in ("run_id", "id") if c in frame.columns])
                found[table] = sorted(map(tuple, frame.astype(str).to_numpy().tolist()))
            return found
    finally:
        engine.dispose()


def erp_on_the_night(url: str) -> None:
    """VALID_SET as the ERP held it on T, plus an invoice cleared in August (paid by P0000000)
    and one dated on T-1 but posted only on 2 November."""
    create_erp(url, VALID_SET)
    create_all(url)
    engine = engine_for(url)
    with engine.begin() as conn:
        insert(conn, DOCUMENTS, [_invoice("9000012300", "2026-07-01", "2026-07-01", "500.00")])
        insert(conn, PAYMENTS, [_payment("P0000000", "2026-08-05", "500.00", "1000")])
        insert(conn, CLEARINGS, [_clearing("1000", "9000012300", "2026-08-05", "500.00", "P0000000")])
        insert(conn, DOCUMENTS, [_invoice("9000012400", "2026-10-30", "2026-11-02", "300.00")])
    engine.dispose()


def post_after_the_night(url: str) -> None:
    """What the ERP records in the days after T, all dated after T."""
    engine = engine_for(url)
    with engine.begin() as conn:
        insert(
            conn,
            CLEARINGS,
            [
                _clearing("1000", "9000012345", "2026-11-03", "1190.00", "P0000001"),  # paid in full
                _clearing("3000", "INV-000123", "2026-11-04", "500.00", "P0000003"),  # paid in part
            ],
        )
        insert(conn, PAYMENTS, [_payment("P0000004", "2026-11-04", "1000.00", "2000", customer="C002")])
        conn.execute(DISPUTES.update().where(DISPUTES.c.dispute_id == "D001").values(resolved_on=date(2026, 11, 4)))
        insert(conn, DISPUTES, [_dispute("D002", "2026-11-02")])
        insert(
            conn,
            PROMISES,
            [
                {
                    "promise_id": "PR1",
                    "company_code": "1000",
                    "customer_id": "C001",
                    "document_no": "9000012346",
                    "promised_amount": "1380.50",
                    "promised_date": "2026-11-10",
                    "created_on": "2026-11-01",
                }
            ],
        )
    engine.dispose()


def _invoice(number: str, document_date: str, posting_date: str, amount: str) -> dict:
    return {
        "company_code": "1000",
        "document_no": number,
        "document_type": "INV",
        "customer_id": "C001",
        "document_date": document_date,
        "posting_date": posting_date,
        "due_date": document_date,
        "currency": "EUR",
        "amount": amount,
        "dunning_block": "false",
    }


def _payment(payment_id: str, value_date: str, amount: str, company: str, customer: str = "C001") -> dict:
    return {
        "payment_id": payment_id,
        "company_code": company,
        "value_date": value_date,
        "amount": amount,
        "currency": "EUR",
        "customer_id": customer,
        "payer_name": "SOME PAYER",
        "remittance_info": "payment",
        "bank_reference": f"BR-{payment_id}",
    }


def _clearing(company: str, document_no: str, on: str, amount: str, payment_id: str | None) -> dict:
    return {
        "company_code": company,
        "document_no": document_no,
        "clearing_date": on,
        "cleared_amount": amount,
        "payment_id": payment_id,
        "clearing_doc": f"CL-{document_no}",
    }


def _dispute(dispute_id: str, opened_on: str) -> dict:
    return {
        "dispute_id": dispute_id,
        "company_code": "1000",
        "document_no": "9000012346",
        "customer_id": "C001",
        "reason_code": "PRICING",
        "amount": "100.00",
        "opened_on": opened_on,
        "owner": "Anna Schmidt",
    }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp_url(request, tmp_path: Path) -> str:
    """An ERP database as it was on the night of T, as a ``sql+`` source."""
    url = f"sqlite:///{tmp_path / 'erp.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    erp_on_the_night(url)
    return f"sql+{url}"


def test_the_queries_read_the_ledger_as_it_was_on_the_date(erp_url: str) -> None:
    first = read_extract_set(erp_url, CANONICAL, as_of=T)
    assert first.row_errors.empty, first.row_errors
    post_after_the_night(erp_url.removeprefix("sql+"))
    again = read_extract_set(erp_url, CANONICAL, as_of=T)

    # the same bytes, hence the same sha256 in the run log, and the same frames
    assert again.input_hashes() == first.input_hashes()
    for name, frame in first.frames.items():
        pd.testing.assert_frame_equal(again.frames[name], frame, check_dtype=False)
    items = first.frames["open_items"].set_index("document_no")
    assert set(items.index) == {
        "9000012345",
        "9000012346",
        "9000012399",
        "F-2026-000123",
        "INV-000123",
        "INV-000124",
    }  # 9000012300 was cleared in August, 9000012400 not posted yet
    assert items.loc["9000012346", "open_amount"] == 138050 and items.loc["INV-000123", "open_amount"] == 1500000
    assert sorted(first.frames["payments"]["payment_id"]) == ["P0000001", "P0000002", "P0000003"]
    cleared = first.frames["cleared_items"].set_index("document_no")
    assert list(cleared.index) == ["9000012300"] and cleared.loc["9000012300", "clearing_date"] == pd.Timestamp(
        "2026-08-05"
    )
    disputes = first.frames["disputes"].set_index("dispute_id")
    assert list(disputes.index) == ["D001"] and disputes.loc["D001", "status"] == "OPEN"
    assert pd.isna(disputes.loc["D001", "resolved_on"]) and first.frames["promises"].empty


def test_a_later_date_sees_what_was_posted_since(erp_url: str) -> None:
    post_after_the_night(erp_url.removeprefix("sql+"))
    later = read_extract_set(erp_url, CANONICAL, as_of=LATER)
    assert later.row_errors.empty, later.row_errors
    items = later.frames["open_items"].set_index("document_no")
    assert "9000012345" not in items.index  # cleared on 3 November
    assert items.loc["INV-000123", "open_amount"] == 1450000  # 500.00 of it paid on 4 November
    assert items.loc["9000012400", "open_amount"] == 30000  # posted on 2 November
    payments = later.frames["payments"].set_index("payment_id")
    assert sorted(payments.index) == ["P0000002", "P0000004"]  # P0000001 and P0000003 applied in the ERP
    cleared = later.frames["cleared_items"].set_index("document_no")
    assert cleared.loc["9000012345", "clearing_date"] == pd.Timestamp("2026-11-03")
    disputes = later.frames["disputes"].set_index("dispute_id")
    assert disputes.loc["D001", "status"] == "RESOLVED" and disputes.loc["D001", "resolved_on"] == pd.Timestamp(
        "2026-11-04"
    )
    assert disputes.loc["D002", "status"] == "OPEN"
    assert list(later.frames["promises"]["promise_id"]) == ["PR1"]


def test_a_payment_applied_in_part_shows_what_was_left_on_the_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    erp_on_the_night(url)
    engine = engine_for(url)
    with engine.begin() as conn:
        insert(conn, PAYMENTS, [_payment("P0000005", "2026-10-20", "2000.00", "1000")])
        insert(conn, CLEARINGS, [_clearing("1000", "9000012345", "2026-10-25", "1190.00", "P0000005")])
    engine.dispose()
    payments = read_extract_set(f"sql+{url}", CANONICAL, as_of=T).frames["payments"].set_index("payment_id")
    assert payments.loc["P0000005", "amount"] == 81000
    items = read_extract_set(f"sql+{url}", CANONICAL, as_of=T).frames["open_items"]
    assert "9000012345" not in set(items["document_no"])


@pytest.mark.postgres
def test_a_month_end_rerun_from_postgresql_reproduces_the_nights_report_rows(tmp_path: Path, pg_url: str) -> None:
    erp_on_the_night(pg_url)
    source = f"sql+{pg_url}"
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        archive_dir=tmp_path / "archive",
        outbox_dir=tmp_path / "outbox",
        reports_dir=tmp_path / "reports",
        mail_mode="preview",
        render_workers=1,
    )
    night = pipeline.run_nightly(source, T, settings)
    rows = report_rows(settings.db_url, T)
    assert rows["aging"] and rows["kpis"] and rows["cash_applications"]

    post_after_the_night(pg_url)
    rerun = pipeline.run_nightly(source, T, settings)
    assert rerun["input_hashes"] == night["input_hashes"]
    assert report_rows(settings.db_url, T) == rows

    pipeline.run_nightly(source, LATER, settings)
    later = report_rows(settings.db_url, LATER)
    applied = {r[0] for r in _rows(settings.db_url, "SELECT payment_id FROM cash_applications WHERE as_of = :d")}
    unapplied = {r[0] for r in _rows(settings.db_url, "SELECT payment_id FROM unapplied_cash WHERE as_of = :d")}
    assert "P0000001" not in applied | unapplied and "P0000004" in applied | unapplied
    ((total,),) = _rows(settings.db_url, "SELECT total FROM aging WHERE as_of = :d AND company_code = '3000'")
    assert Decimal(str(total)) == Decimal("21750.75")  # 14,500.00 left of INV-000123 + INV-000124
    assert later != rows

    # and once a later date exists, the close of T still gives T's rows
    pipeline.run_nightly(source, T, settings, reminders=False)
    assert report_rows(settings.db_url, T) == rows


def _rows(db_url: str, sql: str, as_of: date = LATER) -> list[tuple]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), {"d": as_of}).all()]
    finally:
        engine.dispose()
