"""Held emails: a send that may or may not have happened waits for a person instead of being
repeated.

A crash between talking to SMTP and committing ``sent`` leaves a row ``sending``; the next
``deliver`` turns every such row into ``held``: nobody knows whether the server accepted it, so
it is never resent automatically.  An operator checks the mail server log for the row's
Message-ID and runs ``receivables outbox release KEY`` (``release_held``: resend) or
``receivables outbox mark-sent KEY`` (``mark_held_sent``: it did go out); ``release --as-of``
(``release_held_on``) releases a whole date after an outage the server log shows it refused.
"""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.outbox.store import HELD, PENDING, SENDING, SENT, _now
from receivables.warehouse.tables import email_outbox

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")


def hold_interrupted(engine: Engine) -> int:
    """Hold every row left ``sending``: a crash came between talking to SMTP and recording
    the outcome, so whether the customer got the email is unknown.  Returns how many."""
    with engine.begin() as conn:
        held = conn.execute(
            email_outbox.update()
            .where(email_outbox.c.status == SENDING)
            .values(
                status=HELD,
                updated_at=_now(),
                error=sa.func.coalesce(email_outbox.c.error + " | ", "")
                + "Interrupted while sending: the mail server may or may not have accepted it. "
                "Check its log for the Message-ID, then run `receivables outbox release "
                + email_outbox.c.idempotency_key
                + "` to resend it, or `receivables outbox mark-sent "
                + email_outbox.c.idempotency_key
                + "` if it went out.",
            )
        ).rowcount
    if held:
        log.warning("%d email(s) were interrupted while sending and are held for review", held)
    return held


def release_held(engine: Engine, key: str) -> bool:
    """An operator's decision that a held email did not go out: back to ``pending`` so the
    next ``deliver`` of its date sends it (with the same Message-ID).  False when the key is
    not held."""
    changed = _release(engine, email_outbox.c.idempotency_key == key)
    if changed:
        log.info("held email %s released for resend", key[:12])
    return bool(changed)


def release_held_on(engine: Engine, as_of: date) -> int:
    """``release_held`` for every held email of ``as_of``; returns how many."""
    changed = _release(engine, email_outbox.c.as_of == as_of)
    if changed:
        log.info("%d held email(s) of %s released for resend", changed, as_of)
    return changed


def _release(engine: Engine, which: sa.ColumnElement[bool]) -> int:
    now = _now()
    with engine.begin() as conn:
        return conn.execute(
            email_outbox.update()
            .where(which, email_outbox.c.status == HELD)
            .values(
                status=PENDING,
                updated_at=now,
                error=sa.func.coalesce(email_outbox.c.error, "")
                + f" | Released for resend at {now.isoformat(timespec='seconds')}.",
            )
        ).rowcount


def mark_held_sent(engine: Engine, key: str) -> bool:
    """An operator's finding that a held email did reach the server: record it as ``sent``
    so it is never resent.  A held test copy (redirect mode) only counts as redirected: the
    customer's own email is still to be sent.  False when the key is not held."""
    now = _now()
    with engine.begin() as conn:
        mode = conn.execute(
            sa.select(email_outbox.c.mode).where(email_outbox.c.idempotency_key == key, email_outbox.c.status == HELD)
        ).scalar_one_or_none()
        if mode is None:
            return False
        values = {"status": PENDING, "redirected_at": now} if mode == "redirect" else {"status": SENT, "sent_at": now}
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == HELD)
            .values(
                **values,
                updated_at=now,
                error=sa.func.coalesce(email_outbox.c.error, "")
                + f" | Confirmed delivered to the server by an operator at {now.isoformat(timespec='seconds')}.",
            )
        )
    log.info("held email %s confirmed as delivered", key[:12])
    return True


def _count_held(engine: Engine, as_of: date | None) -> int:
    query = sa.select(sa.func.count()).select_from(email_outbox).where(email_outbox.c.status == HELD)
    if as_of is not None:
        query = query.where(email_outbox.c.as_of == as_of)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
