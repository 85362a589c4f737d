"""KPIs as a person reads them: a label instead of the warehouse code, and the value in its
unit (money with thousands separators and the currency, days with one decimal, percentages).

The warehouse keeps the codes (``disputed_amount.reason.PRICING``) because BI tools and
auditors query them; everything shown to a finance user goes through here.
"""

from __future__ import annotations

from decimal import Decimal

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
    "unapplied_cash": "Unapplied cash",
    "unapplied_count": "Unapplied payments",
    "avg_days_late": "Average days paid late",
    "avg_days_late_weighted": "Average days paid late (amount-weighted)",
    "cleared_count": "Invoices cleared",
    "currencies_without_fx_rate": "Currencies without an FX rate",
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
