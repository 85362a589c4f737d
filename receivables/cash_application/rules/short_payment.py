"""The short-payment rule: the payment falls short of one item by no more than the write-off
tolerance, which is written off."""

from __future__ import annotations

from receivables.cash_application.config import ShortPaymentRule
from receivables.cash_application.engine import Extras, _Engine, _Payment, rule_step
from receivables.cash_application.item_book import _DEBIT


@rule_step("short_payment")
def step(engine: _Engine, pending: list[_Payment], rule: ShortPaymentRule, extras: Extras) -> None:
    for p in pending:
        short_payment(engine, p, rule)


def short_payment(engine: _Engine, p: _Payment, rule: ShortPaymentRule) -> None:
    items = engine.candidates(p)
    if not items:
        return
    open_, kind, amount, tolerance = engine.book.open, engine.book.kind, p.amount, engine.tolerance
    hits = [i for i in items if kind[i] == _DEBIT and 0 < open_[i] - amount <= tolerance(open_[i])]
    if not hits:
        return
    i = hits[0]
    line = (i, amount, 0, open_[i] - amount)
    engine.settle_found(p, "short_payment", [line], len(hits) == 1, rule.confidence, rule.ambiguous_confidence)
