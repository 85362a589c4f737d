"""Every real statement file in tests/data/statements, read through ``read_statement``.

The credits (count and sum in cents, per currency) are compared with the expected result the
file's source project publishes beside it: the ``mt-940`` library's ``.yml`` for MT940/MT942,
genkgo/camt's ``.json`` and OCA's ``.pydata`` for camt. Files without one are compared with
counts read off the XML by hand (see ``CAMT_BY_HAND``). Provenance: tests/data/statements/README.md.
"""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path

import mt940  # noqa: F401  (the .yml files are pickled mt940.models objects: yaml needs the module)
import pandas as pd
import pytest
import yaml

from receivables.bank_statements import StatementRead, read_statement
from receivables.money import to_cents
from receivables.schemas import PAYMENTS
from tests.conftest import REPO, TESTS

STATEMENTS = TESTS / "data" / "statements"
#: copyleft samples (GPL-3.0, AGPL-3.0) stay out of this Apache-2.0 repository; they are read
#: from the shared folder of external data where the machine has it: RECEIVABLES_EXTERNAL_DATA,
#: else ``../shared/external`` beside the checkout, else the team machines' /work/shared/external
EXTERNAL = next(
    (
        p
        for p in (
            Path(os.environ.get("RECEIVABLES_EXTERNAL_DATA", "/nonexistent")),
            REPO.parent / "shared" / "external",
            Path("/work/shared/external"),
        )
        if (p / "camt053").is_dir()
    ),
    REPO.parent / "shared" / "external",
)
COPYLEFT = ("camt053/davider80.xml", "camt053/simple.xml", "camt053/test-camt053")
MT940_FILES = sorted(STATEMENTS.glob("mt940/*/*.sta"))
CAMT_FILES = sorted(p for p in STATEMENTS.glob("camt053/*") if p.suffix not in (".json", ".pydata")) + [
    EXTERNAL / name for name in COPYLEFT if (EXTERNAL / name).is_file()
]


def _id(path: Path) -> str:
    return path.relative_to(EXTERNAL if path.is_relative_to(EXTERNAL) else STATEMENTS).as_posix()


def external(name: str) -> Path:
    """A copyleft sample from the shared external folder, or a skip saying why it is absent."""
    path = EXTERNAL / name
    if not path.is_file():
        pytest.skip(f"{name} is GPL/AGPL-licensed and not copied into this repository; {EXTERNAL} is absent")
    return path


def read(path: Path) -> StatementRead:
    return read_statement(path.read_bytes(), path.name)


def credits_by_currency(frame: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """{currency: (number of payments, sum of cents)}"""
    grouped = frame.groupby("currency")["amount"].agg(["count", "sum"])
    return {str(c): (int(n), int(s)) for c, (n, s) in grouped.iterrows()}


def test_every_file_is_covered() -> None:
    assert len(MT940_FILES) == 13 and len(CAMT_FILES) in (9, 12)
    assert {_id(p) for p in CAMT_FILES} | set(COPYLEFT) == set(CAMT_BY_HAND) | set(CAMT_WITH_EXPECTED)


# --- MT940 / MT942 against the mt-940 library's expected results ---------------------------------


@pytest.mark.parametrize("path", MT940_FILES, ids=_id)
def test_mt940_credits_match_the_library_expected_result(path: Path) -> None:
    expected = yaml.unsafe_load(path.with_suffix(".yml").read_bytes())
    result = read(path)
    # a credit is a transaction the library marks C (funds code apart) with a positive amount;
    # RC/RD are reversals, which the library gives as positive amounts too but are no payments
    status = Counter(str(t.data["status"]).upper() for t in expected)
    want: dict[str, tuple[int, int]] = {}
    for t in expected:
        amount = t.data["amount"]
        if str(t.data["status"]).upper() == "C" and amount.amount > 0:
            n, total = want.get(amount.currency, (0, 0))
            want[amount.currency] = (n + 1, total + to_cents(amount.amount))
    assert credits_by_currency(result.payments) == want
    assert result.counts.entries == len(expected)
    assert result.counts.debits_skipped == status["D"]
    assert result.counts.reversals_skipped == status["RC"] + status["RD"]
    assert (result.counts.quarantined, result.counts.pending_skipped) == (0, 0)
    assert result.format == ("MT942" if path.name == "mt942.sta" else "MT940")


# --- camt against the published expected results ------------------------------------------------


def _genkgo_credits(path: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """{statement id: {currency: (payments, cents)}} from genkgo/camt's serialised result:
    entries CRDT, BOOK, not reversed; amounts are minor-unit strings ("885" = 8.85)."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for entry in json.loads(path.read_text())["getEntries"]:
        per_statement = out.setdefault(entry["getRecord"]["getId"], {})
        if entry["getCreditDebitIndicator"] != "CRDT" or entry["getStatus"] != "BOOK" or entry["getReversalIndicator"]:
            continue
        currency = entry["getAmount"]["getCurrency"]["getCode"]
        details = max(1, len(entry.get("getTransactionDetails") or []))
        n, total = per_statement.get(currency, (0, 0))
        per_statement[currency] = (n + details, total + int(entry["getAmount"]["getAmount"]))
    return out


@pytest.mark.parametrize("name", ["camt053.v8", "camt053.v2.multi.statement"])
def test_camt_credits_match_genkgo_expected_result(name: str) -> None:
    expected = _genkgo_credits(STATEMENTS / "camt053" / f"{name}.json")
    payments = read(STATEMENTS / "camt053" / f"{name}.xml").payments
    # the multi-statement snapshot holds the second statement only (its one debit): compare the
    # statements it holds; the first is in CAMT_WITH_EXPECTED's whole-file numbers
    got = {sid: credits_by_currency(payments[payments["statement_id"] == sid]) for sid in expected}
    assert got == expected


def test_camt_credits_match_oca_golden_result() -> None:
    currency, account, statements = ast.literal_eval(external("camt053/golden-camt053.pydata").read_text())
    result = read(external("camt053/test-camt053"))
    credits = [t for s in statements for t in s["transactions"] if t["amount"] > 0]
    got = result.payments
    assert credits_by_currency(got) == {
        currency: (len(credits), sum(to_cents(Decimal(str(t["amount"]))) for t in credits))
    }
    assert set(got["account_iban"]) == {account}
    assert [(r.value_date.date().isoformat(), r.payer_name, r.payer_iban) for r in got.itertuples()] == [
        (t["date"], t["partner_name"], t["account_number"]) for t in credits
    ]


#: whole-file numbers of the camt files with an expected result, from the same reading of the XML
CAMT_WITH_EXPECTED = {
    # 1 entry CRDT BOOK 8.85 EUR (its one TxDtls carries 0 SEK: the entry amount counts)
    "camt053/camt053.v8.xml": ({"EUR": (1, 885)}, 0, 0, 0),
    # statement 253: CRDT 8.85; statement 254: DBIT 7.00
    "camt053/camt053.v2.multi.statement.xml": ({"EUR": (1, 885)}, 1, 0, 0),
    # DBIT 754.25; DBIT 664.05 with RvslInd true; CRDT 1,405.31 with one TxDtls
    "camt053/test-camt053": ({"EUR": (1, 140531)}, 1, 1, 0),
}

#: counted by hand: per <Ntry> its CdtDbtInd, Sts and RvslInd; a booked credit gives one payment
#: per TxDtls when they add up to the entry (they all do here), else one; sums of <Amt>
CAMT_BY_HAND = {
    # 268 entries: CRDT 50,000.00 (29 Nov, 21 Nov, 12 Nov) and 30,000.00 (5 Nov), 264 DBIT
    "camt053/BE68793230773034-202411.xml": ({"EUR": (4, 18_000_000)}, 264, 0, 0),
    # entries 4-9 CRDT (2,000 + 500 + 3,000 + 2,120 + 5,455 + 10,000, one TxDtls or none each),
    # entries 1-3 and 10 DBIT; 10,000.00 + 23,075.00 - 9,430.17 = 23,644.83, the closing balance
    "camt053/FI_camt_053_sample.xml.xml": ({"EUR": (6, 2_307_500)}, 4, 0, 0),
    # entries 1-3 CRDT with 2 TxDtls each (1,900 + 100, 400 + 100, 2,500 + 500), 4-5 DBIT,
    # 6 CRDT with Sts INFO (and RvslInd): not booked
    "camt053/FI_camt_054_sample.xml.xml": ({"EUR": (6, 550_000)}, 2, 0, 1),
    # entries 7-11 CRDT with 10, 8, 3, 2 and 1 TxDtls (1,000.00 + 620.00 + 110.00 + 24.00 +
    # 56.56); 1-6 DBIT; 12-13 DBIT with RvslInd true
    "camt053/camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml": ({"CHF": (24, 181_056)}, 6, 2, 0),
    # 1 CRDT entry of 620.00 with 8 TxDtls
    "camt053/camt.054-ES_P_CH0309000000250090342_38000000_0_2016052723011813.xml": ({"CHF": (8, 62_000)}, 0, 0, 0),
    # CRDT entries 1, 2, 3, 5 (1.00 each, 0 or 1 TxDtls), 4 (10.00, 10 TxDtls), 10 (7.00, 7 TxDtls)
    # and 11 (7.00, no TxDtls): 22 payments, 28.00; 6-9 DBIT; 12-13 DBIT with RvslInd true
    "camt053/camt.xml": ({"EUR": (22, 2_800)}, 4, 2, 0),
    # CRDT entries 1, 2, 4, 5, 10: 100.00 + 200.00 + 100.00 + 200.00 + 259,595.60; 5 DBIT
    "camt053/camt_germany_01.xml": ({"EUR": (5, 26_019_560)}, 5, 0, 0),
    # 16 entries without TxDtls: entry 13 CRDT 368 CHF, 15 DBIT
    "camt053/davider80.xml": ({"CHF": (1, 36_800)}, 15, 0, 0),
    # 4 DBIT entries
    "camt053/simple.xml": ({}, 4, 0, 0),
}


@pytest.mark.parametrize("path", CAMT_FILES, ids=_id)
def test_camt_credits_and_skips_per_file(path: Path) -> None:
    credits, debits, reversals, pending = {**CAMT_BY_HAND, **CAMT_WITH_EXPECTED}[_id(path)]
    result = read(path)
    assert credits_by_currency(result.payments) == credits
    counts = result.counts
    assert (counts.debits_skipped, counts.reversals_skipped, counts.pending_skipped) == (debits, reversals, pending)
    assert counts.quarantined == 0 and counts.credits == len(result.payments)


# --- what holds for every file -------------------------------------------------------------------


@pytest.mark.parametrize("path", MT940_FILES + CAMT_FILES, ids=_id)
def test_every_file_gives_canonical_stable_payments(path: Path) -> None:
    result = read(path)
    frame = result.payments
    assert list(frame.columns)[: len(PAYMENTS.names)] == PAYMENTS.names
    assert frame["amount"].dtype == "int64" and (frame["amount"] > 0).all()
    assert frame["value_date"].dtype == "datetime64[ns]" and frame["value_date"].notna().all()
    assert frame["payment_id"].is_unique
    assert not frame.duplicated(["account_id", "bank_reference"]).any()
    assert frame["company_code"].isna().all() and frame["customer_id"].isna().all()
    assert frame["account_id"].notna().all()
    pd.testing.assert_frame_equal(frame, read(path).payments)
