"""Warehouse tasks: the run log, the archive and the quarantine records."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.extracts import ExtractSet
from receivables.pipeline import Run
from receivables.validation import ValidatedSet
from tasks.failures import transient_only


@task(name="begin-run", retries=2, retry_delay_seconds=10, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def begin_task(run: Run) -> None:
    pipeline.begin(run)


@task(name="persist-inputs", retries=2, retry_delay_seconds=10, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def persist_inputs_task(run: Run, extracts: ExtractSet, validated: ValidatedSet) -> None:
    pipeline.persist_inputs(run, extracts, validated)


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_task(run: Run, summary: dict) -> None:
    pipeline.finish(run, summary)
