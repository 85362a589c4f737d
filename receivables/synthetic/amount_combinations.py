"""Which sets of open items add up to a payment: the check that keeps amount-only labels unambiguous.

A payment that quotes no document can only be matched by its amount, so the ground truth may
call it an exact-amount or combination match only when no rival set of items sums to the same
total, and may call it a no-match only when no set can.  Checking every subset is exponential;
these checks stop at sets of four items -- about as far as a matcher searches -- and at
customers with few enough open items, and they err towards "reachable", the safe side for a
payment that must match nothing.
"""

from __future__ import annotations

import itertools

import numpy as np

_SUBSETS: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}


def _subsets(n: int, size: int) -> tuple[np.ndarray, ...]:
    """Index arrays of all `size`-element subsets of n items (cached: sizes repeat a lot)."""
    key = (n, size)
    if key not in _SUBSETS:
        idx = np.asarray(list(itertools.combinations(range(n), size)), dtype=np.int64).reshape(-1, size)
        _SUBSETS[key] = tuple(idx[:, k] for k in range(size))
    return _SUBSETS[key]


#: combinations of up to this many items are checked: about as far as a matcher searches
_COMBINATION_MAX_SIZE = 4
#: combination payments only for customers with at most this many open items, where every
#: combination up to _COMBINATION_MAX_SIZE can be checked for a rival
_COMBINATION_MAX_ITEMS = 30


def _sum_counts(values: np.ndarray, total: int) -> list[int]:
    """How many sets of 1, 2, ... items sum exactly to total (larger sets only for few items)."""
    n = len(values)
    largest = _COMBINATION_MAX_SIZE if n <= _COMBINATION_MAX_ITEMS else 3 if n <= 2 * _COMBINATION_MAX_ITEMS else 2
    counts = [int(np.count_nonzero(values == total))]
    for size in range(2, largest + 1):
        if size > n:
            counts.append(0)
            continue
        picks = np.triu_indices(n, 1) if size == 2 and n > 2 * _COMBINATION_MAX_ITEMS else _subsets(n, size)
        counts.append(int(np.count_nonzero(sum(values[p] for p in picks) == total)))
    return counts


#: no-match payments only for customers with at most this many open items (cost of the check)
_NO_MATCH_MAX_ITEMS = 200


def _reachable(values: np.ndarray, total: int) -> bool:
    """Whether any 1 to 4 of the values could sum to total.

    Meet in the middle over pair sums; pairs may share an item, so this errs towards True,
    which is the safe side for a payment that must match nothing.
    """
    if np.any(values == total):
        return True
    i, j = _subsets(len(values), 2) if len(values) <= 2 * _COMBINATION_MAX_ITEMS else np.triu_indices(len(values), 1)
    pairs = np.sort(values[i] + values[j])
    if len(pairs) == 0:
        return False

    def contains(wanted: np.ndarray) -> bool:
        at = np.minimum(np.searchsorted(pairs, wanted), len(pairs) - 1)
        return bool(np.any(pairs[at] == wanted))

    return contains(np.asarray([total])) or contains(total - values) or contains(total - pairs)
