"""The combination rule: exactly one set of 2..max_items of the customer's open items (credit
notes included) adds up to the payment."""

from __future__ import annotations

from receivables.cash_application.config import CombinationRule
from receivables.cash_application.engine import Extras, _Engine, _Payment, rule_step
from receivables.cash_application.item_book import _CREDIT, _DEBIT


@rule_step("combination")
def step(engine: _Engine, pending: list[_Payment], rule: CombinationRule, extras: Extras) -> None:
    for p in pending:
        combination(engine, p, rule)


def combination(engine: _Engine, p: _Payment, rule: CombinationRule) -> None:
    items = engine.candidates(p)
    if not items or len(items) < 2:
        return
    b = engine.book
    open_ = b.open
    credits = [i for i in items if b.kind[i] == _CREDIT and open_[i] < 0]
    # with credit notes in the set, an invoice may be larger than the payment itself
    ceiling = p.amount - sum(open_[i] for i in credits)
    pool = [
        i for i in items if (b.kind[i] == _DEBIT and 0 < open_[i] <= ceiling) or (b.kind[i] == _CREDIT and open_[i] < 0)
    ]
    proven = len(pool) <= rule.max_candidates
    if not proven:
        # only the oldest can be searched, so a solution cannot be proven the only one
        pool = pool[: rule.max_candidates]
    solutions = _combinations_summing(pool, open_, p.amount, rule.max_items, limit=2)
    if not solutions:
        return
    lines = [(i, open_[i], 0, 0) for i in sorted(solutions[0], key=lambda i: (b.due[i], i))]
    # a unique sum whose confidence falls below the threshold (a large set) is still a guess
    conf = rule.confidence_by_size.get(len(lines), rule.confidence)
    unique = len(solutions) == 1 and proven
    engine.settle_found(p, "combination", lines, unique, conf, rule.ambiguous_confidence, reason="AMBIGUOUS")


def _combinations_summing(
    pool: list[int], open_: list[int], target: int, max_items: int, limit: int
) -> list[tuple[int, ...]]:
    """Sets of 2..max_items (at most 4) items of ``pool`` whose open amounts sum to ``target``.

    Hash look-ups instead of a search tree: the last item of a pair, the last of a triple and
    the last pair of a quadruple are looked up by the amount still missing, so the work grows
    with the square of the pool, not with its subsets.  Credit notes (negative amounts) need no
    special case.  Stops at ``limit`` solutions: the caller only needs to know whether there is
    exactly one.
    """
    vals = [open_[i] for i in pool]
    n = len(vals)
    by_value: dict[int, list[int]] = {}
    for k, v in enumerate(vals):
        by_value.setdefault(v, []).append(k)
    found: list[tuple[int, ...]] = []

    def hit(*ks: int) -> bool:
        found.append(tuple(pool[k] for k in ks))
        return len(found) >= limit

    for a in range(n):
        for b in by_value.get(target - vals[a], ()):
            if b > a and hit(a, b):
                return found
    if max_items >= 3:
        for a in range(n):
            va = vals[a]
            for b in range(a + 1, n):
                for c in by_value.get(target - va - vals[b], ()):
                    if c > b and hit(a, b, c):
                        return found
    if max_items >= 4 and n >= 4:
        pairs: dict[int, list[tuple[int, int]]] = {}
        for c in range(n):
            vc = vals[c]
            for d in range(c + 1, n):
                pairs.setdefault(vc + vals[d], []).append((c, d))
        for a in range(n):
            va = vals[a]
            for b in range(a + 1, n):
                for c, d in pairs.get(target - va - vals[b], ()):
                    if c > b and hit(a, b, c, d):
                        return found
    return found
