"""The night's collection cases: tonight's facts gathered per account, then every account's
case carried on from the previous night's (``receivables.casework.lifecycle``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from receivables.casework import facts as gather
from receivables.casework.config import CaseRules
from receivables.casework.facts import Facts
from receivables.casework.lifecycle import CASE_COLUMNS, EVENT_COLUMNS, next_case
from receivables.reporting_config import ReportingConfig
from receivables.worklist_reasons import Balances, Key, at_rates
from receivables.worklist_reasons import balances as balances_of

_DATES = ("opened_on", "stage_since", "action_since", "next_action_due", "sla_due", "last_contact_on", "closed_on")


@dataclass
class Cases:
    """The cases open on as_of or closed on it, and what happened to them tonight."""

    cases: pd.DataFrame
    events: pd.DataFrame

    @property
    def open(self) -> pd.DataFrame:
        return self.cases.loc[self.cases["closed_on"].isna()]

    @property
    def counts(self) -> dict[str, object]:
        live = self.open
        return {
            "open": len(live),
            "by_stage": {str(k): int(v) for k, v in live["stage"].value_counts().sort_index().items()},
            "closed": int(self.cases["closed_on"].notna().sum()),
            "sla_breached": int(live["sla_breached"].sum()),
        }


def night_facts(
    as_of: date,
    aging: pd.DataFrame,
    config: ReportingConfig,
    *,
    signals: pd.DataFrame | None = None,
    notices: pd.DataFrame | None = None,
    skipped: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    open_items: pd.DataFrame | None = None,
    disputes: pd.DataFrame | None = None,
    plans: pd.DataFrame | None = None,
    plan_events: pd.DataFrame | None = None,
    promises: pd.DataFrame | None = None,
    applications: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    fx_rates: pd.DataFrame | None = None,
    base_currency: str | None = None,
    writeoff_approvals: pd.DataFrame | None = None,
    balances: Balances | None = None,
) -> Facts:
    """Everything the cases need to know about tonight, per account (money in base cents when
    ``base_currency`` is given, converted as the worklist converts it; ``balances``: the
    aging's, when the caller has them already, as the worklist's)."""
    t = pd.Timestamp(as_of).normalize()
    if balances is None:
        balances = balances_of(aging, config, at_rates(fx_rates, base_currency, t))
    f = Facts(as_of=t.date(), balances=balances, currency=base_currency)
    gather.add_signals(f, signals)
    gather.add_dunning(f, notices, history, open_items if open_items is not None else pd.DataFrame())
    gather.add_disputes(f, disputes)
    gather.add_plans(f, plans, plan_events)
    gather.add_promises(f, promises, skipped, broken_promises)
    gather.add_payments(f, applications)
    gather.add_contacts(f, activities)
    gather.add_collectors(f, customers)
    gather.add_writeoffs(f, writeoff_approvals, open_items if open_items is not None else pd.DataFrame())
    return f


def derive_cases(
    previous: pd.DataFrame | None,
    facts: Facts,
    rules: CaseRules,
    *,
    dispute_follow_up_days: int = 14,
    previous_as_of: date | None = None,
) -> Cases:
    """Tonight's cases from the cases open after the previous night (``previous``, of the night
    ``previous_as_of``) and tonight's facts: one case per account at most, the same inputs
    giving the same cases, so a rerun of any date reproduces them."""
    before = _by_account(previous)
    since = previous_as_of or facts.as_of - timedelta(days=1)
    rows, events = [], []
    for key in sorted(set(before) | facts.accounts()):
        row, happened = next_case(key, before.get(key), facts, rules, dispute_follow_up_days, since)
        if row is not None:
            rows.append(row)
        events += happened
    cases = pd.DataFrame(rows, columns=CASE_COLUMNS)
    cases = cases.astype({"overdue_amount": "int64", "days_action_overdue": "int64", "sla_breached": bool})
    return Cases(cases=cases, events=pd.DataFrame(events, columns=EVENT_COLUMNS))


def _by_account(previous: pd.DataFrame | None) -> dict[Key, dict]:
    """The previous night's open cases by account, with plain dates (the warehouse gives
    timestamps or dates depending on the database)."""
    if previous is None or previous.empty:
        return {}
    live = previous.loc[previous["closed_on"].isna()] if "closed_on" in previous else previous
    days = {c: gather.plain_days(live[c]) if c in live else [None] * len(live) for c in _DATES}
    return {(str(row["company_code"]), str(row["customer_id"])): row for row in gather.records(live, days)}
