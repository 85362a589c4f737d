"""``close.yaml`` section ``provision:``: how the expected-credit-loss provision is computed
(IFRS 9 simplified approach, docs/close.md "Expected-credit-loss provision").  Rates are
fractions (``0.05`` = 5 %) with at most six decimals, so every rate a controller sees is
exactly the one the provision used."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from receivables.aging import TABLE_BUCKETS
from receivables.money import StrictModel


def _rate(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 1 or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError('must be a rate between 0 and 1 with at most 6 decimals, written like "0.05" for 5 %')
    return value


#: a loss rate: a fraction 0..1 with at most six decimals
Rate = Annotated[Decimal, AfterValidator(_rate)]

#: the bucket columns the matrix has a rate for (the aging table's, oldest last)
BUCKETS = TABLE_BUCKETS

DEFAULT_MATRIX: dict[str, Decimal] = {
    "not_due": Decimal("0.005"),
    "d1_30": Decimal("0.02"),
    "d31_60": Decimal("0.05"),
    "d61_90": Decimal("0.10"),
    "d91_120": Decimal("0.25"),
    "d121_plus": Decimal("0.50"),
}


def _full_matrix(matrix: dict[str, Decimal], what: str) -> dict[str, Decimal]:
    unknown = sorted(set(matrix) - set(BUCKETS))
    if unknown:
        raise ValueError(f"{what}: unknown bucket {', '.join(unknown)}; the buckets are {', '.join(BUCKETS)}")
    return matrix


class SpecificRates(StrictModel):
    """Rates of the items provided for one by one instead of through the matrix."""

    #: every open item of an account whose collection case is at the agency (stage HANDOVER)
    handover: Rate = Decimal("0.50")
    #: an item tonight's write-off proposals name (the proposed amount)
    writeoff_proposed: Rate = Decimal("1.00")
    #: the disputed amount of an item with a dispute open on the as_of
    disputed: Rate = Decimal("0.25")


class ProvisionRules(StrictModel):
    """``provision:`` of ``configs/close.yaml``."""

    #: the customers column that splits the matrix (null: one segment, ``ALL``)
    segment_column: str | None = "segment"
    #: month-to-month roll pairs needed before the history replaces the default matrix
    min_history_months: int = Field(12, ge=1, le=120)
    #: the latest month-to-month pairs whose roll rates are averaged
    lookback_months: int = Field(12, ge=1, le=120)
    #: the loss rate of the last bucket (121+ days), where the roll chain ends
    last_bucket_rate: Rate = Decimal("1")
    #: the loss rates while the history is shorter than min_history_months
    default_matrix: dict[str, Rate] = Field(default_factory=lambda: dict(DEFAULT_MATRIX))
    #: per segment, rates that replace the default matrix's for that segment (bucket by bucket)
    segment_default_matrix: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    #: the lowest loss rate per bucket, whatever the history says (a bucket left out: 0)
    floors: dict[str, Rate] = Field(default_factory=dict)
    #: forward-looking overlay: every matrix rate is multiplied by it (1.00 = none), at most 100 %
    overlay: Decimal = Field(Decimal("1.00"), gt=0, le=5)
    specific: SpecificRates = Field(default_factory=SpecificRates)

    @model_validator(mode="after")
    def _matrices(self) -> ProvisionRules:
        missing = [b for b in BUCKETS if b not in self.default_matrix]
        if missing:
            raise ValueError(f"default_matrix needs a rate for every bucket; missing {', '.join(missing)}")
        _full_matrix(self.default_matrix, "default_matrix")
        _full_matrix(self.floors, "floors")
        for segment, matrix in self.segment_default_matrix.items():
            _full_matrix(matrix, f"segment_default_matrix.{segment}")
        if self.lookback_months < self.min_history_months:
            raise ValueError(
                f"lookback_months ({self.lookback_months}) must be at least min_history_months "
                f"({self.min_history_months}), or the history would never be used"
            )
        return self

    def default_rate(self, segment: str, bucket: str) -> Decimal:
        """The default matrix's rate of a segment's bucket (the segment's own where configured)."""
        return self.segment_default_matrix.get(segment, {}).get(bucket, self.default_matrix[bucket])

    def floor(self, bucket: str) -> Decimal:
        return self.floors.get(bucket, Decimal(0))
