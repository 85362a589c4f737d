"""The nightly run as plain library calls: the stages in order, without orchestration.

``flows/nightly.py`` composes the same stage functions as Prefect tasks; ``run_nightly`` calls
them directly (tests, benchmarks, and measuring what orchestration costs).  Each stage
function takes the ``Run`` it belongs to and returns plain data.

Order and why: ingest -> validate (nothing is written before the gate passes) -> archive ->
apply cash -> dunning -> render reminders -> build reports -> **publish** (every warehouse row
of this as_of in one transaction: quarantine, cash applications, unapplied cash, dunning
state, the outbox, aging, KPIs, worklist) -> deliver emails (only after their outbox rows are
committed, so a crash can never send an email the warehouse does not know about) -> report
files -> finish.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pandas as pd
from sqlalchemy.engine import Engine

from receivables import aging as aging_rules
from receivables import cash_application, dunning, kpis, reminders, worklist
from receivables.archive import archive_inputs
from receivables.errors import InputRejected
from receivables.extracts import ExtractSet, read_extract_set
from receivables.mappings import load_mapping
from receivables.money import to_decimal
from receivables.outbox import DeliveryReport, deliver, enqueue
from receivables.settings import Settings
from receivables.validation import ValidatedSet, validate_extract_set
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.database import read_table
from receivables.warehouse.dunning_history import dunning_allowed, previous_levels, write_dunning
from receivables.warehouse.run_log import finish_run, start_run


@dataclass
class Run:
    """One run of the pipeline: what it reads, for which date, where it writes."""

    source: str
    as_of: date
    settings: Settings
    #: False: a report-only run (month-end close without reminders): no dunning state, no email
    reminders: bool = True
    #: rewrite the dunning state of a date before the latest dunning date
    redo_dunning: bool = False
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    flow_run_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, object] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return warehouse_engine(self.settings.db_url)

    @property
    def report_dir(self) -> Path:
        return Path(self.settings.reports_dir) / self.as_of.isoformat()

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)


@dataclass
class DunningStep:
    """The dunning proposal and whether this run may write it (and send its reminders)."""

    proposal: dunning.DunningProposal
    write_state: bool
    why_not: str | None = None


@dataclass
class Reports:
    aging: pd.DataFrame
    kpis: pd.DataFrame
    worklist: pd.DataFrame
    missing_fx: list[str]


@lru_cache(maxsize=8)
def warehouse_engine(url: str) -> Engine:
    """One engine per warehouse URL per process, migrated to the newest schema on first use."""
    engine = connect(url)
    migrate(engine)
    return engine


def begin(run: Run) -> None:
    """Record the run as started (status ``running``) so a crash still shows in the history."""
    start_run(
        run.engine,
        run_id=run.run_id,
        as_of=run.as_of,
        mode=run.settings.effective_mail_mode,
        source=run.source,
        mapping=run.settings.mapping,
        flow_run_id=run.flow_run_id,
    )


def ingest(run: Run) -> ExtractSet:
    """Stage 1: read the extract set through the configured mapping."""
    with run.timed("ingest"):
        mapping = load_mapping(run.settings.mapping)
        extracts = read_extract_set(run.source, mapping, as_of=run.as_of, roots=run.settings.extract_roots)
    return extracts


def validate(run: Run, extracts: ExtractSet) -> ValidatedSet:
    """Stage 2: the great-expectations gate; raises ``InputRejected`` on a critical failure."""
    with run.timed("validate"):
        validated = validate_extract_set(extracts, run.as_of)
    run.counts["extracts"] = validated.counts
    run.counts["quarantined_rows"] = int(sum(c["quarantined"] for c in validated.counts.values()))
    return validated


def archive(run: Run, extracts: ExtractSet) -> Path:
    """After the gate: keep the raw inputs with their sha256 for audit and replay."""
    with run.timed("archive"):
        return archive_inputs(extracts, run.settings.archive_dir, run.as_of, run.run_id)


def apply_cash(run: Run, validated: ValidatedSet) -> cash_application.CashApplication:
    """Stage 3: match unapplied payments to open items; later stages see the open amounts
    after the auto-applied cash."""
    with run.timed("cash_application"):
        f = validated.frames
        result = cash_application.apply_cash(
            f["open_items"], f["payments"], f["customers"], cash_application.load_matching_rules(), run.as_of
        )
    applied = result.applications[result.applications["status"] == "applied"]
    run.counts["cash_application"] = {
        "payments": len(f["payments"]),
        "applications": len(applied),
        "suggestions": int((result.applications["status"] == "suggested").sum()),
        "payments_fully_applied": int(len(set(applied["payment_id"]) - set(result.unapplied["payment_id"]))),
        "unapplied": {str(k): int(v) for k, v in result.unapplied["reason"].value_counts().sort_index().items()},
    }
    return result


def propose_dunning(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication) -> DunningStep:
    """Stage 4: who is dunned today.  The proposal is always computed (reports show it); it
    becomes dunning state only for the latest date, or an earlier one when asked."""
    with run.timed("dunning"):
        f = validated.frames
        proposal = dunning.propose_dunning(
            cash.open_items_after,
            f["customers"],
            f["disputes"],
            f["promises"],
            previous_levels(run.engine, run.as_of),
            dunning.load_dunning_policies(),
            run.as_of,
        )
        why_not = None
        if not run.reminders:
            why_not = "report-only run (reminders off)"
        elif not dunning_allowed(run.engine, run.as_of, run.redo_dunning):
            why_not = "a later date already holds dunning state (rerun with redo_dunning to rewrite it)"
    run.counts["dunning"] = proposal.counts | {"state_written": why_not is None, "why_not": why_not}
    return DunningStep(proposal=proposal, write_state=why_not is None, why_not=why_not)


def render_reminders(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep) -> list:
    """Stage 5a: one rendered email per notice whose action is ``email`` (none when this run
    writes no dunning state)."""
    if not step.write_state:
        return []
    with run.timed("render_reminders"):
        p = step.proposal
        return reminders.render_notices(p.notices, p.items, validated.frames["customers"], cash.open_items_after, run.as_of)


def build_reports(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep) -> Reports:
    """Stage 6: aging with base totals, KPIs and the collector worklist."""
    with run.timed("reports"):
        f = validated.frames
        config = aging_rules.load_reporting_config()
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
            based.aging, p.notices, p.skipped, p.broken_promises, f["disputes"], f["customers"], cash.unapplied,
            run.as_of, config, fx_rates=f["fx_rates"], base_currency=base,
        )
    run.counts["reports"] = {"aging_rows": len(based.aging), "kpis": len(kpi_rows), "worklist": len(work), "missing_fx": list(based.missing_currencies)}
    return Reports(aging=based.aging, kpis=kpi_rows, worklist=work.assign(currency=base), missing_fx=list(based.missing_currencies))


def _month_end_aging(run: Run) -> pd.DataFrame | None:
    """The aging the warehouse holds for the previous month end, or None without such a run."""
    day = kpis.previous_month_end(run.as_of)
    rows = read_table(run.engine, "aging", as_of=day)
    if rows.empty:
        history = read_table(run.engine, "run_log")
        ran = not history[(history["as_of"] == day) & (history["status"] == "succeeded")].empty
        return rows if ran else None
    return aging_rules.aging_from_warehouse(rows)


def publish(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    emails: list,
    reports: Reports,
) -> None:
    """Write every warehouse row of this as_of in one transaction: a rerun replaces the
    date's rows, other dates stay, and a failure leaves the previous state whole."""
    with run.timed("publish"), run.engine.begin() as conn:
        replace_for_as_of(conn, "quarantine", run.as_of, validated.quarantine, run.run_id)
        replace_for_as_of(conn, "cash_applications", run.as_of, cash.applications, run.run_id)
        replace_for_as_of(conn, "unapplied_cash", run.as_of, cash.unapplied, run.run_id)
        if step.write_state:
            write_dunning(conn, run.as_of, run.run_id, step.proposal, redo=run.redo_dunning)
            queued = enqueue(conn, run.as_of, run.run_id, emails)
            run.counts["outbox"] = {"inserted": queued.inserted, "already_present": queued.already_present, "rejected": queued.rejected}
        replace_for_as_of(conn, "aging", run.as_of, reports.aging, run.run_id)
        replace_for_as_of(conn, "kpis", run.as_of, reports.kpis, run.run_id)
        replace_for_as_of(conn, "collector_worklist", run.as_of, reports.worklist, run.run_id)


def deliver_reminders(run: Run, step: DunningStep) -> DeliveryReport | None:
    """Stage 5b: send (or preview, or redirect) this as_of's pending emails, exactly once."""
    if not step.write_state:
        return None
    with run.timed("deliver"):
        report = deliver(run.engine, run.settings, as_of=run.as_of)
    run.counts["emails"] = {
        "mode": report.mode, "sent": report.sent, "previewed": report.previewed, "redirected": report.redirected,
        "failed": report.failed, "held": report.held, "held_outstanding": report.held_outstanding,
        "not_attempted": report.not_attempted, "summary": report.summary(),
    }
    return report


def write_report_files(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports) -> dict[str, str]:
    """The finance users' workbook and the charts, under ``reports_dir/<as_of>/``."""
    from receivables import charts, workbook

    with run.timed("report_files"):
        folder = run.report_dir
        folder.mkdir(parents=True, exist_ok=True)
        f = validated.frames
        sheets = workbook.report_sheets(
            reports.aging, reports.worklist, cash.unapplied, step.proposal.notices, reports.kpis,
            customers=f["customers"], payments=f["payments"],
        )
        book = workbook.write_workbook(folder / f"receivables-{run.as_of.isoformat()}.xlsx", sheets)
        config = aging_rules.load_reporting_config()
        aging_png = charts.aging_chart(reports.aging, folder / "aging-by-bucket.png", config.aging)
        history = aging_rules.aging_from_warehouse(read_table(run.engine, "aging"))
        trend_png = charts.trend_chart(history, folder / "trend.png", config.aging)
    return {"workbook": str(book), "aging_chart": str(aging_png), "trend_chart": str(trend_png)}


def summarise(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication | None = None, reports: Reports | None = None, files: dict | None = None) -> dict:
    """The key numbers of a run for the CLI, the run log and the flow's artifacts."""
    items = cash.open_items_after if cash is not None else validated.frames["open_items"]
    items = items[items["open_amount"] != 0]
    totals = (
        items.groupby(["company_code", "currency"], sort=True)["open_amount"].sum().reset_index()
        if not items.empty
        else pd.DataFrame(columns=["company_code", "currency", "open_amount"])
    )
    summary = {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "mode": run.settings.effective_mail_mode,
        "extracts": validated.counts,
        "quarantined_rows": run.counts.get("quarantined_rows", 0),
        "open_totals": [
            {"company_code": r.company_code, "currency": r.currency, "open_amount": str(to_decimal(r.open_amount))}
            for r in totals.itertuples()
        ],
        "cash_application": run.counts.get("cash_application"),
        "dunning": run.counts.get("dunning"),
        "emails": run.counts.get("emails"),
        "outbox": run.counts.get("outbox"),
        "files": files or {},
        "timings": dict(run.timings),
    }
    if cash is not None:
        applied = cash.applications[cash.applications["status"] == "applied"]
        summary["cash_applied"] = [
            {"currency": c, "amount": str(to_decimal(v))} for c, v in applied.groupby("currency")["applied_amount"].sum().items()
        ]
    if reports is not None:
        headline = reports.kpis[reports.kpis["company_code"] == "ALL"].set_index("kpi")["value"]
        summary["kpis"] = {k: (None if pd.isna(v) else str(v)) for k, v in headline.items() if "." not in str(k)}
        summary["worklist"] = reports.worklist.head(10)[["rank", "company_code", "customer_id", "next_action", "reason"]].to_dict("records")
    return summary


def finish(run: Run, summary: dict) -> None:
    finish_run(
        run.engine,
        run.run_id,
        status="succeeded",
        counts=run.counts,
        timings=run.timings,
        input_hashes=summary.get("input_hashes"),
    )


def fail(run: Run, exc: BaseException) -> None:
    """Mark the run ``rejected`` (input refused) or ``failed``, keeping the reason."""
    status = "rejected" if isinstance(exc, InputRejected) else "failed"
    finish_run(run.engine, run.run_id, status=status, counts=run.counts, timings=run.timings, error=str(exc)[:4000])


def run_nightly(source: str, as_of: date, settings: Settings, *, reminders: bool = True, redo_dunning: bool = False) -> dict:
    """Every stage in order, directly; returns the run summary."""
    run = Run(source=source, as_of=as_of, settings=settings, reminders=reminders, redo_dunning=redo_dunning)
    begin(run)
    try:
        extracts = ingest(run)
        validated = validate(run, extracts)
        archive(run, extracts)
        cash = apply_cash(run, validated)
        step = propose_dunning(run, validated, cash)
        emails = render_reminders(run, validated, cash, step)
        reports = build_reports(run, validated, cash, step)
        publish(run, validated, cash, step, emails, reports)
        deliver_reminders(run, step)
        files = write_report_files(run, validated, cash, step, reports)
        summary = summarise(run, validated, cash, reports, files) | {"input_hashes": extracts.input_hashes()}
        finish(run, summary)
    except BaseException as exc:
        fail(run, exc)
        raise
    return summary
