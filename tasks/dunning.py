"""Stage 4 as a task: the dunning proposal, and whether it becomes dunning state."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.pipeline import DunningStep, Run
from receivables.preflight import Preflight
from receivables.validation import ValidatedSet


@task(name="dunning", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def dunning_task(run: Run, validated: ValidatedSet, cash, checked: Preflight | None = None) -> DunningStep:
    step = pipeline.propose_dunning(run, validated, cash, checked)
    d = step.counts
    get_run_logger().info(
        "dunning: %d notices %s, %d items advanced%s",
        d["notices"],
        d["by_action"],
        d["advanced"],
        "" if step.write_state else f"; state not written: {step.why_not}",
    )
    return step
