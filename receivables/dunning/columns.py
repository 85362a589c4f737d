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

#: joins the parts of a composite key (``_key``)
_SEP = "\x1f"
#: below this many rows a Python loop over the values beats pandas' vectorised string kernels
_SMALL = 5_000


def _take(f: Columns, rows: np.ndarray) -> Columns:
    return {k: v[rows] for k, v in f.items()}


def _isin(values: np.ndarray, pool: Any) -> np.ndarray:
    # a hash look-up: numpy's isin on object arrays compares every pair
    return pd.Index(np.asarray(values, dtype=object)).isin(np.asarray(pool, dtype=object))


def _key(f: Columns | pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A composite key as one string per row, for set look-ups, factorising and sorting."""
    key = _or(np.asarray(f[columns[0]], dtype=object), "")
    for c in columns[1:]:
        key = key + _SEP + _or(np.asarray(f[c], dtype=object), "")
    return np.asarray(key, dtype=object)


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
    return np.where(pd.isna(values), default, values)


def _dates(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy(dtype="datetime64[ns]")


def _flags(f: pd.DataFrame, column: str) -> np.ndarray:
    if column not in f:
        return np.zeros(len(f), dtype=bool)
    return f[column].fillna(False).to_numpy(dtype=bool)
