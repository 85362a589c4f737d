"""The dunning state in the warehouse, keyed by as_of.

The state an as_of starts from is what the dunning stage wrote for the dates *before* it:
per item, its latest level and the date it reached that level.  A rerun for the same as_of
therefore reads the same state and, with the same extracts, writes the same notices again
(``write_dunning`` replaces that date's rows) instead of advancing the items a second time.

A run for a date earlier than the latest dunning date changes no dunning state unless it is
explicitly asked to (``redo``): the later dates were computed from the state as it was, and
their notices may already have been sent.  A redo rewrites only its own as_of; later dates
keep their rows, and a rerun of a later date then starts from the redone state.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from receivables.dunning import (
    BROKEN_PROMISE_COLUMNS,
    HISTORY_COLUMNS,
    ITEM_COLUMNS,
    NOTICE_COLUMNS,
    SKIPPED_COLUMNS,
    DunningProposal,
    typed_frame,
)
from receivables.errors import ReceivablesError
from receivables.money import to_cents
from receivables.warehouse.database import replace_for_as_of, row_tuples
from receivables.warehouse.tables import (
    broken_promises,
    dunning_items,
    dunning_notices,
    dunning_runs,
    dunning_skips,
)


class DunningStateError(ReceivablesError):
    """Writing the dunning state for this date would rewrite history without being asked."""


def previous_levels(conn_or_engine: Connection | Engine, as_of: date | str) -> pd.DataFrame:
    """Per item, its level before ``as_of`` and the as_of on which it reached that level.

    The level is the one on the item's latest row before as_of; the date is the first row of
    the latest unbroken run of rows at that level, so being listed again on a later notice
    (because another item of the customer advanced) does not restart the wait for the next
    level.  Items whose latest level is 0 are left out: they were never dunned.
    """
    day = _day(as_of)
    t = dunning_items
    before = t.c.as_of < day
    same_item = lambda other: sa.and_(t.c.company_code == other.c.company_code, t.c.document_no == other.c.document_no)  # noqa: E731

    ranked = (
        sa.select(
            t.c.company_code,
            t.c.document_no,
            t.c.level,
            sa.func.row_number()
            .over(partition_by=[t.c.company_code, t.c.document_no], order_by=[t.c.as_of.desc(), t.c.level.desc()])
            .label("rn"),
        )
        .where(before)
        .subquery("ranked")
    )
    # a CTE, read twice below: computed once (as a subquery SQLite ranked every item twice)
    last = sa.select(ranked.c.company_code, ranked.c.document_no, ranked.c.level).where(ranked.c.rn == 1).cte("last")
    # the latest date the item stood at another level: its current level started after it
    changed = (
        sa.select(t.c.company_code, t.c.document_no, sa.func.max(t.c.as_of).label("changed_on"))
        .join(last, sa.and_(same_item(last), t.c.level != last.c.level))
        .where(before)
        .group_by(t.c.company_code, t.c.document_no)
        .subquery("changed")
    )
    query = (
        sa.select(last.c.company_code, last.c.document_no, last.c.level, sa.func.min(t.c.as_of).label("as_of"))
        .select_from(
            last.join(t, sa.and_(same_item(last), t.c.level == last.c.level)).outerjoin(
                changed,
                sa.and_(changed.c.company_code == last.c.company_code, changed.c.document_no == last.c.document_no),
            )
        )
        .where(before, last.c.level > 0, sa.or_(changed.c.changed_on.is_(None), t.c.as_of > changed.c.changed_on))
        .group_by(last.c.company_code, last.c.document_no, last.c.level)
        .order_by(last.c.company_code, last.c.document_no)
    )
    rows = _fetch(conn_or_engine, query)
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return frame.astype({"company_code": "string", "document_no": "string", "level": "int64"}).assign(
        as_of=pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    )


def latest_dunning_as_of(conn_or_engine: Connection | Engine) -> date | None:
    """The latest as_of the dunning stage wrote, or None on a fresh warehouse."""
    query = sa.select(
        sa.func.max(dunning_runs.c.as_of), sa.select(sa.func.max(dunning_notices.c.as_of)).scalar_subquery()
    )
    runs, notices = _fetch(conn_or_engine, query)[0]
    days = [_day(d) for d in (runs, notices) if d is not None]
    return max(days) if days else None


def dunning_allowed(conn_or_engine: Connection | Engine, as_of: date | str, redo: bool = False) -> bool:
    """May a run for ``as_of`` write dunning state?  Yes for a new or the latest date (a
    rerun replaces its own rows); for a date before the latest only when asked (``redo``)."""
    latest = latest_dunning_as_of(conn_or_engine)
    return latest is None or _day(as_of) >= latest or redo


def write_dunning(
    conn: Connection, as_of: date | str, run_id: str, proposal: DunningProposal, *, redo: bool = False
) -> dict[str, int]:
    """Replace this as_of's dunning state with ``proposal``, in the caller's transaction.

    Refuses (DunningStateError) a date before the latest dunning date unless ``redo``."""
    day = _day(as_of)
    if proposal.as_of != day:
        raise ValueError(f"the proposal is for {proposal.as_of}, not {day}")
    if not dunning_allowed(conn, day, redo):
        raise DunningStateError(
            f"Dunning for {day} was not written: the warehouse already holds dunning for the later date "
            f"{latest_dunning_as_of(conn)}, and rewriting an earlier date changes the history later notices "
            "were based on. Rerun with redo to rewrite it anyway."
        )
    counts = {
        "notices": replace_for_as_of(conn, "dunning_notices", day, proposal.notices, run_id),
        "items": replace_for_as_of(conn, "dunning_items", day, proposal.items, run_id),
        "skipped": replace_for_as_of(conn, "dunning_skips", day, proposal.skipped, run_id),
        "broken_promises": replace_for_as_of(conn, "broken_promises", day, proposal.broken_promises, run_id),
    }
    replace_for_as_of(conn, "dunning_runs", day, pd.DataFrame([counts]), run_id)
    return counts


def read_dunning(conn_or_engine: Connection | Engine, as_of: date | str) -> DunningProposal | None:
    """The dunning state written for ``as_of`` as a proposal (money in cents), or None when
    the dunning stage never ran for that date: reports for an earlier date use this."""
    day = _day(as_of)
    if not _fetch(conn_or_engine, sa.select(dunning_runs.c.as_of).where(dunning_runs.c.as_of == day)):
        return None
    frames = {}
    for name, table, columns, order in (
        ("notices", dunning_notices, NOTICE_COLUMNS, ["company_code", "customer_id", "currency"]),
        ("items", dunning_items, ITEM_COLUMNS, ["notice_id", "document_no"]),
        ("skipped", dunning_skips, SKIPPED_COLUMNS, ["company_code", "document_no"]),
        ("broken_promises", broken_promises, BROKEN_PROMISE_COLUMNS, ["promise_id"]),
    ):
        query = sa.select(*[table.c[c] for c in columns]).where(table.c.as_of == day)
        frame = pd.DataFrame(_fetch(conn_or_engine, query), columns=columns)
        for col in columns:
            kind = table.c[col].type
            if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
                frame[col] = [pd.NA if v is None else to_cents(Decimal(v)) for v in frame[col]]
            elif isinstance(kind, sa.Date):
                frame[col] = pd.to_datetime(frame[col])
        frames[name] = typed_frame(frame, columns, order=order)
    return DunningProposal(as_of=day, **frames)


def _fetch(conn_or_engine: Connection | Engine, query: sa.Executable) -> list[tuple]:
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return row_tuples(conn.execute(query))
    return row_tuples(conn_or_engine.execute(query))


def _day(value: date | str | pd.Timestamp) -> date:
    return pd.Timestamp(value).date()
