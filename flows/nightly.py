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

from flows import run_labels
from receivables import pipeline
from receivables.errors import ConfigError, ReceivablesError
from receivables.pipeline import Run, fail
from receivables.rules import load_rules
from receivables.settings import MailMode, load_settings
from receivables.warehouse.run_lock import RunInProgress
from tasks.cash_application import apply_cash_task, company_cash_task
from tasks.dunning import company_dunning_task, dunning_task
from tasks.failures import Rejection
from tasks.ingest import ingest_task, validate_task
from tasks.notifications import notification_note, notify_finance_ops
from tasks.reminders import company_render_task, deliver_task, render_task
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
) -> dict:
    """Run the collections pipeline for one business date (default: today).

    ``reminders=False`` makes a report-only run (month-end close): no dunning state is
    written and no email is sent.  ``redo_dunning`` rewrites the dunning state of a date
    before the latest one, which is refused otherwise.  ``config_dir`` is the team's
    configuration folder (default ``RECEIVABLES_CONFIG_DIR``, else the shipped defaults).
    """
    as_of = as_of or date.today()
    label = run_labels.current_label()
    if label is not None:
        run_labels.tag_flow_run(label)
    try:
        settings = load_settings(config, mail_mode=mode, mapping=mapping, config_dir=config_dir)
        if reminders and settings.effective_mail_mode != "preview":
            settings = with_smtp_password(settings)
        rules = load_rules(settings.config_dir, settings.mapping)
    except ConfigError as exc:
        return _stopped(as_of, label.mode if label else "n/a", exc, rejected=True)
    unreachable = _wait_for_warehouse(settings.db_url)
    if unreachable is not None:
        return _stopped(as_of, settings.effective_mail_mode, unreachable)
    run = Run(
        source=extracts,
        as_of=as_of,
        settings=settings,
        reminders=reminders,
        redo_dunning=redo_dunning,
        flow_run_id=_flow_run_id(),
        flow_run_name=flow_run.get_name(),
        rules=rules,
    )
    try:
        begin_task(run)
    except RunInProgress as exc:
        # the run that holds the lock goes on untouched; this one ends Failed with the reason
        return _stopped(as_of, settings.effective_mail_mode, exc, run=run)
    try:
        extract_set = ingest_task(run)
        if isinstance(extract_set, Rejection):
            return _rejected(run, extract_set)
        validated = validate_task(run, extract_set)
        if isinstance(validated, Rejection):
            return _rejected(run, validated)
        archive_task(run, extract_set)
        codes = pipeline.company_codes(validated)
        if _distributed() and len(codes) > 1:
            cash, step, emails = _per_company(run, validated, codes)
            reports = reports_task(run, validated, cash, step)
        else:
            cash = apply_cash_task(run, validated)
            step = dunning_task(run, validated, cash)
            # reports first: on a large night they start the workbook in a background
            # process, which then runs while the reminders render
            reports = reports_task(run, validated, cash, step)
            emails = render_task(run, validated, cash, step)
        publish_task(run, validated, cash, step, emails, reports)
        deliver_task(run, step)
        files = report_files_task(run, validated, cash, step, reports)
        summary = summary_task(run, validated, cash, reports, files) | {"input_hashes": extract_set.input_hashes()}
        finish_task(run, summary)
    except BaseException as exc:
        fail(run, exc)
        _summarise_stop(run.as_of, settings.effective_mail_mode, "failed", str(exc) or type(exc).__name__, run)
        raise
    return summary


def _distributed() -> bool:
    """True on a runner that spreads tasks over processes or machines (Dask): there the
    per-company stages pay off; in the thread pool they would only add task overhead."""
    context = FlowRunContext.get()
    return context is not None and not isinstance(context.task_runner, ThreadPoolTaskRunner)


def _per_company(run: Run, validated, codes: list[str]):
    """Stages 3-5a as one task per company code, combined into the unpartitioned result."""
    parts = {code: pipeline.for_company(validated, code) for code in codes}
    with run.timed("cash_application"):
        futures = {code: company_cash_task.submit(code, parts[code], run.as_of, run.rules.matching) for code in codes}
        cash_parts = {code: future.result() for code, future in futures.items()}
        cash = pipeline.combine_cash(validated, list(cash_parts.values()), run.as_of)
    pipeline.count_cash(run, validated, cash)
    with run.timed("dunning"):
        history = pipeline.dunning_history(run)
        futures = {
            code: company_dunning_task.submit(
                code, parts[code], cash_parts[code], history, run.as_of, run.rules.dunning
            )
            for code in codes
        }
        step = pipeline.decide_dunning(run, pipeline.combine_dunning([f.result() for f in futures.values()], run.as_of))
    emails: list = []
    if step.write_state:
        with run.timed("render_reminders"):
            p = step.proposal
            customers = validated.frames["customers"]
            futures = []
            for code in codes:
                notices = p.notices[p.notices["company_code"].astype(str) == code]
                if notices.empty:
                    continue
                items = p.items[p.items["notice_id"].isin(set(notices["notice_id"]))]
                # the statement of account lists the customer's items of every company code
                open_items = cash.open_items_after[
                    cash.open_items_after["customer_id"].isin(set(notices["customer_id"]))
                ]
                futures.append(
                    company_render_task.submit(
                        code, notices, items, customers, open_items, run.as_of, run.rules.companies, run.rules.templates
                    )
                )
            emails = pipeline.combine_reminders(step, [f.result() for f in futures])
    return cash, step, emails


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
    outcome_artifact(
        as_of=as_of,
        mode=mode,
        outcome=outcome,
        reason=reason,
        run_id=run.run_id if run else None,
        counts=counts,
        notified=notification_note(),
    )


def _flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None
