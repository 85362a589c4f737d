"""What an item is charged: statutory or fixed interest accrued to as_of (ACT/365, each day
at the base rate in force on it) and the EU flat compensation per invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from receivables.dunning.columns import Columns
from receivables.dunning.policies import BaseRate, DunningPolicies, InterestSettings
from receivables.dunning.policy_table import _PolicyTable
from receivables.money import round_half_up_cents


def statutory_rate_days(base_rates: list[BaseRate], points: Decimal, due: date, as_of: date) -> Decimal:
    """The sum over the days after ``due`` up to ``as_of`` of that day's rate in percent.

    Each day uses the base rate in force on it (the statutes change it each half year), so a
    claim spanning a change is charged at both rates; a rate below zero counts as zero.
    Days before the first listed rate use the first one."""
    total = Decimal(0)
    start = pd.Timestamp(due) + pd.Timedelta(days=1)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # exclusive
    for i, r in enumerate(base_rates):
        lo = start if i == 0 else max(start, pd.Timestamp(r.effective_from))
        hi = end if i + 1 == len(base_rates) else min(end, pd.Timestamp(base_rates[i + 1].effective_from))
        days = (hi - lo).days
        if days > 0:
            total += max(Decimal(0), r.percent + points) * days
    return total


def _rate_days(
    kind: str, percent: object, law: object, due: pd.Timestamp, day: pd.Timestamp, settings: InterestSettings
) -> Decimal:
    days = (day - due).days
    if days <= 0:
        return Decimal(0)
    if kind == "fixed":
        return Decimal(percent) * days  # type: ignore[arg-type]
    rate = settings.rate_for(law if isinstance(law, str) else None)
    if rate is None:
        return Decimal(0)
    return statutory_rate_days(settings.base_rates[rate.base_rate], rate.points, due.date(), day.date())


def _interest_cents(open_cents: int, rate_days: Decimal) -> int:
    """Interest on one item: open x rate x days / 365 (ACT/365), half-up to the cent."""
    if open_cents <= 0 or rate_days <= 0:
        return 0
    return round_half_up_cents(Decimal(open_cents) * rate_days / Decimal(36500))


def _charges(listed: Columns, table: _PolicyTable, policies: DunningPolicies, day: pd.Timestamp) -> Columns:
    """Interest accrued to as_of where the item's own level claims it, and the flat
    compensation on invoices that reach the compensation level in this run."""
    p = table.index(listed["policy"])
    # an item carried over from a longer policy is treated as the last level of this one
    rule_level = np.minimum(listed["level"], listed["max_level"])
    kind, percent = table.interest[p, rule_level], table.percent[p, rule_level]
    settings = policies.interest
    # the rate x days of an item depends only on these, shared by many items
    cache: dict[tuple, Decimal] = {}
    interest = np.zeros(len(p), dtype=np.int64)
    for i in np.flatnonzero(kind != "none"):
        law = settings.company_countries.get(listed["company_code"][i]) or listed["country"][i]
        due = listed["due_date"][i]
        key = (kind[i], percent[i], law, due)
        if key not in cache:
            cache[key] = _rate_days(kind[i], percent[i], law, pd.Timestamp(due), day, settings)
        # no interest on a disputed part while the dispute is open: it is not claimed
        interest[i] = _interest_cents(int(listed["claimed_amount"][i]), cache[key])
    reaches = listed["advances"] & table.compensation[p, rule_level] & (listed["document_type"] == "INV")
    compensation = np.array([table.compensation_cents.get(c, 0) for c in listed["currency"]], dtype=np.int64)
    return {"interest": interest, "fee": np.where(reaches, compensation, 0).astype(np.int64)}
