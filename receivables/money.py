"""Money at the boundaries: integer cents inside, ``Decimal`` outside.

Frames carry money as int64 cents so sums are exact and fast; anything a customer, an auditor
or a BI tool sees is a ``Decimal`` with two places, rounded half-up like a commercial invoice.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict

CENT = Decimal("0.01")


def to_decimal(cents: int) -> Decimal:
    """Integer cents as a two-place Decimal (``123456`` -> ``Decimal('1234.56')``)."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def to_cents(amount: Decimal | int | str) -> int:
    """A Decimal (or its text) rounded half-up to whole cents."""
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_half_up_cents(value: Decimal) -> int:
    """A cents amount computed with fractions (interest, discount) rounded half-up."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cent_amount(value: Decimal) -> Decimal:
    """A configured amount (a fee, a tolerance, a threshold): >= 0 with at most two decimals,
    so it is exactly some whole number of cents."""
    if value < 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError('must be an amount >= 0 with at most 2 decimals, written like "50.00"')
    return value


#: a configured amount in a rules file (see ``cent_amount``), kept as the Decimal written
CentAmount = Annotated[Decimal, AfterValidator(cent_amount)]


class StrictModel(BaseModel):
    """A rules file's model: unknown keys are errors (a misspelt key must not be ignored),
    and the loaded rules cannot change during a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def cents_array(series: pd.Series, *, blank_as_zero: bool = False, what: str = "amounts") -> np.ndarray:
    """A cents column as int64 for vectorised arithmetic; a blank is zero where the caller
    says so, otherwise an error (validation quarantines blank amounts before any stage)."""
    if blank_as_zero:
        return pd.to_numeric(series).fillna(0).to_numpy(dtype=np.int64)
    if series.isna().any():
        raise ValueError(f"{what} has blank amounts; validation must quarantine those rows first")
    return series.to_numpy(dtype=np.int64)
