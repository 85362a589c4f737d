"""The disputes' lifecycle on one night: each dispute's age, target date, breach and the
escalation tier it has reached (``dispute_status``), and the escalations due tonight.

Rules (``disputes.yaml``, ``receivables.dispute_rules``):

* A dispute's **target date** is ``opened_on + target_days`` of its reason code (a code the
  file does not know counts as OTHER): the last day it should be resolved on.  Resolved on or
  before it, the dispute was **resolved within target**; still open on a later night, or
  resolved later, it **breached** its target.
* **Escalation tier k** is due on the nights a dispute is still open and ``as_of >= target
  date + 1 + days_after_target`` of tier k: tier 1 with 0 days the first night after the
  target date (the night the breach is noticed), tier 2 with 7 days a week later.  The
  ``escalation_level`` is the highest tier reached (0 = none).  A resolved dispute escalates
  no further.
* A dispute is open on as_of when its status is OPEN and it was opened by then, or when it
  was resolved only after as_of (a rerun for an earlier date sees it as it was then), as in
  dunning and the KPIs.
* ``dispute_status`` lists every dispute of the extract opened on or before as_of: the
  extract is the ERP's dispute register, so the table is its state that night.  ``age_days``
  is as_of - opened_on while open and resolved_on - opened_on once resolved
  (``days_to_resolve``); a dispute RESOLVED without a date is closed with unknown duration.

Pure: the disputes frame and the rules come in as arguments (money in integer cents).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from receivables.dispute_rules import DisputeRules

STATUS_COLUMNS = [
    "dispute_id",
    "company_code",
    "customer_id",
    "document_no",
    "reason_code",
    "owner",
    "amount",
    "opened_on",
    "age_days",
    "target_date",
    "breached",
    "escalation_level",
    "resolved_on",
    "days_to_resolve",
]

_TYPES = {
    "amount": "int64",
    "age_days": "int64",
    "escalation_level": "int64",
    "breached": "bool",
    "days_to_resolve": "Int64",
}


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA)


def dispute_status(
    disputes: pd.DataFrame | None, as_of: date | str | pd.Timestamp, rules: DisputeRules
) -> pd.DataFrame:
    """Every dispute opened by as_of with its age, target date, breach and escalation tier."""
    t = pd.Timestamp(as_of).normalize()
    if disputes is None or disputes.empty:
        return _empty()
    d = disputes[pd.to_datetime(disputes["opened_on"]).dt.normalize() <= t]
    if d.empty:
        return _empty()
    opened = pd.to_datetime(d["opened_on"]).dt.normalize()
    resolved_at = (
        pd.to_datetime(d["resolved_on"]).dt.normalize() if "resolved_on" in d else pd.Series(pd.NaT, index=d.index)
    )
    status = d["status"].astype("string").str.strip().str.upper()
    is_open = (status == "OPEN").fillna(False) | (resolved_at > t).fillna(False)
    resolved = resolved_at.where(~is_open & (resolved_at <= t))
    reason = _text(d["reason_code"]).str.upper().fillna("OTHER")
    target = opened + pd.to_timedelta([rules.target_for(r) for r in reason], unit="D")
    days_to_resolve = (resolved - opened).dt.days.astype("Int64")
    age = np.where(is_open | resolved.isna(), (t - opened).dt.days, days_to_resolve.fillna(0))
    breached = (is_open & (t > target)) | (resolved > target).fillna(False)
    level = np.zeros(len(d), dtype=np.int64)
    for tier in rules.escalation:
        due = target + pd.Timedelta(days=1 + tier.days_after_target)
        level = np.where(is_open & (t >= due), tier.tier, level)
    out = pd.DataFrame(
        {
            "dispute_id": _text(d["dispute_id"]),
            "company_code": _text(d["company_code"]),
            "customer_id": _text(d["customer_id"]),
            "document_no": _text(d["document_no"]),
            "reason_code": reason,
            "owner": _text(d["owner"]) if "owner" in d else pd.Series(pd.NA, index=d.index, dtype="string"),
            "amount": pd.to_numeric(d["amount"]).fillna(0).astype("int64"),
            "opened_on": opened,
            "age_days": age,
            "target_date": target,
            "breached": breached.to_numpy(dtype=bool),
            "escalation_level": level,
            "resolved_on": resolved,
            "days_to_resolve": days_to_resolve,
        }
    )
    out = out.astype(_TYPES).sort_values(["company_code", "dispute_id"], kind="stable")
    return out.reset_index(drop=True)[STATUS_COLUMNS]


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="string") for c in STATUS_COLUMNS})
    for c in ("opened_on", "target_date", "resolved_on"):
        out[c] = pd.Series(dtype="datetime64[ns]")
    return out.astype(_TYPES)


#: one row per (dispute, tier) reached and still open tonight: the internal emails due
ESCALATION_COLUMNS = [*STATUS_COLUMNS, "tier", "escalated_on", "to", "address"]


def escalations_due(status: pd.DataFrame, rules: DisputeRules) -> pd.DataFrame:
    """For every open dispute, each escalation tier it has reached, with the date the tier
    fell due and the address it goes to.  Every night repeats the tiers already reached: the
    outbox key is per (dispute, tier), so each is queued once (a night missed is caught up
    the next night, and a first run sends every tier already reached)."""
    rows = []
    for r in status[status["escalation_level"] > 0].to_dict("records"):
        for tier in rules.escalation[: int(r["escalation_level"])]:
            rows.append(
                {
                    **r,
                    "tier": tier.tier,
                    "escalated_on": r["target_date"] + pd.Timedelta(days=1 + tier.days_after_target),
                    "to": tier.to,
                    "address": rules.address_for(tier, None if pd.isna(r["owner"]) else str(r["owner"])),
                }
            )
    return pd.DataFrame(rows, columns=ESCALATION_COLUMNS)
