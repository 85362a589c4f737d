"""Stage 6, report: collections KPIs.  This module gathers each KPI's inputs from the day's
frames; the formulas, one pure function each, are in ``receivables.kpi_formulas`` (docs/kpis.md
has a worked example of each, with the numbers the tests use).

Every money amount is converted to the **base currency** before anything is added or divided,
so a KPI means the same for a company code with several currencies and the ``ALL`` row (all
company codes) is a true total, not a sum of apples and pears.  The conversion uses the latest
rate on or before as_of for every amount, including past sales and the previous month-end
balance: that keeps exchange-rate moves out of DSO and CEI.  Amounts are first summed in cents
per company code, currency and KPI input, then converted and rounded half-up to cents; the
``ALL`` row adds the converted company figures.  An amount in a currency without a rate is
left out, and ``currencies_without_fx_rate`` says how many currencies that hit.

``compute_kpis`` returns one row per company code and KPI with ``value`` a ``Decimal`` (money in
base units with 2 places, days and percentages with 4, counts whole) or ``None`` when the KPI is
undefined (no sales, no previous month-end snapshot ...).  The extra ``unit`` column says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.aging import days_past_due, rates_on, to_base_cents
from receivables.cash_application import REASONS as UNAPPLIED_REASONS
from receivables.kpi_formulas import age_band, days_late, kpi_rows, previous_month_end
from receivables.reporting_config import KpiConfig
from receivables.schemas import DISPUTE_REASONS

ALL = "ALL"
KPI_COLUMNS = ["company_code", "kpi", "value", "unit"]


def promise_status(
    promises: pd.DataFrame,
    broken_promises: pd.DataFrame | None,
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    grace_days: int,
) -> pd.Series:
    """Each promise's outcome: ``broken`` when the dunning stage recorded it so; ``kept`` when
    the promised document is no longer open, or when promised_date + grace has passed and
    dunning did not find it broken; ``open`` otherwise (still inside its window)."""
    broken_ids = (
        set() if broken_promises is None or broken_promises.empty else set(broken_promises["promise_id"].astype(str))
    )
    is_broken = np.array([str(p) in broken_ids for p in promises["promise_id"]], dtype=bool)
    has_doc = promises["document_no"].notna().to_numpy()
    doc_open = _still_open(promises, open_items)
    window_over = (
        pd.to_datetime(promises["promised_date"]) + pd.Timedelta(days=grace_days) < pd.Timestamp(as_of).normalize()
    ).to_numpy()
    status = np.select([is_broken, has_doc & ~doc_open, window_over], ["broken", "kept", "kept"], "open")
    return pd.Series(status, index=promises.index, name="status")


def open_disputes(disputes: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """Disputes open on as_of: opened on or before it and not resolved by then (status OPEN, or
    resolved later than as_of, so a month-end rerun sees the month-end picture)."""
    t = pd.Timestamp(as_of).normalize()
    opened = pd.to_datetime(disputes["opened_on"]) <= t
    resolved_on = (
        pd.to_datetime(disputes["resolved_on"])
        if "resolved_on" in disputes
        else pd.Series(pd.NaT, index=disputes.index)
    )
    still_open = disputes["status"].astype(str).str.upper().eq("OPEN") | (resolved_on > t)
    return disputes.loc[opened & still_open.fillna(False).astype(bool)]


# --- assembling the inputs -----------------------------------------------------------------------

_FACT_COLUMNS = ["company_code", "currency", "fact", "value", "money"]


def _facts(
    frame: pd.DataFrame, fact: str, value: pd.Series | int, money: bool, by: pd.Series | None = None
) -> pd.DataFrame:
    """Per company code and currency the sum of ``value`` as the input ``fact``, or one fact
    per label of ``by`` (``fact`` + label) when given."""
    if frame.empty:
        return pd.DataFrame(columns=_FACT_COLUMNS)
    keys = [frame["company_code"], frame["currency"]]
    values = pd.Series(value, index=frame.index) if isinstance(value, int) else pd.to_numeric(value).astype("int64")
    if by is not None:
        keys.append(by.rename("label"))
    out = values.groupby(keys, sort=True, dropna=False).sum().reset_index(name="value")
    out.columns = ["company_code", "currency", *(["label"] if by is not None else []), "value"]
    out["fact"] = fact + out.pop("label").astype(str) if by is not None else fact
    out["company_code"] = out["company_code"].astype(str)
    out["currency"] = out["currency"].astype(str)
    return out.assign(money=money)[_FACT_COLUMNS]


def with_document_currency(
    frame: pd.DataFrame, open_items: pd.DataFrame, cleared_items: pd.DataFrame | None, customers: pd.DataFrame | None
) -> pd.DataFrame:
    """``frame`` (disputes, promises) with the ``currency`` of its document, else of its
    customer, as the KPIs count its amount."""
    return _with_currency(frame, open_items, cleared_items, customers)


def _naming(frame: pd.DataFrame, documents: set[str]) -> np.ndarray:
    """Which rows of a (large) frame have a document_no in ``documents``: pyarrow's hash
    look-up for Arrow text, else a set look-up, because pandas' isin (which boxes every value of
    the set) and merges on text are slow at a million rows."""
    column = frame["document_no"]
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        values = pa.array(column.array)
        try:
            wanted = pa.array(list(documents), type=values.type, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a document number that is not text
            wanted = None
        if wanted is not None:
            return pc.is_in(values, value_set=wanted).to_numpy(zero_copy_only=False)
    docs = column.tolist()
    return np.fromiter((d in documents for d in docs), dtype=bool, count=len(docs))


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str] | None]:
    return [
        None if pd.isna(d) else (str(c), str(d))
        for c, d in zip(frame["company_code"].tolist(), frame["document_no"].tolist())
    ]


def _still_open(frame: pd.DataFrame, open_items: pd.DataFrame) -> np.ndarray:
    """Per row of ``frame``, whether its document is an open item with an amount left."""
    wanted = _pairs(frame)
    candidates = open_items.loc[_naming(open_items, {p[1] for p in wanted if p})]
    candidates = candidates.loc[pd.to_numeric(candidates["open_amount"]).fillna(0).to_numpy() != 0]
    live = set(_pairs(candidates))
    return np.array([p is not None and p in live for p in wanted], dtype=bool)


def _with_currency(
    frame: pd.DataFrame, open_items: pd.DataFrame, cleared_items: pd.DataFrame | None, customers: pd.DataFrame | None
) -> pd.DataFrame:
    """Disputes and promises carry no currency: take their document's, else the customer's."""
    wanted = _pairs(frame)
    names = {p[1] for p in wanted if p}
    by_doc: dict[tuple[str, str], str] = {}
    for docs in (cleared_items, open_items):  # an open item wins over a cleared one of the same key
        if docs is not None and not docs.empty:
            found = docs.loc[_naming(docs, names)]
            by_doc.update(zip(_pairs(found), found["currency"].astype(str).tolist()))
    by_customer = (
        {}
        if customers is None or customers.empty
        else dict(zip(customers["customer_id"].astype(str).tolist(), customers["currency"].astype(str).tolist()))
    )
    currency = [
        by_doc.get(p) or by_customer.get(str(cust), "") for p, cust in zip(wanted, frame["customer_id"].tolist())
    ]
    return frame.assign(currency=currency)


def _sales_invoices(open_items: pd.DataFrame, cleared_items: pd.DataFrame | None) -> pd.DataFrame:
    """Every invoice issued, open or cleared: INV rows of the open items (also those cash
    application settled today) and cleared items with a positive amount (the cleared extract has
    no document type; credit notes there are negative), each document once."""
    inv = open_items.loc[
        open_items["document_type"].astype(str) == "INV",
        ["company_code", "document_no", "currency", "document_date", "amount"],
    ]
    parts = [inv]
    if cleared_items is not None and not cleared_items.empty:
        cl = cleared_items.loc[
            pd.to_numeric(cleared_items["amount"]) > 0,
            ["company_code", "document_no", "currency", "document_date", "amount"],
        ]
        # a document in both extracts counts once
        maybe = _naming(cl, set(inv["document_no"].tolist()))
        if maybe.any():
            known = set(_pairs(inv.loc[_naming(inv, set(cl.loc[maybe, "document_no"].tolist()))]))
            seen = np.zeros(len(cl), dtype=bool)
            seen[np.flatnonzero(maybe)] = [p in known for p in _pairs(cl.loc[maybe])]
            cl = cl.loc[~seen]
        parts.append(cl)
    out = pd.concat(parts, ignore_index=True)
    out["document_date"] = pd.to_datetime(out["document_date"])
    out["amount"] = pd.to_numeric(out["amount"]).fillna(0).astype("int64")
    return out


def _all_facts(
    open_items: pd.DataFrame,
    as_of: pd.Timestamp,
    cleared_items: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    promises: pd.DataFrame | None,
    broken_promises: pd.DataFrame | None,
    disputes: pd.DataFrame | None,
    unapplied: pd.DataFrame | None,
    payments: pd.DataFrame | None,
    previous_aging: pd.DataFrame | None,
    config: KpiConfig,
) -> pd.DataFrame:
    """Every KPI input per company code and currency, in the currency's cents (or days, counts)."""
    period_start = as_of - pd.Timedelta(days=config.dso_period_days)
    sales = _sales_invoices(open_items, cleared_items)
    parts = [
        *_receivable_facts(open_items, as_of),
        *_sales_facts(sales, as_of, period_start, config.count_back_max_months),
        *_cei_facts(sales, previous_aging, as_of),
        *_late_payment_facts(cleared_items, as_of, period_start),
        *_promise_facts(promises, broken_promises, open_items, cleared_items, customers, as_of, config),
        *_dispute_facts(disputes, open_items, cleared_items, customers, as_of, config),
        *_unapplied_facts(unapplied, payments, as_of, config),
    ]
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_FACT_COLUMNS)


def _receivable_facts(open_items: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.DataFrame]:
    """Open receivables in total and the part not yet due (an undated item counts from its
    document date)."""
    amount = pd.to_numeric(open_items["open_amount"]).fillna(0).astype("int64")
    # only the columns read: a million rows of every column are slow to copy
    live = open_items.loc[amount != 0, ["company_code", "currency", "due_date", "document_date"]]
    live_amount = amount.loc[live.index]
    due = pd.to_datetime(live["due_date"]).fillna(pd.to_datetime(live["document_date"]))
    current = days_past_due(due, as_of).fillna(0) <= 0
    return [
        _facts(live, "ar_total", live_amount, True),
        _facts(live.loc[current], "ar_current", live_amount.loc[current], True),
    ]


def _sales_facts(
    sales: pd.DataFrame, as_of: pd.Timestamp, period_start: pd.Timestamp, max_months: int
) -> list[pd.DataFrame]:
    """Credit sales of the DSO period, and per calendar month back from as_of's for count-back."""
    in_period = (sales["document_date"] > period_start) & (sales["document_date"] <= as_of)
    dated = sales.loc[sales["document_date"] <= as_of]
    back = (as_of.year * 12 + as_of.month) - (dated["document_date"].dt.year * 12 + dated["document_date"].dt.month)
    recent = back < max_months
    return [
        _facts(sales.loc[in_period], "sales_period", sales.loc[in_period, "amount"], True),
        _facts(dated.loc[recent], "sales_month.", dated.loc[recent, "amount"], True, by=back.loc[recent]),
    ]


def _cei_facts(sales: pd.DataFrame, previous_aging: pd.DataFrame | None, as_of: pd.Timestamp) -> list[pd.DataFrame]:
    """CEI's start: the previous month-end's receivables and the sales since; none without
    that month-end's aging."""
    if previous_aging is None:
        return []
    month_end = pd.Timestamp(previous_month_end(as_of))
    since = (sales["document_date"] > month_end) & (sales["document_date"] <= as_of)
    return [
        _facts(sales.loc[since], "cei_sales", sales.loc[since, "amount"], True),
        _facts(previous_aging, "cei_beginning", previous_aging["total"], True),
    ]


def _late_payment_facts(
    cleared_items: pd.DataFrame | None, as_of: pd.Timestamp, period_start: pd.Timestamp
) -> list[pd.DataFrame]:
    """Days late of the invoices cleared in the period: their sum, count, amount and
    amount x days, for the plain and the amount-weighted average."""
    if cleared_items is None or cleared_items.empty:
        return []
    clearing = pd.to_datetime(cleared_items["clearing_date"])
    paid = cleared_items.loc[
        (clearing > period_start) & (clearing <= as_of) & (pd.to_numeric(cleared_items["amount"]) > 0),
        ["company_code", "currency", "clearing_date", "due_date", "amount"],
    ]
    if paid.empty:
        return []
    late = days_late(paid)
    paid_amount = pd.to_numeric(paid["amount"]).astype("int64")
    return [
        _facts(paid, "late_days", late, False),
        _facts(paid, "late_count", 1, False),
        _facts(paid, "late_amount", paid_amount, True),
        _facts(paid, "late_amount_days", paid_amount * late, True),
    ]


def _promise_facts(
    promises: pd.DataFrame | None,
    broken_promises: pd.DataFrame | None,
    open_items: pd.DataFrame,
    cleared_items: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    config: KpiConfig,
) -> list[pd.DataFrame]:
    """Count and amount of the promises made by as_of, per outcome (kept, broken, open)."""
    if promises is None or promises.empty:
        return []
    made = promises.loc[pd.to_datetime(promises["created_on"]).fillna(as_of) <= as_of]
    if made.empty:
        return []
    made = _with_currency(made, open_items, cleared_items, customers)
    status = promise_status(made, broken_promises, open_items, as_of, config.promise_grace_days)
    return [
        _facts(made, "ptp_", 1, False, by=status + "_count"),
        _facts(made, "ptp_", made["promised_amount"], True, by=status + "_amount"),
    ]


def _dispute_facts(
    disputes: pd.DataFrame | None,
    open_items: pd.DataFrame,
    cleared_items: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    config: KpiConfig,
) -> list[pd.DataFrame]:
    """Disputes open on as_of: amount and count, and the amount per reason and per age band."""
    if disputes is None or disputes.empty:
        return []
    live_disputes = open_disputes(disputes, as_of)
    if live_disputes.empty:
        return []
    d = _with_currency(live_disputes, open_items, cleared_items, customers)
    age = (as_of - pd.to_datetime(d["opened_on"])).dt.days
    band = age_band(age, config.age_bands, config.age_band_labels)
    return [
        _facts(d, "disputed_amount", d["amount"], True),
        _facts(d, "disputed_count", 1, False),
        _facts(d, "disputed_amount.reason.", d["amount"], True, by=d["reason_code"].astype(str)),
        _facts(d, "disputed_amount.age.", d["amount"], True, by=band),
        _facts(d, "disputed_count.reason.", 1, False, by=d["reason_code"].astype(str)),
        _facts(d, "disputed_count.age.", 1, False, by=band),
    ]


def _dispute_lifecycle_facts(
    status: pd.DataFrame, as_of: pd.Timestamp, period_start: pd.Timestamp, base_currency: str
) -> list[pd.DataFrame]:
    """From the night's ``dispute_status``: disputes opened in the period, those resolved in
    it, how many days each of those took (a count per number of days, so that the median
    adds up over company codes) and how many were resolved by their target date.  Counts
    need no rate: they are kept under the base currency."""
    if status.empty:
        return []
    s = status.assign(currency=base_currency)
    opened = pd.to_datetime(s["opened_on"])
    resolved_on = pd.to_datetime(s["resolved_on"])
    opened_in = s.loc[(opened > period_start) & (opened <= as_of)]
    resolved = s.loc[(resolved_on > period_start) & (resolved_on <= as_of) & s["days_to_resolve"].notna()]
    days = resolved["days_to_resolve"].astype("int64").astype(str)
    within = resolved.loc[~resolved["breached"].astype(bool)]
    return [
        _facts(opened_in, "disputes_opened", 1, False),
        _facts(resolved, "disputes_resolved", 1, False),
        _facts(resolved, "dispute_resolve_days.", 1, False, by=days),
        _facts(within, "disputes_within_target", 1, False),
    ]


def _unapplied_facts(
    unapplied: pd.DataFrame | None, payments: pd.DataFrame | None, as_of: pd.Timestamp, config: KpiConfig
) -> list[pd.DataFrame]:
    """Cash left unapplied: amount, number of payments, and the amount per reason and per age
    band (age from the payment's value date)."""
    if unapplied is None or unapplied.empty:
        return []
    u = unapplied.loc[pd.to_numeric(unapplied["remaining_amount"]).fillna(0) != 0]
    if u.empty:
        return []
    value_date = pd.to_datetime(u["payment_id"].astype(str).map(_value_dates(payments)))
    age = (as_of - value_date).dt.days
    # a payment split over several unapplied rows is still one payment
    first_part = ~u["payment_id"].astype(str).duplicated()
    band = age_band(age, config.age_bands, config.age_band_labels)
    return [
        _facts(u, "unapplied_cash", u["remaining_amount"], True),
        _facts(u, "unapplied_count", first_part.astype("int64"), False),
        _facts(u, "unapplied_cash.reason.", u["remaining_amount"], True, by=u["reason"].astype(str)),
        _facts(u, "unapplied_cash.age.", u["remaining_amount"], True, by=band),
    ]


def _value_dates(payments: pd.DataFrame | None) -> pd.Series:
    """Each payment id's value date (the last row's for an id given twice)."""
    if payments is None:
        return pd.Series(dtype="datetime64[ns]")
    dates = pd.Series(pd.to_datetime(payments["value_date"]).to_numpy(), index=payments["payment_id"].astype(str))
    return dates.loc[~dates.index.duplicated(keep="last")]


def _plan_facts(plans: pd.DataFrame) -> list[pd.DataFrame]:
    """Plans per status, the open amount current plans pause, what fell due and was paid (each
    plan's payment counted up to what was due), and the open amount of the broken ones."""
    p = plans.assign(currency=plans["currency"].fillna("").astype(str))
    current = p.loc[p["status"] == "CURRENT"]
    due = pd.to_numeric(p["due_to_date"]).astype("int64")
    paid = pd.to_numeric(p["paid_to_date"]).astype("int64").clip(upper=due)
    return [
        _facts(p, "plans_", 1, False, by=p["status"].astype(str).str.lower()),
        _facts(current, "amount_under_plans", current["covered_open_amount"], True),
        _facts(p, "plan_due", due, True),
        _facts(p, "plan_paid", paid, True),
        _facts(p, "amount_at_risk", p["amount_at_risk"], True),
    ]


def _to_base(facts: pd.DataFrame, rates: dict[str, Decimal]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Money facts in base cents per company code; also which company/currency had no rate."""
    has_rate = facts["currency"].isin(list(rates))
    missing = facts.loc[~has_rate, ["company_code", "currency"]].drop_duplicates()
    kept = facts.loc[has_rate]
    base = [
        to_base_cents(v, rates[c]) if m else int(v)
        for v, c, m in zip(kept["value"].tolist(), kept["currency"].tolist(), kept["money"].tolist())
    ]
    per_company = kept.assign(value=base).groupby(["company_code", "fact"], sort=True)["value"].sum()
    return per_company.reset_index(), missing


# --- the KPI table -------------------------------------------------------------------------------


def compute_kpis(
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    *,
    cleared_items: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    promises: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    disputes: pd.DataFrame | None = None,
    unapplied: pd.DataFrame | None = None,
    payments: pd.DataFrame | None = None,
    fx_rates: pd.DataFrame | None = None,
    base_currency: str = "EUR",
    previous_month_end_aging: pd.DataFrame | None = None,
    config: KpiConfig | None = None,
    plans: pd.DataFrame | None = None,
    dispute_status: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every KPI per company code and for ``ALL`` company codes, in the base currency.

    ``open_items`` are after cash application; ``previous_month_end_aging`` is the aging the
    warehouse holds for ``previous_month_end(as_of)`` in cents (``aging_history.aging_of``), or
    None when that run does not exist (CEI is then None; an empty frame means a zero balance);
    ``plans`` is the payment plans' status (``receivables.payment_plans``), whose KPIs appear
    on a night with plans only; ``dispute_status`` is the night's dispute lifecycle
    (``receivables.disputes.dispute_status``), whose KPIs (opened and resolved in the DSO
    period, days to resolve, share within target) appear when it is given.
    """
    config = config or KpiConfig()
    t = pd.Timestamp(as_of).normalize()
    facts = _all_facts(
        open_items,
        t,
        cleared_items,
        customers,
        promises,
        broken_promises,
        disputes,
        unapplied,
        payments,
        previous_month_end_aging,
        config,
    )
    if plans is not None and not plans.empty:
        facts = pd.concat([facts, *_plan_facts(plans)], ignore_index=True)
    if dispute_status is not None:
        start = t - pd.Timedelta(days=config.dso_period_days)
        facts = pd.concat(
            [facts, *_dispute_lifecycle_facts(dispute_status, t, start, base_currency)], ignore_index=True
        )
    rates = rates_on(fx_rates, base_currency, t)
    lifecycle = dispute_status is not None
    return _kpi_table(facts, rates, t, previous_month_end_aging is not None, config, lifecycle)


def _breakdowns(facts: pd.DataFrame, config: KpiConfig) -> dict[str, list[str]]:
    """The labels each breakdown lists: every known one (a zero is a statement too), then any
    other the data has, sorted."""

    def names(prefix: str, known: Sequence[str]) -> list[str]:
        seen = {f.removeprefix(prefix) for f in facts["fact"].tolist() if f.startswith(prefix)}
        return list(known) + sorted(seen - set(known))

    bands = config.age_band_labels
    return {
        "dispute": names("disputed_amount.reason.", DISPUTE_REASONS),
        "dispute_age": names("disputed_amount.age.", bands),
        "unapplied": names("unapplied_cash.reason.", UNAPPLIED_REASONS),
        "unapplied_age": names("unapplied_cash.age.", bands),
    }


def _kpi_table(
    facts: pd.DataFrame,
    rates: dict[str, Decimal],
    t: pd.Timestamp,
    has_snapshot: bool,
    config: KpiConfig,
    lifecycle: bool = False,
) -> pd.DataFrame:
    """The KPI rows of each company code, then of ``ALL``, from the facts converted to base."""
    per_company, missing = _to_base(facts, rates)
    companies = sorted(set(facts["company_code"].astype(str).tolist()))
    reasons = _breakdowns(facts, config)
    has_plans = bool(facts["fact"].astype(str).str.startswith("plans_").any())
    rows: list[tuple[str, str, Decimal | None, str]] = []
    for company in companies + [ALL]:
        scope = per_company if company == ALL else per_company.loc[per_company["company_code"] == company]
        f = scope.groupby("fact")["value"].sum().to_dict()
        without = missing if company == ALL else missing.loc[missing["company_code"] == company]
        n_missing = without["currency"].nunique()
        found = kpi_rows(f, config, t, has_snapshot, reasons, n_missing, plans=has_plans, lifecycle=lifecycle)
        rows += [(company, k, v, u) for k, v, u in found]
    out = pd.DataFrame(rows, columns=KPI_COLUMNS)
    out["value"] = out["value"].astype(object).where(out["value"].notna(), None)
    return out
