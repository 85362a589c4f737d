"""Customers: who they are, how they pay, and how to reach them.

A customer carries everything later stages draw on -- its company code and language, its
payment terms, a segment that sets the typical invoice size and credit limit, a payment
behaviour profile (on time, a bit late, chronically late, erratic) that ages its open items
and dates its cleared ones, payer IBANs and the shared AP mailboxes an analyst actually sees,
including a few customers with no e-mail address and a few on dunning block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from receivables.synthetic.companies import _COMPANY_CODES, _COUNTRIES, _COUNTRY_SHARE, _CURRENCIES, _HOME_LANGUAGE
from receivables.synthetic.ibans import _make_ibans
from receivables.synthetic.names import (
    _LEGAL_FORMS,
    _SHOWCASE,
    _SURNAMES,
    _ascii_slug,
    _company_name,
    _name_combinations,
)
from receivables.synthetic.run_state import _Params, _State
from receivables.synthetic.text_columns import _STRING, _bool_text, _money_text

#: (language, probability) for customers who correspond in another language than the home one
_LANGUAGE_EXCEPTIONS = ((("en", 0.04),), (("en", 0.07),), (("es", 0.03),))

_SEGMENTS = ("STANDARD", "KEY_ACCOUNT", "LOW_VALUE")
_SEGMENT_SHARE = (0.75, 0.08, 0.17)
#: typical invoice size per segment, in cents
_SEGMENT_INVOICE_CENTS = (180_000, 900_000, 25_000)
_SEGMENT_CREDIT_UNITS = (60, 600, 6)  # credit limit scale in thousands

_TERMS = (14, 30, 45, 60)
_TERMS_SHARE = ((0.35, 0.50, 0.10, 0.05), (0.0, 0.30, 0.25, 0.45), (0.05, 0.60, 0.20, 0.15))

#: payment behaviour: on time, a bit late, chronically late, erratic
_PROFILE_SHARE = (0.40, 0.35, 0.20, 0.05)
_PROFILE_AGE_SCALE = (30.0, 45.0, 75.0, 120.0)  # mean age (days) of the open items
_PROFILE_LATE = ((-2.0, 3.0), (6.0, 5.0), (30.0, 12.0), (40.0, 35.0))  # days late: mean, sd

_COLLECTORS = (
    ("Anna Schäfer", "Jürgen Böhm", "Katrin Weiß", "Michael Köhler", "Sabine Groß", "Thomas Krüger"),
    ("María José Núñez", "Javier Ortúzar", "Lucía Fernández", "Begoña Iriarte", "Andrés Peña"),
    ("Emily Carter", "Michael O'Neil", "Jessica Nguyen", "David Kim", "Ashley Brooks"),
)
_DEPARTMENT_MAILBOXES = (
    ("buchhaltung", "rechnungswesen", "kreditoren", "finanzen", "rechnungseingang"),
    ("facturas", "contabilidad", "administracion", "pagos", "proveedores"),
    ("ap", "accounts.payable", "billing", "invoices", "finance"),
)
#: reserved for documentation (RFC 2606): no sample letter, sent by mistake in send mode, can
#: reach a real company; the country stays readable in the name
_TLD = (".de.example", ".es.example", ".us.example")


@dataclass
class _Customers:
    """Customers of one chunk; item arrays refer to them by index (0..n-1)."""

    ids: np.ndarray  # str
    company: np.ndarray  # int8 index into _COMPANY_CODES
    names: list[str]
    name_unique: np.ndarray  # bool: no other customer anywhere has this name (mangled or not)
    language: list[str]
    terms: np.ndarray
    profile: np.ndarray  # payment behaviour, index into _PROFILE_SHARE
    scale: np.ndarray  # typical invoice amount, cents
    ibans: list[list[str]]
    columns: dict[str, Any]

    @property
    def n(self) -> int:
        return len(self.ids)


def _make_customers(rng: np.random.Generator, state: _State, params: _Params, start: int, n: int) -> _Customers:
    numbers = np.arange(start + 1, start + n + 1, dtype=np.int64)
    ids = np.strings.add("C", np.strings.zfill(numbers.astype(_STRING), 6))
    company = rng.choice(3, size=n, p=_COUNTRY_SHARE).astype(np.int8)
    if start == 0:
        # even a ten-customer demo set shows all three company codes and languages
        company[: min(n, 3)] = np.arange(min(n, 3))

    names, unique = _customer_names(state, company)
    language = _languages(rng, company, start)
    terms = np.empty(n, dtype=np.int64)
    for c in range(3):
        mask = company == c
        terms[mask] = rng.choice(_TERMS, size=int(mask.sum()), p=_TERMS_SHARE[c])
    segment = rng.choice(3, size=n, p=_SEGMENT_SHARE)
    profile = rng.choice(4, size=n, p=_PROFILE_SHARE)
    scale = (np.asarray(_SEGMENT_INVOICE_CENTS)[segment] * rng.lognormal(0.0, 0.6, n)).astype(np.int64)
    credit_limit = _credit_limits(rng, segment)
    policy = _dunning_policies(rng, segment)
    block = rng.random(n) < 0.02
    pick = (rng.random(n) * np.asarray([len(x) for x in _COLLECTORS])[company]).astype(np.int64)
    collector = [_COLLECTORS[c][k] for c, k in zip(company.tolist(), pick.tolist())]

    ibans = _make_ibans(rng, numbers, company)
    emails = _make_emails(rng, names, company)

    columns = {
        "customer_id": ids,
        "name": names,
        "email": emails,
        "language": language,
        "country": np.asarray(_COUNTRIES)[company],
        "currency": np.asarray(_CURRENCIES)[company],
        "payment_terms_days": terms.astype(_STRING),
        "credit_limit": _money_text(credit_limit),
        "segment": np.asarray(_SEGMENTS)[segment],
        "dunning_policy": policy,
        "dunning_block": _bool_text(block),
        "collector": collector,
        "iban": [";".join(x) for x in ibans],
        "company_code": np.asarray(_COMPANY_CODES)[company],
    }
    return _Customers(ids, company, names, unique, language, terms, profile, scale, ibans, columns)


def _customer_names(state: _State, company: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The next name of each customer's country, and whether no other customer shares it."""
    names: list[str] = []
    unique = np.empty(len(company), dtype=bool)
    for i, c in enumerate(company.tolist()):
        names.append(_company_name(c, state.names[c]))
        unique[i] = state.names[c] < len(_SHOWCASE[c]) + _name_combinations(c)
        state.names[c] += 1
    return names, unique


def _languages(rng: np.random.Generator, company: np.ndarray, start: int) -> list[str]:
    """The home language of the country, except for the few who correspond in another one."""
    language = [_HOME_LANGUAGE[c] for c in company.tolist()]
    u = rng.random(len(company))
    for i, c in enumerate(company.tolist()):
        # start == 0: keep the first customers in their home language so the demo shows all three
        if start == 0 and i < 3:
            continue
        acc = 0.0
        for lang, share in _LANGUAGE_EXCEPTIONS[c]:
            acc += share
            if u[i] < acc:
                language[i] = lang
                break
    return language


def _credit_limits(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Credit limits in cents: whole thousands, scaled by segment."""
    n = len(segment)
    return (
        np.maximum(1, np.round(np.asarray(_SEGMENT_CREDIT_UNITS)[segment] * rng.lognormal(0.0, 0.5, n))).astype(
            np.int64
        )
        * 100_000
    )


def _dunning_policies(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Blank (the segment's policy applies) except for the few customers with an override."""
    n = len(segment)
    policy = np.full(n, "", dtype=object)
    override = rng.random(n) < 0.03
    # an override names another segment's policy: that policy exists wherever segments do
    policy[override] = [
        _SEGMENTS[(s + 1 + int(k)) % 3] for s, k in zip(segment[override], rng.integers(0, 2, int(override.sum())))
    ]
    return policy


def _make_emails(rng: np.random.Generator, names: list[str], company: np.ndarray) -> list[str]:
    """Shared AP mailboxes at a domain derived from the name; some add a named contact."""
    n = len(names)
    u = rng.random((n, 4))
    emails: list[str] = []
    for i, (name, c) in enumerate(zip(names, company.tolist())):
        if u[i, 0] < 0.03:
            emails.append("")  # no address on file: these customers need a letter or a call
            continue
        words = [
            w for w in name.replace(",", " ").split() if w not in _LEGAL_FORMS[c] and w not in ("&", "Co.", "de", "of")
        ]
        domain = _ascii_slug(" ".join(words[:2]))[:30].strip("-") + _TLD[c]
        boxes = _DEPARTMENT_MAILBOXES[c]
        address = f"{boxes[int(u[i, 1] * len(boxes))]}@{domain}"
        if u[i, 2] < 0.25:
            surname = _ascii_slug(_SURNAMES[c][int(u[i, 3] * len(_SURNAMES[c]))])
            initial = "abcdefghijklmnoprstw"[int(u[i, 3] * 997) % 20]
            address += f";{initial}.{surname}@{domain}"
        emails.append(address)
    return emails
