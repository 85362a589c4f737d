"""One account's collection case from one night to the next: the stage it is in tonight, the
next action and its due date, the SLA, and what happened (the case events).

The stage is decided from the previous night's case and tonight's facts, checking the stages
in this order, the first that applies wins (docs/casework.md, "Collection cases"):

1. HANDOVER: tonight's notice hands the account over, or it was handed over before and is
   neither paid (nothing overdue any more) nor returned (a plan agreed or a promise made
   after the handover).  Dunning is paused meanwhile.
2. DISPUTE: a dispute is open on the account.
3. CALLING, because something happened since the customer was last reached: a call-task
   notice, a reminder that could not be emailed, a plan or a promise broken.
4. PLAN: a payment plan is current.
5. PROMISE: a promise to pay is active.
6. CALLING, because a call task is still open (no contact has reached the customer since it
   was set) or a lasting condition (large and old, over the limit, items nobody reminds,
   unapplied cash) needs a call and the follow-up date after the last contact has come.
7. CLOSING: only a small, old balance is left to write off, or a net credit balance is
   old enough to refund or offset (receivables.refunds).
8. REMINDING: something is overdue and dunning (or an earlier stage) has dealt with it; the
   next action is the follow-up a contact set, if any.

An account whose overdue items are all approved write-offs closes its case as WRITTEN_OFF,
whatever stage it was in.  An account with none of these closes its case: PAID when cash was
applied to it tonight, else CLEARED (nothing is overdue any more: a credit note, a write-off in the ERP).  A case
whose account still owes stays open, at least in REMINDING, until that is settled.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from receivables.casework.config import CaseRules
from receivables.casework.facts import CALL_KINDS, CLOSING_KINDS, Facts
from receivables.worklist_reasons import Key, money_text

CASE_COLUMNS = [
    "case_id",
    "company_code",
    "customer_id",
    "stage",
    "owner",
    "opened_on",
    "stage_since",
    "action_since",
    "next_action",
    "next_action_due",
    "days_action_overdue",
    "sla_due",
    "sla_breached",
    "last_contact_on",
    "last_outcome",
    "overdue_amount",
    "closed_on",
    "close_reason",
    "detail",
]
EVENT_COLUMNS = ["case_id", "company_code", "customer_id", "event", "on_date", "from_stage", "to_stage", "detail"]


class Decision(NamedTuple):
    """Tonight's stage of an account, its next action, when that is due, and why (a named
    tuple: one is made per account and night)."""

    stage: str
    action: str | None
    due: date | None
    detail: str
    #: the day the action was first set (a call task keeps its day until it is done)
    action_since: date | None = None


def case_id(company_code: str, customer_id: str, opened_on: date) -> str:
    """A case's id: the same account opened on the same day gives the same id on a rerun."""
    return f"C-{company_code}-{customer_id}-{opened_on:%Y%m%d}"


def decide(key: Key, prev: dict | None, f: Facts, rules: CaseRules, dispute_follow_up_days: int) -> Decision | None:
    """Tonight's stage of the account (the order is the module docstring's), or None."""
    t = f.as_of
    overdue = f.balances.overdue.get(key, 0)
    kinds = f.kinds.get(key, [])
    touch, follow_up = f.touched(key, rules)
    reason = f.reason.get(key)
    if key in f.written_off:
        return None  # every overdue item is an approved write-off: the case closes (WRITTEN_OFF)
    if overdue > 0 and prev is not None and prev["stage"] == "HANDOVER":
        # returned from the agency: the customer agreed a plan or promised to pay since
        deals = [d for d in (f.plan_agreed.get(key), f.promise_made.get(key)) if d is not None]
        if not any(d > prev["stage_since"] for d in deals):
            return Decision(
                "HANDOVER",
                "handover",
                prev["stage_since"],
                f"handed over on {prev['stage_since']}; {money_text(overdue, f.currency)} overdue",
            )
    if overdue > 0 and "handover" in kinds:
        return Decision("HANDOVER", "handover", t, reason or f"handed over; {money_text(overdue, f.currency)} overdue")
    if key in f.dispute_since:
        since = f.dispute_since[key]
        return Decision(
            "DISPUTE",
            "resolve_dispute",
            since + timedelta(days=dispute_follow_up_days),
            reason or f"dispute open since {since}",
        )
    # a call task set before the customer was last reached is done: a new one starts today
    open_task = prev is not None and prev["next_action"] == "call" and (touch is None or touch <= prev["action_since"])
    events = f.event_since.get(key, {})
    if any(kind in kinds and (touch is None or since > touch) for kind, since in events.items()):
        return _call(prev if open_task else None, t, reason or "call the customer")
    if key in f.plan_due:
        due = f.plan_due[key]
        return Decision(
            "PLAN", "check_plan", due + timedelta(days=1), f"payment plan current; next instalment due {due}"
        )
    if key in f.promise_due:
        due = f.promise_due[key]
        return Decision("PROMISE", "check_promise", due + timedelta(days=1), f"promise to pay by {due}")
    wants_call = any(k in CALL_KINDS for k in kinds) and (follow_up is None or t >= follow_up)
    if (open_task and overdue > 0) or wants_call:
        return _call(
            prev if open_task else None, t, reason or f"call task open; {money_text(overdue, f.currency)} overdue"
        )
    if "write_off" in kinds:
        return Decision("CLOSING", "write_off_candidate", t, reason or "small and old: write off?")
    if "refund" in kinds:
        return Decision("CLOSING", CLOSING_KINDS["refund"], t, reason or "credit balance to refund or offset")
    if overdue > 0 and (key in f.dunned or prev is not None):
        # a follow-up that fell due before the case opened was an earlier case's business
        opened = prev["opened_on"] if prev is not None else t
        if follow_up is not None and touch is not None and follow_up > touch and follow_up >= opened:
            return Decision(
                "REMINDING", "follow_up", follow_up, f"follow up on {follow_up} after the contact on {touch}"
            )
        return Decision("REMINDING", "wait_for_reply", None, f"dunning runs; {money_text(overdue, f.currency)} overdue")
    return None


def _call(prev: dict | None, t: date, detail: str) -> Decision:
    """A call task: one already open keeps the day it was set (and so its overdue days)."""
    since = prev["action_since"] if prev is not None and prev["next_action"] == "call" else t
    return Decision("CALLING", "call", since, detail, action_since=since)


def close_reason(key: Key, f: Facts) -> str:
    # RESOLVED is for a case closed with money still overdue, which the stages above never do
    # today (REMINDING holds it); kept so a future stage rule cannot close a case unnamed
    if key in f.written_off:
        return "WRITTEN_OFF"
    if key in f.paid:
        return "PAID"
    return "CLEARED" if f.balances.overdue.get(key, 0) <= 0 else "RESOLVED"


def next_case(
    key: Key, prev: dict | None, f: Facts, rules: CaseRules, dispute_follow_up_days: int, since: date
) -> tuple[dict | None, list[dict]]:
    """The account's case tonight (None when it has none) and its events; ``since`` is the
    night of the previous cases, so contacts after it are tonight's news."""
    t = f.as_of
    decision = decide(key, prev, f, rules, dispute_follow_up_days)
    if decision is None and prev is None:
        return None, []
    if decision is None:
        reason = close_reason(key, f)
        row = prev | {"closed_on": t, "close_reason": reason, "next_action": None, "next_action_due": None}
        row |= {"days_action_overdue": 0, "sla_breached": False, "detail": f"closed: {reason.lower()}"}
        row |= _contact_columns(key, prev, f) | {"overdue_amount": f.balances.overdue.get(key, 0)}
        return row, _contacts(key, row, f, since) + [_event(row, "CLOSED", t, prev["stage"], None, reason)]
    if decision.action_since is None:
        keeps = prev is not None and prev["next_action"] == decision.action and prev["stage"] == decision.stage
        decision = decision._replace(action_since=prev["action_since"] if keeps else t)
    row = _row(key, prev, decision, f, rules)
    events = [] if prev is not None else [_event(row, "OPENED", t, None, row["stage"], decision.detail)]
    if prev is not None and prev["stage"] != row["stage"]:
        events.append(_event(row, "STAGE_CHANGED", t, prev["stage"], row["stage"], decision.detail))
    events += _contacts(key, row, f, since)
    was_breached = prev is not None and prev["stage"] == row["stage"] and bool(prev["sla_breached"])
    if row["sla_breached"] and not was_breached:
        events.append(
            _event(row, "SLA_BREACHED", t, None, row["stage"], f"{row['stage']} past its SLA of {row['sla_due']}")
        )
    return row, events


def _row(key: Key, prev: dict | None, d: Decision, f: Facts, rules: CaseRules) -> dict:
    t = f.as_of
    opened = prev["opened_on"] if prev is not None else t
    stage_since = prev["stage_since"] if prev is not None and prev["stage"] == d.stage else t
    sla = rules.sla_of(d.stage)
    sla_due = stage_since + timedelta(days=sla) if sla is not None else None
    owner = f.collector.get(key[1]) or (prev["owner"] if prev is not None else None)
    return {
        "case_id": prev["case_id"] if prev is not None else case_id(key[0], key[1], opened),
        "company_code": key[0],
        "customer_id": key[1],
        "stage": d.stage,
        "owner": owner,
        "opened_on": opened,
        "stage_since": stage_since,
        "action_since": d.action_since,
        "next_action": d.action,
        "next_action_due": d.due,
        "days_action_overdue": max((t - d.due).days, 0) if d.due is not None else 0,
        "sla_due": sla_due,
        "sla_breached": sla_due is not None and t > sla_due,
        "overdue_amount": f.balances.overdue.get(key, 0),
        "closed_on": None,
        "close_reason": None,
        "detail": d.detail,
    } | _contact_columns(key, prev, f)


def _contact_columns(key: Key, prev: dict | None, f: Facts) -> dict:
    """The last contact: from the log, or the previous night's case when the log the ERP sent
    no longer reaches back that far."""
    last = f.last_contact(key)
    on, outcome = (last.on, last.outcome) if last is not None else (None, None)
    if prev is not None and prev.get("last_contact_on") is not None and (on is None or prev["last_contact_on"] > on):
        on, outcome = prev["last_contact_on"], prev["last_outcome"]
    return {"last_contact_on": on, "last_outcome": outcome}


def _contacts(key: Key, row: dict, f: Facts, since: date) -> list[dict]:
    return [
        _event(row, "CONTACT_RECORDED", c.on, None, None, f"{c.channel} {c.outcome} ({c.activity_id})")
        for c in f.contacts.get(key, [])
        if since < c.on <= f.as_of
    ]


def _event(row: dict, event: str, on: date, from_stage: str | None, to_stage: str | None, detail: str) -> dict:
    return {
        "case_id": row["case_id"],
        "company_code": row["company_code"],
        "customer_id": row["customer_id"],
        "event": event,
        "on_date": on,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "detail": detail,
    }
