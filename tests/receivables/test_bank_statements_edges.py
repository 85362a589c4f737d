"""What real banks send besides the standard: per-entry quarantine, odd amounts and dates,
files that are no statements, and the bank reference that finds the same booking twice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from receivables.bank_statements import drop_duplicate_payments, read_statement
from receivables.cash_application.references import find_references, normalise_reference
from receivables.errors import InputRejected
from tests.conftest import TESTS

STATEMENTS = TESTS / "data" / "statements"
SWISS_053 = STATEMENTS / "camt053" / "camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml"
SWISS_054 = STATEMENTS / "camt053" / "camt.054-ES_P_CH0309000000250090342_38000000_0_2016052723011813.xml"


def camt(*entries: str, version: str = "053.001.02", container: str = "BkToCstmrStmt", stmt: str = "Stmt") -> bytes:
    return (
        f"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.{version}'><{container}>"
        f"<{stmt}><Id>S1</Id><Acct><Id><IBAN>DE44500105175407324931</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + "".join(entries)
        + f"</{stmt}></{container}></Document>"
    ).encode()


def entry(amount: str = "10.00", dates: str = "<ValDt><Dt>2026-03-02</Dt></ValDt>", inner: str = "") -> str:
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>{dates}"
        f"{inner}<AddtlNtryInf>RE 9000012345</AddtlNtryInf></Ntry>"
    )


def find(text: str, *documents: str) -> list[str]:
    """The documents the text names, as the reference rule's keys (leading zeros dropped)."""
    return find_references(text, {normalise_reference(d) for d in documents})


# --- one bad entry never rejects the file ---------------------------------------------------------


def test_an_entry_without_a_date_is_quarantined_and_the_rest_is_read() -> None:
    result = read_statement(camt(entry("1.00"), entry("2.00", dates=""), entry("3.00")), "day.xml")
    assert result.payments["amount"].tolist() == [100, 300]
    assert result.payments["payment_id"].tolist() == ["S1/1", "S1/3"]
    assert result.quarantine.to_dict("records") == [
        {
            "file": "day.xml",
            "statement_id": "S1",
            "entry_no": 2,
            "reason": "the entry has neither a value date nor a booking date",
        }
    ]
    assert (result.counts.entries, result.counts.credits, result.counts.quarantined) == (3, 2, 1)


def test_a_malformed_mt940_entry_or_header_is_quarantined_and_the_rest_is_read() -> None:
    sta = (
        ":20:A\n:25:DE89370400440532013000\n:28C:7/1\n:60F:C260301EUR0,00\n"
        ":61:2603010301C5,00NTRFNONREF//B1\n:86:RE 9000012345\n"
        ":61:26XX01C12,00NTRF\n:86:unreadable date\n"
        ":61:2603020302D7,00NTRFNONREF//B3\n:86:a debit\n:62F:C260302EUR10,00\n"
        ":20:B\n:25:DE89370400440532013000\n:28C:8/1\n:60F:C26XX02EUR0,00\n:61:2603030303C1,00NTRF\n:62F:C260303EUR1,00\n"
    )
    result = read_statement(sta.encode(), "bank.sta")
    assert result.payments["payment_id"].tolist() == ["DE89370400440532013000/7-1/1"]
    assert result.quarantine[["statement_id", "entry_no"]].values.tolist() == [
        ["DE89370400440532013000/7-1", 2],
        ["DE89370400440532013000/8-1", 1],
    ]
    assert "'26XX01C12,00NTRF' does not have the MT940 layout" in result.quarantine["reason"][0]
    assert result.quarantine["reason"][1].startswith("the statement header cannot be read")
    counts = result.counts
    assert (counts.statements, counts.entries, counts.credits, counts.debits_skipped, counts.quarantined) == (
        2,
        4,
        1,
        1,
        2,
    )


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12.345", "the amount '12.345' is not an amount with at most 2 decimals"),
        ("abc", "the amount 'abc' is not a number"),
        ("0.00", "a credit of 0.00 is not a payment"),
    ],
)
def test_an_unreadable_amount_is_quarantined(amount: str, reason: str) -> None:
    result = read_statement(camt(entry(amount), entry("1.00")), "day.xml")
    assert result.quarantine["reason"].tolist() == [reason]
    assert result.payments["amount"].tolist() == [100]


def test_a_batch_that_does_not_add_up_is_quarantined() -> None:
    details = "".join(f"<TxDtls><Amt Ccy='EUR'>{a}</Amt></TxDtls>" for a in ("1.00", "1.00"))
    result = read_statement(camt(entry("3.00", inner=f"<NtryDtls>{details}</NtryDtls>")), "day.xml")
    assert result.quarantine["reason"].tolist() == [
        "the batch's transactions add up to 2.00, not to the entry amount 3.00"
    ]


# --- what the standard does not say --------------------------------------------------------------


def test_three_decimals_with_a_trailing_zero_are_two() -> None:
    assert read_statement(camt(entry("105.750")), "day.xml").payments["amount"].tolist() == [10575]
    sta = ":20:A\n:25:ACC\n:28C:1\n:60F:C260301EUR0,\n:61:2603010301C105,750NTRFNONREF\n:86:x\n:61:2603010301C7NTRF\n"
    assert read_statement(sta.encode(), "a.sta").payments["amount"].tolist() == [10575, 700]


def test_dates_with_a_time_zone_offset_are_the_dates_written() -> None:
    # davider80.xml writes every date as 2017-04-11+02:00; its one credit is booked that day
    from tests.receivables.test_bank_statements_files import external

    davider = read_statement(external("camt053/davider80.xml").read_bytes(), "davider80.xml")
    assert davider.payments["value_date"].tolist() == [pd.Timestamp("2017-04-11")]
    # a date-time late in the evening west of UTC stays on its day (no conversion to UTC)
    late = "<BookgDt><DtTm>2014-12-31T23:30:00-05:00</DtTm></BookgDt>"
    payments = read_statement(camt(entry(dates=late)), "day.xml").payments
    assert payments[["value_date", "booking_date"]].to_dict("records") == [
        {"value_date": pd.Timestamp("2014-12-31"), "booking_date": pd.Timestamp("2014-12-31")}
    ]


def test_notifications_reports_and_later_versions_are_read_alike() -> None:
    booked = "<Sts><Cd>BOOK</Cd></Sts>"  # .001.07 on
    for document in (
        camt(entry(), version="054.001.08", container="BkToCstmrDbtCdtNtfctn", stmt="Ntfctn"),
        camt(entry(), version="052.001.02", container="BkToCstmrAcctRpt", stmt="Rpt"),
        camt(entry().replace("<Sts>BOOK</Sts>", booked), version="053.001.08"),
    ):
        result = read_statement(document, "day.xml")
        assert result.payments["amount"].tolist() == [1000]
        assert result.payments["remittance_info"].tolist() == ["RE 9000012345"]


def test_pending_and_reversed_credits_are_counted_not_paid() -> None:
    pending = entry().replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>")
    reversed_ = entry().replace("</CdtDbtInd>", "</CdtDbtInd><RvslInd>true</RvslInd>")
    result = read_statement(camt(pending, reversed_, entry()), "day.xml")
    assert len(result.payments) == 1
    assert (result.counts.pending_skipped, result.counts.reversals_skipped) == (1, 1)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("customers.csv", b"countryCode,customerID,invoiceNumber\n391,0379-NEVHP,0000611365\n"),
        ("page.xml", b"<?xml version='1.0'?><html><body>hello</body></html>"),
        (
            "order.xml",
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'><CstmrCdtTrfInitn/></Document>",
        ),
        ("empty.sta", b""),
        ("broken.xml", b"<Document><BkToCstmrStmt><Stmt>"),
    ],
)
def test_a_file_that_is_no_statement_is_rejected_naming_it(name: str, content: bytes) -> None:
    with pytest.raises(InputRejected) as err:
        read_statement(content, name)
    message = str(err.value)
    assert f"file {name}" in message and "\n" not in message
    assert err.value.exit_code == 2


# --- remittance text feeds the reference rule -----------------------------------------------------


def test_remittance_text_names_the_invoices() -> None:
    german = read_statement((STATEMENTS / "camt053" / "camt_germany_01.xml").read_bytes(), "g.xml").payments
    assert find(german["remittance_info"].iloc[0], "4711") == ["4711"]
    finnish = read_statement((STATEMENTS / "camt053" / "FI_camt_054_sample.xml.xml").read_bytes(), "f.xml").payments
    # two structured creditor references (an RF reference and its credit note) in one payment
    assert find(finnish["remittance_info"].iloc[4], "RF7812345", "RF0812344") == ["RF7812345", "RF812344"]
    swiss = read_statement(SWISS_053.read_bytes(), "ch.xml").payments
    assert find(swiss["remittance_info"].iloc[0], "000000000002015110002913192")  # an ISR reference
    # MT940 slash sub-fields, cut mid-word by the bank: payer, IBAN and text whole again
    sta = (
        ":20:A\n:25:NL91ABNA0417164300\n:28C:1\n:60F:C260301EUR0,00\n:61:2603010301C50,00NTRFNONREF//B1\n"
        ":86:/EREF/E2E-1/ORDP//NAME/ACME TRADING B\nV/IBAN/DE89370400440532013000/REMI/USTD//INV 90000\n12345/\n"
    )
    row = read_statement(sta.encode(), "a.sta").payments.iloc[0]
    assert (row["payer_name"], row["payer_iban"]) == ("ACME TRADING BV", "DE89370400440532013000")
    assert find(row["remittance_info"], "9000012345") == ["9000012345"]
    assert row["account_iban"] == "NL91ABNA0417164300"


def test_code_page_852_is_read() -> None:
    hungarian = read_statement((STATEMENTS / "mt940" / "self-provided" / "raiffeisen-cmi.sta").read_bytes(), "r.sta")
    assert "összevont utánvét" in hungarian.payments["remittance_info"].iloc[0]


# --- the same booking twice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        (SWISS_054, SWISS_053, 8),  # the day's credit notification, then the month's statement
        (STATEMENTS / "mt940" / "mBank" / "mt942.sta", STATEMENTS / "mt940" / "mBank" / "mt940.sta", 3),
    ],
)
def test_overlapping_statements_give_the_same_bank_reference(first: Path, second: Path, shared: int) -> None:
    a = read_statement(first.read_bytes(), first.name).payments
    b = read_statement(second.read_bytes(), second.name).payments
    common = set(zip(a["account_id"], a["bank_reference"])) & set(zip(b["account_id"], b["bank_reference"]))
    assert len(common) == shared
    combined, dropped = drop_duplicate_payments([a, b])
    assert (len(combined), dropped) == (len(a) + len(b) - shared, shared)
    repeated = b[[key in common for key in zip(b["account_id"], b["bank_reference"])]]
    assert combined["amount"].sum() == a["amount"].sum() + b["amount"].sum() - repeated["amount"].sum()


def test_a_rerun_of_the_same_file_is_all_duplicates() -> None:
    data = (STATEMENTS / "camt053" / "camt.xml").read_bytes()
    payments = read_statement(data, "camt.xml").payments
    combined, dropped = drop_duplicate_payments([payments, read_statement(data, "camt.xml").payments])
    assert dropped == len(payments) == len(combined)


def test_a_reference_shared_within_one_statement_is_not_trusted() -> None:
    # the German sample gives every entry the AcctSvcrRef "Bankreferenz": different bookings
    german = read_statement((STATEMENTS / "camt053" / "camt_germany_01.xml").read_bytes(), "g.xml").payments
    assert german["bank_reference"].is_unique
    assert german["bank_reference"].str.startswith("H:").all()
    # identical entries of one statement without any reference are two bookings
    same = read_statement(camt(entry(), entry()), "day.xml").payments
    assert same["bank_reference"].tolist()[1] == same["bank_reference"].tolist()[0] + "#2"
