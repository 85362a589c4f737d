"""Stage 6 as tasks, and the run's Prefect artifacts: what a finance user reads on the
flow run's page (a markdown summary, the key tables, links to the workbook)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from receivables import pipeline
from receivables.money import to_decimal
from receivables.pipeline import DunningStep, Reports, Run
from receivables.validation import ValidatedSet


@task(name="build-reports", cache_policy=NO_CACHE)
def reports_task(run: Run, validated: ValidatedSet, cash, step: DunningStep) -> Reports:
    return pipeline.build_reports(run, validated, cash, step)


@task(name="report-files", cache_policy=NO_CACHE)
def report_files_task(run: Run, validated: ValidatedSet, cash, step: DunningStep, reports: Reports) -> dict:
    files = pipeline.write_report_files(run, validated, cash, step, reports)
    for name, path in files.items():
        create_link_artifact(key=name.replace("_", "-"), link=f"file://{path}", link_text=path.rsplit("/", 1)[-1], description=f"{name} for {run.as_of}")
    return files


@task(name="summarise", cache_policy=NO_CACHE)
def summary_task(run: Run, validated: ValidatedSet, cash=None, reports: Reports | None = None, files: dict | None = None) -> dict:
    summary = pipeline.summarise(run, validated, cash, reports, files)
    create_markdown_artifact(key="run-summary", markdown=_markdown(summary), description=f"AR run {run.as_of}")
    if not validated.quarantine.empty:
        create_table_artifact(key="quarantine", table=_records(validated.quarantine.head(500)), description="Quarantined input rows (first 500)")
    if reports is not None:
        create_table_artifact(key="collector-worklist", table=_records(reports.worklist.head(200), money=("overdue_amount",)), description="Collector worklist (top 200)")
        create_table_artifact(key="kpis", table=_records(reports.kpis[reports.kpis["company_code"] == "ALL"]), description="KPIs, all company codes")
    return summary


def _records(frame, money: tuple[str, ...] = ()) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None)
    for col in money:
        out[col] = [None if v is None else str(to_decimal(v)) for v in out[col]]
    return [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.items()} for r in out.to_dict("records")]


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
    lines += ["", "| company | currency | open amount after cash application |", "| --- | --- | ---: |"]
    for t in summary["open_totals"]:
        lines.append(f"| {t['company_code']} | {t['currency']} | {t['open_amount']} |")
    cash = summary.get("cash_application")
    if cash:
        applied = ", ".join(f"{c['amount']} {c['currency']}" for c in summary.get("cash_applied", [])) or "nothing"
        lines += ["", f"**Cash application:** {cash['payments_fully_applied']} of {cash['payments']} payments fully applied "
                  f"({applied}); {cash['suggestions']} suggestions for review; unapplied by reason {cash['unapplied']}."]
    dunning = summary.get("dunning")
    if dunning:
        lines += ["", f"**Dunning:** {dunning['notices']} notices {dunning['by_action']}, {dunning['advanced']} items advanced"
                  + ("." if dunning["state_written"] else f"; state not written: {dunning['why_not']}.")]
    emails = summary.get("emails")
    if emails:
        lines += ["", f"**Reminders:** {emails['summary']}"]
    kpis = summary.get("kpis")
    if kpis:
        lines += ["", "| KPI (all company codes, base currency) | value |", "| --- | ---: |"]
        lines += [f"| {k} | {v if v is not None else 'n/a'} |" for k, v in kpis.items()]
    if summary.get("files"):
        lines += ["", "Files: " + ", ".join(f"[{k}](file://{v})" for k, v in summary["files"].items())]
    return "\n".join(lines) + "\n"
