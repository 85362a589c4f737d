"""The run's items as columns: the open items that still carry money, with their days past
due and their customer's policy, blocks, language and country."""

from __future__ import annotations

import numpy as np
import pandas as pd

from receivables.dunning.columns import Columns, _dates, _flags, _isin, _or, _text, _upper
from receivables.dunning.policies import DunningPolicies
from receivables.money import cents_array


def _items(open_items: pd.DataFrame, day: pd.Timestamp) -> Columns:
    """The open items that still carry money, with their days past due as of the run date;
    an item with nothing open left is not the dunning's business."""
    f = open_items[cents_array(open_items["open_amount"], blank_as_zero=True) != 0]
    n = len(f)
    due = _dates(f["due_date"])
    past = (np.datetime64(day.date(), "D") - due.astype("datetime64[D]")).astype(np.int64)
    return {
        "company_code": _text(f["company_code"]),
        "document_no": _text(f["document_no"]),
        "document_type": _or(_upper(f, "document_type"), "INV"),
        "customer_id": _text(f["customer_id"]),
        "document_date": _dates(f["document_date"])
        if "document_date" in f
        else np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
        "due_date": due,
        "currency": _upper(f, "currency"),
        "amount": cents_array(f["amount"], blank_as_zero=True)
        if "amount" in f
        else cents_array(f["open_amount"], blank_as_zero=True),
        "open_amount": cents_array(f["open_amount"], blank_as_zero=True),
        "reference": _text(f["reference"]) if "reference" in f else np.full(n, None, dtype=object),
        "item_block": _flags(f, "dunning_block"),
        "days_past_due": np.where(np.isnat(due), 0, past),
    }


def _with_customers(items: Columns, customers: pd.DataFrame, policies: DunningPolicies) -> Columns:
    """Each item with its customer's policy, block, language and country.

    The override in ``dunning_policy`` wins over the segment; a segment without a policy
    falls back to the default policy, but an override naming no policy is a data error
    the item is held for (UNKNOWN_POLICY), rather than silently dunned by another policy."""
    ids = _text(customers["customer_id"])
    first = ~pd.Index(ids).duplicated()
    c = customers[first]
    segment = _upper(c, "segment")
    by_segment = np.array([policies.segments.get(s, policies.default_policy) for s in segment], dtype=object)
    override = _upper(c, "dunning_policy")
    policy = np.where(pd.isna(override), by_segment, override)
    known = _isin(policy, list(policies.policies))
    language = _text(c["language"]) if "language" in c else np.full(len(c), None, dtype=object)
    at = pd.Index(ids[first]).get_indexer(items["customer_id"])
    found = at >= 0
    pick = np.where(found, at, 0)

    def take(values: np.ndarray, missing: object) -> np.ndarray:
        if len(c) == 0:
            return np.full(len(found), missing, dtype=object)
        return np.where(found, np.asarray(values, dtype=object)[pick], missing)

    return {
        **items,
        "known_customer": found,
        "policy": take(np.where(known, policy, None), None),
        "unknown_policy": found & take(~known, False).astype(bool),
        "customer_block": take(_flags(c, "dunning_block"), False).astype(bool),
        "language": np.array([x.lower() if x else "en" for x in take(language, None)], dtype=object),
        "country": take(_upper(c, "country"), None),
        "customer_currency": take(_upper(c, "currency"), None),
    }
