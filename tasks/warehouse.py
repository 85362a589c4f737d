"""Warehouse tasks: the run log, the archive, and publishing a run's rows in one transaction."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.extracts import ExtractSet
from receivables.pipeline import DunningStep, Reports, Run
from receivables.validation import ValidatedSet
from tasks.failures import transient_only


@task(name="begin-run", retries=2, retry_delay_seconds=10, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def begin_task(run: Run) -> None:
    pipeline.begin(run)


@task(
    name="archive-inputs", retries=2, retry_delay_seconds=10, retry_condition_fn=transient_only, cache_policy=NO_CACHE
)
def archive_task(run: Run, extracts: ExtractSet) -> Path:
    return pipeline.archive(run, extracts)


# Retrying a publish is safe: it replaces this as_of's rows and the outbox ignores known keys.
@task(name="publish", retries=2, retry_delay_seconds=30, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def publish_task(
    run: Run, validated: ValidatedSet, cash, step: DunningStep, emails: list, reports: Reports
) -> dict | None:
    return pipeline.publish(run, validated, cash, step, emails, reports)


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_task(run: Run, summary: dict) -> None:
    pipeline.finish(run, summary)
