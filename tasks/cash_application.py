"""Stage 3 as a task: apply unapplied cash to open items."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.cash_application import CashApplication
from receivables.pipeline import Run
from receivables.validation import ValidatedSet


@task(name="apply-cash", cache_policy=NO_CACHE)
def apply_cash_task(run: Run, validated: ValidatedSet) -> CashApplication:
    result = pipeline.apply_cash(run, validated)
    c = result.counts
    get_run_logger().info(
        "cash application: %d of %d payments fully applied, %d applications, %d suggestions, unapplied %s",
        c["payments_fully_applied"],
        c["payments"],
        c["applications"],
        c["suggestions"],
        c["unapplied"],
    )
    return result
