"""Stage 6, report: the aging of open receivables (its configuration: ``AgingConfig``; the
rest of ``reporting.yaml`` is ``receivables.reporting_config``).

Aging answers "how late is the money we are owed?": every open item after cash application
goes into one bucket by its days past due (``as_of - due_date``), summed per company code,
customer and currency.  The bucket edges come from ``configs/reporting.yaml``; the bucket
*columns* are those of the warehouse ``aging`` table, so changing edges is a config change and
adding a bucket is a migration.

Edge rule: a bucket holds the items whose days past due are above the previous bucket's
``max_days`` and at most its own.  With the default edges ``not_due`` is ``<= 0`` (due today
counts as not yet due), ``d1_30`` is 1..30 (both ends included), ``d31_60`` 31..60, ...,
``d121_plus`` 121 and older.

Money is integer cents throughout; ``aging_from_warehouse`` turns the warehouse's Decimal rows
back into cents for the KPI and chart code that reads earlier snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import numpy as np
import pandas as pd
from pydantic import model_validator

from receivables.money import StrictModel, round_half_up_cents, to_cents

KEYS = ["company_code", "customer_id", "currency"]

#: the bucket columns of the warehouse ``aging`` table, oldest last
TABLE_BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d91_120", "d121_plus")


# --- configuration -------------------------------------------------------------------------------


class Bucket(StrictModel):
    """One aging bucket: items more than the previous bucket's ``max_days`` past due and at
    most ``max_days`` (``null`` = no upper end, only for the last bucket)."""

    column: str
    label: str
    max_days: int | None


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket(column="not_due", label="Not due", max_days=0),
    Bucket(column="d1_30", label="1-30", max_days=30),
    Bucket(column="d31_60", label="31-60", max_days=60),
    Bucket(column="d61_90", label="61-90", max_days=90),
    Bucket(column="d91_120", label="91-120", max_days=120),
    Bucket(column="d121_plus", label="121+", max_days=None),
)


class AgingConfig(StrictModel):
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS

    @model_validator(mode="after")
    def _edges(self) -> AgingConfig:
        columns = tuple(b.column for b in self.buckets)
        if columns != TABLE_BUCKETS:
            raise ValueError(
                f"the bucket columns must be {', '.join(TABLE_BUCKETS)} in this order (the aging table's "
                f"columns; another layout needs a warehouse migration), got {', '.join(columns) or 'none'}"
            )
        edges = [b.max_days for b in self.buckets]
        if edges[-1] is not None or any(e is None for e in edges[:-1]):
            raise ValueError("only the last bucket has no max_days (null); every other bucket needs one")
        if edges[0] < 0:  # type: ignore[operator]
            raise ValueError("the first bucket (not due) must end at 0 days past due or later")
        if any(b <= a for a, b in zip(edges[:-2], edges[1:-1])):  # type: ignore[operator]
            raise ValueError(f"max_days must increase from bucket to bucket, got {edges[:-1]}")
        return self

    @property
    def edges(self) -> list[int]:
        return [int(b.max_days) for b in self.buckets[:-1]]  # type: ignore[arg-type]

    def lower_edge(self, column: str) -> int:
        """The fewest days past due an item in this overdue bucket can have."""
        i = [b.column for b in self.buckets].index(column)
        if i == 0:
            raise ValueError(f"{column} is the not-due bucket; it has no lower edge")
        return 1 + int(self.buckets[i - 1].max_days)  # type: ignore[arg-type]


def days_past_due(due_date: pd.Series, as_of: date | str | pd.Timestamp) -> pd.Series:
    """Whole days from the due date to as_of: 0 on the due date, negative before it."""
    return (pd.Timestamp(as_of).normalize() - pd.to_datetime(due_date)).dt.days


def bucket_index(days: pd.Series | np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """The bucket each days-past-due value falls in: the first whose max_days it does not exceed."""
    return np.searchsorted(np.asarray(edges), np.asarray(days), side="left")


def age_open_items(
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    buckets: AgingConfig | Sequence[Bucket] = DEFAULT_BUCKETS,
) -> pd.DataFrame:
    """Open amounts (after cash application) per company code, customer and currency, split by
    days past due into the buckets; credit notes and payments on account are aged by their own
    due date, so a bucket can be negative and ``total`` is the net balance.

    Rows whose open amount is zero (settled by cash application) are left out; an item without
    a due date is aged from its document date (due at once)."""
    config = buckets if isinstance(buckets, AgingConfig) else AgingConfig(buckets=tuple(buckets))
    columns = [b.column for b in config.buckets]
    amount = pd.to_numeric(open_items["open_amount"]).astype("Int64")
    items = open_items.loc[amount.notna() & (amount != 0)]
    if items.empty:
        out = pd.DataFrame({k: pd.Series(dtype=object) for k in KEYS})
        for c in columns + ["total"]:
            out[c] = pd.Series(dtype="int64")
        return out
    due = pd.to_datetime(items["due_date"]).fillna(pd.to_datetime(items["document_date"]))
    days = days_past_due(due, as_of).fillna(0)
    frame = items[KEYS].assign(bucket=bucket_index(days, config.edges), amount=amount.loc[items.index].astype("int64"))
    sums = frame.groupby([*KEYS, "bucket"], sort=True, dropna=False)["amount"].sum()
    out = sums.unstack("bucket", fill_value=0).reindex(columns=range(len(columns)), fill_value=0).astype("int64")
    out.columns = columns
    out["total"] = out.sum(axis=1)
    return out.sort_index().reset_index()


def rates_on(fx_rates: pd.DataFrame | None, base_currency: str, as_of: date | str | pd.Timestamp) -> dict[str, Decimal]:
    """Base-currency units per unit of each currency: the latest ``rate_to_base`` dated on or
    before as_of (a later rate is not known yet on a rerun); the base currency is always 1."""
    rates: dict[str, Decimal] = {}
    if fx_rates is not None and not fx_rates.empty:
        known = fx_rates.loc[pd.to_datetime(fx_rates["rate_date"]) <= pd.Timestamp(as_of).normalize()]
        known = known.assign(_d=pd.to_datetime(known["rate_date"])).sort_values(["currency", "_d"], kind="stable")
        for currency, rate in known.groupby("currency", sort=True)["rate_to_base"].last().items():
            try:
                value = Decimal(str(rate))
            except (InvalidOperation, ValueError):
                continue
            if value.is_finite() and value > 0:
                rates[str(currency)] = value
    rates[base_currency] = Decimal(1)
    return rates


def to_base_cents(cents: int, rate: Decimal) -> int:
    """An amount in cents converted to base-currency cents, rounded half-up (away from zero)."""
    return round_half_up_cents(Decimal(int(cents)) * rate)


class BaseTotals(NamedTuple):
    aging: pd.DataFrame
    #: currencies in the aging without a rate on or before as_of; their total_base is NA
    missing_currencies: list[str]


def add_base_totals(
    aging: pd.DataFrame, fx_rates: pd.DataFrame | None, base_currency: str, as_of: date | str | pd.Timestamp
) -> BaseTotals:
    """The aging with ``total_base``: each row's total converted to the base currency at the
    latest rate on or before as_of, in cents rounded half-up.  A currency without a rate gets
    NA (not a guess) and is listed in ``missing_currencies`` for the run report."""
    rates = rates_on(fx_rates, base_currency, as_of)
    base = [
        to_base_cents(total, rates[cur]) if cur in rates else pd.NA
        for total, cur in zip(aging["total"].tolist(), aging["currency"].tolist())
    ]
    missing = sorted({str(c) for c in aging["currency"].unique() if c not in rates})
    return BaseTotals(aging.assign(total_base=pd.array(base, dtype="Int64")), missing)


def aging_from_warehouse(rows: pd.DataFrame) -> pd.DataFrame:
    """Aging rows read from the warehouse (money as Decimal) with money back in integer cents,
    so an earlier snapshot can feed the KPIs and the trend chart."""
    out = rows.copy()
    for col in [*TABLE_BUCKETS, "total", "total_base"]:
        if col in out.columns:
            out[col] = pd.array([pd.NA if pd.isna(v) else to_cents(v) for v in out[col]], dtype="Int64")
    return out


def overdue_cents(aging: pd.DataFrame, config: AgingConfig | None = None) -> pd.Series:
    """Per aging row, the amount past due: every bucket after the first (not due) one."""
    config = config or AgingConfig()
    return aging[[b.column for b in config.buckets[1:]]].sum(axis=1).astype("int64")
