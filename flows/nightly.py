"""The nightly receivables flow: ingest -> validate -> persist inputs -> report.

Parameters are what an operator may change per run (extract location, as_of, mail mode, a
settings file, the ERP mapping); the warehouse URL and SMTP credentials come from settings
and the environment so they never show in the run's parameters.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Failed, State

from receivables.errors import ConfigError
from receivables.pipeline import Run, fail
from receivables.settings import MailMode, load_settings
from tasks.failures import Rejection
from tasks.ingest import ingest_task, validate_task
from tasks.reporting import summary_task
from tasks.warehouse import begin_task, finish_task, persist_inputs_task


@flow(name="receivables-nightly", log_prints=True)
def nightly(
    extracts: str,
    as_of: date | None = None,
    mode: MailMode | None = None,
    config: str | None = None,
    mapping: str | None = None,
) -> dict:
    """Run the nightly collections pipeline for one business date (default: today)."""
    try:
        settings = load_settings(config, mail_mode=mode, mapping=mapping)
    except ConfigError as exc:
        return Failed(message=str(exc), data=exc)
    run = Run(source=extracts, as_of=as_of or date.today(), settings=settings, flow_run_id=_flow_run_id())
    begin_task(run)
    try:
        extract_set = ingest_task(run)
        if isinstance(extract_set, Rejection):
            return _rejected(run, extract_set)
        validated = validate_task(run, extract_set)
        if isinstance(validated, Rejection):
            return _rejected(run, validated)
        persist_inputs_task(run, extract_set, validated)
        summary = summary_task(run, validated) | {"input_hashes": extract_set.input_hashes()}
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
