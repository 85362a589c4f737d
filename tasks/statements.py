"""The statement night's own stages as tasks: who gets a statement, the emails, the outbox,
delivery (``receivables.statements_run``).  Reading, the gate, the preflight and cash
application are the night's tasks (tasks/ingest.py, tasks/cash_application.py)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from receivables import statements_run
from receivables.cash_application import CashApplication
from receivables.pipeline import Run
from receivables.preflight import Preflight
from receivables.validation import ValidatedSet
from tasks.failures import transient_only


@task(name="plan-statements", cache_policy=NO_CACHE)
def plan_statements_task(
    run: Run, validated: ValidatedSet, cash: CashApplication, checked: Preflight
) -> statements_run.StatementPlan:
    plan = statements_run.plan_for_run(run, validated, cash, checked)
    skipped = ", ".join(f"{reason} {n}" for reason, n in plan.skipped.items())
    get_run_logger().info("statements: %d to send; skipped: %s", len(plan.recipients), skipped)
    return plan


@task(name="compose-statements", cache_policy=NO_CACHE)
def compose_statements_task(run: Run, validated: ValidatedSet, cash: CashApplication, plan) -> list:
    return statements_run.compose_for_run(run, validated, cash, plan)


# Retrying is safe: a known key keeps its status, so a second try queues nothing twice.
@task(
    name="publish-statements",
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=transient_only,
    cache_policy=NO_CACHE,
)
def publish_statements_task(run: Run, emails: list) -> dict:
    return statements_run.publish_statements(run, emails)


# The outbox makes delivery idempotent per key, so a retry of the whole task never sends twice.
@task(name="deliver-statements", retries=1, retry_delay_seconds=60, cache_policy=NO_CACHE)
def deliver_statements_task(run: Run, emails: list):
    report = statements_run.deliver_statements(run, emails)
    logger = get_run_logger()
    (logger.info if report.ok else logger.warning)(report.summary())
    return report


def statements_artifact(summary: dict) -> None:
    """The statement night as a short markdown artifact (key ``run-summary``)."""
    s = summary["statements"]
    skipped = ", ".join(f"{reason.replace('_', ' ')}: {n}" for reason, n in s["skipped"].items())
    held = ", ".join(summary["held_companies"]) or "none"
    markdown = (
        f"# Statements of account {summary['as_of']}\n\n"
        f"- statements: {s['planned']} ({s['outbox']['inserted']} new in the outbox, "
        f"{s['outbox']['already_present']} already there this month)\n"
        f"- skipped: {skipped}\n- companies held back: {held}\n"
        f"- emails: {summary['emails']['summary']}\n"
    )
    create_markdown_artifact(key="run-summary", markdown=markdown, description=f"AR statements {summary['as_of']}")
