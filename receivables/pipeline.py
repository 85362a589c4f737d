"""The nightly run as plain library calls: the stages in order, without orchestration.

``flows/nightly.py`` composes the same stage functions as Prefect tasks; ``run_nightly`` calls
them directly (tests, benchmarks, and measuring what orchestration costs).  Each stage
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
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from receivables import aging as aging_rules
from receivables import cash_application, dunning, kpis, reminders, worklist
from receivables.archive import archive_inputs
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


@dataclass
class Reports:
    aging: pd.DataFrame
    kpis: pd.DataFrame
    worklist: pd.DataFrame
    missing_fx: list[str]
    #: a large night's workbook, being written to a ``.partial`` file by a background process
    #: while the reminders render; ``write_report_files`` collects it
    workbook: Future | None = None


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
    with run.timed("ingest"):
        extracts = read_extract_set(
            run.source, run.rules.mapping, as_of=run.as_of, roots=run.settings.extract_roots, folder=run.rules.folder
        )
    return extracts


def validate(run: Run, extracts: ExtractSet) -> ValidatedSet:
    """Stage 2: the great-expectations gate; raises ``InputRejected`` on a critical failure."""
    with run.timed("validate"):
        validated = validate_extract_set(extracts, run.as_of, run.rules.folder)
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
        result = match_cash(validated, run.as_of, run.rules.matching)
    count_cash(run, validated, result)
    return result


def propose_dunning(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication) -> DunningStep:
    """Stage 4: who is dunned today.  The proposal is always computed (reports show it); it
    becomes dunning state only for the latest date, or an earlier one when asked."""
    with run.timed("dunning"):
        proposal = propose_company_dunning(validated, cash, dunning_history(run), run.as_of, run.rules.dunning)
        return decide_dunning(run, proposal)


def render_reminders(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep
) -> list[reminders.ComposedEmail]:
    """Stage 5a: one composed email per notice whose action is ``email`` (none when this run
    writes no dunning state), rendered on ``settings.render_workers`` processes."""
    if not step.write_state:
        return []
    with run.timed("render_reminders"):
        p = step.proposal
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


def build_reports(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep
) -> Reports:
    """Stage 6: aging with base totals, KPIs and the collector worklist."""
    with run.timed("reports"):
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
    run.counts["reports"] = {
        "aging_rows": len(based.aging),
        "kpis": len(kpi_rows),
        "worklist": len(work),
        "missing_fx": list(based.missing_currencies),
    }
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
            run.counts["outbox"] = {
                "inserted": queued.inserted,
                "already_present": queued.already_present,
                "rejected": queued.rejected,
            }
        replace_for_as_of(conn, "aging", run.as_of, reports.aging, run.run_id)
        replace_for_as_of(conn, "kpis", run.as_of, reports.kpis, run.run_id)
        replace_for_as_of(conn, "collector_worklist", run.as_of, reports.worklist, run.run_id)


def deliver_reminders(run: Run, step: DunningStep) -> DeliveryReport | None:
    """Stage 5b: send (or preview, or redirect) this as_of's pending emails, exactly once."""
    if not step.write_state:
        return None
    with run.timed("deliver"):
        report = deliver(run.engine, run.settings, as_of=run.as_of)
    report.not_built = int((run.counts.get("outbox") or {}).get("rejected", 0))
    run.counts["emails"] = {
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
    return report


def write_report_files(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep, reports: Reports
) -> dict[str, str]:
    """The finance users' workbook and the charts, under ``reports_dir/<as_of>/``."""
    from receivables import charts, workbook

    with run.timed("report_files"):
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
) -> dict:
    """The key numbers of a run for the CLI, the run log and the flow's artifacts."""
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
        "quarantined_rows": run.counts.get("quarantined_rows", 0),
        "quarantine_reasons": [{"reason": str(r), "count": int(n)} for r, n in dict(reasons).items()],
        "open_totals": [
            {"company_code": r.company_code, "currency": r.currency, "open_amount": str(to_decimal(r.open_amount))}
            for r in totals.itertuples()
        ],
        "cash_application": run.counts.get("cash_application"),
        "dunning": run.counts.get("dunning"),
        "emails": run.counts.get("emails"),
        "outbox": run.counts.get("outbox"),
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
        extracts = ingest(run)
        validated = validate(run, extracts)
        archive(run, extracts)
        cash = apply_cash(run, validated)
        step = propose_dunning(run, validated, cash)
        reports = build_reports(run, validated, cash, step)
        emails = render_reminders(run, validated, cash, step)
        publish(run, validated, cash, step, emails, reports)
        deliver_reminders(run, step)
        files = write_report_files(run, validated, cash, step, reports)
        summary = summarise(run, validated, cash, reports, files) | {"input_hashes": extracts.input_hashes()}
        finish(run, summary)
    except BaseException as exc:
        fail(run, exc)
        raise
    return summary


# --- partitioning by company code ---------------------------------------------------------------
#
# On a distributed task runner (Dask) the per-company stages run one task per company code:
# cash never crosses company codes and a dunning notice belongs to one company code, so each
# code can be computed on its own worker.  These functions are pure (no Run, no warehouse), so
# what travels to a worker is the company's frames and nothing else: no settings, no SMTP
# password, no database URL.  Combining the parts restores the unpartitioned run's row order,
# so both give the same rows.


def company_codes(validated: ValidatedSet) -> list[str]:
    """The company codes with open items or payments, sorted: the units of partitioned work."""
    codes: set[str] = set()
    for name in ("open_items", "payments"):
        codes |= set(_company_column(validated.frames[name]))
    return sorted(codes)


def for_company(validated: ValidatedSet, code: str) -> ValidatedSet:
    """One company code's share of the set.  Customers and FX rates stay whole: a customer
    may buy from several company codes, and identifying an unknown payer searches every
    customer, as the unpartitioned run does."""
    frames = {}
    for name, frame in validated.frames.items():
        if name in ("customers", "fx_rates") or "company_code" not in frame.columns:
            frames[name] = frame
        else:
            frames[name] = frame[_company_column(frame) == code]
    return ValidatedSet(frames=frames, quarantine=validated.quarantine.iloc[0:0], counts={})


def _company_column(frame: pd.DataFrame) -> pd.Series:
    return frame["company_code"].astype("string").fillna("").astype(str)


def match_cash(
    validated: ValidatedSet, as_of: date, rules: cash_application.MatchingRules
) -> cash_application.CashApplication:
    """Stage 3 for one company code's share (or the whole set), without a Run."""
    f = validated.frames
    return cash_application.apply_cash(f["open_items"], f["payments"], f["customers"], rules, as_of)


def combine_cash(
    validated: ValidatedSet, parts: list[cash_application.CashApplication], as_of: date
) -> cash_application.CashApplication:
    """The per-company results as one, in the order the unpartitioned run produces: payments
    by value date then payment id, open items in their input order."""
    payments = validated.frames["payments"]
    days = pd.to_datetime(payments["value_date"]).fillna(pd.Timestamp(as_of)).dt.normalize()
    processed = pd.DataFrame({"d": days.to_numpy(), "p": payments["payment_id"].astype("string").to_numpy()})
    rank = {pid: i for i, pid in enumerate(processed.sort_values(["d", "p"], kind="stable")["p"])}

    def by_payment(name: str) -> pd.DataFrame:
        frame = _concat([getattr(p, name) for p in parts])
        order = np.argsort(frame["payment_id"].map(rank).to_numpy(dtype="int64"), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    open_items = validated.frames["open_items"]
    after = _concat([p.open_items_after for p in parts], keep_index=True).loc[open_items.index]
    return cash_application.CashApplication(
        applications=by_payment("applications"),
        unapplied=by_payment("unapplied"),
        open_items_after=after,
        identifications=by_payment("identifications"),
    )


def count_cash(run: Run, validated: ValidatedSet, result: cash_application.CashApplication) -> None:
    """The cash application counts of the run log, for a result computed in parts."""
    applied = result.applications[result.applications["status"] == "applied"]
    run.counts["cash_application"] = {
        "payments": len(validated.frames["payments"]),
        "applications": len(applied),
        "suggestions": int((result.applications["status"] == "suggested").sum()),
        "payments_fully_applied": int(len(set(applied["payment_id"]) - set(result.unapplied["payment_id"]))),
        "unapplied": {str(k): int(v) for k, v in result.unapplied["reason"].value_counts().sort_index().items()},
    }


def dunning_history(run: Run) -> pd.DataFrame:
    """The dunning state before the run's as_of, read once and handed to every part."""
    return previous_levels(run.engine, run.as_of)


def propose_company_dunning(
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    history: pd.DataFrame,
    as_of: date,
    policies: dunning.DunningPolicies,
) -> dunning.DunningProposal:
    """Stage 4 for one company code's share, without a Run (see ``propose_dunning``)."""
    f = validated.frames
    if "company_code" in history.columns and not f["open_items"].empty:
        history = history[history["company_code"].astype(str).isin(set(_company_column(f["open_items"])))]
    return dunning.propose_dunning(
        cash.open_items_after, f["customers"], f["disputes"], f["promises"], history, policies, as_of
    )


def combine_dunning(parts: list[dunning.DunningProposal], as_of: date) -> dunning.DunningProposal:
    """The per-company proposals as one, sorted as ``dunning.propose_dunning`` sorts them."""

    def merged(name: str, columns: list[str], order: list[str]) -> pd.DataFrame:
        return dunning.typed_frame(_concat([getattr(p, name) for p in parts]), columns, order=order)

    return dunning.DunningProposal(
        as_of=pd.Timestamp(as_of).date(),
        notices=merged("notices", dunning.NOTICE_COLUMNS, ["company_code", "customer_id", "currency"]),
        items=merged("items", dunning.ITEM_COLUMNS, ["notice_id", "document_no"]),
        skipped=merged("skipped", dunning.SKIPPED_COLUMNS, ["company_code", "document_no"]),
        broken_promises=merged("broken_promises", dunning.BROKEN_PROMISE_COLUMNS, ["promise_id"]),
    )


def decide_dunning(run: Run, proposal: dunning.DunningProposal) -> DunningStep:
    """Whether a proposal computed in parts becomes dunning state (as ``propose_dunning``)."""
    why_not = None
    if not run.reminders:
        why_not = "report-only run (reminders off)"
    elif not dunning_allowed(run.engine, run.as_of, run.redo_dunning):
        why_not = "a later date already holds dunning state (rerun with redo_dunning to rewrite it)"
    run.counts["dunning"] = proposal.counts | {"state_written": why_not is None, "why_not": why_not}
    return DunningStep(proposal=proposal, write_state=why_not is None, why_not=why_not)


def render_company_reminders(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items_after: pd.DataFrame,
    as_of: date,
    companies: dict,
    templates: reminders.TemplateDirs,
) -> list:
    """Stage 5a for one company code's notices, without a Run (one process: the distributed
    runner already spreads the companies over its workers)."""
    return reminders.compose_notices(
        notices, items, customers, open_items_after, as_of, companies=companies, template_dir=templates
    )


def combine_reminders(step: DunningStep, parts: list[list]) -> list:
    """The rendered emails in the order of the notices, as the unpartitioned run lists them."""
    position = {nid: i for i, nid in enumerate(step.proposal.notices["notice_id"].astype(str))}
    return sorted((e for part in parts for e in part), key=lambda e: position[str(e.notice_id)])


def _concat(frames: list[pd.DataFrame], keep_index: bool = False) -> pd.DataFrame:
    # empty parts would turn typed columns into object columns
    rows = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(rows, ignore_index=not keep_index)
