"""Courtesy notices: the friendly note before the due date of a policy whose level 1 has
days_past_due 0 or less, for accounts with nothing overdue to chase."""

from __future__ import annotations

import numpy as np
import pandas as pd

from receivables.dunning.columns import Columns, _isin
from receivables.dunning.policies import DunningPolicies
from receivables.dunning.policy_table import _PolicyTable

#: why an item in its courtesy window gets no courtesy although nothing excludes it: its
#: account has overdue items a reminder or a person deals with (never in ``skipped``, which
#: lists overdue items only)
OVERDUE_ACCOUNT = "OVERDUE_ACCOUNT"

#: overdue items that stop a courtesy for the account's other invoices: ones to remind, and
#: ones waiting for a person to settle credits or unallocated payments
_STANDING = ("", "CREDIT_BALANCE", "UNAPPLIED_CASH")


def _courtesy_window(items: Columns, table: _PolicyTable) -> np.ndarray:
    """Open items not yet due whose policy has a courtesy level and whose due date is near
    enough for it; an item that was dunned past level 1 before (its due date moved later)
    waits until it is overdue again instead of getting a friendly note."""
    p = table.index(items["policy"])
    pp = np.maximum(p, 0)
    days = items["days_past_due"]
    return (
        (p >= 0)
        & table.courtesy[pp]
        & (items["open_amount"] > 0)
        & ~np.isnat(items["due_date"])
        & (days < 1)
        & (days >= table.days[pp, 1])
        & (items["previous_level"] <= 1)
    )


def _courtesy_accounts(
    items: Columns,
    reason: np.ndarray,
    overdue: np.ndarray,
    upcoming: np.ndarray,
    net: np.ndarray,
    on_account: np.ndarray,
    held: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The reasons of the items in their courtesy window, and per group the net amount the
    level minimum is checked against (credits plus dunnable overdue plus dunnable upcoming).

    A customer with an overdue item to remind, or one waiting on its credits or unallocated
    payments, hears about that and gets no friendly note for its other invoices
    (``OVERDUE_ACCOUNT``); credits and unallocated payments net against the upcoming items
    as they do against overdue ones (``CREDIT_BALANCE``, ``UNAPPLIED_CASH``)."""
    group = items["group"]
    reason = reason.copy()
    owing = np.zeros(len(net), dtype=bool)
    owing[group[overdue & _isin(reason, _STANDING)]] = True
    reason[upcoming & (reason == "") & owing[group]] = OVERDUE_ACCOUNT
    courtesy = upcoming & (reason == "")
    net = net.copy()
    np.add.at(net, group[courtesy], items["claimed_amount"][courtesy])
    reason[courtesy & (net[group] <= 0)] = "CREDIT_BALANCE"
    reason[upcoming & (reason == "") & held & (net[group] - on_account[group] <= 0)] = "UNAPPLIED_CASH"
    return reason, net


def courtesy_notices(notices: pd.DataFrame, policies: DunningPolicies) -> np.ndarray:
    """Which notices are courtesy notices (level 1 of a policy with a courtesy level): a
    friendly note about invoices not yet due, not a reminder of anything overdue."""
    courtesy = [name for name, p in policies.policies.items() if p.courtesy_days is not None]
    level = pd.to_numeric(notices["level"]).to_numpy()
    return (level == 1) & _isin(notices["policy"].astype(object).to_numpy(), courtesy)
