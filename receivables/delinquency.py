"""Delinquency drivers: why the overdue balance is overdue.  Every cent of the KPI
``ar_overdue`` (``receivables.kpis``: open items after cash application with at least one day
past due, credits included, converted to the base currency per company code and currency) is
attributed to exactly one driver, the first of this precedence that covers it:

1. ``disputed``: the item's open disputes, their amounts added and capped at the item (a blank
   amount, or a dispute on the whole account, covers the whole item);
2. ``covered_by_customer_money``: the customer's own money in the same company code and
   currency (its credit notes and payments on account not yet due, and the cash identified to
   it tonight that cash application could not apply) covers the account's undisputed overdue
   rest, oldest due date first;
3. ``promised``: an active promise to pay covers the item;
4. ``payment_plan``: a current payment plan covers the item;
5. ``blocked``: the item or its customer carries a dunning block;
6. ``handed_over``: the account's collection case was at the agency (HANDOVER);
7. ``plain_late``: the rest.

``ar_overdue`` nets the credits that are themselves overdue (a credit note whose due date has
passed counts negative).  They are the customer's money too, but already inside the balance: they
first take out the account's undisputed overdue cents, oldest first, then its disputed cents,
and those cents are in no driver.  What an account's overdue credits leave over (the customer
is in credit) still lowers its company's ``ar_overdue``: it comes off the company's drivers from
the last one up (plain late first).  A company whose overdue balance is a net credit has nothing
overdue to explain and every driver is zero.

Conversion: per company code and currency the drivers are laid end to end after the current
receivables, and each driver's base amount is the difference of the rounded base values of its
two ends; the sum over the drivers is then exactly the KPI's rounded ``ar_overdue``.

``avg_days_delinquent`` of a driver is its amount-weighted days past due: sum over its items of
(base amount x days past due) / sum of the base amounts, before the credit-balance adjustment.
docs/kpis.md ("Delinquency drivers") has a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from receivables.aging import days_past_due, rates_on, to_base_cents
from receivables.kpis import open_disputes

DRIVERS = (
    "disputed",
    "covered_by_customer_money",
    "promised",
    "payment_plan",
    "blocked",
    "handed_over",
    "plain_late",
)
DRIVER_COLUMNS = ["company_code", "driver", "amount", "count", "share", "avg_days_delinquent"]
_ACCOUNT = ["company_code", "customer_id", "currency"]
_SEP = "\x1f"
RATIO = Decimal("0.0001")


@dataclass(frozen=True)
class DriverFacts:
    """What covers an overdue item besides disputes and money: item keys (company_code,
    document_no) under an active promise or a current plan, and the accounts (company_code,
    customer_id) handed over to the agency."""

    promised: pd.DataFrame | None = None
    planned: pd.DataFrame | None = None
    handed_over: pd.DataFrame | None = None


def driver_facts(
    as_of: date | str | pd.Timestamp,
    *,
    skipped: pd.DataFrame | None = None,
    promises: pd.DataFrame | None = None,
    promise_grace_days: int = 0,
    paused_items: pd.DataFrame | None = None,
    handed_over: pd.DataFrame | None = None,
) -> DriverFacts:
    """The night's promises, plans and handovers as drivers see them: dunning's skip reasons
    (PROMISE, PLAN, HANDOVER, whichever reason won there) joined with the promise book's
    active promises (created by as_of, promised date + grace not passed), the documents a
    current plan pauses and the accounts whose case was at HANDOVER."""
    t = pd.Timestamp(as_of).normalize()
    item, account = ["company_code", "document_no"], ["company_code", "customer_id"]

    def skipped_for(reason: str, columns: list[str]) -> list[pd.DataFrame]:
        if skipped is None or skipped.empty:
            return []
        return [skipped.loc[skipped["reason"] == reason, columns]]

    active: list[pd.DataFrame] = []
    if promises is not None and not promises.empty:
        created = pd.to_datetime(promises["created_on"]).fillna(t) <= t
        window = pd.to_datetime(promises["promised_date"]) + pd.Timedelta(days=promise_grace_days) >= t
        active = [promises.loc[created & window & promises["document_no"].notna(), item]]

    def joined(parts: list[pd.DataFrame | None], columns: list[str]) -> pd.DataFrame:
        found = [p[columns].astype(str) for p in parts if p is not None and not p.empty]
        return pd.concat(found, ignore_index=True).drop_duplicates() if found else pd.DataFrame(columns=columns)

    return DriverFacts(
        promised=joined([*skipped_for("PROMISE", item), *active], item),
        planned=joined([*skipped_for("PLAN", item), paused_items], item),
        handed_over=joined([*skipped_for("HANDOVER", account), handed_over], account),
    )


def _key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    out = frame[columns[0]].astype(str)
    for c in columns[1:]:
        out = out + _SEP + frame[c].astype(str)
    return out


def _keys(frame: pd.DataFrame | None, columns: list[str]) -> set[str]:
    if frame is None or frame.empty:
        return set()
    return set(_key(frame, columns))


def _live_items(open_items: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The open items with an amount, their days past due and whether they are overdue,
    exactly as ``receivables.kpis`` splits ar_total into current and overdue."""
    amount = pd.to_numeric(open_items["open_amount"]).fillna(0).astype("int64")
    live = open_items.loc[amount != 0]
    due = pd.to_datetime(live["due_date"]).fillna(pd.to_datetime(live["document_date"]))
    dpd = days_past_due(due, as_of)
    cols = ["company_code", "customer_id", "currency", "document_no"]
    out = (
        live[cols]
        .astype(str)
        .assign(
            open=amount.loc[live.index],
            dpd=dpd.fillna(0).astype("int64"),
            overdue=~(dpd.fillna(0) <= 0),
            block=live["dunning_block"].fillna(False).astype(bool) if "dunning_block" in live else False,
        )
    )
    return out.reset_index(drop=True)


def _disputed_cents(items: pd.DataFrame, disputes: pd.DataFrame | None, as_of: pd.Timestamp) -> np.ndarray:
    """Per (positive overdue) item the cents its open disputes cover: their amounts added,
    capped at the item; a blank or non-positive amount, or a dispute without a document (the
    whole account), covers all of it."""
    out = np.zeros(len(items), dtype=np.int64)
    if disputes is None or disputes.empty or items.empty:
        return out
    live = open_disputes(disputes, as_of)
    on_doc = live["document_no"].notna()
    whole_accounts = _keys(live.loc[~on_doc], ["company_code", "customer_id"])
    d = live.loc[on_doc]
    amount = pd.to_numeric(d["amount"]).fillna(-1) if "amount" in d else pd.Series(-1, index=d.index)
    big = np.iinfo(np.int64).max // 4  # "all of it", added without overflow
    per_doc = pd.Series(
        np.where(amount > 0, amount, big).astype("int64"), index=_key(d, ["company_code", "document_no"])
    )
    per_doc = per_doc.groupby(level=0).sum()
    found = _key(items, ["company_code", "document_no"]).map(per_doc).fillna(0).to_numpy(dtype=np.int64)
    whole = _key(items, ["company_code", "customer_id"]).isin(whole_accounts).to_numpy()
    return np.where(whole, items["open"].to_numpy(), np.minimum(found, items["open"].to_numpy()))


def _pools(items: pd.DataFrame, unapplied: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """Per account (company code, customer, currency): its overdue credits (netted in
    ar_overdue) and its other money (credits not yet due, identified unapplied cash), >= 0."""
    credit = items["open"] < 0
    account = _key(items, _ACCOUNT)
    netted = (-items["open"].where(credit & items["overdue"], 0)).groupby(account).sum()
    other = (-items["open"].where(credit & ~items["overdue"], 0)).groupby(account).sum()
    if unapplied is not None and not unapplied.empty:
        known = unapplied.loc[unapplied["customer_id"].notna()]
        cash = pd.to_numeric(known["remaining_amount"]).fillna(0).clip(lower=0).astype("int64")
        other = other.add(cash.groupby(_key(known, _ACCOUNT)).sum(), fill_value=0)
    return netted.astype("int64"), other.astype("int64")


def _take_oldest(amount: pd.Series, pool: pd.Series, account: pd.Series) -> np.ndarray:
    """The part of each amount a per-account pool covers, the rows being oldest first."""
    after = amount.groupby(account.to_numpy(), sort=False).cumsum()
    before = after - amount
    return np.clip(np.minimum(after, pool) - before, 0, None).to_numpy(dtype=np.int64)


def attribute_items(
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    *,
    disputes: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    unapplied: pd.DataFrame | None = None,
    facts: DriverFacts | None = None,
) -> pd.DataFrame:
    """Each overdue debit's cents per driver (one column per driver, in its currency's cents),
    with ``netted``, the cents the account's own overdue credits take out, and ``dpd``."""
    t = pd.Timestamp(as_of).normalize()
    facts = facts or DriverFacts()
    items = _live_items(open_items, t)
    netted_pool, other_pool = _pools(items, unapplied)
    p = items.loc[items["overdue"] & (items["open"] > 0)]
    p = p.sort_values([*_ACCOUNT, "dpd", "document_no"], ascending=[True, True, True, False, True], kind="stable")
    p = p.reset_index(drop=True)
    account = _key(p, _ACCOUNT)
    q = account.map(netted_pool).fillna(0).astype("int64")
    m = account.map(other_pool).fillna(0).astype("int64")
    disputed = pd.Series(_disputed_cents(p, disputes, t))
    rest = p["open"] - disputed
    netted_rest = _take_oldest(rest, q, account)
    covered = _take_oldest(rest, q + m, account) - netted_rest
    left_q = (q - rest.groupby(account.to_numpy(), sort=False).transform("sum")).clip(lower=0)
    netted_disputed = _take_oldest(disputed, left_q, account)
    rest = (rest - netted_rest - covered).to_numpy()
    driver = _rest_driver(p, customers, facts)
    out = p[[*_ACCOUNT, "document_no", "dpd"]].copy()
    out["disputed"] = disputed.to_numpy() - netted_disputed
    out["covered_by_customer_money"] = covered
    for name in DRIVERS[2:]:
        out[name] = np.where(driver == name, rest, 0)
    out["netted"] = netted_rest + netted_disputed
    return out


def _rest_driver(items: pd.DataFrame, customers: pd.DataFrame | None, facts: DriverFacts) -> np.ndarray:
    """The driver of each item's cents that neither disputes nor money cover, first one wins."""
    item = _key(items, ["company_code", "document_no"])
    blocked_customers: set[str] = set()
    if customers is not None and not customers.empty and "dunning_block" in customers:
        flagged = customers.loc[customers["dunning_block"].fillna(False).astype(bool), "customer_id"]
        blocked_customers = set(flagged.astype(str))
    conditions = [
        item.isin(_keys(facts.promised, ["company_code", "document_no"])).to_numpy(),
        item.isin(_keys(facts.planned, ["company_code", "document_no"])).to_numpy(),
        (items["block"].to_numpy(dtype=bool) | items["customer_id"].isin(blocked_customers).to_numpy()),
        _key(items, ["company_code", "customer_id"])
        .isin(_keys(facts.handed_over, ["company_code", "customer_id"]))
        .to_numpy(),
    ]
    return np.select(conditions, list(DRIVERS[2:6]), default="plain_late")


def delinquency_drivers(
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    *,
    disputes: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    unapplied: pd.DataFrame | None = None,
    facts: DriverFacts | None = None,
    fx_rates: pd.DataFrame | None = None,
    base_currency: str = "EUR",
) -> pd.DataFrame:
    """Per company code and driver: ``amount`` (base cents), ``count`` (items with any cent in
    the driver), ``share`` of the company's overdue balance (Decimal, 4 places, None when it is
    zero) and ``avg_days_delinquent`` (Decimal days, None without cents); the amounts add up to
    the company's ``ar_overdue`` to the cent.  A currency without a rate is left out, as in the
    KPIs."""
    t = pd.Timestamp(as_of).normalize()
    attributed = attribute_items(
        open_items, t, disputes=disputes, customers=customers, unapplied=unapplied, facts=facts
    )
    items = _live_items(open_items, t)
    rates = rates_on(fx_rates, base_currency, t)
    rows: list[tuple] = []
    for company in sorted(items["company_code"].unique()):
        in_company = items["company_code"] == company
        mine = attributed.loc[attributed["company_code"] == company]
        rows += _company_rows(company, items.loc[in_company], mine, rates)
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)


def _company_rows(company: str, items: pd.DataFrame, attributed: pd.DataFrame, rates: dict) -> list[tuple]:
    """One company's driver rows, its currencies converted and its net credits taken off."""
    amount = dict.fromkeys(DRIVERS, 0)
    weighted = {d: Decimal(0) for d in DRIVERS}
    weight = {d: Decimal(0) for d in DRIVERS}
    credit = 0
    for currency, in_ccy in items.groupby("currency", sort=True):
        if currency not in rates:
            continue
        mine = attributed.loc[attributed["currency"] == currency]
        cents = {d: int(mine[d].sum()) for d in DRIVERS}
        current = int(in_ccy.loc[~in_ccy["overdue"], "open"].sum())
        overdue = int(in_ccy.loc[in_ccy["overdue"], "open"].sum())
        end = current
        for d in DRIVERS:  # laid end to end: the rounded differences telescope to ar_overdue
            amount[d] += to_base_cents(end + cents[d], rates[currency]) - to_base_cents(end, rates[currency])
            end += cents[d]
            weight[d] += Decimal(cents[d]) * rates[currency]
            weighted[d] += Decimal(int((mine[d] * mine["dpd"]).sum())) * rates[currency]
        credit += to_base_cents(current + overdue, rates[currency]) - to_base_cents(end, rates[currency])
    for d in reversed(DRIVERS):  # a customer in credit lowers the overdue balance: last drivers first
        taken = min(amount[d], -credit)
        amount[d] -= taken
        credit += taken
    total = sum(amount.values())
    return [
        (
            company,
            d,
            amount[d],
            int((attributed[d] > 0).sum()),
            (Decimal(amount[d]) / Decimal(total)).quantize(RATIO, ROUND_HALF_UP) if total > 0 else None,
            (weighted[d] / weight[d]).quantize(RATIO, ROUND_HALF_UP) if weight[d] > 0 else None,
        )
        for d in DRIVERS
    ]
