"""Stage 6, report: the collector worklist, the customers a person has to deal with today.

Reminder emails go out by themselves; this list is for what they cannot do: calls the dunning
policy asks for, handovers, broken promises, disputes nobody has closed, large or old balances,
unapplied cash to clarify, tiny old balances to write off.  One row per company code and
customer, with every reason it is on the list, the one next action to take, and a priority
score to work the list from the top (docs/worklist.md):

    priority = amount_weight x log10(1 + overdue in base units)
             + age_weight x (first day of the oldest overdue bucket) / 30
             + the points of each kind of reason present

The next action is the most serious reason's: handover, escalate, chase_broken_promise,
resolve_dispute, call, write_off_candidate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from receivables.aging import overdue_cents, rates_on, to_base_cents
from receivables.kpis import open_disputes
from receivables.money import to_decimal
from receivables.reporting_config import EscalationRules, ReportingConfig, WriteOffRules

#: next actions, most serious first: a customer's next action is the first of its reasons
ACTIONS = ("handover", "escalate", "chase_broken_promise", "resolve_dispute", "call", "write_off_candidate")
#: the actions in words, for everything a person reads (the warehouse keeps the codes)
ACTION_LABELS = {
    "handover": "Hand over to the agency",
    "escalate": "Escalate",
    "chase_broken_promise": "Chase the broken promise",
    "resolve_dispute": "Resolve the dispute",
    "call": "Call the customer",
    "write_off_candidate": "Consider a write-off",
}
WORKLIST_COLUMNS = [
    "rank",
    "company_code",
    "customer_id",
    "collector",
    "priority",
    "overdue_amount",
    "reason",
    "next_action",
]
#: reasons of one kind listed in full before "and N more"
_LISTED = 3


def _money(cents: int, currency: str | None = None) -> str:
    text = f"{to_decimal(cents):,}"
    return f"{text} {currency}" if currency else text


def priority_score(overdue_cents: int, oldest_days: int, actions: set[str], config: ReportingConfig) -> float:
    """The score the list is ordered by: amount on a log scale (ten times the money is a fixed
    step, so one huge account does not bury the rest), plus age, plus points per reason kind."""
    w = config.worklist
    amount = w.amount_weight * math.log10(1 + max(overdue_cents, 0) / 100)
    age = w.age_weight * max(oldest_days, 0) / 30
    points = sum(getattr(w.points, a) for a in actions)
    return round(amount + age + points, 2)


#: a customer in one company code: (company_code, customer_id)
Key = tuple[str, str]
#: one reason a customer is on the list: the customer, the action it asks for, and its text
Reason = tuple[Key, str, str]


@dataclass
class _ToBase:
    """Amounts in base-currency cents at as_of's rates (as they are without rates), remembering
    per customer the currencies that had no rate, so its reason can say they were left out."""

    rates: dict[str, Decimal] | None
    unconverted: dict[Key, set[str]] = field(default_factory=lambda: defaultdict(set))

    def __call__(self, cents: int, currency: str, key: Key) -> int:
        if self.rates is None:
            return int(cents)
        if currency not in self.rates:
            self.unconverted[key].add(currency)
            return 0
        return to_base_cents(cents, self.rates[currency])


@dataclass
class _Balances:
    """Per customer: overdue and open balance (base cents), the first day of its oldest overdue
    bucket, and whether any overdue amount is younger than the write-off age."""

    overdue: dict[Key, int]
    total: dict[Key, int]
    oldest: dict[Key, int]
    young_overdue: dict[Key, bool]


def build_worklist(
    aging: pd.DataFrame,
    notices: pd.DataFrame | None,
    skipped: pd.DataFrame | None,
    broken_promises: pd.DataFrame | None,
    disputes: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    unapplied: pd.DataFrame | None,
    as_of: date | str | pd.Timestamp,
    config: ReportingConfig | None = None,
    *,
    fx_rates: pd.DataFrame | None = None,
    base_currency: str | None = None,
) -> pd.DataFrame:
    """One row per company code and customer needing a person, ordered by priority (highest
    first) then customer id, ranked from 1.

    ``aging`` is this as_of's aging (cents); with ``base_currency`` every amount is converted at
    the latest rate on or before as_of and ``overdue_amount`` is in base-currency cents (amounts
    in a currency without a rate are left out and the reason says so); without it amounts are
    added as they are, which is right for a single-currency ledger only."""
    config = config or ReportingConfig()
    w = config.worklist
    t = pd.Timestamp(as_of).normalize()
    to_base = _ToBase(rates_on(fx_rates, base_currency, t) if base_currency else None)
    balances = _balances(aging, config, to_base)
    # the order of the steps is the order of one kind's reasons in the text
    found = [
        *_dunning_reasons(notices),
        *_broken_promise_reasons(broken_promises),
        *_dispute_reasons(disputes, t, w.dispute_follow_up_days),
        *_skipped_reasons(skipped, w.manual_skip_reasons),
        *_unapplied_reasons(unapplied, balances.overdue, to_base, w.unapplied_min_cents),
        *_escalation_reasons(balances, customers, w.escalate, to_base, base_currency),
        *_write_off_reasons(balances, w.write_off, base_currency),
    ]
    collectors = _collectors(customers)
    rows = [
        _row(key, by_action, balances, collectors.get(key[1]), to_base.unconverted.get(key), t, config)
        for key, by_action in _by_customer(found).items()
    ]
    return _ranked(rows)


def _balances(aging: pd.DataFrame | None, config: ReportingConfig, to_base: _ToBase) -> _Balances:
    """Each customer's overdue and open balance in base cents, its oldest overdue bucket, and
    whether part of what is overdue is too young to write off."""
    overdue: dict[Key, int] = defaultdict(int)
    total: dict[Key, int] = defaultdict(int)
    oldest: dict[Key, int] = defaultdict(int)
    young_overdue: dict[Key, bool] = defaultdict(bool)
    if aging is not None and not aging.empty:
        late_buckets = [b.column for b in config.aging.buckets[1:]]
        starts = np.array([config.aging.lower_edge(c) for c in late_buckets])
        amounts = aging[late_buckets].to_numpy(dtype="int64")
        oldest_row = np.where(amounts > 0, starts, 0).max(axis=1)
        young_row = (amounts[:, starts < config.worklist.write_off.min_days_past_due] > 0).any(axis=1)
        late_row = overdue_cents(aging, config.aging).to_numpy()
        columns = (aging[c].tolist() for c in ("company_code", "customer_id", "currency", "total"))
        for i, (cc, cust, cur, tot) in enumerate(zip(*columns)):
            key = (str(cc), str(cust))
            overdue[key] += to_base(int(late_row[i]), str(cur), key)
            total[key] += to_base(int(tot), str(cur), key)
            oldest[key] = max(oldest[key], int(oldest_row[i]))
            young_overdue[key] |= bool(young_row[i])
    return _Balances(overdue, total, oldest, young_overdue)


def _dunning_reasons(notices: pd.DataFrame | None) -> list[Reason]:
    """Dunning levels that hand a customer over to the agency or ask for a phone call."""
    if notices is None or notices.empty:
        return []
    out = []
    ordered = notices.sort_values(["company_code", "customer_id", "currency", "level"], kind="stable")
    for n in ordered.itertuples(index=False):
        action = {"handover": "handover", "call_task": "call"}.get(str(n.action))
        if action:
            out.append(
                (
                    (str(n.company_code), str(n.customer_id)),
                    action,
                    f"dunning level {int(n.level)} {'handover' if action == 'handover' else 'call'} "
                    f"for {_money(int(n.overdue_amount), str(n.currency))} overdue",
                )
            )
    return out


def _broken_promise_reasons(broken_promises: pd.DataFrame | None) -> list[Reason]:
    """Promises to pay that were broken, oldest promised date first: chase them."""
    if broken_promises is None or broken_promises.empty:
        return []
    out = []
    for p in broken_promises.sort_values(["promised_date", "promise_id"], kind="stable").itertuples(index=False):
        what = f" on {p.document_no}" if pd.notna(p.document_no) else ""
        out.append(
            (
                (str(p.company_code), str(p.customer_id)),
                "chase_broken_promise",
                f"broken promise {p.promise_id}{what}: {_money(int(p.promised_amount))} promised "
                f"for {pd.Timestamp(p.promised_date).date()}",
            )
        )
    return out


def _dispute_reasons(disputes: pd.DataFrame | None, t: pd.Timestamp, follow_up_days: int) -> list[Reason]:
    """Disputes open on as_of for at least the follow-up days, oldest first: get them resolved."""
    if disputes is None or disputes.empty:
        return []
    live = open_disputes(disputes, t)
    live = live.assign(age_days=(t - pd.to_datetime(live["opened_on"])).dt.days)
    live = live.loc[live["age_days"] >= follow_up_days].sort_values(
        ["age_days", "dispute_id"], ascending=[False, True], kind="stable"
    )
    return [
        (
            (str(d.company_code), str(d.customer_id)),
            "resolve_dispute",
            f"dispute {d.dispute_id} ({d.reason_code}) over {_money(int(d.amount))} open {int(d.age_days)} days",
        )
        for d in live.itertuples(index=False)
    ]


def _skipped_reasons(skipped: pd.DataFrame | None, manual_skip_reasons: Sequence[str]) -> list[Reason]:
    """Overdue items dunning skipped for a reason only a person can clear: one call per
    customer, with the count per skip reason."""
    if skipped is None or skipped.empty:
        return []
    manual = {r.upper() for r in manual_skip_reasons}
    left = skipped.assign(reason=skipped["reason"].astype(str).str.upper())
    left = left.loc[left["reason"].isin(manual)]
    # one grouping for every customer instead of a value_counts per customer
    per_reason = left.groupby(["company_code", "customer_id", "reason"], sort=True).size()
    by_customer: dict[Key, list[tuple[str, int]]] = {}
    for (cc, cust, r), n in per_reason.items():
        by_customer.setdefault((str(cc), str(cust)), []).append((r, int(n)))
    out = []
    for key, counted in by_customer.items():
        counts = ", ".join(f"{r} {n}" for r, n in counted)
        out.append((key, "call", f"no reminder goes out for {sum(n for _, n in counted)} overdue item(s): {counts}"))
    return out


def _unapplied_reasons(
    unapplied: pd.DataFrame | None, overdue: dict[Key, int], to_base: _ToBase, min_cents: int
) -> list[Reason]:
    """Unapplied cash of a customer with overdue items, at least the minimum per currency: a
    call to find out which items it pays."""
    if unapplied is None or unapplied.empty:
        return []
    keys = ["company_code", "customer_id", "currency"]
    known = unapplied.loc[unapplied["customer_id"].notna(), keys].assign(
        amount=pd.to_numeric(unapplied["remaining_amount"]), why=unapplied["reason"].astype(str)
    )
    # sums and reason lists for every group at once, not a sub-frame per group
    amounts = known.groupby(keys, sort=True)["amount"].sum()
    pairs = known.drop_duplicates([*keys, "why"]).sort_values("why", kind="stable")
    whys: dict[tuple, list[str]] = defaultdict(list)
    for cc, cust, cur, why in zip(*(pairs[c].to_numpy(dtype=object) for c in [*keys, "why"])):
        whys[(cc, cust, cur)].append(why)
    out = []
    for (cc, cust, cur), amount in zip(amounts.index, amounts.tolist()):
        key = (str(cc), str(cust))
        amount = int(amount)
        if overdue.get(key, 0) > 0 and to_base(amount, str(cur), key) >= min_cents:
            why = "/".join(whys[(cc, cust, cur)])
            out.append(
                (key, "call", f"unapplied cash {_money(amount, str(cur))} ({why}) to clarify against the overdue items")
            )
    return out


def _escalation_reasons(
    balances: _Balances,
    customers: pd.DataFrame | None,
    esc: EscalationRules,
    to_base: _ToBase,
    unit: str | None,
) -> list[Reason]:
    """Escalate large balances overdue for long, and open balances above the credit limit."""
    out = []
    overdue, oldest, total = balances.overdue, balances.oldest, balances.total
    for key in list(overdue):
        if oldest.get(key, 0) >= esc.min_days_past_due and overdue[key] >= esc.min_overdue_cents:
            out.append((key, "escalate", f"{_money(overdue[key], unit)} overdue, oldest {oldest[key]}+ days past due"))
    if esc.over_credit_limit and customers is not None and not customers.empty and "credit_limit" in customers:
        limits = customers.loc[pd.to_numeric(customers["credit_limit"]).fillna(0) > 0]
        for c in limits.itertuples(index=False):
            key = (str(c.company_code), str(c.customer_id))
            if key in total:
                limit = to_base(int(c.credit_limit), str(c.currency), key)
                if total[key] > limit:
                    text = f"open balance {_money(total[key], unit)} above the credit limit of {_money(limit, unit)}"
                    out.append((key, "escalate", text))
    return out


def _write_off_reasons(balances: _Balances, wo: WriteOffRules, unit: str | None) -> list[Reason]:
    """Small overdue balances that are old in full: candidates to write off rather than chase."""
    most, days = wo.max_cents, wo.min_days_past_due
    return [
        (key, "write_off_candidate", f"only {_money(late, unit)} overdue, all of it {days}+ days past due")
        for key, late in balances.overdue.items()
        if 0 < late <= most and not balances.young_overdue.get(key, False)
    ]


def _collectors(customers: pd.DataFrame | None) -> dict[str, str | None]:
    """Each customer's collector from the customer master (None where it names nobody)."""
    if customers is None or customers.empty or "collector" not in customers:
        return {}
    return {str(c): (None if pd.isna(v) else str(v)) for c, v in zip(customers["customer_id"], customers["collector"])}


def _by_customer(found: list[Reason]) -> dict[Key, dict[str, list[str]]]:
    """The reasons grouped per customer and action, each group in the order found."""
    reasons: dict[Key, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for key, action, text in found:
        reasons[key][action].append(text)
    return reasons


def _row(
    key: Key,
    by_action: dict[str, list[str]],
    balances: _Balances,
    collector: str | None,
    unconverted: set[str] | None,
    t: pd.Timestamp,
    config: ReportingConfig,
) -> dict:
    """A customer's worklist row: its reasons most serious first, its score and next action."""
    actions = [a for a in ACTIONS if by_action.get(a)]
    texts: list[str] = []
    for a in actions:
        listed = by_action[a]
        texts += listed[:_LISTED]
        if len(listed) > _LISTED:
            texts.append(f"and {len(listed) - _LISTED} more {a.replace('_', ' ')} reason(s)")
    if unconverted:
        texts.append(f"amounts in {', '.join(sorted(unconverted))} left out: no FX rate on or before {t.date()}")
    overdue, oldest = balances.overdue.get(key, 0), balances.oldest.get(key, 0)
    return {
        "company_code": key[0],
        "customer_id": key[1],
        "collector": collector,
        "priority": priority_score(overdue, oldest, set(actions), config),
        "overdue_amount": overdue,
        "reason": "; ".join(texts),
        "next_action": actions[0],
    }


def _ranked(rows: list[dict]) -> pd.DataFrame:
    """The rows ordered by priority (highest first), then customer and company code, ranked
    from 1; an empty list still has the worklist's columns and types."""
    if not rows:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=d)
                for c, d in zip(WORKLIST_COLUMNS, ["int64", object, object, object, "float64", "int64", object, object])
            }
        )
    out = pd.DataFrame(rows).sort_values(
        ["priority", "customer_id", "company_code"], ascending=[False, True, True], kind="stable"
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype="int64"))
    out["overdue_amount"] = out["overdue_amount"].astype("int64")
    return out.reset_index(drop=True)[WORKLIST_COLUMNS]
