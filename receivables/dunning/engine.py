"""``propose_dunning``: the rules applied in the order an item meets them, for one as_of."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from receivables.dunning.columns import _ITEM, _SEP, _group_key, _isin, _key, _take, _with_keys
from receivables.dunning.courtesy import _courtesy_accounts, _courtesy_window
from receivables.dunning.exclusions import (
    _disputed_cents,
    _exclusion_reasons,
    _net_overdue,
    _open_disputes,
    _unapplied_on_account,
)
from receivables.dunning.interest import _charges
from receivables.dunning.items import _items, _with_customers
from receivables.dunning.levels import _advance, _previous_levels
from receivables.dunning.policies import DunningPolicies
from receivables.dunning.policy_table import _PolicyTable
from receivables.dunning.promises import _promises, promise_book
from receivables.dunning.proposal import (
    BROKEN_PROMISE_COLUMNS,
    ITEM_COLUMNS,
    SKIPPED_COLUMNS,
    DunningProposal,
    _notices,
    notice_ids,
    typed_frame,
)

if TYPE_CHECKING:
    from receivables.payment_plans import PlanStatus


def _holds_unapplied(policy: np.ndarray, policies: DunningPolicies) -> np.ndarray:
    """Items whose policy weighs the customer's unapplied payments before reminding."""
    holding = [name for name, p in policies.policies.items() if p.unapplied_cash == "hold"]
    return _isin(policy, holding)


def _listed(f: dict, dunnable: np.ndarray, group: np.ndarray, groups: np.ndarray, day: pd.Timestamp) -> dict:
    """The dunnable items of every group with an advancing item, each with its notice's id:
    one notice lists all of a customer's dunnable items in that company code and currency."""
    notified = np.zeros(len(groups), dtype=bool)
    notified[group[f["advances"]]] = True
    listed = _take(f, dunnable & notified[group])
    ids = np.full(len(groups), None, dtype=object)
    at = np.flatnonzero(notified)
    ids[at] = notice_ids(day, [tuple(g.split(_SEP)) for g in np.asarray(groups, dtype=object)[at]])
    listed["notice_id"] = ids[listed["group"]]
    return listed


def propose_dunning(
    open_items: pd.DataFrame,
    customers: pd.DataFrame,
    disputes: pd.DataFrame | None,
    promises: pd.DataFrame | None,
    history: pd.DataFrame | None,
    policies: DunningPolicies,
    as_of: date | str | pd.Timestamp,
    unapplied: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    plans: PlanStatus | None = None,
    handed_over: pd.DataFrame | None = None,
    written_off: pd.DataFrame | None = None,
) -> DunningProposal:
    """Who is dunned today at which level, for which items, with which fees and interest.

    ``open_items`` are the open items after cash application (canonical columns, cents);
    ``history`` is the state before as_of: per item its last level and the as_of it reached
    it (``receivables.warehouse.dunning_history.previous_levels``); ``unapplied`` is what cash
    application left unapplied (money on account of identified customers); ``activities`` is
    the contact log, whose ``PROMISE`` outcomes are promises like the extract's rows;
    ``plans`` the payment plans' status on as_of (the documents of a current plan are skipped
    as ``PLAN``); ``handed_over`` the accounts (company_code, customer_id) whose collection case
    is at the agency (their items are skipped as ``HANDOVER``); ``written_off`` the items
    (company_code, document_no) whose write-off is approved (skipped as ``WRITTEN_OFF``).
    The rules are in the docstring of ``receivables.dunning``.
    """
    day = pd.Timestamp(as_of).normalize()
    f = _with_keys(_with_customers(_items(open_items, day), customers, policies))
    table = _PolicyTable(policies, f["currency"])
    active, broken = _promises(promise_book(promises, activities), f, policies, day)

    f.update(_previous_levels(history, f))
    overdue = (f["open_amount"] > 0) & (f["days_past_due"] >= 1)
    upcoming = _courtesy_window(f, table)
    reasons, disputed = _paused(f, disputes, active, plans, handed_over, day, written_off)
    reason = np.where(overdue | upcoming, reasons, "").astype(object)
    # a partly disputed item is claimed for its undisputed rest only: that is what nets,
    # meets the minimum, bears interest and is the notice's overdue amount
    f["disputed_amount"] = disputed
    f["claimed_amount"] = f["open_amount"] - disputed
    group, groups = pd.factorize(_group_key(f))
    f["group"] = group
    reason = _weigh_money(f, reason, overdue, upcoming, len(groups), groups, policies, unapplied)
    dunnable = (overdue | upcoming) & (reason == "")
    f.update(_advance(f, table, day, dunnable))

    listed = _listed(f, dunnable, group, groups, day)
    listed.update(_charges(listed, table, policies, day))

    return DunningProposal(
        as_of=day.date(),
        notices=_notices(listed, table),
        items=typed_frame(listed, ITEM_COLUMNS, order=["notice_id", "document_no"]),
        skipped=typed_frame(_skipped(f, overdue), SKIPPED_COLUMNS, order=_ITEM),
        broken_promises=typed_frame(broken, BROKEN_PROMISE_COLUMNS, order=["promise_id"]),
    )


def _weigh_money(
    f: dict,
    reason: np.ndarray,
    overdue: np.ndarray,
    upcoming: np.ndarray,
    n_groups: int,
    groups: pd.Index,
    policies: DunningPolicies,
    unapplied: pd.DataFrame | None,
) -> np.ndarray:
    """The customer's money weighed per group: credits netted against what is claimed (none
    left: ``CREDIT_BALANCE``), its unapplied payments held against the rest where the policy
    says so (covered: ``UNAPPLIED_CASH``), and the courtesy window's accounts.  Stores the
    group's net overdue, credits and unapplied amounts on the items; returns the reasons."""
    group = f["group"]
    net, credits = _net_overdue(f["claimed_amount"], group, n_groups, overdue & (reason == ""))
    reason[overdue & (reason == "") & (net[group] <= 0)] = "CREDIT_BALANCE"
    on_account = _unapplied_on_account(unapplied, groups)
    held = _holds_unapplied(f["policy"], policies) & (on_account[group] > 0)
    reason[overdue & (reason == "") & held & (net[group] - on_account[group] <= 0)] = "UNAPPLIED_CASH"
    reason, net = _courtesy_accounts(f, reason, overdue, upcoming, net, on_account, held)
    f.update(
        reason=reason,
        net_overdue=net[group],
        credit_amount=credits[group],
        unapplied_amount=np.where(held, on_account[group], 0),
    )
    return reason


def _paused(
    f: dict,
    disputes: pd.DataFrame | None,
    active: np.ndarray,
    plans: PlanStatus | None,
    handed_over: pd.DataFrame | None,
    day: pd.Timestamp,
    written_off: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's exclusion reason before the account's money is weighed: disputes, blocks,
    the agency, promises and plans (``_exclusion_reasons``); and the part of each item its
    open document disputes block (``_disputed_cents``)."""
    planned = _key(plans.paused_items(), _ITEM) if plans is not None else None
    agency = _key(handed_over.astype(str), ["company_code", "customer_id"]) if handed_over is not None else None
    gone = _key(written_off.astype(str), _ITEM) if written_off is not None else None
    open_disputes = _open_disputes(disputes, day)
    parts = _disputed_cents(f, open_disputes)
    return _exclusion_reasons(f, open_disputes, active, planned, agency, gone, parts), parts[1]


def _skipped(f: dict, overdue: np.ndarray) -> dict:
    """The overdue items on no notice or holding their level, with the reason, at the level
    they keep."""
    skipped = _take(f, overdue & ((f["reason"] != "") | (f["hold"] != "")))
    skipped["reason"] = np.where(skipped["reason"] != "", skipped["reason"], skipped["hold"])
    skipped["level"] = skipped["previous_level"]
    return skipped
