"""Interest a claim accrues after its notice: the item's open principal day by day (the notice's
undisputed open amount, less the cash applied to it since) times the rate the dunning charged
the item, ACT/365, each day at the base rate in force on it (receivables.dunning.interest)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from receivables.dunning import DunningPolicies
from receivables.dunning.interest import _rate_days
from receivables.dunning.policies import FixedInterest, InterestSettings
from receivables.money import round_half_up_cents


@dataclass(frozen=True)
class Rate:
    """The interest rule of an item on its notice: statutory for a law, or a fixed percent."""

    kind: str
    percent: Decimal | None
    law: str | None
    settings: InterestSettings = field(compare=False, hash=False)

    def rate_days(self, start: date, end: date) -> Decimal:
        """Sum of the daily rates (percent) over the days after ``start`` up to ``end``."""
        return _rate_days(self.kind, self.percent, self.law, pd.Timestamp(start), pd.Timestamp(end), self.settings)


def item_rate(row, policies: DunningPolicies, countries: Mapping[str, str]) -> Rate | None:
    """The rate the item's level on its notice charged (None: that level claims no interest)."""
    policy = policies.policies.get(str(row.policy or "").upper()) or policies.policies[policies.default_policy]
    level = policy.levels[max(1, min(int(row.level), len(policy.levels))) - 1]
    rule = level.interest
    if rule == "none":
        return None
    law = policies.interest.company_countries.get(str(row.company_code)) or countries.get(str(row.customer_id))
    if isinstance(rule, FixedInterest):
        return Rate("fixed", rule.percent, law, policies.interest)
    return Rate("statutory", None, law, policies.interest)


@dataclass
class ItemPrincipal:
    """An item's open principal over time, as the ERP shows it: reset to the undisputed open
    amount of each notice listing it, reduced by each payment applied after."""

    #: (day, principal from the end of that day on), in date order
    steps: list[tuple[date, int]]
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_history(cls, rows: pd.DataFrame, paid: list[tuple[date, int]]) -> ItemPrincipal:
        disputed = rows["disputed_amount"] if "disputed_amount" in rows else 0
        claimed = (rows["open_amount"] - disputed).astype("int64")
        # the notice is made after the night's cash: on one day the payment comes first
        events = [(d, 1, int(p)) for d, p in zip(rows["as_of"], claimed)] + [(d, 0, -c) for d, c in paid]
        first = min(rows["as_of"])
        steps: list[tuple[date, int]] = []
        value = 0
        for day, is_notice, cents in sorted(events):
            if day < first:
                continue
            value = cents if is_notice else value + cents
            if steps and steps[-1][0] == day:
                steps[-1] = (day, value)
            else:
                steps.append((day, value))
        return cls(steps)

    @property
    def paid_on(self) -> date | None:
        """The day the payments brought the principal to nothing (None: still open)."""
        if not self.steps or self.steps[-1][1] > 0:
            return None
        day = self.steps[-1][0]
        for d, v in reversed(self.steps):
            if v > 0:
                break
            day = d
        return day

    @property
    def last_event(self) -> date:
        return self.steps[-1][0]

    def open_before(self, day: date) -> int:
        """The principal in force before the events of ``day``."""
        value = 0
        for d, v in self.steps:
            if d >= day:
                break
            value = v
        return value

    def accrued(self, rate: Rate, start: date, end: date) -> int:
        """Interest in cents over the days after ``start`` up to ``end`` on the principal of
        each day, rounded half-up once."""
        if end <= start:
            return 0
        key = (rate, start, end)
        if key not in self._cache:
            total = Decimal(0)
            for i, (d, value) in enumerate(self.steps):
                lo = max(d, start)
                hi = min(self.steps[i + 1][0], end) if i + 1 < len(self.steps) else end
                if hi > lo and value > 0:
                    total += value * rate.rate_days(lo, hi)
            self._cache[key] = round_half_up_cents(total / Decimal(36500))  # ACT/365, percent
        return self._cache[key]
