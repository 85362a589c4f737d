"""What the month-end provision reads back from the warehouse: the month-end aging snapshots
its roll rates come from, and the previous month end's provision its change is measured
against (``receivables.close.provision``).  Money comes back in integer cents."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.aging import TABLE_BUCKETS
from receivables.money import to_cents
from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import aging, in_cents, provisions

_AGING_COLUMNS = ["company_code", "customer_id", "currency", *TABLE_BUCKETS]
#: the aging table's money columns, read back as cents (``aging.aging_from_warehouse``'s)
_MONEY = [*TABLE_BUCKETS, "total", "total_base"]


def aging_of(engine: Engine, as_of: date) -> pd.DataFrame:
    """Every row of the aging table for ``as_of`` with money in integer cents (nullable
    ``Int64``), as ``aging_from_warehouse`` gives it, converted by the database: a month end
    of a large ledger is a million rows."""
    names = [c.name for c in aging.columns]
    with engine.connect() as conn:
        frame = pd.DataFrame(row_tuples(conn.execute(_select(names).where(aging.c.as_of == as_of))), columns=names)
    return frame.astype(dict.fromkeys(_MONEY, "Int64"))


def _select(names: list[str]) -> sa.Select:
    """The aging table's columns ``names``, money as whole cents computed by the database."""
    return sa.select(*[in_cents(aging.c[n]) if n in _MONEY else aging.c[n] for n in names])


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def month_end_agings(engine: Engine, before: date, months: int) -> dict[date, pd.DataFrame]:
    """The aging of each of the latest ``months`` month ends before ``before`` that the
    warehouse holds (as_of -> rows per company code, customer and currency, buckets in cents),
    oldest first.  ``before`` itself is left out: a rerun of a close reads the same history."""
    c = aging.c
    with engine.connect() as conn:
        days = conn.execute(sa.select(c.as_of).where(c.as_of < before).distinct()).scalars().all()
        ends = sorted(d for d in (pd.Timestamp(d).date() for d in days) if is_month_end(d))[-months:] if months else []
        query = (
            _select(["as_of", *_AGING_COLUMNS])
            .where(c.as_of.in_(ends))
            .order_by(c.as_of, c.company_code, c.customer_id, c.currency)
        )
        cents = pd.DataFrame(row_tuples(conn.execute(query)), columns=["as_of", *_AGING_COLUMNS]) if ends else None
    if cents is None:
        return {}
    cents["as_of"] = [pd.Timestamp(d).date() for d in cents["as_of"]]
    out = {}
    for day in ends:
        frame = cents.loc[cents["as_of"] == day, _AGING_COLUMNS].reset_index(drop=True)
        out[day] = frame.astype({b: "int64" for b in TABLE_BUCKETS})
    return out


def provisions_of(engine: Engine, as_of: date) -> pd.DataFrame:
    """The provision rows of one month end (money in cents); empty when none was written."""
    names = ["company_code", "segment", "bucket", "provision"]
    c = provisions.c
    with engine.connect() as conn:
        rows = row_tuples(conn.execute(sa.select(*[c[n] for n in names]).where(c.as_of == as_of)))
    frame = pd.DataFrame(rows, columns=names)
    frame["provision"] = pd.array([to_cents(v) for v in frame["provision"]], dtype="int64")
    return frame
