"""Root causes over time: the overdue balance per delinquency driver at each month's last run,
and the disputes opened per month by reason code, from the warehouse's history, so a manager
sees whether billing errors or missing proofs of delivery are growing.

A month's driver amounts are those of its last as_of in ``delinquency_drivers`` (all company
codes added, base currency); a dispute counts in the month it was opened, once, with its
amount as last recorded in ``dispute_status``.  Months are ``YYYY-MM`` columns, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.delinquency import DRIVERS
from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import metadata


@dataclass(frozen=True)
class RootCauses:
    """``drivers``: one row per driver, one column per month (base cents); ``disputes``: one
    row per reason code and measure (``opened`` count, ``amount`` in cents), one column per
    month; ``month_ends``: the as_of each month's driver column was taken from."""

    drivers: pd.DataFrame
    disputes: pd.DataFrame
    month_ends: dict[str, str]

    @property
    def months(self) -> list[str]:
        return sorted(set(self.drivers.columns[1:]) | set(self.disputes.columns[2:]))


def _cents(values: pd.Series) -> pd.Series:
    return pd.Series([int(Decimal(str(v)) * 100) for v in values], index=values.index, dtype="int64")


def driver_months(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per driver and month, the amount of the month's last as_of (companies added), and which
    as_of that was."""
    if rows.empty:
        return pd.DataFrame({"driver": list(DRIVERS)}), {}
    day = pd.to_datetime(rows["as_of"])
    month = day.dt.strftime("%Y-%m")
    last = day.groupby(month).transform("max")
    taken = rows.loc[day == last].assign(month=month, amount=lambda f: _cents(f["amount"]))
    wide = taken.pivot_table(index="driver", columns="month", values="amount", aggfunc="sum", fill_value=0)
    known = list(DRIVERS) + sorted(set(wide.index) - set(DRIVERS))
    wide = wide.reindex(known, fill_value=0).astype("int64").reset_index()
    wide.columns.name = None
    ends = {m: d.date().isoformat() for m, d in last.groupby(month).first().items()}
    return wide, ends


def dispute_months(rows: pd.DataFrame) -> pd.DataFrame:
    """Per reason code the disputes opened each month: ``opened`` (count) and ``amount``
    (cents), each dispute once, as its latest row has it."""
    columns = ["reason_code", "measure"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    latest = rows.assign(_d=pd.to_datetime(rows["as_of"])).sort_values("_d", kind="stable")
    latest = latest.drop_duplicates(["company_code", "dispute_id"], keep="last")
    month = pd.to_datetime(latest["opened_on"]).dt.strftime("%Y-%m")
    g = latest.assign(month=month, cents=_cents(latest["amount"])).groupby(["reason_code", "month"])
    counts = g.size().unstack(fill_value=0).assign(measure="opened")
    amounts = g["cents"].sum().unstack(fill_value=0).assign(measure="amount")
    out = pd.concat([counts, amounts]).reset_index().sort_values(["reason_code", "measure"], ascending=[True, False])
    months = sorted(c for c in out.columns if c not in ("reason_code", "measure"))
    out = out[columns + months].fillna(0)
    out[months] = out[months].astype("int64")
    out.columns.name = None
    return out.reset_index(drop=True)


def root_causes(
    engine: Engine,
    as_of=None,
    tonight: pd.DataFrame | None = None,
    tonight_disputes: pd.DataFrame | None = None,
) -> RootCauses:
    """The history before ``as_of`` in the warehouse, with tonight's rows (``delinquency_drivers``
    and ``dispute_status`` frames, money in cents, not yet published) for ``as_of`` itself: the
    same whether the workbook is written before the publish or after it, and a rerun of an
    earlier date sees no later night.  Without a ``dispute_status`` table (an older schema) the
    disputes part is empty."""
    stored = _before(engine, "delinquency_drivers", as_of, ["as_of", "company_code", "driver", "amount"])
    if tonight is not None:
        fresh = tonight[["company_code", "driver", "amount"]].assign(
            as_of=as_of, amount=[Decimal(int(c)).scaleb(-2) for c in tonight["amount"]]
        )
        stored = pd.concat([stored, fresh], ignore_index=True) if not stored.empty else fresh
    drivers, ends = driver_months(stored)
    disputes = pd.DataFrame(columns=["reason_code", "measure"])
    if sa.inspect(engine).has_table("dispute_status"):
        columns = ["as_of", "company_code", "dispute_id", "reason_code", "opened_on", "amount"]
        rows = _before(engine, "dispute_status", as_of, columns)
        if tonight_disputes is not None and not tonight_disputes.empty:
            fresh = tonight_disputes.assign(
                as_of=as_of, amount=[Decimal(int(c)).scaleb(-2) for c in tonight_disputes["amount"]]
            )[columns]
            rows = pd.concat([rows, fresh], ignore_index=True) if not rows.empty else fresh
        disputes = dispute_months(rows)
    return RootCauses(drivers, disputes, ends)


def _before(engine: Engine, table_name: str, as_of, columns: list[str]) -> pd.DataFrame:
    """The table's rows of the nights before ``as_of`` (every night without it)."""
    table = metadata.tables[table_name]
    query = sa.select(*[table.c[c] for c in columns])
    if as_of is not None:
        query = query.where(table.c.as_of < as_of)
    with engine.connect() as conn:
        return pd.DataFrame(row_tuples(conn.execute(query)), columns=columns)
