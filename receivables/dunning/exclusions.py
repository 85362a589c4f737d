"""Why an overdue item is on no notice today: an unknown customer or policy, an approved
write-off, an open dispute, a block, an active promise, a current payment plan, or credits that cover what the customer
owes; and how much of a partly disputed item is disputed (the rest is claimed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from receivables.dunning.columns import _GROUP, _ITEM, Columns, _dates, _isin, _key, _take, _text, _upper

#: why an overdue item is on no notice, first one wins
EXCLUSION_REASONS = (
    "UNKNOWN_CUSTOMER",
    "UNKNOWN_POLICY",
    "WRITTEN_OFF",
    "DISPUTE",
    "ITEM_BLOCK",
    "CUSTOMER_BLOCK",
    "HANDOVER",
    "PROMISE",
    "PLAN",
    "CREDIT_BALANCE",
    "UNAPPLIED_CASH",
)

#: what a dispute with a blank or non-positive amount counts as: more than any item is open
_WHOLE_ITEM = 10**15


def _open_disputes(disputes: pd.DataFrame | None, day: pd.Timestamp) -> Columns:
    """Disputes open on as_of: status OPEN and opened by then, or resolved only after as_of
    (so a rerun for an earlier date sees the dispute as it was then)."""
    cols = ["company_code", "document_no", "customer_id"]
    if disputes is None or disputes.empty:
        return {**{c: np.array([], dtype=object) for c in cols}, "amount": np.array([], dtype=np.int64)}
    now = np.datetime64(day)
    opened = _dates(disputes["opened_on"])
    resolved = (
        _dates(disputes["resolved_on"])
        if "resolved_on" in disputes
        else np.full(len(disputes), np.datetime64("NaT"), "datetime64[ns]")
    )
    started = np.isnat(opened) | (opened <= now)
    is_open = started & ((_upper(disputes, "status") == "OPEN") | (~np.isnat(resolved) & (resolved > now)))
    # a blank amount disputes the whole item (see _disputed_cents)
    amount = (
        pd.to_numeric(disputes["amount"]).fillna(-1).to_numpy(dtype=np.int64)
        if "amount" in disputes
        else np.full(len(disputes), -1, dtype=np.int64)
    )
    return {**{c: _text(disputes[c])[is_open] for c in cols}, "amount": amount[is_open]}


def _disputed_cents(items: Columns, disputes: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Per item: whether an open dispute names its document, and the part of its open amount
    those disputes block, min(sum of their amounts, open amount), never below zero.

    A dispute with a blank or non-positive amount blocks the whole item: we cannot tell what
    is contested, so nothing of it is claimed."""
    on_document = ~pd.isna(disputes["document_no"])
    d = _take(disputes, on_document)
    amount = np.where(d["amount"] > 0, d["amount"], _WHOLE_ITEM).astype(np.int64)
    per_document = (
        pd.Series(amount, index=pd.Index(_key(d, _ITEM), dtype=object), dtype=np.int64).groupby(level=0).sum()
    )
    total = per_document.reindex(pd.Index(items["item_key"], dtype=object), fill_value=-1).to_numpy(dtype=np.int64)
    named = total >= 0
    return named, np.clip(total, 0, np.maximum(items["open_amount"].astype(np.int64), 0))


def _exclusion_reasons(
    items: Columns,
    disputes: Columns,
    active_promises: np.ndarray,
    planned: np.ndarray | None = None,
    handed_over: np.ndarray | None = None,
    written_off: np.ndarray | None = None,
    disputed_parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Why each item is on no notice today ("" = nothing stops it), first reason wins:
    unknown customer or policy, an approved write-off of it (``written_off``: item keys; the
    item is gone for collections even while the ERP still shows it open), an open dispute on
    it or its account, a block on it or its
    customer, its account handed over to the agency (``handed_over``: account keys), an active
    promise to pay, a current payment plan covering it (``planned``: item keys).

    A dispute on the document pauses the item only when the item's open disputes cover all
    of its open amount (``_disputed_cents``); a partly disputed item stays dunnable for the
    rest.  A dispute without a document is about the account and pauses all of it.
    ``disputed_parts`` is ``_disputed_cents`` of these items when the caller has it already."""
    none = np.array([], dtype=object)
    account = ["company_code", "customer_id"]
    on_document = ~pd.isna(disputes["document_no"])
    named, disputed_cents = disputed_parts or _disputed_cents(items, disputes)
    covered = named & (disputed_cents >= items["open_amount"])
    disputed = covered | _isin(items["account_key"], _key(_take(disputes, ~on_document), account))
    conditions = [
        ~items["known_customer"],
        items["unknown_policy"],
        _isin(items["item_key"], written_off if written_off is not None else none),
        disputed,
        items["item_block"],
        items["customer_block"],
        _isin(items["account_key"], handed_over if handed_over is not None else none),
        _isin(items["item_key"], active_promises),
        _isin(items["item_key"], planned if planned is not None else none),
    ]
    return np.select(conditions, list(EXCLUSION_REASONS[: len(conditions)]), default="").astype(object)


def _net_overdue(
    open_amount: np.ndarray, group: np.ndarray, n_groups: int, dunnable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, company code and currency: what the customer owes us that we may chase
    (dunnable overdue debits plus all its credits), and the credits alone."""
    credit = open_amount < 0
    credits = np.zeros(n_groups, dtype=np.int64)
    np.add.at(credits, group[credit], open_amount[credit])
    net = credits.copy()
    np.add.at(net, group[dunnable], open_amount[dunnable])
    return net, credits


def _unapplied_on_account(unapplied: pd.DataFrame | None, groups: np.ndarray) -> np.ndarray:
    """Per notice group (customer, company code, currency): the customer's own payments that
    cash application could not allocate tonight (identified payer, money not yet on an item)."""
    out = np.zeros(len(groups), dtype=np.int64)
    if unapplied is None or unapplied.empty:
        return out
    known = unapplied[unapplied["customer_id"].notna()]
    if known.empty:
        return out
    at = pd.Index(groups).get_indexer(_key(known, _GROUP))
    found = at >= 0
    np.add.at(out, at[found], known["remaining_amount"].to_numpy(dtype=np.int64)[found])
    return out
