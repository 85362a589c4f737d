"""Money at the boundaries: integer cents inside, ``Decimal`` outside.

Frames carry money as int64 cents so sums are exact and fast; anything a customer, an auditor
or a BI tool sees is a ``Decimal`` with two places, rounded half-up like a commercial invoice.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
