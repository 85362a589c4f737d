"""The matching engine: the payments being worked, the decisions the rules reach, posting them
against the item book, and ``apply_cash``, which runs the configured rules one after another."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from receivables.cash_application.config import (
    CashDiscountRule,
    MatchingRules,
    OverpaymentRule,
    PartialPaymentRule,
    PayerIdentificationRule,
    ReferenceRule,
    ShortPaymentRule,
)
from receivables.cash_application.item_book import _NAT_DAY, _Book, _days
from receivables.cash_application.payers import _Payers
from receivables.cash_application.references import _Tokeniser
from receivables.cash_application.result import CashApplication, _result
from receivables.money import cents_array, to_cents

# --- payments being worked --------------------------------------------------------------------------

_REASON_RANK = {"NO_MATCH": 0, "UNIDENTIFIED": 0, "CURRENCY": 1, "OVERPAYMENT": 2, "AMBIGUOUS": 3}

# (item position, applied cents, discount cents, write-off cents)
Line = tuple[int, int, int, int]


@dataclass
class _Decision:
    rule: str
    confidence: float
    lines: list[Line]
    remainder: int = 0
    #: why the payment stays unapplied if this decision is only a suggestion
    reason: str = "NO_MATCH"


class _Payment:
    __slots__ = (
        "pid",
        "company",
        "currency",
        "amount",
        "day",
        "customer",
        "method",
        "score",
        "ident_conf",
        "text",
        "claimed",
        "done",
        "reason",
        "suggestion",
    )

    def __init__(
        self, pid: str, company: str, currency: str, amount: int, day: int, customer: str | None, text: str
    ) -> None:
        self.pid = pid
        self.company = company
        self.currency = currency
        self.amount = amount
        self.day = day
        self.customer = customer
        self.method = "given" if customer is not None else None
        self.score: float | None = None
        self.ident_conf = 1.0
        self.text = text
        #: the remittance names open items: amount-only rules must not override what it says
        self.claimed = False
        self.done = False
        self.reason: str | None = None
        self.suggestion: _Decision | None = None

    def note(self, reason: str) -> None:
        if self.reason is None or _REASON_RANK[reason] > _REASON_RANK[self.reason]:
            self.reason = reason


# --- the engine ----------------------------------------------------------------------------------------


class _Engine:
    """What every rule works with: the item book, the payer directory, and posting."""

    def __init__(self, book: _Book, rules: MatchingRules, tokeniser: _Tokeniser, payers: _Payers | None) -> None:
        self.book = book
        self.rules = rules
        self.tok = tokeniser
        self.payers = payers
        self.applications: list[tuple[_Payment, _Decision]] = []
        self.discount_rule: CashDiscountRule | None = rules.rule("cash_discount")
        self.short_rule: ShortPaymentRule | None = rules.rule("short_payment")
        self.partial_rule: PartialPaymentRule | None = rules.rule("partial_payment")
        self.over_rule: OverpaymentRule | None = rules.rule("overpayment")
        # the short-payment tolerance as (cents, millionths), read once rather than per item
        r = self.short_rule
        self._tolerance = (to_cents(r.tolerance_abs), int(r.tolerance_pct * 10_000)) if r is not None else None

    def settle(self, p: _Payment, d: _Decision) -> None:
        """Post a decision at or above the threshold; keep the best one below it as a suggestion."""
        if d.confidence >= self.rules.auto_threshold:
            open_ = self.book.open
            for i, applied, disc, wo in d.lines:
                before = open_[i]
                after = before - applied - disc - wo
                # the rules never produce this; if one ever did, posting it would corrupt the books
                if (before > 0 and not 0 <= after <= before) or (before < 0 and not before <= after <= 0):
                    raise AssertionError(f"payment {p.pid} would take item {self.book.document(i)} across zero")
                open_[i] = after
            p.done = True
            p.suggestion = None
            self.applications.append((p, d))
        else:
            if p.suggestion is None or d.confidence > p.suggestion.confidence:
                p.suggestion = d
            p.note(d.reason)

    def settle_found(
        self,
        p: _Payment,
        rule_name: str,
        lines: list[Line],
        unique: bool,
        confidence: float,
        ambiguous_confidence: float,
        reason: str = "NO_MATCH",
    ) -> None:
        """Settle what an amount-only rule found.  A ``unique`` find is settled at ``confidence``
        times how sure the payer is; otherwise (several finds, or one not proven the only one) it
        is only suggested, below ``auto_threshold`` whatever ``ambiguous_confidence`` says, since
        which items were paid is a guess."""
        if unique:
            self.settle(p, _Decision(rule_name, confidence * p.ident_conf, lines, reason=reason))
        else:
            conf = min(ambiguous_confidence, self.rules.auto_threshold - 1e-9)
            self.settle(p, _Decision(rule_name, conf, lines, reason="AMBIGUOUS"))

    def tolerance(self, open_cents: int) -> int:
        if self._tolerance is None:
            return 0
        cents, ppm = self._tolerance
        return min(cents, (abs(open_cents) * ppm) // 1_000_000)

    def identify(self, p: _Payment, customer: str, method: str, score: float | None, conf: float) -> None:
        p.customer = customer
        p.method = method
        p.score = score
        p.ident_conf = conf

    def candidates(self, p: _Payment) -> list[int] | None:
        """The customer's open items in the payment's company and currency (None: not usable)."""
        # an amount that already fits several ways is not made unique by another reading of it
        if p.customer is None or p.claimed or p.reason == "AMBIGUOUS":
            return None
        items = self.book.group(p.company, p.customer, p.currency)
        if not items and self.book.has_other_currency(p.company, p.customer, p.currency):
            p.note("CURRENCY")
        return items


# --- the rule steps ------------------------------------------------------------------------------------

#: the payer IBAN and name of each payment without a customer, by payment id
Extras = dict[str, tuple[str | None, str | None]]
#: one rule run over the payments still pending, in their order
Step = Callable[[_Engine, list[_Payment], Any, Extras], None]

#: rule name -> its step; each module of ``receivables.cash_application.rules`` registers its own
STEPS: dict[str, Step] = {}


def rule_step(name: str) -> Callable[[Step], Step]:
    """Register the decorated function as the step of rule ``name``."""

    def register(step: Step) -> Step:
        if name in STEPS:
            raise ValueError(f"rule {name!r} has two steps")
        STEPS[name] = step
        return step

    return register


# --- applying cash -------------------------------------------------------------------------------------


def apply_cash(
    open_items: pd.DataFrame,
    payments: pd.DataFrame,
    customers: pd.DataFrame,
    rules: MatchingRules,
    as_of: date,
) -> CashApplication:
    """Match unapplied payments to open items with the configured rules, in their order.

    Inputs are the validated canonical frames (money in int cents); they are not modified.
    For every payment, its *applied* applications plus its unapplied rows add up to its
    amount; suggestions move no money.  ``as_of`` stands in for a missing value date (a cash
    discount is judged by the day the money arrived).
    """
    # Millions of small objects stay alive for the whole run; the cyclic collector would walk
    # them again and again while nothing here makes cycles worth collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _apply_cash(open_items, payments, customers, rules, as_of)
    finally:
        if gc_was_enabled:
            gc.enable()


def _apply_cash(
    open_items: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, rules: MatchingRules, as_of: date
) -> CashApplication:
    tok = _Tokeniser((rules.rule("reference") or ReferenceRule(name="reference")).normalisation)
    book = _Book(open_items, tok)
    ident_rule: PayerIdentificationRule | None = rules.rule("payer_identification")
    payers = _Payers(customers, ident_rule) if ident_rule is not None else None
    engine = _Engine(book, rules, tok, payers)
    work, extras = _payment_work_list(payments, as_of)
    # Rule by rule, not payment by payment: see the package docstring.
    for rule in rules.rules:
        if rule.enabled:
            STEPS[rule.name](engine, [p for p in work if not p.done], rule, extras)
    return _result(open_items, book, work, engine.applications)


def _payment_work_list(payments: pd.DataFrame, as_of: date) -> tuple[list[_Payment], Extras]:
    """The payments in the order the rules take them (value date, then payment id), and the payer
    IBAN and name of those without a customer."""
    amounts = cents_array(payments["amount"], what="payments.amount")
    if (amounts <= 0).any():
        bad = payments.loc[amounts <= 0, "payment_id"].astype(str).head(5).tolist()
        raise ValueError(f"payments must be positive; validation must quarantine these first: {', '.join(bad)}")
    if payments["payment_id"].duplicated().any():
        raise ValueError("payments.payment_id must be unique")
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    days = _days(payments["value_date"])
    days[days == _NAT_DAY] = as_of_day
    pids = payments["payment_id"].astype("string")
    order = pd.DataFrame({"d": days, "p": pids.to_numpy()}).sort_values(["d", "p"], kind="stable").index.to_numpy()

    def column(name: str) -> list[Any]:
        if name not in payments:
            return [None] * len(order)
        values = payments[name].astype("string").to_numpy(dtype=object, na_value=None)
        return values[order].tolist()

    work: list[_Payment] = []
    extras: Extras = {}
    for pid, company, currency, amount, day, customer, text, iban, name in zip(
        pids.to_numpy(dtype=object)[order].tolist(),
        column("company_code"),
        column("currency"),
        amounts[order].tolist(),
        days[order].tolist(),
        column("customer_id"),
        column("remittance_info"),
        column("payer_iban"),
        column("payer_name"),
    ):
        work.append(_Payment(pid, company, currency, amount, day, customer, text or ""))
        if customer is None:
            extras[pid] = (iban, name)
    return work, extras
