"""``reporting.yaml``: the aging buckets, the KPI settings and the worklist scoring, read
once per run into a ``ReportingConfig`` (a bad file is a ``ConfigError`` naming the field).

The thresholds are the collections team's judgement, so they live in the team's
configuration folder rather than in code: when a balance is worth a call, when it escalates,
when it is a write-off candidate, how old a dispute may get before its owner is chased.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from receivables.aging import AgingConfig
from receivables.casework.config import CaseRules
from receivables.config_folder import ConfigFolder
from receivables.money import CentAmount, StrictModel, to_cents
from receivables.settings import load_yaml_model


class KpiConfig(StrictModel):
    #: the look-back window for DSO sales and average days late: (as_of - days, as_of]
    dso_period_days: int = Field(90, ge=1, le=366)
    #: count-back DSO gives up (NA) when the receivables exceed this many months of sales
    count_back_max_months: int = Field(12, ge=1, le=36)
    #: upper edges of the age bands for disputes and unapplied cash: 0-30, 31-60, 61-90, 91+
    age_bands: tuple[int, ...] = (30, 60, 90)
    #: days after promised_date the dunning stage waits before calling a promise broken; a promise
    #: past that and not broken counts as kept (keep it equal to the dunning policies' grace)
    promise_grace_days: int = Field(3, ge=0, le=90)

    @field_validator("age_bands")
    @classmethod
    def _bands(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or v[0] < 0 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("must be a non-empty list of increasing day counts >= 0, like [30, 60, 90]")
        return v

    @property
    def age_band_labels(self) -> list[str]:
        labels, low = [], 0
        for edge in self.age_bands:
            labels.append(f"{low}_{edge}")
            low = edge + 1
        return labels + [f"{low}_plus"]


class TriggerPoints(StrictModel):
    """Points a customer gets for each reason it needs a person (added, not maxed)."""

    handover: float = Field(40, ge=0)
    escalate: float = Field(30, ge=0)
    chase_broken_promise: float = Field(25, ge=0)
    resolve_dispute: float = Field(15, ge=0)
    call: float = Field(10, ge=0)
    write_off_candidate: float = Field(5, ge=0)
    refund_or_offset: float = Field(10, ge=0)


class EscalationRules(StrictModel):
    #: oldest overdue amount at least this many days past due (a bucket's lower edge) ...
    min_days_past_due: int = Field(91, ge=1)
    #: ... and overdue at least this much (base currency)
    min_overdue_amount: CentAmount = Decimal("10000.00")
    #: open balance above the customer's credit limit escalates too
    over_credit_limit: bool = True

    @property
    def min_overdue_cents(self) -> int:
        return to_cents(self.min_overdue_amount)


class WriteOffRules(StrictModel):
    #: every overdue cent is at least this many days past due (a bucket's lower edge) ...
    min_days_past_due: int = Field(121, ge=1)
    #: ... and the overdue balance is at most this much (base currency)
    max_amount: CentAmount = Decimal("50.00")

    @property
    def max_cents(self) -> int:
        return to_cents(self.max_amount)


class WorklistConfig(StrictModel):
    #: priority points per power of ten of the overdue amount in base currency
    amount_weight: float = Field(10, ge=0)
    #: priority points per 30 days of the oldest overdue bucket's lower edge
    age_weight: float = Field(2, ge=0)
    points: TriggerPoints = TriggerPoints()
    escalate: EscalationRules = EscalationRules()
    write_off: WriteOffRules = WriteOffRules()
    #: an open dispute needs its owner chased once it is this many days old
    dispute_follow_up_days: int = Field(14, ge=0)
    #: unapplied cash of a customer with overdue items at least this much: call to clarify
    unapplied_min_amount: CentAmount = Decimal("0.01")
    #: dunning skip reasons (receivables.dunning) that leave an overdue item to a person:
    #: no reminder goes out for it and nothing else will make it move
    manual_skip_reasons: tuple[str, ...] = (
        "ITEM_BLOCK",
        "CUSTOMER_BLOCK",
        "CREDIT_BALANCE",
        "UNKNOWN_CUSTOMER",
        "UNKNOWN_POLICY",
        "UNAPPLIED_CASH",
    )

    @property
    def unapplied_min_cents(self) -> int:
        return to_cents(self.unapplied_min_amount)


class RefundRules(StrictModel):
    """When a net credit balance becomes a refund proposal (``receivables.refunds``)."""

    #: the newest credit document (document_date) of the balance is at least this many days old
    min_age_days: int = Field(30, ge=0, le=3660)
    #: ... and the credit is at least this much, in the balance's own currency
    min_amount: CentAmount = Decimal("1.00")
    #: a different minimum for some currencies (ISO code -> amount in that currency)
    min_amount_by_currency: dict[str, CentAmount] = Field(default_factory=dict)
    #: the SEPA credit-transfer message the pain.001 export is written in (docs/refunds.md)
    pain_format: Literal["pain.001.001.03", "pain.001.001.09"] = "pain.001.001.09"
    #: requested execution date of the transfers: as_of plus this many days
    execution_days: int = Field(2, ge=0, le=60)

    @field_validator("min_amount_by_currency")
    @classmethod
    def _currency_codes(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        bad = [c for c in v if not (len(c) == 3 and c.isalpha() and c.isupper())]
        if bad:
            raise ValueError(f"keys must be ISO currency codes like EUR, not {', '.join(map(repr, bad))}")
        return v

    def min_cents(self, currency: str) -> int:
        return to_cents(self.min_amount_by_currency.get(currency, self.min_amount))


class ReportingConfig(StrictModel):
    """``configs/reporting.yaml``: aging buckets, KPI settings, worklist scoring."""

    aging: AgingConfig = AgingConfig()
    kpis: KpiConfig = KpiConfig()
    worklist: WorklistConfig = WorklistConfig()
    #: collection cases: SLAs per stage, what counts as a contact, follow-up and priority
    cases: CaseRules = CaseRules()
    #: credit balances proposed for refund (docs/refunds.md)
    refunds: RefundRules = RefundRules()

    @model_validator(mode="after")
    def _bucket_aligned(self) -> ReportingConfig:
        # worklist rules read the aging buckets, so their day thresholds must start a bucket
        starts = {self.aging.lower_edge(b.column) for b in self.aging.buckets[1:]}
        for name, days in (
            ("worklist.escalate.min_days_past_due", self.worklist.escalate.min_days_past_due),
            ("worklist.write_off.min_days_past_due", self.worklist.write_off.min_days_past_due),
        ):
            if days not in starts:
                raise ValueError(f"{name} is {days}, but must be where an overdue bucket starts: {sorted(starts)}")
        return self


def load_reporting_config(path: Path | str | None = None) -> ReportingConfig:
    """The settings from ``configs/reporting.yaml`` (or ``path``); a bad file raises ConfigError
    naming the setting and what is wrong with it."""
    path = Path(path) if path is not None else ConfigFolder().file("reporting.yaml")
    return load_yaml_model(path, ReportingConfig, "Reporting config file", "aging, kpis, worklist")


# --- aging ---------------------------------------------------------------------------------------
