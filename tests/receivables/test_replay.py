"""Finding and checking an archived run for ``receivables replay``, and replaying it through
the library: the same input, byte for byte, gives the same report rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from receivables import pipeline
from receivables.archive import MANIFEST
from receivables.errors import ConfigError, InputRejected
from receivables.replay import ReplayRefused, find_archived_run, prepare_replay
from receivables.settings import load_settings
from tests.conftest import VALID_AS_OF, VALID_SET, write_set
from tests.receivables.test_point_in_time import erp_on_the_night, post_after_the_night, report_rows

AS_OF = date.fromisoformat(VALID_AS_OF)


def _settings(tmp_path: Path, db: str = "warehouse.db", **extra):
    return load_settings(
        db_url=f"sqlite:///{tmp_path / db}",
        archive_dir=tmp_path / "archive",
        outbox_dir=tmp_path / "outbox",
        reports_dir=tmp_path / "reports",
        mail_mode="preview",
        render_workers=1,
        **extra,
    )


@pytest.fixture
def night(tmp_path: Path):
    """One finished night on VALID_SET: (settings, run id)."""
    settings = _settings(tmp_path)
    summary = pipeline.run_nightly(str(write_set(tmp_path / "extracts", VALID_SET)), AS_OF, settings)
    return settings, summary["run_id"]


def test_an_archived_run_is_found_verified_and_replayed_to_the_same_rows(night) -> None:
    settings, run_id = night
    original = report_rows(settings.db_url, AS_OF)

    run = prepare_replay(run_id[:8], settings)  # a prefix as `history` may show it
    assert run.run_id == run_id and run.as_of == AS_OF and run.mapping == "canonical" and run.status == "succeeded"
    assert run.folder == (Path(settings.archive_dir) / VALID_AS_OF / run_id).resolve()
    assert {f["file"] for f in run.files} == set(VALID_SET)
    described = run.describe()
    assert run_id in described and "sha256 of the manifest and the run log" in described

    replayed = pipeline.run_nightly(str(run.folder), run.as_of, settings)
    assert replayed["run_id"] != run_id
    assert sorted(replayed["input_hashes"].values()) == sorted(run.input_hashes.values())
    assert report_rows(settings.db_url, AS_OF) == original


def test_a_night_paid_by_bank_statements_replays_from_its_statements_folder(tmp_path: Path) -> None:
    from tests.receivables.test_statement_payments import statement_only_set

    settings = _settings(tmp_path)
    night = pipeline.run_nightly(str(statement_only_set(tmp_path / "set")), AS_OF, settings)
    original = report_rows(settings.db_url, AS_OF)
    run = prepare_replay(night["run_id"], settings)
    assert len([f for f in run.files if f["file"].startswith("statements/")]) == 3
    replayed = pipeline.run_nightly(str(run.folder), run.as_of, settings)
    assert replayed["statements"]["credits"] == night["statements"]["credits"] == 4
    assert report_rows(settings.db_url, AS_OF) == original


def test_a_tampered_file_stops_the_replay_naming_it(night) -> None:
    settings, run_id = night
    payments = Path(settings.archive_dir) / VALID_AS_OF / run_id / "payments.csv"
    payments.write_bytes(payments.read_bytes().replace(b"1190.00", b"1190.01"))
    with pytest.raises(InputRejected) as err:
        prepare_replay(run_id, settings)
    assert err.value.exit_code == 2 and err.value.file == str(payments.resolve())
    assert "changed after the run" in str(err.value) and "sha256" in str(err.value)


def test_a_missing_an_added_or_a_re_hashed_file_stops_the_replay(night) -> None:
    settings, run_id = night
    folder = Path(settings.archive_dir) / VALID_AS_OF / run_id
    (folder / "promises.csv").write_text("promise_id\n", encoding="utf-8")
    with pytest.raises(InputRejected, match="does not list") as err:
        prepare_replay(run_id, settings)
    assert err.value.file.endswith("promises.csv")
    (folder / "promises.csv").unlink()

    # a file edited together with its manifest entry: the run log still has the original hash
    disputes = folder / "disputes.csv"
    disputes.write_text(VALID_SET["disputes.csv"].replace("250.00", "25.00"), encoding="utf-8")
    manifest = json.loads((folder / MANIFEST).read_text())
    import hashlib

    for entry in manifest["files"]:
        if entry["file"] == "disputes.csv":
            entry["sha256"] = hashlib.sha256(disputes.read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputRejected, match="does not match the run log") as err:
        prepare_replay(run_id, settings)
    assert err.value.file.endswith(MANIFEST)

    disputes.unlink()
    with pytest.raises(InputRejected, match="disputes file is missing"):
        prepare_replay(run_id, settings)


def test_unknown_rejected_and_foreign_runs(tmp_path: Path, night) -> None:
    settings, run_id = night
    with pytest.raises(ReplayRefused, match="No run '00000000-dead'") as err:
        prepare_replay("00000000-dead", settings)
    assert err.value.exit_code == 2
    with pytest.raises(ReplayRefused, match="too short"):
        prepare_replay("abc", settings)

    bad = write_set(tmp_path / "bad", {k: v for k, v in VALID_SET.items() if k != "customers.csv"})
    with pytest.raises(InputRejected):
        pipeline.run_nightly(str(bad), AS_OF, settings)
    ((rejected,),) = _run_ids(settings, "rejected")
    with pytest.raises(ReplayRefused, match="refused before its input was archived"):
        prepare_replay(rejected, settings)

    # a warehouse that never saw the run: found in the archive, read with the manifest's mapping
    elsewhere = _settings(tmp_path, db="other.db")
    run = prepare_replay(run_id, elsewhere)
    assert run.status is None and run.as_of == AS_OF and run.mapping == "canonical"
    assert "not in this warehouse's run log" in run.describe()


def test_a_mapping_that_does_not_find_the_archived_files_is_refused(tmp_path: Path, night) -> None:
    settings, run_id = night
    erp = tmp_path / "erp.yaml"
    erp.write_text("name: erp\nextracts:\n  open_items:\n    files: [FBL5N*.csv]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not find the archived open_items file open_items.csv"):
        prepare_replay(run_id, settings, mapping=str(erp))
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("name: lenient\nextracts:\n  promises:\n    files: [c*.csv]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="would read customers.csv as the promises extract"):
        prepare_replay(run_id, settings, mapping=str(lenient))
    assert find_archived_run(run_id, settings.archive_dir).mapping == "canonical"


@pytest.mark.parametrize("erp", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_sql_sourced_run_is_archived_as_canonical_files_and_replays(tmp_path: Path, erp: str, request) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}" if erp == "sqlite" else request.getfixturevalue("pg_url")
    erp_on_the_night(url)
    settings = _settings(tmp_path)
    night = pipeline.run_nightly(f"sql+{url}", AS_OF, settings)
    original = report_rows(settings.db_url, AS_OF)
    post_after_the_night(url)  # the ERP moves on; the archive does not

    run = prepare_replay(night["run_id"], settings)
    assert run.from_sql and "postgres" not in str(run.folder)
    assert {f["file"] for f in run.files} >= {"customers.csv", "open_items.csv", "payments.csv", "cleared_items.csv"}
    assert {f["input"] for f in run.files} == set(night["input_hashes"])  # the run log's names: open_items.sql.csv
    assert not list(run.folder.glob("*.sql.csv"))

    replayed = pipeline.run_nightly(str(run.folder), run.as_of, settings)
    assert sorted(replayed["input_hashes"].values()) == sorted(night["input_hashes"].values())
    assert report_rows(settings.db_url, AS_OF) == original


def test_a_sql_extract_is_archived_as_text_that_reads_back_as_the_values_the_run_used() -> None:
    """What a database driver returns (timestamps, decimals, a nullable integer column as
    floats) is written so that the canonical reader gives the frame the run coerced."""
    from datetime import datetime
    from decimal import Decimal

    import pandas as pd

    from receivables.extracts.coercion import apply_mapping, coerce
    from receivables.extracts.files import _read_bytes
    from receivables.extracts.sql_source import _csv_bytes
    from receivables.mappings import load_mapping
    from receivables.schemas import EXTRACTS

    typed = pd.DataFrame(
        {
            "company_code": ["1000", "1000"],
            "document_no": ["9000012345", "9000012346"],
            "document_type": ["INV", "INV"],
            "customer_id": ["C001", "C001"],
            "document_date": [datetime(2026, 8, 1, 14, 30), date(2026, 9, 15)],
            "due_date": [pd.Timestamp("2026-08-31"), None],
            "currency": ["EUR", "EUR"],
            "amount": [Decimal("1190.00"), Decimal("2.3805E+3")],
            "open_amount": [1190.0, Decimal("1380.50")],
            "reference": ["RF18539007547034", None],
            "dunning_block": [False, True],
            "discount_pct": [2.0, float("nan")],
            "discount_days": [10.0, float("nan")],
        },
        dtype=object,
    )
    canonical, extract = load_mapping("canonical"), EXTRACTS["open_items"]
    live, live_errors = coerce(apply_mapping(typed, extract, canonical, "x"), extract, canonical.format, "x")
    text = _read_bytes(_csv_bytes(typed, {"document_date", "due_date"}), "open_items.csv", canonical.format)
    again, errors = coerce(apply_mapping(text, extract, canonical, "x"), extract, canonical.format, "x")
    assert live_errors.empty and errors.empty, errors
    pd.testing.assert_frame_equal(again.reset_index(drop=True), live.reset_index(drop=True))


def _run_ids(settings, status: str) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT run_id FROM run_log WHERE status = :s"), {"s": status}).all()
    engine.dispose()
    return [tuple(r) for r in rows]
