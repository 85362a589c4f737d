"""The nightly run: its stages, and their order written once in ``nightly_stages``.

Both runners are built from that one list: ``run_nightly`` calls each stage directly (tests,
benchmarks, and measuring what orchestration costs), ``flows/nightly.py`` runs each as its
Prefect task, and on a distributed runner hands the per-company stages a mapper that runs one
task per company code (``receivables.company_parts`` splits and combines).  Each stage
function takes the ``Run`` it belongs to and returns plain data.

Order and why: ingest -> validate (nothing is written before the gate passes) -> preflight
(the configuration checked against the extracts, still before any write) -> archive ->
apply cash -> dunning (the payment plans are judged first, after tonight's cash, because a
current plan pauses its documents; an account whose case was handed over pauses too) ->
build reports (the collection cases carried on from the previous night's, and the worklist
of their due actions; a large night's workbook then goes on being written in a background
process) -> render reminders -> **publish** (every warehouse row of this as_of in one
transaction: quarantine, cash applications, unapplied cash, the contact log, the payment
plans' status and events, dunning state, the outbox, aging, KPIs, worklist, the cases and
their events, the collector view) -> deliver emails (only after their outbox rows are
committed, so a crash can never send an email the warehouse does not know about) -> report
files (the workbook is moved into place only now, after the publish) -> finish.
"""

from __future__ import annotations

import resource
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from receivables import cash_application, disputes_escalation, dunning, reminders
from receivables import company_parts as parts
from receivables.archive import archive_inputs
from receivables.close.stage import publish_close
from receivables.company_parts import MapParts, split_codes
from receivables.disputes import dispute_status, escalations_due
from receivables.dunning_stage import DunningStep, propose_dunning
from receivables.errors import ConfigError, InputRejected
from receivables.extracts import ExtractSet, read_extract_set
from receivables.extracts.statements import bank_accounts_of
from receivables.memory import release_unused_memory, thaw
from receivables.outbox import DeliveryReport, decided_keys, deliver, enqueue
from receivables.preflight import Preflight, preflight
from receivables.report_stage import Reports, build_reports, write_report_files
from receivables.report_stage import report_links as report_links  # the flow's tasks link the report files
from receivables.rules import Rules, load_rules
from receivables.run_summary import email_counts, summarise
from receivables.settings import Settings
from receivables.validation import ValidatedSet, validate_extract_set
from receivables.warehouse import connect, migrate, replace_for_as_of, run_lock
from receivables.warehouse.dunning_history import write_dunning
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
    #: a month-end close run: it also writes the expected-credit-loss provision (docs/close.md)
    close: bool = False
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
    return read_extracts(run.source, run.as_of, run.settings, run.rules)


def read_extracts(source: str, as_of: date, settings: Settings, rules: Rules) -> ExtractSet:
    """An extract set read as a run reads it (``receivables validate`` reads it the same way):
    the team's mapping and queries, the allowed roots, statements assigned by bank account."""
    return read_extract_set(
        source,
        rules.mapping,
        as_of=as_of,
        roots=settings.extract_roots,
        folder=rules.folder,
        bank_accounts=bank_accounts_of(rules.companies),
    )


def validate(run: Run, extracts: ExtractSet) -> ValidatedSet:
    """Stage 2: the great-expectations gate; raises ``InputRejected`` on a critical failure."""
    return validate_extract_set(extracts, run.as_of, run.rules.folder)


def check_configuration(run: Run, validated: ValidatedSet, accounts: list[str] | None = None) -> Preflight:
    """After the gate, before anything is written: the configuration checked against the
    extracts (``receivables.preflight``).  A problem of the whole night (send mode without a
    mail server) rejects the run; a company without creditor details is only held back."""
    checked = preflight(
        run.rules, run.settings, validated.frames, run.as_of, reminders=run.reminders, statement_accounts=accounts or ()
    )
    whole_night = [p for p in checked.errors if p.check == "mail"]
    if whole_night:
        raise ConfigError(" ".join(p.paragraph() for p in whole_night))
    return checked


def archive(run: Run, extracts: ExtractSet) -> Path:
    """After the gate: keep the raw inputs with their sha256 for audit and replay."""
    return archive_inputs(extracts, run.settings.archive_dir, run.as_of, run.run_id)


def apply_cash(
    run: Run, validated: ValidatedSet, map_parts: MapParts | None = None
) -> cash_application.CashApplication:
    """Stage 3: match unapplied payments to open items; later stages see the open amounts
    after the auto-applied cash.  With ``map_parts``, one part per company code."""
    codes = split_codes(validated, map_parts)
    if not codes:
        result = parts.match_cash(validated, run.as_of, run.rules.matching)
    else:
        args = {code: (parts.for_company(validated, code), run.as_of, run.rules.matching) for code in codes}
        results = map_parts("apply-cash", parts.match_cash, args)
        result = parts.combine_cash(validated, list(results.values()), run.as_of)
    return result


def render_reminders(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    step: DunningStep,
    map_parts: MapParts | None = None,
) -> list[reminders.ComposedEmail]:
    """Stage 5a: one composed email per notice whose action is ``email`` (none when this run
    writes no dunning state), rendered on ``settings.render_workers`` processes, or with
    ``map_parts`` one part per company code in one process each; then the courtesy emails
    before the payment plans' instalments (``reminders.plan_courtesy_emails``), none for a
    company the preflight holds."""
    if not step.write_state:
        return []
    p = step.proposal
    held = set(p.skipped.loc[p.skipped["reason"] == dunning.COMPANY_NOT_CONFIGURED, "company_code"].astype(str))
    creditors = {code: c for code, c in run.rules.companies.items() if code not in held}
    # the internal emails escalating disputes past their target date (disputes.yaml)
    lifecycle = dispute_status(validated.frames["disputes"], run.as_of, run.rules.disputes)
    due = _undecided(run, escalations_due(lifecycle, run.rules.disputes))
    templates = run.rules.templates
    if split_codes(validated, map_parts):
        emails = _render_in_parts(run, validated, cash, step, map_parts)
        escalations = disputes_escalation.escalation_emails(due, creditors, run.as_of, templates)
    else:
        # the reminders and the escalations share one pool: a steady night has few of the one
        # and, on a large ledger, thousands of the other
        many = reminders.emailed_count(p.notices) + len(due) >= reminders.POOL_THRESHOLD
        composed = reminders.compose_tasks(
            chain(
                reminders.notice_tasks(
                    p.notices, p.items, validated.frames["customers"], cash.open_items_after, run.as_of,
                    run.rules.companies, templates, step.earlier_claims,
                ),
                disputes_escalation.escalation_tasks(due, creditors, run.as_of, templates),
            ),
            run.settings.render_workers if many else 1,
        )  # fmt: skip
        escalations = [e for e in composed if e.template == disputes_escalation.ESCALATION_TEMPLATE]
        emails = [e for e in composed if e.template != disputes_escalation.ESCALATION_TEMPLATE]
    courtesy = reminders.plan_courtesy_emails(
        step.plans,
        validated.frames["plan_instalments"],
        validated.frames["customers"],
        creditors,
        run.as_of,
        templates,
        run.rules.dunning.plan_courtesy_days,
    )
    return [*emails, *courtesy, *escalations]


def _undecided(run: Run, due: pd.DataFrame) -> pd.DataFrame:
    """The escalations the outbox can still take.  A tier stays due every night its dispute
    stays open; once its email is sent (or held, failed, cancelled by an operator) the outbox
    keeps that row whatever a night proposes (``outbox.decided_keys``), so it is not rendered
    again: in send mode most of a steady night's ~17,000 escalations at size l.  In preview
    mode they stay pending and each night renders them anew."""
    if due.empty:
        return due
    keys = [
        disputes_escalation.escalation_key(code, dispute, tier)
        for code, dispute, tier in zip(due["company_code"], due["dispute_id"], due["tier"])
    ]
    with run.engine.connect() as conn:
        decided = decided_keys(conn, keys)
    return due.loc[[key not in decided for key in keys]]


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
        owed = step.earlier_claims[step.earlier_claims["company_code"].astype(str) == code]
        args[code] = (
            notices, items, customers, open_items, run.as_of, run.rules.companies, run.rules.templates, owed
        )  # fmt: skip
    rendered = map_parts("render-reminders", parts.render_company_reminders, args)
    return parts.combine_reminders(p.notices, list(rendered.values()))


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
        replace_for_as_of(conn, "activities", run.as_of, validated.frames["activities"], run.run_id)
        replace_for_as_of(conn, "payment_plan_status", run.as_of, step.plans.plans, run.run_id)
        replace_for_as_of(conn, "plan_events", run.as_of, step.plans.events, run.run_id)
        if step.write_state:
            write_dunning(conn, run.as_of, run.run_id, step.proposal, redo=run.redo_dunning)
            enqueued = enqueue(conn, run.as_of, run.run_id, emails)
            queued = {
                "inserted": enqueued.inserted,
                "already_present": enqueued.already_present,
                "rejected": enqueued.rejected,
                "restored": enqueued.restored,
                "withdrawn": enqueued.withdrawn,
                "not_queued": enqueued.not_queued,
            }
        replace_for_as_of(conn, "aging", run.as_of, reports.aging, run.run_id)
        replace_for_as_of(conn, "kpis", run.as_of, reports.kpis, run.run_id)
        replace_for_as_of(conn, "collector_worklist", run.as_of, reports.worklist, run.run_id)
        base = run.settings.base_currency
        replace_for_as_of(conn, "collection_cases", run.as_of, reports.cases.assign(currency=base), run.run_id)
        replace_for_as_of(conn, "case_events", run.as_of, reports.case_events, run.run_id)
        replace_for_as_of(conn, "collector_kpis", run.as_of, reports.collectors, run.run_id)
        replace_for_as_of(conn, "delinquency_drivers", run.as_of, reports.drivers, run.run_id)
        replace_for_as_of(conn, "refund_proposals", run.as_of, reports.refunds, run.run_id)
        replace_for_as_of(conn, "dispute_status", run.as_of, reports.dispute_status, run.run_id)
        publish_close(conn, run, reports.close)
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

    froze: list[bool] = []  # whether the night set objects aside after validation
    try:
        return _night(run, call, froze)
    finally:
        if froze:
            thaw()


def _night(run: Run, call: CallStage, froze: list[bool]) -> dict:
    def stage(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        with run.timed(name):
            return call(name, fn, *args)

    extracts = stage("ingest", ingest, run)
    validated = stage("validate", validate, run, extracts)
    run.counts["extracts"] = validated.counts
    run.counts["quarantined_rows"] = validated.quarantined_rows
    if extracts.statement_counts:
        run.counts["statements"] = extracts.statement_counts
    checked = stage("preflight", check_configuration, run, validated, extracts.statement_accounts)
    run.counts["preflight"] = checked.counts()
    stage("archive", archive, run, extracts)
    input_hashes = extracts.input_hashes()
    # from here the validated frames are the night's data: the extract set's own frames and the
    # files' bytes (~0.5 GB at size l) go before cash application, the night's peak
    del extracts
    if release_unused_memory(sum(c["read"] for c in validated.counts.values()), freeze=True):
        froze.append(True)
    cash = stage("cash_application", apply_cash, run, validated)
    run.counts["cash_application"] = cash.counts
    step = stage("dunning", propose_dunning, run, validated, cash, checked)
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
    summary = call("summarise", summarise, run, validated, cash, reports, files, step, queued, delivered, checked)
    summary = summary | {"input_hashes": input_hashes}
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
    close: bool = False,
) -> dict:
    """Every stage in order, directly; returns the run summary."""
    run = Run(
        source=source,
        as_of=as_of,
        settings=settings,
        reminders=reminders,
        redo_dunning=redo_dunning,
        rules=rules,
        close=close,
    )
    begin(run)
    try:
        return nightly_stages(run)
    except BaseException as exc:
        fail(run, exc)
        raise
