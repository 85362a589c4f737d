"""Stage 5 as tasks: render the reminders, then deliver the committed outbox exactly once."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.pipeline import DunningStep, Run
from receivables.validation import ValidatedSet


@task(name="render-reminders", cache_policy=NO_CACHE)
def render_task(run: Run, validated: ValidatedSet, cash, step: DunningStep) -> list:
    return pipeline.render_reminders(run, validated, cash, step)


# The outbox makes delivery idempotent per key, so a retry of the whole task never sends twice.
@task(name="deliver-reminders", retries=1, retry_delay_seconds=60, cache_policy=NO_CACHE)
def deliver_task(run: Run, step: DunningStep, queued: dict | None = None):
    report = pipeline.deliver_reminders(run, step, queued)
    if report is not None:
        logger = get_run_logger()
        (logger.info if report.ok else logger.warning)(report.summary())
    return report
