"""The nightly receivables flow: ingest -> validate -> archive -> apply cash -> dunning ->
reports -> reminders -> publish -> deliver -> report files.

Parameters are what an operator may change per run (extract location, as_of, mail mode, a
settings file, the ERP mapping, report-only, redo of an earlier date's dunning); the
warehouse URL and SMTP credentials come from settings and the environment so they never show
in the run's parameters.

Where the tasks run is chosen by the environment of the process that loads this module (the
worker, ``receivables serve``, or the CLI), not by code: ``RECEIVABLES_TASK_RUNNER=dask``
runs the per-company stages on Dask, on a temporary local cluster or on the existing cluster
at ``RECEIVABLES_DASK_ADDRESS``; the default is Prefect's in-process thread pool.
"""

from __future__ import annotations

import os
import time
from datetime import date

from prefect import flow
from prefect.context import FlowRunContext
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import run_labels, run_settings
from receivables import pipeline, run_summary
from receivables.errors import ConfigError, ReceivablesError
from receivables.pipeline import Run, fail
from receivables.settings import MailMode
from receivables.warehouse.run_lock import RunInProgress
from tasks.cash_application import apply_cash_task
from tasks.company_parts import map_company_parts
from tasks.dunning import dunning_task
from tasks.failures import Rejection
from tasks.ingest import ingest_task, preflight_task, validate_task
from tasks.notifications import notification_note, notify_finance_ops, notify_held_companies
from tasks.reminders import deliver_task, render_task
from tasks.reporting import outcome_artifact, report_files_task, reports_task, summary_task
from tasks.secrets import with_smtp_password
from tasks.warehouse import archive_task, begin_task, finish_task, publish_task


def task_runner_from_environment() -> TaskRunner:
    """The task runner the settings ask for: ``RECEIVABLES_TASK_RUNNER`` = ``threads``
    (default) or ``dask``; with ``dask``, ``RECEIVABLES_DASK_ADDRESS`` (``tcp://host:8786``)
    names an existing cluster, else a temporary local one is started per flow run with
    ``RECEIVABLES_DASK_WORKERS`` workers (default: Dask's choice for the machine)."""
    kind = os.environ.get("RECEIVABLES_TASK_RUNNER", "threads").strip().lower()
    if kind in ("", "threads", "thread", "threadpool"):
        return ThreadPoolTaskRunner()
    if kind != "dask":
        raise ConfigError(f"RECEIVABLES_TASK_RUNNER={kind!r} is not known; use 'threads' or 'dask'.")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # pragma: no cover - prefect-dask is a dependency
        raise ConfigError("RECEIVABLES_TASK_RUNNER=dask needs prefect-dask (pip install prefect-dask).") from exc
    address = os.environ.get("RECEIVABLES_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    workers = os.environ.get("RECEIVABLES_DASK_WORKERS")
    return DaskTaskRunner(cluster_kwargs={"n_workers": int(workers)} if workers else None)


@flow(
    name="receivables-nightly",
    flow_run_name=run_labels.flow_run_name,
    log_prints=True,
    task_runner=task_runner_from_environment(),
    on_failure=[notify_finance_ops],
)
def nightly(
    extracts: str,
    as_of: date | None = None,
    mode: MailMode | None = None,
    config: str | None = None,
    mapping: str | None = None,
    reminders: bool = True,
    redo_dunning: bool = False,
    config_dir: str | None = None,
    close: bool = False,
) -> dict:
    """Run the collections pipeline for one business date (default: today).

    ``reminders=False`` makes a report-only run (month-end close): no dunning state is
    written and no email is sent.  ``redo_dunning`` rewrites the dunning state of a date
    before the latest one, which is refused otherwise.  ``config_dir`` is the team's
    configuration folder (default ``RECEIVABLES_CONFIG_DIR``, else the shipped defaults).
    ``close`` makes it the month-end close, which also writes the expected-credit-loss
    provision (docs/close.md).
    """
    as_of = as_of or date.today()
    params = {"config": config, "mode": mode, "mapping": mapping, "config_dir": config_dir}
    settings, rules, problem = _settings_and_rules(params, reminders)
    resolved = settings.effective_mail_mode if settings is not None else "invalid-settings"
    label = run_labels.current_label(resolved)  # the settings just loaded, not loaded again
    if label is not None:
        run_labels.tag_flow_run(label)
    if problem is not None:
        return _stopped(as_of, resolved, problem, rejected=True)
    unreachable = _wait_for_warehouse(settings.db_url)
    if unreachable is not None:
        return _stopped(as_of, settings.effective_mail_mode, unreachable)
    run = Run(
        source=extracts,
        as_of=as_of,
        settings=settings,
        reminders=reminders,
        redo_dunning=redo_dunning,
        close=close,
        flow_run_id=_flow_run_id(),
        flow_run_name=flow_run.get_name(),
        rules=rules,
    )
    try:
        with run_labels.untagged_tasks():
            begin_task(run)
    except RunInProgress as exc:
        # the run that holds the lock goes on untouched; this one ends Failed with the reason
        return _stopped(as_of, settings.effective_mail_mode, exc, run=run)
    try:
        with run_labels.untagged_tasks():
            summary = pipeline.nightly_stages(run, _call_stage)
        notify_held_companies(summary, config)
    except Rejection as exc:
        return _rejected(run, exc)
    except BaseException as exc:
        fail(run, exc)
        _summarise_stop(run.as_of, settings.effective_mail_mode, "failed", str(exc) or type(exc).__name__, run)
        raise
    return summary


def _settings_and_rules(params: dict, reminders: bool) -> tuple:
    """The run's settings and rules (loaded once: flows/run_settings.py), with the SMTP
    password when mail may go out; a configuration problem comes back, not raised."""
    try:
        loaded = run_settings.take(_flow_run_id(), params)
        settings = loaded.settings
        if reminders and settings.effective_mail_mode != "preview":
            settings = with_smtp_password(settings)
        return settings, loaded.rules, None
    except ConfigError as exc:
        return None, None, exc


#: the Prefect task of each stage of ``pipeline.nightly_stages``
TASKS = {
    "ingest": ingest_task,
    "validate": validate_task,
    "preflight": preflight_task,
    "archive": archive_task,
    "cash_application": apply_cash_task,
    "dunning": dunning_task,
    "reports": reports_task,
    "render_reminders": render_task,
    "publish": publish_task,
    "deliver": deliver_task,
    "report_files": report_files_task,
    "summarise": summary_task,
    "finish": finish_task,
}
#: stages that a distributed runner runs as one task per company code
PER_COMPANY = {"cash_application", "dunning", "render_reminders"}


def _call_stage(stage: str, fn, *args):
    """One stage of the night as its task; on a distributed runner the per-company stages
    run in the flow, which hands each company's part to a task of its own.  A rejected input
    comes back from its task as a value (tasks/failures.py) and is raised here for the flow."""
    if stage in PER_COMPANY and _distributed():
        return fn(*args, map_company_parts)
    result = TASKS[stage](*task_arguments(args))
    if isinstance(result, Rejection):
        raise result
    return result


#: a collection with more items than this goes to its task quoted (see task_arguments)
QUOTED_ITEMS = 1000


def task_arguments(args: tuple) -> list:
    """A stage's arguments as its task gets them: a large list or dict (the night's composed
    emails: 71,203 on a size-l go-live) wrapped in Prefect's ``quote``, which the task
    receives unwrapped.  Prefect otherwise walks every item (and every field of each) looking
    for futures to track, ~2 s per 70,000 emails; what it loses is the run graph's edge from
    the task that made the collection."""
    return [quote(a) if isinstance(a, (list, tuple, set, dict)) and len(a) > QUOTED_ITEMS else a for a in args]


def _distributed() -> bool:
    """True on a runner that spreads tasks over processes or machines (Dask): there the
    per-company stages pay off; in the thread pool they would only add task overhead."""
    context = FlowRunContext.get()
    return context is not None and not isinstance(context.task_runner, ThreadPoolTaskRunner)


#: seconds between the quiet attempts to reach the warehouse at the start of a run
WAREHOUSE_RETRY_PAUSE = 10.0


def _wait_for_warehouse(url: str, attempts: int = 3) -> ReceivablesError | None:
    """Reach (and migrate) the warehouse before any task: a database restarting is worth a
    few quiet retries, and one that stays away is one paragraph in the flow's final state,
    not a traceback per task retry."""
    for attempt in range(1, attempts + 1):
        try:
            pipeline.warehouse_engine(url)
            return None
        except ReceivablesError as exc:
            if attempt == attempts:
                return exc
            time.sleep(WAREHOUSE_RETRY_PAUSE)
    return None


def _rejected(run: Run, exc: Exception) -> State:
    """Record the rejection in the run log and end the flow run as ``Rejected`` (a Failed
    state) with the paragraph, after publishing it as the run summary."""
    fail(run, exc)
    return _stopped(run.as_of, run.settings.effective_mail_mode, exc, run=run, rejected=True)


def _stopped(as_of: date, mode: str, exc: Exception, *, run: Run | None = None, rejected: bool = False) -> State:
    """The final state of a run that stopped with a reason a person must read: ``Rejected``
    for refused input or configuration (the same on every try), ``Failed`` otherwise; the
    run-summary artifact carries the same paragraph."""
    outcome = "rejected" if rejected or isinstance(exc, Rejection) else "failed"
    _summarise_stop(as_of, mode, outcome, str(exc), run)
    return Failed(name="Rejected" if outcome == "rejected" else "Failed", message=str(exc), data=exc)


def _summarise_stop(as_of: date, mode: str, outcome: str, reason: str, run: Run | None) -> None:
    counts = {}
    if run is not None:
        counts = {"quarantined_rows": run.counts.get("quarantined_rows", 0), "flow_run_name": run.flow_run_name}
    markdown = run_summary.outcome_markdown(
        as_of=str(as_of), mode=mode, outcome=outcome, reason=reason, run_id=run.run_id if run else None,
        counts=counts, notified=notification_note(),
    )  # fmt: skip
    outcome_artifact(markdown, f"AR run {as_of}: {outcome}")


def _flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None
