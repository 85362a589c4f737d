"""What one generation run knows besides its random stream: the parameters and the counters.

A set is generated in chunks of customers, each with its own random stream, yet customer
names, document numbers, PO numbers and payment, dispute, promise, activity and plan ids must
be unique across
the whole set; ``_State`` carries those counters from chunk to chunk.  Dates are held as days
since 1970-01-01 and rolled onto business days, as an ERP posts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class _Params:
    as_of: date
    items_per_customer: float
    payments_per_customer: float

    @property
    def as_of_day(self) -> int:
        return int(np.datetime64(self.as_of, "D").astype(np.int64))


class _State:
    """Counters that run across chunks so keys stay unique in the whole set."""

    def __init__(self) -> None:
        self.names = [0, 0, 0]  # next name sequence per country
        self.documents = [0, 0, 0]  # last document counter per company
        self.po = 4_500_000_000
        self.payments = 0
        self.disputes = 0
        self.promises = 0
        self.activities = 0
        self.plans = 0


def _business_day(days: np.ndarray, roll: str = "backward") -> np.ndarray:
    return np.busday_offset(days.astype("datetime64[D]"), 0, roll=roll).astype(np.int64)
