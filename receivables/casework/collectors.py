"""The collector view: per collector, the open cases and actions due tonight, the contacts
recorded lately, and how often their customers' promises were kept."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from receivables.kpis import promise_status
from receivables.worklist_reasons import collectors_of

UNASSIGNED = "(unassigned)"
COLLECTOR_COLUMNS = [
    "collector",
    "open_cases",
    "actions_due",
    "actions_overdue",
    "actions_done",
    "sla_breaches",
    "promises_kept_pct",
    "contacts_per_day",
]
#: contacts in this many days up to as_of count as actions done
DONE_WINDOW_DAYS = 7
#: contacts per business day over this many days up to as_of
CONTACT_WINDOW_DAYS = 30
#: promises that came due in this many days up to as_of are judged for the kept %
PROMISE_WINDOW_DAYS = 90


def collector_view(
    cases: pd.DataFrame,
    activities: pd.DataFrame | None,
    promises: pd.DataFrame | None,
    broken_promises: pd.DataFrame | None,
    open_items: pd.DataFrame,
    customers: pd.DataFrame | None,
    as_of: date,
    promise_grace_days: int,
) -> pd.DataFrame:
    """One row per collector: open cases, actions due (on or before as_of) and overdue (before
    it), actions done (contacts logged in the last 7 days), SLA breaches, promises kept % (the
    promises of the collector's customers that came due in the last 90 days, by amount kept),
    contacts per business day over the last 30 days."""
    owner_of = _owners(customers)
    live = cases.loc[cases["closed_on"].isna()]
    days = [None if m else d for d, m in zip(live["next_action_due"].tolist(), live["next_action_due"].isna().tolist())]
    due = pd.Series([d is not None and d <= as_of for d in days], index=live.index, dtype=bool)
    late = pd.Series([d is not None and d < as_of for d in days], index=live.index, dtype=bool)
    owner = live["owner"].fillna(UNASSIGNED).astype(str)
    per = pd.DataFrame({"collector": owner, "due": due.astype(int), "late": late.astype(int)})
    per["breached"] = live["sla_breached"].astype(int)
    table = per.groupby("collector").agg(
        open_cases=("due", "size"),
        actions_due=("due", "sum"),
        actions_overdue=("late", "sum"),
        sla_breaches=("breached", "sum"),
    )
    done, per_day = _contacts(activities, owner_of, as_of)
    kept = _kept_pct(promises, broken_promises, open_items, owner_of, as_of, promise_grace_days)
    names = sorted(set(table.index) | set(done) | set(per_day) | set(kept))
    rows = []
    for name in names:
        t = table.loc[name] if name in table.index else None
        rows.append(
            {
                "collector": name,
                "open_cases": int(t["open_cases"]) if t is not None else 0,
                "actions_due": int(t["actions_due"]) if t is not None else 0,
                "actions_overdue": int(t["actions_overdue"]) if t is not None else 0,
                "actions_done": done.get(name, 0),
                "sla_breaches": int(t["sla_breaches"]) if t is not None else 0,
                "promises_kept_pct": kept.get(name),
                "contacts_per_day": per_day.get(name, 0.0),
            }
        )
    return pd.DataFrame(rows, columns=COLLECTOR_COLUMNS)


def _owners(customers: pd.DataFrame | None) -> dict[str, str]:
    return {c: UNASSIGNED if who is None else who for c, who in collectors_of(customers).items()}


def _contacts(activities: pd.DataFrame | None, owner_of: dict[str, str], as_of: date) -> tuple[dict, dict]:
    """Contacts logged per collector in the last 7 days, and per business day over 30 days;
    a contact counts for the collector who logged it, else the customer's collector."""
    if activities is None or activities.empty:
        return {}, {}
    on = pd.to_datetime(activities["occurred_on"]).dt.date
    logged = activities["collector"] if "collector" in activities else pd.Series(None, index=activities.index)
    who = [
        owner_of.get(str(cust), UNASSIGNED) if m else str(c)
        for c, m, cust in zip(logged.tolist(), logged.isna().tolist(), activities["customer_id"].tolist())
    ]
    frame = pd.DataFrame({"collector": who, "on": on})
    recent = frame.loc[(frame["on"] > as_of - timedelta(days=DONE_WINDOW_DAYS)) & (frame["on"] <= as_of)]
    month = frame.loc[(frame["on"] > as_of - timedelta(days=CONTACT_WINDOW_DAYS)) & (frame["on"] <= as_of)]
    start = as_of - timedelta(days=CONTACT_WINDOW_DAYS - 1)
    business_days = max(int(np.busday_count(start, as_of + timedelta(days=1))), 1)
    done = {str(k): int(v) for k, v in recent.groupby("collector").size().items()}
    per_day = {str(k): round(int(v) / business_days, 1) for k, v in month.groupby("collector").size().items()}
    return done, per_day


def _kept_pct(
    promises: pd.DataFrame | None,
    broken: pd.DataFrame | None,
    open_items: pd.DataFrame,
    owner_of: dict[str, str],
    as_of: date,
    grace_days: int,
) -> dict[str, float]:
    """Per collector: of the promised amount that came due in the last 90 days and is judged,
    the share kept (promise outcomes as the KPIs judge them)."""
    if promises is None or promises.empty:
        return {}
    status = promise_status(promises, broken, open_items, as_of, grace_days)
    came_due = pd.to_datetime(promises["promised_date"]).dt.date
    window = (came_due > as_of - timedelta(days=PROMISE_WINDOW_DAYS)) & (came_due <= as_of) & (status != "open")
    judged = promises.loc[window].assign(status=status[window])
    if judged.empty:
        return {}
    judged = judged.assign(collector=[owner_of.get(str(c), UNASSIGNED) for c in judged["customer_id"]])
    judged = judged.assign(amount=judged["promised_amount"].astype("int64"))
    out = {}
    for name, group in judged.groupby("collector"):
        total = int(group["amount"].sum())
        kept = int(group.loc[group["status"] == "kept", "amount"].sum())
        out[str(name)] = round(100 * kept / total, 1) if total else None
    return {k: v for k, v in out.items() if v is not None}
