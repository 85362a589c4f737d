"""Items as plain columns: a dict of numpy arrays, one row per item, and the few ways of
reading a frame's column into one.

The rules work on these rather than on DataFrames: a nightly run may have a million items,
and a test or a small company a dozen, where a DataFrame operation costs more than the rule
itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

Columns = dict[str, np.ndarray]

#: the key of a notice: one per customer, company code and currency
_GROUP = ["company_code", "customer_id", "currency"]
#: the key of an item
_ITEM = ["company_code", "document_no"]
#: the key of a customer's account in a company code
_ACCOUNT = ["company_code", "customer_id"]

#: joins the parts of a composite key (``_key``)
_SEP = "\x1f"
#: below this many rows a Python loop over the values beats pandas' vectorised string kernels
_SMALL = 5_000


def _take(f: Columns, rows: np.ndarray) -> Columns:
    return {k: v[rows] for k, v in f.items()}


def _isin(values: np.ndarray, pool: Any) -> np.ndarray:
    pool = np.asarray(pool, dtype=object)
    if len(pool) == 0:  # nothing to find: spares hashing a million keys for an empty set
        return np.zeros(len(values), dtype=bool)
    # a hash look-up: numpy's isin on object arrays compares every pair; dtype=object keeps
    # pandas from copying a million strings into an Arrow string array first
    return pd.Index(np.asarray(values, dtype=object), dtype=object).isin(pool)


def _key(f: Columns | pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A composite key as one string per row, for set look-ups, factorising and sorting.

    The items' own keys are built once per run (``_with_keys``): a rule that looks items up
    reads ``item_key`` or ``account_key`` instead of building a million strings again."""
    key = _or(np.asarray(f[columns[0]], dtype=object), "")
    for c in columns[1:]:
        key = key + _SEP + _or(np.asarray(f[c], dtype=object), "")
    return np.asarray(key, dtype=object)


def _with_keys(f: Columns) -> Columns:
    """The items with their item key (company code, document) and account key (company
    code, customer); ``_take`` carries them along, so a subset's keys stay its own."""
    return {**f, "item_key": _key(f, _ITEM), "account_key": _key(f, _ACCOUNT)}


def _group_key(f: Columns) -> np.ndarray:
    """``_key(f, _GROUP)`` of items with keys (``_with_keys``): the account key and the currency."""
    return np.asarray(f["account_key"] + _SEP + _or(f["currency"], ""), dtype=object)


def _text(s: pd.Series, upper: bool = False) -> np.ndarray:
    """Text stripped, blank as None, as an object array."""
    if len(s) > _SMALL:
        t = s.astype("string").str.strip()
        values = (t.str.upper() if upper else t).to_numpy(dtype=object, na_value=None)
        values[values == ""] = None
        return values
    out = []
    for v in s.to_numpy(dtype=object):
        v = v.strip() if isinstance(v, str) else (None if v is None or pd.isna(v) else str(v).strip())
        out.append((v.upper() if upper and v else v) or None)
    return np.array(out, dtype=object)


def _upper(f: pd.DataFrame, column: str) -> np.ndarray:
    if column not in f:
        return np.full(len(f), None, dtype=object)
    return _text(f[column], upper=True)


def _or(values: np.ndarray, default: object) -> np.ndarray:
    """Missing values replaced by the default."""
    values = np.asarray(values, dtype=object)
    missing = pd.isna(values)
    # most columns have no gaps: the copy np.where would make is then not needed
    return np.where(missing, default, values) if missing.any() else values


def _dates(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy(dtype="datetime64[ns]")


def _flags(f: pd.DataFrame, column: str) -> np.ndarray:
    if column not in f:
        return np.zeros(len(f), dtype=bool)
    return f[column].fillna(False).to_numpy(dtype=bool)
