"""Values read out of frame cells and master-data fields: blanks, text, integer cents, dates.

Extracts arrive as DataFrames or plain mappings; a blank may be None, NaN, NaT or pd.NA, and a
date may be a Timestamp, a date or an ISO string.  Every module of the reminders reads them
through these, so a blank means the same thing in the letter, the statement and the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pandas.api.extensions import ExtensionDtype
from pandas.api.types import is_object_dtype

# to_dict's own boxing of object cells, so frame_records gives what it gives
from pandas.core.dtypes.cast import maybe_box_native


def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[dict]:
    if rows is None:
        return []
    if isinstance(rows, pd.DataFrame):
        return frame_records(rows)
    return [dict(r) for r in rows]


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")``: the same dicts and values (a blank of a nullable column
    as None, an object column's numpy scalars as Python's), built a column at a time.
    pandas walks the Arrow-backed text columns cell by cell: that was a fifth of a
    reminder's CPU."""
    names = frame.columns.tolist()
    if not names:
        return [{} for _ in range(len(frame))]
    columns = []
    for i, dtype in enumerate(frame.dtypes.tolist()):
        values = frame.iloc[:, i].tolist()
        if is_object_dtype(dtype) or isinstance(dtype, pd.SparseDtype):
            values = [maybe_box_native(v) for v in values]
        elif isinstance(dtype, ExtensionDtype):
            # tolist gives Python scalars already; to_dict's boxing only turns pd.NA into None
            values = [None if v is pd.NA else v for v in values]
        columns.append(values)
    return [dict(zip(names, row)) for row in zip(*columns)]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    if kind is str or kind is int or kind is date:
        return False  # what pd.isna says of them, without its dispatch (a million calls a night)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _first(*values: Any) -> Any:
    for v in values:
        if not _missing(v) and str(v).strip():
            return v
    return None


def _text(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    return "" if _missing(value) else str(value).strip()


def _int_text(value: Any) -> str:
    return "" if _missing(value) else str(int(value))


def _cents(value: Any) -> int:
    """Money from a frame cell: integer cents; a blank is zero, a fraction of a cent is a bug."""
    if _missing(value):
        return 0
    if isinstance(value, Decimal) or isinstance(value, float):
        if value != int(value):
            raise ValueError(f"money must be integer cents, got {value!r}")
    return int(value)


def _as_date(value: Any) -> date | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return pd.Timestamp(str(value)).date()
