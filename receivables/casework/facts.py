"""What the night knows about each account (company code, customer) that a collection case
needs: balances, tonight's worklist signals, dunning, disputes, plans, promises, payments and
the contact log.  Gathered once per night into dictionaries keyed by account, so deciding a
case is a lookup, not a search through frames."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from receivables.casework.config import CaseRules
from receivables.kpis import open_disputes
from receivables.worklist_reasons import Balances, Key, collectors_of, frame_keys

#: worklist signal kinds that ask a collector to call; the first four are events of tonight or
#: of a known day (a call is due when they are newer than the last contact), the rest are
#: conditions that last (a call is due when the follow-up date after a contact has come)
EVENT_KINDS = ("dunning_call", "unreachable", "broken_plan", "broken_promise")
CONDITION_KINDS = ("not_reminded", "unapplied", "large_old", "over_limit")
CALL_KINDS = EVENT_KINDS + CONDITION_KINDS
#: worklist signal kinds that bring an account to CLOSING, each with the action it asks for: a
#: small old balance to write off, a net credit balance to refund or offset (receivables.refunds)
CLOSING_KINDS = {"write_off": "write_off_candidate", "refund": "refund_or_offset"}


@dataclass(frozen=True)
class Contact:
    """One row of the contact log."""

    on: date
    activity_id: str
    channel: str
    outcome: str
    next_contact_on: date | None
    collector: str | None


@dataclass
class Facts:
    """Tonight's facts per account; money in base-currency cents."""

    as_of: date
    balances: Balances
    #: the base currency the balances are in (None: amounts as booked, one currency)
    currency: str | None = None
    #: tonight's worklist signal kinds, in the order found, and their reason text
    kinds: dict[Key, list[str]] = field(default_factory=dict)
    reason: dict[Key, str] = field(default_factory=dict)
    #: accounts with an overdue item dunned at level 1 or more (before tonight or tonight)
    dunned: set[Key] = field(default_factory=set)
    #: the day the oldest dispute open on as_of was opened
    dispute_since: dict[Key, date] = field(default_factory=dict)
    #: the earliest next instalment of a current plan, and the latest day a plan was agreed
    plan_due: dict[Key, date] = field(default_factory=dict)
    plan_agreed: dict[Key, date] = field(default_factory=dict)
    #: the day each kind of call event arose (tonight's notices: as_of)
    event_since: dict[Key, dict[str, date]] = field(default_factory=lambda: defaultdict(dict))
    #: the promised date of the latest active promise, and the latest day a promise was made
    promise_due: dict[Key, date] = field(default_factory=dict)
    promise_made: dict[Key, date] = field(default_factory=dict)
    #: accounts cash application applied money to tonight
    paid: set[Key] = field(default_factory=set)
    #: the contact log per account, oldest first
    contacts: dict[Key, list[Contact]] = field(default_factory=lambda: defaultdict(list))
    #: each customer's collector in the customer master
    collector: dict[str, str | None] = field(default_factory=dict)
    #: accounts whose overdue items are all approved write-offs (docs/close.md): their case closes
    written_off: set[Key] = field(default_factory=set)

    def accounts(self) -> set[Key]:
        """Every account with something a case could be about tonight."""
        b = self.balances
        owing = {k for k, v in b.overdue.items() if v > 0}
        return owing | set(self.kinds) | set(self.dispute_since) | set(self.plan_due) | set(self.promise_due)

    def last_contact(self, key: Key) -> Contact | None:
        log = self.contacts.get(key)
        return log[-1] if log else None

    def last_reached(self, key: Key, rules: CaseRules) -> Contact | None:
        """The latest contact in which the customer was reached (``rules.contact_outcomes``)."""
        for c in reversed(self.contacts.get(key, [])):
            if c.outcome in rules.contact_outcomes:
                return c
        return None

    def touched(self, key: Key, rules: CaseRules) -> tuple[date | None, date | None]:
        """The last day someone dealt with the customer (a contact that reached it, a plan
        agreed, a promise made) and the day to follow up: the contact's next_contact_on, else
        that day plus ``follow_up_days``."""
        reached = self.last_reached(key, rules)
        days = [
            d for d in (reached.on if reached else None, self.plan_agreed.get(key), self.promise_made.get(key)) if d
        ]
        if not days:
            return None, None
        touch = max(days)
        if reached is not None and reached.on == touch and reached.next_contact_on is not None:
            return touch, reached.next_contact_on
        return touch, touch + timedelta(days=rules.follow_up_days)


def _day(value: object) -> date | None:
    if type(value) is date:
        return value
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def plain_days(values: pd.Series) -> list[date | None]:
    """Each value as a plain date (None where missing), whether the column holds dates,
    timestamps or text; a datetime column's at once."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return [None if m else d for d, m in zip(values.dt.date.tolist(), values.isna().tolist())]
    return [_day(v) for v in values.tolist()]


def _keys(frame: pd.DataFrame) -> list[Key]:
    return frame_keys(frame)


def records(frame: pd.DataFrame, replaced: Mapping[str, list] | None = None) -> list[dict]:
    """The rows as dicts of plain values, like ``to_dict("records")``, built column by column
    (a frame row per record is what makes that slow); ``replaced``: columns given as lists
    instead of the frame's (a name the frame lacks is added last)."""
    columns = {c: frame[c].tolist() for c in frame.columns} | dict(replaced or {})
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def add_signals(facts: Facts, signals: pd.DataFrame | None) -> None:
    """Tonight's worklist signals (``receivables.worklist.build_worklist``'s rows)."""
    if signals is None or signals.empty:
        return
    for key, kinds, reason in zip(_keys(signals), signals["kinds"].tolist(), signals["reason"].tolist()):
        facts.kinds[key] = [k for k in str(kinds).split(";") if k]
        facts.reason[key] = str(reason)
        for kind in ("dunning_call", "unreachable"):
            if kind in facts.kinds[key]:
                facts.event_since[key][kind] = facts.as_of


def add_dunning(
    facts: Facts, notices: pd.DataFrame | None, history: pd.DataFrame | None, open_items: pd.DataFrame
) -> None:
    """Accounts under dunning: a notice tonight, or an overdue item at a stored level."""
    if notices is not None and not notices.empty:
        facts.dunned.update(_keys(notices))
    if history is None or history.empty or open_items.empty:
        return
    t = pd.Timestamp(facts.as_of)
    late = open_items.loc[
        (open_items["open_amount"] > 0) & (pd.to_datetime(open_items["due_date"]) < t),
        ["company_code", "customer_id", "document_no"],
    ]
    levels = history.loc[history["level"] > 0, ["company_code", "document_no"]].astype(str)
    hit = late.assign(company_code=late["company_code"].astype(str), document_no=late["document_no"].astype(str))
    hit = hit.merge(levels, on=["company_code", "document_no"])
    facts.dunned.update(_keys(hit.drop_duplicates(["company_code", "customer_id"])))


def add_disputes(facts: Facts, disputes: pd.DataFrame | None) -> None:
    if disputes is None or disputes.empty:
        return
    live = open_disputes(disputes, facts.as_of)
    for key, day in zip(_keys(live), plain_days(live["opened_on"])):
        day = day or facts.as_of
        facts.dispute_since[key] = min(day, facts.dispute_since.get(key, day))


def add_plans(facts: Facts, plans: pd.DataFrame | None, events: pd.DataFrame | None) -> None:
    """Current plans' next instalment, and when plans were agreed and broken."""
    if plans is None or plans.empty:
        return
    account = dict(zip(plans["plan_id"].astype(str), _keys(plans)))
    for p in plans.itertuples(index=False):
        key = account[str(p.plan_id)]
        due = _day(p.next_due_date)
        if p.status == "CURRENT" and due is not None:
            facts.plan_due[key] = min(due, facts.plan_due.get(key, due))
    if events is None or events.empty:
        return
    broken = set(plans.loc[plans["status"] == "BROKEN", "plan_id"].astype(str))
    for e in events.itertuples(index=False):
        key, day = account.get(str(e.plan_id)), _day(e.on_date)
        if key is None or day is None or day > facts.as_of:
            continue
        if e.event == "PLAN_AGREED":
            facts.plan_agreed[key] = max(day, facts.plan_agreed.get(key, day))
        elif e.event == "PLAN_BROKEN" and str(e.plan_id) in broken:
            since = facts.event_since[key]
            since["broken_plan"] = max(day, since.get("broken_plan", day))


def add_promises(
    facts: Facts, book: pd.DataFrame | None, skipped: pd.DataFrame | None, broken: pd.DataFrame | None
) -> None:
    """Active promises (dunning paused items for them tonight), when promises were made, and
    since when the broken ones are broken (the day after the promised date)."""
    if book is not None and not book.empty:
        made = book.loc[pd.to_datetime(book["created_on"]) <= pd.Timestamp(facts.as_of)]
        for key, day in zip(_keys(made), plain_days(made["created_on"])):
            if day is not None:
                facts.promise_made[key] = max(day, facts.promise_made.get(key, day))
        paused = set() if skipped is None or skipped.empty else set(_keys(skipped.loc[skipped["reason"] == "PROMISE"]))
        for key, day in zip(_keys(made), plain_days(made["promised_date"])):
            if key in paused and day is not None:
                facts.promise_due[key] = max(day, facts.promise_due.get(key, day))
    if broken is not None and not broken.empty:
        for key, promised in zip(_keys(broken), plain_days(broken["promised_date"])):
            day = (promised or facts.as_of) + timedelta(days=1)
            since = facts.event_since[key]
            since["broken_promise"] = max(day, since.get("broken_promise", day))


def add_payments(facts: Facts, applications: pd.DataFrame | None) -> None:
    if applications is None or applications.empty:
        return
    applied = applications.loc[applications["status"] == "applied", ["company_code", "customer_id"]]
    facts.paid.update(_keys(applied.dropna(subset=["customer_id"]).drop_duplicates()))


def add_contacts(facts: Facts, activities: pd.DataFrame | None) -> None:
    """The contact log up to as_of, oldest first (by day, then activity id)."""
    if activities is None or activities.empty:
        return
    log = activities.assign(_on=pd.to_datetime(activities["occurred_on"]), _id=activities["activity_id"].astype(str))
    log = log.loc[log["_on"] <= pd.Timestamp(facts.as_of)].sort_values(["_on", "_id"], kind="stable")
    collectors = log["collector"] if "collector" in log else pd.Series(None, index=log.index)
    columns = [log[c].tolist() for c in ("_id", "channel", "outcome")]
    for key, on, aid, channel, outcome, nxt, who, nobody in zip(
        _keys(log),
        log["_on"].dt.date.tolist(),
        *columns,
        plain_days(log["next_contact_on"]),
        collectors.tolist(),
        collectors.isna().tolist(),
    ):
        facts.contacts[key].append(
            Contact(on, aid, str(channel), str(outcome).upper(), nxt, None if nobody else str(who))
        )


def add_writeoffs(facts: Facts, approvals: pd.DataFrame | None, open_items: pd.DataFrame) -> None:
    """Accounts with something overdue, every overdue item of which has a write-off approved on
    or before as_of (the ``writeoff_approvals`` extract)."""
    if approvals is None or approvals.empty or open_items.empty:
        return
    known = approvals.loc[pd.to_datetime(approvals["approved_on"]) <= pd.Timestamp(facts.as_of)]
    approved = set(zip(known["company_code"].astype(str), known["document_no"].astype(str)))
    due = pd.to_datetime(open_items["due_date"])
    late = open_items.loc[(open_items["open_amount"] > 0) & (due < pd.Timestamp(facts.as_of))]
    all_approved: dict[Key, bool] = {}
    for key, doc in zip(_keys(late), late["document_no"].astype(str).tolist()):
        all_approved[key] = all_approved.get(key, True) and (key[0], doc) in approved
    facts.written_off.update(k for k, ok in all_approved.items() if ok)


def add_collectors(facts: Facts, customers: pd.DataFrame | None) -> None:
    facts.collector.update(collectors_of(customers))
