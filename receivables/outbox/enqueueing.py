"""Enqueueing a run's emails, and what a corrected rerun of the same date changes.

``enqueue`` gets every email a run proposes for its as_of (the pipeline calls it once per
run, in the publish transaction, with the emails of all company codes) and brings that
date's outbox in line with it.  The rules, all inside the caller's transaction:

- a key already in the outbox keeps its status (the truth about sending), so a rerun with the
  same data queues nothing new and therefore sends nothing new; while it is still ``pending``
  (never tried) it takes this run's rendering, so a corrected amount at the same level is what
  the customer reads;
- a ``pending`` email of that date the run no longer proposes is **withdrawn**: ``cancelled``
  with the reason and the rerun's id in ``withdrawn_by``.  What went out or may have (``sent``,
  ``sending``, ``held``) is never touched, nor are ``failed`` rows (they are not sent anyway and
  their failure stays on record), nor any other date;
- one letter per customer, company code, currency and date.  The key includes the notice
  level (a different level is a different letter), so when corrected data moves a customer to
  another level the pending letter is replaced ("replaced by the rerun of <run>: level 2");
  when the earlier letter was sent, is being sent or is held, the new one is not queued but
  counted in ``not_queued``;
- a letter an earlier rerun withdrew and this run proposes again is restored to ``pending``
  with this run's rendering; one an operator cancelled stays cancelled.

Emails outside the dunning levels (``level`` None, e.g. a payment plan's courtesy email,
``receivables.reminders.plan_courtesy``) have keys that name no date, so several nights may
propose the same one.  Each is a letter of its own (``notice_id``), never a level of the
customer's dunning letter.  One still ``pending`` (or withdrawn by a rerun) at an earlier date
and proposed again tonight moves to tonight: delivery works through one date, and the latest
night that still proposes it is the one to send or withdraw it.  A later night never withdraws
an earlier date's email: withdrawal is per date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from receivables.outbox.store import CANCELLED, FAILED, HELD, PENDING, SENDING, SENT, _chunks, _now
from receivables.reminders import ComposedEmail, RenderedEmail, compose
from receivables.warehouse.database import insert_rows
from receivables.warehouse.tables import email_outbox

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")

#: statuses that mean the customer has (or may have) the letter: another letter for the same
#: date must not follow
WENT_OUT = (SENT, SENDING, HELD)


@dataclass
class Enqueued:
    """What ``enqueue`` did.  ``inserted``: new rows; ``restored``: letters an earlier rerun had
    withdrawn, queued again; ``already_present``: keys left untouched; ``rejected``: of the
    inserted and restored, those stored ``failed`` at once because a header value was unusable;
    ``withdrawn``: pending letters of the date the run no longer proposes, cancelled;
    ``not_queued``: letters of a changed level not queued because the customer's letter of
    the other level went out (or may have) for that date."""

    inserted: int = 0
    already_present: int = 0
    rejected: int = 0
    restored: int = 0
    withdrawn: int = 0
    not_queued: int = 0
    #: of ``already_present``, pending letters that took this run's rendering
    refreshed: int = 0

    def describe(self) -> str:
        """``3 new, 1 restored, 0 already present, 0 rejected, 1 withdrawn, 0 not queued``."""
        return (
            f"{self.inserted} new, {self.restored} restored, {self.already_present} already present"
            f"{f' ({self.refreshed} pending re-rendered)' if self.refreshed else ''}, "
            f"{self.rejected} rejected, {self.withdrawn} withdrawn, {self.not_queued} not queued"
        )


@dataclass(frozen=True)
class _Existing:
    """A row of the date as the reconciliation needs it (never the stored message)."""

    status: str
    customer: tuple
    withdrawn_by: str | None


#: the template of the monthly statement of account (``receivables.statements_run``): its
#: emails share the outbox but belong to the statements run, not to the night of their date
STATEMENT_TEMPLATE = "statement_of_account"


def enqueue(conn: Connection, as_of: date, run_id: str, emails: Iterable[ComposedEmail | RenderedEmail]) -> Enqueued:
    """Bring the outbox of ``as_of`` in line with ``emails``, **every** email the run proposes
    for that date (see the module docstring): new keys become ``pending``, known keys stay
    untouched, pending letters no longer proposed are withdrawn.

    Runs inside the caller's transaction.  An email whose header values are unusable is
    stored as ``failed`` with the reason, so the run report shows it and nobody sends it.
    """
    now = _now()
    rows = []
    for r in emails:
        if isinstance(r, RenderedEmail):
            r = compose(r)
        if r.as_of != as_of:
            raise ValueError(f"email {r.key} is for {r.as_of}, not for the run's as_of {as_of}")
        rows.append(_outbox_row(r, run_id, now))
    result = Enqueued()
    existing = _rows_of_date(conn, as_of)
    result.withdrawn = _withdraw(conn, run_id, existing, rows, now)
    if _carry_forward(conn, as_of, rows, existing, now) or result.withdrawn:
        existing = _rows_of_date(conn, as_of)  # as committed now: a concurrent claim wins over a withdrawal
    went_out = {e.customer for e in existing.values() if e.status in WENT_OUT}
    new, restore, refresh = [], [], []
    for row in rows:
        known = existing.get(row["idempotency_key"])
        if known is not None and not (known.status == CANCELLED and known.withdrawn_by):
            result.already_present += 1
            if known.status == PENDING:
                refresh.append(row)
        elif _customer(row) in went_out:
            result.not_queued += 1
            log.warning(
                "outbox %s: no level %s letter for customer %s: the letter of another level for this date "
                "went out or may have (sent, sending or held)",
                as_of,
                row["level"],
                row["customer_id"],
            )
        else:
            (restore if known is not None else new).append(row)
    _queue(conn, new, restore, result)
    result.refreshed = _refresh(conn, refresh)
    log.info("outbox %s: %s", as_of, result.describe())
    return result


def decided_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    """Of ``keys``, those the outbox holds where no proposal changes them: sent, being sent,
    held, failed, or cancelled by an operator (not withdrawn by a rerun: a rerun may restore
    those).  Proposed again, such a key is left as it is (see the module docstring), so a run
    need not render it: a dispute's tier, proposed every night it stays reached."""
    c = email_outbox.c
    # enqueue's own rule, negated: a pending key takes the rendering, a withdrawn one is restored
    settled = sa.and_(c.status != PENDING, sa.not_(sa.and_(c.status == CANCELLED, c.withdrawn_by.is_not(None))))
    decided: set[str] = set()
    for batch in _chunks(list(keys), 500):
        decided.update(
            conn.execute(sa.select(c.idempotency_key).where(c.idempotency_key.in_(batch), settled)).scalars()
        )
    return decided


def _queue(conn: Connection, new: list[dict], restore: list[dict], result: Enqueued) -> None:
    # one statement per batch; ON CONFLICT DO NOTHING keeps a concurrent rerun from failing
    # and, above all, from changing a row that exists (its status is the truth about sending)
    for batch in _chunks(new, 500):
        inserted = _insert_new(conn, batch)
        result.inserted += len(inserted)
        result.already_present += len(batch) - len(inserted)
        result.rejected += sum(1 for row in batch if row["idempotency_key"] in inserted and row["status"] == FAILED)
    for row in restore:
        if _restore(conn, row):
            result.restored += 1
            result.rejected += row["status"] == FAILED
        else:
            result.already_present += 1


def _withdraw(conn: Connection, run_id: str, existing: dict[str, _Existing], rows: list[dict], now: datetime) -> int:
    """Cancel the date's pending letters that are not among ``rows``; returns how many.  The
    status condition makes it a compare-and-set: a row a delivery claimed meanwhile is left."""
    proposed = {row["idempotency_key"] for row in rows}
    levels = {_customer(row): row["level"] for row in rows}
    gone = [(k, e) for k, e in existing.items() if e.status == PENDING and k not in proposed]
    if not gone:
        return 0
    params = [{"b_key": key, "b_reason": _withdrawal_reason(run_id, levels.get(e.customer))} for key, e in gone]
    for batch in _chunks(params, 500):
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == sa.bindparam("b_key"), email_outbox.c.status == PENDING)
            .values(
                status=CANCELLED,
                cancel_reason=sa.bindparam("b_reason"),
                cancelled_at=now,
                withdrawn_by=run_id,
                updated_at=now,
            ),
            batch,
        )
    # executemany row counts differ between drivers: count what the rows say now
    keys = [key for key, _ in gone]
    withdrawn = 0
    for batch in _chunks(keys, 500):
        withdrawn += conn.execute(
            sa.select(sa.func.count())
            .select_from(email_outbox)
            .where(
                email_outbox.c.idempotency_key.in_(batch),
                email_outbox.c.status == CANCELLED,
                email_outbox.c.withdrawn_by == run_id,
            )
        ).scalar_one()
    return int(withdrawn)


def _carry_forward(conn: Connection, as_of: date, rows: list[dict], existing: dict, now: datetime) -> int:
    """Move to ``as_of`` the undated emails (no level) proposed tonight that wait at an earlier
    date, pending or withdrawn by a rerun; what went out, is held, failed or was cancelled by
    an operator stays where it is.  Returns how many moved."""
    keys = [r["idempotency_key"] for r in rows if r["level"] is None and r["idempotency_key"] not in existing]
    c = email_outbox.c
    # a CASE, not an OR: with the OR, SQLite's planner (no ANALYZE statistics) reads every
    # pending and cancelled row of every date through the status index for each batch of
    # keys, instead of looking the 500 keys up (seconds a night at 10^5 emails)
    waiting = sa.case(
        (c.status == PENDING, sa.true()),
        (sa.and_(c.status == CANCELLED, c.withdrawn_by.is_not(None)), sa.true()),
        else_=sa.false(),
    )
    moved = 0
    for batch in _chunks(keys, 500):
        update = email_outbox.update().where(c.idempotency_key.in_(batch), c.as_of < as_of, waiting)
        moved += int(conn.execute(update.values(as_of=as_of, updated_at=now)).rowcount or 0)
    return moved


def _withdrawal_reason(run_id: str, new_level: int | None) -> str:
    if new_level is not None:
        return f"replaced by the rerun of {run_id}: level {new_level}"
    return f"withdrawn by the rerun of {run_id}: no longer proposed for this date"


def _restore(conn: Connection, row: dict) -> bool:
    """A letter an earlier rerun withdrew, proposed again: back to ``pending`` with this run's
    rendering and run id; what the withdrawn rendering went through is reset with it."""
    values = {k: v for k, v in row.items() if k not in ("idempotency_key", "created_at")}
    values |= {
        "cancelled_at": None,
        "cancel_reason": None,
        "withdrawn_by": None,
        "mode": None,
        "eml_path": None,
        "redirected_at": None,
        "delivered_to": None,
        "message_id": None,
    }
    values.pop("attempts")  # attempts count what happened to this key: kept
    changed = conn.execute(
        email_outbox.update()
        .where(
            email_outbox.c.idempotency_key == row["idempotency_key"],
            email_outbox.c.status == CANCELLED,
            email_outbox.c.withdrawn_by.is_not(None),
        )
        .values(**values)
    ).rowcount
    return changed == 1


#: what a pending letter takes from a rerun's rendering (never its status history or key)
_RENDERING = ("run_id", "notice_id", "recipients", "subject", "language", "reply_to", "template", "mime_zlib")


def _refresh(conn: Connection, rows: list[dict]) -> int:
    """Pending letters (never tried) with this run's rendering; a row a delivery claimed in
    the meantime is no longer pending and keeps what it was sent with."""
    if not rows:
        return 0
    c = email_outbox.c
    statement = (
        email_outbox.update()
        .where(c.idempotency_key == sa.bindparam("b_key"), c.status == PENDING)
        .values(
            **{name: sa.bindparam(f"b_{name}") for name in _RENDERING},
            status=sa.bindparam("b_status"),
            error=sa.bindparam("b_error"),
            updated_at=sa.bindparam("b_updated_at"),
        )
    )
    params = [
        {"b_key": r["idempotency_key"], **{f"b_{k}": r[k] for k in (*_RENDERING, "status", "error", "updated_at")}}
        for r in rows
    ]
    return int(conn.execute(statement, params).rowcount or 0)


def _rows_of_date(conn: Connection, as_of: date) -> dict[str, _Existing]:
    """The date's emails a night owns: its letters and courtesy emails, not the monthly
    statements of account, which a statements run queued (a rerun of the night must not
    withdraw them)."""
    c = email_outbox.c
    query = sa.select(
        c.idempotency_key, c.status, c.company_code, c.customer_id, c.currency, c.level, c.notice_id, c.withdrawn_by
    ).where(c.as_of == as_of, sa.or_(c.template.is_(None), c.template != STATEMENT_TEMPLATE))
    return {r.idempotency_key: _Existing(r.status, _customer(r._mapping), r.withdrawn_by) for r in conn.execute(query)}


def _customer(row: Mapping) -> tuple:
    """Whom one letter of a date goes to: the SPEC groups a notice per customer, company code
    and currency, so two keys of one date with the same triple are two levels of one letter.
    An email without a level is no dunning letter: a letter of its own, named by its notice_id."""
    letter = (row["company_code"], row["customer_id"], row["currency"])
    return letter if row["level"] is not None else (*letter, row["notice_id"])


def _outbox_row(r: ComposedEmail, run_id: str, now: datetime) -> dict:
    return {
        "idempotency_key": r.key,
        "as_of": r.as_of,
        "run_id": run_id,
        "notice_id": r.notice_id,
        "customer_id": r.customer_id,
        "company_code": r.company_code,
        "currency": r.currency,
        "level": r.level,
        "template": r.template,
        "recipients": r.recipients,
        "subject": r.subject,
        "language": r.language,
        "reply_to": r.reply_to,
        "status": FAILED if r.problem else PENDING,
        "attempts": 0,
        "error": r.problem,
        "mime_zlib": r.mime_zlib,
        "created_at": now,
        "updated_at": now,
    }


def _insert_new(conn: Connection, batch: list[dict]) -> set[str]:
    keys = [row["idempotency_key"] for row in batch]
    present = set(
        conn.execute(
            sa.select(email_outbox.c.idempotency_key).where(email_outbox.c.idempotency_key.in_(keys))
        ).scalars()
    )
    new = [row for row in batch if row["idempotency_key"] not in present]
    if not new:
        return set()
    if conn.dialect.name in ("sqlite", "postgresql"):
        insert_rows(conn, email_outbox.name, new, skip_existing="idempotency_key")
        # a row a concurrent enqueue inserted first is theirs, not ours: compare run ids
        ours = conn.execute(
            sa.select(email_outbox.c.idempotency_key).where(
                email_outbox.c.idempotency_key.in_([r["idempotency_key"] for r in new]),
                email_outbox.c.run_id == new[0]["run_id"],
            )
        ).scalars()
        return set(ours)
    conn.execute(email_outbox.insert(), new)
    return {r["idempotency_key"] for r in new}
