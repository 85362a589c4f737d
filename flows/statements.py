"""The monthly statements flow: a statement of account to every customer with an open balance.

Deployed as ``statements`` in prefect.yaml (the first business day of each month); the
stages and their order are ``receivables.statements_run.statement_stages``, each run here as
its task.  It reads and validates the extract set and applies its cash like a night, then
sends the statements through the outbox; it takes the as_of's warehouse lock, shared with the
night of that date, and writes only its run-log row besides the outbox.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Failed

from flows import run_labels, run_settings
from flows.nightly import _flow_run_id, _wait_for_warehouse
from receivables import pipeline, statements_run
from receivables.errors import ConfigError
from receivables.pipeline import Run
from receivables.settings import MailMode
from receivables.warehouse.run_lock import RunInProgress
from tasks.cash_application import apply_cash_task
from tasks.failures import Rejection
from tasks.ingest import ingest_task, preflight_task, validate_task
from tasks.notifications import notify_finance_ops
from tasks.secrets import with_smtp_password
from tasks.statements import (
    compose_statements_task,
    deliver_statements_task,
    plan_statements_task,
    publish_statements_task,
    statements_artifact,
)
from tasks.warehouse import begin_task, finish_task

#: the Prefect task of each stage of ``statements_run.statement_stages``
TASKS = {
    "ingest": ingest_task,
    "validate": validate_task,
    "preflight": preflight_task,
    "cash_application": apply_cash_task,
    "plan_statements": plan_statements_task,
    "compose_statements": compose_statements_task,
    "publish_statements": publish_statements_task,
    "deliver_statements": deliver_statements_task,
    "finish": finish_task,
}


def statements_run_name() -> str:
    """``statements-<as_of>``: the run list reads like the team's calendar."""
    as_of = flow_run.get_parameters().get("as_of") or date.today()
    return f"statements-{as_of}"


@flow(
    name="receivables-statements", flow_run_name=statements_run_name, log_prints=True, on_failure=[notify_finance_ops]
)
def statements(
    extracts: str,
    as_of: date | None = None,
    mode: MailMode | None = None,
    config: str | None = None,
    mapping: str | None = None,
    config_dir: str | None = None,
) -> dict:
    """Send the statements of account for one business date (default: today), once a month
    per customer: a rerun of the month sends nothing twice."""
    as_of = as_of or date.today()
    params = {"config": config, "mode": mode, "mapping": mapping, "config_dir": config_dir}
    try:
        loaded = run_settings.take(_flow_run_id(), params)
    except ConfigError as exc:
        return Failed(name="Rejected", message=str(exc), data=exc)
    settings = loaded.settings
    if settings.effective_mail_mode != "preview":
        settings = with_smtp_password(settings)
    unreachable = _wait_for_warehouse(settings.db_url)
    if unreachable is not None:
        return Failed(message=str(unreachable), data=unreachable)
    run = Run(
        source=extracts,
        as_of=as_of,
        settings=settings,
        flow_run_id=_flow_run_id(),
        flow_run_name=flow_run.get_name(),
        rules=loaded.rules,
    )
    try:
        with run_labels.untagged_tasks():
            begin_task(run)
    except RunInProgress as exc:
        return Failed(message=str(exc), data=exc)
    try:
        with run_labels.untagged_tasks():
            summary = statements_run.statement_stages(run, _call_stage)
    except Rejection as exc:
        pipeline.fail(run, exc)
        return Failed(name="Rejected", message=str(exc), data=exc)
    except BaseException as exc:
        pipeline.fail(run, exc)
        raise
    statements_artifact(summary)
    return summary


def _call_stage(stage: str, fn, *args) -> object:
    """One stage as its task; a rejected input comes back as a value and is raised here."""
    result = TASKS[stage](*args)
    if isinstance(result, Rejection):
        raise result
    return result
