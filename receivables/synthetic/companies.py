"""The three company codes a synthetic set covers, and what each one implies.

Every per-company table in this package is a tuple indexed 0/1/2 for company 1000 (Germany,
EUR), 2000 (Spain, EUR) and 3000 (United States, USD), so customers, documents and payments
carry a small integer and look up their country, currency and language here.
"""

from __future__ import annotations

_COMPANY_CODES = ("1000", "2000", "3000")
_COUNTRIES = ("DE", "ES", "US")
_CURRENCIES = ("EUR", "EUR", "USD")
_COUNTRY_SHARE = (0.45, 0.25, 0.30)
_HOME_LANGUAGE = ("de", "es", "en")
