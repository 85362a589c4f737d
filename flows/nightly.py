"""The nightly receivables flow: ingest -> validate -> archive -> apply cash -> dunning ->
reminders -> reports -> publish -> deliver -> report files.

Parameters are what an operator may change per run (extract location, as_of, mail mode, a
settings file, the ERP mapping, report-only, redo of an earlier date's dunning); the
warehouse URL and SMTP credentials come from settings and the environment so they never show
in the run's parameters.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Failed, State

from receivables.errors import ConfigError
from receivables.pipeline import Run, fail
from receivables.settings import MailMode, load_settings
from tasks.cash_application import apply_cash_task
from tasks.dunning import dunning_task
from tasks.failures import Rejection
from tasks.ingest import ingest_task, validate_task
from tasks.reminders import deliver_task, render_task
from tasks.reporting import report_files_task, reports_task, summary_task
from tasks.warehouse import archive_task, begin_task, finish_task, publish_task


@flow(name="receivables-nightly", log_prints=True)
def nightly(
    extracts: str,
    as_of: date | None = None,
    mode: MailMode | None = None,
    config: str | None = None,
    mapping: str | None = None,
    reminders: bool = True,
    redo_dunning: bool = False,
) -> dict:
    """Run the collections pipeline for one business date (default: today).

    ``reminders=False`` makes a report-only run (month-end close): no dunning state is
    written and no email is sent.  ``redo_dunning`` rewrites the dunning state of a date
    before the latest one, which is refused otherwise.
    """
    try:
        settings = load_settings(config, mail_mode=mode, mapping=mapping)
    except ConfigError as exc:
        return Failed(message=str(exc), data=exc)
    run = Run(
        source=extracts,
        as_of=as_of or date.today(),
        settings=settings,
        reminders=reminders,
        redo_dunning=redo_dunning,
        flow_run_id=_flow_run_id(),
    )
    begin_task(run)
    try:
        extract_set = ingest_task(run)
        if isinstance(extract_set, Rejection):
            return _rejected(run, extract_set)
        validated = validate_task(run, extract_set)
        if isinstance(validated, Rejection):
            return _rejected(run, validated)
        archive_task(run, extract_set)
        cash = apply_cash_task(run, validated)
        step = dunning_task(run, validated, cash)
        emails = render_task(run, validated, cash, step)
        reports = reports_task(run, validated, cash, step)
        publish_task(run, validated, cash, step, emails, reports)
        deliver_task(run, step)
        files = report_files_task(run, validated, cash, step, reports)
        summary = summary_task(run, validated, cash, reports, files) | {"input_hashes": extract_set.input_hashes()}
        finish_task(run, summary)
    except BaseException as exc:
        fail(run, exc)
        raise
    return summary


def _rejected(run: Run, exc: Exception) -> State:
    """Record the rejection in the run log and end the flow run as Failed with the paragraph."""
    fail(run, exc)
    return Failed(message=str(exc), data=exc)


def _flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None
