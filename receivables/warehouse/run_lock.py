"""The warehouse lock: two runs for the same as_of never interleave.

A run takes the lock for its as_of when it begins and gives it back when it finishes or
fails.  Interleaving runs for one date (the nightly schedule firing while an operator's
month-end rerun is still going, or two workers picking up the same rerun) would replace each
other's rows half-way and could both decide the same reminders.  The lock is a row in
``run_locks`` keyed by as_of, so it works the same on SQLite and PostgreSQL and survives the
process: a run killed hard (OOM, a rebooted machine) leaves its row behind.  Such a lock is
broken by hand (``receivables unlock --as-of DATE``) or taken over by the next run once it is
older than ``STALE_AFTER``, far longer than any real run.

Runs for *different* dates do not block each other: they write disjoint as_of rows.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.errors import ReceivablesError
from receivables.warehouse.tables import run_locks

#: a lock this old belongs to a run that died without releasing it (a nightly run takes
#: minutes; even the 1M-item benchmark finishes in well under an hour)
STALE_AFTER = timedelta(hours=12)


class RunInProgress(ReceivablesError):
    """Another run holds the lock for this as_of; this run stopped before touching anything."""

    def __init__(self, held: HeldLock) -> None:
        self.held = held
        super().__init__(
            f"A run for {held.as_of.isoformat()} is already in progress (run {held.run_id} since "
            f"{held.acquired_at:%Y-%m-%d %H:%M:%S} UTC{f' on {held.host}' if held.host else ''}). "
            f"Wait for it to finish; if it died, break its lock with "
            f"`receivables unlock --as-of {held.as_of.isoformat()}`."
        )


@dataclass(frozen=True)
class HeldLock:
    as_of: date
    run_id: str
    flow_run_id: str | None
    acquired_at: datetime
    host: str | None

    @property
    def age(self) -> timedelta:
        return datetime.now(UTC) - self.acquired_at


def acquire(
    engine: Engine, as_of: date, run_id: str, *, flow_run_id: str | None = None, stale_after: timedelta = STALE_AFTER
) -> HeldLock | None:
    """Take the lock for ``as_of`` or raise ``RunInProgress``.

    Returns the stale lock that was broken to get it (for the log), else None.  The insert
    either wins or hits the primary key: the database decides, so two runs starting in the
    same second cannot both get it.
    """
    broken = None
    for _ in range(2):
        try:
            with engine.begin() as conn:
                conn.execute(
                    run_locks.insert().values(
                        as_of=as_of,
                        run_id=run_id,
                        flow_run_id=flow_run_id,
                        acquired_at=datetime.now(UTC),
                        host=socket.gethostname()[:255],
                    )
                )
            return broken
        except sa.exc.IntegrityError:
            held = holder(engine, as_of)
            if held is None:  # released between our insert and our read: try again
                continue
            if held.age < stale_after:
                raise RunInProgress(held) from None
            release(engine, as_of, held.run_id)
            broken = held
    held = holder(engine, as_of)
    raise RunInProgress(held) if held else ReceivablesError(f"The run lock for {as_of} could not be taken.")


def release(engine: Engine, as_of: date, run_id: str | None = None) -> bool:
    """Give the lock back; with ``run_id``, only if that run holds it (a run refused at its
    start must not free the lock of the run that is still going).  True when a row went."""
    query = run_locks.delete().where(run_locks.c.as_of == as_of)
    if run_id is not None:
        query = query.where(run_locks.c.run_id == run_id)
    with engine.begin() as conn:
        return conn.execute(query).rowcount > 0


def holder(engine: Engine, as_of: date) -> HeldLock | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(run_locks).where(run_locks.c.as_of == as_of)).mappings().first()
    return _held(row) if row else None


def held_locks(engine: Engine) -> list[HeldLock]:
    """Every lock currently held, oldest first (what `receivables history` warns about)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(run_locks).order_by(run_locks.c.acquired_at)).mappings().all()
    return [_held(r) for r in rows]


def _held(row) -> HeldLock:
    acquired = row["acquired_at"]
    if acquired.tzinfo is None:  # SQLite drops the offset; we always write UTC
        acquired = acquired.replace(tzinfo=UTC)
    return HeldLock(
        as_of=row["as_of"], run_id=row["run_id"], flow_run_id=row["flow_run_id"], acquired_at=acquired, host=row["host"]
    )
