"""A night's work split by company code, and the parts put back together.

Cash never crosses company codes and a dunning notice belongs to one company code, so on a
distributed task runner (Dask) cash application, dunning and rendering run one part per
company code.  These functions are pure (no Run, no warehouse), so what travels to a worker is
the company's frames and nothing else: no settings, no SMTP password, no database URL.
Combining the parts restores the unpartitioned run's row order, so both give the same rows.

Who runs the parts is the caller's choice: a ``MapParts`` function gets a stage name, the
function and each company's arguments, and returns each company's result.  ``in_turn`` calls
them one after the other; the flow hands in one that submits a Prefect task per company.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from receivables import cash_application, dunning, reminders
from receivables.payment_plans import PlanStatus
from receivables.validation import ValidatedSet

#: ``map_parts(stage, fn, {code: args})`` -> ``{code: fn(*args)}``
MapParts = Callable[[str, Callable[..., Any], dict[str, tuple]], dict[str, Any]]


def in_turn(stage: str, fn: Callable[..., Any], parts: dict[str, tuple]) -> dict[str, Any]:
    """Each company's part in this process, one after the other."""
    return {code: fn(*args) for code, args in parts.items()}


def company_codes(validated: ValidatedSet) -> list[str]:
    """The company codes with open items or payments, sorted: the units of partitioned work."""
    codes: set[str] = set()
    for name in ("open_items", "payments"):
        codes |= set(_company_column(validated.frames[name]))
    return sorted(codes)


def for_company(validated: ValidatedSet, code: str) -> ValidatedSet:
    """One company code's share of the set.  Customers and FX rates stay whole: a customer
    may buy from several company codes, and identifying an unknown payer searches every
    customer, as the unpartitioned run does."""
    frames = {}
    for name, frame in validated.frames.items():
        if name in ("customers", "fx_rates") or "company_code" not in frame.columns:
            frames[name] = frame
        else:
            frames[name] = frame[_company_column(frame) == code]
    return ValidatedSet(frames=frames, quarantine=validated.quarantine.iloc[0:0], counts={})


def _company_column(frame: pd.DataFrame) -> pd.Series:
    return frame["company_code"].astype("string").fillna("").astype(str)


def match_cash(
    validated: ValidatedSet, as_of: date, rules: cash_application.MatchingRules
) -> cash_application.CashApplication:
    """Stage 3 for one company code's share (or the whole set), without a Run."""
    f = validated.frames
    return cash_application.apply_cash(f["open_items"], f["payments"], f["customers"], rules, as_of)


def combine_cash(
    validated: ValidatedSet, parts: list[cash_application.CashApplication], as_of: date
) -> cash_application.CashApplication:
    """The per-company results as one, in the order the unpartitioned run produces: payments
    by value date then payment id, open items in their input order."""
    payments = validated.frames["payments"]
    days = pd.to_datetime(payments["value_date"]).fillna(pd.Timestamp(as_of)).dt.normalize()
    processed = pd.DataFrame({"d": days.to_numpy(), "p": payments["payment_id"].astype("string").to_numpy()})
    rank = {pid: i for i, pid in enumerate(processed.sort_values(["d", "p"], kind="stable")["p"])}

    def by_payment(name: str) -> pd.DataFrame:
        frame = _concat([getattr(p, name) for p in parts])
        order = np.argsort(frame["payment_id"].map(rank).to_numpy(dtype="int64"), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    open_items = validated.frames["open_items"]
    after = _concat([p.open_items_after for p in parts], keep_index=True).loc[open_items.index]
    return cash_application.CashApplication(
        applications=by_payment("applications"),
        unapplied=by_payment("unapplied"),
        open_items_after=after,
        identifications=by_payment("identifications"),
    )


def propose_company_dunning(
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    history: pd.DataFrame,
    as_of: date,
    policies: dunning.DunningPolicies,
    plans: PlanStatus | None = None,
    handed_over: pd.DataFrame | None = None,
    written_off: pd.DataFrame | None = None,
) -> dunning.DunningProposal:
    """Stage 4 for one company code's share, without a Run (see ``propose_dunning``);
    ``plans`` is the payment plans' status on as_of (its current plans pause their items),
    ``handed_over`` the accounts whose case is at the agency (their dunning pauses),
    ``written_off`` the items whose write-off is approved (skipped as WRITTEN_OFF)."""
    f = validated.frames
    if "company_code" in history.columns and not f["open_items"].empty:
        history = history[history["company_code"].astype(str).isin(_company_column(f["open_items"]).unique())]
    return dunning.propose_dunning(
        cash.open_items_after,
        f["customers"],
        f["disputes"],
        f["promises"],
        history,
        policies,
        as_of,
        unapplied=cash.unapplied,
        # the contact log's PROMISE outcomes are promises too
        activities=f["activities"],
        plans=plans,
        handed_over=handed_over,
        written_off=written_off,
    )


def combine_dunning(parts: list[dunning.DunningProposal], as_of: date) -> dunning.DunningProposal:
    """The per-company proposals as one, sorted as ``dunning.propose_dunning`` sorts them."""

    def merged(name: str, columns: list[str], order: list[str]) -> pd.DataFrame:
        return dunning.typed_frame(_concat([getattr(p, name) for p in parts]), columns, order=order)

    return dunning.DunningProposal(
        as_of=pd.Timestamp(as_of).date(),
        notices=merged("notices", dunning.NOTICE_COLUMNS, ["company_code", "customer_id", "currency"]),
        items=merged("items", dunning.ITEM_COLUMNS, ["notice_id", "document_no"]),
        skipped=merged("skipped", dunning.SKIPPED_COLUMNS, ["company_code", "document_no"]),
        broken_promises=merged("broken_promises", dunning.BROKEN_PROMISE_COLUMNS, ["promise_id"]),
    )


def render_company_reminders(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items_after: pd.DataFrame,
    as_of: date,
    companies: dict,
    templates: reminders.TemplateDirs,
    earlier_claims: pd.DataFrame | None = None,
) -> list:
    """Stage 5a for one company code's notices, without a Run (one process: the distributed
    runner already spreads the companies over its workers); ``earlier_claims`` are the fees
    and interest the company's earlier notices still claim (``DunningStep.earlier_claims``)."""
    return reminders.compose_notices(
        notices,
        items,
        customers,
        open_items_after,
        as_of,
        companies=companies,
        template_dir=templates,
        earlier_claims=earlier_claims,
    )


def combine_reminders(notices: pd.DataFrame, parts: list[list]) -> list:
    """The rendered emails in the order of the notices, as the unpartitioned run lists them."""
    position = {nid: i for i, nid in enumerate(notices["notice_id"].astype(str))}
    return sorted((e for part in parts for e in part), key=lambda e: position[str(e.notice_id)])


def _concat(frames: list[pd.DataFrame], keep_index: bool = False) -> pd.DataFrame:
    # empty parts would turn typed columns into object columns
    rows = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(rows, ignore_index=not keep_index)


def cash_for_company(cash: cash_application.CashApplication, code: str) -> cash_application.CashApplication:
    """One company code's share of a cash application result (what dunning reads of it: the
    open items after tonight's cash and the money left unapplied on the customers' accounts)."""
    after = cash.open_items_after
    return cash_application.CashApplication(
        applications=cash.applications.iloc[0:0],
        unapplied=cash.unapplied[_company_column(cash.unapplied) == code],
        open_items_after=after[_company_column(after) == code],
        identifications=cash.identifications.iloc[0:0],
    )


def split_codes(validated: ValidatedSet, map_parts: MapParts | None) -> list[str]:
    """The company codes to run a stage in parts for: none without a mapper (the company
    codes of a million rows are not free) or with a single company code."""
    if map_parts is None:
        return []
    codes = company_codes(validated)
    return codes if len(codes) > 1 else []
