"""The ``email_outbox`` rows: enqueueing a run's emails and every status change delivery makes.

``enqueue`` stores the rendered emails of a run as ``pending`` rows in ``email_outbox``; a key
that is already there (any status) is left exactly as it is, so rerunning the same as_of
enqueues nothing new and therefore sends nothing new.

A row moves ``pending -> sending`` in a committed compare-and-set before SMTP is touched
(``_claim``), then to ``sent`` (or back to ``pending`` for a redirect's test copy or a retry)
or to ``failed``.  Rows left ``sending`` by a crash are the business of ``held``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from receivables.outbox.smtp import _refusals
from receivables.reminders import ComposedEmail, RenderedEmail, compose
from receivables.warehouse.tables import email_outbox

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")

PENDING, SENDING, SENT, FAILED, HELD = "pending", "sending", "sent", "failed", "held"
STATUSES = (PENDING, SENDING, SENT, FAILED, HELD)
#: the longest error text kept per email: enough for an SMTP reply and a recipient list
ERROR_LIMIT = 2000


@dataclass
class Enqueued:
    """What ``enqueue`` did: new rows, keys already present (left untouched), rows rejected
    at once because a header value was unusable (stored as ``failed`` with the reason)."""

    inserted: int = 0
    already_present: int = 0
    rejected: int = 0


# --------------------------------------------------------------------------- enqueue


def enqueue(conn: Connection, as_of: date, run_id: str, emails: Iterable[ComposedEmail | RenderedEmail]) -> Enqueued:
    """Store a run's emails as ``pending`` rows; keys already in the outbox stay untouched.

    Runs inside the caller's transaction.  An email whose header values are unusable is
    stored as ``failed`` with the reason, so the run report shows it and nobody sends it.
    """
    result = Enqueued()
    rows = []
    now = _now()
    for r in emails:
        if isinstance(r, RenderedEmail):
            r = compose(r)
        if r.as_of != as_of:
            raise ValueError(f"email {r.key} is for {r.as_of}, not for the run's as_of {as_of}")
        rows.append(_outbox_row(r, run_id, now))
    if not rows:
        return result
    # one statement per batch; ON CONFLICT DO NOTHING keeps a concurrent rerun from failing
    # and, above all, from changing a row that exists (its status is the truth about sending)
    for batch in _chunks(rows, 500):
        inserted = _insert_new(conn, batch)
        result.inserted += len(inserted)
        result.already_present += len(batch) - len(inserted)
        result.rejected += sum(1 for row in batch if row["idempotency_key"] in inserted and row["status"] == FAILED)
    log.info(
        "outbox %s: %d new email(s), %d already present, %d rejected",
        as_of,
        result.inserted,
        result.already_present,
        result.rejected,
    )
    return result


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
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        conn.execute(insert(email_outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]), new)
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


# --------------------------------------------------------------------------- reading rows


def _pending_rows(engine: Engine, as_of: date | None, mode: str) -> list:
    # the stored messages are fetched per email or per preview batch: 10^4 of them at once
    # would hold every attachment of the night in memory
    columns = [c for c in email_outbox.c if c.name != "mime_zlib"]
    query = sa.select(*columns).where(email_outbox.c.status == PENDING)
    if as_of is not None:
        query = query.where(email_outbox.c.as_of == as_of)
    if mode == "redirect":
        # a test copy goes out once per email; the customer's send is still to come
        query = query.where(email_outbox.c.redirected_at.is_(None))
    query = query.order_by(
        email_outbox.c.as_of, email_outbox.c.company_code, email_outbox.c.customer_id, email_outbox.c.idempotency_key
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _stored_message(engine: Engine, key: str) -> bytes | None:
    return _stored_messages(engine, [key]).get(key)


def _stored_messages(engine: Engine, keys: list[str]) -> dict[str, bytes | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(email_outbox.c.idempotency_key, email_outbox.c.mime_zlib).where(
                email_outbox.c.idempotency_key.in_(keys)
            )
        )
        return {key: mime for key, mime in rows}


# --------------------------------------------------------------------------- status changes


def _claim(engine: Engine, key: str, mode: str, message_id: str, rcpts: list[str]) -> bool:
    """pending -> sending, committed before SMTP is touched.  The status condition makes it a
    compare-and-set: of two concurrent deliveries only one changes the row and sends."""
    with engine.begin() as conn:
        return (
            conn.execute(
                email_outbox.update()
                .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == PENDING)
                .values(
                    status=SENDING,
                    attempts=email_outbox.c.attempts + 1,
                    mode=mode,
                    # recorded before sending, so a held row names the id to look for in the server log
                    message_id=message_id,
                    delivered_to="; ".join(rcpts),
                    updated_at=_now(),
                )
            ).rowcount
            == 1
        )


def _mark_sent(engine: Engine, key: str, mode: str, refused: dict, scrub: Callable[[str], str]) -> None:
    now = _now()
    note = None
    if refused:
        note = scrub("Partly refused: " + _refusals(refused))[:ERROR_LIMIT]
    # a redirect is a test copy: the customer's email is still to be sent
    values = {"status": PENDING, "redirected_at": now} if mode == "redirect" else {"status": SENT, "sent_at": now}
    with engine.begin() as conn:
        # `held` too: a concurrent delivery may have swept this row while we were sending;
        # the server accepted it, so `sent` is the truth
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status.in_([SENDING, HELD]))
            .values(**values, error=note, updated_at=now)
        )


def _release_for_retry(engine: Engine, key: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == SENDING)
            .values(status=PENDING, error=error[:ERROR_LIMIT], updated_at=_now())
        )


def _fail_row(engine: Engine, key: str, status: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status.in_([PENDING, SENDING]))
            .values(status=status, error=error[:ERROR_LIMIT], updated_at=_now())
        )


def _record_previews(engine: Engine, written: list[tuple[str, str]]) -> None:
    if not written:
        return
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == sa.bindparam("key"), email_outbox.c.status == PENDING)
            .values(mode="preview", eml_path=sa.bindparam("path"), updated_at=now),
            [{"key": key, "path": path} for key, path in written],
        )


def _chunks(rows: list, size: int) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)
