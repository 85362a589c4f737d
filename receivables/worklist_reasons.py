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

from receivables.aging import overdue_cents, rates_on, to_base_cents
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

    def note(self, unconverted: dict[Key, set[str]]) -> None:
        """Remember the currencies another conversion at the same rates left out."""
        for key, currencies in unconverted.items():
            self.unconverted[key] |= currencies

    def many(self, cents: np.ndarray, currencies: list[str], keys: list[Key]) -> np.ndarray:
        """``self(cents[i], currencies[i], keys[i])`` for every i at once, as int64."""
        cents = np.asarray(cents, dtype=np.int64)
        if self.rates is None:
            return cents.copy()
        out = np.zeros(len(cents), dtype=np.int64)
        codes, uniques = pd.factorize(np.asarray(currencies, dtype=object))
        for i, currency in enumerate(uniques.tolist()):
            rows = np.flatnonzero(codes == i)
            if currency in self.rates:
                out[rows] = _scaled(cents[rows], self.rates[currency])
            else:
                for row in rows.tolist():
                    self.unconverted[keys[row]].add(currency)
        return out


#: products below this stay exact in int64 (with room to round) and in Decimal's 28 digits
_EXACT = 2**61


def _scaled(cents: np.ndarray, rate: Decimal) -> np.ndarray:
    """``to_base_cents`` of every amount: integer arithmetic where it is provably the same
    (no int64 overflow, no product beyond Decimal's precision), else Decimal one by one."""
    if len(cents) == 0:
        return cents
    try:
        num, den = rate.as_integer_ratio()
        digits = int("".join(map(str, rate.as_tuple().digits)))
    except (ValueError, OverflowError, TypeError):
        num = den = digits = _EXACT
    big = int(np.abs(cents).max())
    if big * max(num, digits) >= _EXACT or den >= _EXACT:
        return np.array([to_base_cents(c, rate) for c in cents.tolist()], dtype=np.int64)
    product = cents * num
    # half-up, away from zero, like ``round_half_up_cents``
    return np.sign(product) * ((2 * np.abs(product) + den) // (2 * den))


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
    #: the currencies without a rate left out of the amounts above, per customer
    unconverted: dict[Key, set[str]] = field(default_factory=dict)


def at_rates(fx_rates: pd.DataFrame | None, base_currency: str | None, t: pd.Timestamp) -> ToBase:
    """Conversion to ``base_currency`` at the latest rates on or before ``t`` (none without a
    base currency: amounts are added as they are)."""
    return ToBase(rates_on(fx_rates, base_currency, t) if base_currency else None, base_currency)


def balances(aging: pd.DataFrame | None, config: ReportingConfig, to_base: ToBase) -> Balances:
    """Each customer's overdue and open balance, its oldest overdue bucket, and whether part
    of what is overdue is too young to write off."""
    b = Balances(*(defaultdict(int) for _ in range(3)), defaultdict(bool), *(defaultdict(dict) for _ in range(2)))
    if aging is None or aging.empty:
        return b
    # what these rows leave out, kept apart from what ``to_base`` knew before
    own = ToBase(to_base.rates, to_base.base)
    late_buckets = [c.column for c in config.aging.buckets[1:]]
    starts = np.array([config.aging.lower_edge(c) for c in late_buckets])
    amounts = aging[late_buckets].to_numpy(dtype="int64")
    oldest_row = np.where(amounts > 0, starts, 0).max(axis=1)
    young_row = (amounts[:, starts < config.worklist.write_off.min_days_past_due] > 0).any(axis=1)
    late_row = overdue_cents(aging, config.aging).to_numpy(dtype="int64")
    total_row = aging["total"].to_numpy(dtype="int64")
    keys = frame_keys(aging)
    currencies = _texts(aging["currency"])
    # array sums per customer instead of a Python step per aging row and amount
    codes, accounts = _codes(aging, keys)
    b.overdue.update(zip(accounts, _sums(codes, len(accounts), own.many(late_row, currencies, keys))))
    b.total.update(zip(accounts, _sums(codes, len(accounts), own.many(total_row, currencies, keys))))
    b.unconverted = dict(own.unconverted)
    to_base.note(b.unconverted)
    oldest = np.zeros(len(accounts), dtype=oldest_row.dtype)
    np.maximum.at(oldest, codes, oldest_row)
    b.oldest.update(zip(accounts, (int(v) for v in oldest.tolist())))
    young = np.zeros(len(accounts), dtype=bool)
    np.logical_or.at(young, codes, young_row)
    b.young_overdue.update(zip(accounts, young.tolist()))
    late_list, total_list = late_row.tolist(), total_row.tolist()
    if len(accounts) == len(keys):  # a row per customer, the usual aging: nothing to add up
        b.overdue_booked.update(zip(keys, ({c: v} for c, v in zip(currencies, late_list))))
        b.total_booked.update(zip(keys, ({c: v} for c, v in zip(currencies, total_list))))
        return b
    b.overdue_booked.update((key, {}) for key in accounts)
    b.total_booked.update((key, {}) for key in accounts)
    for key, cur, late, tot in zip(keys, currencies, late_list, total_list, strict=True):
        booked = b.overdue_booked[key]
        booked[cur] = booked.get(cur, 0) + late
        booked = b.total_booked[key]
        booked[cur] = booked.get(cur, 0) + tot
    return b


def frame_keys(frame: pd.DataFrame) -> list[Key]:
    """Each row's (company code, customer) as text."""
    return list(zip(_texts(frame["company_code"]), _texts(frame["customer_id"])))


def _texts(column: pd.Series) -> list[str]:
    values = column.tolist()
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return values  # text already, no value to spell out
    return [str(v) for v in values]


def _codes(frame: pd.DataFrame, keys: list[Key]) -> tuple[np.ndarray, list[Key]]:
    """Each row's position among the distinct ``keys`` (the rows' keys, in the order first
    seen), and those keys."""
    columns = [frame["company_code"], frame["customer_id"]]
    if all(isinstance(c.dtype, pd.StringDtype) and not c.hasnans for c in columns):
        # text keys: pandas' grouping finds the same groups, without a Python step per row
        codes = frame.groupby(columns, sort=False).ngroup().to_numpy(dtype=np.int64)
        first = np.unique(codes, return_index=True)[1]
        return codes, [keys[i] for i in first.tolist()]
    index: dict[Key, int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
    return codes, list(index)


def _sums(codes: np.ndarray, n: int, values: np.ndarray) -> list[int]:
    if n == len(values):
        return values.tolist()  # a value per key (``codes`` count up from 0): nothing to add
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, codes, values)
    return out.tolist()


def collectors_of(customers: pd.DataFrame | None) -> dict[str, str | None]:
    """Each customer's collector from the customer master (None where it names nobody)."""
    if customers is None or customers.empty or "collector" not in customers:
        return {}
    names, missing = customers["collector"].tolist(), customers["collector"].isna().tolist()
    return {str(c): (None if m else str(v)) for c, v, m in zip(customers["customer_id"].tolist(), names, missing)}


def currencies_of(customers: pd.DataFrame | None) -> dict[str, str]:
    """Each customer's currency: the one of disputes and promises, which carry none."""
    if customers is None or customers.empty or "currency" not in customers:
        return {}
    return dict(zip(customers["customer_id"].astype(str).tolist(), customers["currency"].astype(str).tolist()))


def dunning_reasons(notices: pd.DataFrame | None) -> list[Reason]:
    """Dunning levels that hand a customer over to the agency or ask for a phone call."""
    if notices is None or notices.empty:
        return []
    out = []
    # only these two actions give a reason: the rest of the notices is not sorted or read
    asks = notices.loc[notices["action"].astype(str).isin(["handover", "call_task"])]
    ordered = asks.sort_values(["company_code", "customer_id", "currency", "level"], kind="stable")
    columns = _lists(ordered, "action", "level", "overdue_amount", "currency")
    for key, action, level, amount, currency in zip(frame_keys(ordered), *columns, strict=True):
        action = {"handover": "handover", "call_task": "call"}[str(action)]
        what = "handover" if action == "handover" else "call"
        text = f"dunning level {int(level)} {what} for {money_text(int(amount), str(currency))} overdue"
        kind = "handover" if action == "handover" else "dunning_call"
        out.append(Reason(key, action, text, kind))
    return out


def unreachable_reasons(notices: pd.DataFrame | None, customers: pd.DataFrame | None) -> list[Reason]:
    """Notices due as email to a customer without a usable address: the letter cannot be built,
    so a person must reach the customer and correct the master data."""
    if notices is None or notices.empty or customers is None or "email" not in customers.columns:
        return []
    emailed = notices[notices["action"].astype(str) == "email"]
    if emailed.empty:
        return []
    emails = dict(zip(customers["customer_id"].astype(str).tolist(), customers["email"].tolist(), strict=True))
    ordered = emailed.sort_values(["company_code", "customer_id", "currency"], kind="stable")
    # a customer's address is checked once, however many of its notices are due
    problems: dict[str, str | None] = {}
    out = []
    for key, level in zip(frame_keys(ordered), ordered["level"].tolist(), strict=True):
        customer = key[1]
        if customer not in problems:
            raw = emails.get(customer)
            problems[customer] = parse_recipients("" if raw is None or pd.isna(raw) else str(raw), customer)[1]
        problem = problems[customer]
        if problem:
            text = f"reminder level {int(level)} not sent: {problem.rstrip('.')}; call and correct the master data"
            out.append(Reason(key, "call", text, "unreachable"))
    return out


def broken_promise_reasons(broken_promises: pd.DataFrame | None, currency: dict[str, str]) -> list[Reason]:
    """Promises to pay that were broken, oldest promised date first: chase them."""
    if broken_promises is None or broken_promises.empty:
        return []
    out = []
    ordered = broken_promises.sort_values(["promised_date", "promise_id"], kind="stable")
    for key, promise, document, promised, on in zip(
        frame_keys(ordered), *_lists(ordered, "promise_id", "document_no", "promised_amount", "promised_date")
    ):
        what = f" on {document}" if pd.notna(document) else ""
        amount = money_text(int(promised), currency.get(key[1]))
        text = f"broken promise {promise}{what}: {amount} promised for {pd.Timestamp(on).date()}"
        out.append(Reason(key, "chase_broken_promise", text, "broken_promise"))
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
    for key, dispute, why, amount, age in zip(
        frame_keys(live), *_lists(live, "dispute_id", "reason_code", "amount", "age_days")
    ):
        text = f"dispute {dispute} ({why}) over {money_text(int(amount), currency.get(key[1]))} open {int(age)} days"
        out.append(Reason(key, "resolve_dispute", text, "dispute"))
    return out


def _escalated_dispute_reasons(status: pd.DataFrame, t: pd.Timestamp, currency: dict[str, str]) -> list[Reason]:
    """An escalated dispute (tier 1 or more reached, still open): the text names the tier and
    how long the target date has been breached."""
    live = status.loc[status["escalation_level"] > 0].sort_values(
        ["age_days", "dispute_id"], ascending=[False, True], kind="stable"
    )
    out = []
    columns = _lists(live, "dispute_id", "reason_code", "amount", "age_days", "escalation_level", "target_date")
    for key, dispute, why, amount, age, level, target in zip(frame_keys(live), *columns):
        target = pd.Timestamp(target)
        text = (
            f"dispute {dispute} ({why}) over {money_text(int(amount), currency.get(key[1]))} open {int(age)} days, "
            f"escalation tier {int(level)}: target {target:%Y-%m-%d} breached by {(t - target).days} days"
        )
        out.append(Reason(key, "resolve_dispute", text, "dispute"))
    return out


def index_items(series: pd.Series) -> zip:
    """``series.items()`` of a series with a multi-level index, as plain values level by level
    (walking the index itself builds each label from the frame's text, which is slow)."""
    index = series.index
    labels = zip(*(index.get_level_values(i).tolist() for i in range(index.nlevels)))
    return zip(labels, series.tolist())


def _lists(frame: pd.DataFrame, *columns: str) -> list[list]:
    """The columns' values as lists, to walk a frame's rows in step without a frame row each."""
    return [frame[c].tolist() for c in columns]


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
    for (cc, cust, r), n in index_items(per_reason):
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
    by_customer: tuple[pd.Series, dict[tuple, list[str]]], overdue: dict[Key, int], to_base: ToBase, min_cents: int
) -> list[Reason]:
    """Unapplied cash of a customer with overdue items, at least the minimum per currency
    (``by_customer``: ``unapplied_by_customer``'s): a call to find out which items it pays."""
    amounts, whys = by_customer
    out = []
    for (cc, cust, cur), amount in index_items(amounts):
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
    limits = customers.loc[pd.to_numeric(customers["credit_limit"]).fillna(0) > 0]
    every = frame_keys(limits)
    owing = [key in balances.total for key in every]
    limits = limits.loc[owing]
    keys = [key for key, owes in zip(every, owing, strict=True) if owes]
    booked = [int(v) for v in limits["credit_limit"].tolist()]
    currencies = [str(c) for c in limits["currency"].tolist()]
    in_base = to_base.many(np.array(booked, dtype=np.int64), currencies, keys).tolist()
    return {
        key: (amount, currency, limit)
        for key, amount, currency, limit in zip(keys, booked, currencies, in_base, strict=True)
        if balances.total[key] > limit
    }


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
