"""How integer cents, day numbers and flags become the text an extract file carries.

Money stays integer cents and dates stay days since 1970-01-01 until a column is written;
these vectorised conversions turn a whole chunk's column into text at once (two-place
amounts, ISO dates, ``true``/``false``), so every generated file uses one format.
"""

from __future__ import annotations

import numpy as np

_STRING = np.dtypes.StringDType()


def _money_text(cents: np.ndarray) -> np.ndarray:
    """Integer cents as plain decimal text with two places ('-1234.50')."""
    cents = np.asarray(cents, dtype=np.int64)
    magnitude = np.abs(cents)
    text = np.strings.add(
        np.strings.add((magnitude // 100).astype(_STRING), "."),
        np.strings.zfill((magnitude % 100).astype(_STRING), 2),
    )
    return np.where(cents < 0, np.strings.add("-", text), text)


def _date_text(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as ISO dates; negative means blank."""
    days = np.asarray(days, dtype=np.int64)
    # a few hundred distinct days among a million rows: format each day once
    distinct, index = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(distinct.astype("datetime64[D]")).astype(object)
    text[distinct < 0] = ""
    return text[index]


def _bool_text(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false")
