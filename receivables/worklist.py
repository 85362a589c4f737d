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
resolve_dispute, call, refund_or_offset, write_off_candidate.

Beside the warehouse's columns the frame carries the reasons as values, for the workbook: the
customer's currencies and overdue amount as booked (when it has one currency), the oldest
overdue bucket, the disputed amount, the amount over the credit limit, unapplied cash and
broken promises (base cents), and ``summary``, one short sentence of the reasons' kinds.  The
``reason`` text names the currency of every amount, and a converted amount follows the
booked one: "176,378.97 USD (190,183.04 EUR) overdue".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from receivables import worklist_reasons as r
from receivables.kpis import open_disputes
from receivables.reporting_config import ReportingConfig
from receivables.worklist_reasons import Key, Reason

#: next actions, most serious first: a customer's next action is the first of its reasons
ACTIONS = (
    "handover",
    "escalate",
    "chase_broken_promise",
    "resolve_dispute",
    "call",
    "refund_or_offset",
    "write_off_candidate",
)
#: the actions in words, for everything a person reads (the warehouse keeps the codes)
ACTION_LABELS = {
    "handover": "Hand over to the agency",
    "escalate": "Escalate",
    "chase_broken_promise": "Chase the broken promise",
    "resolve_dispute": "Resolve the dispute",
    "call": "Call the customer",
    "write_off_candidate": "Consider a write-off",
    "refund_or_offset": "Refund or offset",
    # the actions of a collection case (receivables.casework) beside tonight's reasons
    "follow_up": "Follow up",
    "check_plan": "Check the payment plan",
    "check_promise": "Check the promise",
    "wait_for_reply": "Wait for the reply",
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
#: the reasons as values, for the workbook (the warehouse table keeps the columns above)
REASON_COLUMNS = {
    "currencies": object,
    "overdue_native": "Int64",
    "oldest_bucket": object,
    "disputed_amount": "int64",
    "over_limit_amount": "int64",
    "unapplied_amount": "int64",
    "broken_promise_amount": "int64",
    "summary": object,
    #: the kinds of the reasons, ``;``-separated in the order found (the cases read them)
    "kinds": object,
}
#: each kind of reason in the one-line summary: (one, several)
KIND_PHRASES = {
    "handover": ("dunning hands over", "dunning hands over"),
    "dunning_call": ("dunning asks for a call", "dunning asks for calls"),
    "unreachable": ("no usable email address", "no usable email address"),
    "large_old": ("large and old balance", "large and old balance"),
    "over_limit": ("over the credit limit", "over the credit limit"),
    "broken_promise": ("broken promise", "{n} broken promises"),
    "broken_plan": ("broken payment plan", "{n} broken payment plans"),
    "dispute": ("dispute open", "{n} disputes open"),
    "not_reminded": ("items nobody reminds", "items nobody reminds"),
    "unapplied": ("unapplied cash to clarify", "unapplied cash to clarify"),
    "write_off": ("small and old: write off?", "small and old: write off?"),
    "refund": ("credit balance to refund or offset", "{n} credit balances to refund or offset"),
}
#: reasons of one kind listed in full before "and N more"
_LISTED = 3


def priority_score(overdue_cents: int, oldest_days: int, actions: set[str], config: ReportingConfig) -> float:
    """The score the list is ordered by: amount on a log scale (ten times the money is a fixed
    step, so one huge account does not bury the rest), plus age, plus points per reason kind."""
    w = config.worklist
    amount = w.amount_weight * math.log10(1 + max(overdue_cents, 0) / 100)
    age = w.age_weight * max(oldest_days, 0) / 30
    points = sum(getattr(w.points, a) for a in actions)
    return round(amount + age + points, 2)


@dataclass
class _Values:
    """The reasons as values per customer (base cents), for the workbook's columns."""

    disputed: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    #: the credit limit in base cents of the customers above it
    over_limit: dict[Key, int] = field(default_factory=dict)
    unapplied: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    broken: dict[Key, int] = field(default_factory=lambda: defaultdict(int))


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
    plans: pd.DataFrame | None = None,
    refunds: pd.DataFrame | None = None,
    dispute_status: pd.DataFrame | None = None,
    balances: r.Balances | None = None,
) -> pd.DataFrame:
    """One row per company code and customer needing a person, ordered by priority (highest
    first) then customer id, ranked from 1.

    ``aging`` is this as_of's aging (cents); with ``base_currency`` every amount is converted at
    the latest rate on or before as_of and ``overdue_amount`` is in base-currency cents (amounts
    in a currency without a rate are left out and the reason says so); without it amounts are
    added as they are, which is right for a single-currency ledger only.  ``plans`` is the
    payment plans' status: a broken plan asks for a call.  ``refunds`` is the night's refund
    proposals (``receivables.refunds``): each asks to refund or offset the credit balance.
    ``dispute_status`` (``receivables.disputes``): an escalated dispute asks to resolve it;
    without it a dispute open ``dispute_follow_up_days`` does.  ``balances``: this aging's
    (``worklist_reasons.balances`` at the same rates), when the caller has them already."""
    config = config or ReportingConfig()
    w = config.worklist
    t = pd.Timestamp(as_of).normalize()
    to_base = r.at_rates(fx_rates, base_currency, t)
    if balances is None:
        balances = r.balances(aging, config, to_base)
    else:
        to_base.note(balances.unconverted)
    currency = r.currencies_of(customers)
    above_limit = r.over_limit(balances, customers, to_base)
    unapplied_sums = r.unapplied_by_customer(unapplied)
    # the order of the steps is the order of one kind's reasons in the text
    found = [
        *r.dunning_reasons(notices),
        *r.unreachable_reasons(notices, customers),
        *r.broken_promise_reasons(broken_promises, currency),
        *r.broken_plan_reasons(plans),
        *r.dispute_reasons(disputes, t, w.dispute_follow_up_days, currency, status=dispute_status),
        *r.skipped_reasons(skipped, w.manual_skip_reasons),
        *r.unapplied_reasons(unapplied_sums, balances.overdue, to_base, w.unapplied_min_cents),
        *r.escalation_reasons(balances, above_limit, w.escalate, to_base),
        *r.write_off_reasons(balances, w.write_off, to_base),
        *r.refund_reasons(refunds),
    ]
    values = _values(above_limit, broken_promises, disputes, unapplied_sums[0], currency, to_base, t)
    collectors = r.collectors_of(customers)
    labels = {config.aging.lower_edge(b.column): b.label for b in config.aging.buckets[1:]}
    rows = [
        _row(key, reasons, balances, collectors.get(key[1]), to_base.unconverted.get(key), t, config)
        | _value_columns(key, balances, values, labels)
        for key, reasons in _by_customer(found).items()
    ]
    return _ranked(rows)


def _values(
    above_limit: dict,
    broken_promises: pd.DataFrame | None,
    disputes: pd.DataFrame | None,
    amounts: pd.Series,
    currency: dict[str, str],
    to_base: r.ToBase,
    t: pd.Timestamp,
) -> _Values:
    """Per customer in base cents: every dispute open on as_of (whatever its age), the amount
    above the credit limit, all its unapplied cash (``amounts``: ``unapplied_by_customer``'s),
    and what its broken promises promised."""
    v = _Values(over_limit={k: limit for k, (_, _, limit) in above_limit.items()})
    if disputes is not None and not disputes.empty:
        _add_in_base(v.disputed, open_disputes(disputes, t), "amount", currency, to_base)
    if broken_promises is not None and not broken_promises.empty:
        _add_in_base(v.broken, broken_promises, "promised_amount", currency, to_base)
    for (cc, cust, cur), amount in r.index_items(amounts):
        key = (str(cc), str(cust))
        v.unapplied[key] += to_base(int(amount), str(cur), key)
    return v


def _add_in_base(
    totals: dict[Key, int], frame: pd.DataFrame, column: str, currency: dict[str, str], to_base: r.ToBase
) -> None:
    """Each row's amount in base cents added to its customer's total, in the customer's currency."""
    keys = r.frame_keys(frame)
    currencies = [currency.get(k[1], to_base.base or "") for k in keys]
    cents = np.array([int(a) for a in frame[column].tolist()], dtype=np.int64)
    for key, amount in zip(keys, to_base.many(cents, currencies, keys).tolist(), strict=True):
        totals[key] += amount


def _value_columns(key: Key, balances: r.Balances, values: _Values, labels: dict[int, str]) -> dict:
    """A customer's reasons as values: currencies, overdue as booked, oldest bucket (``labels``:
    the overdue buckets' labels by their first day), amounts."""
    booked = {c: v for c, v in balances.overdue_booked.get(key, {}).items()}
    oldest = balances.oldest.get(key, 0)
    over = max(balances.total.get(key, 0) - values.over_limit[key], 0) if key in values.over_limit else 0
    return {
        "currencies": ", ".join(sorted(booked)) or None,
        "overdue_native": next(iter(booked.values())) if len(booked) == 1 else pd.NA,
        "oldest_bucket": labels.get(oldest) if oldest else None,
        "disputed_amount": values.disputed.get(key, 0),
        "over_limit_amount": over,
        "unapplied_amount": values.unapplied.get(key, 0),
        "broken_promise_amount": values.broken.get(key, 0),
    }


def _by_customer(found: list[Reason]) -> dict[Key, list[Reason]]:
    """The reasons grouped per customer, each in the order found."""
    reasons: dict[Key, list[Reason]] = defaultdict(list)
    for reason in found:
        reasons[reason.key].append(reason)
    return reasons


def _row(
    key: Key,
    reasons: list[Reason],
    balances: r.Balances,
    collector: str | None,
    unconverted: set[str] | None,
    t: pd.Timestamp,
    config: ReportingConfig,
) -> dict:
    """A customer's worklist row: its reasons most serious first, its score and next action."""
    by_action: dict[str, list[Reason]] = defaultdict(list)
    for reason in reasons:
        by_action[reason.action].append(reason)
    actions = [a for a in ACTIONS if by_action.get(a)]
    texts: list[str] = []
    for a in actions:
        listed = [x.text for x in by_action[a]]
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
        "summary": _summary([x for a in actions for x in by_action[a]]),
        "kinds": ";".join(dict.fromkeys(x.kind for x in reasons)),
    }


def _summary(reasons: list[Reason]) -> str:
    """The kinds of reasons in one short sentence, most serious first: "Large and old balance;
    3 disputes open; dunning asks for a call"."""
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason.kind] = counts.get(reason.kind, 0) + 1
    phrases = []
    for kind, n in counts.items():
        one, several = KIND_PHRASES.get(kind, (kind, kind))
        phrases.append(one if n == 1 else several.format(n=n))
    text = "; ".join(phrases)
    return text[:1].upper() + text[1:]


def _ranked(rows: list[dict]) -> pd.DataFrame:
    """The rows ordered by priority (highest first), then customer and company code, ranked
    from 1; an empty list still has the worklist's columns and types."""
    columns = [*WORKLIST_COLUMNS, *REASON_COLUMNS]
    if not rows:
        types = ["int64", object, object, object, "float64", "int64", object, object, *REASON_COLUMNS.values()]
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(columns, types)})
    out = pd.DataFrame(rows).sort_values(
        ["priority", "customer_id", "company_code"], ascending=[False, True, True], kind="stable"
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype="int64"))
    out = out.astype({"overdue_amount": "int64", **REASON_COLUMNS})
    return out.reset_index(drop=True)[columns]
