"""Promises to pay: the items an active promise pauses today, and the promises found broken.

A promise reaches the run from either source: a row of the ``promises`` extract, or a
``PROMISE`` outcome in the collectors' contact log (the ``activities`` extract).  Both go
through one lifecycle (``promise_book`` turns them into one set of promise rows), so an
active promise pauses dunning and a broken one is recorded the same way whichever recorded
it.  A logged promise names no document, so it is a whole-account promise (see ``_covered``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from receivables.dunning.columns import _ITEM, Columns, _dates, _isin, _key, _take, _text
from receivables.dunning.policies import DunningPolicies
from receivables.dunning.proposal import BROKEN_PROMISE_COLUMNS
from receivables.money import cents_array
from receivables.schemas import PROMISES

#: a promise from the contact log is named after its activity: recognisable in
#: ``broken_promises``, and it cannot collide with an ERP promise id by accident
ACTIVITY_PROMISE_PREFIX = "ACT-"
#: the dtypes of a read promises extract (money in cents), for an empty set of logged promises
_DTYPES = {"money": "Int64", "date": "datetime64[ns]"}


def promises_from_activities(activities: pd.DataFrame | None) -> pd.DataFrame:
    """The contact log's ``PROMISE`` outcomes as rows of the promises extract.

    promise_id is ``ACT-`` + activity_id; the promise was made on the day of the contact
    (created_on = occurred_on) for the amount and date the customer named; document_no is
    blank, because a call is about the account, not one invoice.  Rows without an amount or a
    date cannot be judged and are left out (validation quarantines them before a run)."""
    if activities is None or activities.empty:
        return pd.DataFrame({c.name: pd.Series(dtype=_DTYPES.get(c.kind, "string")) for c in PROMISES.columns})
    outcome = activities["outcome"].astype("string").str.strip().str.upper()
    rows = activities[
        (outcome == "PROMISE").fillna(False).to_numpy(dtype=bool)
        & activities["promised_amount"].notna().to_numpy()
        & activities["promised_date"].notna().to_numpy()
    ]
    logged = pd.DataFrame(
        {
            "promise_id": ACTIVITY_PROMISE_PREFIX + rows["activity_id"].astype("string").str.strip(),
            "company_code": rows["company_code"].astype("string"),
            "customer_id": rows["customer_id"].astype("string"),
            "document_no": pd.array([pd.NA] * len(rows), dtype="string"),
            "promised_amount": rows["promised_amount"].astype("Int64"),
            "promised_date": pd.to_datetime(rows["promised_date"]).astype("datetime64[ns]"),
            "created_on": pd.to_datetime(rows["occurred_on"]).astype("datetime64[ns]"),
        },
        index=rows.index,
    )
    return logged.drop_duplicates("promise_id")


def promise_book(promises: pd.DataFrame | None, activities: pd.DataFrame | None) -> pd.DataFrame | None:
    """Every promise to pay of the night, whichever the source: the promises extract and the
    contact log's ``PROMISE`` outcomes.  A promise present in both with the same id counts
    once, as the extract's row: the ERP's record is the one finance reconciles against."""
    logged = promises_from_activities(activities)
    if logged.empty:
        return promises
    if promises is None or promises.empty:
        return logged.reset_index(drop=True)
    logged = logged[~logged["promise_id"].isin(set(promises["promise_id"].dropna().astype(str)))]
    # the source row numbers of two extracts would collide: the book is numbered afresh
    return pd.concat([promises, logged], ignore_index=True) if not logged.empty else promises


def _promises(
    promises: pd.DataFrame | None, items: Columns, policies: DunningPolicies, day: pd.Timestamp
) -> tuple[np.ndarray, Columns]:
    """The items an active promise covers today (their keys), and the broken promises.

    Active: created_on <= as_of <= promised_date + grace (the customer's policy); then
    dunning resumes, and the promise is broken when its covered items still open carry more
    than their original amount less the promised amount (less than promised was paid)."""
    none: Columns = {c: np.array([], dtype=object) for c in BROKEN_PROMISE_COLUMNS}
    if promises is None or promises.empty:
        return np.array([], dtype=object), none
    created = _dates(promises["created_on"])
    known = np.isnat(created) | (created <= np.datetime64(day))
    pr = promises[known]
    p: Columns = {
        "promise_id": _text(pr["promise_id"]),
        "company_code": _text(pr["company_code"]),
        "customer_id": _text(pr["customer_id"]),
        "document_no": _text(pr["document_no"]),
        "promised_amount": cents_array(pr["promised_amount"], blank_as_zero=True),
        "promised_date": _dates(pr["promised_date"]),
    }
    # the grace of the customer's policy (the default policy's for a customer without items)
    # only the promising customers' items: a dict of a million items costs more than the rule
    theirs = _isin(items["customer_id"], p["customer_id"])
    policy_of = dict(zip(items["customer_id"][theirs], items["policy"][theirs]))
    grace = np.array(
        [policies.policies[policy_of.get(c) or policies.default_policy].promise_grace_days for c in p["customer_id"]],
        dtype="timedelta64[D]",
    )
    until = p["promised_date"] + grace

    promise_row, item_row, counts = _covered(p, items)
    in_force = until[promise_row] >= np.datetime64(day)
    active = items["item_key"][item_row[in_force]]

    judged = ~in_force & counts
    open_sum = np.zeros(len(until), dtype=np.int64)
    amount_sum = np.zeros(len(until), dtype=np.int64)
    seen = np.zeros(len(until), dtype=bool)
    np.add.at(open_sum, promise_row[judged], items["open_amount"][item_row[judged]])
    np.add.at(amount_sum, promise_row[judged], items["amount"][item_row[judged]])
    seen[promise_row[judged]] = True
    p["covered_open_amount"] = open_sum
    return active, _take(p, seen & (open_sum > amount_sum - p["promised_amount"]))


def _covered(p: Columns, items: Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(promise row, item row) for every open debit a promise covers: its document, or for
    a whole-account promise every item of the account due by the promised date; and whether
    the item counts when judging the promise (a whole-account promise is an amount in the
    customer's own currency: only items in that currency can show whether it was kept)."""
    debit = np.flatnonzero(items["open_amount"] > 0)
    on_document = ~pd.isna(p["document_no"])
    keys = pd.Index(items["item_key"][debit], dtype=object)
    first = ~keys.duplicated()
    at = pd.Index(keys[first], dtype=object).get_indexer(_key(_take(p, on_document), _ITEM))
    pairs = [(np.flatnonzero(on_document)[at >= 0], debit[first][at[at >= 0]])]
    account = ["company_code", "customer_id"]
    if (~on_document).any():
        left = pd.DataFrame({"account": _key(p, account)[~on_document], "promise_row": np.flatnonzero(~on_document)})
        right = pd.DataFrame({"account": items["account_key"][debit], "item_row": debit})
        both = left.merge(right, on="account")
        promise_row, item_row = both["promise_row"].to_numpy(), both["item_row"].to_numpy()
        due_by = items["due_date"][item_row] <= p["promised_date"][promise_row]
        pairs.append((promise_row[due_by], item_row[due_by]))
    promise_row = np.concatenate([pr for pr, _ in pairs]).astype(np.int64)
    item_row = np.concatenate([it for _, it in pairs]).astype(np.int64)
    by_account = pd.isna(p["document_no"])[promise_row]
    counts = ~by_account | (items["currency"][item_row] == items["customer_currency"][item_row])
    return promise_row, item_row, counts.astype(bool)
