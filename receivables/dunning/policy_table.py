"""The policies as numpy arrays, so that each rule looks up every item's level at once."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from receivables.dunning.policies import DunningPolicies
from receivables.money import to_cents


class _PolicyTable:
    """The policies as arrays indexed [policy, level(, currency)], so every rule is one
    vectorised look-up however many items there are.  Level 0 and the level after the last
    are padding: an item at the top never uses them."""

    def __init__(self, policies: DunningPolicies, currencies: np.ndarray) -> None:
        self.names = list(policies.policies)
        self.currencies = sorted({c for c in currencies if isinstance(c, str)})
        self.width = max(len(p.levels) for p in policies.policies.values()) + 2
        shape = (len(self.names), self.width)
        never = np.iinfo(np.int64).max
        self.max_level = np.array([len(p.levels) for p in policies.policies.values()], dtype=np.int64)
        #: whether the policy's level 1 is a courtesy level (days_past_due 0 or less)
        self.courtesy = np.array([p.courtesy_days is not None for p in policies.policies.values()], dtype=bool)
        self.days = np.full(shape, never, dtype=np.int64)
        self.gap = np.zeros(shape, dtype=np.int64)
        self.action = np.full(shape, "none", dtype=object)
        self.template = np.full(shape, None, dtype=object)
        self.interest = np.full(shape, "none", dtype=object)
        self.percent = np.full(shape, None, dtype=object)
        self.compensation = np.zeros(shape, dtype=bool)
        self.minimum = np.zeros(shape + (len(self.currencies) + 1,), dtype=np.int64)
        self.fee = np.zeros(shape + (len(self.currencies) + 1,), dtype=np.int64)
        for i, policy in enumerate(policies.policies.values()):
            for lv in policy.levels:
                at = (i, lv.level)
                self.days[at] = lv.days_past_due
                self.gap[at] = lv.min_days_since_previous
                self.action[at] = lv.action
                self.template[at] = lv.template
                self.interest[at] = lv.interest if isinstance(lv.interest, str) else "fixed"
                self.percent[at] = None if isinstance(lv.interest, str) else lv.interest.percent
                self.compensation[at] = lv.compensation
                for j, currency in enumerate(self.currencies):
                    self.minimum[at + (j,)] = to_cents(lv.minimum.get(currency, Decimal(0)))
                    self.fee[at + (j,)] = to_cents(lv.fee.get(currency, Decimal(0)))
        self.compensation_cents = {c: to_cents(a) for c, a in policies.late_payment_compensation.items()}

    def index(self, policy: np.ndarray) -> np.ndarray:
        """Row of each policy name; -1 for none."""
        return pd.Index(self.names, dtype=object).get_indexer(np.asarray(policy, dtype=object))

    def currency(self, currency: np.ndarray) -> np.ndarray:
        """Column of each currency; the last (all zero) for one the table was not built for."""
        at = pd.Index(self.currencies, dtype=object).get_indexer(np.asarray(currency, dtype=object))
        return np.where(at >= 0, at, len(self.currencies))
