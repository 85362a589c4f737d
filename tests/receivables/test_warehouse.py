"""The warehouse on SQLite and on a real PostgreSQL: migrations, as_of replacement, money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from receivables.errors import ReceivablesError
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.database import money_sums, read_table
from receivables.warehouse.tables import metadata

SPEC_TABLES = {
    "run_log",
    "quarantine",
    "cash_applications",
    "unapplied_cash",
    "dunning_notices",
    "dunning_items",
    "email_outbox",
    "aging",
    "kpis",
    "collector_worklist",
}


def test_migrations_build_exactly_the_models(warehouse_url: str) -> None:
    engine = connect(warehouse_url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(sa.inspect(conn).get_table_names())
    assert diff == []
    assert SPEC_TABLES <= tables
    engine.dispose()


def test_rerun_replaces_only_its_as_of(warehouse_url: str) -> None:
    engine = connect(warehouse_url)
    migrate(engine)
    frame = lambda cents: pd.DataFrame(  # noqa: E731 - a tiny table builder
        {
            "company_code": ["1000"],
            "customer_id": ["C001"],
            "currency": ["EUR"],
            "not_due": [cents],
            "d1_30": [0],
            "d31_60": [0],
            "d61_90": [0],
            "d91_120": [0],
            "d121_plus": [1],
            "total": [cents + 1],
            "total_base": [cents + 1],
        }
    )
    with engine.begin() as conn:
        replace_for_as_of(conn, "aging", date(2026, 10, 30), frame(100), "run-a")
        replace_for_as_of(conn, "aging", date(2026, 10, 31), frame(123456789), "run-b")
    with engine.begin() as conn:
        replace_for_as_of(conn, "aging", date(2026, 10, 31), frame(123456790), "run-c")
    rows = read_table(engine, "aging").sort_values("as_of")
    assert list(rows["run_id"]) == ["run-a", "run-c"]
    assert list(rows["total"]) == [Decimal("1.01"), Decimal("1234567.91")]
    engine.dispose()


def test_bulk_write_keeps_every_kind_of_value_and_gap(warehouse_url: str) -> None:
    """The bulk paths (COPY on PostgreSQL, a driver executemany on SQLite) store what the
    frames hold: cents as exact amounts, pandas' missing values of every dtype as NULL."""
    engine = connect(warehouse_url)
    migrate(engine)
    items = pd.DataFrame(
        {
            "notice_id": pd.array(["N1", "N1", "N2"], dtype="string"),
            "company_code": ["1000", "1000", "2000"],
            "document_no": pd.array(["D1", "D2", "D3"], dtype="string"),
            "previous_level": [0, 1, 0],
            "level": [1, 2, 1],
            "days_past_due": [5, 40, 1],
            "open_amount": pd.array([123456789012, -1, 0], dtype="Int64"),
            "customer_id": ["C1", "C1", "C2"],
            "currency": ["EUR", "EUR", "USD"],
            "document_type": ["INV", "CRN", "INV"],
            "document_date": pd.to_datetime(["2026-08-01", None, "2026-09-30"]),
            "due_date": [pd.Timestamp("2026-08-31"), pd.NaT, pd.Timestamp("2026-10-30")],
            "reference": pd.array(["RF18 5390", pd.NA, "Ünïcode ‘quotes’"], dtype="string"),
            "amount": pd.array([123456789012, pd.NA, 5], dtype="Int64"),
            "interest": [0, 0, 7],
            "fee": [500, 0, 0],
        }
    )
    with engine.begin() as conn:
        assert replace_for_as_of(conn, "dunning_items", date(2026, 10, 31), items, "run-a") == 3
    rows = read_table(engine, "dunning_items").sort_values("document_no")
    assert list(rows["open_amount"]) == [Decimal("1234567890.12"), Decimal("-0.01"), Decimal("0.00")]
    assert [None if pd.isna(v) else v for v in rows["amount"]] == [Decimal("1234567890.12"), None, Decimal("0.05")]
    assert [None if pd.isna(v) else v for v in rows["reference"]] == ["RF18 5390", None, "Ünïcode ‘quotes’"]
    assert [None if pd.isna(v) else v for v in rows["document_date"]] == [date(2026, 8, 1), None, date(2026, 9, 30)]
    assert [None if pd.isna(v) else v for v in rows["due_date"]] == [date(2026, 8, 31), None, date(2026, 10, 30)]
    assert list(rows["fee"]) == [Decimal("5.00"), Decimal("0.00"), Decimal("0.00")] and list(rows["level"]) == [1, 2, 1]
    assert set(rows["as_of"]) == {date(2026, 10, 31)} and set(rows["run_id"]) == {"run-a"}
    engine.dispose()


def test_money_sums_are_exact_cents_per_group(warehouse_url: str) -> None:
    """The trend chart's history is summed by the database, to the cent, even where SQLite
    keeps the amounts as floating point (0.1 + 0.2 is not 0.3 there)."""
    engine = connect(warehouse_url)
    migrate(engine)

    def aging(customers: int, cents: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "company_code": "1000",
                "customer_id": [f"C{i}" for i in range(customers)],
                "currency": ["EUR", "USD"] * (customers // 2),
                "not_due": cents,
                "d1_30": 10,
                "d31_60": 20,
                "d61_90": 0,
                "d91_120": 0,
                "d121_plus": 123456789,
                "total": cents + 123456819,
            }
        )

    with engine.begin() as conn:
        replace_for_as_of(conn, "aging", date(2026, 10, 30), aging(1000, 1), "run-a")
        replace_for_as_of(conn, "aging", date(2026, 10, 31), aging(10, 3), "run-b")
    sums = money_sums(engine, "aging", ["as_of", "currency"], ["not_due", "d1_30", "d121_plus", "total"])
    assert sums.to_dict("records") == [
        {
            "as_of": date(2026, 10, 30),
            "currency": "EUR",
            "not_due": 500,
            "d1_30": 5000,
            "d121_plus": 61728394500,
            "total": 61728410000,
        },
        {
            "as_of": date(2026, 10, 30),
            "currency": "USD",
            "not_due": 500,
            "d1_30": 5000,
            "d121_plus": 61728394500,
            "total": 61728410000,
        },
        {
            "as_of": date(2026, 10, 31),
            "currency": "EUR",
            "not_due": 15,
            "d1_30": 50,
            "d121_plus": 617283945,
            "total": 617284110,
        },
        {
            "as_of": date(2026, 10, 31),
            "currency": "USD",
            "not_due": 15,
            "d1_30": 50,
            "d121_plus": 617283945,
            "total": 617284110,
        },
    ]
    engine.dispose()


def test_failed_write_leaves_the_previous_rows(warehouse_url: str) -> None:
    engine = connect(warehouse_url)
    migrate(engine)
    good = pd.DataFrame(
        {
            "extract": ["open_items"],
            "file": ["f"],
            "row_number": [2],
            "column": ["amount"],
            "value": ["x"],
            "reason": ["bad"],
        }
    )
    with engine.begin() as conn:
        replace_for_as_of(conn, "quarantine", date(2026, 10, 31), good, "run-a")
    broken = good.assign(reason=[None])  # NOT NULL violation half-way through the replacement
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            replace_for_as_of(conn, "quarantine", date(2026, 10, 31), broken, "run-b")
    rows = read_table(engine, "quarantine")
    assert list(rows["run_id"]) == ["run-a"]
    engine.dispose()


def test_unreachable_warehouse_is_one_paragraph() -> None:
    with pytest.raises(ReceivablesError) as err:
        connect("postgresql://ar:hunter2@127.0.0.1:1/warehouse")
    message = str(err.value)
    assert "cannot be reached" in message and "hunter2" not in message


@pytest.mark.postgres
def test_a_bare_postgresql_url_uses_psycopg_3(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLAlchemy 2.0 reads ``postgresql://`` as psycopg2, which is not installed; the URL a
    user writes in RECEIVABLES_DB_URL or --db must still reach PostgreSQL through psycopg 3."""
    from receivables.settings import load_settings

    bare = "postgresql://" + pg_url.split("://", 1)[1]
    monkeypatch.setenv("RECEIVABLES_DB_URL", bare)
    settings = load_settings()
    assert settings.db_url.startswith("postgresql+psycopg://")
    assert load_settings(db_url="postgres://" + pg_url.split("://", 1)[1]).db_url == settings.db_url
    for url in (bare, settings.db_url):
        engine = connect(url)
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        migrate(engine)
        engine.dispose()


def test_an_aging_read_back_in_cents_by_the_database_is_the_one_written(warehouse_url: str) -> None:
    """The month end the KPIs and the provision compare against is read with the cents
    computed by the database: every amount comes back as written, to the cent, on SQLite's
    floating-point storage too, and a missing base total stays missing."""
    import numpy as np

    from receivables.aging import TABLE_BUCKETS, aging_from_warehouse
    from receivables.warehouse.aging_history import aging_of, month_end_agings

    engine = connect(warehouse_url)
    migrate(engine)
    rng = np.random.default_rng(19)
    n = 2000
    amounts = {
        b: rng.choice([0, 1, 5, 10, 29, 99, -1, -15, 99_999_999_999], n) + rng.integers(-(10**9), 10**9, n)
        for b in TABLE_BUCKETS
    }
    written = pd.DataFrame(
        {
            "company_code": "1000",
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "currency": "EUR",
            **amounts,
            "total": sum(amounts.values()),
            "total_base": pd.array(
                [None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(-(10**12), 10**12, n))],
                dtype="Int64",
            ),
        }
    )
    day = date(2026, 10, 31)
    with engine.begin() as conn:
        replace_for_as_of(conn, "aging", day, written, "run-a")
    got = aging_of(engine, day).sort_values("customer_id", ignore_index=True)
    expected = aging_from_warehouse(read_table(engine, "aging", as_of=day)).sort_values(
        "customer_id", ignore_index=True
    )
    pd.testing.assert_frame_equal(got, expected)
    for name in [*TABLE_BUCKETS, "total", "total_base"]:
        assert got[name].tolist() == written[name].tolist(), name
    ((month_end, frame),) = month_end_agings(engine, date(2026, 11, 1), 1).items()
    assert month_end == day and frame["d121_plus"].tolist() == written["d121_plus"].tolist()


def test_earlier_applications_narrowed_to_some_documents_are_those_rows_of_the_whole(warehouse_url: str) -> None:
    """The payment plans read only the cash applied to their documents: the same rows, in
    the same order of nights, as the whole history filtered afterwards, over more documents
    than one query takes; suggestions and other dates stay out."""
    from receivables.warehouse.cash_history import DOCUMENTS_PER_QUERY, earlier_applications

    engine = connect(warehouse_url)
    migrate(engine)
    docs = [f"INV-{i:05d}" for i in range(2 * DOCUMENTS_PER_QUERY + 37)]

    def night(as_of: date, status: str, cents: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "payment_id": [f"P-{as_of:%m%d}-{i % 97}" for i in range(len(docs))],
                "company_code": ["1000", "2000"] * (len(docs) // 2) + ["1000"] * (len(docs) % 2),
                "document_no": docs,
                "customer_id": "C1",
                "applied_amount": [cents + i for i in range(len(docs))],
                "currency": "EUR",
                "rule": "exact",
                "confidence": 1.0,
                "status": status,
                "writeoff_amount": 0,
                "discount_amount": 0,
            }
        )

    with engine.begin() as conn:
        replace_for_as_of(conn, "cash_applications", date(2026, 3, 1), night(date(2026, 3, 1), "applied", 1), "r1")
        replace_for_as_of(conn, "cash_applications", date(2026, 3, 2), night(date(2026, 3, 2), "suggested", 5), "r2")
        replace_for_as_of(conn, "cash_applications", date(2026, 3, 3), night(date(2026, 3, 3), "applied", 10), "r3")
        replace_for_as_of(conn, "cash_applications", date(2026, 3, 9), night(date(2026, 3, 9), "applied", 7), "r4")
    wanted = set(docs[::3]) | {"INV-99999"}
    whole = earlier_applications(engine, date(2026, 3, 1), date(2026, 3, 9))
    narrowed = earlier_applications(engine, date(2026, 3, 1), date(2026, 3, 9), wanted)
    expected = whole[whole["document_no"].isin(wanted)].reset_index(drop=True)
    pd.testing.assert_frame_equal(narrowed, expected)
    assert len(narrowed) == 2 * len(docs[::3]) and narrowed["as_of"].is_monotonic_increasing
    assert narrowed["applied_amount"].sum() == sum(1 + i + 10 + i for i in range(0, len(docs), 3))
