"""The collections KPI formulas: pure functions from summed inputs (cents, days, counts) to one
KPI value, a ``Decimal`` rounded half-up to 4 places, or None where the KPI is undefined
(docs/kpis.md has a worked example of each), and ``kpi_rows``, the KPI list of one company
code (or ``ALL``) from its summed inputs.  ``receivables.kpis`` gathers those inputs.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from receivables.reporting_config import KpiConfig

RATIO = Decimal("0.0001")
CENT = Decimal("0.01")


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


def plan_attainment(paid: int, due: int) -> Decimal | None:
    """Payment-plan attainment % = paid toward the plans / due under them by as_of x 100,
    over the plans with something due (each plan's payment counted up to its due amount, so
    paying one plan ahead does not hide another's arrears)."""
    return _ratio(paid, due, 100) if due > 0 else None


def average_days_to_resolve(days: Mapping[int, int]) -> Decimal | None:
    """Average days to resolve = sum of days_to_resolve / number of disputes resolved in the
    period; ``days`` counts the disputes per number of days they took."""
    count = sum(days.values())
    return _ratio(sum(d * n for d, n in days.items()), count) if count > 0 else None


def median_days_to_resolve(days: Mapping[int, int]) -> Decimal | None:
    """Median days to resolve over the disputes resolved in the period (with an even number,
    the mean of the two middle ones): one dispute that took a year does not move it."""
    count = sum(days.values())
    if count == 0:
        return None
    middle, seen, low = ((count - 1) // 2, count // 2), 0, None
    for d in sorted(days):
        seen += days[d]
        if low is None and seen > middle[0]:
            low = d
        if seen > middle[1]:
            return _ratio(low + d, 2)
    return None  # unreachable: seen reaches count


def resolved_within_target(within: int, resolved: int) -> Decimal | None:
    """Share resolved within target % = disputes resolved in the period on or before their
    target date / disputes resolved in the period x 100."""
    return _ratio(within, resolved, 100) if resolved > 0 else None


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


def age_band(days: pd.Series, bands: Sequence[int], labels: Sequence[str]) -> pd.Series:
    """The band label for each age in days: the first band whose upper edge it does not exceed
    (with [30, 60, 90]: 0..30, 31..60, 61..90, 91+)."""
    idx = np.searchsorted(np.asarray(bands), days.to_numpy(dtype="float64"), side="left")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)], index=days.index)
    return out.where(days.notna(), "unknown")


# --- one company code's KPI list ---------------------------------------------------------------


def month_windows(as_of: pd.Timestamp, months: int) -> list[tuple[int, int]]:
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


#: (kpi, value, unit)
KpiRow = tuple[str, Decimal | None, str]


def kpi_rows(
    f: dict[str, int],
    config: KpiConfig,
    as_of: pd.Timestamp,
    has_snapshot: bool,
    reasons: dict[str, list[str]],
    without_rate: int,
    plans: bool = False,
    lifecycle: bool = False,
) -> list[KpiRow]:
    """Every KPI of one company code (or ALL) from its inputs ``f`` in base cents; ``reasons``
    lists the labels of each breakdown, ``without_rate`` the currencies left out; the
    payment-plan KPIs only on a night with payment plans (``plans``), the dispute lifecycle's
    only when the night has the dispute status (``lifecycle``)."""

    def g(name: str) -> int:
        return int(f.get(name, 0))

    return [
        *_ledger_rows(g, config, as_of, has_snapshot),
        *_promise_rows(g),
        *_open_issue_rows(g, "disputed_amount", "disputed_count", reasons["dispute"], reasons["dispute_age"]),
        *[
            (f"disputed_count.reason.{r}", Decimal(g(f"disputed_count.reason.{r}")), "count")
            for r in reasons["dispute"]
        ],
        *[(f"disputed_count.age.{b}", Decimal(g(f"disputed_count.age.{b}")), "count") for b in reasons["dispute_age"]],
        *(_dispute_lifecycle_rows(f) if lifecycle else []),
        *_open_issue_rows(g, "unapplied_cash", "unapplied_count", reasons["unapplied"], reasons["unapplied_age"]),
        ("avg_days_late", average_days_late(g("late_days"), g("late_count")), "days"),
        ("avg_days_late_weighted", weighted_average_days_late(g("late_amount_days"), g("late_amount")), "days"),
        ("cleared_count", Decimal(g("late_count")), "count"),
        ("currencies_without_fx_rate", Decimal(without_rate), "count"),
        *(_plan_rows(g) if plans else []),
    ]


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _ledger_rows(g: Callable[[str], int], config: KpiConfig, as_of: pd.Timestamp, has_snapshot: bool) -> list[KpiRow]:
    """Receivables, sales and the KPIs made of them: DSO (three ways), CEI, % current."""
    p = config.dso_period_days
    ar, cur, sales = g("ar_total"), g("ar_current"), g("sales_period")
    months = [(days, g(f"sales_month.{k}")) for k, days in month_windows(as_of, config.count_back_max_months)]
    cei = collection_effectiveness_index(g("cei_beginning"), g("cei_sales"), ar, cur) if has_snapshot else None
    return [
        ("ar_total", _money(ar), "amount"),
        ("ar_current", _money(cur), "amount"),
        ("ar_overdue", _money(ar - cur), "amount"),
        ("sales_period", _money(sales), "amount"),
        ("dso_standard", dso_standard(ar, sales, p), "days"),
        ("dso_count_back", dso_count_back(ar, months), "days"),
        ("best_possible_dso", best_possible_dso(cur, sales, p), "days"),
        ("average_days_delinquent", average_days_delinquent(ar, cur, sales, p), "days"),
        ("cei", cei, "percent"),
        ("pct_current", percent_current(cur, ar), "percent"),
    ]


def _promise_rows(g: Callable[[str], int]) -> list[KpiRow]:
    """Promises to pay per outcome, counted and summed, and the share of the judged ones kept."""
    statuses = ("kept", "broken", "open")
    return [
        *[(f"ptp_{s}_count", Decimal(g(f"ptp_{s}_count")), "count") for s in statuses],
        *[(f"ptp_{s}_amount", _money(g(f"ptp_{s}_amount")), "amount") for s in statuses],
        ("ptp_attainment_pct", promise_attainment(g("ptp_kept_amount"), g("ptp_broken_amount")), "percent"),
    ]


def _plan_rows(g: Callable[[str], int]) -> list[KpiRow]:
    """Payment plans per status, the amount they pause, how much of what fell due was paid,
    and what the broken ones leave open."""
    return [
        *[(f"plans_{s}", Decimal(g(f"plans_{s}")), "count") for s in ("current", "completed", "broken")],
        ("amount_under_plans", _money(g("amount_under_plans")), "amount"),
        ("plan_attainment_pct", plan_attainment(g("plan_paid"), g("plan_due")), "percent"),
        ("amount_at_risk", _money(g("amount_at_risk")), "amount"),
    ]


def _open_issue_rows(
    g: Callable[[str], int], amount: str, count: str, reasons: Sequence[str], bands: Sequence[str]
) -> list[KpiRow]:
    """Open disputes or unapplied cash: amount, count, and the amount per reason and age band."""
    return [
        (amount, _money(g(amount)), "amount"),
        (count, Decimal(g(count)), "count"),
        *[(f"{amount}.reason.{r}", _money(g(f"{amount}.reason.{r}")), "amount") for r in reasons],
        *[(f"{amount}.age.{b}", _money(g(f"{amount}.age.{b}")), "amount") for b in bands],
    ]


#: the prefix of the disputes resolved in the period counted per number of days they took
RESOLVE_DAYS = "dispute_resolve_days."


def _dispute_lifecycle_rows(f: dict[str, int]) -> list[KpiRow]:
    """Disputes opened and resolved in the period, how long the resolved ones took (average
    and median) and the share of them resolved within target."""
    days = {int(k.removeprefix(RESOLVE_DAYS)): int(n) for k, n in f.items() if k.startswith(RESOLVE_DAYS)}
    resolved = int(f.get("disputes_resolved", 0))
    return [
        ("disputes_opened", Decimal(int(f.get("disputes_opened", 0))), "count"),
        ("disputes_resolved", Decimal(resolved), "count"),
        ("avg_days_to_resolve", average_days_to_resolve(days), "days"),
        ("median_days_to_resolve", median_days_to_resolve(days), "days"),
        (
            "resolved_within_target_pct",
            resolved_within_target(int(f.get("disputes_within_target", 0)), resolved),
            "percent",
        ),
    ]
