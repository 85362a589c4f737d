"""The reference rule: the remittance text names document numbers or payment references, and the
payment settles what it names, in full, less a cash discount, less a write-off, as an overpayment
or as a partial payment (so partial_payment and overpayment act here, inside this rule)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from receivables.cash_application.config import CashDiscountRule, ReferenceRule
from receivables.cash_application.engine import Extras, Line, _Decision, _Engine, _Payment, rule_step
from receivables.cash_application.item_book import _NONE
from receivables.cash_application.remittances import named_items
from receivables.money import to_cents

#: what a remittance text names: the items of the payment's company, and of those the ones
#: usable in its currency in (due date, position) order
Found = tuple[list[int], list[int]]


@rule_step("reference")
def step(engine: _Engine, pending: list[_Payment], rule: ReferenceRule, extras: Extras) -> None:
    # every text is read in one pass: the index does not change while the rule runs
    rows, items = named_items(engine.tok, [p.text for p in pending], engine.book)
    for p, found in zip(pending, _found(engine, pending, rows, items)):
        reference(engine, p, rule, found)


def _found(engine: _Engine, pending: list[_Payment], row: np.ndarray, item: np.ndarray) -> list[Found]:
    """Per payment, the named items of its company, and of those the ones usable in its
    currency in (due date, position) order, from the (payment row, item) pairs named."""
    book = engine.book.arrays

    def of(values: list[Any], at: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=object)[at]

    same = book["company"][item] == of([p.company for p in pending], row)
    usable = same & (book["currency"][item] == of([p.currency for p in pending], row))
    usable &= book["kind"][item] != _NONE
    # named in (due date, position) order, the order people allocate in
    order = np.lexsort((item, book["due"][item], row))
    usable_row, usable_item = row[order][usable[order]], item[order][usable[order]]
    bounds = np.arange(len(pending) + 1)
    company_cuts = np.searchsorted(row[same], bounds).tolist()
    named_cuts = np.searchsorted(usable_row, bounds).tolist()
    company_items, named_items = item[same].tolist(), usable_item.tolist()
    return [
        (company_items[a:b], named_items[c:d])
        for a, b, c, d in zip(company_cuts, company_cuts[1:], named_cuts, named_cuts[1:])
    ]


# partial_payment and overpayment settle *named* items: they act inside the reference rule
@rule_step("partial_payment")
@rule_step("overpayment")
def _inside_reference(engine: _Engine, pending: list[_Payment], rule: object, extras: Extras) -> None:
    """Nothing on their own: ``resolve_named`` applies them."""


def reference(engine: _Engine, p: _Payment, rule: ReferenceRule, found: Found | None = None) -> None:
    """``found``: what ``_found`` says the text names, if the step looked it up for every payment."""
    if not p.text:
        return
    b = engine.book
    if found is None:
        hits: set[int] = set()
        for key in engine.tok.keys(p.text, b.keys):
            hits.update(b.lookup(key))
        same_company = sorted(i for i in hits if b.company[i] == p.company)
        usable = (i for i in same_company if b.currency[i] == p.currency and b.kind[i] != _NONE)
        found = (same_company, sorted(usable, key=lambda i: (b.due[i], i)))
    same_company, named = found
    if not same_company:
        return
    if not named:
        _named_in_other_currency(engine, p, same_company)
        return
    p.claimed = True
    factor = 1.0
    open_, customer, payer = b.open, b.customer, p.customer
    live = [i for i in named if open_[i] != 0]
    # only the payer's own items: every line settles one of them, so the owners need no check
    own = False
    if payer is not None and live:
        mine = [i for i in live if customer[i] == payer]
        if mine:
            live, own = mine, True
        else:
            factor = rule.other_customer_factor
    if payer is None:
        owners = {customer[i] for i in (live or named)}
        if len(owners) == 1:
            engine.identify(p, owners.pop(), "reference", None, 1.0)
    if not live:
        # everything it names was settled by an earlier payment in this run: a duplicate
        p.note("OVERPAYMENT")
        return
    d = resolve_named(engine, p, live, rule)
    if d is None:
        p.note("NO_MATCH")
        return
    if not own:
        owners = {customer[line[0]] for line in d.lines}
        if len(owners) > 1:
            factor = min(factor, rule.other_customer_factor)
        elif p.customer is None:
            engine.identify(p, owners.pop(), "reference", None, 1.0)
    d.confidence *= factor
    if d.confidence < engine.rules.auto_threshold and d.reason == "NO_MATCH":
        d.reason = "AMBIGUOUS"
    engine.settle(p, d)


def _named_in_other_currency(engine: _Engine, p: _Payment, same_company: list[int]) -> None:
    """The text names items of the payment's company, none of them usable in its currency."""
    b = engine.book
    if any(b.currency[i] != p.currency for i in same_company):
        p.note("CURRENCY")
        owners = {b.customer[i] for i in same_company}
        if p.customer is None and len(owners) == 1:
            engine.identify(p, owners.pop(), "reference", None, 1.0)


def resolve_named(engine: _Engine, p: _Payment, live: list[int], rule: ReferenceRule) -> _Decision | None:
    """How a payment settles the items its text names (``live``, in (due date, position)
    order), or None if the amounts do not fit."""
    open_ = engine.book.open
    total = sum([open_[i] for i in live])
    amount = p.amount
    if total <= 0:
        return None
    if amount == total:
        return _Decision("reference", rule.confidence, [(i, open_[i], 0, 0) for i in live])
    if engine.discount_rule is not None and amount < total:
        d = discounted(engine, p, live, total, engine.discount_rule)
        if d is not None:
            d.confidence *= rule.confidence
            return d
    d = _named_subset(engine, live, amount, rule) or _written_off(engine, live, total, amount, rule)
    if d is not None:
        return d
    if amount > total:
        return _overpaid(engine, live, total, amount, rule)
    return _partial(engine, live, amount, rule)


def _named_subset(engine: _Engine, live: list[int], amount: int, rule: ReferenceRule) -> _Decision | None:
    """Only some of the named items add up to the payment: exactly one such subset settles them."""
    if not 1 < len(live) <= rule.max_subset_items:
        return None
    open_ = engine.book.open
    subsets = _subsets_summing(live, open_, amount, limit=2)
    if len(subsets) == 1:
        return _Decision("reference", rule.subset_confidence, [(i, open_[i], 0, 0) for i in subsets[0]])
    if len(subsets) > 1:
        return _Decision("reference", 0.0, [(i, open_[i], 0, 0) for i in subsets[0]], reason="AMBIGUOUS")
    return None


def _written_off(engine: _Engine, live: list[int], total: int, amount: int, rule: ReferenceRule) -> _Decision | None:
    """Short of the named items by no more than the tolerance: the largest debit carries the write-off."""
    if engine.short_rule is None or not 0 < total - amount <= engine.tolerance(total):
        return None
    open_ = engine.book.open
    writeoff = total - amount
    debits = [i for i in live if open_[i] > 0]
    carrier = max(debits, key=lambda i: (open_[i], -i))
    if writeoff > open_[carrier]:
        return None
    lines = [(i, open_[i] - (writeoff if i == carrier else 0), 0, writeoff if i == carrier else 0) for i in live]
    return _Decision("short_payment", engine.short_rule.confidence * rule.confidence, lines)


def _overpaid(engine: _Engine, live: list[int], total: int, amount: int, rule: ReferenceRule) -> _Decision | None:
    """More than the named items: they are settled, the excess stays unapplied (a credit)."""
    if engine.over_rule is None:
        return None
    open_ = engine.book.open
    return _Decision(
        "overpayment",
        engine.over_rule.confidence * rule.confidence,
        [(i, open_[i], 0, 0) for i in live],
        remainder=amount - total,
        reason="OVERPAYMENT",
    )


def _partial(engine: _Engine, live: list[int], amount: int, rule: ReferenceRule) -> _Decision | None:
    """Less than the named items: applied to them, the rest of them stays open."""
    partial = engine.partial_rule
    if partial is None:
        return None
    open_ = engine.book.open
    debits = [i for i in live if open_[i] > 0]
    credits = [i for i in live if open_[i] < 0]
    if len(debits) == 1 and not credits:
        return _Decision("partial_payment", partial.confidence * rule.confidence, [(debits[0], amount, 0, 0)])
    # Several named items and not enough money for all: credits first, then oldest due.
    lines: list[Line] = [(i, open_[i], 0, 0) for i in credits]
    left = amount - sum(open_[i] for i in credits)
    for i in debits:
        if left <= 0:
            break
        take = min(left, open_[i])
        lines.append((i, take, 0, 0))
        left -= take
    return _Decision("partial_payment", partial.multi_item_confidence * rule.confidence, lines, reason="AMBIGUOUS")


def discounted(engine: _Engine, p: _Payment, live: list[int], total: int, r: CashDiscountRule) -> _Decision | None:
    """The named items less the cash discount each allows on the payment's value date; the item
    with the largest discount absorbs a rounding difference of up to the tolerance."""
    b = engine.book
    open_ = b.open
    discounts = [b.discount(i, p.day, r.grace_days) for i in live]
    full_discount = sum(discounts)
    if full_discount <= 0:
        return None
    diff = (total - full_discount) - p.amount  # > 0: the customer took a cent more
    if abs(diff) > to_cents(r.rounding_tolerance):
        return None
    carrier = max((k for k, dsc in enumerate(discounts) if dsc > 0), key=lambda k: (discounts[k], -k))
    lines: list[Line] = []
    for k, i in enumerate(live):
        dsc = discounts[k] + (diff if k == carrier else 0)
        if dsc < 0 or (open_[i] > 0 and dsc > open_[i]):
            return None
        lines.append((i, open_[i] - dsc, dsc, 0))
    return _Decision("cash_discount", r.confidence, lines)


def _subsets_summing(items: list[int], open_: list[int], target: int, limit: int) -> list[tuple[int, ...]]:
    """Proper, non-empty subsets of a few named items whose open amounts sum to ``target``."""
    found: list[tuple[int, ...]] = []
    for size in range(1, len(items)):
        for combo in itertools.combinations(items, size):
            if sum(open_[i] for i in combo) == target:
                found.append(combo)
                if len(found) >= limit:
                    return found
    return found
