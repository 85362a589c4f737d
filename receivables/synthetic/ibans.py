"""Payer bank accounts: IBANs with valid check digits, unique per customer.

Cash application identifies a payer by the IBAN on the bank line, so the generated accounts
must pass the same validation a bank applies (ISO 13616 mod-97, and the Spanish national
check digits) and must never be shared by two customers.  Account numbers are derived from
the customer number through a bijection, which makes them unique without a lookup table.
"""

from __future__ import annotations

import numpy as np

from receivables.synthetic.text_columns import _STRING

_DE_BANKS = (
    10070000,
    20050550,
    37040044,
    50010517,
    70150000,
    60050101,
    76050101,
    30050110,
    43060967,
    12030000,
)
_ES_BANKS = (2100, 49, 182, 81, 128, 2085, 3058, 487)
#: UK banks for US customers paying from a British subsidiary: (bank code, as IBAN digits, sort code prefix)
_GB_BANKS = (("NWBK", 23321120, 60), ("BARC", 11102712, 20), ("HBUK", 17113020, 40), ("LOYD", 21243413, 30))


def _make_ibans(rng: np.random.Generator, numbers: np.ndarray, company: np.ndarray) -> list[list[str]]:
    """Payer accounts with valid check digits, unique per customer (derived from its number).

    German and Spanish customers mostly pay from a domestic account; a few US customers pay
    from a UK subsidiary's account (US accounts have no IBAN).  Some customers have two.
    """
    n = len(numbers)
    has = rng.random(n) < np.asarray((0.70, 0.60, 0.08))[company]
    two = has & (rng.random(n) < 0.10)
    out: list[list[str]] = [[] for _ in range(n)]
    for k in (0, 1):
        sel = np.flatnonzero(has if k == 0 else two)
        if len(sel) == 0:
            continue
        # multiplying by a constant coprime to 10^m is a bijection: unique account numbers
        slot = numbers[sel] * 2 + k
        comp = company[sel]
        text = np.empty(len(sel), dtype=object)
        for country, accounts in enumerate((_german_ibans, _spanish_ibans, _british_ibans)):
            mine = comp == country
            if mine.any():
                text[mine] = accounts(rng, slot[mine])
        for i, t in zip(sel.tolist(), text.tolist()):
            out[i].append(t)
    return out


def _german_ibans(rng: np.random.Generator, slot: np.ndarray) -> list[str]:
    """DE: an eight-digit bank code (BLZ) and a ten-digit account number."""
    blz = np.asarray(_DE_BANKS)[rng.integers(0, len(_DE_BANKS), len(slot))]
    acct = (slot * 1_234_567_891) % 10**10
    r = blz % 97
    r = (r * 10**10 + acct) % 97
    r = (r * 10**6 + 131400) % 97  # "DE00" -> 13 14 00
    return _iban_text("DE", 98 - r, [(blz, 8), (acct, 10)])


def _spanish_ibans(rng: np.random.Generator, slot: np.ndarray) -> list[str]:
    """ES: bank, branch, the two national check digits and a ten-digit account number."""
    bank = np.asarray(_ES_BANKS)[rng.integers(0, len(_ES_BANKS), len(slot))]
    branch = rng.integers(1, 9999, len(slot))
    acct = (slot * 3_456_789_011) % 10**10
    dc = _spanish_control_digits(bank, branch, acct)
    r = (bank * 10**4 + branch) % 97
    r = (r * 100 + dc) % 97
    r = (r * 10**10 + acct) % 97
    r = (r * 10**6 + 142800) % 97  # "ES00" -> 14 28 00
    return _iban_text("ES", 98 - r, [(bank, 4), (branch, 4), (dc, 2), (acct, 10)])


def _british_ibans(rng: np.random.Generator, slot: np.ndarray) -> list[str]:
    """GB, for US customers paying from a UK subsidiary: bank code, sort code, account number."""
    pick = rng.integers(0, len(_GB_BANKS), len(slot))
    letters = np.asarray([b[0] for b in _GB_BANKS])[pick]
    digits = np.asarray([b[1] for b in _GB_BANKS])[pick]
    sort = np.asarray([b[2] for b in _GB_BANKS])[pick] * 10_000 + rng.integers(0, 10_000, len(slot))
    acct = (slot * 13_579_137) % 10**8
    r = digits % 97
    r = (r * 10**6 + sort) % 97
    r = (r * 10**8 + acct) % 97
    r = (r * 10**6 + 161100) % 97  # "GB00" -> 16 11 00
    body = _iban_text("GB", 98 - r, [(sort, 6), (acct, 8)])
    return [t[:4] + code + t[4:] for t, code in zip(body, letters)]


def _iban_text(country: str, check: np.ndarray, parts: list[tuple[np.ndarray, int]]) -> list[str]:
    text = np.strings.add(country, np.strings.zfill(check.astype(_STRING), 2))
    for values, width in parts:
        text = np.strings.add(text, np.strings.zfill(np.asarray(values).astype(_STRING), width))
    return text.tolist()


def _spanish_control_digits(bank: np.ndarray, branch: np.ndarray, acct: np.ndarray) -> np.ndarray:
    """The two national check digits (DC) of a Spanish account number (CCC)."""
    weights = np.asarray([1, 2, 4, 8, 5, 10, 9, 7, 3, 6])

    def digit(number: np.ndarray) -> np.ndarray:
        powers = 10 ** np.arange(9, -1, -1, dtype=np.int64)
        total = ((number[:, None] // powers) % 10 * weights).sum(axis=1)
        d = 11 - total % 11
        return np.where(d == 11, 0, np.where(d == 10, 1, d))

    return digit(bank * 10**4 + branch) * 10 + digit(acct)
