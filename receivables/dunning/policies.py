"""The dunning policies of ``configs/dunning.yaml``: levels, minimums, fees, interest rules and
statutory rates, validated when the file is read so a bad file stops the run with its field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from receivables.config_folder import ConfigFolder
from receivables.money import StrictModel, cent_amount
from receivables.settings import load_yaml_model


def _currency_code(code: str) -> str:
    code = str(code).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _country_code(code: str) -> str:
    code = str(code).strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"{code!r} is not an ISO 3166-1 country code")
    return code


def _valid_amounts(value: dict[str, Decimal]) -> dict[str, Decimal]:
    out = {}
    for currency, amount in value.items():
        try:
            cent_amount(amount)
        except ValueError as exc:
            raise ValueError(f"{currency}: {amount} {exc}") from None
        out[_currency_code(currency)] = amount
    return out


AmountsByCurrency = dict[str, Decimal]


class FixedInterest(StrictModel):
    """A contractual rate instead of the statutory one, in percent a year."""

    percent: Decimal = Field(ge=0, le=100)


InterestRule = Literal["none", "statutory"] | FixedInterest


class DunningLevel(StrictModel):
    """One step of a policy: when an item reaches it and what the notice then does."""

    level: int = Field(ge=1)
    template: str = Field(min_length=1)
    action: Literal["email", "call_task", "handover", "none"]
    #: an item reaches the level this many days after its due date at the earliest; 0 or less
    #: (level 1 only) makes it a courtesy level: a friendly note before the due date
    days_past_due: int = Field(ge=-90)
    #: ... and this many days after it reached the level before (ignored for level 1)
    min_days_since_previous: int = Field(0, ge=0)
    #: the customer's net overdue amount (company code, currency) must be at least this
    minimum: AmountsByCurrency = Field(default_factory=dict)
    #: charged on the notice that first takes the account to this level
    fee: AmountsByCurrency = Field(default_factory=dict)
    interest: InterestRule = "none"
    #: the EU flat compensation (late_payment_compensation) per invoice reaching this level
    compensation: bool = False

    @field_validator("minimum", "fee")
    @classmethod
    def _amounts(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        return _valid_amounts(v)

    @property
    def courtesy(self) -> bool:
        """A reminder before the due date: nothing is late yet, so nothing is charged."""
        return self.days_past_due <= 0

    def courtesy_problems(self) -> list[str]:
        """Why this level cannot be the courtesy level its days make it ([] when it can)."""
        if not self.courtesy:
            return []
        where = f"level {self.level} (days_past_due {self.days_past_due}, before the due date)"
        if self.level != 1:
            return [f"{where}: only level 1 may be a courtesy level with days_past_due 0 or less"]
        problems = []
        if self.action != "email":
            problems.append(f"{where}: a courtesy level's action must be email, not {self.action}")
        if any(amount != 0 for amount in self.fee.values()):
            problems.append(f"{where}: a courtesy level charges no fee")
        if self.interest != "none":
            problems.append(f"{where}: a courtesy level claims no interest")
        if self.compensation:
            problems.append(f"{where}: a courtesy level claims no compensation")
        return problems


class DunningPolicy(StrictModel):
    description: str = ""
    #: a promise pauses dunning until promised_date + this many days
    promise_grace_days: int = Field(3, ge=0, le=90)
    #: the customer's own payments cash application could not allocate: ``hold`` (default)
    #: sends no reminder while they cover the net overdue amount (a collector allocates them)
    #: and names them in the letter when they cover part of it; ``ignore`` dunns as if they
    #: were not there
    unapplied_cash: Literal["hold", "ignore"] = "hold"
    levels: list[DunningLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> DunningPolicy:
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"levels must be numbered 1, 2, ... in order, got {numbers}")
        days = [lv.days_past_due for lv in self.levels]
        if any(b <= a for a, b in zip(days, days[1:])):
            raise ValueError(f"days_past_due must increase from level to level, got {days}")
        if sum(lv.compensation for lv in self.levels) > 1:
            raise ValueError("compensation may be claimed on one level only (once per invoice)")
        problems = [problem for lv in self.levels for problem in lv.courtesy_problems()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def courtesy_days(self) -> int | None:
        """Days past due (0 or less) of the courtesy level; None when the policy has none."""
        return self.levels[0].days_past_due if self.levels[0].courtesy else None


class BaseRate(StrictModel):
    effective_from: date
    percent: Decimal = Field(ge=-20, le=50)


class StatutoryRate(StrictModel):
    """Base rate + points, e.g. Basiszinssatz + 9 points for German B2B claims."""

    base_rate: str
    points: Decimal = Field(ge=0, le=50)


class InterestSettings(StrictModel):
    day_count: Literal["ACT/365"] = "ACT/365"
    base_rates: dict[str, list[BaseRate]] = Field(default_factory=dict)
    #: ISO country (or ``default``) -> rate; null = no statutory interest there
    statutory: dict[str, StatutoryRate | None] = Field(default_factory=dict)
    #: company code -> ISO country of the legal entity
    company_countries: dict[str, str] = Field(default_factory=dict)

    @field_validator("base_rates")
    @classmethod
    def _dated(cls, v: dict[str, list[BaseRate]]) -> dict[str, list[BaseRate]]:
        for name, rates in v.items():
            if not rates:
                raise ValueError(f"{name}: at least one rate is needed")
            dates = [r.effective_from for r in rates]
            if dates != sorted(set(dates)):
                raise ValueError(f"{name}: effective_from dates must be distinct and in order")
        return v

    @field_validator("statutory")
    @classmethod
    def _by_country(cls, v: dict[str, Any]) -> dict[str, Any]:
        return {key if key == "default" else _country_code(key): rate for key, rate in v.items()}

    @field_validator("company_countries")
    @classmethod
    def _company_countries(cls, v: dict[str, str]) -> dict[str, str]:
        return {str(company).strip(): _country_code(country) for company, country in v.items()}

    @model_validator(mode="after")
    def _known_bases(self) -> InterestSettings:
        for country, rate in self.statutory.items():
            if rate is not None and rate.base_rate not in self.base_rates:
                raise ValueError(f"statutory.{country}: base rate {rate.base_rate!r} is not in base_rates")
        return self

    def rate_for(self, country: str | None) -> StatutoryRate | None:
        if country and country in self.statutory:
            return self.statutory[country]
        return self.statutory.get("default")


class DunningPolicies(StrictModel):
    """Everything stage 4 is configured with (``configs/dunning.yaml``)."""

    default_policy: str
    segments: dict[str, str] = Field(default_factory=dict)
    policies: dict[str, DunningPolicy] = Field(min_length=1)
    late_payment_compensation: AmountsByCurrency = Field(default_factory=dict)
    interest: InterestSettings = Field(default_factory=InterestSettings)
    #: a payment plan's instalment is still met by money that arrives this many days after its
    #: due date; one setting for every plan (a plan is agreed per account, not per policy)
    plan_grace_days: int = Field(3, ge=0, le=90)
    #: a courtesy email goes to the customer this many days before each instalment of a
    #: current plan falls due (0: none); one setting for every plan, like the grace
    plan_courtesy_days: int = Field(5, ge=0, le=60)

    @field_validator("late_payment_compensation")
    @classmethod
    def _amounts(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        return _valid_amounts(v)

    @field_validator("default_policy")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("segments", "policies")
    @classmethod
    def _upper_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        # customer master codes arrive in any case; names compare case-insensitively
        return {str(k).strip().upper(): (x.strip().upper() if isinstance(x, str) else x) for k, x in v.items()}

    @model_validator(mode="after")
    def _known_policies(self) -> DunningPolicies:
        if self.default_policy not in self.policies:
            raise ValueError(f"default_policy {self.default_policy!r} is not one of the policies")
        unknown = sorted(f"{s} -> {p}" for s, p in self.segments.items() if p not in self.policies)
        if unknown:
            raise ValueError(f"segments name policies that do not exist: {', '.join(unknown)}")
        return self


def load_dunning_policies(path: str | Path | None = None) -> DunningPolicies:
    """The policies from ``configs/dunning.yaml`` (or ``path``); a bad file raises ConfigError."""
    path = Path(path) if path is not None else ConfigFolder().file("dunning.yaml")
    return load_yaml_model(path, DunningPolicies, "Dunning policies file", "default_policy, segments, policies, ...")
