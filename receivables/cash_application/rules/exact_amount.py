"""The exact-amount rule: exactly one open invoice of the customer has the payment's amount."""

from __future__ import annotations

from receivables.cash_application.config import ExactAmountRule
from receivables.cash_application.engine import Extras, _Engine, _Payment, rule_step
from receivables.cash_application.item_book import _DEBIT


@rule_step("exact_amount")
def step(engine: _Engine, pending: list[_Payment], rule: ExactAmountRule, extras: Extras) -> None:
    for p in pending:
        exact_amount(engine, p, rule)


def exact_amount(engine: _Engine, p: _Payment, rule: ExactAmountRule) -> None:
    items = engine.candidates(p)
    if not items:
        return
    open_, kind, amount = engine.book.open, engine.book.kind, p.amount
    hits = [i for i in items if open_[i] == amount and kind[i] == _DEBIT]
    if hits:
        lines = [(hits[0], p.amount, 0, 0)]
        engine.settle_found(p, "exact_amount", lines, len(hits) == 1, rule.confidence, rule.ambiguous_confidence)
