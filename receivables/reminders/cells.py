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


def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[dict]:
    if rows is None:
        return []
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    return [dict(r) for r in rows]


def _missing(value: Any) -> bool:
    if value is None:
        return True
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
