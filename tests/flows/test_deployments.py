"""Orchestration and operations: prefect.yaml checked strictly and deployed to a real server,
the warehouse lock, the on-failure notice to finance ops, and the same report rows on SQLite,
PostgreSQL and a Dask cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import REPO, VALID_AS_OF
from tests.smtp_server import smtp_server  # noqa: F401 - fixture

PREFECT = Path(sys.executable).with_name("prefect")
AS_OF = date.fromisoformat(VALID_AS_OF)
CANARY = "Ops-Canary-Pw-91b2!"


# --------------------------------------------------------------------------- prefect.yaml


def _prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))


def test_prefect_yaml_is_strictly_valid(monkeypatch) -> None:
    """`prefect deploy` ignores keys it does not know and skips entries it cannot use; this
    check does not: every key is one Prefect reads, every schedule fires when we think, every
    entrypoint imports and every parameter validates against the flow's signature."""
    from cronsim import CronSim
    from prefect.cli.deploy._models import (
        ConcurrencyLimitSpec,
        DeploymentConfig,
        PrefectYamlModel,
        RawScheduleConfig,
        WorkPoolConfig,
    )
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    raw = _prefect_yaml()
    PrefectYamlModel.model_validate(raw)
    top_level = {f.alias or n for n, f in PrefectYamlModel.model_fields.items()} | {"definitions"}
    assert set(raw) <= top_level, set(raw) - top_level

    names = [d["name"] for d in raw["deployments"]]
    assert names == ["nightly", "month-end-close", "rerun", "statements"]
    for d in raw["deployments"]:
        assert set(d) <= set(DeploymentConfig.model_fields), (d["name"], set(d) - set(DeploymentConfig.model_fields))
        assert d["entrypoint"] and d.get("description")
        assert (
            set(d["work_pool"]) <= set(WorkPoolConfig.model_fields) and d["work_pool"]["name"] == "receivables-process"
        )
        limit = ConcurrencyLimitSpec.model_validate(d["concurrency_limit"])
        assert set(d["concurrency_limit"]) <= set(ConcurrencyLimitSpec.model_fields)
        assert limit.limit == 1 and limit.collision_strategy == "ENQUEUE"
        for s in d.get("schedules") or []:
            RawScheduleConfig.model_validate(s)  # extra keys forbidden
            assert s.get("timezone"), f"{d['name']}: a schedule needs an explicit timezone"
            tz = ZoneInfo(s["timezone"])
            if "cron" not in s:  # the statements' rrule: test_statements_schedule_is_the_first_business_day
                continue
            # a whole year, both clock changes included: once per local day, at 02:00, except
            # the night 02:00 does not exist (end of March), when it runs at 03:00
            fires = [t for t, _ in zip(CronSim(s["cron"], datetime(2026, 1, 1, tzinfo=tz)), range(365))]
            assert len({t.date() for t in fires}) == 365
            assert {(t.hour, t.minute) for t in fires} == {(2, 0), (3, 0)}
            assert [t.date() for t in fires if t.hour == 3] == [date(2026, 3, 29)]

        monkeypatch.chdir(REPO)  # entrypoints are relative to the repository
        flow = load_flow_from_entrypoint(d["entrypoint"])
        schema = parameter_schema(flow.fn).model_dump()
        assert set(d["parameters"]) <= set(schema["properties"]), (d["name"], d["parameters"])
        flow.validate_parameters(d["parameters"])  # raises on a wrong type or a missing required one

    by_name = {d["name"]: d for d in raw["deployments"]}
    assert by_name["nightly"]["schedules"][0] == {"cron": "0 2 * * *", "timezone": "Europe/Berlin", "active": True}
    assert by_name["month-end-close"]["parameters"]["reminders"] is False
    assert "as_of" in by_name["month-end-close"]["description"]
    assert not by_name["rerun"].get("schedules") and not by_name["month-end-close"].get("schedules")
    # the pull step changes into the checkout recorded by the build step
    assert raw["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == "{{ repo-dir.stdout }}"


def test_serve_builds_the_same_deployments() -> None:
    from flows.deployments import runner_deployments

    deployments = {d.name: d for d in runner_deployments()}
    assert set(deployments) == {"nightly", "month-end-close", "rerun", "statements"}
    assert deployments["statements"].flow_name == "receivables-statements"
    nightly = deployments["nightly"]
    (schedule,) = nightly.schedules
    assert schedule.schedule.cron == "0 2 * * *" and schedule.schedule.timezone == "Europe/Berlin"
    assert nightly.concurrency_limit == 1 and deployments["month-end-close"].parameters["reminders"] is False


def test_task_runner_is_chosen_by_settings(monkeypatch) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.nightly import task_runner_from_environment
    from receivables.errors import ConfigError

    monkeypatch.delenv("RECEIVABLES_TASK_RUNNER", raising=False)
    assert isinstance(task_runner_from_environment(), ThreadPoolTaskRunner)
    monkeypatch.setenv("RECEIVABLES_TASK_RUNNER", "dask")
    monkeypatch.setenv("RECEIVABLES_DASK_ADDRESS", "tcp://dask-scheduler:8786")
    runner = task_runner_from_environment()
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://dask-scheduler:8786"
    monkeypatch.setenv("RECEIVABLES_TASK_RUNNER", "ray")
    with pytest.raises(ConfigError, match="'ray' is not known"):
        task_runner_from_environment()


# --------------------------------------------------------------------------- a real server


def _client_call(fn):
    import anyio
    from prefect.client.orchestration import get_client

    async def call():
        async with get_client() as client:
            return await fn(client)

    return anyio.run(call)


@pytest.mark.prefect
def test_deploy_from_prefect_yaml_schedules_and_runs(
    workdir: Path, valid_set: Path, prefect_server, prefect_server_log: Path
) -> None:
    """The steps of docs/operations.md against a real server (scheduler on): create the work
    pool, `prefect deploy --all`; the scheduler then creates the nightly runs at 02:00 Berlin
    time without a traceback in the server's log (SQLAlchemy 2.1 broke exactly this).  A run
    of `rerun` triggered with parameters and executed as a worker would is read back:
    Completed, named and tagged by its business date, with the run-summary artifact."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    env = dict(os.environ, PREFECT_API_URL=prefect_server)
    started = time.monotonic()
    pool = subprocess.run(
        [str(PREFECT), "work-pool", "create", "receivables-process", "--type", "process", "--overwrite"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run(
        [str(PREFECT), "--no-prompt", "deploy", "--all"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    for name in ("nightly", "month-end-close", "rerun"):
        assert f"receivables-nightly/{name}" in deploy.stdout

    async def read_deployments(client):
        return {
            n: await client.read_deployment_by_name(f"receivables-nightly/{n}")
            for n in ("nightly", "month-end-close", "rerun")
        }

    deployments = _client_call(read_deployments)
    (schedule,) = deployments["nightly"].schedules
    assert schedule.schedule.cron == "0 2 * * *" and schedule.schedule.timezone == "Europe/Berlin"
    assert deployments["nightly"].work_pool_name == "receivables-process"
    for d in deployments.values():
        assert d.global_concurrency_limit.limit == 1 and d.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert deployments["month-end-close"].parameters == {
        "extracts": "/data/erp/month-end",
        "reminders": False,
        "close": True,
    }
    assert deployments["rerun"].pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(
        REPO
    )

    # the scheduler, not the deploy command, creates the upcoming nightly runs
    async def scheduled(client):
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployments["nightly"].id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )

    deadline = time.monotonic() + 60
    upcoming = _client_call(scheduled)
    while not upcoming and time.monotonic() < deadline:
        time.sleep(1)
        upcoming = _client_call(scheduled)
    assert upcoming, "the scheduler created no nightly run; server log:\n" + prefect_server_log.read_text()[-4000:]
    berlin = [r.expected_start_time.astimezone(ZoneInfo("Europe/Berlin")) for r in upcoming]
    assert {(t.hour, t.minute) for t in berlin} <= {(2, 0), (3, 0)}
    assert min(berlin) - datetime.now(UTC) < timedelta(days=1, hours=1)
    assert all("source:nightly" in r.tags for r in upcoming)

    flow_run = run_deployment(
        "receivables-nightly/rerun",
        parameters={"extracts": str(valid_set), "as_of": VALID_AS_OF, "reminders": False},
        timeout=0,
    )
    # what a process worker does with the run: pull steps (cd into the checkout), import, run
    execute = subprocess.run(
        [str(PREFECT), "flow-run", "execute", str(flow_run.id)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert execute.returncode == 0, execute.stdout[-3000:] + execute.stderr[-3000:]

    async def read_back(client):
        run = await client.read_flow_run(flow_run.id)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        return run, artifacts

    run, artifacts = _client_call(read_back)
    assert run.state.is_completed(), run.state
    assert run.parameters["as_of"] == VALID_AS_OF and run.deployment_id == deployments["rerun"].id
    assert run.name == f"ar-{VALID_AS_OF}-report"
    assert {f"as_of:{VALID_AS_OF}", "mode:preview", "source:rerun", "report-only"} <= set(run.tags)
    summary = next(a for a in artifacts if a.key == "run-summary")
    assert (
        f"# Receivables run {VALID_AS_OF}: Succeeded" in summary.data
        and "state not written: report-only run" in summary.data
    )
    engine = sa.create_engine(os.environ["RECEIVABLES_DB_URL"])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, flow_run_id, flow_run_name FROM run_log")).all()
        assert rows == [("succeeded", str(run.id), f"ar-{VALID_AS_OF}-report")]
        assert conn.execute(sa.text("SELECT count(*) FROM run_locks")).scalar() == 0
    engine.dispose()
    log = prefect_server_log.read_text()
    assert "Traceback" not in log and "bulk DML" not in log, log[-4000:]
    assert time.monotonic() - started < 150


def _first_business_day(year: int, month: int) -> date:
    day = date(year, month, 1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    return day


@pytest.mark.prefect
def test_statements_schedule_is_the_first_business_day(prefect_server, prefect_server_log: Path) -> None:
    """`prefect deploy --name statements` against the real server: its scheduler creates the
    statements runs on the first business day (Monday to Friday) of each month at 07:00 Berlin
    time, the next one being this month's if it is still ahead, else next month's."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    env = dict(os.environ, PREFECT_API_URL=prefect_server)
    for command in (
        ["work-pool", "create", "receivables-process", "--type", "process", "--overwrite"],
        ["--no-prompt", "deploy", "--name", "statements"],
    ):
        done = subprocess.run([str(PREFECT), *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    async def scheduled(client):
        deployment = await client.read_deployment_by_name("receivables-statements/statements")
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )
        return deployment, runs

    deadline = time.monotonic() + 60
    deployment, upcoming = _client_call(scheduled)
    while not upcoming and time.monotonic() < deadline:
        time.sleep(1)
        deployment, upcoming = _client_call(scheduled)
    assert upcoming, "the scheduler created no statements run; server log:\n" + prefect_server_log.read_text()[-4000:]
    (schedule,) = deployment.schedules
    assert schedule.schedule.timezone == "Europe/Berlin" and "BYSETPOS=1" in schedule.schedule.rrule
    berlin = ZoneInfo("Europe/Berlin")
    starts = sorted(r.expected_start_time.astimezone(berlin) for r in upcoming)
    now = datetime.now(berlin)
    this_month = datetime.combine(_first_business_day(now.year, now.month), datetime.min.time(), berlin)
    this_month = this_month.replace(hour=7)
    if this_month > now:
        expected = this_month
    else:
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        expected = datetime.combine(_first_business_day(year, month), datetime.min.time(), berlin).replace(hour=7)
    assert starts[0] == expected, (starts, expected)
    assert all(t == datetime.combine(_first_business_day(t.year, t.month), t.time(), berlin) for t in starts)
    assert {(t.hour, t.minute) for t in starts} == {(7, 0)} and len({(t.year, t.month) for t in starts}) == len(starts)
    assert all("source:statements" in r.tags for r in upcoming)
    assert "Traceback" not in prefect_server_log.read_text()


@pytest.mark.prefect
def test_serve_creates_and_runs_the_scheduled_run(
    workdir: Path, valid_set: Path, prefect_server, prefect_server_log: Path
) -> None:
    """`receivables serve` (no work pool) with a deployment scheduled a few seconds ahead:
    the server's scheduler creates the run, the serving process picks it up and runs it."""
    anchor = datetime.now(UTC) + timedelta(seconds=12)
    served = workdir / "prefect-serve.yaml"
    served.write_text(
        yaml.safe_dump(
            {
                "deployments": [
                    {
                        "name": "serve-check",
                        "entrypoint": "flows/nightly.py:nightly",
                        "description": "test-only: one run a few seconds after serve starts",
                        "tags": ["receivables", "source:nightly"],
                        "parameters": {"extracts": str(valid_set), "as_of": VALID_AS_OF},
                        "schedules": [{"interval": 3600, "anchor_date": anchor.isoformat(), "timezone": "UTC"}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    env = dict(os.environ, PREFECT_API_URL=prefect_server, PREFECT_RUNNER_POLL_FREQUENCY="2")
    log = (workdir / "serve.log").open("w")
    serve = subprocess.Popen(
        [str(Path(sys.executable).with_name("receivables")), "serve", "--prefect-file", str(served)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    async def runs(client):
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["serve-check"]))
        )

    try:
        deadline = time.monotonic() + 120
        done = []
        while time.monotonic() < deadline:
            done = [r for r in _client_call(runs) if r.state and r.state.is_final()]
            if done or serve.poll() is not None:
                break
            time.sleep(2)
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()
    output = (workdir / "serve.log").read_text()
    assert done, "no served run finished; serve output:\n" + output[-4000:]
    (run,) = done
    assert run.state.is_completed(), (run.state, output[-4000:])
    assert run.expected_start_time >= anchor - timedelta(seconds=1)  # the schedule's run, not an ad-hoc one
    assert run.name == f"ar-{VALID_AS_OF}-preview"
    assert {f"as_of:{VALID_AS_OF}", "mode:preview", "source:nightly"} <= set(run.tags)
    engine = sa.create_engine(os.environ["RECEIVABLES_DB_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, flow_run_name FROM run_log")).all() == [
            ("succeeded", f"ar-{VALID_AS_OF}-preview")
        ]
    engine.dispose()
    assert "Traceback" not in prefect_server_log.read_text()


# --------------------------------------------------------------------------- the run lock


def _run(as_of: date = AS_OF):
    from receivables.pipeline import Run
    from receivables.settings import load_settings

    return Run(source="unused", as_of=as_of, settings=load_settings())


def test_two_runs_for_the_same_as_of_never_interleave(workdir: Path, cli) -> None:
    from receivables import pipeline
    from receivables.warehouse import run_lock
    from receivables.warehouse.database import read_table

    first = _run()
    pipeline.begin(first)
    second = _run()
    with pytest.raises(run_lock.RunInProgress) as refused:
        pipeline.begin(second)
    message = str(refused.value)
    assert f"A run for {VALID_AS_OF} is already in progress (run {first.run_id} since " in message
    assert f"receivables unlock --as-of {VALID_AS_OF}" in message
    log = read_table(first.engine, "run_log").set_index("run_id")
    assert log.loc[first.run_id, "status"] == "running"
    assert log.loc[second.run_id, "status"] == "failed" and "already in progress" in log.loc[second.run_id, "error"]

    other_day = _run(date(2026, 10, 30))
    pipeline.begin(other_day)  # another date does not wait
    pipeline.fail(second, refused.value)  # a refused run must not free the holder's lock
    assert run_lock.holder(first.engine, AS_OF).run_id == first.run_id

    pipeline.finish(first, {})
    third = _run()
    pipeline.begin(third)  # released on finish
    pipeline.fail(third, RuntimeError("boom"))
    assert run_lock.holder(first.engine, AS_OF) is None  # released on failure too

    # a run that died holding the lock: broken by hand ...
    crashed = _run()
    pipeline.begin(crashed)
    result = cli("history")
    assert result.exit_code == 0, result.output
    assert f"In progress: the run for {VALID_AS_OF}" in result.output
    result = cli("unlock", "--as-of", VALID_AS_OF)
    assert result.exit_code == 0 and f"Broke the run lock for {VALID_AS_OF}" in result.output, result.output
    assert read_table(first.engine, "run_log").set_index("run_id").loc[crashed.run_id, "status"] == "failed"
    # ... or taken over once stale
    crashed = _run()
    pipeline.begin(crashed)
    with first.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE run_locks SET acquired_at = :t"),
            {"t": datetime.now(UTC) - run_lock.STALE_AFTER - timedelta(minutes=1)},
        )
    late = _run()
    pipeline.begin(late)
    assert run_lock.holder(first.engine, AS_OF).run_id == late.run_id
    assert late.counts["broke_stale_lock"]["run_id"] == crashed.run_id


# --------------------------------------------------------------------------- failure notice


@pytest.mark.prefect
def test_a_failed_run_notifies_finance_ops(
    workdir: Path,
    valid_set: Path,
    prefect_server,
    smtp_server,  # noqa: F811 - the fixture imported above
    monkeypatch,
) -> None:
    from flows.nightly import nightly
    from receivables.pipeline import warehouse_engine
    from receivables.warehouse import run_lock

    server = smtp_server(password=CANARY)
    monkeypatch.setenv("RECEIVABLES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RECEIVABLES_SMTP_PORT", str(server.port))
    monkeypatch.setenv("RECEIVABLES_SMTP_USER", "ar-bot")
    monkeypatch.setenv("RECEIVABLES_SMTP_PASSWORD", CANARY)
    monkeypatch.setenv("RECEIVABLES_SMTP_STARTTLS", "false")
    monkeypatch.setenv("RECEIVABLES_MAIL_FROM", "ar@example.com")
    monkeypatch.setenv("RECEIVABLES_OPS_EMAIL", "finance-ops@example.com; controller@example.com")

    # the failure: another run for the date holds the lock
    engine = warehouse_engine(os.environ["RECEIVABLES_DB_URL"])
    run_lock.acquire(engine, AS_OF, "holder-run")
    state = nightly(extracts=str(valid_set), as_of=AS_OF, return_state=True)
    assert state.is_failed() and "already in progress (run holder-run since" in state.message

    (mail,) = server.received
    assert sorted(mail.rcpt_tos) == ["controller@example.com", "finance-ops@example.com"]
    message = mail.message
    assert message["Subject"] == f"[receivables] run for {VALID_AS_OF} failed"
    body = message.get_content()
    assert "already in progress (run holder-run since" in body and str(valid_set) in body
    assert CANARY not in mail.content.decode("utf-8", "replace")
    assert server.logins and server.logins[0][1] == CANARY.encode()
    assert run_lock.holder(engine, AS_OF).run_id == "holder-run"  # the holder is left alone


def test_failure_notice_without_smtp_only_logs(workdir: Path, monkeypatch, caplog) -> None:
    from types import SimpleNamespace
    from uuid import uuid4

    from prefect.states import Failed

    from tasks.notifications import failure_notice, notify_finance_ops

    monkeypatch.setenv("RECEIVABLES_OPS_EMAIL", "finance-ops@example.com")
    monkeypatch.setenv("RECEIVABLES_DB_URL", f"postgresql://ar:{CANARY}@db/warehouse")
    flow_run = SimpleNamespace(
        id=uuid4(),
        name="bright-otter",
        deployment_id=None,
        parameters={"as_of": "2026-11-30", "extracts": "/x"},
        flow_id=uuid4(),
    )
    state = Failed(message=f"connection to postgresql://ar:{CANARY}@db failed")
    subject, body, _ = failure_notice(flow_run, state)
    assert CANARY not in body and "***" in body and subject == "[receivables] run for 2026-11-30 failed"
    flow = SimpleNamespace(name="receivables-nightly")
    with caplog.at_level("WARNING"):
        notify_finance_ops(flow, flow_run, state)
    text = caplog.text
    assert "[receivables] run for 2026-11-30 failed: connection to" in text
    assert "RECEIVABLES_SMTP_HOST is not" in text and CANARY not in text

    # without any channel nobody hears of it, and the log says so instead of claiming otherwise
    monkeypatch.delenv("RECEIVABLES_OPS_EMAIL")
    monkeypatch.delenv("RECEIVABLES_OPS_NOTIFY_BLOCK", raising=False)
    caplog.clear()
    with caplog.at_level("WARNING"):
        notify_finance_ops(flow, flow_run, state)
    assert "No failure notification channel is configured, so nobody was notified" in caplog.text
    assert "emailed" not in caplog.text


# --------------------------------------------------------------------------- same rows everywhere

REPORT_TABLES = {
    "aging": ["company_code", "customer_id", "currency"],
    "kpis": ["company_code", "kpi"],
    "collector_worklist": ["rank"],
    "cash_applications": ["payment_id", "company_code", "document_no", "status"],
    "dunning_notices": ["notice_id"],
}


@pytest.fixture(scope="module")
def generated_set(tmp_path_factory) -> Path:
    from receivables.synthetic import generate_extract_set

    folder = tmp_path_factory.mktemp("generated") / "extracts"
    generate_extract_set(folder, customers=30, seed=11, as_of=AS_OF)
    return folder


def _report_rows(db_url: str) -> dict[str, pd.DataFrame]:
    from receivables.warehouse.database import connect, read_table

    engine = connect(db_url)
    out = {}
    for table, key in REPORT_TABLES.items():
        frame = read_table(engine, table).drop(columns=["run_id", "id"], errors="ignore")
        frame["as_of"] = frame["as_of"].astype(str)
        out[table] = (
            frame.sort_values(key, kind="stable").reset_index(drop=True).astype(object).where(frame.notna(), None)
        )
    engine.dispose()
    return out


def _run_flow(flow, extracts: Path, folder: Path, db_url: str, monkeypatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv("RECEIVABLES_DB_URL", db_url)
    for name in ("archive", "outbox", "reports"):
        monkeypatch.setenv(f"RECEIVABLES_{name.upper()}_DIR", str(folder / name))
    state = flow(extracts=str(extracts), as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    _run_flow.last_flow_run_id = state.state_details.flow_run_id
    return _report_rows(db_url)


@pytest.fixture(scope="module")
def sqlite_rows(generated_set: Path, tmp_path_factory, prefect_server) -> dict[str, pd.DataFrame]:
    from flows.nightly import nightly

    folder = tmp_path_factory.mktemp("sqlite-run")
    with pytest.MonkeyPatch.context() as mp:
        rows = _run_flow(nightly, generated_set, folder, f"sqlite:///{folder / 'warehouse.db'}", mp)
    assert all(len(rows[t]) for t in REPORT_TABLES), {t: len(f) for t, f in rows.items()}
    return rows


def _assert_same(rows: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    for table in REPORT_TABLES:
        pd.testing.assert_frame_equal(rows[table], expected[table], check_dtype=False, obj=table)


@pytest.mark.prefect
def test_dask_partitioned_by_company_gives_the_same_rows(
    workdir: Path, generated_set: Path, sqlite_rows, monkeypatch
) -> None:
    from dask.distributed import LocalCluster
    from prefect_dask import DaskTaskRunner

    from flows.nightly import nightly
    from receivables.pipeline import warehouse_engine
    from receivables.warehouse.database import read_table

    db_url = f"sqlite:///{workdir / 'dask.db'}"
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        flow = nightly.with_options(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
        rows = _run_flow(flow, generated_set, workdir, db_url, monkeypatch)
    _assert_same(rows, sqlite_rows)

    async def task_names(client):
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[_run_flow.last_flow_run_id]))
        )
        return {r.name for r in runs}

    names = _client_call(task_names)
    # one task per company code for cash, dunning and (where there are notices) reminders
    assert {"apply-cash-1000", "apply-cash-2000", "dunning-1000", "dunning-2000"} <= names, names
    assert "apply-cash" not in names
    (log,) = read_table(warehouse_engine(db_url), "run_log").itertuples()
    assert log.status == "succeeded" and log.counts["cash_application"]["payments"] > 0


@pytest.mark.postgres
@pytest.mark.prefect
def test_postgres_warehouse_gives_the_same_rows(
    workdir: Path, generated_set: Path, sqlite_rows, pg_url: str, monkeypatch
) -> None:
    from flows.nightly import nightly

    rows = _run_flow(nightly, generated_set, workdir, pg_url, monkeypatch)
    _assert_same(rows, sqlite_rows)
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM run_log")).scalars().all() == ["succeeded"]
        assert conn.execute(sa.text("SELECT count(*) FROM run_locks")).scalar() == 0
    engine.dispose()


# --------------------------------------------------------------------------- Prefect on PostgreSQL


@pytest.mark.postgres
@pytest.mark.prefect
def test_prefect_server_on_postgres_records_the_run(workdir: Path, valid_set: Path, pg_url: str) -> None:
    """A Prefect server whose own database is PostgreSQL (a fresh database), and a nightly
    run recorded in it."""
    import uuid

    import httpx

    from tests.conftest import PG_URL, running_prefect_server

    database = f"prefect_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    except sa.exc.ProgrammingError as exc:  # a server where the test role may not create databases
        admin.dispose()
        pytest.skip(f"cannot create a database for Prefect on {PG_URL}: {str(exc.orig).splitlines()[0]}")
    url = sa.engine.make_url(PG_URL).set(drivername="postgresql+asyncpg", database=database, query={})
    home = workdir / "prefect-home"
    home.mkdir()
    try:
        with running_prefect_server(home, url.render_as_string(hide_password=False)) as api:
            run_env = dict(os.environ, PREFECT_API_URL=api, PREFECT_HOME=str(workdir / "prefect-home"))
            proc = subprocess.run(
                [
                    str(Path(sys.executable).with_name("receivables")),
                    "run",
                    "--extracts",
                    str(valid_set),
                    "--as-of",
                    VALID_AS_OF,
                    "--report-only",
                ],
                cwd=workdir,
                env=run_env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
            flow_runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 5}, timeout=10).json()
            assert [(r["state_type"], r["parameters"]["as_of"]) for r in flow_runs] == [("COMPLETED", VALID_AS_OF)]
            prefect_db = sa.create_engine(sa.engine.make_url(PG_URL).set(database=database))
            with prefect_db.connect() as conn:  # the run is in PostgreSQL, not in a SQLite file
                assert (
                    conn.execute(sa.text("SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'")).scalar() == 1
                )
            prefect_db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
