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
    c = run.counts["cash_application"]
    get_run_logger().info(
        "cash application: %d of %d payments fully applied, %d applications, %d suggestions, unapplied %s",
        c["payments_fully_applied"],
        c["payments"],
        c["applications"],
        c["suggestions"],
        c["unapplied"],
    )
    return result


# One company code's cash on a (possibly remote) worker: pure, so only that company's frames
# travel; the flow combines the parts and records the counts.
@task(name="apply-cash-company", task_run_name="apply-cash-{company_code}", cache_policy=NO_CACHE)
def company_cash_task(company_code: str, part: ValidatedSet, as_of, rules) -> CashApplication:
    return pipeline.match_cash(part, as_of, rules)
