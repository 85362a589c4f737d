"""Stages 1-2 as tasks: read the extract set, the great-expectations gate, then the preflight."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.extracts import ExtractSet
from receivables.pipeline import Run
from receivables.preflight import Preflight
from receivables.validation import ValidatedSet
from tasks.failures import rejection_as_value, transient_only

# Frames are passed in memory; hashing them for a cache key would cost more than the stage.


@task(name="ingest", retries=2, retry_delay_seconds=15, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
@rejection_as_value
def ingest_task(run: Run) -> ExtractSet:
    extracts = pipeline.ingest(run)
    logger = get_run_logger()
    for src in extracts.sources.values():
        logger.info("read %s: %d rows, sha256 %s", src.name, src.rows, src.sha256[:12])
    return extracts


@task(name="validate", cache_policy=NO_CACHE)
@rejection_as_value
def validate_task(run: Run, extracts: ExtractSet) -> ValidatedSet:
    validated = pipeline.validate(run, extracts)
    get_run_logger().info(
        "validation: %d rows quarantined (%s)",
        validated.quarantined_rows,
        ", ".join(f"{k} {v['accepted']}/{v['read']}" for k, v in validated.counts.items() if v["read"]),
    )
    return validated


@task(name="preflight", cache_policy=NO_CACHE)
@rejection_as_value
def preflight_task(run: Run, validated: ValidatedSet, accounts: list[str] | None = None) -> Preflight:
    checked = pipeline.check_configuration(run, validated, accounts)
    logger = get_run_logger()
    for problem in checked.problems:
        # a configuration problem is a paragraph to act on, never a traceback
        log = logger.warning if problem.severity == "error" else logger.info
        log("configuration: %s", problem.paragraph())
    return checked
