"""What the workbook is made from, in two parts, because they are known at different times.

``WorkbookInputs`` is everything the report stage has when it builds the reports (the stage
frames, money in integer cents, and the run's facts); a large night hands it to a background
process, which writes most sheets while the reminders render.  ``Delivery`` is what only the
report-files stage knows, after the emails went out: each notice's outbox status and recipients,
and the charts (the trend chart reads this night's aging back from the warehouse).  The Summary
and the Dunning proposal are written from both.

Both are plain data, so they cross a process boundary by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from receivables.aging import to_base_cents
from receivables.reporting_config import ReportingConfig
from receivables.root_causes import RootCauses


@dataclass
class RunFacts:
    """The run's own facts the Summary shows."""

    as_of: date
    run_id: str
    mode: str
    base_currency: str
    #: whether this run wrote dunning state (and so queued reminders), and why not
    dunning_written: bool = True
    why_not: str | None = None
    quarantined_rows: int = 0
    missing_fx: list[str] = field(default_factory=list)
    #: the previous month end, and whether the warehouse had its aging (CEI needs it)
    month_end: date | None = None
    month_end_snapshot: bool = False
    held_companies: list[str] = field(default_factory=list)


@dataclass
class WorkbookInputs:
    """The stage frames the workbook shows (money in integer cents)."""

    facts: RunFacts
    config: ReportingConfig
    #: base-currency units per unit of each currency at as_of (``aging.rates_on``)
    rates: dict[str, Decimal]
    aging: pd.DataFrame
    worklist: pd.DataFrame
    kpis: pd.DataFrame
    notices: pd.DataFrame
    dunning_items: pd.DataFrame
    skipped: pd.DataFrame
    broken_promises: pd.DataFrame
    open_items: pd.DataFrame
    customers: pd.DataFrame
    payments: pd.DataFrame
    unapplied: pd.DataFrame
    suggestions: pd.DataFrame
    disputes: pd.DataFrame | None = None
    promises: pd.DataFrame | None = None
    #: ``payment_plans`` (plan_id, company_code, customer_id, document_nos) when the set has one
    payment_plans: pd.DataFrame | None = None
    #: the collection cases open on as_of or closed on it (``Reports.cases``); None: no casework
    cases: pd.DataFrame | None = None
    #: the collector view, one row per collector (``Reports.collectors``)
    collectors: pd.DataFrame | None = None
    #: every plan's state on as_of (``PlanStatus.plans`` of the dunning step)
    plan_status: pd.DataFrame | None = None
    #: the refund proposals (``Reports.refunds``, ``receivables.refunds``); None: none made
    refunds: pd.DataFrame | None = None
    #: the month-end close's provision rows (``receivables.close.provision``); None: not a close
    provisions: pd.DataFrame | None = None
    #: tonight's write-off proposals (``receivables.close.writeoffs``); None: none made
    writeoffs: pd.DataFrame | None = None
    #: the overdue balance per company code and driver (``Reports.drivers``), base cents
    drivers: pd.DataFrame | None = None
    #: the drivers and disputes per month from the warehouse (``receivables.root_causes``)
    root_causes: RootCauses | None = None
    #: every dispute opened by as_of with its currency, base amount and open flag
    #: (``Reports.dispute_view``, ``receivables.dispute_views``); None: no disputes extract
    dispute_status: pd.DataFrame | None = None

    def to_base(self, cents: list[int], currencies: list[str]) -> list[int | None]:
        """Amounts in base-currency cents at as_of's rates; None where a currency has no rate."""
        base = self.facts.base_currency
        out: list[int | None] = []
        for c, cur in zip(cents, currencies):
            if pd.isna(c):
                out.append(None)
            elif cur == base:
                out.append(int(c))
            else:
                rate = self.rates.get(cur)
                out.append(None if rate is None else to_base_cents(int(c), rate))
        return out


@dataclass
class Delivery:
    """What the report-files stage adds: the outbox rows of the as_of and the chart files."""

    #: notice_id, recipients, status, error, mode, eml_path, delivered_to, redirected_at
    outbox: pd.DataFrame
    #: ``aging_chart`` / ``trend_chart`` -> PNG path
    charts: dict[str, str] = field(default_factory=dict)

    def email_counts(self) -> dict[str, int]:
        """The as_of's emails per status as the Summary names them."""
        rows = self.outbox
        if rows.empty:
            return {}
        status = rows["status"].astype(str)
        previewed = (status == "pending") & rows["eml_path"].notna()
        counts = {
            "sent": int((status == "sent").sum()),
            "previewed": int(previewed.sum()),
            "failed": int((status == "failed").sum()),
            "held": int(status.isin(["held", "sending"]).sum()),
            "queued": int(((status == "pending") & ~previewed).sum()),
            "cancelled": int((status == "cancelled").sum()),
        }
        return counts


NO_DELIVERY = Delivery(
    outbox=pd.DataFrame(
        columns=["notice_id", "recipients", "status", "error", "mode", "eml_path", "delivered_to", "redirected_at"]
    )
)


def base_currency_cents(inputs: WorkbookInputs, frame: pd.DataFrame, amount: str, currency: str = "currency") -> list:
    """A frame's money column converted to base cents at as_of, as a list (None: no rate)."""
    if frame.empty:
        return []
    return inputs.to_base(frame[amount].tolist(), frame[currency].astype(str).tolist())
