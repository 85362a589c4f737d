"""The nightly run: its stages, and their order written once in ``nightly_stages``.

Both runners are built from that one list: ``run_nightly`` calls each stage directly (tests,
benchmarks, and measuring what orchestration costs), ``flows/nightly.py`` runs each as its
Prefect task, and on a distributed runner hands the per-company stages a mapper that runs one
task per company code (``receivables.company_parts`` splits and combines).  Each stage
function takes the ``Run`` it belongs to and returns plain data.

Order and why: ingest -> validate (nothing is written before the gate passes) -> archive ->
apply cash -> dunning -> build reports (a large night's workbook then goes on being written in
a background process) -> render reminders -> **publish** (every warehouse row
of this as_of in one transaction: quarantine, cash applications, unapplied cash, dunning
state, the outbox, aging, KPIs, worklist) -> deliver emails (only after their outbox rows are
committed, so a crash can never send an email the warehouse does not know about) -> report
files (the workbook is moved into place only now, after the publish) -> finish.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from receivables import aging as aging_rules
from receivables import cash_application, dunning, kpis, reminders, worklist
from receivables import company_parts as parts
from receivables.archive import archive_inputs
from receivables.company_parts import MapParts
from receivables.errors import InputRejected
from receivables.extracts import ExtractSet, read_extract_set
from receivables.money import to_decimal
from receivables.outbox import DeliveryReport, deliver, enqueue
from receivables.rules import Rules, load_rules
from receivables.settings import Settings
from receivables.validation import ValidatedSet, validate_extract_set
from receivables.warehouse import connect, migrate, replace_for_as_of, run_lock
from receivables.warehouse.database import money_sums, read_table
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
    #: the Prefect flow run's name, shown by ``receivables history``
    flow_run_name: str | None = None
    #: every rule of the run, loaded once (from ``settings.config_dir`` when not given)
    rules: Rules | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: the process's peak resident memory (MB) when each stage ended
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    counts: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rules is None:
            self.rules = load_rules(self.settings.config_dir, self.settings.mapping)

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
            self.peak_rss_mb[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class DunningStep:
    """The dunning proposal and whether this run may write it (and send its reminders)."""

    proposal: dunning.DunningProposal
    write_state: bool
    why_not: str | None = None

    @property
    def counts(self) -> dict:
        return self.proposal.counts | {"state_written": self.write_state, "why_not": self.why_not}


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


@lru_cache(maxsize=8)
def warehouse_engine(url: str) -> Engine:
    """One engine per warehouse URL per process, migrated to the newest schema on first use."""
    engine = connect(url)
    migrate(engine)
    return engine


def begin(run: Run) -> None:
    """Take the warehouse lock for the run's as_of, then record the run as started (status
    ``running``) so a crash still shows in the history.

    A run refused because another run for the same as_of holds the lock is recorded as
    ``failed`` with the reason and raises ``RunInProgress``; it has touched nothing else.
    """
    try:
        broken = run_lock.acquire(run.engine, run.as_of, run.run_id, flow_run_id=run.flow_run_id)
    except run_lock.RunInProgress as exc:
        _record_start(run)
        finish_run(run.engine, run.run_id, status="failed", error=str(exc))
        raise
    if broken is not None:
        run.counts["broke_stale_lock"] = {"run_id": broken.run_id, "since": broken.acquired_at.isoformat()}
    try:
        _record_start(run)
    except BaseException:
        run_lock.release(run.engine, run.as_of, run.run_id)
        raise


def _record_start(run: Run) -> None:
    start_run(
        run.engine,
        run_id=run.run_id,
        as_of=run.as_of,
        mode=run.settings.effective_mail_mode,
        source=run.source,
        mapping=run.settings.mapping,
        flow_run_id=run.flow_run_id,
        flow_run_name=run.flow_run_name,
    )


def ingest(run: Run) -> ExtractSet:
    """Stage 1: read the extract set through the configured mapping."""
    extracts = read_extract_set(
        run.source, run.rules.mapping, as_of=run.as_of, roots=run.settings.extract_roots, folder=run.rules.folder
    )
    return extracts


def validate(run: Run, extracts: ExtractSet) -> ValidatedSet:
    """Stage 2: the great-expectations gate; raises ``InputRejected`` on a critical failure."""
    return validate_extract_set(extracts, run.as_of, run.rules.folder)


def archive(run: Run, extracts: ExtractSet) -> Path:
    """After the gate: keep the raw inputs with their sha256 for audit and replay."""
    return archive_inputs(extracts, run.settings.archive_dir, run.as_of, run.run_id)


def _split_codes(validated: ValidatedSet, map_parts: MapParts | None) -> list[str]:
    """The company codes to run a stage in parts for: none without a mapper (the company
    codes of a million rows are not free) or with a single company code."""
    if map_parts is None:
        return []
    codes = parts.company_codes(validated)
    return codes if len(codes) > 1 else []


def apply_cash(
    run: Run, validated: ValidatedSet, map_parts: MapParts | None = None
) -> cash_application.CashApplication:
    """Stage 3: match unapplied payments to open items; later stages see the open amounts
    after the auto-applied cash.  With ``map_parts``, one part per company code."""
    codes = _split_codes(validated, map_parts)
    if not codes:
        result = parts.match_cash(validated, run.as_of, run.rules.matching)
    else:
        args = {code: (parts.for_company(validated, code), run.as_of, run.rules.matching) for code in codes}
        results = map_parts("apply-cash", parts.match_cash, args)
        result = parts.combine_cash(validated, list(results.values()), run.as_of)
    return result


def propose_dunning(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, map_parts: MapParts | None = None
) -> DunningStep:
    """Stage 4: who is dunned today.  The proposal is always computed (reports show it); it
    becomes dunning state only for the latest date, or an earlier one when asked.  With
    ``map_parts``, one part per company code."""
    history = dunning_history(run)
    codes = _split_codes(validated, map_parts)
    policies = run.rules.dunning
    if not codes:
        proposal = parts.propose_company_dunning(validated, cash, history, run.as_of, policies)
    else:
        args = {
            code: (parts.for_company(validated, code), parts.cash_for_company(cash, code), history, run.as_of, policies)
            for code in codes
        }
        proposals = map_parts("dunning", parts.propose_company_dunning, args)
        proposal = parts.combine_dunning(list(proposals.values()), run.as_of)
    return decide_dunning(run, proposal)


def render_reminders(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    map_parts: MapParts | None = None,
) -> list[reminders.ComposedEmail]:
    """Stage 5a: one composed email per notice whose action is ``email`` (none when this run
    writes no dunning state), rendered on ``settings.render_workers`` processes, or with
    ``map_parts`` one part per company code in one process each."""
    if not step.write_state:
        return []
    p = step.proposal
    if _split_codes(validated, map_parts):
        return _render_in_parts(run, validated, cash, step, map_parts)
    return reminders.compose_notices(
        p.notices,
        p.items,
        validated.frames["customers"],
        cash.open_items_after,
        run.as_of,
        workers=run.settings.render_workers,
        companies=run.rules.companies,
        template_dir=run.rules.templates,
    )


def _render_in_parts(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, map_parts: MapParts
) -> list[reminders.ComposedEmail]:
    p = step.proposal
    customers = validated.frames["customers"]
    args = {}
    for code in sorted(set(p.notices["company_code"].astype(str))):
        notices = p.notices[p.notices["company_code"].astype(str) == code]
        items = p.items[p.items["notice_id"].isin(set(notices["notice_id"]))]
        # the statement of account lists the customer's items of every company code
        after = cash.open_items_after
        open_items = after[after["customer_id"].isin(set(notices["customer_id"]))]
        args[code] = (notices, items, customers, open_items, run.as_of, run.rules.companies, run.rules.templates)
    rendered = map_parts("render-reminders", parts.render_company_reminders, args)
    return parts.combine_reminders(p.notices, list(rendered.values()))


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


def publish(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    emails: list,
    reports: Reports,
) -> dict | None:
    """Write every warehouse row of this as_of in one transaction: a rerun replaces the
    date's rows, other dates stay, and a failure leaves the previous state whole.  Returns
    what the outbox took (None when this run writes no dunning state)."""
    queued = None
    with run.engine.begin() as conn:
        replace_for_as_of(conn, "quarantine", run.as_of, validated.quarantine, run.run_id)
        replace_for_as_of(conn, "cash_applications", run.as_of, cash.applications, run.run_id)
        replace_for_as_of(conn, "unapplied_cash", run.as_of, cash.unapplied, run.run_id)
        if step.write_state:
            write_dunning(conn, run.as_of, run.run_id, step.proposal, redo=run.redo_dunning)
            enqueued = enqueue(conn, run.as_of, run.run_id, emails)
            queued = {
                "inserted": enqueued.inserted,
                "already_present": enqueued.already_present,
                "rejected": enqueued.rejected,
            }
        replace_for_as_of(conn, "aging", run.as_of, reports.aging, run.run_id)
        replace_for_as_of(conn, "kpis", run.as_of, reports.kpis, run.run_id)
        replace_for_as_of(conn, "collector_worklist", run.as_of, reports.worklist, run.run_id)
    return queued


def deliver_reminders(run: Run, step: DunningStep, queued: dict | None = None) -> DeliveryReport | None:
    """Stage 5b: send (or preview, or redirect) this as_of's pending emails, exactly once.
    ``queued`` is what the publish put in the outbox: the emails it could not build count as
    failed deliveries."""
    if not step.write_state:
        return None
    report = deliver(run.engine, run.settings, as_of=run.as_of)
    report.not_built = int((queued or {}).get("rejected", 0))
    return report


def email_counts(report: DeliveryReport) -> dict:
    """The run log's facts of a delivery."""
    return {
        "mode": report.mode,
        "sent": report.sent,
        "previewed": report.previewed,
        "redirected": report.redirected,
        "failed": report.failed_total,
        "not_built": report.not_built,
        "held": report.held,
        "held_outstanding": report.held_outstanding,
        "not_attempted": report.not_attempted,
        "summary": report.summary(),
    }


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


def summarise(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication | None = None,
    reports: Reports | None = None,
    files: dict | None = None,
    step: DunningStep | None = None,
    queued: dict | None = None,
    delivered: DeliveryReport | None = None,
) -> dict:
    """The key numbers of a run for the CLI, the run log and the flow's artifacts, from the
    stages' results (``queued``: what the publish put in the outbox; ``delivered``: the
    delivery report)."""
    items = cash.open_items_after if cash is not None else validated.frames["open_items"]
    items = items[items["open_amount"] != 0]
    totals = (
        items.groupby(["company_code", "currency"], sort=True)["open_amount"].sum().reset_index()
        if not items.empty
        else pd.DataFrame(columns=["company_code", "currency", "open_amount"])
    )
    reasons = validated.quarantine["reason"].value_counts().head(5) if not validated.quarantine.empty else {}
    summary = {
        "run_id": run.run_id,
        "flow_run_name": run.flow_run_name,
        "as_of": run.as_of.isoformat(),
        "mode": run.settings.effective_mail_mode,
        "outcome": "succeeded",
        "reminders": run.reminders,
        "base_currency": run.settings.base_currency,
        "extracts": validated.counts,
        "quarantined_rows": validated.quarantined_rows,
        "quarantine_reasons": [{"reason": str(r), "count": int(n)} for r, n in dict(reasons).items()],
        "open_totals": [
            {"company_code": r.company_code, "currency": r.currency, "open_amount": str(to_decimal(r.open_amount))}
            for r in totals.itertuples()
        ],
        "cash_application": cash.counts if cash is not None else None,
        "dunning": step.counts if step is not None else None,
        "emails": email_counts(delivered) if delivered is not None else None,
        "outbox": queued,
        "files": files or {},
        "file_links": report_links(run, files or {}),
        "timings": dict(run.timings),
        "peak_rss_mb": dict(run.peak_rss_mb),
    }
    if cash is not None:
        applied = cash.applications[cash.applications["status"] == "applied"]
        summary["cash_applied"] = [
            {"currency": c, "amount": str(to_decimal(v))}
            for c, v in applied.groupby("currency")["applied_amount"].sum().items()
        ]
    if reports is not None:
        every = reports.kpis[reports.kpis["company_code"] == "ALL"]
        summary["kpis"] = [
            {"kpi": str(r.kpi), "value": None if pd.isna(r.value) else str(r.value), "unit": str(r.unit)}
            for r in every.itertuples()
            if "." not in str(r.kpi)
        ]
        summary["worklist"] = reports.worklist.head(10)[
            ["rank", "company_code", "customer_id", "next_action", "reason"]
        ].to_dict("records")
    return summary


def finish(run: Run, summary: dict) -> None:
    """Mark the run ``succeeded`` and give back the as_of's lock."""
    try:
        finish_run(
            run.engine,
            run.run_id,
            status="succeeded",
            counts=run.counts,
            timings=run.timings,
            input_hashes=summary.get("input_hashes"),
        )
    finally:
        run_lock.release(run.engine, run.as_of, run.run_id)


def fail(run: Run, exc: BaseException) -> None:
    """Mark the run ``rejected`` (input refused) or ``failed``, keeping the reason, and give
    back the as_of's lock (only if this run holds it)."""
    status = "rejected" if isinstance(exc, InputRejected) else "failed"
    try:
        finish_run(run.engine, run.run_id, status=status, counts=run.counts, timings=run.timings, error=str(exc)[:4000])
    finally:
        run_lock.release(run.engine, run.as_of, run.run_id)


#: ``call(stage, fn, *args)`` runs one stage and returns its result: directly in
#: ``run_nightly``, as the stage's Prefect task in the flow
CallStage = Callable[..., Any]


def direct(stage: str, fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def nightly_stages(run: Run, call: CallStage = direct) -> dict:
    """The stages of a night in their order, written once for both runners; returns the
    run summary.  Why this order: see the module docstring.

    Stages return values and never touch the ``Run``: their results carry their own counts,
    which this runner records with each stage's time for the run log (so a stage that ran in
    another process, on a Dask worker, loses nothing)."""

    def stage(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        with run.timed(name):
            return call(name, fn, *args)

    extracts = stage("ingest", ingest, run)
    validated = stage("validate", validate, run, extracts)
    run.counts["extracts"] = validated.counts
    run.counts["quarantined_rows"] = validated.quarantined_rows
    stage("archive", archive, run, extracts)
    cash = stage("cash_application", apply_cash, run, validated)
    run.counts["cash_application"] = cash.counts
    step = stage("dunning", propose_dunning, run, validated, cash)
    run.counts["dunning"] = step.counts
    # reports first: on a large night they start the workbook in a background process, which
    # then runs while the reminders render
    reports = stage("reports", build_reports, run, validated, cash, step)
    run.counts["reports"] = reports.counts
    emails = stage("render_reminders", render_reminders, run, validated, cash, step)
    queued = stage("publish", publish, run, validated, cash, step, emails, reports)
    if queued is not None:
        run.counts["outbox"] = queued
    delivered = stage("deliver", deliver_reminders, run, step, queued)
    if delivered is not None:
        run.counts["emails"] = email_counts(delivered)
    files = stage("report_files", write_report_files, run, validated, cash, step, reports)
    summary = call("summarise", summarise, run, validated, cash, reports, files, step, queued, delivered)
    summary = summary | {"input_hashes": extracts.input_hashes()}
    call("finish", finish, run, summary)
    return summary


def run_nightly(
    source: str,
    as_of: date,
    settings: Settings,
    *,
    reminders: bool = True,
    redo_dunning: bool = False,
    rules: Rules | None = None,
) -> dict:
    """Every stage in order, directly; returns the run summary."""
    run = Run(
        source=source, as_of=as_of, settings=settings, reminders=reminders, redo_dunning=redo_dunning, rules=rules
    )
    begin(run)
    try:
        return nightly_stages(run)
    except BaseException as exc:
        fail(run, exc)
        raise


def dunning_history(run: Run) -> pd.DataFrame:
    """The dunning state before the run's as_of, read once and handed to every part."""
    return previous_levels(run.engine, run.as_of)


def decide_dunning(run: Run, proposal: dunning.DunningProposal) -> DunningStep:
    """Whether a proposal computed in parts becomes dunning state (as ``propose_dunning``)."""
    why_not = None
    if not run.reminders:
        why_not = "report-only run (reminders off)"
    elif not dunning_allowed(run.engine, run.as_of, run.redo_dunning):
        why_not = "a later date already holds dunning state (rerun with redo_dunning to rewrite it)"
    return DunningStep(proposal=proposal, write_state=why_not is None, why_not=why_not)
