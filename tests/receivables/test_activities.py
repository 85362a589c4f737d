"""The contact log (``activities``): its suite, its PROMISE outcomes as promises to pay in the
one promise lifecycle, its warehouse table and migration, its query and its synthetic rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from receivables import pipeline
from receivables.dunning import promise_book, promises_from_activities, propose_dunning
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.settings import load_settings
from receivables.synthetic import generate_extract_set
from receivables.validation import validate_extract_set
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.database import MIGRATIONS, read_table
from tests.conftest import VALID_AS_OF, VALID_SET, warehouse_rows, write_set
from tests.erp import create_erp
from tests.receivables.test_dunning import AS_OF, POLICIES, customers, frame, item, items, promise, promises, reasons

T = date.fromisoformat(VALID_AS_OF)
HEADER = (
    "activity_id,company_code,customer_id,collector,occurred_on,channel,outcome,"
    "promised_amount,promised_date,note,next_contact_on\n"
)


def _validated(tmp_path: Path, lines: str):
    files = dict(VALID_SET, **{"activities.csv": HEADER + lines})
    extracts = read_extract_set(str(write_set(tmp_path / "extracts", files)), load_mapping())
    return validate_extract_set(extracts, T)


# --- the suite -------------------------------------------------------------------------------


def test_the_suite_accepts_good_rows_and_quarantines_bad_ones_with_their_reasons(tmp_path: Path) -> None:
    validated = _validated(
        tmp_path,
        "A1,1000,C001,Anna Schmidt,2026-10-16,call,PROMISE,1380.50,2026-10-20,pays next week,2026-10-21\n"
        "A2,2000,C002,Lucía Gómez,2026-10-20,email,NO_ANSWER,,,,\n"
        "A3,1000,C001,Anna Schmidt,2026-10-21,fax,REACHED,,,,\n"  # row 4: no such channel
        "A4,1000,C001,Anna Schmidt,2026-10-22,call,PROMISE,500.00,,,\n"  # row 5: promise without a date
        "A5,1000,C404,Anna Schmidt,2026-10-22,call,REACHED,,,,\n"  # row 6: unknown customer
        "A6,3000,C003,John Miller,2026-11-02,meeting,REACHED,,,,\n"  # row 7: after as_of
        "A7,3000,C003,John Miller,2026-10-23,call,MAYBE,,,,\n"  # row 8: no such outcome
        "A8,3000,C003,John Miller,2026-10-23,call,PROMISE,0.00,2026-10-20,,\n",  # row 9
    )
    assert validated.counts["activities"] == {"read": 8, "accepted": 2, "quarantined": 6}
    assert list(validated.frames["activities"]["activity_id"]) == ["A1", "A2"]
    q = validated.quarantine[validated.quarantine["extract"] == "activities"]
    why = {(r.row_number, r.column): r.reason for r in q.itertuples()}
    assert why[(4, "channel")] == "channel must be call, email, letter, meeting or portal"
    assert why[(5, "promised_date")] == "a PROMISE needs the promised_date"
    assert why[(6, "customer_id")] == "customer C404 does not exist in the customers extract (orphan row)"
    assert why[(7, "occurred_on")] == "occurred_on is after the run date (as_of)"
    assert why[(8, "outcome")].startswith("outcome is not a known activity outcome")
    assert why[(9, "promised_amount")] == "promised_amount must be positive"
    assert why[(9, "promised_date+occurred_on")].startswith("promised_date is before occurred_on")
    assert set(q["file"]) == {"activities.csv"} and q["reason"].str.len().gt(0).all()


def test_a_duplicate_activity_id_quarantines_both_rows_and_a_set_without_a_log_is_fine(tmp_path: Path) -> None:
    validated = _validated(
        tmp_path,
        "A1,1000,C001,,2026-10-16,call,REACHED,,,,\nA1,1000,C001,,2026-10-17,call,NO_ANSWER,,,,\n",
    )
    assert validated.counts["activities"] == {"read": 2, "accepted": 0, "quarantined": 2}
    assert set(validated.quarantine["reason"]) == {"duplicate activity_id"}
    without = validate_extract_set(read_extract_set(str(write_set(tmp_path / "plain", VALID_SET)), load_mapping()), T)
    assert without.counts["activities"] == {"read": 0, "accepted": 0, "quarantined": 0}
    assert load_mapping("sap_fbl5n_de").format_for("activities").date_format == "%Y-%m-%d"


# --- one promise lifecycle -----------------------------------------------------------------------


def activity(aid: str, outcome: str = "PROMISE", *, amount: int | None, promised: int | None, occurred: int = -10):
    return {
        "activity_id": aid,
        "company_code": "1000",
        "customer_id": "C1",
        "collector": "Anna",
        "occurred_on": AS_OF + pd.Timedelta(days=occurred),
        "channel": "call",
        "outcome": outcome,
        "promised_amount": amount,
        "promised_date": None if promised is None else AS_OF + pd.Timedelta(days=promised),
        "note": None,
        "next_contact_on": None,
    }


def activities(*rows: dict) -> pd.DataFrame:
    return frame(
        list(rows),
        ("activity_id", "company_code", "customer_id", "collector", "channel", "outcome", "note"),
        ("promised_amount",),
        ("occurred_on", "promised_date", "next_contact_on"),
    )


def test_a_promise_outcome_becomes_a_whole_account_promise_made_on_the_day_of_the_contact() -> None:
    log = activities(
        activity("A1", amount=70_000, promised=-2, occurred=-12),
        activity("A2", "REACHED", amount=None, promised=None),
    )
    book = promises_from_activities(log)
    assert list(book.columns) == [
        "promise_id",
        "company_code",
        "customer_id",
        "document_no",
        "promised_amount",
        "promised_date",
        "created_on",
    ]
    row = book.iloc[0]
    assert len(book) == 1 and row["promise_id"] == "ACT-A1" and pd.isna(row["document_no"])
    assert (row["promised_amount"], row["promised_date"], row["created_on"]) == (
        70_000,
        AS_OF - pd.Timedelta(days=2),
        AS_OF - pd.Timedelta(days=12),
    )
    assert promises_from_activities(None).empty and promise_book(None, None) is None


def _dun(prom: pd.DataFrame | None = None, log: pd.DataFrame | None = None):
    rows = items(item("A", 50_000, dpd=30), item("B", 20_000, dpd=8), item("LATE", 10_000, dpd=1))
    return propose_dunning(rows, customers(), None, prom, None, POLICIES, AS_OF, activities=log)


def test_a_logged_promise_pauses_dunning_and_breaks_exactly_like_a_promise_row() -> None:
    # ahead (LATE falls due before the promised date too), or passed but within the 3 days of grace
    for promised, paused in ((5, {"A", "B", "LATE"}), (-2, {"A", "B"})):
        logged = _dun(log=activities(activity("A1", amount=70_000, promised=promised)))
        row = _dun(prom=promises(promise("P1", 70_000, doc=None, promised=promised)))
        assert reasons(logged) == reasons(row) == dict.fromkeys(paused, "PROMISE")
        assert logged.broken_promises.empty and logged.notices.empty
    # date + grace passed with nothing paid: broken, recorded, and dunning resumes
    logged = _dun(log=activities(activity("A1", amount=70_000, promised=-10)))
    row = _dun(prom=promises(promise("P1", 70_000, doc=None, promised=-10)))
    assert list(logged.broken_promises["promise_id"]) == ["ACT-A1"]
    pd.testing.assert_frame_equal(
        logged.broken_promises.drop(columns="promise_id"), row.broken_promises.drop(columns="promise_id")
    )
    pd.testing.assert_frame_equal(logged.items, row.items)
    # a contact that is not a promise pauses nothing
    assert reasons(_dun(log=activities(activity("A2", "REACHED", amount=None, promised=None)))) == reasons(_dun())


def test_a_promise_in_both_sources_counts_once_and_the_extract_row_wins() -> None:
    log = activities(activity("A1", amount=70_000, promised=-10), activity("A2", amount=100, promised=-10))
    prom = promises(promise("ACT-A1", 30_000, doc=None, promised=-10), promise("P9", 100, doc="A", promised=-10))
    book = promise_book(prom, log)
    assert sorted(book["promise_id"]) == ["ACT-A1", "ACT-A2", "P9"] and book.index.is_unique
    broken = _dun(prom=prom, log=log).broken_promises.set_index("promise_id")
    assert sorted(broken.index) == ["ACT-A1", "ACT-A2", "P9"]
    assert broken.loc["ACT-A1", "promised_amount"] == 30_000  # the extract's row, not the log's


# --- the warehouse ---------------------------------------------------------------------------------


def test_a_run_stores_the_log_and_its_broken_promise_and_a_rerun_replaces_them(workdir: Path, valid_set: Path) -> None:
    promise_line = "A1,1000,C001,Anna Schmidt,2026-10-16,call,PROMISE,1380.50,{date},pays on the 20th,\n"
    log = promise_line.format(date="2026-10-20") + "A2,2000,C002,Lucía Gómez,2026-10-20,email,NO_ANSWER,,,,\n"
    (valid_set / "activities.csv").write_text(HEADER + log, encoding="utf-8")
    first = pipeline.run_nightly(str(valid_set), T, load_settings(render_workers=1))["run_id"]
    rows = warehouse_rows(workdir, "SELECT activity_id, outcome, promised_amount, run_id FROM activities ORDER BY 1")
    assert [(r[0], r[1], r[3]) for r in rows] == [("A1", "PROMISE", first), ("A2", "NO_ANSWER", first)]
    assert Decimal(str(rows[0][2])) == Decimal("1380.50") and rows[1][2] is None
    # 1,380.50 of 9000012346 still open after the 20th + 3 days of grace: broken
    broken = warehouse_rows(workdir, "SELECT promise_id, covered_open_amount FROM broken_promises")
    assert [(r[0], Decimal(str(r[1]))) for r in broken] == [("ACT-A1", Decimal("1380.50"))]

    # the collector corrects the log: the promise is for 5 November, the email was never sent
    (valid_set / "activities.csv").write_text(HEADER + promise_line.format(date="2026-11-05"), encoding="utf-8")
    second = pipeline.run_nightly(str(valid_set), T, load_settings(render_workers=1))["run_id"]
    assert warehouse_rows(workdir, "SELECT activity_id, run_id FROM activities") == [("A1", second)]
    assert warehouse_rows(workdir, "SELECT promise_id FROM broken_promises") == []
    skips = warehouse_rows(workdir, "SELECT document_no, reason FROM dunning_skips WHERE customer_id = 'C001'")
    assert skips == [("9000012346", "PROMISE")]


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_migration_0009_adds_the_table_and_goes_back(warehouse_url: str) -> None:
    engine = connect(warehouse_url)
    migrate(engine)
    log = activities(
        activity("A1", amount=123456789012, promised=3), activity("A2", "REACHED", amount=None, promised=None)
    )
    with engine.begin() as conn:
        assert replace_for_as_of(conn, "activities", AS_OF.date(), log, "run-a") == 2
    stored = read_table(engine, "activities").sort_values("activity_id")
    assert stored["promised_amount"].iloc[0] == Decimal("1234567890.12") and pd.isna(stored["promised_amount"].iloc[1])
    assert list(stored["occurred_on"]) == [date(2026, 3, 21)] * 2
    _alembic(engine, "downgrade", "0008")
    assert "activities" not in sa.inspect(engine).get_table_names()
    _alembic(engine, "upgrade", "head")
    assert "activities" in sa.inspect(engine).get_table_names()
    engine.dispose()


# --- the SQL source and the synthetic set ----------------------------------------------------------


def test_the_query_reads_the_log_as_it_stood_on_as_of(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    create_erp(url, VALID_SET)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE erp_activities (activity_id TEXT, company_code TEXT, customer_id TEXT, collector TEXT, "
                "occurred_on DATE, channel TEXT, outcome TEXT, promised_amount NUMERIC(15, 2), promised_date DATE, "
                "note TEXT, next_contact_on DATE)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO erp_activities VALUES "
                "('A1', '1000', 'C001', 'Anna Schmidt', '2026-10-16', 'call', 'PROMISE', 1380.50, '2026-10-20', "
                "NULL, NULL), ('A9', '1000', 'C001', 'Anna Schmidt', '2026-11-02', 'call', 'REACHED', NULL, NULL, "
                "'after the night', NULL)"
            )
        )
    engine.dispose()
    frames = read_extract_set(f"sql+{url}", load_mapping(), as_of=T).frames
    log = frames["activities"]
    assert list(log["activity_id"]) == ["A1"] and log["promised_amount"].tolist() == [138050]


def test_a_generated_set_carries_a_valid_contact_log_with_promises(tmp_path: Path) -> None:
    generate_extract_set(tmp_path, customers=120, seed=4)
    validated = validate_extract_set(read_extract_set(str(tmp_path), load_mapping()), T)
    counts = validated.counts["activities"]
    assert counts["read"] > 10 and counts["quarantined"] == 0
    log = validated.frames["activities"]
    assert {"call", "email"} <= set(log["channel"]) and {"PROMISE", "NO_ANSWER", "REACHED"} <= set(log["outcome"])
    made = log[log["outcome"] == "PROMISE"]
    assert made["promised_amount"].gt(0).all() and (made["promised_date"] > made["occurred_on"]).all()
    assert log.loc[log["outcome"] != "PROMISE", "promised_amount"].isna().all()
    assert (log["next_contact_on"].dropna() >= log.loc[log["next_contact_on"].notna(), "occurred_on"]).all()
    book = promise_book(validated.frames["promises"], log)
    assert book["promise_id"].str.startswith("ACT-").sum() == len(made) and book["promise_id"].is_unique
