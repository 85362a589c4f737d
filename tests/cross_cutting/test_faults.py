"""Fault injection: the pipeline killed for real at each stage and rerun, the warehouse gone at
the start and in the middle of the publish transaction, SMTP down or refusing, and two runs
for the same as_of at once.

A kill is ``os._exit(137)`` in a subprocess (``tests/drivers/run_until.py`` wraps one stage
function or one outbox step; production code is never patched).  After each kill the test
checks what the crash left behind, breaks the dead run's lock as an operator would
(``receivables unlock``), reruns, and compares the warehouse with a clean reference run:
one copy of every row, each email received by the loopback SMTP server exactly once.

The nine kill processes are started together when the first kill test asks for them, forked
from this (warmed-up) process so each costs its run, not an interpreter start; the warehouse
unreachable case runs the driver as a fresh subprocess."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from receivables import pipeline
from receivables.settings import load_settings
from receivables.warehouse.run_lock import RunInProgress
from tests.conftest import TESTS, VALID_SET, write_set
from tests.drivers.run_until import KILL_POINTS, KILLED
from tests.smtp_server import Recorder, free_port

AS_OF = date(2026, 10, 31)
DRIVER = TESTS / "drivers" / "run_until.py"
# C002 also owes an old invoice: two reminder emails (C001 German, C002 Spanish)
EXTRA = "2000,F-2026-000124,INV,C002,2026-08-01,2026-09-15,EUR,300.00,300.00,,false,,\n"
EXTRACTS = dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + EXTRA})
RECIPIENTS = ["buchhaltung@mueller-soehne.de", "pagos@penalver.es"]

# every table a run writes for its as_of, with the columns that must match a clean run
# (run_id, timestamps and generated ids excluded)
TABLES = {
    "quarantine": 'extract, row_number, "column", value, reason',
    "cash_applications": (
        "payment_id, document_no, applied_amount, rule, confidence, status, writeoff_amount, discount_amount"
    ),
    "unapplied_cash": "payment_id, remaining_amount, reason",
    "dunning_notices": "notice_id, customer_id, level, overdue_amount, fees, interest, action",
    "dunning_items": "notice_id, document_no, previous_level, level, open_amount, interest, fee",
    "email_outbox": "idempotency_key, notice_id, customer_id, recipients, subject, language",
    "aging": (
        "company_code, customer_id, currency, not_due, d1_30, d31_60, d61_90, d91_120, d121_plus, total, total_base"
    ),
    "kpis": "company_code, kpi, value",
    "collector_worklist": "rank, company_code, customer_id, priority, overdue_amount, reason, next_action",
}


# --------------------------------------------------------------------------- helpers


def query(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def warehouse_rows(url: str) -> dict[str, list]:
    return {t: query(url, f"SELECT {c} FROM {t} WHERE as_of = '{AS_OF}' ORDER BY {c}") for t, c in TABLES.items()}


def statuses(url: str) -> dict[str, int]:
    return dict(query(url, "SELECT status, count(*) FROM email_outbox GROUP BY status"))


def received_by(server_handler: Recorder) -> list[str]:
    return sorted(r for m in server_handler.received for r in m.rcpt_tos)


def env_for(folder: Path, db_url: str, smtp_port: int | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEIVABLES_")}
    env.update(
        RECEIVABLES_DB_URL=db_url,
        RECEIVABLES_ARCHIVE_DIR=str(folder / "archive"),
        RECEIVABLES_OUTBOX_DIR=str(folder / "outbox"),
        RECEIVABLES_REPORTS_DIR=str(folder / "reports"),
        GX_ANALYTICS_ENABLED="false",
    )
    if smtp_port is not None:
        env.update(
            RECEIVABLES_MAIL_MODE="send",
            RECEIVABLES_SMTP_HOST="127.0.0.1",
            RECEIVABLES_SMTP_PORT=str(smtp_port),
            RECEIVABLES_SMTP_STARTTLS="false",
            RECEIVABLES_MAIL_FROM="ar@nordwerk.example",
        )
    env.update(extra)
    return env


def settings_for(folder: Path, db_url: str, smtp_port: int | None):
    values = dict(
        db_url=db_url,
        archive_dir=folder / "archive",
        outbox_dir=folder / "outbox",
        reports_dir=folder / "reports",
        mail_mode="preview",
    )
    if smtp_port is not None:
        values.update(
            mail_mode="send",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_starttls=False,
            mail_from="ar@nordwerk.example",
        )
    return load_settings(**values)


def start_driver(case: str, folder: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), case, str(folder / "extracts"), AS_OF.isoformat()],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Forked:
    """The driver in a forked child: a real, separate process (its own connections, killed by
    ``os._exit``), but one that inherits the imports and the warmed-up validation suites of
    this process, so a kill case costs its run (~2 s), not a fresh interpreter (~10 s)."""

    def __init__(self, case: str, folder: Path, env: dict[str, str], name: str = "driver") -> None:
        self.log = folder / f"{name}.log"
        ctx = multiprocessing.get_context("fork")
        self.process = ctx.Process(target=self._child, args=(case, folder, env), daemon=True)
        self.process.start()

    def _child(self, case: str, folder: Path, env: dict[str, str]) -> None:
        code = 70
        try:
            fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            os.environ.clear()
            os.environ.update(env)
            os.chdir(folder)
            pipeline.warehouse_engine.cache_clear()  # never share the parent's connections
            from tests.drivers import run_until

            code = run_until.main([case, str(folder / "extracts"), AS_OF.isoformat()])
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def wait(self, timeout: float = 300) -> tuple[int | None, str]:
        self.process.join(timeout)
        return self.process.exitcode, self.log.read_text() if self.log.exists() else ""

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()


class SmtpOnLoopback:
    """A loopback SMTP server that outlives one test (module-scoped fixtures)."""

    def __init__(self, handler: Recorder | None = None, port: int | None = None) -> None:
        self.handler = handler or Recorder()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """A clean run of the same set in send mode: the rows every recovered run must hold."""
    folder = tmp_path_factory.mktemp("reference")
    write_set(folder / "extracts", EXTRACTS)
    server = SmtpOnLoopback()
    url = f"sqlite:///{folder / 'warehouse.db'}"
    try:
        pipeline.run_nightly(str(folder / "extracts"), AS_OF, settings_for(folder, url, server.port))
    finally:
        server.stop()
    rows = warehouse_rows(url)
    assert (
        sorted(r[2] for r in rows["email_outbox"])
        == sorted(r[1] for r in rows["dunning_notices"] if r[-1] == "email")
        == ["C001", "C002"]
    )
    assert received_by(server.handler) == RECIPIENTS
    return {"rows": rows, "counts": {t: len(v) for t, v in rows.items()}}


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory, reference) -> dict:
    """Every kill point started at once (after the reference run has warmed this process up),
    each in its own folder with its own SMTP server."""
    cases = {}
    for case in KILL_POINTS:
        folder = tmp_path_factory.mktemp(case)
        write_set(folder / "extracts", EXTRACTS)
        server = SmtpOnLoopback()
        url = f"sqlite:///{folder / 'warehouse.db'}"
        cases[case] = {
            "folder": folder,
            "server": server,
            "url": url,
            "proc": Forked(case, folder, env_for(folder, url, server.port)),
        }
    yield cases
    for c in cases.values():
        c["proc"].kill()
        c["server"].stop()


# --------------------------------------------------------------------------- kill and rerun

COMMITTED_BEFORE_KILL = {
    "after_publish",
    "during_deliver",
    "between_send_and_mark_sent",
    "after_deliver",
    "before_finish",
}
# what the SMTP server holds and the outbox says right after the kill
AT_KILL = {
    "after_ingest": (0, {}),
    "after_validate": (0, {}),
    "after_archive": (0, {}),
    "during_publish": (0, {}),
    "after_publish": (0, {"pending": 2}),
    "during_deliver": (1, {"sent": 1, "pending": 1}),
    "between_send_and_mark_sent": (1, {"sending": 1, "pending": 1}),
    "after_deliver": (2, {"sent": 2}),
    "before_finish": (2, {"sent": 2}),
}


@pytest.mark.parametrize("case", KILL_POINTS)
def test_killed_at_each_stage_then_rerun_loses_and_duplicates_nothing(case, killed_runs, reference, cli) -> None:
    c = killed_runs[case]
    folder, url, server = c["folder"], c["url"], c["server"]
    code, output = c["proc"].wait()
    assert code == KILLED, output
    assert "KILLED" in output

    # what the crash left: the run shows as running (it never finished), the as_of's rows
    # are all there or none of them (publish is one transaction), no email went out before
    # its outbox row was committed
    assert query(url, "SELECT status FROM run_log") == [("running",)]
    rows = warehouse_rows(url)
    if case in COMMITTED_BEFORE_KILL:
        assert rows == reference["rows"]
    else:
        assert all(not v for v in rows.values()), {t: len(v) for t, v in rows.items()}
    n_received, outbox_states = AT_KILL[case]
    assert len(server.handler.received) == n_received
    assert statuses(url) == outbox_states

    settings = settings_for(folder, url, server.port)
    # the dead run still holds the as_of's lock: a rerun is refused, touching nothing
    with pytest.raises(RunInProgress, match="already in progress"):
        pipeline.run_nightly(str(folder / "extracts"), AS_OF, settings)
    assert warehouse_rows(url) == rows and len(server.handler.received) == n_received

    # the operator breaks the dead run's lock and reruns
    result = cli("unlock", "--as-of", AS_OF.isoformat(), "--db", url)
    assert result.exit_code == 0, result.output
    summary = pipeline.run_nightly(str(folder / "extracts"), AS_OF, settings)

    assert warehouse_rows(url) == reference["rows"]  # exactly one consistent copy
    assert received_by(server.handler) == RECIPIENTS  # each email exactly once, crash + rerun
    log = query(url, "SELECT status, error FROM run_log ORDER BY started_at")
    assert [s for s, _ in log] == ["failed", "failed", "succeeded"]
    assert "lock broken" in log[0][1] and "already in progress" in log[1][1]
    if case == "between_send_and_mark_sent":
        # nobody knows whether the server took it: held for review, never resent blindly
        assert statuses(url) == {"held": 1, "sent": 1}
        ((error,),) = query(url, "SELECT error FROM email_outbox WHERE status = 'held'")
        assert "Interrupted while sending" in error
        assert summary["emails"]["held"] == 1
    else:
        assert statuses(url) == {"sent": 2}


# --------------------------------------------------------------------------- the warehouse


def test_warehouse_unreachable_at_start_exits_1_with_one_paragraph(tmp_path: Path, smtp_server) -> None:
    server = smtp_server()
    write_set(tmp_path / "extracts", EXTRACTS)
    url = f"postgresql://ar:secret@127.0.0.1:{free_port()}/warehouse"
    proc = start_driver("none", tmp_path, env_for(tmp_path, url, server.port))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert err.strip().count("\n") == 0  # one paragraph
    assert "cannot be reached" in err and "127.0.0.1" in err
    assert "secret" not in err  # the URL's password is not printed
    assert not server.received
    assert not (tmp_path / "outbox").exists() and not (tmp_path / "archive").exists()


@pytest.mark.prefect
def test_warehouse_unreachable_at_start_through_the_cli_prints_no_traceback(
    workdir: Path, valid_set: Path, prefect_server, cli, monkeypatch
) -> None:
    import flows.nightly

    # the same quiet retries, without the 10 s waits between them
    monkeypatch.setattr(flows.nightly, "WAREHOUSE_RETRY_PAUSE", 0)
    monkeypatch.setenv("RECEIVABLES_DB_URL", f"postgresql://127.0.0.1:{free_port()}/warehouse")
    result = cli("run", "--extracts", str(valid_set), "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1, result.output
    assert "cannot be reached" in result.output.strip().splitlines()[-1]
    assert not (workdir / "outbox").exists()
    assert "Traceback" not in result.output


def test_warehouse_connection_killed_mid_publish_leaves_nothing_half_written(
    tmp_path: Path, pg_url: str, reference, monkeypatch
) -> None:
    """PostgreSQL terminates the publishing backend half-way through the transaction."""
    write_set(tmp_path / "extracts", EXTRACTS)
    settings = settings_for(tmp_path, pg_url, None)
    real = pipeline.replace_for_as_of
    calls: list[str] = []

    def terminate_on_aging(conn, table_name, *args, **kwargs):
        calls.append(table_name)
        if table_name == "aging":  # quarantine, cash, dunning state and outbox already written
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            admin = sa.create_engine(pg_url)
            with admin.connect() as other:
                assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            admin.dispose()
        return real(conn, table_name, *args, **kwargs)

    monkeypatch.setattr(pipeline, "replace_for_as_of", terminate_on_aging)
    with pytest.raises(Exception) as failure:
        pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings)
    assert "aging" in calls
    assert "terminat" in str(failure.value).lower() or "closed" in str(failure.value).lower()

    ((status, error),) = query(pg_url, "SELECT status, error FROM run_log")
    assert status == "failed" and error
    assert {t: len(v) for t, v in warehouse_rows(pg_url).items()} == dict.fromkeys(TABLES, 0)
    assert query(pg_url, "SELECT count(*) FROM run_locks") == [(0,)]  # the lock was given back

    monkeypatch.setattr(pipeline, "replace_for_as_of", real)
    pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings)
    assert {t: len(v) for t, v in warehouse_rows(pg_url).items()} == reference["counts"]
    assert [r[0] for r in warehouse_rows(pg_url)["email_outbox"]] == [r[0] for r in reference["rows"]["email_outbox"]]
    assert [s for (s,) in query(pg_url, "SELECT status FROM run_log ORDER BY started_at")] == ["failed", "succeeded"]


# --------------------------------------------------------------------------- SMTP


def test_smtp_down_leaves_emails_pending_and_the_next_run_sends_them_once(tmp_path: Path, reference) -> None:
    write_set(tmp_path / "extracts", EXTRACTS)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    port = free_port()  # nothing listens here yet
    settings = settings_for(tmp_path, url, port)
    summary = pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings)
    emails = summary["emails"]
    assert (emails["sent"], emails["failed"], emails["not_attempted"]) == (0, 0, 2)
    assert "cannot be reached" in emails["summary"] and "2 email(s) stay pending" in emails["summary"]
    assert statuses(url) == {"pending": 2}
    assert query(url, "SELECT status FROM run_log") == [("succeeded",)]
    assert warehouse_rows(url) == reference["rows"]

    server = SmtpOnLoopback(port=port)  # the server is back
    try:
        pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings)
        assert received_by(server.handler) == RECIPIENTS
        assert statuses(url) == {"sent": 2}
        pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings)
        assert received_by(server.handler) == RECIPIENTS  # and never again
    finally:
        server.stop()
    assert warehouse_rows(url) == reference["rows"]


class RefuseAll(Recorder):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def test_smtp_refusing_recipients_fails_those_emails_with_the_servers_answer(tmp_path: Path, smtp_server) -> None:
    server = smtp_server(RefuseAll())
    write_set(tmp_path / "extracts", EXTRACTS)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    summary = pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings_for(tmp_path, url, server.port))
    assert not server.received
    assert statuses(url) == {"failed": 2}
    for recipients, error, attempts in query(url, "SELECT recipients, error, attempts FROM email_outbox"):
        assert "550" in error and recipients in error and "User unknown" in error
        assert attempts == 1  # a permanent refusal is not retried
    assert summary["emails"]["failed"] == 2
    assert "2 failed" in summary["emails"]["summary"] and "550" in summary["emails"]["summary"]
    assert query(url, "SELECT status FROM run_log") == [("succeeded",)]
    # a rerun does not hammer the server with the failed ones again
    pipeline.run_nightly(str(tmp_path / "extracts"), AS_OF, settings_for(tmp_path, url, server.port))
    assert statuses(url) == {"failed": 2} and not server.received


# --------------------------------------------------------------------------- two runs at once


def _two_runs_at_once(folder: Path, url: str, server) -> list[subprocess.CompletedProcess]:
    write_set(folder / "extracts", EXTRACTS)
    env = env_for(folder, url, server.port, RECEIVABLES_TEST_HOLD="3")
    procs = [Forked("hold", folder, env, name=f"run-{n}") for n in range(2)]
    return [p.wait() for p in procs]


def _assert_one_run_won(results, url: str, server, reference) -> None:
    codes = sorted(r[0] for r in results)
    assert codes == [0, 1], results
    loser = next(r for r in results if r[0] == 1)
    assert "already in progress" in loser[1] and "Traceback" not in loser[1]
    assert sorted(s for (s,) in query(url, "SELECT status FROM run_log")) == ["failed", "succeeded"]
    assert received_by(server.handler) == RECIPIENTS
    assert statuses(url) == {"sent": 2}
    assert query(url, "SELECT count(*) FROM run_locks") == [(0,)]


def test_two_runs_for_the_same_as_of_at_once_on_sqlite(tmp_path: Path, smtp_server, reference) -> None:
    """Two processes (forked: already warm, so they really start together) for one as_of."""
    server = smtp_server()
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    # the schema exists before the race: two first-ever migrations at once is another story
    pipeline.warehouse_engine(url)
    results = _two_runs_at_once(tmp_path, url, server)
    _assert_one_run_won(results, url, server, reference)
    assert warehouse_rows(url) == reference["rows"]


def test_two_runs_for_the_same_as_of_at_once_on_postgresql(tmp_path: Path, pg_url: str, smtp_server, reference) -> None:
    server = smtp_server()
    pipeline.warehouse_engine(pg_url)
    results = _two_runs_at_once(tmp_path, pg_url, server)
    _assert_one_run_won(results, pg_url, server, reference)
    assert {t: len(v) for t, v in warehouse_rows(pg_url).items()} == reference["counts"]
