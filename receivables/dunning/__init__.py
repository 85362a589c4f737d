"""Stage 4, dunning: who gets which reminder today, with fees and interest to the cent.

``propose_dunning`` takes the open items *after cash application*, the customer master,
disputes, promises to pay, the dunning state before ``as_of`` (``history``) and the policies
from ``configs/dunning.yaml``, and returns a ``DunningProposal``: the notices, the items on
them, the overdue items that did not advance and why, and the promises found broken.  It is
pure: the same inputs give the same proposal, so a rerun for the same as_of, which reads the
same history (the state *before* that as_of), reproduces the same notices instead of
advancing again.  Reading and writing that state is ``receivables.warehouse.dunning_history``.

Decisions where the issue is silent, in the order an item meets them:

* Only items with a positive open amount can be dunned, and only once past their due date
  (``days_past_due = as_of - due_date >= 1``).  Items with open_amount 0 are ignored.
* **Credits net.**  Credit notes, payments on account and other negative open items (due or
  not) are subtracted from the customer's overdue total in that company code and currency
  before the level minimum is checked, and shown on the notice as ``credit_amount``.  Chasing
  a customer for money we already owe back to them annoys good customers and is exactly what
  a collector would not do; when credits cover the whole overdue amount the items are
  skipped as ``CREDIT_BALANCE``, for a person to settle the account.
* An overdue item is **excluded** (on no notice) while, first reason wins: its customer is
  not in the master (``UNKNOWN_CUSTOMER``) or names a policy that does not exist
  (``UNKNOWN_POLICY``); it, or the customer's account in that company code (a dispute
  without document_no), has an open dispute (``DISPUTE``); it is blocked (``ITEM_BLOCK``); the
  customer is blocked (``CUSTOMER_BLOCK``); a promise covering it is active (``PROMISE``);
  the customer's net overdue amount is not positive (``CREDIT_BALANCE``).  A dispute is
  open on as_of when its status is OPEN and it was opened by then, or when it was resolved
  only after as_of (a rerun for an earlier date sees it as it was).  When the pause ends the
  item resumes from its level; the wait for the next level counts from the day it reached
  its level, so it may advance on the first night after the pause.
* Every other overdue item is **dunnable**.  It advances from level N to N+1, at most one
  level per run, when it is ``days_past_due`` of level N+1 overdue, at least
  ``min_days_since_previous`` days have passed since it *reached* level N (the history's
  as_of), and the net overdue amount is at least level N+1's minimum.  Otherwise it keeps
  its level: ``MAX_LEVEL``, ``TOO_SOON`` and ``BELOW_MINIMUM`` are recorded in ``skipped``,
  not yet being overdue enough for the next level is the normal wait and is not recorded.
  A level never goes down, and only changes when the item advances.
* **One notice per (company_code, customer_id, currency), only on a run where at least one
  of its items advances**, so nobody gets a duplicate reminder on a day nothing changed.
  The notice lists every dunnable overdue item of the group with its current level (level 0
  for an item overdue but not yet at level 1) and its level is the highest item level.  The
  action and template are that level's; an item carried over from a policy with more levels
  uses the last level of the current policy.
* **Fees**: the level's fee is charged on the notice that first takes the account to that
  level (notice level above every listed item's previous level), not again when a later
  notice repeats the level because another item advanced.  The EU flat compensation is an
  item fee: once per invoice (document_type INV), on the run the invoice reaches the level
  marked ``compensation``.  ``notices.fees`` = level fee + the items' fees.
* **Interest**: accrued statutory (or fixed) interest to as_of on each listed item whose
  *own* level claims it (the policy's ``interest`` on that level): open amount x rate x days
  overdue / 365, summed per day over the base rates in force, rounded half-up to the cent
  once per item.  Partial payments are not time-weighted: the open amount today is used.
  The statutory rate is that of the company code's country (``company_countries``: the
  seller's law usually governs the contract), else of the customer's country.
* **Promises**: a promise covers its document, or with a blank document_no every item of
  the customer's account in that company code due on or before the promised date.  It is
  active from created_on until promised_date + the policy's grace days; then dunning
  resumes, and it is *broken* when the covered items still open carry more than their
  original amount less the promised amount (less than promised has been paid on them).
  A document promise is judged exactly; for a whole-account promise (an amount in the
  customer's master currency) items paid in full have left the extract, so only what is
  still open counts (an account whose covered items are all gone kept its promise).  A
  broken promise is listed on every run while it stays broken, which is what the promise
  KPI counts for that as_of.
* **Notice ids** are derived from as_of, company code, customer and currency, so a rerun
  gives the same ids (and the e-mail outbox the same idempotency keys).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from receivables.config_folder import ConfigFolder
from receivables.money import StrictModel, cent_amount, cents_array, round_half_up_cents, to_cents
from receivables.settings import load_yaml_model

#: why an overdue item is on no notice, first one wins
EXCLUSION_REASONS = (
    "UNKNOWN_CUSTOMER",
    "UNKNOWN_POLICY",
    "DISPUTE",
    "ITEM_BLOCK",
    "CUSTOMER_BLOCK",
    "PROMISE",
    "CREDIT_BALANCE",
)
#: why a dunnable item keeps its level (it is still listed when its group gets a notice)
HOLD_REASONS = ("MAX_LEVEL", "TOO_SOON", "BELOW_MINIMUM")
SKIP_REASONS = EXCLUSION_REASONS + HOLD_REASONS

NOTICE_COLUMNS = [
    "notice_id",
    "company_code",
    "customer_id",
    "currency",
    "level",
    "overdue_amount",
    "credit_amount",
    "fees",
    "interest",
    "action",
    "policy",
    "template",
    "language",
]
ITEM_COLUMNS = [
    "notice_id",
    "company_code",
    "document_no",
    "customer_id",
    "currency",
    "document_type",
    "document_date",
    "due_date",
    "reference",
    "amount",
    "open_amount",
    "previous_level",
    "level",
    "days_past_due",
    "interest",
    "fee",
]
SKIPPED_COLUMNS = [
    "company_code",
    "document_no",
    "customer_id",
    "currency",
    "reason",
    "level",
    "days_past_due",
    "open_amount",
]
BROKEN_PROMISE_COLUMNS = [
    "promise_id",
    "company_code",
    "customer_id",
    "document_no",
    "promised_amount",
    "promised_date",
    "covered_open_amount",
]
HISTORY_COLUMNS = ["company_code", "document_no", "level", "as_of"]

_GROUP = ["company_code", "customer_id", "currency"]
_ITEM = ["company_code", "document_no"]


# --- configuration ---------------------------------------------------------------------------


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
    #: an item reaches the level this many days after its due date at the earliest
    days_past_due: int = Field(ge=1)
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


class DunningPolicy(StrictModel):
    description: str = ""
    #: a promise pauses dunning until promised_date + this many days
    promise_grace_days: int = Field(3, ge=0, le=90)
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
        return self


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


# --- the proposal ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DunningProposal:
    """What stage 4 decides for one as_of; money in integer cents, levels as integers."""

    as_of: date
    #: one row per notice: (company_code, customer_id, currency) with an advancing item
    notices: pd.DataFrame
    #: the items listed on the notices, with their previous and current level
    items: pd.DataFrame
    #: overdue items that did not advance, with the reason (SKIP_REASONS)
    skipped: pd.DataFrame
    #: promises whose date + grace has passed with less than the promised amount paid
    broken_promises: pd.DataFrame

    @property
    def counts(self) -> dict[str, Any]:
        """Key numbers for the run log and the flow's summary."""
        return {
            "notices": len(self.notices),
            "items": len(self.items),
            "advanced": int((self.items["level"] > self.items["previous_level"]).sum()),
            "skipped": {str(k): int(v) for k, v in self.skipped["reason"].value_counts().sort_index().items()},
            "broken_promises": len(self.broken_promises),
            "by_action": {str(k): int(v) for k, v in self.notices["action"].value_counts().sort_index().items()},
        }


def notice_id(as_of: date, company_code: str, customer_id: str, currency: str) -> str:
    """A notice's id: the same as_of, company, customer and currency give the same id."""
    day = pd.Timestamp(as_of)
    digest = hashlib.sha256(f"{day:%Y-%m-%d}|{company_code}|{customer_id}|{currency}".encode()).hexdigest()
    return f"DN-{day:%Y%m%d}-{digest[:16].upper()}"


def propose_dunning(
    open_items: pd.DataFrame,
    customers: pd.DataFrame,
    disputes: pd.DataFrame | None,
    promises: pd.DataFrame | None,
    history: pd.DataFrame | None,
    policies: DunningPolicies,
    as_of: date | str | pd.Timestamp,
) -> DunningProposal:
    """Who is dunned today at which level, for which items, with which fees and interest.

    ``open_items`` are the open items after cash application (canonical columns, cents);
    ``history`` is the state before as_of: per item its last level and the as_of it reached
    it (``receivables.warehouse.dunning_history.previous_levels``).  See the module docstring
    for the rules.
    """
    day = pd.Timestamp(as_of).normalize()
    f = _with_customers(_items(open_items, day), customers, policies)
    table = _PolicyTable(policies, f["currency"])
    active, broken = _promises(promises, f, policies, day)

    overdue = (f["open_amount"] > 0) & (f["days_past_due"] >= 1)
    reason = np.where(overdue, _exclusion_reasons(f, _open_disputes(disputes, day), active), "").astype(object)
    group, groups = pd.factorize(_key(f, _GROUP))
    net, credits = _net_overdue(f["open_amount"], group, len(groups), overdue & (reason == ""))
    reason[overdue & (reason == "") & (net[group] <= 0)] = "CREDIT_BALANCE"
    dunnable = overdue & (reason == "")
    f.update(reason=reason, net_overdue=net[group], credit_amount=credits[group], group=group)
    f.update(_advance(f, history, table, day, dunnable))

    notified = np.zeros(len(groups), dtype=bool)
    notified[group[f["advances"]]] = True
    listed = _take(f, dunnable & notified[group])
    ids = np.full(len(groups), None, dtype=object)
    for g in np.flatnonzero(notified):
        ids[g] = notice_id(day, *groups[g].split(_SEP))
    listed["notice_id"] = ids[listed["group"]]
    listed.update(_charges(listed, table, policies, day))

    skipped = _take(f, overdue & ((reason != "") | (f["hold"] != "")))
    skipped["reason"] = np.where(skipped["reason"] != "", skipped["reason"], skipped["hold"])
    skipped["level"] = skipped["previous_level"]
    return DunningProposal(
        as_of=day.date(),
        notices=_notices(listed, table),
        items=typed_frame(listed, ITEM_COLUMNS, order=["notice_id", "document_no"]),
        skipped=typed_frame(skipped, SKIPPED_COLUMNS, order=_ITEM),
        broken_promises=typed_frame(broken, BROKEN_PROMISE_COLUMNS, order=["promise_id"]),
    )


# --- the rules -------------------------------------------------------------------------------
#
# The rules work on plain columns (a dict of numpy arrays, one row per item): a nightly run
# may have a million items, and a test or a small company a dozen, where a DataFrame
# operation costs more than the rule itself.

Columns = dict[str, np.ndarray]


def _items(open_items: pd.DataFrame, day: pd.Timestamp) -> Columns:
    """The open items that still carry money, with their days past due as of the run date;
    an item with nothing open left is not the dunning's business."""
    f = open_items[cents_array(open_items["open_amount"], blank_as_zero=True) != 0]
    n = len(f)
    due = _dates(f["due_date"])
    past = (np.datetime64(day.date(), "D") - due.astype("datetime64[D]")).astype(np.int64)
    return {
        "company_code": _text(f["company_code"]),
        "document_no": _text(f["document_no"]),
        "document_type": _or(_upper(f, "document_type"), "INV"),
        "customer_id": _text(f["customer_id"]),
        "document_date": _dates(f["document_date"])
        if "document_date" in f
        else np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
        "due_date": due,
        "currency": _upper(f, "currency"),
        "amount": cents_array(f["amount"], blank_as_zero=True)
        if "amount" in f
        else cents_array(f["open_amount"], blank_as_zero=True),
        "open_amount": cents_array(f["open_amount"], blank_as_zero=True),
        "reference": _text(f["reference"]) if "reference" in f else np.full(n, None, dtype=object),
        "item_block": _flags(f, "dunning_block"),
        "days_past_due": np.where(np.isnat(due), 0, past),
    }


def _with_customers(items: Columns, customers: pd.DataFrame, policies: DunningPolicies) -> Columns:
    """Each item with its customer's policy, block, language and country.

    The override in ``dunning_policy`` wins over the segment; a segment without a policy
    falls back to the default policy, but an override naming no policy is a data error
    the item is held for (UNKNOWN_POLICY), rather than silently dunned by another policy."""
    ids = _text(customers["customer_id"])
    first = ~pd.Index(ids).duplicated()
    c = customers[first]
    segment = _upper(c, "segment")
    by_segment = np.array([policies.segments.get(s, policies.default_policy) for s in segment], dtype=object)
    override = _upper(c, "dunning_policy")
    policy = np.where(pd.isna(override), by_segment, override)
    known = _isin(policy, list(policies.policies))
    language = _text(c["language"]) if "language" in c else np.full(len(c), None, dtype=object)
    at = pd.Index(ids[first]).get_indexer(items["customer_id"])
    found = at >= 0
    pick = np.where(found, at, 0)

    def take(values: np.ndarray, missing: object) -> np.ndarray:
        if len(c) == 0:
            return np.full(len(found), missing, dtype=object)
        return np.where(found, np.asarray(values, dtype=object)[pick], missing)

    return {
        **items,
        "known_customer": found,
        "policy": take(np.where(known, policy, None), None),
        "unknown_policy": found & take(~known, False).astype(bool),
        "customer_block": take(_flags(c, "dunning_block"), False).astype(bool),
        "language": np.array([x.lower() if x else "en" for x in take(language, None)], dtype=object),
        "country": take(_upper(c, "country"), None),
        "customer_currency": take(_upper(c, "currency"), None),
    }


def _open_disputes(disputes: pd.DataFrame | None, day: pd.Timestamp) -> Columns:
    """Disputes open on as_of: status OPEN and opened by then, or resolved only after as_of
    (so a rerun for an earlier date sees the dispute as it was then)."""
    cols = ["company_code", "document_no", "customer_id"]
    if disputes is None or disputes.empty:
        return {c: np.array([], dtype=object) for c in cols}
    now = np.datetime64(day)
    opened = _dates(disputes["opened_on"])
    resolved = (
        _dates(disputes["resolved_on"])
        if "resolved_on" in disputes
        else np.full(len(disputes), np.datetime64("NaT"), "datetime64[ns]")
    )
    started = np.isnat(opened) | (opened <= now)
    is_open = started & ((_upper(disputes, "status") == "OPEN") | (~np.isnat(resolved) & (resolved > now)))
    return {c: _text(disputes[c])[is_open] for c in cols}


def _promises(
    promises: pd.DataFrame | None, items: Columns, policies: DunningPolicies, day: pd.Timestamp
) -> tuple[np.ndarray, Columns]:
    """The items an active promise covers today (their keys), and the broken promises.

    Active: created_on <= as_of <= promised_date + grace (the customer's policy); then
    dunning resumes, and the promise is broken when its covered items still open carry more
    than their original amount less the promised amount (less than promised was paid)."""
    none: Columns = {c: np.array([], dtype=object) for c in BROKEN_PROMISE_COLUMNS}
    if promises is None or promises.empty:
        return np.array([], dtype=object), none
    created = _dates(promises["created_on"])
    known = np.isnat(created) | (created <= np.datetime64(day))
    pr = promises[known]
    p: Columns = {
        "promise_id": _text(pr["promise_id"]),
        "company_code": _text(pr["company_code"]),
        "customer_id": _text(pr["customer_id"]),
        "document_no": _text(pr["document_no"]),
        "promised_amount": cents_array(pr["promised_amount"], blank_as_zero=True),
        "promised_date": _dates(pr["promised_date"]),
    }
    # the grace of the customer's policy (the default policy's for a customer without items)
    policy_of = dict(zip(items["customer_id"], items["policy"]))
    grace = np.array(
        [policies.policies[policy_of.get(c) or policies.default_policy].promise_grace_days for c in p["customer_id"]],
        dtype="timedelta64[D]",
    )
    until = p["promised_date"] + grace

    promise_row, item_row, counts = _covered(p, items)
    in_force = until[promise_row] >= np.datetime64(day)
    active = _key(items, _ITEM)[item_row[in_force]]

    judged = ~in_force & counts
    open_sum = np.zeros(len(until), dtype=np.int64)
    amount_sum = np.zeros(len(until), dtype=np.int64)
    seen = np.zeros(len(until), dtype=bool)
    np.add.at(open_sum, promise_row[judged], items["open_amount"][item_row[judged]])
    np.add.at(amount_sum, promise_row[judged], items["amount"][item_row[judged]])
    seen[promise_row[judged]] = True
    p["covered_open_amount"] = open_sum
    return active, _take(p, seen & (open_sum > amount_sum - p["promised_amount"]))


def _covered(p: Columns, items: Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(promise row, item row) for every open debit a promise covers: its document, or for
    a whole-account promise every item of the account due by the promised date; and whether
    the item counts when judging the promise (a whole-account promise is an amount in the
    customer's own currency: only items in that currency can show whether it was kept)."""
    debit = np.flatnonzero(items["open_amount"] > 0)
    on_document = ~pd.isna(p["document_no"])
    keys = pd.Index(_key(items, _ITEM)[debit])
    first = ~keys.duplicated()
    at = pd.Index(keys[first]).get_indexer(_key(_take(p, on_document), _ITEM))
    pairs = [(np.flatnonzero(on_document)[at >= 0], debit[first][at[at >= 0]])]
    account = ["company_code", "customer_id"]
    if (~on_document).any():
        left = pd.DataFrame({"account": _key(p, account)[~on_document], "promise_row": np.flatnonzero(~on_document)})
        right = pd.DataFrame({"account": _key(items, account)[debit], "item_row": debit})
        both = left.merge(right, on="account")
        promise_row, item_row = both["promise_row"].to_numpy(), both["item_row"].to_numpy()
        due_by = items["due_date"][item_row] <= p["promised_date"][promise_row]
        pairs.append((promise_row[due_by], item_row[due_by]))
    promise_row = np.concatenate([pr for pr, _ in pairs]).astype(np.int64)
    item_row = np.concatenate([it for _, it in pairs]).astype(np.int64)
    by_account = pd.isna(p["document_no"])[promise_row]
    counts = ~by_account | (items["currency"][item_row] == items["customer_currency"][item_row])
    return promise_row, item_row, counts.astype(bool)


def _exclusion_reasons(items: Columns, disputes: Columns, active_promises: np.ndarray) -> np.ndarray:
    """Why each item is on no notice today ("" = nothing stops it), first reason wins:
    unknown customer or policy, an open dispute on it or its account, a block on it or its
    customer, an active promise to pay."""
    account = ["company_code", "customer_id"]
    on_document = ~pd.isna(disputes["document_no"])
    disputed = _isin(_key(items, _ITEM), _key(_take(disputes, on_document), _ITEM)) | _isin(
        _key(items, account), _key(_take(disputes, ~on_document), account)
    )
    conditions = [
        ~items["known_customer"],
        items["unknown_policy"],
        disputed,
        items["item_block"],
        items["customer_block"],
        _isin(_key(items, _ITEM), active_promises),
    ]
    return np.select(conditions, list(EXCLUSION_REASONS[:6]), default="").astype(object)


def _net_overdue(
    open_amount: np.ndarray, group: np.ndarray, n_groups: int, dunnable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, company code and currency: what the customer owes us that we may chase
    (dunnable overdue debits plus all its credits), and the credits alone."""
    credit = open_amount < 0
    credits = np.zeros(n_groups, dtype=np.int64)
    np.add.at(credits, group[credit], open_amount[credit])
    net = credits.copy()
    np.add.at(net, group[dunnable], open_amount[dunnable])
    return net, credits


def _advance(
    items: Columns, history: pd.DataFrame | None, table: _PolicyTable, day: pd.Timestamp, dunnable: np.ndarray
) -> Columns:
    """Each dunnable item's level after this run: at most one step up, when the next level's
    days past due, days since the item reached its level, and minimum amount all allow it;
    otherwise the level stays, with the reason when it is not just the normal wait."""
    previous, previous_on = _history_lookup(history, _key(items, _ITEM))
    p = table.index(items["policy"])
    pp = np.maximum(p, 0)  # rows without a policy are excluded anyway
    top = np.where(p >= 0, table.max_level[pp], 0)
    nxt = np.minimum(previous + 1, table.width - 1)
    at_top = previous >= top
    due = ~at_top & (items["days_past_due"] >= table.days[pp, nxt])
    since = (np.datetime64(day.date(), "D") - previous_on.astype("datetime64[D]")).astype(np.int64)
    too_soon = due & (previous > 0) & (since < table.gap[pp, nxt])
    below = due & ~too_soon & (items["net_overdue"] < table.minimum[pp, nxt, table.currency(items["currency"])])
    advances = dunnable & due & ~too_soon & ~below
    hold = np.select([at_top, too_soon, below], list(HOLD_REASONS), default="").astype(object)
    return {
        "previous_level": previous,
        "max_level": top,
        "advances": advances,
        "hold": np.where(dunnable, hold, "").astype(object),
        "level": previous + advances.astype(np.int64),
    }


def _charges(listed: Columns, table: _PolicyTable, policies: DunningPolicies, day: pd.Timestamp) -> Columns:
    """Interest accrued to as_of where the item's own level claims it, and the flat
    compensation on invoices that reach the compensation level in this run."""
    p = table.index(listed["policy"])
    # an item carried over from a longer policy is treated as the last level of this one
    rule_level = np.minimum(listed["level"], listed["max_level"])
    kind, percent = table.interest[p, rule_level], table.percent[p, rule_level]
    settings = policies.interest
    # the rate x days of an item depends only on these, shared by many items
    cache: dict[tuple, Decimal] = {}
    interest = np.zeros(len(p), dtype=np.int64)
    for i in np.flatnonzero(kind != "none"):
        law = settings.company_countries.get(listed["company_code"][i]) or listed["country"][i]
        due = listed["due_date"][i]
        key = (kind[i], percent[i], law, due)
        if key not in cache:
            cache[key] = _rate_days(kind[i], percent[i], law, pd.Timestamp(due), day, settings)
        interest[i] = _interest_cents(int(listed["open_amount"][i]), cache[key])
    reaches = listed["advances"] & table.compensation[p, rule_level] & (listed["document_type"] == "INV")
    compensation = np.array([table.compensation_cents.get(c, 0) for c in listed["currency"]], dtype=np.int64)
    return {"interest": interest, "fee": np.where(reaches, compensation, 0).astype(np.int64)}


def _notices(listed: Columns, table: _PolicyTable) -> pd.DataFrame:
    """One notice per group with an advancing item, at the highest item level; the level's
    fee only on the notice that first takes the account to that level."""
    code, ids = pd.factorize(listed["notice_id"])
    first = np.unique(code, return_index=True)[1]

    def fold(column: str, ufunc: np.ufunc) -> np.ndarray:
        out = np.zeros(len(ids), dtype=np.int64)
        ufunc.at(out, code, listed[column].astype(np.int64))
        return out

    n: Columns = {
        c: listed[c][first]
        for c in ("notice_id", "company_code", "customer_id", "currency", "policy", "language", "credit_amount")
    }
    n["level"] = fold("level", np.maximum)
    n["overdue_amount"] = fold("open_amount", np.add)
    n["interest"] = fold("interest", np.add)
    p = table.index(n["policy"])
    rule_level = np.minimum(n["level"], listed["max_level"][first])
    n["action"] = table.action[p, rule_level]
    n["template"] = table.template[p, rule_level]
    level_fee = table.fee[p, rule_level, table.currency(n["currency"])]
    n["fees"] = np.where(n["level"] > fold("previous_level", np.maximum), level_fee, 0) + fold("fee", np.add)
    return typed_frame(n, NOTICE_COLUMNS, order=_GROUP)


# --- interest --------------------------------------------------------------------------------


def _rate_days(
    kind: str, percent: object, law: object, due: pd.Timestamp, day: pd.Timestamp, settings: InterestSettings
) -> Decimal:
    days = (day - due).days
    if days <= 0:
        return Decimal(0)
    if kind == "fixed":
        return Decimal(percent) * days  # type: ignore[arg-type]
    rate = settings.rate_for(law if isinstance(law, str) else None)
    if rate is None:
        return Decimal(0)
    return statutory_rate_days(settings.base_rates[rate.base_rate], rate.points, due.date(), day.date())


def _interest_cents(open_cents: int, rate_days: Decimal) -> int:
    """Interest on one item: open x rate x days / 365 (ACT/365), half-up to the cent."""
    if open_cents <= 0 or rate_days <= 0:
        return 0
    return round_half_up_cents(Decimal(open_cents) * rate_days / Decimal(36500))


def statutory_rate_days(base_rates: list[BaseRate], points: Decimal, due: date, as_of: date) -> Decimal:
    """The sum over the days after ``due`` up to ``as_of`` of that day's rate in percent.

    Each day uses the base rate in force on it (the statutes change it each half year), so a
    claim spanning a change is charged at both rates; a rate below zero counts as zero.
    Days before the first listed rate use the first one."""
    total = Decimal(0)
    start = pd.Timestamp(due) + pd.Timedelta(days=1)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # exclusive
    for i, r in enumerate(base_rates):
        lo = start if i == 0 else max(start, pd.Timestamp(r.effective_from))
        hi = end if i + 1 == len(base_rates) else min(end, pd.Timestamp(base_rates[i + 1].effective_from))
        days = (hi - lo).days
        if days > 0:
            total += max(Decimal(0), r.percent + points) * days
    return total


# --- policy tables ---------------------------------------------------------------------------


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
        return pd.Index(self.names).get_indexer(np.asarray(policy, dtype=object))

    def currency(self, currency: np.ndarray) -> np.ndarray:
        """Column of each currency; the last (all zero) for one the table was not built for."""
        at = pd.Index(self.currencies, dtype=object).get_indexer(np.asarray(currency, dtype=object))
        return np.where(at >= 0, at, len(self.currencies))


# --- frames ----------------------------------------------------------------------------------


def _history_lookup(history: pd.DataFrame | None, item_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item, its level before this run (0 if never dunned) and the date it reached it."""
    n = len(item_keys)
    if history is None or history.empty:
        return np.zeros(n, dtype=np.int64), np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    h: Columns = {
        "company_code": _text(history["company_code"]),
        "document_no": _text(history["document_no"]),
        "level": pd.to_numeric(history["level"]).to_numpy(dtype=np.int64),
        "as_of": _dates(history["as_of"]),
    }
    # should the caller pass every row, the latest one per item is the state
    h = _take(h, np.argsort(h["as_of"], kind="stable"))
    keys = pd.Index(_key(h, _ITEM))
    latest = ~keys.duplicated(keep="last")
    at = pd.Index(keys[latest]).get_indexer(item_keys)
    found = at >= 0
    pick = np.where(found, at, 0)
    level = np.where(found, h["level"][latest][pick], 0).astype(np.int64)
    reached = np.where(found, h["as_of"][latest][pick], np.datetime64("NaT"))
    return level, reached.astype("datetime64[ns]")


_SEP = "\x1f"
#: below this many rows a Python loop over the values beats pandas' vectorised string kernels
_SMALL = 5_000


def _take(f: Columns, rows: np.ndarray) -> Columns:
    return {k: v[rows] for k, v in f.items()}


def _isin(values: np.ndarray, pool: Any) -> np.ndarray:
    # a hash look-up: numpy's isin on object arrays compares every pair
    return pd.Index(np.asarray(values, dtype=object)).isin(np.asarray(pool, dtype=object))


def _key(f: Columns | pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A composite key as one string per row, for set look-ups, factorising and sorting."""
    key = _or(np.asarray(f[columns[0]], dtype=object), "")
    for c in columns[1:]:
        key = key + _SEP + _or(np.asarray(f[c], dtype=object), "")
    return np.asarray(key, dtype=object)


def _text(s: pd.Series, upper: bool = False) -> np.ndarray:
    """Text stripped, blank as None, as an object array."""
    if len(s) > _SMALL:
        t = s.astype("string").str.strip()
        values = (t.str.upper() if upper else t).to_numpy(dtype=object, na_value=None)
        values[values == ""] = None
        return values
    out = []
    for v in s.to_numpy(dtype=object):
        v = v.strip() if isinstance(v, str) else (None if v is None or pd.isna(v) else str(v).strip())
        out.append((v.upper() if upper and v else v) or None)
    return np.array(out, dtype=object)


def _upper(f: pd.DataFrame, column: str) -> np.ndarray:
    if column not in f:
        return np.full(len(f), None, dtype=object)
    return _text(f[column], upper=True)


def _or(values: np.ndarray, default: object) -> np.ndarray:
    """Missing values replaced by the default."""
    values = np.asarray(values, dtype=object)
    return np.where(pd.isna(values), default, values)


def _dates(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy(dtype="datetime64[ns]")


def _flags(f: pd.DataFrame, column: str) -> np.ndarray:
    if column not in f:
        return np.zeros(len(f), dtype=bool)
    return f[column].fillna(False).to_numpy(dtype=bool)


_DTYPES = {
    "level": "int64",
    "previous_level": "int64",
    "days_past_due": "int64",
    "overdue_amount": "int64",
    "credit_amount": "int64",
    "fees": "int64",
    "interest": "int64",
    "open_amount": "int64",
    "amount": "int64",
    "fee": "int64",
    "promised_amount": "int64",
    "covered_open_amount": "int64",
    "document_date": "datetime64[ns]",
    "due_date": "datetime64[ns]",
    "promised_date": "datetime64[ns]",
}


def typed_frame(f: Columns | pd.DataFrame, columns: list[str], order: list[str] | None = None) -> pd.DataFrame:
    """The output columns in order with stable dtypes (text as ``string``, money int64
    cents, dates datetime64), sorted by ``order``, also when there are no rows."""
    rows = np.argsort(_key(f, order), kind="stable") if order and len(f[order[0]]) else slice(None)
    data = {}
    for c in columns:
        values = np.asarray(f[c])[rows] if c in f else np.array([], dtype=object)
        dtype = _DTYPES.get(c, "string")
        data[c] = (
            pd.array(np.asarray(values, dtype=object), dtype="string") if dtype == "string" else values.astype(dtype)
        )
    return pd.DataFrame(data)
