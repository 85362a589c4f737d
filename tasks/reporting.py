"""Stage 6 as tasks, and the run's Prefect artifacts: what a finance user reads on the
flow run's page (a markdown summary, the key tables, links to the workbook)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from receivables import case_tables, dispute_views, kpis, pipeline, run_summary
from receivables.kpi_labels import kpi_table
from receivables.money import to_decimal
from receivables.pipeline import DunningStep, Reports, Run
from receivables.validation import ValidatedSet


@task(name="build-reports", cache_policy=NO_CACHE)
def reports_task(run: Run, validated: ValidatedSet, cash, step: DunningStep) -> Reports:
    return pipeline.build_reports(run, validated, cash, step)


@task(name="report-files", cache_policy=NO_CACHE)
def report_files_task(run: Run, validated: ValidatedSet, cash, step: DunningStep, reports: Reports) -> dict:
    files = pipeline.write_report_files(run, validated, cash, step, reports)
    # a link only where users can open it: a file:// link from the Prefect UI opens nothing
    for name, link in pipeline.report_links(run, files).items():
        create_link_artifact(
            key=name.replace("_", "-"),
            link=link,
            link_text=files[name].rsplit("/", 1)[-1],
            description=f"{name} for {run.as_of}",
        )
    return files


@task(name="summarise", cache_policy=NO_CACHE)
def summary_task(
    run: Run,
    validated: ValidatedSet,
    cash=None,
    reports: Reports | None = None,
    files: dict | None = None,
    step=None,
    queued: dict | None = None,
    delivered=None,
    checked=None,
) -> dict:
    summary = pipeline.summarise(run, validated, cash, reports, files, step, queued, delivered, checked)
    create_markdown_artifact(
        key="run-summary", markdown=run_summary.summary_markdown(summary), description=f"AR run {run.as_of}"
    )
    if not validated.quarantine.empty:
        create_table_artifact(
            key="quarantine",
            table=_records(validated.quarantine.head(500)),
            description="Quarantined input rows (first 500)",
        )
    if reports is not None:
        base = run.settings.base_currency
        worklist = _records(reports.worklist.head(200), money=("overdue_amount",))
        for row in worklist:  # on a screen the short sentence; the full reason is in the workbook
            row["reason"] = row.get("summary") or row.get("reason")
        create_table_artifact(
            key="collector-worklist",
            table=run_summary.worklist_table(worklist, base),
            description="Collector worklist (top 200)",
        )
        month_end = kpis.previous_month_end(run.as_of)
        create_table_artifact(
            key="kpis",
            table=kpi_table(reports.kpis, base, month_end, reports.month_end_snapshot),
            description=f"KPIs by company code; money in {base}, the base currency",
        )
        _casework_artifacts(run, reports, step)
        _dispute_artifacts(run, reports)
        drivers = getattr(reports, "drivers", None)
        if drivers is not None and not drivers.empty:
            create_table_artifact(
                key="delinquency-drivers",
                table=_records(drivers, money=("amount",)),
                description=f"Overdue balance by driver and company code, in {base}; adds up to ar_overdue",
            )
    return summary


def _casework_artifacts(run: Run, reports: Reports, step) -> None:
    """The cases due, the collector view and the payment plans, each where the night has it."""
    base = run.settings.base_currency
    cases = getattr(reports, "cases", None)
    if cases is not None:
        due = case_tables.due_cases(cases, run.as_of, base)
        create_table_artifact(
            key="collection-cases",
            table=_records(due),
            description=f"Open collection cases whose next action is due (top {case_tables.SCREEN_ROWS}); "
            f"every case is on the workbook's Cases sheet",
        )
    collectors = getattr(reports, "collectors", None)
    if collectors is not None and not collectors.empty:
        create_table_artifact(
            key="collectors", table=_records(case_tables.collector_table(collectors)), description="Collector view"
        )
    plans = getattr(getattr(step, "plans", None), "plans", None)
    if plans is not None and not plans.empty:
        create_table_artifact(
            key="payment-plans",
            table=_records(case_tables.plan_table(plans)),
            description=f"Payment plans, broken ones first (top {case_tables.SCREEN_ROWS}); "
            "money in the plan's currency",
        )


def _dispute_artifacts(run: Run, reports: Reports) -> None:
    """The open disputes, breached first, and the top customers by open disputed amount
    (not KPI rows: a KPI row cannot name a customer), on a night with open disputes."""
    base = run.settings.base_currency
    view = getattr(reports, "dispute_view", None)
    table = dispute_views.screen_table(view, base)
    if table.empty:
        return
    create_table_artifact(
        key="disputes",
        table=_records(table),
        description=f"Open disputes, breached first (top {dispute_views.SCREEN_ROWS}); "
        "every dispute is on the workbook's Disputes sheet",
    )
    create_table_artifact(
        key="disputes-top-customers",
        table=_records(dispute_views.top_table(view, base)),
        description=f"Top {dispute_views.TOP_N} customers per company code by open disputed amount, in {base}",
    )


def outcome_artifact(markdown: str, description: str) -> None:
    """The run-summary artifact of a run that stopped before its reports (rejected input,
    a failure): ``run_summary.outcome_markdown``, under the same key as a normal summary."""
    try:
        create_markdown_artifact(key="run-summary", markdown=markdown, description=description)
    except Exception as exc:  # noqa: BLE001 - the run's own outcome matters more than its artifact
        get_run_logger().warning("The run-summary artifact could not be written: %s", exc)


def _records(frame, money: tuple[str, ...] = ()) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None)
    for col in money:
        out[col] = [None if v is None else str(to_decimal(v)) for v in out[col]]
    return [
        {k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.items()}
        for r in out.to_dict("records")
    ]
