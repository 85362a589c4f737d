"""Refund proposals for old net credit balances (docs/refunds.md): who is proposed and for how
much, to the cent; the worklist action and the collection case; the ERP's CSV and the bank's
pain.001 file, which validates against the ISO schema; and a whole night that writes the table
and both files."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from lxml import etree

from receivables import pipeline
from receivables.casework.config import CaseRules
from receivables.casework.facts import Facts
from receivables.casework.lifecycle import decide
from receivables.money import to_cents
from receivables.refund_export import debtor_account, pain001, refund_csv
from receivables.refunds import REFUND_COLUMNS, propose_refunds, refund_id
from receivables.reporting_config import RefundRules, ReportingConfig
from receivables.settings import load_settings
from receivables.worklist import build_worklist
from receivables.worklist_reasons import ToBase, balances
from tests.conftest import TESTS, VALID_SET, warehouse_rows, write_set

AS_OF = date(2026, 10, 31)
XSD = TESTS / "data" / "sepa"
NS = {
    "pain.001.001.03": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
    "pain.001.001.09": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
}
COMPANY = {
    "name": "Nordwerk Industriebedarf GmbH",
    "bank": {
        "account_holder": "Nordwerk Industriebedarf GmbH",
        "iban": "DE94500700100123456789",
        "bic": "DEUTDEFFXXX",
    },
}
GOOD_IBAN = "DE89370400440532013000"


def item(cust: str, doc: str, days_ago: int, amount: str, currency: str = "EUR", company: str = "1000") -> dict:
    return {
        "company_code": company,
        "document_no": doc,
        "document_type": "CRN" if amount.startswith("-") else "INV",
        "customer_id": cust,
        "document_date": AS_OF - timedelta(days=days_ago),
        "due_date": AS_OF - timedelta(days=days_ago),
        "currency": currency,
        "open_amount": to_cents(amount),
    }


ITEMS = pd.DataFrame(
    [
        # A: a 500.00 credit note exactly 30 days old against an open 123.45 invoice: 376.55
        item("A", "CN-A1", 30, "-500.00"),
        item("A", "INV-A1", 10, "123.45"),
        # B: 29 days old: too young
        item("B", "CN-B1", 29, "-80.00"),
        # C: 0.99 is below the 1.00 minimum; D: exactly 1.00 is enough
        item("C", "PM-C1", 90, "-0.99"),
        item("D", "PM-D1", 90, "-1.00"),
        # E: an old credit, but a newer credit note makes the balance young
        item("E", "CN-E1", 200, "-300.00"),
        item("E", "CN-E2", 5, "-10.00"),
        # F: two currencies, kept apart: 200.00 USD credit proposed, the EUR invoice is owed
        item("F", "CN-F1", 45, "-200.00", "USD", "3000"),
        item("F", "INV-F1", 45, "50.00", "EUR", "3000"),
        # G: credits outweighed by invoices: owes money
        item("G", "CN-G1", 100, "-50.00"),
        item("G", "INV-G1", 100, "60.00"),
        # H: invalid IBAN in the master
        item("H", "CN-H1", 31, "-42.10"),
    ]
)
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": list("ABCDEFGH"),
        "name": ["Alfa GmbH", "Beta", "Gamma", "Delta SA", "Epsilon", "Foxtrot Inc.", "Golf", "Hotel KG"],
        "iban": [
            f"DE89 3704 0044 0532 0130 00;{GOOD_IBAN}",
            None,
            None,
            "ES91 2100 0418 4502 0005 1332",
            None,
            "",
            None,
            "DE89370400440532013001",
        ],
    }
)


@pytest.fixture
def proposals() -> pd.DataFrame:
    return propose_refunds(ITEMS, CUSTOMERS, AS_OF, RefundRules())


# --- proposals -------------------------------------------------------------------------------------


def test_old_net_credits_are_proposed_to_the_cent(proposals: pd.DataFrame) -> None:
    assert list(proposals.columns) == REFUND_COLUMNS
    got = proposals[["company_code", "customer_id", "currency", "amount", "documents", "iban", "name", "status"]]
    assert got.to_dict("records") == [
        dict(company_code="1000", customer_id="A", currency="EUR", amount=37655, documents="CN-A1;INV-A1",
             iban=GOOD_IBAN, name="Alfa GmbH", status="PROPOSED"),
        dict(company_code="1000", customer_id="D", currency="EUR", amount=100, documents="PM-D1",
             iban="ES9121000418450200051332", name="Delta SA", status="PROPOSED"),
        dict(company_code="1000", customer_id="H", currency="EUR", amount=4210, documents="CN-H1",
             iban=None, name="Hotel KG", status="PROPOSED"),
        dict(company_code="3000", customer_id="F", currency="USD", amount=20000, documents="CN-F1",
             iban=None, name="Foxtrot Inc.", status="PROPOSED"),
    ]  # fmt: skip
    notes = dict(zip(proposals["customer_id"], proposals["note"]))
    assert notes["A"] is None and notes["D"] is None
    assert notes["F"] == "no IBAN in the customer master"
    assert notes["H"].startswith("IBAN DE89370400440532013001 in the customer master is not valid")


def test_the_age_edge_and_per_currency_minimums_move_with_the_configuration() -> None:
    # one day younger threshold: B's 29-day-old credit is now old enough
    younger = propose_refunds(ITEMS, CUSTOMERS, AS_OF, RefundRules(min_age_days=29))
    assert "B" in set(younger["customer_id"])
    # one day older: A's 30-day-old credit note is too young now
    older = propose_refunds(ITEMS, CUSTOMERS, AS_OF, RefundRules(min_age_days=31))
    assert set(older["customer_id"]) == {"D", "F", "H"}
    # a USD minimum above F's 200.00 leaves it out, EUR keeps its 1.00
    rules = RefundRules(min_amount_by_currency={"USD": Decimal("200.01")})
    assert set(propose_refunds(ITEMS, CUSTOMERS, AS_OF, rules)["customer_id"]) == {"A", "D", "H"}


def test_refund_id_is_the_same_for_the_same_balance_and_fits_an_end_to_end_id(proposals: pd.DataFrame) -> None:
    again = propose_refunds(ITEMS, CUSTOMERS, AS_OF + timedelta(days=1), RefundRules())
    assert again.loc[again["customer_id"] == "A", "refund_id"].item() == proposals.iloc[0]["refund_id"]
    assert proposals.iloc[0]["refund_id"] == refund_id("1000", "A", "EUR", 37655, "CN-A1;INV-A1")
    assert refund_id("1000", "A", "EUR", 37654, "CN-A1;INV-A1") != proposals.iloc[0]["refund_id"]
    assert all(len(r) <= 35 and r.startswith("RF-1000-") for r in proposals["refund_id"][:3])


def test_no_open_items_no_proposal() -> None:
    empty = propose_refunds(ITEMS.iloc[0:0], CUSTOMERS, AS_OF, RefundRules())
    assert empty.empty and list(empty.columns) == REFUND_COLUMNS


# --- worklist and case -----------------------------------------------------------------------------


def test_worklist_asks_to_refund_or_offset_naming_amount_and_documents(proposals: pd.DataFrame) -> None:
    work = build_worklist(pd.DataFrame(), None, None, None, None, None, None, AS_OF, refunds=proposals)
    rows = work.set_index("customer_id")
    assert list(rows["next_action"]) == ["refund_or_offset"] * 4
    rid = proposals.iloc[0]["refund_id"]
    assert rows.loc["A", "reason"] == f"credit balance 376.55 EUR to refund or offset ({rid}: CN-A1, INV-A1)"
    assert rows.loc["F", "reason"].startswith("credit balance 200.00 USD to refund or offset (")
    assert rows.loc["F", "reason"].endswith("CN-F1); no usable IBAN")
    assert rows.loc["A", "summary"] == "Credit balance to refund or offset"
    assert rows.loc["A", "kinds"] == "refund"
    # 10 points for the reason, nothing overdue
    assert rows.loc["A", "priority"] == 10.0


def test_a_refund_brings_the_collection_case_to_closing() -> None:
    config = ReportingConfig()
    facts = Facts(as_of=AS_OF, balances=balances(None, config, ToBase(None)))
    facts.kinds[("1000", "A")] = ["refund"]
    facts.reason[("1000", "A")] = "credit balance 376.55 EUR to refund or offset"
    decision = decide(("1000", "A"), None, facts, CaseRules(), 14)
    assert (decision.stage, decision.action, decision.due) == ("CLOSING", "refund_or_offset", AS_OF)
    assert decision.detail == "credit balance 376.55 EUR to refund or offset"


# --- exports ---------------------------------------------------------------------------------------


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_lists_every_proposal_with_decimal_amounts_and_why_a_row_is_not_transferred(
    proposals: pd.DataFrame,
) -> None:
    text = refund_csv(proposals, COMPANY, AS_OF, RefundRules())
    assert text.splitlines()[0] == (
        "document,company_code,customer,name,iban,amount,currency,reference,documents,execution_date,"
        "in_transfer_file,note"
    )
    rows = _csv_rows(text)
    ids = list(proposals["refund_id"])
    assert [(r["document"], r["customer"], r["iban"], r["amount"], r["currency"]) for r in rows] == [
        (ids[0], "A", GOOD_IBAN, "376.55", "EUR"),
        (ids[1], "D", "ES9121000418450200051332", "1.00", "EUR"),
        (ids[2], "H", "", "42.10", "EUR"),
        (ids[3], "F", "", "200.00", "USD"),
    ]
    assert rows[0]["reference"] == f"Refund {ids[0]} of credit balance CN-A1 INV-A1"
    assert rows[0]["documents"] == "CN-A1;INV-A1" and rows[0]["execution_date"] == "2026-11-02"
    assert [r["in_transfer_file"] for r in rows] == ["yes", "yes", "no", "no"]
    assert rows[2]["note"].startswith("IBAN DE89370400440532013001 in the customer master is not valid")
    assert rows[3]["note"] == "USD is not a SEPA currency: pay it by hand"


def _validated(xml: bytes, version: str) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(XSD / f"{version}.xsd")))
    doc = etree.fromstring(xml)
    schema.assertValid(doc)
    return doc


@pytest.mark.parametrize("version", ["pain.001.001.03", "pain.001.001.09"])
def test_pain001_validates_against_the_iso_schema_with_amounts_to_the_cent(
    proposals: pd.DataFrame, version: str
) -> None:
    xml = pain001(proposals, COMPANY, AS_OF, RefundRules(pain_format=version))
    doc = _validated(xml, version)
    ns = {"p": NS[version]}
    txs = doc.findall(".//p:CdtTrfTxInf", ns)
    got = [
        (
            t.findtext("p:PmtId/p:EndToEndId", namespaces=ns),
            t.findtext("p:Amt/p:InstdAmt", namespaces=ns),
            t.find("p:Amt/p:InstdAmt", ns).get("Ccy"),
            t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=ns),
            t.findtext("p:Cdtr/p:Nm", namespaces=ns),
        )
        for t in txs
    ]
    ids = list(proposals["refund_id"])
    # H (invalid IBAN) and F (USD) stay out of the transfer file
    assert got == [
        (ids[0], "376.55", "EUR", GOOD_IBAN, "Alfa GmbH"),
        (ids[1], "1.00", "EUR", "ES9121000418450200051332", "Delta SA"),
    ]
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "377.55"
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert doc.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == "DE94500700100123456789"
    # as_of + 2 days: time to approve and upload; .09 wraps the date in <Dt>
    dated = ".//p:ReqdExctnDt" if version.endswith("03") else ".//p:ReqdExctnDt/p:Dt"
    assert doc.findtext(dated, namespaces=ns) == "2026-11-02"
    # the same proposals give the same message id: a bank refuses the file a second time
    again = pain001(proposals, COMPANY, AS_OF, RefundRules(pain_format=version))
    msg = ".//p:GrpHdr/p:MsgId"
    assert etree.fromstring(again).findtext(msg, namespaces=ns) == doc.findtext(msg, namespaces=ns)


def test_a_company_without_a_valid_account_writes_no_transfer_file(proposals: pd.DataFrame) -> None:
    bad = {**COMPANY, "refund_account": "DE00500700100123456789"}
    iban, bic, problem = debtor_account(bad)
    assert iban is None and "not a valid IBAN" in problem
    assert pain001(proposals, bad, AS_OF, RefundRules()) is None
    rows = _csv_rows(refund_csv(proposals, bad, AS_OF, RefundRules()))
    assert rows[0]["in_transfer_file"] == "no" and "DE00500700100123456789" in rows[0]["note"]
    # a valid refund_account wins over bank.iban, without the bank's BIC
    other = {**COMPANY, "refund_account": "DE02 1203 0000 0000 2020 51"}
    assert debtor_account(other) == ("DE02120300000000202051", None, None)
    assert pain001(proposals[proposals["currency"] == "USD"], COMPANY, AS_OF, RefundRules()) is None


# --- a whole night ---------------------------------------------------------------------------------


def test_a_night_writes_the_proposals_the_worklist_and_both_files(workdir: Path, tmp_path: Path) -> None:
    """VALID_SET plus C004 of company 1000, whose 250.00 credit note from 1 September is
    unused (60 days on 31 October): the one proposal.  C001's 119.00 credit note is smaller
    than its open invoices, so it is no refund."""
    files = dict(VALID_SET)
    files["customers.csv"] += (
        "C004,Kühn Logistik AG,ap@kuehn.example,de,DE,EUR,30,,STANDARD,,false,Anna Schmidt,DE02120300000000202051,1000\n"  # noqa: E501
    )
    files["open_items.csv"] += "1000,9000012500,CRN,C004,2026-09-01,2026-09-01,EUR,-250.00,-250.00,,false,,\n"
    source = write_set(tmp_path / "extracts", files)
    summary = pipeline.run_nightly(str(source), AS_OF, load_settings(render_workers=1))

    rows = warehouse_rows(
        workdir, "SELECT refund_id, company_code, customer_id, currency, amount, documents, iban, name, status "
        "FROM refund_proposals"
    )  # fmt: skip
    assert len(rows) == 1
    rid = rows[0][0]
    assert rows[0][1:] == ("1000", "C004", "EUR", rows[0][4], "9000012500", "DE02120300000000202051",
                           "Kühn Logistik AG", "PROPOSED")  # fmt: skip
    assert Decimal(str(rows[0][4])) == Decimal("250.00")
    work = warehouse_rows(workdir, "SELECT next_action, reason FROM collector_worklist WHERE customer_id = 'C004'")
    assert work == [("refund_or_offset", f"credit balance 250.00 EUR to refund or offset ({rid}: 9000012500)")]
    stage = warehouse_rows(workdir, "SELECT stage, next_action FROM collection_cases WHERE customer_id = 'C004'")
    assert stage == [("CLOSING", "refund_or_offset")]

    folder = workdir / "reports" / AS_OF.isoformat()
    csv_rows = _csv_rows((folder / "refunds-1000-2026-10-31.csv").read_text(encoding="utf-8"))
    assert [(r["document"], r["customer"], r["iban"], r["amount"], r["currency"]) for r in csv_rows] == [
        (rid, "C004", "DE02120300000000202051", "250.00", "EUR")
    ]
    xml = (folder / "refunds-1000-2026-10-31.pain.001.xml").read_bytes()
    doc = _validated(xml, "pain.001.001.09")
    assert doc.findtext(".//p:InstdAmt", namespaces={"p": NS["pain.001.001.09"]}) == "250.00"
    assert sorted(p.name for p in folder.glob("refunds-*")) == [
        "refunds-1000-2026-10-31.csv",
        "refunds-1000-2026-10-31.pain.001.xml",
    ]
    assert summary["files"]["refunds_pain001_1000"] == str(folder / "refunds-1000-2026-10-31.pain.001.xml")

    book = openpyxl.load_workbook(folder / "receivables-2026-10-31.xlsx", read_only=True)
    sheet = [tuple(row) for row in book["Refunds"].iter_rows(values_only=True)]
    assert sheet[0][:6] == (
        "Refund",
        "Company code",
        "Customer",
        "Customer name",
        "Currency",
        "Credit to refund (native)",
    )
    assert sheet[1][:6] == (rid, "1000", "C004", "Kühn Logistik AG", "EUR", 250.0)
