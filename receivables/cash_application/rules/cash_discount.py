"""The cash-discount rule: the payment is one invoice less its cash discount (Skonto), paid
within the terms."""

from __future__ import annotations

from receivables.cash_application.config import CashDiscountRule
from receivables.cash_application.engine import Extras, _Engine, _Payment, rule_step
from receivables.cash_application.item_book import _DEBIT
from receivables.money import to_cents


@rule_step("cash_discount")
def step(engine: _Engine, pending: list[_Payment], rule: CashDiscountRule, extras: Extras) -> None:
    for p in pending:
        cash_discount(engine, p, rule)


def cash_discount(engine: _Engine, p: _Payment, rule: CashDiscountRule) -> None:
    items = engine.candidates(p)
    if not items:
        return
    b = engine.book
    tol = to_cents(rule.rounding_tolerance)
    hits = []
    for i in items:
        if b.kind[i] != _DEBIT or b.open[i] <= p.amount:
            continue
        dsc = b.discount(i, p.day, rule.grace_days)
        if dsc > 0 and abs(b.open[i] - dsc - p.amount) <= tol:
            hits.append(i)
    if not hits:
        return
    i = hits[0]
    line = (i, p.amount, b.open[i] - p.amount, 0)
    engine.settle_found(p, "cash_discount", [line], len(hits) == 1, rule.confidence, rule.ambiguous_confidence)
