"""Payment scenarios: how each payment is drawn, and what the right answer for it is.

Each payment is built from a *scenario* -- single reference, several invoices less a credit
note, identified only by IBAN or by a bank-mangled payer name, exact amount, combination, cash
discount, short payment, partial payment, overpayment, and the ones nobody can match -- and
carries its expected applications from the moment it is drawn, so the label can never drift
from the data.  The labels are unambiguous: a document belongs to at most one payment, an
exact amount is unique within the customer, a combination is the only one of its size that
fits (``amount_combinations``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from receivables.synthetic.amount_combinations import (
    _COMBINATION_MAX_ITEMS,
    _NO_MATCH_MAX_ITEMS,
    _reachable,
    _sum_counts,
)
from receivables.synthetic.companies import _COUNTRY_SHARE
from receivables.synthetic.customers import _Customers
from receivables.synthetic.open_items import _CRN, _DISCOUNT_BP, _DISCOUNT_BP_SHARE, _DISCOUNT_DAYS, _INV, _Items
from receivables.synthetic.run_state import _business_day, _Params

#: share of payments per scenario; 90 % carry a correct answer a good matcher can find
SCENARIOS: dict[str, float] = {
    "reference": 0.38,
    "multi_reference": 0.10,
    "reference_iban_unidentified": 0.07,
    "fuzzy_name_unidentified": 0.05,
    "exact_amount": 0.09,
    "combination": 0.05,
    "discount": 0.05,
    "short_payment": 0.04,
    "partial": 0.04,
    "overpayment": 0.03,
    "no_match": 0.04,
    "ambiguous": 0.03,
    "unidentified_unknown": 0.03,
}
NOT_MATCHABLE = frozenset({"no_match", "ambiguous", "unidentified_unknown"})

#: the write-off tolerance a short payment stays within: 5.00 and 1 % of the open amount
SHORT_PAYMENT_MAX_CENTS = 500
SHORT_PAYMENT_MAX_PERCENT = 1


@dataclass(slots=True)
class _Draft:
    """One payment before it gets its id and texts, with its expected applications."""

    scenario: str
    cust: int  # index within the chunk; -1 when nobody can tell who paid
    company: int
    amount: int
    value_date: int
    items: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    discount: list[int] = field(default_factory=list)
    writeoff: list[int] = field(default_factory=list)
    remaining: int = 0
    discount_bp: int = 0  # the cash-discount rate taken, for the remittance text

    def __post_init__(self) -> None:
        self.discount = self.discount or [0] * len(self.items)
        self.writeoff = self.writeoff or [0] * len(self.items)


class _PaymentBuilder:
    """Draws payments scenario by scenario, keeping every label unambiguous.

    Items are taken at most once (``free``); scenarios that change item amounts (ambiguous)
    run first, and the amount-only scenarios run last so their uniqueness checks see the final
    amounts, including what partial payments will leave open.
    """

    def __init__(self, rng: np.random.Generator, items: _Items, cust: _Customers, params: _Params) -> None:
        self.rng = rng
        self.items = items
        self.cust = cust
        last = np.busday_offset(np.datetime64(params.as_of, "D"), 0, roll="backward")
        # bank value dates: the last ten business days up to the extract date
        self.window = np.busday_offset(last, -np.arange(9, -1, -1)).astype(np.int64)
        it = items
        self.free = (it.doc_type == _INV) & ~it.disputed & (it.open > 0)
        self.full = it.open == it.amount
        self.after = it.open.copy()  # open amount once partial payments are applied
        self.partial = np.zeros(len(it.cust), dtype=bool)
        self.drafts: list[_Draft] = []

    # -- helpers ------------------------------------------------------------------------------

    def _value_date(self, *item_rows: int) -> int:
        draw = int(self.window[self.rng.integers(0, len(self.window))])
        return max([draw] + [int(self.items.doc_date[i]) for i in item_rows])

    def _value_dates(self, rows: np.ndarray) -> np.ndarray:
        draw = self.window[self.rng.integers(0, len(self.window), len(rows))]
        return np.maximum(draw, self.items.doc_date[rows])

    def _pick(self, mask: np.ndarray, k: int) -> np.ndarray:
        pool = np.flatnonzero(mask & self.free)
        rows = self.rng.choice(pool, size=min(k, len(pool)), replace=False) if len(pool) else pool
        self.free[rows] = False
        return rows

    def _anchors(self, mask: np.ndarray, k: int) -> Iterable[int]:
        pool = np.flatnonzero(mask)
        order = self.rng.permutation(pool)[: 20 * k + 100]
        return order.tolist()

    def _loop(self, k: int, mask: np.ndarray, attempt: Any) -> None:
        made = 0
        for a in self._anchors(mask, k):
            if made == k:
                break
            draft = attempt(a)
            if draft is not None:
                self.drafts.append(draft)
                made += 1

    def _slice(self, c: int) -> tuple[int, int]:
        return int(self.items.start[c]), int(self.items.end[c])

    # -- scenarios ----------------------------------------------------------------------------

    def ambiguous(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a] or not self.full[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            value = int(it.open[a])
            others = s + np.flatnonzero(self.free[s:e] & self.full[s:e])
            others = others[others != a]
            if len(others) == 0 or np.count_nonzero(it.open[s:e] == value) != 1:
                return None
            b = int(others[self.rng.integers(len(others))])
            # a second invoice of exactly the same amount: two equally good candidates
            it.amount[b] = it.open[b] = value
            self.free[a] = self.free[b] = False
            return _Draft("ambiguous", c, int(it.company[a]), value, self._value_date(a, b), remaining=value)

        self._loop(k, self.free & self.full, attempt)

    def discount(self, k: int) -> None:
        it = self.items
        low_window = int(self.window[0])
        eligible = self.full & (it.doc_date >= low_window - max(_DISCOUNT_DAYS)) & (it.amount >= 5_000)
        rows = self._pick(eligible, k)
        days = np.where(
            it.doc_date[rows] >= low_window - min(_DISCOUNT_DAYS),
            self.rng.choice(_DISCOUNT_DAYS, len(rows)),
            max(_DISCOUNT_DAYS),
        )
        bp = self.rng.choice(_DISCOUNT_BP, size=len(rows), p=_DISCOUNT_BP_SHARE)
        it.discount_bp[rows] = bp
        it.discount_days[rows] = days
        # pay on a business day inside both the discount period and the bank window
        low = np.maximum(it.doc_date[rows], low_window)
        high = _business_day(np.minimum(it.doc_date[rows] + days, int(self.window[-1])))
        span = np.busday_count(low.astype("datetime64[D]"), (high + 1).astype("datetime64[D]"))
        step = (self.rng.random(len(rows)) * span).astype(np.int64)
        value_date = np.busday_offset(low.astype("datetime64[D]"), step, roll="forward").astype(np.int64)
        disc = (it.open[rows] * bp + 5_000) // 10_000  # half-up on whole cents, amounts > 0
        for r, vd, d, p in zip(rows.tolist(), value_date.tolist(), disc.tolist(), bp.tolist()):
            opened = int(it.open[r])
            self.drafts.append(
                _Draft(
                    "discount",
                    int(it.cust[r]),
                    int(it.company[r]),
                    opened - d,
                    vd,
                    [r],
                    [opened - d],
                    [d],
                    discount_bp=p,
                )
            )

    def single(self, scenario: str, k: int) -> None:
        it = self.items
        cust_of = it.cust
        rows = self._pick(self._single_candidates(scenario), k)
        opened = it.open[rows]
        amount, applied, writeoff, remaining = self._single_amounts(scenario, rows, opened)
        value_dates = self._value_dates(rows)
        for r, amt, app, wo, rem, vd in zip(
            rows.tolist(),
            amount.tolist(),
            applied.tolist(),
            writeoff.tolist(),
            remaining.tolist(),
            value_dates.tolist(),
        ):
            self.drafts.append(
                _Draft(
                    scenario,
                    int(cust_of[r]),
                    int(it.company[r]),
                    amt,
                    vd,
                    [r],
                    [app],
                    writeoff=[wo],
                    remaining=rem,
                )
            )

    def _single_candidates(self, scenario: str) -> np.ndarray:
        """The items a one-invoice payment of this scenario may pay."""
        it = self.items
        cust_of = it.cust
        if scenario == "reference":
            mask = np.ones(len(cust_of), dtype=bool)
        elif scenario == "reference_iban_unidentified":
            mask = np.asarray([bool(x) for x in self.cust.ibans])[cust_of]
        elif scenario == "fuzzy_name_unidentified":
            mask = self.cust.name_unique[cust_of]
        elif scenario == "short_payment":
            mask = (it.discount_bp == 0) & (it.open >= 10_000)
        elif scenario == "partial":
            mask = it.open >= 5_000
        else:  # overpayment
            mask = np.ones(len(cust_of), dtype=bool)
        return mask

    def _single_amounts(
        self, scenario: str, rows: np.ndarray, opened: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Paid, applied, written-off and remaining cents of one-invoice payments."""
        n = len(rows)
        amount = opened.copy()
        writeoff = np.zeros(n, dtype=np.int64)
        remaining = np.zeros(n, dtype=np.int64)
        if scenario == "short_payment":
            # bank charges or rounding: cents or a few units, never beyond the tolerance
            short = np.where(self.rng.random(n) < 0.5, self.rng.integers(1, 100, n), self.rng.integers(1, 6, n) * 100)
            short = np.maximum(
                1,
                np.minimum(short, np.minimum(SHORT_PAYMENT_MAX_CENTS, opened * SHORT_PAYMENT_MAX_PERCENT // 100)),
            )
            amount = opened - short
            writeoff = short
        elif scenario == "partial":
            amount = (opened * self.rng.uniform(0.2, 0.8, n)).astype(np.int64)
            rounded = amount // 1_000 * 1_000  # people pay round instalments
            amount = np.where((self.rng.random(n) < 0.5) & (rounded > 0), rounded, amount)
            amount = np.maximum(1, amount)
            self.partial[rows] = True
            self.after[rows] = opened - amount
        elif scenario == "overpayment":
            surplus = np.maximum(1_000, (opened * self.rng.uniform(0.01, 0.2, n)).astype(np.int64))
            surplus = np.where(self.rng.random(n) < 0.4, np.maximum(1_000, surplus // 100 * 100), surplus)
            amount = opened + surplus
            remaining = surplus
        applied = np.where(scenario == "overpayment", opened, amount) if n else amount
        return amount, applied, writeoff, remaining

    def multi_reference(self, k: int) -> None:
        it = self.items
        credit_free = (it.doc_type == _CRN) & ~it.disputed

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            others = s + np.flatnonzero(self.free[s:e])
            others = others[others != a]
            if len(others) == 0:
                return None
            want = int(self.rng.choice((1, 1, 1, 2, 2, 3)))
            chosen = [a] + self.rng.choice(others, size=min(want, len(others)), replace=False).tolist()
            total = int(it.open[chosen].sum())
            credits = s + np.flatnonzero(credit_free[s:e])
            if len(credits) and self.rng.random() < 0.35:
                cr = int(credits[self.rng.integers(len(credits))])
                if total + int(it.open[cr]) > 0:
                    chosen.append(cr)
                    credit_free[cr] = False
                    total += int(it.open[cr])
            self.free[chosen] = False
            chosen_sorted = sorted(chosen, key=lambda i: (it.doc_type[i] != _INV, it.counter[i]))
            applied = [int(it.open[i]) for i in chosen_sorted]
            return _Draft(
                "multi_reference",
                c,
                int(it.company[a]),
                total,
                self._value_date(*chosen_sorted),
                chosen_sorted,
                applied,
            )

        self._loop(k, self.free, attempt)

    def exact_amount(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            value = int(it.open[a])
            if np.count_nonzero(it.open[s:e] == value) != 1 or np.any((self.after[s:e] == value) & self.partial[s:e]):
                return None
            self.free[a] = False
            return _Draft("exact_amount", c, int(it.company[a]), value, self._value_date(a), [a], [value])

        self._loop(k, self.free & self.full, attempt)

    def combination(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            if e - s > _COMBINATION_MAX_ITEMS:
                return None
            others = s + np.flatnonzero(self.free[s:e] & self.full[s:e])
            others = others[others != a]
            if len(others) == 0:
                return None
            size = 3 if len(others) >= 2 and self.rng.random() < 0.4 else 2
            chosen = sorted([a] + self.rng.choice(others, size=size - 1, replace=False).tolist())
            total = int(it.open[chosen].sum())
            if not self._only_combination(s, e, total, size):
                return None
            self.free[chosen] = False
            applied = [int(it.open[i]) for i in chosen]
            return _Draft("combination", c, int(it.company[a]), total, self._value_date(*chosen), chosen, applied)

        self._loop(k, self.free & self.full, attempt)

    def _only_combination(self, s: int, e: int, total: int, size: int) -> bool:
        """True when exactly one set of items -- the chosen one -- sums to total.

        Checked on the open amounts and again on what partial payments leave open, because a
        matcher applies those first and their remainders can form a rival set.
        """
        for values in (self.items.open[s:e], self.after[s:e]):
            counts = _sum_counts(values, total)
            if counts[size - 1] != 1 or sum(counts) != 1:
                return False
        return True

    def no_match(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            c = int(it.cust[a])
            s, e = self._slice(c)
            if e - s > _NO_MATCH_MAX_ITEMS:
                return None
            values = it.open[s:e]
            tolerance = np.maximum(SHORT_PAYMENT_MAX_CENTS * 2, np.abs(values) // 50)
            discounted = values - (values * it.discount_bp[s:e] + 5_000) // 10_000
            for _ in range(5):
                value = int(max(1_000, self.cust.scale[c] * self.rng.lognormal(0.0, 0.8)))
                # far from every item (no short payment or discount reading) and from any combination
                if np.any(np.abs(values - value) <= tolerance) or np.any(discounted == value):
                    continue
                if np.any(np.abs(self.after[s:e] - value) <= tolerance):
                    continue
                if _reachable(values, value) or _reachable(self.after[s:e], value):
                    continue
                return _Draft("no_match", c, int(it.company[a]), value, self._value_date(), remaining=value)
            return None

        self._loop(k, np.ones(len(it.cust), dtype=bool), attempt)

    def unidentified_unknown(self, k: int) -> None:
        company = self.rng.choice(3, size=k, p=_COUNTRY_SHARE)
        amount = np.maximum(1_000, 50_000 * self.rng.lognormal(0.0, 1.0, k)).astype(np.int64)
        value_dates = self.window[self.rng.integers(0, len(self.window), k)]
        for comp, amt, vd in zip(company.tolist(), amount.tolist(), value_dates.tolist()):
            self.drafts.append(_Draft("unidentified_unknown", -1, comp, amt, vd, remaining=amt))
