"""Shared fixtures: a small valid extract set, an isolated PostgreSQL schema, one Prefect
server per test session, and the CLI runner."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from receivables.settings import sqlalchemy_url

#: the repository root and this folder, for tests that read files beside the code
REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

#: as a user writes it; tests pass it through ``sqlalchemy_url`` where they build engines themselves
PG_URL_AS_WRITTEN = os.environ.get("RECEIVABLES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_URL = sqlalchemy_url(PG_URL_AS_WRITTEN)
IN_CI = os.environ.get("CI", "").lower() == "true"

# A small canonical extract set, written by hand so every amount in the tests is known.
VALID_SET = {
    "customers.csv": (
        "customer_id,name,email,language,country,currency,payment_terms_days,credit_limit,segment,dunning_policy,dunning_block,collector,iban,company_code\n"
        "C001,Müller & Söhne GmbH,buchhaltung@mueller-soehne.de,de,DE,EUR,30,50000.00,"
        "STANDARD,,false,Anna Schmidt,DE89370400440532013000,1000\n"
        "C002,Café Peñalver S.L.,pagos@penalver.es,es,ES,EUR,45,20000.00,"
        "STANDARD,,false,Lucía Gómez,ES9121000418450200051332,2000\n"
        "C003,Acme Supply Inc.,ap@acme-supply.com;controller@acme-supply.com,en,US,USD,30,100000.00,"
        "KEY_ACCOUNT,,false,John Miller,,3000\n"
    ),
    "open_items.csv": (
        "company_code,document_no,document_type,customer_id,document_date,due_date,currency,amount,open_amount,reference,dunning_block,discount_pct,discount_days\n"
        "1000,9000012345,INV,C001,2026-08-01,2026-08-31,EUR,1190.00,1190.00,RF18539007547034,false,2,10\n"
        "1000,9000012346,INV,C001,2026-09-15,2026-10-15,EUR,2380.50,1380.50,,false,,\n"
        "1000,9000012399,CRN,C001,2026-09-20,2026-09-20,EUR,-119.00,-119.00,,false,,\n"
        "2000,F-2026-000123,INV,C002,2026-07-01,2026-08-15,EUR,845.20,845.20,,false,,\n"
        "3000,INV-000123,INV,C003,2026-10-01,2026-10-31,USD,15000.00,15000.00,PO 4500012345,false,,\n"
        "3000,INV-000124,INV,C003,2026-10-20,2026-11-19,USD,7250.75,7250.75,PO 4500012399,false,,\n"
    ),
    "payments.csv": (
        "payment_id,company_code,value_date,amount,currency,customer_id,payer_name,payer_iban,remittance_info,bank_reference\n"
        "P0000001,1000,2026-10-28,1190.00,EUR,C001,MUELLER UND SOEHNE GMBH,DE89370400440532013000,RE 9000012345,BR-1\n"
        "P0000002,2000,2026-10-29,845.20,EUR,,CAFE PENALVER SL,ES9121000418450200051332,Factura F-2026-000123,BR-2\n"
        "P0000003,3000,2026-10-30,500.00,USD,C003,ACME SUPPLY INC,,payment,BR-3\n"
    ),
    "disputes.csv": (
        "dispute_id,company_code,document_no,customer_id,reason_code,amount,status,opened_on,resolved_on,owner\n"
        "D001,3000,INV-000124,C003,PRICING,250.00,OPEN,2026-10-25,,John Miller\n"
    ),
}
VALID_AS_OF = "2026-10-31"


def write_set(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def warehouse_rows(workdir: Path, sql: str, db: Path | None = None) -> list:
    """Rows of a query against the ``workdir`` fixture's SQLite warehouse (or ``db``)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db or workdir / 'warehouse.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


def read_flow_run(flow_run_id: str):
    """A flow run as the Prefect API holds it: the run, its artifacts and its logs."""
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    async def fetch():
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
            )
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
            return flow_run, artifacts, logs

    return anyio.run(fetch)


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pyproject.toml): one worker per core and one more.  Part of the suite's
    time is waiting, not computing (on the Prefect server, PostgreSQL, the SMTP server, pip
    and the subprocesses a test starts), which left a core idle meanwhile.  On two cores:
    9 min 18 s with two workers, 7 min 26 s with three, 8 min 20 s with four (the long
    scenario fixtures then wait for the CPU)."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture
def valid_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "extracts", VALID_SET)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh folder with the warehouse, archive and outbox inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECEIVABLES_DB_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    monkeypatch.setenv("RECEIVABLES_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("RECEIVABLES_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("RECEIVABLES_REPORTS_DIR", str(tmp_path / "reports"))
    for var in list(os.environ):
        if var.startswith("RECEIVABLES_SMTP") or var in ("RECEIVABLES_MAIL_MODE", "RECEIVABLES_MAPPING"):
            monkeypatch.delenv(var)
    return tmp_path


def _postgres_available() -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any reason the server cannot be used
        return str(exc).splitlines()[0]


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Without a server the test skips with the reason, except under CI (CI=true), where the
    PostgreSQL tests must run: there a missing server fails the test."""
    import sqlalchemy as sa

    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {PG_URL} is not reachable ({problem})"
        if IN_CI:
            pytest.fail(message + "; CI must run the PostgreSQL tests")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path: Path) -> str:
    """A fresh warehouse on SQLite, then on PostgreSQL (``pg_url``): a test taking it runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return request.getfixturevalue("pg_url")


#: the services a test night needs (scheduler, run and event recording) stay on; the
#: housekeeping loops only compete with the tests for the two cores
QUIET_SERVICES = {
    f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
    for name in (
        "CANCELLATION_CLEANUP",
        "CLEANUP_RECONCILER",
        "FOREMAN",
        "LATE_RUNS",
        "PAUSE_EXPIRATIONS",
        "REPOSSESSOR",
        "TRIGGERS",
    )
} | {"PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "[]"}


@contextmanager
def running_prefect_server(home: Path, database_url: str) -> Iterator[str]:
    """``prefect server start`` as a user runs it, on a free port, with its own home and
    database; yields the API URL once it answers, and stops it afterwards.  Its output goes
    to ``home / "server.log"``."""
    import httpx

    from tests.smtp_server import free_port

    port = free_port()
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=database_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_LOGGING_SERVER_LEVEL="WARNING",
        **QUIET_SERVICES,
    )
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    api = f"http://127.0.0.1:{port}/api"
    prefect = str(Path(sys.executable).with_name("prefect"))
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("The Prefect server did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.3)
            yield api
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One real Prefect server for the whole test session (the scheduler included, which the
    in-process test harness leaves out), with its own SQLite database.  Yields the API URL;
    the server's log is at ``prefect_server_log``."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect-server")
    _PREFECT_SERVER["log"] = home / "server.log"
    previous = os.environ.get("PREFECT_API_URL")
    with running_prefect_server(home, f"sqlite+aiosqlite:///{home / 'prefect.db'}") as api:
        os.environ["PREFECT_API_URL"] = api  # for the subprocesses a test starts
        try:
            with temporary_settings({PREFECT_API_URL: api}):
                yield api
        finally:
            try:  # ship the session's last flow-run logs while the server still listens
                from prefect.logging.handlers import APILogHandler

                APILogHandler.flush()
            except Exception:  # noqa: BLE001 - a lost log line must not fail the session
                pass
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous


@pytest.fixture(scope="session")
def prefect_server_log(prefect_server) -> Path:
    """The session server's log file (stdout and stderr of ``prefect server start``)."""
    return _PREFECT_SERVER["log"]


_PREFECT_SERVER: dict[str, Path] = {}


class _CurrentStderr:
    """Forwards to whatever sys.stderr is now.  Prefect binds its console log handler to the
    stderr of the moment it sets up logging; under CliRunner that stream is closed after the
    first invocation, so later Prefect log lines would be lost as "Logging error" noise."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


def _route_prefect_console_to_current_stderr() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in logging.root.manager.loggerDict]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.stream = handler.console.file = _CurrentStderr()


@pytest.fixture
def cli():
    """Invoke the CLI in-process; ``result.output`` holds stdout and stderr, Prefect's log
    lines included, as a terminal would show them."""
    from typer.testing import CliRunner

    from flows.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        _route_prefect_console_to_current_stderr()
        return runner.invoke(app, list(args), catch_exceptions=True)

    return invoke


from tests.smtp_server import smtp_server, smtp_server_module  # noqa: E402,F401  (fixtures shared by the email tests)
