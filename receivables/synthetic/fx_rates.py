"""Exchange rates: EUR as the base currency, USD as a random walk around 0.92.

The US company books in USD while the base currency is EUR, so the set carries a USD rate at
each of the last six month-ends and at the extract date.  The rates come from their own random
stream, seeded apart from the customer chunks, so the chunk size does not move them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from receivables.synthetic.text_columns import _date_text


def _fx_rates(rng: np.random.Generator, as_of: date) -> dict[str, Any]:
    """EUR is the base; USD at month-ends of the last half year and at the extract date."""
    month_ends = [np.datetime64(as_of, "M") - k for k in range(6, 0, -1)]
    days = [int(((m + 1).astype("datetime64[D]") - 1).astype(np.int64)) for m in month_ends]
    days.append(int(np.datetime64(as_of, "D").astype(np.int64)))
    days = sorted(set(days))
    # a daily-ish random walk around 0.92 EUR per USD, in millionths
    usd = 920_000 + np.cumsum(rng.integers(-6_000, 6_001, len(days)))
    rate_text = [f"{v // 10**6}.{v % 10**6:06d}" for v in usd.tolist()]
    dates = _date_text(np.asarray(days, dtype=np.int64)).tolist()
    return {
        "currency": ["EUR"] * len(days) + ["USD"] * len(days),
        "rate_to_base": ["1.000000"] * len(days) + rate_text,
        "rate_date": dates + dates,
    }
