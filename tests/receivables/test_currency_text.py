"""The letters' fast money text is Babel's to the character, for every amount."""

from __future__ import annotations

from babel import Locale
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.money import to_decimal
from receivables.reminders.currency_text import money_text

LOCALES = [
    "de_DE",
    "de_AT",
    "de_CH",
    "en_GB",
    "en_US",
    "en_IN",
    "es_ES",
    "fr_FR",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_PT",
    "sv_SE",
    "ja_JP",
]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "PLN", "INR", "JPY"]


@settings(max_examples=400, deadline=None)
@given(
    cents=st.one_of(st.integers(-(10**14), 10**14), st.integers(-(10**6), 10**6)),
    locale=st.sampled_from(LOCALES),
    currency=st.sampled_from(CURRENCIES),
)
def test_money_text_is_babels_format_currency(cents, locale, currency):
    where = Locale.parse(locale)
    assert money_text(cents, currency, where) == format_currency(to_decimal(cents), currency, locale=where)


def test_the_amounts_a_german_letter_shows():
    de = Locale.parse("de_DE")
    assert money_text(123456, "EUR", de) == "1.234,56\xa0€"
    assert money_text(-500, "EUR", de) == "-5,00\xa0€"
    assert money_text(0, "EUR", de) == "0,00\xa0€"
