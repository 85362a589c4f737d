"""KPIs as a person reads them: a label instead of the warehouse code, and the value in its
unit (money with thousands separators and the currency, days with one decimal, percentages).

The warehouse keeps the codes (``disputed_amount.reason.PRICING``) and the unit ``amount``
because BI tools and auditors query them; everything shown to a finance user goes through here:
the label, the unit as a reader names it (every money KPI is in the base currency, whichever
company it is for: ``EUR``, ``%``, ``days``), and why a KPI is blank tonight.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from babel.numbers import format_decimal

LABELS = {
    "ar_total": "Open receivables",
    "ar_current": "Not yet due",
    "ar_overdue": "Overdue",
    "sales_period": "Credit sales in the period",
    "dso_standard": "DSO (standard)",
    "dso_count_back": "DSO (count-back)",
    "best_possible_dso": "Best possible DSO",
    "average_days_delinquent": "Average days delinquent",
    "cei": "Collection effectiveness (CEI)",
    "pct_current": "Share not yet due",
    "ptp_kept_count": "Promises kept",
    "ptp_broken_count": "Promises broken",
    "ptp_open_count": "Promises open",
    "ptp_kept_amount": "Promised amount kept",
    "ptp_broken_amount": "Promised amount broken",
    "ptp_open_amount": "Promised amount open",
    "ptp_attainment_pct": "Promise attainment",
    "disputed_amount": "Disputed amount",
    "disputed_count": "Open disputes",
    "disputes_opened": "Disputes opened in the period",
    "disputes_resolved": "Disputes resolved in the period",
    "avg_days_to_resolve": "Average days to resolve a dispute",
    "median_days_to_resolve": "Median days to resolve a dispute",
    "resolved_within_target_pct": "Disputes resolved within target",
    "unapplied_cash": "Unapplied cash",
    "unapplied_count": "Unapplied payments",
    "avg_days_late": "Average days paid late",
    "avg_days_late_weighted": "Average days paid late (amount-weighted)",
    "cleared_count": "Invoices cleared",
    "currencies_without_fx_rate": "Currencies without an FX rate",
    "plans_current": "Payment plans current",
    "plans_completed": "Payment plans completed",
    "plans_broken": "Payment plans broken",
    "amount_under_plans": "Amount under payment plans",
    "plan_attainment_pct": "Payment plan attainment",
    "amount_at_risk": "Amount at risk (broken plans)",
}

#: the second part of a grouped code (``disputed_amount.reason.PRICING``)
GROUPS = {"reason": "reason", "age": "age"}

#: the KPIs a run summary shows first, in this order
HEADLINE = (
    "ar_total",
    "ar_overdue",
    "dso_standard",
    "dso_count_back",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "pct_current",
    "disputed_amount",
    "unapplied_cash",
    "ptp_attainment_pct",
)


#: why a KPI has no value tonight (the formulas in ``receivables.kpi_formulas`` return None)
UNDEFINED = {
    "dso_standard": "no credit sales in the DSO period",
    "best_possible_dso": "no credit sales in the DSO period",
    "average_days_delinquent": "no credit sales in the DSO period",
    "dso_count_back": "the receivables exceed the months of sales it looks back over",
    "cei": "nothing was collectable in the period",
    "pct_current": "no open receivables",
    "ptp_attainment_pct": "no promise has been judged kept or broken yet",
    "plan_attainment_pct": "no payment plan has had an instalment due yet",
    "avg_days_late": "no invoice was cleared in the period",
    "avg_days_to_resolve": "no dispute was resolved in the period",
    "median_days_to_resolve": "no dispute was resolved in the period",
    "resolved_within_target_pct": "no dispute was resolved in the period",
    "avg_days_late_weighted": "no invoice was cleared in the period",
}


def unit_label(unit: str, currency: str) -> str:
    """The unit as a reader names it: money KPIs are in the base ``currency``."""
    return {"amount": currency, "percent": "%", "days": "days", "count": "count"}.get(unit, unit)


def why_blank(code: str, month_end: date | None = None, month_end_snapshot: bool = True) -> str:
    """Why the KPI ``code`` has no value: CEI needs the previous month end's aging in the
    warehouse, which a first run or a gap in the history does not have."""
    base = code.partition(".")[0]
    if base == "cei" and not month_end_snapshot:
        when = f" ({month_end.isoformat()})" if month_end else ""
        return f"needs the aging of the previous month end{when}, which the warehouse has no run for"
    return UNDEFINED.get(base, "not defined for tonight's data")


def kpi_label(code: str) -> str:
    """``disputed_amount.reason.PRICING`` -> ``Disputed amount, reason: pricing``."""
    base, _, rest = code.partition(".")
    label = LABELS.get(base, base.replace("_", " ").capitalize())
    if not rest:
        return label
    group, _, value = rest.partition(".")
    if group in GROUPS and value:
        return f"{label}, {GROUPS[group]}: {value.replace('_', ' ').lower()}"
    return f"{label} ({rest})"


def format_kpi(value: Decimal | str | float | int | None, unit: str, currency: str, locale: str = "en") -> str:
    """The value in its unit; ``n/a`` for a KPI that is undefined tonight."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return "n/a"
    number = Decimal(str(value))
    if unit == "amount":
        return format_money(number, currency, locale)
    if unit == "days":
        return f"{format_decimal(number, format='#,##0.0', locale=locale)} days"
    if unit == "percent":
        return f"{format_decimal(number, format='#,##0.0', locale=locale)} %"
    return format_decimal(number, format="#,##0", locale=locale)


def format_amount(value: Decimal | str | int | None, locale: str = "en") -> str:
    """``3211175.04`` -> ``3,211,175.04``, for a column whose heading names the currency."""
    if value is None or value == "":
        return "n/a"
    return format_decimal(Decimal(str(value)), format="#,##0.00", locale=locale)


def format_money(value: Decimal | str | int | None, currency: str, locale: str = "en") -> str:
    """``3211175.04`` -> ``3,211,175.04 EUR``."""
    amount = format_amount(value, locale)
    return amount if amount == "n/a" else f"{amount} {currency}"


def kpi_table(kpis: pd.DataFrame, currency: str, month_end: date | None = None, snapshot: bool = True) -> list[dict]:
    """The KPIs as a table a person reads (the flow's artifact): one row per KPI with its label
    and unit, one column per company code (all companies first), blanks said as "n/a" with
    the reason, and the warehouse code last."""
    if kpis.empty:
        return []
    companies = ["ALL"] + sorted({str(c) for c in kpis["company_code"]} - {"ALL"})
    values = {(str(c), str(k)): (v, str(u)) for c, k, v, u in kpis[["company_code", "kpi", "value", "unit"]].values}
    rows = []
    for code, unit in dict.fromkeys(zip(kpis["kpi"].astype(str), kpis["unit"].astype(str))):
        row = {"KPI": kpi_label(code), "unit": unit_label(unit, currency)}
        blank = False
        for company in companies:
            value, _ = values.get((company, code), (None, unit))
            shown = format_value(value, unit)
            blank |= shown == "n/a"
            row["all companies" if company == "ALL" else company] = shown
        row["why blank"] = why_blank(code, month_end, snapshot) if blank else ""
        row["code"] = code
        rows.append(row)
    return rows


def format_value(value: Decimal | str | float | int | None, unit: str, locale: str = "en") -> str:
    """The value in its unit where a column names the unit: ``3,211,175.04``, ``59.8 %``."""
    if unit == "amount":
        return "n/a" if value is None or pd.isna(value) else format_amount(value, locale)
    return format_kpi(value, unit, "", locale)
