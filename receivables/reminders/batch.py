"""A night's batch of reminders, rendered and composed for the outbox, on a process pool when there are many.

The pool is started with ``spawn`` and runs module-level functions (``_compose_slice`` and the
dispute escalations' ``escalation_emails``), which it finds by their import path; each task
is frames and plain values, so nothing here depends on the parent's state.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from receivables.errors import ConfigError, ReceivablesError
from receivables.reminders.cells import frame_records
from receivables.reminders.companies import load_companies
from receivables.reminders.mime import ComposedEmail, compose
from receivables.reminders.render import RenderedEmail, render_reminder
from receivables.reminders.templates import TemplateDirs, _search_path

#: below this many emails a process pool costs more than it saves: starting two processes
#: and warming their templates takes ~4 s, rendering one email ~12 ms (measured at 560/629
#: emails: pooled 7.8 s / 8.9 s against 7.1 s / 8.0 s in the run's process)
POOL_THRESHOLD = 1000
#: notices per task sent to a rendering process
POOL_CHUNK = 200

#: (notice, its items, customer, company, statement rows or None, as_of, template_dir)
_Job = tuple[dict, list[dict], dict, Mapping[str, Any], list[dict] | None, Any, Any]
#: a unit of work for a rendering process: a module-level function and its (picklable)
#: arguments; it returns the composed emails of its part, in order
Task = tuple[Callable[..., list[ComposedEmail]], tuple]


def render_notices(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    *,
    companies: Mapping[str, Mapping[str, Any]] | None = None,
    template_dir: str | Path | TemplateDirs | None = None,
    earlier_claims: pd.DataFrame | None = None,
) -> list[RenderedEmail]:
    """The emails of a dunning proposal: one per notice whose action is ``email``.

    ``open_items`` (after cash application) supplies each item's document_date, due_date and
    reference, and the customer's statement of account.  ``earlier_claims`` (company_code,
    customer_id, currency, kind, outstanding cents) are the fees and interest the notices
    before tonight still claim, named below the items and on the statement.
    """
    jobs = _notice_jobs(notices, items, customers, open_items, as_of, companies, template_dir, earlier_claims)
    return [_render_job(job) for job in jobs]


def compose_notices(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    *,
    workers: int = 1,
    companies: Mapping[str, Mapping[str, Any]] | None = None,
    template_dir: str | Path | TemplateDirs | None = None,
    earlier_claims: pd.DataFrame | None = None,
) -> list[ComposedEmail]:
    """``render_notices`` and ``compose`` in one pass, in notice order, on ``workers``
    processes.  Each letter is independent of the others, so a go-live night's 10^4-10^5
    letters spread over the machine's cores; only the composed (compressed) emails are kept.
    """
    if workers <= 1 or emailed_count(notices) < POOL_THRESHOLD:
        return _compose_slice(notices, items, customers, open_items, as_of, companies, template_dir, earlier_claims)
    tasks = notice_tasks(notices, items, customers, open_items, as_of, companies, template_dir, earlier_claims)
    return compose_tasks(tasks, workers)


def emailed_count(notices: pd.DataFrame) -> int:
    return int((notices["action"].astype(str) == "email").sum())


def compose_tasks(tasks: Iterable[Task], workers: int) -> list[ComposedEmail]:
    """The emails of every task, in task order, on ``workers`` processes (in this process
    when ``workers`` is 1)."""
    if workers <= 1:
        return [email for fn, args in tasks for email in fn(*args)]
    composed: list[ComposedEmail] = []
    # spawn, not fork: the caller may be a Prefect worker with threads holding locks
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future] = deque()
        for fn, args in tasks:
            pending.append(pool.submit(fn, *args))
            # a bounded queue of tasks keeps the night's inputs from being pickled at once
            if len(pending) >= 2 * workers:
                composed.extend(pending.popleft().result())
        while pending:
            composed.extend(pending.popleft().result())
    return composed


def notice_tasks(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    companies: Mapping[str, Mapping[str, Any]] | None = None,
    template_dir: str | Path | TemplateDirs | None = None,
    earlier_claims: pd.DataFrame | None = None,
    size: int = POOL_CHUNK,
) -> Iterator[Task]:
    """The emailed notices in slices of ``size``, each with only the rows its letters read
    (items, customers, the accounts' open items and earlier claims): a rendering process gets
    a few small frames and turns them into letters itself, so the run's process does not
    convert a million rows to Python values while the pool waits."""
    companies = companies if companies is not None else load_companies()
    tdir = _search_path(template_dir)
    emailed = notices[notices["action"].astype(str) == "email"].reset_index(drop=True)
    if emailed.empty:
        return
    emailed["_slice"] = emailed.index // size
    by_slice = {
        "items": _by_slice(items, emailed[["notice_id", "_slice"]], ["notice_id"]),
        "customers": _by_slice(customers, emailed[["customer_id", "_slice"]], ["customer_id"]),
        "open_items": _by_slice(open_items, emailed[[*_ACCOUNT, "_slice"]], _ACCOUNT),
        "claims": _by_slice(earlier_claims, emailed[[*_ACCOUNT, "_slice"]], _ACCOUNT),
    }
    for n, part in emailed.groupby("_slice", sort=True):
        frames = {k: (None if v is None else v.get(n, v[None])) for k, v in by_slice.items()}
        args = (part.drop(columns="_slice"), frames["items"], frames["customers"], frames["open_items"])
        yield _compose_slice, (*args, as_of, companies, tdir, frames["claims"])


_ACCOUNT = ["company_code", "customer_id", "currency"]


def _by_slice(frame: pd.DataFrame | None, slices: pd.DataFrame, on: list[str]) -> dict | None:
    """``frame``'s rows per slice number (``None`` -> the empty frame), by the key ``on``; a
    key in two slices gives its rows to both."""
    if frame is None:
        return None
    keys = slices.drop_duplicates()
    # the key columns compared as text: the extracts' codes may be categorical, the notices' not
    left = frame[on].astype(str).reset_index(drop=True)
    right = keys.assign(**{c: keys[c].astype(str) for c in on})
    hit = left.reset_index().merge(right, on=on, how="inner").sort_values(["_slice", "index"], kind="stable")
    rows = frame.reset_index(drop=True)
    out: dict = {None: rows.iloc[:0]}
    for n, idx in hit.groupby("_slice", sort=False)["index"]:
        out[n] = rows.iloc[idx.to_numpy()]
    return out


def _compose_slice(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    companies: Mapping[str, Mapping[str, Any]] | None,
    template_dir: str | Path | TemplateDirs | None,
    earlier_claims: pd.DataFrame | None,
) -> list[ComposedEmail]:
    jobs = _notice_jobs(notices, items, customers, open_items, as_of, companies, template_dir, earlier_claims)
    return [compose(_render_job(job)) for job in jobs]


def _render_job(job: _Job) -> RenderedEmail:
    notice, item_rows, customer, company, statement, as_of, template_dir = job
    return render_reminder(notice, item_rows, customer, company, as_of, template_dir, statement=statement)


def _notice_jobs(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    companies: Mapping[str, Mapping[str, Any]] | None,
    template_dir: str | Path | TemplateDirs | None,
    earlier_claims: pd.DataFrame | None = None,
) -> Iterable[_Job]:
    """What rendering each emailed notice needs, as plain values (picklable, and pandas
    indexing per notice would dominate at 10^4 notices)."""
    companies = companies if companies is not None else load_companies()
    emailed = notices[notices["action"].astype(str) == "email"]
    if emailed.empty:
        return
    wanted = set(emailed["customer_id"])
    by_customer = {r["customer_id"]: r for r in frame_records(customers[customers["customer_id"].isin(wanted)])}
    mine = items[items["notice_id"].isin(set(emailed["notice_id"]))]
    open_mine = None
    if open_items is not None and not open_items.empty:
        open_mine = open_items[open_items["customer_id"].isin(wanted)]
        details = [
            c for c in ("document_date", "due_date", "reference", "document_type", "amount") if c in open_mine.columns
        ]
        missing = [c for c in details if c not in mine.columns]
        if missing:
            mine = mine.merge(
                open_mine[["company_code", "document_no", *missing]], on=["company_code", "document_no"], how="left"
            )
    items_by_notice: dict[Any, list[dict]] = {}
    for row in frame_records(mine):
        items_by_notice.setdefault(row["notice_id"], []).append(row)
    statements: dict[tuple, list[dict]] = {}
    if open_mine is not None:
        for row in frame_records(open_mine):
            statements.setdefault((row["company_code"], row["customer_id"], row["currency"]), []).append(row)
    owed = _owed_by_account(earlier_claims)
    tdir = _search_path(template_dir)
    for notice in frame_records(emailed):
        # the job carries them on its notice (plain values): earlier_fees, earlier_interest
        notice.update(owed.get((str(notice["company_code"]), str(notice["customer_id"]), str(notice["currency"])), {}))
        code = str(notice["company_code"])
        if code not in companies:
            raise ConfigError(
                f"Company code {code} has no entry in companies.yaml of the configuration folder; "
                "reminders cannot name the creditor or its bank account."
            )
        customer = by_customer.get(notice["customer_id"])
        if customer is None:
            raise ReceivablesError(
                f"Notice {notice['notice_id']} names customer {notice['customer_id']}, "
                "who is not in the customer extract."
            )
        statement = (
            statements.get((notice["company_code"], notice["customer_id"], notice["currency"]))
            if open_mine is not None
            else None
        )
        yield (notice, items_by_notice.get(notice["notice_id"], []), customer, companies[code], statement, as_of, tdir)


def _owed_by_account(earlier_claims: pd.DataFrame | None) -> dict[tuple[str, str, str], dict[str, int]]:
    """Per account, the cents still owed from earlier notices as the notice fields the letter reads."""
    out: dict[tuple[str, str, str], dict[str, int]] = {}
    if earlier_claims is None or earlier_claims.empty:
        return out
    for r in earlier_claims.itertuples(index=False):
        field = {"FEE": "earlier_fees", "INTEREST": "earlier_interest"}.get(str(r.kind))
        if field is not None:
            fields = out.setdefault((str(r.company_code), str(r.customer_id), str(r.currency)), {})
            fields[field] = fields.get(field, 0) + int(r.outstanding)
    return out
