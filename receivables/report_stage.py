"""Stage 6 of a run, the reports: aging with base totals, KPIs and the collector worklist
(``build_reports``), then the finance users' workbook and charts under
``reports_dir/<as_of>/`` (``write_report_files``) and their links on the users' share.

The workbook needs two things known at different times: the stage frames (here, when the
reports are built) and what delivery did with each email (only after ``deliver``).  The
report-files stage reads the latter from the warehouse: the ``email_outbox`` rows of the as_of,
which are the truth about sending whichever process sent.  A large night's workbook is written
by a background process from the moment the reports exist, finished with those outbox rows,
and moved under its final name only after the publish, so a failed run never shows one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from receivables import aging as aging_rules
from receivables import cash_application, delinquency, dunning, kpis, worklist
from receivables.casework.case_worklist import worklist_from_cases
from receivables.casework.cases import Cases, derive_cases, night_facts
from receivables.casework.collectors import COLLECTOR_COLUMNS, collector_view
from receivables.casework.lifecycle import CASE_COLUMNS, EVENT_COLUMNS
from receivables.close.stage import CloseOutputs, build_close, write_close_files
from receivables.dispute_views import dispute_view
from receivables.disputes import STATUS_COLUMNS as DISPUTE_STATUS_COLUMNS
from receivables.disputes import dispute_status
from receivables.dunning import COMPANY_NOT_CONFIGURED
from receivables.refund_export import write_refund_files
from receivables.refunds import empty_refunds, propose_refunds
from receivables.root_causes import root_causes
from receivables.validation import ValidatedSet
from receivables.warehouse.aging_history import aging_of
from receivables.warehouse.case_history import handed_over
from receivables.warehouse.database import money_sums, read_table, row_tuples
from receivables.warehouse.tables import email_outbox
from receivables.worklist_reasons import Balances, at_rates
from receivables.worklist_reasons import balances as balances_of

if TYPE_CHECKING:  # the pipeline imports this module; its types only annotate here
    from receivables.pipeline import DunningStep, Run
    from receivables.workbook import BackgroundWorkbook, Delivery, WorkbookInputs


@dataclass
class Reports:
    aging: pd.DataFrame
    kpis: pd.DataFrame
    worklist: pd.DataFrame
    missing_fx: list[str]
    #: whether the warehouse had the previous month end's aging (CEI is blank without it)
    month_end_snapshot: bool = True
    #: the night's promises to pay, whichever the source (``dunning.promise_book``), as the
    #: KPIs counted them and the workbook lists them
    promises: pd.DataFrame | None = None
    #: a large night's workbook, being written to a ``.partial`` file by a background process
    #: while the reminders render; ``write_report_files`` finishes it
    workbook: BackgroundWorkbook | None = None
    #: the collection cases open or closed tonight, what happened to them, the collector view
    cases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CASE_COLUMNS))
    case_events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVENT_COLUMNS))
    collectors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLLECTOR_COLUMNS))
    #: net credit balances old enough to pay back (``receivables.refunds``), amounts in cents
    refunds: pd.DataFrame = field(default_factory=empty_refunds)
    #: the overdue balance per company code and driver (``receivables.delinquency``), base cents
    drivers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=delinquency.DRIVER_COLUMNS))
    #: the month-end close's part: write-off proposals, handover packages, the provision
    close: CloseOutputs = field(default_factory=lambda: CloseOutputs(tables={}))
    #: every dispute opened by as_of: age, target date, breach, escalation (``receivables.disputes``)
    dispute_status: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DISPUTE_STATUS_COLUMNS))
    #: the same disputes with currency, base amount and open flag (``receivables.dispute_views``)
    dispute_view: pd.DataFrame | None = None

    @property
    def counts(self) -> dict:
        return {
            "aging_rows": len(self.aging),
            "kpis": len(self.kpis),
            "worklist": len(self.worklist),
            "missing_fx": list(self.missing_fx),
            "cases": Cases(self.cases, self.case_events).counts,
            "close": self.close.counts,
        }


#: aging and open-item rows from which the workbook is written in a background process: below
#: it, starting a process (~2 s) costs more than the workbook
BACKGROUND_WORKBOOK_ROWS = 20_000
#: the open-item columns the workbook shows
_ITEM_COLUMNS = [
    "company_code",
    "document_no",
    "document_type",
    "customer_id",
    "document_date",
    "due_date",
    "currency",
    "open_amount",
    "reference",
    "dunning_block",
]
_CUSTOMER_COLUMNS = ["customer_id", "name", "collector", "credit_limit", "currency", "company_code", "dunning_block"]
_PAYMENT_COLUMNS = ["payment_id", "value_date", "amount", "payer_name", "remittance_info"]
_OUTBOX_COLUMNS = [
    "notice_id",
    "recipients",
    "status",
    "error",
    "mode",
    "eml_path",
    "delivered_to",
    "redirected_at",
    "updated_at",
]


def build_reports(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep
) -> Reports:
    """Stage 6: aging with base totals, KPIs and the collector worklist."""
    f = validated.frames
    config = run.rules.reporting
    base = run.settings.base_currency
    aged = aging_rules.age_open_items(cash.open_items_after, run.as_of, config.aging)
    based = aging_rules.add_base_totals(aged, f["fx_rates"], base, run.as_of)
    month_end = _month_end_aging(run)
    # one promise lifecycle: the extract's promises and the contact log's PROMISE outcomes
    promises = dunning.promise_book(f["promises"], f.get("activities"))
    # the dispute lifecycle first: the KPIs count its disputes opened and resolved
    disputed = dispute_status(f["disputes"], run.as_of, run.rules.disputes)
    kpi_rows = _kpis(run, validated, cash, step, promises, month_end, disputed)
    proposed = propose_refunds(cash.open_items_after, f["customers"], run.as_of, config.refunds)
    signals = _signals(run, validated, cash, step, based.aging, proposed, disputed)
    cases, work, collectors = _casework(run, validated, cash, step, based.aging, signals, promises)
    reports = Reports(
        aging=based.aging,
        kpis=kpi_rows,
        worklist=work.assign(currency=base),
        missing_fx=list(based.missing_currencies),
        month_end_snapshot=month_end is not None,
        promises=promises,
        cases=cases.cases,
        case_events=cases.events,
        collectors=collectors,
        refunds=proposed,
        drivers=_drivers(run, validated, cash, step, promises),
        dispute_status=disputed,
        dispute_view=dispute_view(
            disputed,
            f["disputes"],
            cash.open_items_after,
            f["cleared_items"],
            f["customers"],
            f["fx_rates"],
            base,
            run.as_of,
        ),
        close=build_close(run, validated, cash, step, based.aging, cases.cases),
    )
    rows = len(reports.aging) + len(cash.open_items_after)
    if run.settings.render_workers > 1 and rows >= BACKGROUND_WORKBOOK_ROWS:
        from receivables.workbook import BackgroundWorkbook

        partial = _workbook_path(run).with_suffix(".xlsx.partial")
        reports.workbook = BackgroundWorkbook(partial, workbook_inputs(run, validated, cash, step, reports))
    return reports


def _signals(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    aging: pd.DataFrame,
    refunds: pd.DataFrame,
    disputed: pd.DataFrame,
) -> tuple[pd.DataFrame, Balances]:
    """Tonight's reasons a customer needs a person (``worklist.build_worklist``), which the
    collection cases carry from night to night, and the aging's balances they were found from
    (the cases read them too: computed once)."""
    f, p = validated.frames, step.proposal
    base = run.settings.base_currency
    balances = balances_of(aging, run.rules.reporting, at_rates(f["fx_rates"], base, pd.Timestamp(run.as_of)))
    frame = worklist.build_worklist(
        aging,
        p.notices,
        p.skipped,
        p.broken_promises,
        f["disputes"],
        f["customers"],
        cash.unapplied,
        run.as_of,
        run.rules.reporting,
        fx_rates=f["fx_rates"],
        base_currency=run.settings.base_currency,
        plans=step.plans.plans,
        refunds=refunds,
        dispute_status=disputed,
        balances=balances,
    )
    return frame, balances


def _kpis(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    promises: pd.DataFrame | None,
    month_end: pd.DataFrame | None,
    disputed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    f = validated.frames
    return kpis.compute_kpis(
        cash.open_items_after,
        run.as_of,
        cleared_items=f["cleared_items"],
        customers=f["customers"],
        promises=promises,
        broken_promises=step.proposal.broken_promises,
        disputes=f["disputes"],
        unapplied=cash.unapplied,
        payments=f["payments"],
        fx_rates=f["fx_rates"],
        base_currency=run.settings.base_currency,
        previous_month_end_aging=month_end,
        config=run.rules.reporting.kpis,
        plans=step.plans.plans,
        dispute_status=disputed,
    )


def _drivers(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    promises: pd.DataFrame | None,
) -> pd.DataFrame:
    """The overdue balance split by driver: disputes, the customer's money, promises, plans,
    blocks, the agency, plain lateness (``receivables.delinquency``)."""
    f = validated.frames
    facts = delinquency.driver_facts(
        run.as_of,
        skipped=step.proposal.skipped,
        promises=promises,
        promise_grace_days=run.rules.reporting.kpis.promise_grace_days,
        paused_items=step.plans.paused_items(),
        handed_over=handed_over(step.previous_cases) if step.previous_cases is not None else None,
    )
    return delinquency.delinquency_drivers(
        cash.open_items_after,
        run.as_of,
        disputes=f["disputes"],
        customers=f["customers"],
        unapplied=cash.unapplied,
        facts=facts,
        fx_rates=f["fx_rates"],
        base_currency=run.settings.base_currency,
    )


def _casework(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    aging: pd.DataFrame,
    signals: tuple[pd.DataFrame, Balances],
    promises: pd.DataFrame | None,
) -> tuple[Cases, pd.DataFrame, pd.DataFrame]:
    """Tonight's collection cases carried on from the previous night's, the worklist of their
    due actions (with tonight's reasons and balances as ``signals``, ``_signals``'), and the
    collector view."""
    f, p, config = validated.frames, step.proposal, run.rules.reporting
    reasons, balances = signals
    facts = night_facts(
        run.as_of,
        aging,
        config,
        signals=reasons,
        notices=p.notices,
        skipped=p.skipped,
        broken_promises=p.broken_promises,
        history=step.history,
        open_items=cash.open_items_after,
        disputes=f["disputes"],
        plans=step.plans.plans,
        plan_events=step.plans.events,
        promises=promises,
        applications=cash.applications,
        activities=f.get("activities"),
        customers=f["customers"],
        fx_rates=f["fx_rates"],
        base_currency=run.settings.base_currency,
        writeoff_approvals=f.get("writeoff_approvals"),
        balances=balances,
    )
    cases = derive_cases(
        step.previous_cases,
        facts,
        config.cases,
        dispute_follow_up_days=config.worklist.dispute_follow_up_days,
        previous_as_of=step.previous_night,
    )
    work = worklist_from_cases(cases.cases, reasons, facts, run.as_of, config)
    collectors = collector_view(
        cases.cases,
        f.get("activities"),
        promises,
        p.broken_promises,
        cash.open_items_after,
        f["customers"],
        run.as_of,
        config.kpis.promise_grace_days,
    )
    return cases, work, collectors


def _workbook_path(run: Run) -> Path:
    return run.report_dir / f"receivables-{run.as_of.isoformat()}.xlsx"


def workbook_inputs(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports
) -> WorkbookInputs:
    """What the workbook shows of this run's stages: the frames (only the columns it reads, as
    they may cross to another process) and the run's facts."""
    from receivables.workbook import RunFacts, WorkbookInputs

    f = validated.frames
    p = step.proposal
    base = run.settings.base_currency
    held = p.skipped.loc[p.skipped["reason"] == COMPANY_NOT_CONFIGURED, "company_code"] if not p.skipped.empty else []
    facts = RunFacts(
        as_of=run.as_of,
        run_id=run.run_id,
        mode=run.settings.effective_mail_mode,
        base_currency=base,
        dunning_written=step.write_state,
        why_not=step.why_not,
        quarantined_rows=int(validated.quarantined_rows),
        missing_fx=list(reports.missing_fx),
        month_end=kpis.previous_month_end(run.as_of),
        month_end_snapshot=reports.month_end_snapshot,
        held_companies=sorted({str(c) for c in held}),
    )
    return WorkbookInputs(
        facts=facts,
        config=run.rules.reporting,
        rates=aging_rules.rates_on(f["fx_rates"], base, run.as_of),
        aging=reports.aging,
        worklist=reports.worklist,
        kpis=reports.kpis,
        notices=p.notices,
        dunning_items=p.items[["company_code", "document_no", "level"]],
        skipped=p.skipped[["company_code", "document_no", "reason", "level"]],
        broken_promises=p.broken_promises,
        open_items=_only(cash.open_items_after, _ITEM_COLUMNS),
        customers=_only(f["customers"], _CUSTOMER_COLUMNS),
        payments=_only(f["payments"], _PAYMENT_COLUMNS),
        unapplied=cash.unapplied,
        suggestions=cash.suggested,
        disputes=f.get("disputes"),
        promises=reports.promises,
        payment_plans=f.get("payment_plans"),
        cases=reports.cases,
        collectors=reports.collectors,
        plan_status=step.plans.plans,
        refunds=reports.refunds,
        provisions=reports.close.tables.get("provisions"),
        writeoffs=reports.close.tables.get("writeoff_proposals"),
        drivers=reports.drivers,
        root_causes=root_causes(run.engine, run.as_of, reports.drivers, reports.dispute_status),
        dispute_status=reports.dispute_view,
    )


def _only(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[[c for c in columns if c in frame.columns]]


def delivery_of(run: Run, charts: dict[str, str]) -> Delivery:
    """What delivery did with the as_of's emails, from the outbox (the truth about sending,
    whichever process sent), and the chart files."""
    from receivables.workbook import Delivery

    query = sa.select(*[email_outbox.c[c] for c in _OUTBOX_COLUMNS]).where(email_outbox.c.as_of == run.as_of)
    with run.engine.connect() as conn:
        rows = pd.DataFrame(row_tuples(conn.execute(query)), columns=_OUTBOX_COLUMNS)
    return Delivery(outbox=rows, charts=charts)


def _month_end_aging(run: Run) -> pd.DataFrame | None:
    """The aging the warehouse holds for the previous month end, or None without such a run."""
    day = kpis.previous_month_end(run.as_of)
    rows = aging_of(run.engine, day)
    if rows.empty:
        history = read_table(run.engine, "run_log")
        ran = not history[(history["as_of"] == day) & (history["status"] == "succeeded")].empty
        return rows if ran else None
    return rows


def write_report_files(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports
) -> dict[str, str]:
    """The charts, then the finance users' workbook (which embeds them), then the refund
    exports per company (``receivables.refund_export``) under ``reports_dir/<as_of>/``."""
    from receivables import charts
    from receivables.workbook import write_report_workbook

    folder = run.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    config = run.rules.reporting
    aging_png = charts.aging_chart(reports.aging, folder / "aging-by-bucket.png", config.aging)
    history = money_sums(
        run.engine, "aging", ["as_of", "currency"], [b.column for b in config.aging.buckets] + ["total"]
    )
    trend_png = charts.trend_chart(history, folder / "trend.png", config.aging)
    delivery = delivery_of(run, {"aging_chart": str(aging_png), "trend_chart": str(trend_png)})
    book = _workbook_path(run)
    if reports.workbook is not None:
        # only a run that has published shows its workbook under the final name
        os.replace(reports.workbook.finish(delivery), book)
    else:
        write_report_workbook(book, workbook_inputs(run, validated, cash, step, reports), delivery)
    # absolute: the paths are shown in artifacts and the CLI, read far from the run's folder
    return {
        "workbook": str(book.resolve()),
        "aging_chart": str(Path(aging_png).resolve()),
        "trend_chart": str(Path(trend_png).resolve()),
        # per company with a refund proposal: the ERP's CSV and the bank's pain.001
        **write_refund_files(folder, reports.refunds, run.rules.companies, run.as_of, config.refunds),
    } | {name: str(Path(path).resolve()) for name, path in write_close_files(run, reports.close, folder).items()}


def report_links(run: Run, files: dict[str, str]) -> dict[str, str]:
    """Links to the report files under ``settings.reports_base_url`` (the share users open),
    ``<url>/<as_of>/<file name>``; none without a base URL."""
    base = (run.settings.reports_base_url or "").strip().rstrip("/")
    if not base:
        return {}
    from urllib.parse import quote

    return {name: f"{base}/{run.as_of.isoformat()}/{quote(Path(path).name)}" for name, path in files.items()}
