"""Run summary as Prefect artifacts: what a finance user reads in the flow run's page."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.pipeline import Run
from receivables.validation import ValidatedSet


@task(name="summarise", cache_policy=NO_CACHE)
def summary_task(run: Run, validated: ValidatedSet) -> dict:
    summary = pipeline.summarise(run, validated)
    create_markdown_artifact(key="run-summary", markdown=_markdown(summary), description=f"AR run {run.as_of}")
    if not validated.quarantine.empty:
        rows = validated.quarantine.head(500).astype(object).where(validated.quarantine.head(500).notna(), None)
        create_table_artifact(key="quarantine", table=rows.to_dict("records"), description="Quarantined input rows (first 500)")
    return summary


def _markdown(summary: dict) -> str:
    lines = [
        f"# Receivables run {summary['as_of']}",
        "",
        f"run `{summary['run_id']}`, mail mode **{summary['mode']}**",
        "",
        "| extract | read | accepted | quarantined |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, c in summary["extracts"].items():
        if c["read"]:
            lines.append(f"| {name} | {c['read']} | {c['accepted']} | {c['quarantined']} |")
    lines += ["", "| company | currency | open amount |", "| --- | --- | ---: |"]
    for t in summary["open_totals"]:
        lines.append(f"| {t['company_code']} | {t['currency']} | {t['open_amount']} |")
    return "\n".join(lines) + "\n"
