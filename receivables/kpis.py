"""Stage 6, report: collections KPIs, one pure function per formula (docs/kpis.md has a worked
example of each, with the numbers the tests use).

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

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.aging import days_past_due, rates_on, to_base_cents
from receivables.cash_application import REASONS as UNAPPLIED_REASONS
from receivables.reporting_config import KpiConfig
from receivables.schemas import DISPUTE_REASONS

ALL = "ALL"
RATIO = Decimal("0.0001")
CENT = Decimal("0.01")
KPI_COLUMNS = ["company_code", "kpi", "value", "unit"]


# --- the formulas --------------------------------------------------------------------------------


def _ratio(numerator: Decimal | int, denominator: Decimal | int, factor: Decimal | int = 1) -> Decimal:
    return (Decimal(numerator) * Decimal(factor) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def dso_standard(receivables: int, sales: int, period_days: int) -> Decimal | None:
    """Days sales outstanding: open receivables / credit sales of the period x days in the
    period.  Undefined (None) without sales in the period."""
    return _ratio(receivables, sales, period_days) if sales > 0 else None


def best_possible_dso(current: int, sales: int, period_days: int) -> Decimal | None:
    """The DSO if every customer paid on the due date: receivables not yet due / credit sales of
    the period x days in the period."""
    return _ratio(current, sales, period_days) if sales > 0 else None


def average_days_delinquent(receivables: int, current: int, sales: int, period_days: int) -> Decimal | None:
    """Average days delinquent (ADD) = DSO - best possible DSO = overdue receivables / credit
    sales x days: how many days of sales are outstanding only because they are late."""
    return _ratio(receivables - current, sales, period_days) if sales > 0 else None


def dso_count_back(receivables: int, monthly_sales: Sequence[tuple[int, int]]) -> Decimal | None:
    """Count-back DSO: walk back month by month (newest first, ``(days, sales)`` per month),
    using up the receivables against each month's sales; whole months add their days, the last
    one the share of its days the remainder covers.  None when the months run out first."""
    if receivables <= 0:
        return Decimal(0).quantize(RATIO)
    remaining, days = Decimal(receivables), Decimal(0)
    for month_days, sales in monthly_sales:
        if sales > 0 and remaining <= sales:
            return (days + Decimal(month_days) * remaining / Decimal(sales)).quantize(RATIO, rounding=ROUND_HALF_UP)
        remaining -= max(sales, 0)
        days += month_days
    return None


def collection_effectiveness_index(
    beginning: int, sales: int, ending_total: int, ending_current: int
) -> Decimal | None:
    """CEI % = (beginning receivables + sales - ending receivables) / (beginning receivables +
    sales - ending current receivables) x 100: the share of what could be collected in the
    period that was collected.  None when nothing was collectable."""
    collectable = beginning + sales - ending_current
    return _ratio(beginning + sales - ending_total, collectable, 100) if collectable > 0 else None


def percent_current(current: int, total: int) -> Decimal | None:
    """% current = receivables not yet due / all open receivables x 100."""
    return _ratio(current, total, 100) if total > 0 else None


def promise_attainment(kept_amount: int, broken_amount: int) -> Decimal | None:
    """Promise-to-pay attainment % = amount of kept promises / amount of promises that came due
    (kept + broken) x 100; open promises are not judged yet."""
    judged = kept_amount + broken_amount
    return _ratio(kept_amount, judged, 100) if judged > 0 else None


def days_late(cleared_items: pd.DataFrame) -> pd.Series:
    """Days a cleared item was paid after its due date, 0 when paid on time or early
    (clearing_date - due_date, floored at 0)."""
    late = (pd.to_datetime(cleared_items["clearing_date"]) - pd.to_datetime(cleared_items["due_date"])).dt.days
    return late.clip(lower=0).astype("int64")


def average_days_late(total_days: int, count: int) -> Decimal | None:
    """Average days late = sum of days late / number of invoices cleared in the period."""
    return _ratio(total_days, count) if count > 0 else None


def weighted_average_days_late(amount_days: int, amount: int) -> Decimal | None:
    """Amount-weighted average days late = sum(amount x days late) / sum(amount): a late large
    invoice counts more than a late small one."""
    return _ratio(amount_days, amount) if amount > 0 else None


def previous_month_end(as_of: date | str | pd.Timestamp) -> date:
    """The month-end before as_of's month (for as_of 2026-10-31 or 2026-10-15: 2026-09-30), the
    snapshot CEI starts from."""
    d = pd.Timestamp(as_of).date()
    return d.replace(day=1) - timedelta(days=1)


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


def age_band(days: pd.Series, bands: Sequence[int], labels: Sequence[str]) -> pd.Series:
    """The band label for each age in days: the first band whose upper edge it does not exceed
    (with [30, 60, 90]: 0..30, 31..60, 61..90, 91+)."""
    idx = np.searchsorted(np.asarray(bands), days.to_numpy(dtype="float64"), side="left")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)], index=days.index)
    return out.where(days.notna(), "unknown")


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
        else dict(zip(customers["customer_id"].astype(str), customers["currency"].astype(str)))
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


def _month_windows(as_of: pd.Timestamp, months: int) -> list[tuple[int, int]]:
    """(month number back, days counted) for count-back: as_of's month up to as_of, then whole
    calendar months."""
    out = [(0, as_of.day)]
    y, m = as_of.year, as_of.month
    for k in range(1, months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append((k, calendar.monthrange(y, m)[1]))
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
    parts: list[pd.DataFrame] = []
    period_start = as_of - pd.Timedelta(days=config.dso_period_days)

    amount = pd.to_numeric(open_items["open_amount"]).fillna(0).astype("int64")
    live = open_items.loc[amount != 0]
    live_amount = amount.loc[live.index]
    due = pd.to_datetime(live["due_date"]).fillna(pd.to_datetime(live["document_date"]))
    current = days_past_due(due, as_of).fillna(0) <= 0
    parts.append(_facts(live, "ar_total", live_amount, True))
    parts.append(_facts(live.loc[current], "ar_current", live_amount.loc[current], True))

    sales = _sales_invoices(open_items, cleared_items)
    in_period = (sales["document_date"] > period_start) & (sales["document_date"] <= as_of)
    parts.append(_facts(sales.loc[in_period], "sales_period", sales.loc[in_period, "amount"], True))
    dated = sales.loc[sales["document_date"] <= as_of]
    back = (as_of.year * 12 + as_of.month) - (dated["document_date"].dt.year * 12 + dated["document_date"].dt.month)
    recent = back < config.count_back_max_months
    parts.append(_facts(dated.loc[recent], "sales_month.", dated.loc[recent, "amount"], True, by=back.loc[recent]))

    if previous_aging is not None:
        month_end = pd.Timestamp(previous_month_end(as_of))
        since = (sales["document_date"] > month_end) & (sales["document_date"] <= as_of)
        parts.append(_facts(sales.loc[since], "cei_sales", sales.loc[since, "amount"], True))
        parts.append(_facts(previous_aging, "cei_beginning", previous_aging["total"], True))

    if cleared_items is not None and not cleared_items.empty:
        clearing = pd.to_datetime(cleared_items["clearing_date"])
        paid = cleared_items.loc[
            (clearing > period_start) & (clearing <= as_of) & (pd.to_numeric(cleared_items["amount"]) > 0)
        ]
        if not paid.empty:
            late = days_late(paid)
            paid_amount = pd.to_numeric(paid["amount"]).astype("int64")
            parts.append(_facts(paid, "late_days", late, False))
            parts.append(_facts(paid, "late_count", 1, False))
            parts.append(_facts(paid, "late_amount", paid_amount, True))
            parts.append(_facts(paid, "late_amount_days", paid_amount * late, True))

    if promises is not None and not promises.empty:
        made = promises.loc[pd.to_datetime(promises["created_on"]).fillna(as_of) <= as_of]
        if not made.empty:
            made = _with_currency(made, open_items, cleared_items, customers)
            status = promise_status(made, broken_promises, open_items, as_of, config.promise_grace_days)
            parts.append(_facts(made, "ptp_", 1, False, by=status + "_count"))
            parts.append(_facts(made, "ptp_", made["promised_amount"], True, by=status + "_amount"))

    labels = config.age_band_labels
    if disputes is not None and not disputes.empty:
        live_disputes = open_disputes(disputes, as_of)
        if not live_disputes.empty:
            d = _with_currency(live_disputes, open_items, cleared_items, customers)
            age = (as_of - pd.to_datetime(d["opened_on"])).dt.days
            parts.append(_facts(d, "disputed_amount", d["amount"], True))
            parts.append(_facts(d, "disputed_count", 1, False))
            parts.append(_facts(d, "disputed_amount.reason.", d["amount"], True, by=d["reason_code"].astype(str)))
            parts.append(
                _facts(d, "disputed_amount.age.", d["amount"], True, by=age_band(age, config.age_bands, labels))
            )

    if unapplied is not None and not unapplied.empty:
        u = unapplied.loc[pd.to_numeric(unapplied["remaining_amount"]).fillna(0) != 0]
        if not u.empty:
            value_dates = (
                {}
                if payments is None
                else dict(zip(payments["payment_id"].astype(str), pd.to_datetime(payments["value_date"])))
            )
            value_date = pd.to_datetime(u["payment_id"].astype(str).map(value_dates))
            age = (as_of - value_date).dt.days
            first_part = ~u["payment_id"].astype(str).duplicated()
            parts.append(_facts(u, "unapplied_cash", u["remaining_amount"], True))
            parts.append(_facts(u, "unapplied_count", first_part.astype("int64"), False))
            parts.append(_facts(u, "unapplied_cash.reason.", u["remaining_amount"], True, by=u["reason"].astype(str)))
            parts.append(
                _facts(
                    u, "unapplied_cash.age.", u["remaining_amount"], True, by=age_band(age, config.age_bands, labels)
                )
            )

    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_FACT_COLUMNS)


def _to_base(facts: pd.DataFrame, rates: dict[str, Decimal]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Money facts in base cents per company code; also which company/currency had no rate."""
    has_rate = facts["currency"].isin(list(rates))
    missing = facts.loc[~has_rate, ["company_code", "currency"]].drop_duplicates()
    kept = facts.loc[has_rate]
    base = [
        to_base_cents(v, rates[c]) if m else int(v) for v, c, m in zip(kept["value"], kept["currency"], kept["money"])
    ]
    per_company = kept.assign(value=base).groupby(["company_code", "fact"], sort=True)["value"].sum()
    return per_company.reset_index(), missing


# --- the KPI table -------------------------------------------------------------------------------


def _kpi_rows(
    f: dict[str, int],
    config: KpiConfig,
    as_of: pd.Timestamp,
    has_snapshot: bool,
    reasons: dict[str, list[str]],
    without_rate: int,
) -> list[tuple[str, Decimal | None, str]]:
    def g(name: str) -> int:
        return int(f.get(name, 0))

    def money(cents: int) -> Decimal:
        return (Decimal(cents) / 100).quantize(CENT)

    p = config.dso_period_days
    ar, cur, sales = g("ar_total"), g("ar_current"), g("sales_period")
    months = [(days, g(f"sales_month.{k}")) for k, days in _month_windows(as_of, config.count_back_max_months)]
    rows: list[tuple[str, Decimal | None, str]] = [
        ("ar_total", money(ar), "amount"),
        ("ar_current", money(cur), "amount"),
        ("ar_overdue", money(ar - cur), "amount"),
        ("sales_period", money(sales), "amount"),
        ("dso_standard", dso_standard(ar, sales, p), "days"),
        ("dso_count_back", dso_count_back(ar, months), "days"),
        ("best_possible_dso", best_possible_dso(cur, sales, p), "days"),
        ("average_days_delinquent", average_days_delinquent(ar, cur, sales, p), "days"),
        (
            "cei",
            collection_effectiveness_index(g("cei_beginning"), g("cei_sales"), ar, cur) if has_snapshot else None,
            "percent",
        ),
        ("pct_current", percent_current(cur, ar), "percent"),
    ]
    for status in ("kept", "broken", "open"):
        rows.append((f"ptp_{status}_count", Decimal(g(f"ptp_{status}_count")), "count"))
    for status in ("kept", "broken", "open"):
        rows.append((f"ptp_{status}_amount", money(g(f"ptp_{status}_amount")), "amount"))
    rows.append(("ptp_attainment_pct", promise_attainment(g("ptp_kept_amount"), g("ptp_broken_amount")), "percent"))
    rows.append(("disputed_amount", money(g("disputed_amount")), "amount"))
    rows.append(("disputed_count", Decimal(g("disputed_count")), "count"))
    rows += [
        (f"disputed_amount.reason.{r}", money(g(f"disputed_amount.reason.{r}")), "amount") for r in reasons["dispute"]
    ]
    rows += [
        (f"disputed_amount.age.{b}", money(g(f"disputed_amount.age.{b}")), "amount") for b in reasons["dispute_age"]
    ]
    rows.append(("unapplied_cash", money(g("unapplied_cash")), "amount"))
    rows.append(("unapplied_count", Decimal(g("unapplied_count")), "count"))
    rows += [
        (f"unapplied_cash.reason.{r}", money(g(f"unapplied_cash.reason.{r}")), "amount") for r in reasons["unapplied"]
    ]
    rows += [
        (f"unapplied_cash.age.{b}", money(g(f"unapplied_cash.age.{b}")), "amount") for b in reasons["unapplied_age"]
    ]
    rows.append(("avg_days_late", average_days_late(g("late_days"), g("late_count")), "days"))
    rows.append(("avg_days_late_weighted", weighted_average_days_late(g("late_amount_days"), g("late_amount")), "days"))
    rows.append(("cleared_count", Decimal(g("late_count")), "count"))
    rows.append(("currencies_without_fx_rate", Decimal(without_rate), "count"))
    return rows


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
) -> pd.DataFrame:
    """Every KPI per company code and for ``ALL`` company codes, in the base currency.

    ``open_items`` are after cash application; ``previous_month_end_aging`` is the aging the
    warehouse holds for ``previous_month_end(as_of)`` in cents (``aging_from_warehouse``), or
    None when that run does not exist (CEI is then None; an empty frame means a zero balance).
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
    rates = rates_on(fx_rates, base_currency, t)
    per_company, missing = _to_base(facts, rates)
    companies = sorted(set(facts["company_code"].astype(str)))

    def names(prefix: str, known: Sequence[str]) -> list[str]:
        seen = {f.removeprefix(prefix) for f in facts["fact"] if f.startswith(prefix)}
        return list(known) + sorted(seen - set(known))

    bands = config.age_band_labels
    reasons = {
        "dispute": names("disputed_amount.reason.", DISPUTE_REASONS),
        "dispute_age": names("disputed_amount.age.", bands),
        "unapplied": names("unapplied_cash.reason.", UNAPPLIED_REASONS),
        "unapplied_age": names("unapplied_cash.age.", bands),
    }
    has_snapshot = previous_month_end_aging is not None
    rows: list[tuple[str, str, Decimal | None, str]] = []
    for company in companies + [ALL]:
        scope = per_company if company == ALL else per_company.loc[per_company["company_code"] == company]
        f = scope.groupby("fact")["value"].sum().to_dict()
        without = missing if company == ALL else missing.loc[missing["company_code"] == company]
        n_missing = without["currency"].nunique()
        rows += [(company, k, v, u) for k, v, u in _kpi_rows(f, config, t, has_snapshot, reasons, n_missing)]
    out = pd.DataFrame(rows, columns=KPI_COLUMNS)
    out["value"] = out["value"].astype(object).where(out["value"].notna(), None)
    return out
