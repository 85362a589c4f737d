"""The expected-credit-loss provision of a month-end close (IFRS 9 simplified approach, a
provision matrix; docs/close.md "Expected-credit-loss provision").  Pure functions over frames;
``receivables.close.provision_run`` feeds them the warehouse's history.

Method, exactly as computed here (money in base-currency cents, rates as Decimal):

1. Snapshots: the aging of each month end the warehouse holds (the latest ``lookback_months``
   before the as_of) and tonight's aging.  A *pair* is two snapshots in consecutive calendar
   months; a gap in the history breaks no more than the pairs around it.
2. Roll rate of bucket b in a pair (m, m+1), per segment (``customers.segment`` of tonight's
   customers, for every snapshot): per aging row (company code, customer, currency)
   ``rolled = min(max(bucket b+1 at m+1, 0), max(bucket b at m, 0))`` - what a customer owes in
   the next bucket a month later, but never more than it owed in bucket b (new invoices cannot
   roll) - summed per segment and currency, converted to the base currency at tonight's rates,
   summed per segment; ``roll = rolled / balance`` with ``balance`` the positive bucket b
   amounts at m.  A pair whose segment had no balance in b has no roll rate for b.
3. Average roll rate: the plain mean of the pairs' roll rates of the segment and bucket; a
   segment with none for a bucket takes the mean over all segments pooled (method
   ``pooled_roll_rate``), none at all: 0.
4. Loss rate (the chain ladder): the last bucket (121+) has ``last_bucket_rate`` (default
   100 %); every earlier bucket b: ``loss(b) = avg roll(b) x loss(b+1)``.
5. Then ``max(loss, floor of the bucket) x overlay``, at most 1, rounded half-up to six
   decimals.  With fewer than ``min_history_months`` pairs the default matrix (per segment
   where configured) replaces steps 2-4 (method ``default_matrix``); floor and overlay apply.
6. Exposure per company code, segment and bucket: tonight's aging amounts, less the items
   provided for specifically, per currency converted at tonight's rates (rows of a currency
   without a rate are left out, as the aging's base total leaves them out).  Provision =
   ``max(exposure, 0) x loss rate``, rounded half-up to the cent per row.
7. Specific provisions (bucket ``specific:<kind>``, method ``specific``): every open item of an
   account whose case is at HANDOVER; else the amount a write-off proposal names; else the
   disputed amount of a dispute open on the as_of (never more than the item's open amount).
   Each item counts under one kind only, in that order, and leaves the matrix's exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from receivables.aging import KEYS, AgingConfig
from receivables.close.provision_exposure import (
    ALL_SEGMENTS,
    UNSEGMENTED,
    item_buckets,
    matrix_exposure,
    open_disputes,
    segment_series,
    specific_exposure,
    specific_items,
    to_base_sums,
)
from receivables.close.provision_rules import BUCKETS, ProvisionRules
from receivables.money import round_half_up_cents

SPECIFIC_KINDS = ("handover", "writeoff_proposed", "disputed")
ROLL, POOLED, DEFAULT, SPECIFIC, NO_EXPOSURE = (
    "roll_rate",
    "pooled_roll_rate",
    "default_matrix",
    "specific",
    "no_exposure",
)
PROVISION_COLUMNS = [
    "company_code",
    "segment",
    "bucket",
    "exposure",
    "loss_rate",
    "provision",
    "method",
    "previous_month_end",
    "previous_provision",
    "change",
]
#: the order of a company's rows: the matrix's buckets oldest last, then the specific kinds
BUCKET_ORDER = {b: i for i, b in enumerate([*BUCKETS, *(f"specific:{k}" for k in SPECIFIC_KINDS)])}
SIX_PLACES = Decimal("0.000001")


def segments_of(customers: pd.DataFrame, column: str | None) -> dict[str, str]:
    """customer_id -> segment (blank: UNSEGMENTED; no segment column configured: ALL)."""
    ids = customers["customer_id"].astype(str)
    if column is None:
        return dict.fromkeys(ids, ALL_SEGMENTS)
    if column not in customers.columns:
        return dict.fromkeys(ids, UNSEGMENTED)
    values = customers[column].astype("string").str.strip().fillna("").replace("", UNSEGMENTED)
    return dict(zip(ids, values.astype(str)))


def month_pairs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive snapshots one calendar month apart, oldest first."""
    days = sorted(days)
    month = lambda d: d.year * 12 + d.month  # noqa: E731
    return [(a, b) for a, b in zip(days, days[1:]) if month(b) - month(a) == 1]


def roll_balances(
    earlier: pd.DataFrame, later: pd.DataFrame, segments: dict[str, str], rates: dict[str, Decimal]
) -> pd.DataFrame:
    """One pair's positive balance per segment and bucket at the earlier month end and the part
    of it found one bucket older a month later (base cents): step 2 of the module's method."""
    nxt = later[[*KEYS, *BUCKETS[1:]]].rename(columns={b: f"next_{a}" for a, b in zip(BUCKETS, BUCKETS[1:])})
    pair = earlier[[*KEYS, *BUCKETS[:-1]]].merge(nxt, on=KEYS, how="left")
    parts = {}
    for b in BUCKETS[:-1]:
        balance = np.maximum(pair[b].to_numpy(dtype="int64"), 0)
        following = np.maximum(pair[f"next_{b}"].fillna(0).to_numpy(dtype="int64"), 0)
        parts[f"balance:{b}"] = balance
        parts[f"rolled:{b}"] = np.minimum(following, balance)
    frame = pd.DataFrame(parts).assign(
        segment=segment_series(pair, segments).to_numpy(), currency=pair["currency"].to_numpy()
    )
    sums = frame.groupby(["segment", "currency"], sort=True).sum().reset_index()
    sums = to_base_sums(sums, list(parts), rates).drop(columns="currency").groupby("segment", sort=True).sum()
    long = sums.stack().rename("cents").reset_index()
    long[["what", "bucket"]] = long["level_1"].str.split(":", expand=True)
    out = long.pivot_table(index=["segment", "bucket"], columns="what", values="cents", aggfunc="sum")
    return out.reset_index()[["segment", "bucket", "balance", "rolled"]].astype({"balance": "int64", "rolled": "int64"})


def roll_history(
    snapshots: dict[date, pd.DataFrame], segments: dict[str, str], rates: dict[str, Decimal], lookback: int
) -> pd.DataFrame:
    """Every pair's balances and rolled amounts (column ``month`` = the earlier month end)."""
    pairs = month_pairs(list(snapshots))[-lookback:]
    frames = [roll_balances(snapshots[a], snapshots[b], segments, rates).assign(month=a) for a, b in pairs]
    if not frames:
        return pd.DataFrame(columns=["month", "segment", "bucket", "balance", "rolled"])
    return pd.concat(frames, ignore_index=True)[["month", "segment", "bucket", "balance", "rolled"]]


def _mean_rolls(rolls: pd.DataFrame) -> dict[str, Decimal]:
    """bucket -> the plain mean of the pairs' roll rates (pairs without a balance left out)."""
    seen = rolls.loc[rolls["balance"] > 0]
    means = {}
    for bucket, group in seen.groupby("bucket", sort=True):
        rates = [Decimal(int(r)) / Decimal(int(b)) for r, b in zip(group["rolled"], group["balance"])]
        means[str(bucket)] = sum(rates, Decimal(0)) / len(rates)
    return means


def _finish(rate: Decimal, bucket: str, rules: ProvisionRules) -> Decimal:
    """Step 5: floor, overlay, at most 100 %, six decimals half-up."""
    return min(max(rate, rules.floor(bucket)) * rules.overlay, Decimal(1)).quantize(SIX_PLACES, ROUND_HALF_UP)


def loss_rates(history: pd.DataFrame, segments: list[str], rules: ProvisionRules) -> pd.DataFrame:
    """The provision matrix: segment, bucket, loss_rate (Decimal, six places), method."""
    rows = []
    if history["month"].nunique() < rules.min_history_months:
        for segment in segments:
            for bucket in BUCKETS:
                rows.append((segment, bucket, _finish(rules.default_rate(segment, bucket), bucket, rules), DEFAULT))
        return pd.DataFrame(rows, columns=["segment", "bucket", "loss_rate", "method"])
    pooled = _mean_rolls(history.groupby(["month", "bucket"], as_index=False)[["balance", "rolled"]].sum())
    for segment in segments:
        own = _mean_rolls(history.loc[history["segment"] == segment])
        loss, borrowed = Decimal(rules.last_bucket_rate), False
        chain = {BUCKETS[-1]: (loss, False)}
        for bucket in reversed(BUCKETS[:-1]):
            borrowed = borrowed or bucket not in own
            loss = own.get(bucket, pooled.get(bucket, Decimal(0))) * loss
            chain[bucket] = (loss, borrowed)
        for bucket in BUCKETS:
            rate, pooled_used = chain[bucket]
            rows.append((segment, bucket, _finish(rate, bucket, rules), POOLED if pooled_used else ROLL))
    return pd.DataFrame(rows, columns=["segment", "bucket", "loss_rate", "method"])


def provision_rows(
    matrix: pd.DataFrame, specific: pd.DataFrame, rates: pd.DataFrame, rules: ProvisionRules
) -> pd.DataFrame:
    """Each exposure row with its loss rate, method and provision (max(exposure, 0) x rate,
    half-up to the cent); the specific kinds at their configured rates."""
    matrix = matrix.merge(rates, on=["segment", "bucket"], how="left")
    kinds = specific["bucket"].str.removeprefix("specific:")
    specific = specific.assign(loss_rate=[getattr(rules.specific, k) for k in kinds], method=SPECIFIC)
    rows = pd.concat([matrix, specific], ignore_index=True)
    rows["provision"] = [
        round_half_up_cents(Decimal(max(int(e), 0)) * rate) for e, rate in zip(rows["exposure"], rows["loss_rate"])
    ]
    return rows.astype({"exposure": "int64", "provision": "int64"})


def with_previous(rows: pd.DataFrame, previous: pd.DataFrame, previous_month_end: date) -> pd.DataFrame:
    """The rows with the previous month end's provision of the same company code, segment and
    bucket and the change; a row the previous month end had and tonight has not stays, with
    nothing provided (method ``no_exposure``), so the changes add up to the difference of the
    totals.  Ordered by company code, segment and bucket (oldest, then the specific kinds)."""
    keys = ["company_code", "segment", "bucket"]
    before = previous[[*keys, "provision"]].rename(columns={"provision": "previous_provision"})
    out = rows.merge(before, on=keys, how="outer")
    gone = out["method"].isna()
    out.loc[gone, "exposure"] = 0
    out.loc[gone, "provision"] = 0
    out.loc[gone, "method"] = NO_EXPOSURE
    out["loss_rate"] = [Decimal(0).quantize(SIX_PLACES) if g else r for g, r in zip(gone, out["loss_rate"])]
    out["previous_provision"] = out["previous_provision"].fillna(0)
    out = out.astype({"exposure": "int64", "provision": "int64", "previous_provision": "int64"})
    out["change"] = out["provision"] - out["previous_provision"]
    out["previous_month_end"] = previous_month_end
    out["_rank"] = out["bucket"].map(BUCKET_ORDER).fillna(len(BUCKET_ORDER))
    out = out.sort_values(["company_code", "segment", "_rank", "bucket"], kind="stable")
    return out[PROVISION_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class ProvisionInputs:
    """What one close's provision is computed from (all money in cents)."""

    as_of: date
    #: tonight's aging (company code, customer, currency, bucket columns)
    aging: pd.DataFrame
    #: the earlier month ends' agings, as_of -> frame like ``aging``
    history: dict[date, pd.DataFrame]
    open_items: pd.DataFrame
    customers: pd.DataFrame
    #: company_code, customer_id of the accounts at the agency tonight
    handed_over: pd.DataFrame
    writeoffs: pd.DataFrame | None
    disputes: pd.DataFrame | None
    #: base-currency units per unit of each currency on as_of
    fx: dict[str, Decimal]
    previous: pd.DataFrame
    previous_month_end: date


def provision_matrix(inputs: ProvisionInputs, rules: ProvisionRules, aging_config: AgingConfig) -> pd.DataFrame:
    """The close's ``provisions`` rows (PROVISION_COLUMNS; money in cents, loss_rate a Decimal)."""
    segments = segments_of(inputs.customers, rules.segment_column)
    snapshots = {**inputs.history, inputs.as_of: inputs.aging}
    history = roll_history(snapshots, segments, inputs.fx, rules.lookback_months)
    items = item_buckets(inputs.open_items, inputs.as_of, aging_config)
    disputed = open_disputes(inputs.disputes, inputs.as_of)
    specific = specific_items(items, inputs.handed_over, inputs.writeoffs, disputed)
    matrix = matrix_exposure(inputs.aging, specific, segments, inputs.fx)
    specific_rows = specific_exposure(specific, segments, inputs.fx)
    rates = loss_rates(history, sorted(set(matrix["segment"])), rules)
    rows = provision_rows(matrix, specific_rows, rates, rules)
    return with_previous(rows, inputs.previous, inputs.previous_month_end)
