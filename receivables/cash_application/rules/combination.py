"""The combination rule: exactly one set of 2..max_items of the customer's open items (credit
notes included) adds up to the payment."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

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
    open_, kind = b.open, b.kind
    credits = [i for i in items if kind[i] == _CREDIT and open_[i] < 0]
    # with credit notes in the set, an invoice may be larger than the payment itself
    ceiling = p.amount - sum(open_[i] for i in credits)
    pool = [
        i for i in items if (kind[i] == _DEBIT and 0 < open_[i] <= ceiling) or (kind[i] == _CREDIT and open_[i] < 0)
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
    """Sets of 2..max_items (at most 4) items of ``pool`` whose open amounts sum to ``target``,
    in the order of the search below: pairs, then triples, then quadruples, each by position.

    Hash look-ups instead of a search tree: the last item of a pair, the last of a triple and
    the last pair of a quadruple are looked up by the amount still missing, so the work grows
    with the square of the pool, not with its subsets.  Credit notes (negative amounts) need no
    special case.  Stops at ``limit`` solutions: the caller only needs to know whether there is
    exactly one.
    """
    vals = [open_[i] for i in pool]
    # a large pool is searched with arrays (the same sets in the same order); int64 holds
    # any sum of four amounts below 2**60 cents
    if len(vals) >= _ARRAY_POOL and max(map(abs, vals)) < _ARRAY_LIMIT and abs(target) < _ARRAY_LIMIT:
        return [tuple(pool[k] for k in ks) for ks in _sums_by_array(vals, target, max_items, limit)]
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


#: from this many items on, the array search is faster than the loops (measured at size l)
_ARRAY_POOL = 20
_ARRAY_LIMIT = 1 << 60
#: at most this many candidate sets are held at once (many equal amounts make many)
_BUDGET = 1 << 15


@lru_cache(maxsize=256)
def _pair_positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    # every pair (a, b), a < b, in the order the loops visit them; shared, so read-only
    pairs = np.triu_indices(n, 1)
    for positions in pairs:
        positions.flags.writeable = False
    return pairs


def _sums_by_array(vals: list[int], target: int, max_items: int, limit: int) -> list[tuple[int, ...]]:
    """``_combinations_summing`` over positions in ``vals``, with arrays: every pair's sum at
    once, the item or pair completing it found by binary search among the sorted amounts or
    pair sums (equal amounts stay in position order, so the sets come in the loops' order)."""
    v = np.asarray(vals, dtype=np.int64)
    a, b = _pair_positions(len(v))
    pair = v[a] + v[b]
    found: list[tuple[int, ...]] = []

    def take(*columns: np.ndarray) -> bool:
        found.extend(zip(*(c[: limit - len(found)].tolist() for c in columns)))
        return len(found) >= limit

    if take(*(c[pair == target] for c in (a, b))):
        return found
    missing = target - pair
    if max_items >= 3:
        order = np.argsort(v, kind="stable")
        for p, at in _completions(missing, v[order]):
            c = order[at]
            keep = c > b[p]
            if take(a[p[keep]], b[p[keep]], c[keep]):
                return found
    if max_items >= 4 and len(v) >= 4:
        order = np.argsort(pair, kind="stable")
        for p, at in _completions(missing, pair[order]):
            q = order[at]
            keep = a[q] > b[p]
            p, q = p[keep], q[keep]
            if take(a[p], b[p], a[q], b[q]):
                return found
    return found


def _completions(missing: np.ndarray, ordered: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row, position in ``ordered``) of every value of ``ordered`` equal to ``missing[row]``,
    by row, then position; in blocks of about ``_BUDGET``."""
    lo = np.searchsorted(ordered, missing, "left")
    count = np.searchsorted(ordered, missing, "right") - lo
    rows = np.flatnonzero(count)
    lo, count = lo[rows], count[rows]
    ends = np.cumsum(count)
    start = 0
    while start < len(rows):
        done = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, done + _BUDGET, "right")), start + 1)
        c = count[start:stop]
        within = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        yield np.repeat(rows[start:stop], c), np.repeat(lo[start:stop], c) + within
        start = stop
