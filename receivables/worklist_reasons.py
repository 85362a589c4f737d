"""Why a customer is on the collector worklist: one finder per kind of reason, each giving the
customer, the action it asks for, its text and its kind (for the one-line summary).

Amount texts name their currency.  The thresholds compare base-currency amounts (so one rule
fits every currency); where such an amount was converted, the text gives it as booked first
and converted after it, "176,378.97 USD (190,183.04 EUR) overdue", so a reader never sees a
dollar balance called euros.  ``receivables.worklist`` ranks the customers and builds the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd

from receivables.aging import overdue_cents, to_base_cents
from receivables.kpis import open_disputes
from receivables.money import to_decimal
from receivables.reminders.recipients import parse_recipients
from receivables.reporting_config import EscalationRules, ReportingConfig, WriteOffRules

#: a customer in one company code: (company_code, customer_id)
Key = tuple[str, str]


class Reason(NamedTuple):
    """One reason a customer is on the list: the action it asks for, its text, its kind."""

    key: Key
    action: str
    text: str
    kind: str


def money_text(cents: int, currency: str | None = None) -> str:
    text = f"{to_decimal(cents):,}"
    return f"{text} {currency}" if currency else text


@dataclass
class ToBase:
    """Amounts in base-currency cents at as_of's rates (as they are without rates), remembering
    per customer the currencies that had no rate, so its reason can say they were left out."""

    rates: dict[str, Decimal] | None
    base: str | None = None
    unconverted: dict[Key, set[str]] = field(default_factory=lambda: defaultdict(set))

    def __call__(self, cents: int, currency: str, key: Key) -> int:
        if self.rates is None:
            return int(cents)
        if currency not in self.rates:
            self.unconverted[key].add(currency)
            return 0
        return to_base_cents(cents, self.rates[currency])

    def text(self, base_cents: int, booked: dict[str, int] | None = None) -> str:
        """A base amount as text, after the amounts as booked where those are in another
        currency: ``1,000.00 USD (900.00 EUR)``."""
        shown = money_text(base_cents, self.base)
        others = {c: v for c, v in (booked or {}).items() if v and c != self.base}
        if self.base is None or not others:
            return shown
        return " + ".join(money_text(v, c) for c, v in sorted((booked or {}).items()) if v) + f" ({shown})"


@dataclass
class Balances:
    """Per customer: overdue and open balance (base cents, and as booked per currency), the
    first day of its oldest overdue bucket, and whether any overdue amount is younger than
    the write-off age."""

    overdue: dict[Key, int]
    total: dict[Key, int]
    oldest: dict[Key, int]
    young_overdue: dict[Key, bool]
    overdue_booked: dict[Key, dict[str, int]]
    total_booked: dict[Key, dict[str, int]]


def balances(aging: pd.DataFrame | None, config: ReportingConfig, to_base: ToBase) -> Balances:
    """Each customer's overdue and open balance, its oldest overdue bucket, and whether part
    of what is overdue is too young to write off."""
    b = Balances(*(defaultdict(int) for _ in range(3)), defaultdict(bool), *(defaultdict(dict) for _ in range(2)))
    if aging is None or aging.empty:
        return b
    late_buckets = [c.column for c in config.aging.buckets[1:]]
    starts = np.array([config.aging.lower_edge(c) for c in late_buckets])
    amounts = aging[late_buckets].to_numpy(dtype="int64")
    oldest_row = np.where(amounts > 0, starts, 0).max(axis=1)
    young_row = (amounts[:, starts < config.worklist.write_off.min_days_past_due] > 0).any(axis=1)
    late_row = overdue_cents(aging, config.aging).to_numpy()
    columns = (aging[c].tolist() for c in ("company_code", "customer_id", "currency", "total"))
    for i, (cc, cust, cur, tot) in enumerate(zip(*columns)):
        key, cur = (str(cc), str(cust)), str(cur)
        b.overdue[key] += to_base(int(late_row[i]), cur, key)
        b.total[key] += to_base(int(tot), cur, key)
        b.overdue_booked[key][cur] = b.overdue_booked[key].get(cur, 0) + int(late_row[i])
        b.total_booked[key][cur] = b.total_booked[key].get(cur, 0) + int(tot)
        b.oldest[key] = max(b.oldest[key], int(oldest_row[i]))
        b.young_overdue[key] |= bool(young_row[i])
    return b


def currencies_of(customers: pd.DataFrame | None) -> dict[str, str]:
    """Each customer's currency: the one of disputes and promises, which carry none."""
    if customers is None or customers.empty or "currency" not in customers:
        return {}
    return dict(zip(customers["customer_id"].astype(str), customers["currency"].astype(str)))


def dunning_reasons(notices: pd.DataFrame | None) -> list[Reason]:
    """Dunning levels that hand a customer over to the agency or ask for a phone call."""
    if notices is None or notices.empty:
        return []
    out = []
    ordered = notices.sort_values(["company_code", "customer_id", "currency", "level"], kind="stable")
    for n in ordered.itertuples(index=False):
        action = {"handover": "handover", "call_task": "call"}.get(str(n.action))
        if action:
            what = "handover" if action == "handover" else "call"
            text = (
                f"dunning level {int(n.level)} {what} for {money_text(int(n.overdue_amount), str(n.currency))} overdue"
            )
            kind = "handover" if action == "handover" else "dunning_call"
            out.append(Reason((str(n.company_code), str(n.customer_id)), action, text, kind))
    return out


def unreachable_reasons(notices: pd.DataFrame | None, customers: pd.DataFrame | None) -> list[Reason]:
    """Notices due as email to a customer without a usable address: the letter cannot be built,
    so a person must reach the customer and correct the master data."""
    if notices is None or notices.empty or customers is None or "email" not in customers.columns:
        return []
    emailed = notices[notices["action"].astype(str) == "email"]
    if emailed.empty:
        return []
    emails = dict(zip(customers["customer_id"].astype(str), customers["email"], strict=True))
    out = []
    for n in emailed.sort_values(["company_code", "customer_id", "currency"], kind="stable").itertuples(index=False):
        raw = emails.get(str(n.customer_id))
        _, problem = parse_recipients("" if raw is None or pd.isna(raw) else str(raw), str(n.customer_id))
        if problem:
            text = f"reminder level {int(n.level)} not sent: {problem.rstrip('.')}; call and correct the master data"
            out.append(Reason((str(n.company_code), str(n.customer_id)), "call", text, "unreachable"))
    return out


def broken_promise_reasons(broken_promises: pd.DataFrame | None, currency: dict[str, str]) -> list[Reason]:
    """Promises to pay that were broken, oldest promised date first: chase them."""
    if broken_promises is None or broken_promises.empty:
        return []
    out = []
    for p in broken_promises.sort_values(["promised_date", "promise_id"], kind="stable").itertuples(index=False):
        what = f" on {p.document_no}" if pd.notna(p.document_no) else ""
        amount = money_text(int(p.promised_amount), currency.get(str(p.customer_id)))
        text = f"broken promise {p.promise_id}{what}: {amount} promised for {pd.Timestamp(p.promised_date).date()}"
        out.append(Reason((str(p.company_code), str(p.customer_id)), "chase_broken_promise", text, "broken_promise"))
    return out


def broken_plan_reasons(plans: pd.DataFrame | None) -> list[Reason]:
    """Payment plans broken by a missed instalment, oldest miss first: dunning has resumed, so
    call the customer about the plan (a new one, or what happens next)."""
    if plans is None or plans.empty:
        return []
    broken = plans[plans["status"] == "BROKEN"]
    out = []
    for p in broken.sort_values(["missed_due_date", "plan_id"], kind="stable").itertuples(index=False):
        currency = None if pd.isna(p.currency) else str(p.currency)
        missed = pd.Timestamp(p.missed_due_date).date()
        text = (
            f"payment plan {p.plan_id} broken: instalment {p.missed_seq} due {missed} missed, "
            f"{money_text(int(p.amount_at_risk), currency)} open"
        )
        out.append(Reason((str(p.company_code), str(p.customer_id)), "call", text, "broken_plan"))
    return out


def dispute_reasons(
    disputes: pd.DataFrame | None,
    t: pd.Timestamp,
    follow_up_days: int,
    currency: dict[str, str],
    status: pd.DataFrame | None = None,
) -> list[Reason]:
    """Disputes to get resolved, oldest first: with the night's ``status``
    (``receivables.disputes.dispute_status``) those escalated past their target date
    (``disputes.yaml``), else those open for at least the follow-up days."""
    if status is not None:
        return _escalated_dispute_reasons(status, t, currency)
    if disputes is None or disputes.empty:
        return []
    live = open_disputes(disputes, t)
    live = live.assign(age_days=(t - pd.to_datetime(live["opened_on"])).dt.days)
    live = live.loc[live["age_days"] >= follow_up_days].sort_values(
        ["age_days", "dispute_id"], ascending=[False, True], kind="stable"
    )
    out = []
    for d in live.itertuples(index=False):
        amount = money_text(int(d.amount), currency.get(str(d.customer_id)))
        text = f"dispute {d.dispute_id} ({d.reason_code}) over {amount} open {int(d.age_days)} days"
        out.append(Reason((str(d.company_code), str(d.customer_id)), "resolve_dispute", text, "dispute"))
    return out


def _escalated_dispute_reasons(status: pd.DataFrame, t: pd.Timestamp, currency: dict[str, str]) -> list[Reason]:
    """An escalated dispute (tier 1 or more reached, still open): the text names the tier and
    how long the target date has been breached."""
    live = status.loc[status["escalation_level"] > 0].sort_values(
        ["age_days", "dispute_id"], ascending=[False, True], kind="stable"
    )
    out = []
    for d in live.itertuples(index=False):
        amount = money_text(int(d.amount), currency.get(str(d.customer_id)))
        late = (t - pd.Timestamp(d.target_date)).days
        text = (
            f"dispute {d.dispute_id} ({d.reason_code}) over {amount} open {int(d.age_days)} days, "
            f"escalation tier {int(d.escalation_level)}: target {pd.Timestamp(d.target_date):%Y-%m-%d} "
            f"breached by {late} days"
        )
        out.append(Reason((str(d.company_code), str(d.customer_id)), "resolve_dispute", text, "dispute"))
    return out


def skipped_reasons(skipped: pd.DataFrame | None, manual_skip_reasons: Sequence[str]) -> list[Reason]:
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
        text = f"no reminder goes out for {sum(n for _, n in counted)} overdue item(s): {counts}"
        out.append(Reason(key, "call", text, "not_reminded"))
    return out


def unapplied_by_customer(unapplied: pd.DataFrame | None) -> tuple[pd.Series, dict[tuple, list[str]]]:
    """Unapplied cash of identified customers per company code, customer and currency (cents),
    and the reasons it is unapplied."""
    keys = ["company_code", "customer_id", "currency"]
    if unapplied is None or unapplied.empty:
        return pd.Series(dtype="int64"), {}
    known = unapplied.loc[unapplied["customer_id"].notna(), keys].assign(
        amount=pd.to_numeric(unapplied["remaining_amount"]), why=unapplied["reason"].astype(str)
    )
    # sums and reason lists for every group at once, not a sub-frame per group
    amounts = known.groupby(keys, sort=True)["amount"].sum()
    pairs = known.drop_duplicates([*keys, "why"]).sort_values("why", kind="stable")
    whys: dict[tuple, list[str]] = defaultdict(list)
    for cc, cust, cur, why in zip(*(pairs[c].to_numpy(dtype=object) for c in [*keys, "why"])):
        whys[(cc, cust, cur)].append(why)
    return amounts, whys


def unapplied_reasons(
    unapplied: pd.DataFrame | None, overdue: dict[Key, int], to_base: ToBase, min_cents: int
) -> list[Reason]:
    """Unapplied cash of a customer with overdue items, at least the minimum per currency: a
    call to find out which items it pays."""
    amounts, whys = unapplied_by_customer(unapplied)
    out = []
    for (cc, cust, cur), amount in zip(amounts.index, amounts.tolist()):
        key = (str(cc), str(cust))
        amount = int(amount)
        if overdue.get(key, 0) > 0 and to_base(amount, str(cur), key) >= min_cents:
            why = "/".join(whys[(cc, cust, cur)])
            text = f"unapplied cash {money_text(amount, str(cur))} ({why}) to clarify against the overdue items"
            out.append(Reason(key, "call", text, "unapplied"))
    return out


def over_limit(balances: Balances, customers: pd.DataFrame | None, to_base: ToBase) -> dict[Key, tuple]:
    """Customers whose open balance (base) is above their credit limit: the limit as booked,
    its currency and the limit in base cents."""
    if customers is None or customers.empty or "credit_limit" not in customers:
        return {}
    out = {}
    limits = customers.loc[pd.to_numeric(customers["credit_limit"]).fillna(0) > 0]
    for c in limits.itertuples(index=False):
        key = (str(c.company_code), str(c.customer_id))
        if key in balances.total:
            limit = to_base(int(c.credit_limit), str(c.currency), key)
            if balances.total[key] > limit:
                out[key] = (int(c.credit_limit), str(c.currency), limit)
    return out


def escalation_reasons(
    balances: Balances, above_limit: dict[Key, tuple], esc: EscalationRules, to_base: ToBase
) -> list[Reason]:
    """Escalate large balances overdue for long, and open balances above the credit limit."""
    out = []
    overdue, oldest = balances.overdue, balances.oldest
    for key in list(overdue):
        if oldest.get(key, 0) >= esc.min_days_past_due and overdue[key] >= esc.min_overdue_cents:
            amount = to_base.text(overdue[key], balances.overdue_booked.get(key))
            out.append(Reason(key, "escalate", f"{amount} overdue, oldest {oldest[key]}+ days past due", "large_old"))
    if esc.over_credit_limit:
        for key, (booked, currency, limit) in above_limit.items():
            balance = to_base.text(balances.total[key], balances.total_booked.get(key))
            text = f"open balance {balance} above the credit limit of {to_base.text(limit, {currency: booked})}"
            out.append(Reason(key, "escalate", text, "over_limit"))
    return out


def write_off_reasons(balances: Balances, wo: WriteOffRules, to_base: ToBase) -> list[Reason]:
    """Small overdue balances that are old in full: candidates to write off rather than chase."""
    most, days = wo.max_cents, wo.min_days_past_due
    return [
        Reason(
            key,
            "write_off_candidate",
            f"only {to_base.text(late, balances.overdue_booked.get(key))} overdue, all of it {days}+ days past due",
            "write_off",
        )
        for key, late in balances.overdue.items()
        if 0 < late <= most and not balances.young_overdue.get(key, False)
    ]


#: documents of a refund proposal named in full before "and N more"
_REFUND_DOCUMENTS = 5


def refund_reasons(refunds: pd.DataFrame | None) -> list[Reason]:
    """Net credit balances proposed for refund (``receivables.refunds``): refund them, or offset
    them against what the customer will owe; the text names the amount and the documents."""
    if refunds is None or refunds.empty:
        return []
    out = []
    for p in refunds.sort_values(["company_code", "customer_id", "currency"], kind="stable").itertuples(index=False):
        docs = str(p.documents).split(";")
        shown = ", ".join(docs[:_REFUND_DOCUMENTS])
        if len(docs) > _REFUND_DOCUMENTS:
            shown += f" and {len(docs) - _REFUND_DOCUMENTS} more"
        amount = money_text(int(p.amount), str(p.currency))
        text = f"credit balance {amount} to refund or offset ({p.refund_id}: {shown})"
        if not isinstance(p.iban, str) or not p.iban:
            text += "; no usable IBAN"
        out.append(Reason((str(p.company_code), str(p.customer_id)), "refund_or_offset", text, "refund"))
    return out
