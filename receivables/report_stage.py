"""Stage 6 of a run, the reports: aging with base totals, KPIs and the collector worklist
(``build_reports``), then the finance users' workbook and charts under
``reports_dir/<as_of>/`` (``write_report_files``) and their links on the users' share.

A large night's workbook is written by a background process while the reminders render, and
moved under its final name only after the publish, so a failed run never shows one.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from receivables import aging as aging_rules
from receivables import cash_application, kpis, worklist
from receivables.validation import ValidatedSet
from receivables.warehouse.database import money_sums, read_table

if TYPE_CHECKING:  # the pipeline imports this module; its types only annotate here
    from receivables.pipeline import DunningStep, Run


@dataclass
class Reports:
    aging: pd.DataFrame
    kpis: pd.DataFrame
    worklist: pd.DataFrame
    missing_fx: list[str]
    #: a large night's workbook, being written to a ``.partial`` file by a background process
    #: while the reminders render; ``write_report_files`` collects it
    workbook: Future | None = None

    @property
    def counts(self) -> dict:
        return {
            "aging_rows": len(self.aging),
            "kpis": len(self.kpis),
            "worklist": len(self.worklist),
            "missing_fx": list(self.missing_fx),
        }


#: aging rows from which the workbook is written in a background process: below it, starting
#: a process (~2 s) costs more than the workbook
BACKGROUND_WORKBOOK_ROWS = 20_000


def build_reports(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep
) -> Reports:
    """Stage 6: aging with base totals, KPIs and the collector worklist."""
    f = validated.frames
    config = run.rules.reporting
    base = run.settings.base_currency
    aged = aging_rules.age_open_items(cash.open_items_after, run.as_of, config.aging)
    based = aging_rules.add_base_totals(aged, f["fx_rates"], base, run.as_of)
    p = step.proposal
    kpi_rows = kpis.compute_kpis(
        cash.open_items_after,
        run.as_of,
        cleared_items=f["cleared_items"],
        customers=f["customers"],
        promises=f["promises"],
        broken_promises=p.broken_promises,
        disputes=f["disputes"],
        unapplied=cash.unapplied,
        payments=f["payments"],
        fx_rates=f["fx_rates"],
        base_currency=base,
        previous_month_end_aging=_month_end_aging(run),
        config=config.kpis,
    )
    work = worklist.build_worklist(
        based.aging,
        p.notices,
        p.skipped,
        p.broken_promises,
        f["disputes"],
        f["customers"],
        cash.unapplied,
        run.as_of,
        config,
        fx_rates=f["fx_rates"],
        base_currency=base,
    )
    reports = Reports(
        aging=based.aging, kpis=kpi_rows, worklist=work.assign(currency=base), missing_fx=list(based.missing_currencies)
    )
    if run.settings.render_workers > 1 and len(reports.aging) >= BACKGROUND_WORKBOOK_ROWS:
        reports.workbook = _write_workbook_in_background(
            _workbook_path(run).with_suffix(".xlsx.partial"), _report_sheets(validated, cash, step, reports)
        )
    return reports


def _workbook_path(run: Run) -> Path:
    return run.report_dir / f"receivables-{run.as_of.isoformat()}.xlsx"


def _report_sheets(
    validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports
) -> dict:
    from receivables import workbook

    f = validated.frames
    return workbook.report_sheets(
        reports.aging,
        reports.worklist,
        cash.unapplied,
        step.proposal.notices,
        reports.kpis,
        customers=f["customers"],
        payments=f["payments"],
    )


def _write_workbook_in_background(path: Path, sheets: dict) -> Future:
    """Start writing the workbook in another process (xlsxwriter takes ~30 s for a million
    cells, which then overlaps rendering the reminders); the future gives its path."""
    from receivables import workbook

    # spawn, not fork: the caller may be a Prefect worker with threads holding locks
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(workbook.write_workbook, path, sheets)
    pool.shutdown(wait=False)  # the submitted work still finishes; the process exits after it
    return future


def _month_end_aging(run: Run) -> pd.DataFrame | None:
    """The aging the warehouse holds for the previous month end, or None without such a run."""
    day = kpis.previous_month_end(run.as_of)
    rows = read_table(run.engine, "aging", as_of=day)
    if rows.empty:
        history = read_table(run.engine, "run_log")
        ran = not history[(history["as_of"] == day) & (history["status"] == "succeeded")].empty
        return rows if ran else None
    return aging_rules.aging_from_warehouse(rows)


def write_report_files(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports
) -> dict[str, str]:
    """The finance users' workbook and the charts, under ``reports_dir/<as_of>/``."""
    from receivables import charts, workbook

    folder = run.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    book = _workbook_path(run)
    if reports.workbook is not None:
        # only a run that has published shows its workbook under the final name
        os.replace(reports.workbook.result(), book)
    else:
        workbook.write_workbook(book, _report_sheets(validated, cash, step, reports))
    config = run.rules.reporting
    aging_png = charts.aging_chart(reports.aging, folder / "aging-by-bucket.png", config.aging)
    history = money_sums(
        run.engine, "aging", ["as_of", "currency"], [b.column for b in config.aging.buckets] + ["total"]
    )
    trend_png = charts.trend_chart(history, folder / "trend.png", config.aging)
    # absolute: the paths are shown in artifacts and the CLI, read far from the run's folder
    return {
        "workbook": str(book.resolve()),
        "aging_chart": str(Path(aging_png).resolve()),
        "trend_chart": str(Path(trend_png).resolve()),
    }


def report_links(run: Run, files: dict[str, str]) -> dict[str, str]:
    """Links to the report files under ``settings.reports_base_url`` (the share users open),
    ``<url>/<as_of>/<file name>``; none without a base URL."""
    base = (run.settings.reports_base_url or "").strip().rstrip("/")
    if not base:
        return {}
    from urllib.parse import quote

    return {name: f"{base}/{run.as_of.isoformat()}/{quote(Path(path).name)}" for name, path in files.items()}
