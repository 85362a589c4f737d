"""``receivables replay RUN_ID`` as an operator runs it: the archived input of a night, checked
and run again through the flow, gives the night's warehouse rows; a changed file stops it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import VALID_AS_OF, warehouse_rows
from tests.receivables.test_point_in_time import REPORT_TABLES, erp_on_the_night, post_after_the_night, report_rows

pytestmark = pytest.mark.prefect

AS_OF = date.fromisoformat(VALID_AS_OF)
#: what a replay must reproduce: the report tables and the dunning proposal of the date
COMPARED = (*REPORT_TABLES, "dunning_notices", "dunning_items")


@pytest.fixture
def replay_cli(cli):
    """The ``cli`` fixture with ``replay`` registered, as flows/cli.py registers it (a no-op
    once it does)."""
    from flows.cli import app
    from flows.replay_command import replay

    if not any(c.callback is replay or c.name == "replay" for c in app.registered_commands):
        app.command("replay")(replay)
    return cli


def _db(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'warehouse.db'}"


def test_replay_of_a_night_gives_its_rows_again_in_preview(
    workdir: Path, valid_set: Path, prefect_server, replay_cli, monkeypatch
) -> None:
    # extracts may be read only from where the ERP writes them; the archive is read all the same
    monkeypatch.setenv("RECEIVABLES_EXTRACT_ROOTS", json.dumps([str(valid_set)]))
    result = replay_cli("run", "--extracts", str(valid_set), "--as-of", VALID_AS_OF)
    assert result.exit_code == 0, result.output
    ((run_id,),) = warehouse_rows(workdir, "SELECT run_id FROM run_log")
    before = report_rows(_db(workdir), AS_OF, COMPARED)

    # a replay never emails customers unless told to: the environment's send mode (without a
    # mail server it would even be refused) does not apply
    monkeypatch.setenv("RECEIVABLES_MAIL_MODE", "send")
    result = replay_cli("replay", run_id[:8])
    assert result.exit_code == 0, result.output
    assert f"Run {run_id} for {VALID_AS_OF} (succeeded in the run log)" in result.output
    assert "Replaying in mail mode preview." in result.output

    assert report_rows(_db(workdir), AS_OF, COMPARED) == before
    runs = warehouse_rows(workdir, "SELECT run_id, as_of, mode, status, source FROM run_log ORDER BY started_at")
    assert [(r[1], r[2], r[3]) for r in runs] == [(VALID_AS_OF, "preview", "succeeded")] * 2
    replay_id = runs[1][0]
    assert runs[1][4] == str((workdir / "archive" / VALID_AS_OF / run_id).resolve())
    assert f"Replayed run {run_id} for {VALID_AS_OF} as run {replay_id}." in result.output
    assert {r[0] for r in warehouse_rows(workdir, "SELECT DISTINCT run_id FROM aging")} == {replay_id}

    history = replay_cli("history", "--json")
    assert history.exit_code == 0, history.output
    assert {run_id, replay_id} <= {r["run_id"] for r in json.loads(history.stdout)["runs"]}


def test_replay_of_a_changed_archive_exits_2_naming_the_file(workdir: Path, valid_set: Path, replay_cli) -> None:
    # the run through the library: the refusal comes before any flow starts
    from receivables import pipeline
    from receivables.settings import load_settings

    run_id = pipeline.run_nightly(str(valid_set), AS_OF, load_settings(render_workers=1))["run_id"]
    items = workdir / "archive" / VALID_AS_OF / run_id / "open_items.csv"
    items.write_bytes(items.read_bytes().replace(b"15000.00", b"1500.00"))
    result = replay_cli("replay", run_id)
    assert result.exit_code == 2, result.output
    assert str(items.resolve()) in result.output and "changed after the run" in result.output
    assert "Traceback" not in result.output
    assert len(warehouse_rows(workdir, "SELECT run_id FROM run_log")) == 1  # nothing ran

    result = replay_cli("replay", "not-a-run-of-this-warehouse")
    assert result.exit_code == 2 and "No run 'not-a-run-of-this-warehouse'" in result.output


@pytest.mark.postgres
def test_replay_of_a_night_read_from_a_postgresql_erp(workdir: Path, pg_url: str, prefect_server, replay_cli) -> None:
    erp_on_the_night(pg_url)
    result = replay_cli("run", "--extracts", f"sql+{pg_url}", "--as-of", VALID_AS_OF)
    assert result.exit_code == 0, result.output
    ((run_id,),) = warehouse_rows(workdir, "SELECT run_id FROM run_log")
    before = report_rows(_db(workdir), AS_OF, COMPARED)

    post_after_the_night(pg_url)  # the ERP moves on; the archive does not
    result = replay_cli("replay", run_id)
    assert result.exit_code == 0, result.output
    assert "SQL source, archived as canonical CSV" in result.output
    assert report_rows(_db(workdir), AS_OF, COMPARED) == before
    hashes = warehouse_rows(workdir, "SELECT input_hashes FROM run_log ORDER BY started_at")
    original, replayed = (json.loads(h[0]) for h in hashes)
    assert sorted(original.values()) == sorted(replayed.values())
    assert "open_items.sql.csv" in original and "open_items.csv" in replayed
