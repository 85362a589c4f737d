"""The collector worklist from the cases: every open case whose next action is due today or
overdue, one row per account, worked from the top.

    priority = the account's score from tonight's reasons (``receivables.worklist``), or for a
               case with none tonight the same formula with its action's points
             + per_day_overdue x days the action is overdue (at most max_days_overdue)
             + sla_breach when the case is past its stage's SLA

so a task left lying climbs the list, and a breached SLA goes near the top.  Ties: customer
id, then company code.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from receivables.casework.facts import Facts, records
from receivables.reporting_config import ReportingConfig
from receivables.worklist import REASON_COLUMNS, WORKLIST_COLUMNS, priority_score
from receivables.worklist_reasons import frame_keys

#: the case columns the worklist adds to the reasons' columns
CASE_WORKLIST_COLUMNS = {
    "case_id": object,
    "stage": object,
    "next_action_due": object,
    "days_overdue": "int64",
    "last_contact_on": object,
    "last_outcome": object,
    "sla_breached": bool,
}
#: the worklist trigger points a case's action scores when tonight gives no reason
_POINTS_OF = {
    "handover": "handover",
    "resolve_dispute": "resolve_dispute",
    "write_off_candidate": "write_off_candidate",
    "refund_or_offset": "refund_or_offset",
}
_STAGE_SUMMARY = {
    "HANDOVER": "Handed over: follow the agency",
    "CALLING": "Call task open",
    "DISPUTE": "Dispute to resolve",
    "PLAN": "Payment plan to check",
    "PROMISE": "Promise to check",
    "CLOSING": "Close the account",
    "REMINDING": "Follow up",
}


def worklist_from_cases(
    cases: pd.DataFrame, signals: pd.DataFrame, facts: Facts, as_of: date, config: ReportingConfig
) -> pd.DataFrame:
    """The worklist: the open cases with a due action, each with tonight's reasons when it has
    any (``signals``: ``build_worklist``'s rows), ordered by priority (module docstring)."""
    due = cases.loc[cases["closed_on"].isna() & cases["next_action_due"].notna()]
    due = due.loc[[d <= as_of for d in due["next_action_due"].tolist()]]
    # a signal's record is built only for an account with a due case
    at = {key: i for i, key in enumerate(frame_keys(signals))}
    columns = {c: signals[c].tolist() for c in signals.columns}
    rows = []
    for case in records(due):
        i = at.get((case["company_code"], case["customer_id"]))
        signal = None if i is None else {c: values[i] for c, values in columns.items()}
        rows.append(_row(case, signal, facts, config))
    return _ranked(rows)


def _row(case: dict, signal: dict | None, facts: Facts, config: ReportingConfig) -> dict:
    key = (case["company_code"], case["customer_id"])
    p = config.cases.priority
    if signal is not None:
        base = dict(signal)
    else:
        points = {_POINTS_OF.get(case["next_action"], "call")}
        overdue, oldest = facts.balances.overdue.get(key, 0), facts.balances.oldest.get(key, 0)
        base = {
            "collector": case["owner"],
            "priority": priority_score(overdue, oldest, points, config),
            "overdue_amount": overdue,
            "reason": case["detail"],
            "summary": _STAGE_SUMMARY.get(case["stage"], case["stage"].title()),
            **_empty_values(),
        }
    score = base["priority"] + p.per_day_overdue * min(case["days_action_overdue"], p.max_days_overdue)
    score += p.sla_breach if case["sla_breached"] else 0
    return base | {
        "company_code": case["company_code"],
        "customer_id": case["customer_id"],
        "collector": case["owner"] if case["owner"] is not None else base.get("collector"),
        "priority": round(score, 2),
        "next_action": case["next_action"],
        "case_id": case["case_id"],
        "stage": case["stage"],
        "next_action_due": case["next_action_due"],
        "days_overdue": case["days_action_overdue"],
        "last_contact_on": case["last_contact_on"],
        "last_outcome": case["last_outcome"],
        "sla_breached": bool(case["sla_breached"]),
    }


def _empty_values() -> dict:
    return {
        "currencies": None,
        "overdue_native": pd.NA,
        "oldest_bucket": None,
        "disputed_amount": 0,
        "over_limit_amount": 0,
        "unapplied_amount": 0,
        "broken_promise_amount": 0,
        "kinds": "",
    }


def _ranked(rows: list[dict]) -> pd.DataFrame:
    columns = [*WORKLIST_COLUMNS, *REASON_COLUMNS, *CASE_WORKLIST_COLUMNS]
    types = {"overdue_amount": "int64", "priority": "float64", **REASON_COLUMNS, **CASE_WORKLIST_COLUMNS}
    if not rows:
        frame = pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in columns})
        return frame.astype({"rank": "int64"})
    out = pd.DataFrame(rows).sort_values(
        ["priority", "customer_id", "company_code"], ascending=[False, True, True], kind="stable"
    )
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    return out.astype(types).reset_index(drop=True)[columns]
