"""Payments straight from bank statements, on the project's own camt.053 and MT940 samples: the
fields of each payment, cash application on them, and the strict readers (``read_bank_statement``,
``read_camt053``, ``read_mt940``: a frame, or an error for the first unreadable entry).

The real banks' files are in test_bank_statements_files.py, quarantine and duplicates in
test_bank_statements_edges.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from receivables.bank_statements import ACCOUNT_COLUMN, read_bank_statement, read_camt053, read_mt940, read_statement
from receivables.cash_application import MatchingRules, apply_cash
from receivables.errors import InputRejected
from receivables.schemas import PAYMENTS
from tests.conftest import TESTS

BANK = TESTS / "data" / "bank"


def records(frame: pd.DataFrame) -> list[dict]:
    """The canonical ``payments`` columns and the account, with ISO dates and None for blanks."""
    frame = frame[PAYMENTS.names + [ACCOUNT_COLUMN]]
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        row["value_date"] = row["value_date"].date().isoformat()
    return out


def assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns)[: len(PAYMENTS.names)] == PAYMENTS.names
    assert frame["amount"].dtype == "int64" and (frame["amount"] > 0).all()
    assert frame["value_date"].dtype == "datetime64[ns]"
    assert frame.index.tolist() == list(range(1, len(frame) + 1))
    assert frame["payment_id"].is_unique
    assert frame["customer_id"].isna().all()


def test_camt053_credits_single_and_batch_entries() -> None:
    frame = read_camt053(BANK / "camt053_v02_sample.xml", "1000")
    assert_canonical(frame)
    rows = records(frame)
    # the debit (entry 2) and the pending entry (4) are not payments; the batch (3) gives two
    assert [r["payment_id"] for r in rows] == [
        "DE44500105175407324931-2026-061/1",
        "DE44500105175407324931-2026-061/3/1",
        "DE44500105175407324931-2026-061/3/2",
        "DE44500105175407324931-2026-061/5",
    ]
    first = rows[0]
    assert first == {
        "payment_id": "DE44500105175407324931-2026-061/1",
        "company_code": "1000",
        "value_date": "2026-03-01",
        "amount": 119000,
        "currency": "EUR",
        "customer_id": None,
        "payer_name": "Müller Logistik GmbH",
        "payer_iban": "DE89370400440532013000",
        "remittance_info": "Rechnung Nr. 9000012345 und 9000012346 abzgl. Gutschrift 9000012399",
        "bank_reference": "2026030100012345",
        "account_id": "DE44500105175407324931",
    }
    assert [r["amount"] for r in rows[1:3]] == [188000, 125000]
    assert rows[1]["value_date"] == "2026-02-28"
    assert rows[1]["remittance_info"] == "Factura F-2026-000123 EREF+E2E-ES-0001"
    assert rows[2]["remittance_info"] == "RF18539007547034"  # structured creditor reference
    assert rows[2]["payer_name"] == "Hans Meyer e.K." and rows[2]["bank_reference"] == "2026030100012347-2"
    assert (rows[3]["currency"], rows[3]["amount"], rows[3]["payer_iban"]) == ("USD", 64000, None)
    assert rows[3]["remittance_info"] == "INV 123 PO 4500012345 EREF+PO4500012345"


def test_read_statement_counts_what_is_no_payment() -> None:
    result = read_statement((BANK / "camt053_v02_sample.xml").read_bytes(), "camt053_v02_sample.xml")
    counts = result.counts
    assert (counts.statements, counts.entries, counts.credits) == (1, 5, 4)
    assert (counts.debits_skipped, counts.pending_skipped, counts.reversals_skipped, counts.quarantined) == (1, 1, 0, 0)
    assert result.format == "camt.053.001.02" and result.quarantine.empty
    assert result.payments["company_code"].isna().all()
    assert set(result.payments["account_iban"]) == {"DE44500105175407324931"}


def test_camt053_later_versions_read_the_same_way() -> None:
    rows = records(read_bank_statement(BANK / "camt053_v08_sample.xml", "2000"))
    assert len(rows) == 1
    row = rows[0]
    assert (row["payment_id"], row["amount"], row["company_code"]) == (
        "ES7620770024003102575766-20260302/1",
        240175,
        "2000",
    )
    assert row["payer_name"] == "Construcciones Peña S.A."
    assert row["remittance_info"] == "9000012346 9000012399 EREF+9000012346"


def test_mt940_german_structured_details() -> None:
    frame = read_mt940(BANK / "mt940_de_sample.sta", "1000")
    assert_canonical(frame)
    rows = records(frame)
    assert [r["payment_id"] for r in rows] == [
        "50010517/5407324931/00061-001/1",
        "50010517/5407324931/00061-001/3",
        "50010517/5407324931/00061-001/4",
        "50010517/5407324931/00062-001/1",
    ]
    first = rows[0]
    assert (first["amount"], first["currency"], first["value_date"]) == (119000, "EUR", "2026-03-02")
    # ?32/?33 name, ?31 account, ?20-?29 purpose joined across lines, EREF+ kept for matching
    assert first["payer_name"] == "MUELLER LOGISTIK GMBH"
    assert first["payer_iban"] == "DE89370400440532013000"
    assert first["remittance_info"] == "RE 9000012346 abzgl. Gutschrift 9000012399 Kd 4711 EREF+9000012345"
    assert first["bank_reference"] == "260302000123"
    assert rows[1]["remittance_info"] == "RF18 5390 0754 7034"
    # an unstructured :86: is the text as it is; the :61: customer reference is kept
    assert rows[2]["remittance_info"] == "Factura F-2026-000123 Distribuciones Garcia SL"
    assert rows[2]["payer_name"] is None
    # a document number cut by the 27-character ?2x line is whole again
    assert rows[3]["remittance_info"] == "Abschlag Rechnung 9000012400"
    assert rows[3]["payer_name"] == "Schmidt & Soehne OHG"


def test_reading_twice_gives_the_same_ids() -> None:
    for name in ("camt053_v02_sample.xml", "mt940_de_sample.sta"):
        a = read_bank_statement(BANK / name, "1000")
        b = read_bank_statement(BANK / name, "1000")
        pd.testing.assert_frame_equal(a, b)


def test_statement_payments_go_straight_into_cash_application() -> None:
    payments = pd.concat(
        [
            read_bank_statement(BANK / "mt940_de_sample.sta", "1000"),
            read_bank_statement(BANK / "camt053_v02_sample.xml", "1000"),
        ],
        ignore_index=True,
    )
    payments.index = pd.RangeIndex(1, len(payments) + 1)
    rows = [
        ("9000012345", "INV", 50000, None),
        ("9000012346", "INV", 79000, None),
        ("9000012399", "CRN", -10000, None),
        ("9000012400", "INV", 125000, "RF18 5390 0754 7034"),
        ("F-2026-000123", "INV", 188000, None),
    ]
    items = pd.DataFrame(
        {
            "company_code": "1000",
            "document_no": [r[0] for r in rows],
            "document_type": [r[1] for r in rows],
            "customer_id": ["C1", "C1", "C1", "C2", "C3"],
            "document_date": pd.Timestamp("2026-02-01"),
            "due_date": pd.Timestamp("2026-03-01"),
            "currency": "EUR",
            "amount": [r[2] for r in rows],
            "open_amount": [r[2] for r in rows],
            "reference": [r[3] for r in rows],
        }
    ).astype(
        {
            "company_code": "string",
            "document_no": "string",
            "document_type": "string",
            "customer_id": "string",
            "currency": "string",
            "reference": "string",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "name": ["Müller Logistik GmbH", "Hans Meyer e.K.", "Distribuciones García S.L."],
            "company_code": "1000",
            "iban": None,
        }
    )
    result = apply_cash(items, payments, customers, MatchingRules(), date(2026, 3, 5))
    applied = result.applied
    by_doc = dict(zip(applied["document_no"], applied["payment_id"]))
    # the camt.053 lines (28 February, 1 March) come before the MT940 ones (2-4 March)
    assert by_doc["9000012345"] == "DE44500105175407324931-2026-061/1"
    assert by_doc["9000012400"] == "DE44500105175407324931-2026-061/3/2"
    assert by_doc["F-2026-000123"] == "DE44500105175407324931-2026-061/3/1"
    assert result.open_items_after["open_amount"].tolist() == [0, 0, 0, 0, 0]
    # the later statements name the same invoices again: duplicates, left as credit
    reasons = dict(zip(result.unapplied["payment_id"], result.unapplied["reason"]))
    assert reasons["50010517/5407324931/00061-001/3"] == "OVERPAYMENT"
    assert reasons["DE44500105175407324931-2026-061/5"] == "UNIDENTIFIED"  # Acme Corp. is nobody we know


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<Document><BkToCstmrStmt><Stmt>", "not a well-formed XML file"),
        (
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'><CstmrCdtTrfInitn/></Document>",
            "not an ISO 20022 bank statement: its root element is <Document>",
        ),
        (
            b"<Document><BkToCstmrStmt><Stmt><Id>S1</Id><Ntry><Amt Ccy='EUR'>12.345</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            b"<Sts>BOOK</Sts><ValDt><Dt>2026-03-01</Dt></ValDt></Ntry></Stmt></BkToCstmrStmt></Document>",
            "statement S1, entry 1: the amount '12.345' is not an amount with at most 2 decimals",
        ),
        (
            b"<Document><BkToCstmrStmt><Stmt><Id>S1</Id>"
            b"<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>"
            b"<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CREDIT</CdtDbtInd></Ntry></Stmt></BkToCstmrStmt></Document>",
            "statement S1, entry 1: the entry has neither a value date nor a booking date",
        ),
        (
            b"<Document><BkToCstmrStmt><Stmt><Id>S1</Id><Ntry><Amt Ccy='EUR'>3.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            b"<ValDt><Dt>2026-03-01</Dt></ValDt><NtryDtls><TxDtls><Amt Ccy='EUR'>1.00</Amt></TxDtls>"
            b"<TxDtls><Amt Ccy='EUR'>1.00</Amt></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>",
            "statement S1, entry 1: the batch's transactions add up to 2.00, not to the entry amount 3.00",
        ),
    ],
)
def test_malformed_camt053_is_rejected_naming_file_and_entry(content: bytes, message: str) -> None:
    with pytest.raises(InputRejected) as err:
        read_camt053(content, "1000", name="bank.xml")
    assert "file bank.xml" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello world", "not an MT940 or MT942 statement"),
        (
            b":20:X\n:25:ACC\n:28C:7/1\n:60F:C260301EUR0,00\n:61:2603010301C5,00NTRFNONREF\n:86:x\n"
            b":61:26XX01C12,00NTRF\n:86:y\n:62F:C260301EUR17,00\n",
            "statement ACC/7-1, entry 2: the :61: field '26XX01C12,00NTRF' does not have the MT940 layout",
        ),
        (b":20:X\n:25:ACC\n:28C:1/1\n:61:2603010301C12,00NTRFNONREF\n:86:x\n", "no currency"),
    ],
)
def test_malformed_mt940_is_rejected_naming_file_and_entry(content: bytes, message: str) -> None:
    with pytest.raises(InputRejected) as err:
        read_mt940(content, "1000", name="bank.sta")
    assert "file bank.sta" in str(err.value)
    assert message in str(err.value)


def test_a_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="cannot be read"):
        read_bank_statement(tmp_path / "nope.sta", "1000")


def test_a_statement_without_credits_gives_an_empty_typed_frame() -> None:
    frame = read_mt940(
        b":20:X\n:25:ACC\n:28C:1/1\n:60F:C260301EUR0,00\n:61:2603010301D5,00NDDTNONREF\n:86:x\n:62F:D260301EUR5,00\n",
        "1000",
    )
    assert frame.empty and list(frame.columns)[: len(PAYMENTS.names)] == PAYMENTS.names
    assert frame["amount"].dtype == "int64"


def test_camt053_entry_without_transaction_details_uses_the_entry_information() -> None:
    xml = (
        b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.04'><BkToCstmrStmt><Stmt><Id>S9</Id>"
        b"<Acct><Id><IBAN>DE44500105175407324931</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        b"<Ntry><Amt Ccy='EUR'>10.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        b"<BookgDt><DtTm>2026-03-02T10:11:12</DtTm></BookgDt><AcctSvcrRef>A1</AcctSvcrRef>"
        b"<AddtlNtryInf>GUTSCHRIFT RE 9000012345</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"
    )
    rows = records(read_camt053(xml, "1000"))
    assert rows == [
        {
            "payment_id": "S9/1",
            "company_code": "1000",
            "value_date": "2026-03-02",
            "amount": 1050,
            "currency": "EUR",
            "customer_id": None,
            "payer_name": None,
            "payer_iban": None,
            "remittance_info": "GUTSCHRIFT RE 9000012345",
            "bank_reference": "A1",
            "account_id": "DE44500105175407324931",
        }
    ]
