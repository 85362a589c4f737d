"""An operator's look at the outbox and the changes a person makes to it: release or confirm
a held email, cancel one that must not go out.

``receivables outbox list|release|mark-sent|cancel`` (``flows/outbox_commands.py``) only
parse and print; the rules (which status may become which, what a shortened key means, what
a refusal says) live here beside the other outbox rules, so they hold for any caller and are
tested without a terminal.  Nothing here reads or returns a message body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.errors import ReceivablesError
from receivables.outbox.held import mark_held_sent, release_held
from receivables.outbox.store import CANCELLED, FAILED, HELD, PENDING, SENDING, SENT, STATUSES, _now
from receivables.warehouse.tables import email_outbox

#: what a command shows of a key; the first 8 or more characters are accepted when unique
SHORT_KEY = 12
MIN_KEY = 8
#: what an operator's cancel records when no reason is given
DEFAULT_CANCEL_REASON = "cancelled by an operator"


class OutboxRequestError(ReceivablesError):
    """An operator's request the outbox cannot carry out as asked: an unknown or ambiguous
    key, or an email in a status the action does not apply to.  Rejected input: exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class OutboxEmail:
    """One outbox row as an operator sees it (no message body)."""

    key: str
    as_of: date
    company_code: str | None
    customer_id: str
    recipients: str
    level: int | None
    status: str
    mode: str | None
    attempts: int
    message_id: str | None
    error: str | None
    cancel_reason: str | None
    sent_at: datetime | None
    updated_at: datetime | None

    @property
    def short_key(self) -> str:
        return self.key[:SHORT_KEY]

    @property
    def note(self) -> str:
        """The cancel reason of a cancelled email, else its last error (errors are appended
        with `` | ``, the last one is the current state)."""
        if self.status == CANCELLED and self.cancel_reason:
            return self.cancel_reason
        return (self.error or "").rsplit(" | ", 1)[-1].strip()

    def named(self) -> str:
        """``email 3f2a9c1b0d4e (customer C001, 2026-10-31)``, for messages."""
        return f"email {self.short_key} (customer {self.customer_id}, {self.as_of})"


_c = email_outbox.c
_COLUMNS = (
    _c.idempotency_key, _c.as_of, _c.company_code, _c.customer_id, _c.recipients, _c.level, _c.status, _c.mode,
    _c.attempts, _c.message_id, _c.error, _c.cancel_reason, _c.sent_at, _c.updated_at,
)  # fmt: skip


def list_emails(
    engine: Engine, *, as_of: date | None = None, status: str | None = None, limit: int = 50
) -> tuple[list[OutboxEmail], dict[str, int]]:
    """The newest ``limit`` emails (by as_of, then customer) of ``as_of`` / ``status`` or all,
    and how many of each status that selection holds in total."""
    if status is not None and status not in STATUSES:
        raise OutboxRequestError(f"--status {status!r} is not an outbox status; use one of {', '.join(STATUSES)}.")
    conditions = []
    if as_of is not None:
        conditions.append(_c.as_of == as_of)
    if status is not None:
        conditions.append(_c.status == status)
    query = (
        sa.select(*_COLUMNS)
        .where(*conditions)
        .order_by(_c.as_of.desc(), _c.company_code, _c.customer_id, _c.idempotency_key)
        .limit(limit)
    )
    counts = sa.select(_c.status, sa.func.count()).where(*conditions).group_by(_c.status)
    with engine.connect() as conn:
        emails = [OutboxEmail(*row) for row in conn.execute(query)]
        by_status = {s: int(n) for s, n in conn.execute(counts)}
    return emails, by_status


def find_email(engine: Engine, key: str) -> OutboxEmail:
    """The email with this key, or the one whose key starts with it (at least 8 characters)."""
    wanted = key.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{MIN_KEY},64}}", wanted):
        raise OutboxRequestError(
            f"{key!r} is not an outbox key: give the key as `receivables outbox list` shows it "
            f"(hexadecimal; its first {MIN_KEY} or more characters are enough when no other key starts with them)."
        )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*_COLUMNS).where(_c.idempotency_key.startswith(wanted)).limit(3)).all()
    if not rows:
        raise OutboxRequestError(
            f"No email in the outbox has the key {key}. `receivables outbox list` shows the keys (check --db)."
        )
    if len(rows) > 1:
        raise OutboxRequestError(f"More than one email has a key starting with {key}: give more characters.")
    return OutboxEmail(*rows[0])


def release(engine: Engine, key: str) -> OutboxEmail:
    """A held email back to ``pending`` (see ``held.release_held``); the email as it was."""
    email = _held(engine, key, "released")
    if not release_held(engine, email.key):
        raise _changed_meanwhile(engine, email)
    return email


def mark_sent(engine: Engine, key: str) -> OutboxEmail:
    """A held email recorded as sent (see ``held.mark_held_sent``); the email as it was."""
    email = _held(engine, key, "marked as sent")
    if not mark_held_sent(engine, email.key):
        raise _changed_meanwhile(engine, email)
    return email


def cancel(engine: Engine, key: str, reason: str | None = None) -> tuple[OutboxEmail, bool]:
    """A pending, held or failed email becomes ``cancelled`` with the reason, so no delivery
    sends it.  Returns the email as it was and whether this call cancelled it (False: it was
    cancelled already).  A sent email, or one being sent right now, is refused."""
    email = find_email(engine, key)
    if email.status == CANCELLED:
        return email, False
    if email.status == SENT:
        sent = f" at {email.sent_at:%Y-%m-%d %H:%M} UTC" if email.sent_at else ""
        raise OutboxRequestError(f"The {email.named()} was sent{sent}: a sent email cannot be cancelled.")
    if email.status == SENDING:
        raise OutboxRequestError(
            f"The {email.named()} is being sent right now: it cannot be cancelled. If no delivery is running, the "
            "next one holds it for review; then cancel it."
        )
    now = _now()
    with engine.begin() as conn:
        changed = conn.execute(
            email_outbox.update()
            .where(_c.idempotency_key == email.key, _c.status.in_([PENDING, HELD, FAILED]))
            .values(
                status=CANCELLED,
                cancel_reason=(reason or "").strip() or DEFAULT_CANCEL_REASON,
                cancelled_at=now,
                withdrawn_by=None,
                updated_at=now,
            )
        ).rowcount
    if not changed:
        raise _changed_meanwhile(engine, email)
    return email, True


def _held(engine: Engine, key: str, action: str) -> OutboxEmail:
    email = find_email(engine, key)
    if email.status != HELD:
        raise OutboxRequestError(
            f"The {email.named()} is {email.status}, not held: only a held email can be {action}. "
            + _STATUS_HINT.get(email.status, "")
        )
    return email


_STATUS_HINT = {
    PENDING: "It is waiting for the next delivery of its date.",
    SENT: "It went out; it is never sent again.",
    SENDING: "It is being sent right now; if no delivery is running, the next one holds it for review.",
    FAILED: "It failed; `receivables outbox list --status failed` shows why.",
    CANCELLED: "It was cancelled and is never sent.",
}


def _changed_meanwhile(engine: Engine, before: OutboxEmail) -> OutboxRequestError:
    now = find_email(engine, before.key)
    return OutboxRequestError(
        f"The {before.named()} changed from {before.status} to {now.status} meanwhile (a delivery or a run "
        "was working on it): nothing was changed. Look at it again with `receivables outbox list`."
    )
