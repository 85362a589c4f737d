"""Money as a letter writes it: Babel's ``format_currency`` for whole cents, fast.

A go-live night writes a million amounts into letters and statements, and Babel works out
the locale's number pattern on every call (about a tenth of a letter's CPU).  Here the layout
of one locale and currency (symbol before or after, group and decimal signs, minus sign) is
read once from what Babel itself writes for a few probe amounts, and an amount is then put
together from its digits.  A layout the probes do not confirm to the character (another
precision, other group sizes, an unusual pattern) keeps Babel for every amount.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

from receivables.money import to_decimal

#: amounts (cents) whose text must come out exactly as Babel writes it before the fast
#: path is trusted: zero, below and at every grouping step, both signs
_PROBES = (0, 1, 99, 100, 12_345, 99_999, 123_456, 999_999, 1_000_000, 12_345_678, 123_456_789, 100_000_000_000)
_LAYOUT = re.compile(r"(?P<before>\D*?)1(?P<group>\D?)234(?P=group)567(?P<decimal>\D)89(?P<after>\D*)")


def money_text(cents: int, currency: str, locale: Locale) -> str:
    """``format_currency`` of ``cents`` / 100 in ``currency`` for ``locale``."""
    return _formatter(currency, str(locale))(int(cents))


@lru_cache(maxsize=64)
def _formatter(currency: str, locale: str) -> Callable[[int], str]:
    where = Locale.parse(locale)

    def babel(cents: int) -> str:
        return format_currency(to_decimal(cents), currency, locale=where)

    if get_currency_precision(currency) != 2:
        return babel
    plus, minus = _LAYOUT.fullmatch(babel(123_456_789)), _LAYOUT.fullmatch(babel(-123_456_789))
    if plus is None or minus is None or minus["group"] != plus["group"] or minus["decimal"] != plus["decimal"]:
        return babel
    group, decimal = plus["group"], plus["decimal"]
    # some locales write 1234,56 but 12.345,67 (CLDR's minimum grouping digits)
    least = 10_000 if group and group not in babel(123_456) else 1_000

    def fast(cents: int) -> str:
        whole, fraction = divmod(abs(cents), 100)
        digits = f"{whole:,}".replace(",", group) if whole >= least else str(whole)
        sides = minus if cents < 0 else plus
        return f"{sides['before']}{digits}{decimal}{fraction:02d}{sides['after']}"

    if all(fast(c) == babel(c) and fast(-c) == babel(-c) for c in _PROBES):
        return fast
    return babel
