"""Payment plans: whether each plan agreed with a customer is current, completed or broken on
as_of, and what happened to it so far (SPEC "Collections casework between nights").

A plan covers documents of one company code and promises instalments: by each due date the
customer will have paid the cumulative amount of the instalments up to it.  An instalment is
**met** when the payments toward the plan dated on or after agreed_on reach that cumulative
amount by its due date plus the grace (``plan_grace_days`` of ``dunning.yaml``); it is
**missed** when the grace has run out before they do, and a missed instalment **breaks** the
plan for good (later money does not mend it: the collector agrees a new plan).  A plan whose
instalments are all met is **completed**; any other is **current**, and only a current plan
pauses the dunning of its documents.

What counts as paid toward the plan, per covered document, each payment on its own date:

* cash that tonight's cash application applied to it (status ``applied``), dated as_of: the
  run cannot tell from the bank line when the customer meant it, and the night is when the
  money reached the ledger;
* cash that earlier nights applied to it (the warehouse's ``cash_applications`` of the dates
  before as_of), dated the night it was applied: an invoice paid in instalments stays open
  and is in no ``cleared_items`` row until its last part;
* an earlier clearing of it (``cleared_items``, clearing_date), for the part of its amount
  that no applied cash above explains (money that reached it another way); never the same
  money twice.

Everything is derived from the extracts of as_of and the cash applied by the nights before
it, so a rerun of the date reproduces the statuses and the events.  A plan without an
accepted instalment promises nothing and pauses nothing; it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

#: a plan's state on as_of
PLAN_STATUSES = ("CURRENT", "COMPLETED", "BROKEN")
#: what can happen to a plan, in the order it happens
PLAN_EVENTS = ("PLAN_AGREED", "INSTALMENT_MET", "INSTALMENT_MISSED", "PLAN_COMPLETED", "PLAN_BROKEN")
#: one row per plan (money in cents; currency is the covered documents', for the KPIs)
STATUS_COLUMNS = [
    "plan_id",
    "company_code",
    "customer_id",
    "currency",
    "status",
    "covered_open_amount",
    "due_to_date",
    "paid_to_date",
    "next_due_date",
    "next_amount",
    "missed_seq",
    "missed_due_date",
    "amount_at_risk",
]
EVENT_COLUMNS = ["plan_id", "event", "seq", "amount", "on_date"]
#: one row per plan and covered document
COVERED_COLUMNS = ["plan_id", "company_code", "document_no", "status"]


@dataclass(frozen=True)
class PlanStatus:
    """Every plan's state on as_of, its history of events, and the documents it covers."""

    plans: pd.DataFrame
    events: pd.DataFrame
    covered: pd.DataFrame

    def paused_items(self) -> pd.DataFrame:
        """The documents (company_code, document_no) that a current plan keeps from dunning."""
        current = self.covered[self.covered["status"] == "CURRENT"]
        return current[["company_code", "document_no"]].reset_index(drop=True)

    @property
    def counts(self) -> dict[str, int]:
        return {s.lower(): int((self.plans["status"] == s).sum()) for s in PLAN_STATUSES}


def no_plans() -> PlanStatus:
    """The status of a night without payment plans."""
    return PlanStatus(
        plans=pd.DataFrame(columns=STATUS_COLUMNS),
        events=pd.DataFrame(columns=EVENT_COLUMNS),
        covered=pd.DataFrame(columns=COVERED_COLUMNS),
    )


def covered_documents(document_nos: object) -> list[str]:
    """``"INV1; INV2;"`` -> ``["INV1", "INV2"]``: the documents a plan names, each once."""
    if document_nos is None or pd.isna(document_nos):
        return []
    return list(dict.fromkeys(d.strip() for d in str(document_nos).split(";") if d.strip()))


def plan_status(
    plans: pd.DataFrame | None,
    instalments: pd.DataFrame | None,
    applications: pd.DataFrame | None,
    cleared_items: pd.DataFrame | None,
    open_items: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    grace_days: int,
    earlier_applications: pd.DataFrame | None = None,
) -> PlanStatus:
    """Each plan agreed by as_of judged against its instalments (see the module docstring).

    ``applications`` are tonight's cash applications, ``open_items`` the open items after them
    (cents); ``grace_days`` is how long after its due date an instalment may still be met;
    ``earlier_applications`` (company_code, document_no, applied_amount in cents, as_of) the
    cash applied to the covered documents by the nights before as_of."""
    if plans is None or plans.empty or instalments is None or instalments.empty:
        return no_plans()
    day = pd.Timestamp(as_of).normalize()
    agreed = plans[pd.to_datetime(plans["agreed_on"]) <= day]
    # a plan reads only its own documents: narrow the night's million rows to those first
    keys = {
        _key(str(p.company_code), d) for p in agreed.itertuples(index=False) for d in covered_documents(p.document_nos)
    }
    applications, earlier_applications, cleared_items, open_items = (
        _of_documents(f, keys) for f in (applications, earlier_applications, cleared_items, open_items)
    )
    payments = _PaymentBook(_payments(applications, earlier_applications, cleared_items, day))
    open_by_doc = _open_by_document(open_items)
    by_plan = _schedules(instalments)
    rows, events, covered = [], [], []
    for plan in agreed.sort_values("plan_id").itertuples(index=False):
        schedule = by_plan.get(str(plan.plan_id))
        if schedule is None:
            continue
        docs = covered_documents(plan.document_nos)
        row, plan_events = _judge(plan, docs, schedule, payments, open_by_doc, day, grace_days)
        rows.append(row)
        events += plan_events
        covered += [(row["plan_id"], row["company_code"], d, row["status"]) for d in docs]
    return PlanStatus(
        plans=pd.DataFrame(rows, columns=STATUS_COLUMNS).astype(_STATUS_DTYPES),
        events=pd.DataFrame(events, columns=EVENT_COLUMNS).astype({"seq": "Int64", "amount": "Int64"}),
        covered=pd.DataFrame(covered, columns=COVERED_COLUMNS),
    )


#: cents and sequence numbers as whole numbers, blank where a plan has none
_STATUS_DTYPES = {
    "covered_open_amount": "int64",
    "due_to_date": "int64",
    "paid_to_date": "int64",
    "next_amount": "Int64",
    "missed_seq": "Int64",
    "amount_at_risk": "int64",
}


def _payments(
    applications: pd.DataFrame | None,
    earlier: pd.DataFrame | None,
    cleared_items: pd.DataFrame | None,
    day: pd.Timestamp,
) -> pd.DataFrame:
    """Money toward covered documents, one row per payment: company_code, document_no,
    amount (cents), on_date; applied cash on the night it was applied, and of a clearing only
    what the applied cash does not explain."""
    # the same payment applied again on a later night (the ERP had not posted it yet) is the
    # same money: it counts once, on the night it was first applied
    found = [p for p in (_applied(earlier, None), _applied(applications, day)) if not p.empty]
    applied = pd.concat(found or [_EMPTY_PAYMENTS], ignore_index=True)
    applied = applied.drop_duplicates(["payment_id", "company_code", "document_no"], keep="first")
    parts = [applied.drop(columns="payment_id")]
    if cleared_items is not None and not cleared_items.empty:
        cleared = cleared_items[pd.to_datetime(cleared_items["clearing_date"]) <= day]
        known = applied.groupby(["company_code", "document_no"])["amount"].sum().to_dict()
        rest = [
            int(a) - known.get((str(c), str(d)), 0)
            for c, d, a in zip(cleared["company_code"], cleared["document_no"], cleared["amount"], strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "company_code": cleared["company_code"].astype(str).to_numpy(),
                    "document_no": cleared["document_no"].astype(str).to_numpy(),
                    "amount": np.asarray(rest, dtype=np.int64),
                    "on_date": pd.to_datetime(cleared["clearing_date"]).to_numpy(),
                }
            ).query("amount > 0")
        )
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _EMPTY_PAYMENTS.drop(columns="payment_id")


_EMPTY_PAYMENTS = pd.DataFrame({"payment_id": [], "company_code": [], "document_no": [], "amount": [], "on_date": []})


def _applied(applications: pd.DataFrame | None, day: pd.Timestamp | None) -> pd.DataFrame:
    """Applied cash as payments toward documents: on ``day`` (tonight's), else on the ``as_of``
    of the night that applied it."""
    if applications is None or applications.empty:
        return _EMPTY_PAYMENTS
    if "status" in applications.columns:
        applications = applications[applications["status"].astype(str) == "applied"]
    return pd.DataFrame(
        {
            "payment_id": applications["payment_id"].astype(str).to_numpy(),
            "company_code": applications["company_code"].astype(str).to_numpy(),
            "document_no": applications["document_no"].astype(str).to_numpy(),
            "amount": pd.to_numeric(applications["applied_amount"]).astype("int64").to_numpy(),
            "on_date": day if day is not None else pd.to_datetime(applications["as_of"]).to_numpy(),
        }
    )


def _key(company_code: str, document_no: str) -> str:
    return f"{company_code}\x1f{document_no}"


def _of_documents(frame: pd.DataFrame | None, keys: set[str]) -> pd.DataFrame | None:
    """The rows of ``frame`` whose (company_code, document_no) is in ``keys``."""
    if frame is None or frame.empty:
        return frame
    joined = frame["company_code"].astype(str) + "\x1f" + frame["document_no"].astype(str)
    return frame[joined.isin(keys).to_numpy(dtype=bool)]


def _open_by_document(open_items: pd.DataFrame) -> dict[tuple[str, str], tuple[int, str]]:
    """(company_code, document_no) -> (open amount in cents, currency) after tonight's cash."""
    amounts = pd.to_numeric(open_items["open_amount"]).fillna(0).astype("int64")
    return {
        (str(c), str(d)): (int(a), str(cur))
        for c, d, a, cur in zip(open_items["company_code"], open_items["document_no"], amounts, open_items["currency"])
    }


class _PaymentBook:
    """The payments toward covered documents, looked up per plan by its documents instead of
    filtering every payment once per plan (hundreds of plans on a large ledger)."""

    def __init__(self, payments: pd.DataFrame) -> None:
        self._dates = pd.to_datetime(payments["on_date"]).to_numpy(dtype="datetime64[ns]")
        self._amounts = payments["amount"].to_numpy(dtype=np.int64)
        keys = zip(payments["company_code"].astype(str), payments["document_no"].astype(str), strict=True)
        self._rows: dict[tuple[str, str], list[int]] = {}
        for i, key in enumerate(keys):
            self._rows.setdefault(key, []).append(i)

    def toward(self, company: str, docs: list[str], since: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """The dates and amounts of the payments toward ``docs`` on or after ``since``, by
        date (payments of one date in the book's order)."""
        rows = np.array(sorted(i for d in docs for i in self._rows.get((company, d), ())), dtype=np.int64)
        rows = rows[self._dates[rows] >= np.datetime64(since)]
        rows = rows[np.argsort(self._dates[rows], kind="stable")]
        return self._dates[rows], self._amounts[rows]


#: one plan's instalments in ``seq`` order: sequence numbers, amounts (cents), due days
Schedule = tuple[np.ndarray, np.ndarray, np.ndarray]


def _schedules(instalments: pd.DataFrame) -> dict[str, Schedule]:
    """Every plan's instalments by plan id, typed once for all plans rather than plan by plan
    (hundreds of plans on a large ledger)."""
    plan = instalments["plan_id"].astype(str)
    seq = instalments["seq"].astype("int64").to_numpy()
    amount = pd.to_numeric(instalments["amount"]).astype("int64").to_numpy()
    due = pd.to_datetime(instalments["due_date"]).dt.normalize().to_numpy()
    code, names = pd.factorize(plan)
    # a blank plan id names no plan (as grouping by it leaves it out); (plan, seq) is the
    # extract's key, so the order within a plan is the seq's alone
    named = np.flatnonzero(code >= 0)
    order = named[np.lexsort((seq[named], code[named]))]
    cuts = np.flatnonzero(np.diff(code[order])) + 1
    return {
        str(names[code[rows[0]]]): (seq[rows], amount[rows], due[rows]) for rows in np.split(order, cuts) if len(rows)
    }


def _judge(
    plan: tuple,
    docs: list[str],
    schedule: Schedule,
    payments: _PaymentBook,
    open_by_doc: dict,
    day: pd.Timestamp,
    grace_days: int,
) -> tuple[dict, list[tuple]]:
    """One plan's status row and its events up to as_of."""
    company, agreed_on = str(plan.company_code), pd.Timestamp(plan.agreed_on).normalize()
    dates, paid_amounts = payments.toward(company, docs, agreed_on)
    running = np.cumsum(paid_amounts)
    seqs, amounts, due = schedule
    cumulative = np.cumsum(amounts)
    events = [(plan.plan_id, "PLAN_AGREED", None, int(cumulative[-1]), agreed_on.date())]
    met, pending, missed = _walk(dates, running, due, cumulative, day, grace_days)
    events += [(plan.plan_id, "INSTALMENT_MET", int(seqs[i]), int(amounts[i]), on) for i, on in met]
    status = "BROKEN" if missed is not None else "CURRENT"
    if missed is not None:
        broke_on = _day(due[missed] + np.timedelta64(grace_days + 1, "D"))
        events.append((plan.plan_id, "INSTALMENT_MISSED", int(seqs[missed]), int(amounts[missed]), broke_on))
    open_amount, currency = _covered_open(company, docs, open_by_doc)
    if status == "CURRENT" and pending is None:
        status = "COMPLETED"
        events.append((plan.plan_id, "PLAN_COMPLETED", None, int(cumulative[-1]), events[-1][4]))
    if status == "BROKEN":
        events.append((plan.plan_id, "PLAN_BROKEN", int(seqs[missed]), open_amount, events[-1][4]))
    paid = int(running[-1]) if running.size else 0
    row = {
        "plan_id": plan.plan_id,
        "company_code": company,
        "customer_id": plan.customer_id,
        "currency": currency,
        "status": status,
        "covered_open_amount": open_amount,
        "due_to_date": int(amounts[due <= np.datetime64(day)].sum()),
        "paid_to_date": paid,
        "next_due_date": _day(due[pending]) if pending is not None else None,
        "next_amount": max(int(cumulative[pending]) - paid, 0) if pending is not None else None,
        "missed_seq": int(seqs[missed]) if missed is not None else None,
        "missed_due_date": _day(due[missed]) if missed is not None else None,
        "amount_at_risk": open_amount if status == "BROKEN" else 0,
    }
    return row, events


def _walk(
    dates: np.ndarray, running: np.ndarray, due: np.ndarray, cumulative: np.ndarray, day: pd.Timestamp, grace_days: int
) -> tuple[list[tuple[int, date]], int | None, int | None]:
    """The instalments in order until the first that is not met: those met (index, the day
    the payments reached its cumulative amount), then the pending one or the missed one."""
    met = []
    for i in range(len(due)):
        deadline = due[i] + np.timedelta64(grace_days, "D")
        reached = np.flatnonzero((running >= cumulative[i]) & (dates <= min(deadline, np.datetime64(day))))
        if reached.size:
            met.append((i, _day(dates[reached[0]])))
        elif deadline < np.datetime64(day):
            return met, None, i
        else:
            return met, i, None
    return met, None, None


def _covered_open(company: str, docs: list[str], open_by_doc: dict) -> tuple[int, str | None]:
    """What the covered documents still have open after tonight's cash, and their currency."""
    found = [open_by_doc[(company, d)] for d in docs if (company, d) in open_by_doc]
    return sum(a for a, _ in found), (found[0][1] if found else None)


def _day(value: object) -> date:
    return pd.Timestamp(value).date()
