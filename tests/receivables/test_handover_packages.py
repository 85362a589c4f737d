"""Handover packages (docs/close.md "Handover packages"): the package's CSV and XLSX to the
cent, exported once per case, byte-identical on a rebuild, and dunning paused at the agency."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pandas as pd

from receivables.close.handovers import build_packages, due_handovers, handovers_frame, package_csv, package_xlsx
from receivables.close.writeoff_rules import HandoverRules
from receivables.dunning import propose_dunning
from tests.receivables.test_dunning import AS_OF, POLICIES, customer, customers, item, items, reasons

T = AS_OF.date()
RULES = HandoverRules.model_validate(
    {"agencies": {"1000": {"name": "inkasso-nord"}}, "by_country": {"1000/AT": {"name": "inkasso-wien"}}}
)


def cases(*rows: tuple) -> pd.DataFrame:
    """(customer, stage, case_id, overdue cents)"""
    return pd.DataFrame(
        [
            {"case_id": k, "company_code": "1000", "customer_id": c, "stage": s, "overdue_amount": o, "closed_on": None}
            for c, s, k, o in rows
        ]
    )


NOTICES = pd.DataFrame(
    {
        "as_of": pd.to_datetime(["2026-02-28", "2026-03-14"]),
        "notice_id": ["N1", "N2"],
        "company_code": "1000",
        "customer_id": "C1",
        "level": [2, 3],
        "currency": "EUR",
        "overdue_amount": [150_000, 150_000],
        "fees": [500, 1_000],
        "interest": [1_234, 2_345],
    }
)
ACTIVITIES = pd.DataFrame(
    {
        "activity_id": ["A2", "A1"],
        "company_code": "1000",
        "customer_id": "C1",
        "collector": "Anna",
        "occurred_on": pd.to_datetime(["2026-03-20", "2026-03-02"]),
        "channel": ["call", "email"],
        "outcome": ["REFUSED", "NO_ANSWER"],
        "note": ["=HYPERLINK(1)", None],
        "next_contact_on": pd.NaT,
    }
)


def packages(exported: set[str] = frozenset()):
    open_items = items(item("INV1", 100_000, dpd=60), item("INV2", 50_000, dpd=40), item("CR1", -2_000, doc_type="CRN"))
    levels = pd.DataFrame({"company_code": ["1000"], "document_no": ["INV1"], "level": [3]})
    due = due_handovers(
        cases(("C1", "HANDOVER", "C-1000-C1-20260314", 148_000), ("C2", "REMINDING", "K2", 1)), exported
    )
    return build_packages(due, open_items, customers(customer()), levels, NOTICES, ACTIVITIES, T, RULES, "EUR")


def test_the_package_lists_items_charges_and_contacts_to_the_cent() -> None:
    [p] = packages()
    assert p.stem == "handover-inkasso-nord-1000-C1-2026-03-31"
    rows = list(csv.DictReader(io.StringIO(package_csv(p).decode())))
    assert [(r["document_no"], r["open_amount"], r["days_past_due"], r["dunning_level"]) for r in rows] == [
        ("INV1", "1000.00", "60", "3"),  # oldest due date first, as on the statement
        ("INV2", "500.00", "40", ""),
        ("CR1", "-20.00", "", ""),  # a credit is not overdue
    ]
    assert rows[0]["customer_name"] == "Customer C1" and rows[0]["due_date"] == "2026-01-30"
    book = openpyxl.load_workbook(io.BytesIO(package_xlsx(p)))
    assert book.sheetnames == ["Summary", "Items", "Fees and interest", "Contacts"]
    summary = [c.value for c in book["Summary"][2]]
    # open 1,480.00 + fees 15.00 + interest 35.79 = 1,530.79
    assert summary == ["EUR", 1480.0, 15.0, 35.79, 1530.79]
    charges = [[c.value for c in r] for r in book["Fees and interest"].iter_rows(min_row=2)]
    assert [(r[1], r[5], r[6]) for r in charges] == [("N1", 5.0, 12.34), ("N2", 10.0, 23.45)]
    contacts = [[c.value for c in r] for r in book["Contacts"].iter_rows(min_row=2)]
    assert [(r[1], r[3]) for r in contacts] == [("A1", "NO_ANSWER"), ("A2", "REFUSED")]
    assert not str(contacts[1][5]).startswith("=")  # a note is never a formula
    frame = handovers_frame([p])
    assert frame.loc[0, ["handover_id", "items", "amount", "files"]].tolist() == [
        "HO-1000-C1-C-1000-C1-20260314",
        3,
        148_000,
        "handover-inkasso-nord-1000-C1-2026-03-31.csv;handover-inkasso-nord-1000-C1-2026-03-31.xlsx",
    ]


def test_a_rebuild_is_byte_identical_and_an_exported_case_is_not_exported_again() -> None:
    [a], [b] = packages(), packages()
    assert package_csv(a) == package_csv(b) and package_xlsx(a) == package_xlsx(b)
    assert packages({a.handover_id}) == []


def test_the_agency_is_chosen_by_company_and_country() -> None:
    assert RULES.agency_for("1000", "AT").name == "inkasso-wien"
    assert RULES.agency_for("1000", "DE").name == "inkasso-nord"
    assert RULES.agency_for("2000", None).name == "agency"


def test_dunning_stays_paused_while_the_agency_holds_the_account() -> None:
    open_items = items(item("INV1", 100_000, dpd=60), item("INV9", 100_000, dpd=60, customer="C2"))
    agency = pd.DataFrame({"company_code": ["1000"], "customer_id": ["C1"]})
    custs = customers(customer(), customer("C2"))
    p = propose_dunning(open_items, custs, None, None, None, POLICIES, AS_OF, handed_over=agency)
    assert reasons(p)["INV1"] == "HANDOVER"
    assert set(p.notices["customer_id"]) == {"C2"}


def test_no_case_at_handover_no_package() -> None:
    assert due_handovers(cases(("C1", "CALLING", "K1", 5)), set()).empty
    assert date(2026, 3, 31) == T
