"""The ``email_outbox`` rows: the statuses, reading the queue, and every status change
delivery makes.  Putting a run's emails in (and withdrawing what a rerun no longer proposes)
is ``enqueueing``; an operator's changes are ``held`` and ``review``.

A row moves ``pending -> sending`` in a committed compare-and-set before SMTP is touched
(``_claim``), then to ``sent`` (or back to ``pending`` for a redirect's test copy or a retry)
or to ``failed``.  Rows left ``sending`` by a crash are the business of ``held``.  A row that
must not go out any more is ``cancelled`` (withdrawn by a corrected rerun, or by an operator),
never deleted: the outbox is the record of what was proposed to whom.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from receivables.outbox.smtp import _refusals
from receivables.warehouse.tables import email_outbox

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")

PENDING, SENDING, SENT, FAILED, HELD = "pending", "sending", "sent", "failed", "held"
CANCELLED = "cancelled"
STATUSES = (PENDING, SENDING, SENT, FAILED, HELD, CANCELLED)
#: the longest error text kept per email: enough for an SMTP reply and a recipient list
ERROR_LIMIT = 2000


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
        # `held` too: a concurrent delivery may have swept this row while we were sending (and
        # `cancelled`: an operator may have cancelled it once held); the server accepted it, so
        # `sent` is the truth.  A row only gets here after this delivery claimed it.
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status.in_([SENDING, HELD, CANCELLED]))
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
        if conn.dialect.name == "sqlite":
            _record_previews_sqlite(conn, written, now)
            return
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == sa.bindparam("key"), email_outbox.c.status == PENDING)
            .values(mode="preview", eml_path=sa.bindparam("path"), updated_at=now),
            [{"key": key, "path": path} for key, path in written],
        )


def _record_previews_sqlite(conn: Connection, written: list[tuple[str, str]], now: datetime) -> None:
    # the driver's executemany: SQLAlchemy's builds a parameter dict per row and formats the
    # same timestamp for each, which took longer than SQLite's update of the row
    c = email_outbox.c
    processor = c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    stamp = processor(now) if processor else now
    quote = conn.dialect.identifier_preparer.quote
    statement = (
        f"UPDATE {quote(email_outbox.name)} SET {quote(c.mode.name)} = ?, {quote(c.eml_path.name)} = ?, "
        f"{quote(c.updated_at.name)} = ? WHERE {quote(c.idempotency_key.name)} = ? AND {quote(c.status.name)} = ?"
    )
    conn.exec_driver_sql(statement, [("preview", path, stamp, key, PENDING) for key, path in written])


def _chunks(rows: list, size: int) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)
