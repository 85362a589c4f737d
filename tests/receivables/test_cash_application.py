"""Stage 3, apply cash: each rule on hand-made frames, to the cent, plus the invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.cash_application import (
    APPLICATION_COLUMNS,
    UNAPPLIED_COLUMNS,
    CashApplication,
    MatchingRules,
    apply_cash,
    find_references,
    load_matching_rules,
    normalise_name,
    normalise_reference,
    rf_reference_valid,
)
from receivables.errors import ConfigError
from tests.conftest import REPO

AS_OF = date(2026, 3, 2)


# --- frame builders ------------------------------------------------------------------------------


def item(
    doc: str,
    open_amount: int,
    *,
    customer: str = "C1",
    company: str = "1000",
    currency: str = "EUR",
    doc_type: str | None = None,
    due: str = "2026-02-28",
    doc_date: str = "2026-02-01",
    reference: str | None = None,
    discount_pct: str | None = None,
    discount_days: int | None = None,
    amount: int | None = None,
) -> dict:
    return {
        "company_code": company,
        "document_no": doc,
        "document_type": doc_type or ("CRN" if open_amount < 0 else "INV"),
        "customer_id": customer,
        "document_date": doc_date,
        "due_date": due,
        "currency": currency,
        "amount": open_amount if amount is None else amount,
        "open_amount": open_amount,
        "reference": reference,
        "dunning_block": False,
        "discount_pct": Decimal(discount_pct) if discount_pct is not None else None,
        "discount_days": discount_days,
    }


def payment(
    pid: str,
    amount: int,
    text: str | None = None,
    *,
    customer: str | None = "C1",
    company: str = "1000",
    currency: str = "EUR",
    value_date: str = "2026-03-01",
    payer_name: str | None = None,
    payer_iban: str | None = None,
) -> dict:
    return {
        "payment_id": pid,
        "company_code": company,
        "value_date": value_date,
        "amount": amount,
        "currency": currency,
        "customer_id": customer,
        "payer_name": payer_name,
        "payer_iban": payer_iban,
        "remittance_info": text,
        "bank_reference": None,
    }


def customer(cid: str, name: str, *, iban: str | None = None, company: str = "1000", currency: str = "EUR") -> dict:
    return {
        "customer_id": cid,
        "name": name,
        "email": f"{cid.lower()}@example.com",
        "language": "de",
        "country": "DE",
        "currency": currency,
        "iban": iban,
        "company_code": company,
    }


def _typed(rows: list[dict], text: list[str], dates: list[str], money: list[str], start: int = 2) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.index = pd.RangeIndex(start, start + len(frame))
    for c in text:
        if c in frame:
            frame[c] = frame[c].astype("string")
    for c in dates:
        if c in frame:
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    for c in money:
        if c in frame:
            frame[c] = frame[c].astype("int64")
    return frame


def items_frame(*rows: dict) -> pd.DataFrame:
    frame = _typed(
        list(rows) or [item("0", 1)],
        ["company_code", "document_no", "document_type", "customer_id", "currency", "reference"],
        ["document_date", "due_date"],
        ["amount", "open_amount"],
    )
    if not rows:
        frame = frame.iloc[0:0]
    frame["discount_days"] = frame["discount_days"].astype("Int64")
    frame["discount_pct"] = frame["discount_pct"].astype(object)
    return frame


def payments_frame(*rows: dict) -> pd.DataFrame:
    return _typed(
        list(rows),
        [
            "payment_id",
            "company_code",
            "currency",
            "customer_id",
            "payer_name",
            "payer_iban",
            "remittance_info",
            "bank_reference",
        ],
        ["value_date"],
        ["amount"],
    )


def customers_frame(*rows: dict) -> pd.DataFrame:
    rows = rows or (customer("C1", "Müller Logistik GmbH"), customer("C2", "Distribuciones García S.L."))
    return _typed(
        list(rows), ["customer_id", "name", "email", "language", "country", "currency", "iban", "company_code"], [], []
    )


def run(
    items: list[dict], payments: list[dict], customers: list[dict] | None = None, rules: MatchingRules | None = None
) -> CashApplication:
    result = apply_cash(
        items_frame(*items),
        payments_frame(*payments),
        customers_frame(*(customers or [])),
        rules or MatchingRules(),
        AS_OF,
    )
    check_invariants(items_frame(*items), payments_frame(*payments), result, (rules or MatchingRules()).auto_threshold)
    return result


def check_invariants(items: pd.DataFrame, payments: pd.DataFrame, result: CashApplication, threshold: float) -> None:
    """Money is conserved per payment, no item crosses zero, never across company or currency."""
    apps, un, after = result.applications, result.unapplied, result.open_items_after
    assert list(apps.columns) == APPLICATION_COLUMNS
    assert list(un.columns) == UNAPPLIED_COLUMNS
    assert after.index.equals(items.index) and list(after.columns) == list(items.columns)
    applied = apps[apps["status"] == "applied"]
    got = (
        applied.groupby("payment_id")["applied_amount"]
        .sum()
        .add(un.groupby("payment_id")["remaining_amount"].sum(), fill_value=0)
    )
    expected = payments.set_index("payment_id")["amount"]
    assert got.reindex(expected.index, fill_value=0).astype("int64").to_dict() == expected.astype("int64").to_dict()
    assert (un["remaining_amount"] > 0).all()
    assert set(un["reason"]) <= {"UNIDENTIFIED", "NO_MATCH", "AMBIGUOUS", "CURRENCY", "OVERPAYMENT"}
    # suggested payments stay unapplied in full
    for pid in set(apps.loc[apps["status"] == "suggested", "payment_id"]):
        assert un.loc[un["payment_id"] == pid, "remaining_amount"].sum() == expected[pid]
    before = items["open_amount"]
    now = after["open_amount"]
    assert ((before >= 0) | ((now <= 0) & (now >= before))).all()
    assert ((before <= 0) | ((now >= 0) & (now <= before))).all()
    # what left the items is exactly what was applied, discounted and written off
    taken = applied.assign(t=applied["applied_amount"] + applied["discount_amount"] + applied["writeoff_amount"])
    per_item = taken.groupby(["company_code", "document_no"])["t"].sum()
    moved = (
        items.set_index(["company_code", "document_no"])["open_amount"]
        - after.set_index(["company_code", "document_no"])["open_amount"]
    )
    assert moved[moved != 0].sort_index().to_dict() == per_item[per_item != 0].sort_index().to_dict()
    pays = payments.set_index("payment_id")
    keyed = items.set_index(["company_code", "document_no"])
    for row in apps.itertuples():
        assert row.company_code == pays.loc[row.payment_id, "company_code"]
        assert row.currency == pays.loc[row.payment_id, "currency"]
        assert keyed.loc[(row.company_code, row.document_no), "currency"] == row.currency
        assert row.status == ("applied" if row.confidence >= threshold else "suggested")
        assert 0.0 <= row.confidence <= 1.0


def lines(result: CashApplication, status: str = "applied") -> list[tuple]:
    a = result.applications
    a = a[a["status"] == status]
    return [
        (r.payment_id, r.document_no, r.applied_amount, r.rule, r.discount_amount, r.writeoff_amount)
        for r in a.itertuples()
    ]


def unapplied(result: CashApplication) -> list[tuple]:
    return [(r.payment_id, r.remaining_amount, r.reason) for r in result.unapplied.itertuples()]


def open_after(result: CashApplication) -> dict[str, int]:
    a = result.open_items_after
    return dict(zip(a["document_no"], a["open_amount"].astype(int)))


# --- reference normalisation -------------------------------------------------------------------------


KNOWN = {"9000012345", "9000012346", "9000012399", "123", "F2026000123", "RF18539007547034", "4500012345"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RE 9000012345", ["9000012345"]),
        ("re9000012345", ["9000012345"]),
        ("Nr.9000012345", ["9000012345"]),
        (
            "Rechnung Nr. 9000012345 und 9000012346 abzgl. Gutschrift 9000012399",
            ["9000012345", "9000012346", "9000012399"],
        ),
        ("Factura F-2026-000123", ["F2026000123"]),
        ("factura f 2026 000123", ["F2026000123"]),
        ("INV 123 / PO 4500012345", ["123", "4500012345"]),
        ("EREF+9000012345 SVWZ+RE 9000012346", ["9000012345", "9000012346"]),
        ("RF18 5390 0754 7034", ["RF18539007547034"]),
        ("rf18539007547034.", ["RF18539007547034"]),
        ("0009000012345,9000012346;", ["9000012345", "9000012346"]),
        ("9000 0123 45", ["9000012345"]),
        ("9000012345-9000012346", ["9000012345", "9000012346"]),
        ("INV 000123", ["123"]),
    ],
)
def test_references_are_found_as_whole_normalised_tokens(text: str, expected: list[str]) -> None:
    assert find_references(text, KNOWN) == expected


@pytest.mark.parametrize(
    "text",
    [
        "91234",
        "2026-0123-9",
        "1234",
        "F1234",
        "A123B",
        "90000123451",
        "Betrag 1.234,56",
        "RF18 5390 0754 70345",
        "9000012345X",
    ],
)
def test_a_document_number_never_matches_inside_another_token(text: str) -> None:
    assert "123" not in find_references(text, KNOWN)
    assert "9000012345" not in find_references(text, KNOWN)


def test_normalisation_helpers() -> None:
    assert normalise_reference("F-2026-000123") == "F2026000123"
    assert normalise_reference("0009000012345") == "9000012345"
    assert normalise_reference("RF18 5390 0754 7034") == "RF18539007547034"
    assert rf_reference_valid("RF18 5390 0754 7034")
    assert not rf_reference_valid("RF19 5390 0754 7034")
    assert normalise_name("Müller Logistik GmbH & Co. KG") == "mueller logistik gmbh co kg"
    assert normalise_name("Construcciones Peña e Hijos, S.L.") == "construcciones pena e hijos sl"
    assert normalise_name("Müller Logistik GmbH & Co. KG", {"gmbh", "co", "kg"}) == "mueller logistik"
    assert normalise_name("Distribuciones García, S.L.", {"sl"}) == "distribuciones garcia"


def test_column_and_token_normalisation_agree() -> None:
    # the item index is normalised in Arrow, remittance tokens in Python: they must agree
    import pyarrow as pa

    from receivables.cash_application import ReferenceNormalisation
    from receivables.cash_application.references import _Tokeniser

    tok = _Tokeniser(ReferenceNormalisation())
    samples = [
        "INV-000123",
        "inv 0123",
        "F-2026-000123",
        "0009000012345",
        "RF18 5390 0754 7034",
        "A0B00C",
        "000",
        "0",
        "PO 4500012345",
        "x_0.1-2",
    ]
    column = tok.norm_array(pa.array(samples)).to_pylist()
    assert column == [tok.norm(t.replace(" ", "")) for t in samples]
    assert column[:3] == ["INV123", "INV123", "F2026000123"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789AbZ-/. \t_é", max_size=14), min_size=1, max_size=40))
def test_the_column_normalisation_agrees_with_the_token_one_on_any_text(samples: list[str]) -> None:
    # the bytes it drops (separators, blanks, opening zeros) are cut from the whole column at
    # once: every string must lose exactly its own, wherever it sits in the column
    import pyarrow as pa

    from receivables.cash_application import ReferenceNormalisation
    from receivables.cash_application.references import _Tokeniser

    tok = _Tokeniser(ReferenceNormalisation())
    column = tok.norm_array(pa.array(samples, type=pa.large_string())).to_pylist()
    assert column == [tok.norm("".join(t.split())) for t in samples]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 5), st.one_of(st.none(), st.integers(-40_000, 40_000))), max_size=60))
def test_a_customers_items_are_offered_oldest_due_first_then_by_position(rows: list) -> None:
    # the group index's order: group, then due day (a missing one first), then book position
    import numpy as np

    from receivables.cash_application.item_book import _NAT_DAY, _by_group_then_due

    code = np.array([g for g, _ in rows], dtype=np.int64)
    due = np.array([_NAT_DAY if d is None else d for _, d in rows], dtype=np.int64)
    expected = np.lexsort((np.arange(len(rows)), due, code))
    assert _by_group_then_due(code, due).tolist() == expected.tolist()


def test_us_style_document_numbers_as_customers_quote_them() -> None:
    items = [
        item("INV-000123", 5000, currency="USD", company="3000"),
        item("INV-001234", 7000, currency="USD", company="3000"),
    ]
    for text in ("INV 123", "INV000123", "inv-123", "INV#123", "Payment for invoice INV-000123 dated 10/01/2026"):
        r = run(items, [payment("P1", 5000, text, currency="USD", company="3000")])
        assert lines(r) == [("P1", "INV-000123", 5000, "reference", 0, 0)], text
    assert find_references("INV 1234", {"INV123", "INV1234"}) == ["INV1234"]


# --- rule: reference ----------------------------------------------------------------------------------


def test_reference_settles_several_invoices_less_a_credit_note() -> None:
    r = run(
        [item("9000012345", 10000), item("9000012346", 20000), item("9000012399", -5000), item("9000012347", 25000)],
        [payment("P1", 25000, "Rechnung Nr. 9000012345 und 9000012346 abzgl. Gutschrift 9000012399", customer=None)],
    )
    assert sorted(lines(r)) == [
        ("P1", "9000012345", 10000, "reference", 0, 0),
        ("P1", "9000012346", 20000, "reference", 0, 0),
        ("P1", "9000012399", -5000, "reference", 0, 0),
    ]
    assert set(r.applications["confidence"]) == {0.99}
    assert r.unapplied.empty
    assert open_after(r) == {"9000012345": 0, "9000012346": 0, "9000012399": 0, "9000012347": 25000}
    # the item it did not name keeps its amount even though the amount alone would fit it
    assert r.identifications.set_index("payment_id").loc["P1", "method"] == "reference"


def test_reference_by_the_items_payment_reference_with_spaces() -> None:
    r = run(
        [item("9000012400", 125000, reference="RF18 5390 0754 7034"), item("9000012401", 125000)],
        [payment("P1", 125000, "SVWZ+RF18 5390 0754 7034", customer=None)],
    )
    assert lines(r) == [("P1", "9000012400", 125000, "reference", 0, 0)]


def test_reference_by_po_number_in_a_free_text_reference() -> None:
    r = run(
        [item("123", 64000, reference="PO 4500012345", currency="USD"), item("124", 64000, currency="USD")],
        [payment("P1", 64000, "PO 4500012345", currency="USD")],
    )
    assert lines(r) == [("P1", "123", 64000, "reference", 0, 0)]


def test_reference_subset_when_the_text_names_one_more_than_is_paid() -> None:
    r = run(
        [item("9000000001", 10000), item("9000000002", 20000), item("9000000003", 40000)],
        [payment("P1", 30000, "RE 9000000001 9000000002 9000000003")],
    )
    assert sorted(lines(r)) == [
        ("P1", "9000000001", 10000, "reference", 0, 0),
        ("P1", "9000000002", 20000, "reference", 0, 0),
    ]
    assert set(r.applications["confidence"]) == {0.95}


def test_reference_never_crosses_company_code() -> None:
    r = run(
        [item("9000012345", 10000, company="2000")],
        [payment("P1", 10000, "RE 9000012345", customer=None)],
    )
    assert r.applications.empty
    assert unapplied(r) == [("P1", 10000, "UNIDENTIFIED")]
    assert open_after(r) == {"9000012345": 10000}


def test_reference_never_crosses_currency() -> None:
    r = run(
        [item("9000012345", 10000, currency="USD")],
        [payment("P1", 10000, "RE 9000012345", currency="EUR")],
    )
    assert r.applications.empty
    assert unapplied(r) == [("P1", 10000, "CURRENCY")]


def test_a_payment_naming_another_customers_invoice_is_only_suggested() -> None:
    r = run(
        [item("9000012345", 10000, customer="C2"), item("9000012346", 7000, customer="C1")],
        [payment("P1", 10000, "RE 9000012345", customer="C1")],
    )
    assert lines(r) == []
    assert lines(r, "suggested") == [("P1", "9000012345", 10000, "reference", 0, 0)]
    assert unapplied(r) == [("P1", 10000, "AMBIGUOUS")]
    assert open_after(r) == {"9000012345": 10000, "9000012346": 7000}


def test_a_named_reference_wins_over_an_earlier_amount_only_payment() -> None:
    # P1 comes first but has no reference; P2 names the invoice. Rules run rule by rule, so the
    # reference rule settles P2 before the amount rule looks at P1.
    r = run(
        [item("9000000001", 10000), item("9000000002", 25000)],
        [payment("P1", 10000, value_date="2026-02-27"), payment("P2", 10000, "RE 9000000001", value_date="2026-03-01")],
    )
    assert lines(r) == [("P2", "9000000001", 10000, "reference", 0, 0)]
    assert unapplied(r) == [("P1", 10000, "NO_MATCH")]


def test_conflicts_go_to_the_earlier_value_date_then_the_lower_payment_id() -> None:
    items = [item("9000000001", 10000)]
    r = run(
        items, [payment("P9", 10000, "RE 9000000001", value_date="2026-02-27"), payment("P1", 10000, "RE 9000000001")]
    )
    assert lines(r) == [("P9", "9000000001", 10000, "reference", 0, 0)]
    # the second payment names an invoice already paid in this run: a duplicate, a credit
    assert unapplied(r) == [("P1", 10000, "OVERPAYMENT")]
    r = run(items, [payment("P2", 10000, "RE 9000000001"), payment("P1", 10000, "RE 9000000001")])
    assert lines(r) == [("P1", "9000000001", 10000, "reference", 0, 0)]


def test_a_partial_payment_leaves_the_rest_for_the_next_payment() -> None:
    r = run(
        [item("9000000001", 100000)],
        [payment("P1", 40000, "RE 9000000001", value_date="2026-02-20"), payment("P2", 60000, "RE 9000000001")],
    )
    assert lines(r) == [
        ("P1", "9000000001", 40000, "partial_payment", 0, 0),
        ("P2", "9000000001", 60000, "reference", 0, 0),
    ]
    assert open_after(r) == {"9000000001": 0}


# --- settle variants: discount, short, partial, over --------------------------------------------------


def test_cash_discount_within_terms_with_reference() -> None:
    # 2 % of 1,190.00 = 23.80 within 10 days of the document date
    r = run(
        [item("9000000001", 119000, doc_date="2026-02-20", discount_pct="2", discount_days=10)],
        [payment("P1", 116620, "RE 9000000001", value_date="2026-03-02")],
    )
    assert lines(r) == [("P1", "9000000001", 116620, "cash_discount", 2380, 0)]
    assert r.applications["confidence"].iloc[0] == pytest.approx(0.97 * 0.99)
    assert open_after(r) == {"9000000001": 0}


def test_cash_discount_rounding_of_a_cent_is_accepted() -> None:
    # 3 % of 333.33 = 9.9999 -> 10.00; the customer deducted 9.99
    r = run(
        [item("9000000001", 33333, doc_date="2026-02-25", discount_pct="3", discount_days=14)],
        [payment("P1", 32334, "RE 9000000001")],
    )
    assert lines(r) == [("P1", "9000000001", 32334, "cash_discount", 999, 0)]


def test_cash_discount_after_its_terms_is_not_granted() -> None:
    r = run(
        [item("9000000001", 119000, doc_date="2026-02-01", discount_pct="2", discount_days=10)],
        [payment("P1", 116620, "RE 9000000001", value_date="2026-03-02")],
    )
    # too late for Skonto and beyond the write-off tolerance: a partial payment of the invoice
    assert lines(r) == [("P1", "9000000001", 116620, "partial_payment", 0, 0)]
    assert open_after(r) == {"9000000001": 2380}


def test_cash_discount_without_reference_within_the_customer() -> None:
    r = run(
        [
            item("9000000001", 50000, doc_date="2026-02-25", discount_pct="2", discount_days=10),
            item("9000000002", 70000, doc_date="2026-02-25", discount_pct="2", discount_days=10),
        ],
        [payment("P1", 49000)],
    )
    assert lines(r) == [("P1", "9000000001", 49000, "cash_discount", 1000, 0)]


def test_cash_discount_on_several_named_invoices() -> None:
    r = run(
        [
            item("9000000001", 50000, doc_date="2026-02-25", discount_pct="2", discount_days=10),
            item("9000000002", 70000, doc_date="2026-02-25", discount_pct="2", discount_days=10),
        ],
        [payment("P1", 117600, "RE 9000000001 RE 9000000002")],
    )
    assert sorted(lines(r)) == [
        ("P1", "9000000001", 49000, "cash_discount", 1000, 0),
        ("P1", "9000000002", 68600, "cash_discount", 1400, 0),
    ]


def test_cash_discount_with_a_named_credit_note() -> None:
    r = run(
        [
            item("9000000001", 50000, doc_date="2026-02-25", discount_pct="2", discount_days=10),
            item("9000000099", -10000, doc_date="2026-02-25"),
        ],
        [payment("P1", 39000, "RE 9000000001 abzgl. GS 9000000099")],
    )
    assert sorted(lines(r)) == [
        ("P1", "9000000001", 49000, "cash_discount", 1000, 0),
        ("P1", "9000000099", -10000, "cash_discount", 0, 0),
    ]


def test_short_payment_within_tolerance_is_written_off() -> None:
    # 3.50 short of 1,000.00: under both 5.00 and 1 %
    r = run([item("9000000001", 100000)], [payment("P1", 99650, "RE 9000000001")])
    assert lines(r) == [("P1", "9000000001", 99650, "short_payment", 0, 350)]
    assert open_after(r) == {"9000000001": 0}
    # the same without a reference, unique within the customer
    r = run([item("9000000001", 100000), item("9000000002", 30000)], [payment("P1", 99650)])
    assert lines(r) == [("P1", "9000000001", 99650, "short_payment", 0, 350)]


def test_short_payment_tolerance_is_the_lower_of_amount_and_percent() -> None:
    # 1 % of 200.00 is 2.00 < 5.00: 3.00 short is beyond it
    r = run([item("9000000001", 20000)], [payment("P1", 19700, "RE 9000000001")])
    assert lines(r) == [("P1", "9000000001", 19700, "partial_payment", 0, 0)]
    assert open_after(r) == {"9000000001": 300}
    r = run([item("9000000001", 20000)], [payment("P1", 19700)])
    assert lines(r) == []
    assert unapplied(r) == [("P1", 19700, "NO_MATCH")]


def test_tolerances_come_from_the_config() -> None:
    rules = MatchingRules.model_validate(
        {"rules": [{"name": "reference"}, {"name": "short_payment", "tolerance_abs": "10.00", "tolerance_pct": 5}]}
    )
    r = run([item("9000000001", 20000)], [payment("P1", 19300, "RE 9000000001")], rules=rules)
    assert lines(r) == [("P1", "9000000001", 19300, "short_payment", 0, 700)]


def test_overpayment_settles_the_named_item_and_leaves_the_rest_as_credit() -> None:
    r = run(
        [item("9000000001", 100000), item("9000000002", 5000)], [payment("P1", 105000, "RE 9000000001", customer=None)]
    )
    assert lines(r) == [("P1", "9000000001", 100000, "overpayment", 0, 0)]
    assert unapplied(r) == [("P1", 5000, "OVERPAYMENT")]
    assert r.unapplied["customer_id"].tolist() == ["C1"]
    assert open_after(r) == {"9000000001": 0, "9000000002": 5000}


def test_partial_payment_of_several_named_invoices_is_only_suggested() -> None:
    r = run(
        [item("9000000001", 10000, due="2026-02-01"), item("9000000002", 20000, due="2026-02-10")],
        [payment("P1", 15000, "RE 9000000001 9000000002")],
    )
    assert lines(r) == []
    assert lines(r, "suggested") == [
        ("P1", "9000000001", 10000, "partial_payment", 0, 0),
        ("P1", "9000000002", 5000, "partial_payment", 0, 0),
    ]
    assert unapplied(r) == [("P1", 15000, "AMBIGUOUS")]
    assert open_after(r) == {"9000000001": 10000, "9000000002": 20000}


# --- customer-level rules ----------------------------------------------------------------------------


def test_exact_amount_only_when_unique() -> None:
    r = run([item("9000000001", 12345), item("9000000002", 54321)], [payment("P1", 12345)])
    assert lines(r) == [("P1", "9000000001", 12345, "exact_amount", 0, 0)]
    assert r.applications["confidence"].iloc[0] == pytest.approx(0.95)
    r = run(
        [item("9000000001", 12345, due="2026-02-01"), item("9000000002", 12345, due="2026-02-15")],
        [payment("P1", 12345)],
    )
    assert lines(r) == []
    assert lines(r, "suggested") == [("P1", "9000000001", 12345, "exact_amount", 0, 0)]
    assert unapplied(r) == [("P1", 12345, "AMBIGUOUS")]
    assert open_after(r) == {"9000000001": 12345, "9000000002": 12345}


def test_exact_amount_stays_within_the_customer_company_and_currency() -> None:
    r = run(
        [
            item("9000000001", 12345, customer="C2"),
            item("9000000002", 12345, company="2000"),
            item("9000000003", 12345, currency="USD"),
        ],
        [payment("P1", 12345)],
    )
    assert r.applications.empty
    assert unapplied(r) == [("P1", 12345, "CURRENCY")]


def test_combination_of_open_items_only_when_unique() -> None:
    items = [item("9000000001", 10000), item("9000000002", 25050), item("9000000003", 40000), item("9000000004", 7777)]
    r = run(items, [payment("P1", 35050)])
    assert sorted(lines(r)) == [
        ("P1", "9000000001", 10000, "combination", 0, 0),
        ("P1", "9000000002", 25050, "combination", 0, 0),
    ]
    # 50000 = 10000 + 40000 only, 17777 = 10000 + 7777 only
    r = run(items, [payment("P1", 17777)])
    assert sorted(lines(r)) == [
        ("P1", "9000000001", 10000, "combination", 0, 0),
        ("P1", "9000000004", 7777, "combination", 0, 0),
    ]
    # 65050 = 25050 + 40000 = 10000 + 25050 + 7777 + ... no: two ways -> ambiguous
    items2 = [item("9000000001", 10000), item("9000000002", 20000), item("9000000003", 30000)]
    r = run(items2, [payment("P1", 30000 + 10000 + 20000 - 30000 + 30000)])  # 60000 = 10000+20000+30000 only
    assert len(lines(r)) == 3
    r = run(items2 + [item("9000000004", 40000)], [payment("P1", 50000)])  # 10000+40000 or 20000+30000
    assert lines(r) == []
    assert unapplied(r) == [("P1", 50000, "AMBIGUOUS")]


def test_a_combination_of_four_is_only_suggested_and_ambiguity_is_not_resolved_by_it() -> None:
    items = [item(f"900000000{k}", v) for k, v in enumerate([1111, 2222, 4444, 8888, 16000])]
    r = run(items, [payment("P1", 1111 + 2222 + 4444 + 8888)])
    assert lines(r) == [] and len(lines(r, "suggested")) == 4
    # two invoices of the amount: ambiguous, even though one pair also sums to it
    items = [item("9000000001", 3000), item("9000000002", 3000), item("9000000003", 1000), item("9000000004", 2000)]
    r = run(items, [payment("P1", 3000)])
    assert lines(r) == []
    assert unapplied(r) == [("P1", 3000, "AMBIGUOUS")]


def test_combination_with_a_credit_note() -> None:
    r = run(
        [item("9000000001", 10000), item("9000000002", 25050), item("9000000099", -3000)],
        [payment("P1", 22050)],
    )
    assert sorted(lines(r)) == [
        ("P1", "9000000002", 25050, "combination", 0, 0),
        ("P1", "9000000099", -3000, "combination", 0, 0),
    ]
    assert open_after(r)["9000000099"] == 0


# --- payer identification ----------------------------------------------------------------------------


CUSTOMERS = [
    customer("C1", "Müller Logistik GmbH", iban="DE89 3704 0044 0532 0130 00"),
    customer("C2", "Distribuciones García S.L.", iban="ES9121000418450200051332;ES6000491500051234567892"),
    customer("C3", "Meyer Bau GmbH"),
    customer("C4", "Meier Bau GmbH"),
]


def test_payer_identified_by_iban_then_amount() -> None:
    r = run(
        [item("9000000001", 18800, customer="C2"), item("9000000002", 5000, customer="C1")],
        [payment("P1", 18800, customer=None, payer_name="Someone Else", payer_iban="ES60 0049 1500 0512 3456 7892")],
        CUSTOMERS,
    )
    assert lines(r) == [("P1", "9000000001", 18800, "exact_amount", 0, 0)]
    assert r.applications["confidence"].iloc[0] == pytest.approx(0.95 * 0.99)
    assert r.identifications.iloc[0][["customer_id", "method"]].tolist() == ["C2", "iban"]


def test_payer_identified_by_fuzzy_name_when_one_clearly_wins() -> None:
    r = run(
        [item("9000000001", 18800, customer="C1")],
        [payment("P1", 18800, customer=None, payer_name="MUELLER LOGISTIK GMBH")],
        CUSTOMERS,
    )
    assert lines(r) == [("P1", "9000000001", 18800, "exact_amount", 0, 0)]
    ident = r.identifications.iloc[0]
    assert (ident["customer_id"], ident["method"]) == ("C1", "name") and ident["score"] >= 90


def test_payer_name_close_to_two_customers_stays_unidentified() -> None:
    r = run(
        [item("9000000001", 18800, customer="C3"), item("9000000002", 18800, customer="C4")],
        [payment("P1", 18800, customer=None, payer_name="Meer Bau")],
        CUSTOMERS,
    )
    assert r.applications.empty
    assert unapplied(r) == [("P1", 18800, "UNIDENTIFIED")]
    assert r.unapplied["customer_id"].isna().all()


def test_payer_names_as_banks_deliver_them() -> None:
    customers = [
        customer("C1", "Baustoffe Koch Münster GmbH & Co. KG"),
        customer("C2", "Koch Baustoffe Münster KG"),
        customer("C3", "Müller Logistik GmbH"),
        customer("C4", "Müller Logistik AG"),
    ]
    items = [item(f"900000000{k}", 18800, customer=f"C{k}") for k in range(1, 5)]

    def who(payer: str) -> str | None:
        r = run(items, [payment("P1", 18800, customer=None, payer_name=payer)], customers)
        ident = r.identifications
        return ident["customer_id"].iloc[0] if len(ident) else None

    # cut off at the 27 characters of the bank's name field
    assert who("BAUSTOFFE KOCH MUENSTER GMB") == "C1"
    assert who("KOCH BAUSTOFFE MUENSTER KG") == "C2"
    # the legal form tells two otherwise equal names apart; without it nobody clearly wins
    assert who("MUELLER LOGISTIK GMBH") == "C3"
    assert who("Müller Logistik A.G.") == "C4"
    assert who("MUELLER LOGISTIK") is None


def test_unknown_payer_is_unidentified() -> None:
    r = run(
        [item("9000000001", 100)],
        [payment("P1", 100, "thanks", customer=None, payer_name="Zeta Industries")],
        CUSTOMERS,
    )
    assert unapplied(r) == [("P1", 100, "UNIDENTIFIED")]


# --- configuration --------------------------------------------------------------------------------


def test_config_file_holds_the_defaults_and_the_order() -> None:
    rules = load_matching_rules()
    assert rules == MatchingRules()
    assert [r.name for r in rules.rules][:3] == ["reference", "payer_identification", "exact_amount"]


def test_every_rule_has_a_step() -> None:
    from receivables.cash_application import RULE_NAMES
    from receivables.cash_application.engine import STEPS

    assert set(STEPS) == set(RULE_NAMES)


def test_disabled_rules_do_not_run_and_the_threshold_decides_status() -> None:
    items = [item("9000000001", 12345)]
    rules = MatchingRules.model_validate({"rules": [{"name": "reference"}, {"name": "exact_amount", "enabled": False}]})
    assert run(items, [payment("P1", 12345)], rules=rules).applications.empty
    rules = MatchingRules.model_validate({"auto_threshold": 0.96, "rules": [{"name": "exact_amount"}]})
    r = run(items, [payment("P1", 12345)], rules=rules)
    assert lines(r, "suggested") == [("P1", "9000000001", 12345, "exact_amount", 0, 0)]
    assert unapplied(r) == [("P1", 12345, "NO_MATCH")]
    assert open_after(r) == {"9000000001": 12345}


def test_a_bad_rules_file_is_rejected_readably(tmp_path: Path) -> None:
    path = tmp_path / "matching.yaml"
    path.write_text("auto_threshold: 1.5\nrules:\n  - name: exact_amount\n    confidence: high\n  - name: magic\n")
    with pytest.raises(ConfigError) as err:
        load_matching_rules(path)
    text = str(err.value)
    assert "auto_threshold" in text and "rules[0] (exact_amount).confidence" in text and "magic" in text
    assert "https://" not in text
    path.write_text("rules:\n  - name: exact_amount\n  - name: exact_amount\n")
    with pytest.raises(ConfigError, match="more than once: exact_amount"):
        load_matching_rules(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_matching_rules(tmp_path / "nope.yaml")


# --- frames ------------------------------------------------------------------------------------------


def test_inputs_are_not_modified_and_zero_rows_are_kept() -> None:
    items = items_frame(item("9000000001", 10000), item("9000000002", 0))
    pays = payments_frame(payment("P1", 10000, "RE 9000000001"))
    items_copy, pays_copy = items.copy(), pays.copy()
    r = apply_cash(items, pays, customers_frame(), MatchingRules(), AS_OF)
    pd.testing.assert_frame_equal(items, items_copy)
    pd.testing.assert_frame_equal(pays, pays_copy)
    assert r.open_items_after["open_amount"].tolist() == [0, 0]
    assert r.open_items_after.index.tolist() == [2, 3]
    assert r.applications["applied_amount"].dtype == "int64"


def test_no_payments_and_no_items() -> None:
    r = apply_cash(
        items_frame(), payments_frame(payment("P1", 100)).iloc[0:0], customers_frame(), MatchingRules(), AS_OF
    )
    assert r.applications.empty and r.unapplied.empty and r.open_items_after.empty
    r = run([], [payment("P1", 100, "RE 9000000001")])
    assert unapplied(r) == [("P1", 100, "NO_MATCH")]


# --- properties ----------------------------------------------------------------------------------------


@st.composite
def books(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    n_items = draw(st.integers(1, 12))
    amounts = st.sampled_from([1000, 2500, 5000, 9999, 10000, 12345, 20000, 30000])
    items = []
    for k in range(n_items):
        credit = draw(st.booleans()) and draw(st.booleans())
        value = draw(amounts)
        items.append(
            item(
                f"90000000{k:02d}",
                -value if credit else value,
                customer=draw(st.sampled_from(["C1", "C2"])),
                company=draw(st.sampled_from(["1000", "1000", "2000"])),
                currency=draw(st.sampled_from(["EUR", "EUR", "USD"])),
                due=f"2026-02-{draw(st.integers(1, 28)):02d}",
                doc_date="2026-02-20",
                discount_pct=draw(st.sampled_from([None, "2", "3"])),
                discount_days=10,
                reference=draw(st.sampled_from([None, "PO 4500012345", "RF18 5390 0754 7034"])),
            )
        )
    n_pay = draw(st.integers(1, 8))
    payments = []
    for k in range(n_pay):
        # most payments are built from the items (so rules fire), some are noise
        anchor = draw(st.sampled_from(items))
        group = [i for i in items if (i["company_code"], i["currency"]) == (anchor["company_code"], anchor["currency"])]
        paid = draw(st.lists(st.sampled_from(group), min_size=1, max_size=3, unique_by=lambda i: i["document_no"]))
        total = sum(i["open_amount"] for i in paid)
        amount = draw(
            st.sampled_from([total, total, total - 300, total + 500, total // 2, total * 98 // 100])
            | st.integers(1, 60000)
        )
        named = draw(st.booleans())
        text = (
            " ".join("RE " + i["document_no"] for i in paid)
            if named
            else draw(st.sampled_from([None, "PO 4500012345", "thanks"]))
        )
        payments.append(
            payment(
                f"P{k}",
                amount if amount > 0 else 1 + abs(amount),
                text,
                customer=draw(st.sampled_from([None, anchor["customer_id"], anchor["customer_id"], "C2"])),
                company=draw(st.sampled_from([anchor["company_code"]] * 4 + ["2000"])),
                currency=draw(st.sampled_from([anchor["currency"]] * 4 + ["USD"])),
                value_date=f"2026-02-{draw(st.integers(20, 28)):02d}",
                payer_name=draw(st.sampled_from([None, "Müller Logistik", "Distribuciones Garcia"])),
            )
        )
    return items, payments


def _canonical(result: CashApplication) -> tuple:
    apps = result.applications.sort_values(["payment_id", "document_no"]).reset_index(drop=True)
    un = result.unapplied.sort_values(["payment_id", "reason"]).reset_index(drop=True)
    after = result.open_items_after.sort_index()["open_amount"]
    return apps.to_json(), un.to_json(), after.to_json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.randoms(use_true_random=False))
def test_money_is_conserved_and_the_result_does_not_depend_on_row_order(
    book: tuple[list[dict], list[dict]], rnd
) -> None:
    items, payments = book
    result = run(items, payments)  # checks conservation, signs, company and currency
    shuffled_items, shuffled_payments = list(items), list(payments)
    rnd.shuffle(shuffled_items)
    rnd.shuffle(shuffled_payments)
    # the same rows under the same source row numbers, in another order
    frame = items_frame(*items)
    order = [items.index(i) for i in shuffled_items]
    frame = frame.iloc[order]
    other = apply_cash(frame, payments_frame(*shuffled_payments), customers_frame(), MatchingRules(), AS_OF)
    assert _canonical(result) == _canonical(other)


def test_the_benchmark_scores_a_tiny_generated_set(tmp_path: Path) -> None:
    # the acceptance numbers come from benchmarks/cash_application.py: keep it runnable
    import importlib.util
    import json

    path = REPO / "benchmarks" / "cash_application.py"
    spec = importlib.util.spec_from_file_location("cash_application_benchmark", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "results.json"
    assert (
        bench.main(
            ["--customers", "40", "--seed", "3", "--cache", str(tmp_path / "cache"), "--out", str(out), "--check"]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["overall"]["precision_count"] >= 0.999 and report["overall"]["recall"] >= 0.95
    assert set(report["per_scenario"]) and set(report["per_rule"]) <= {
        "reference",
        "exact_amount",
        "combination",
        "cash_discount",
        "short_payment",
        "partial_payment",
        "overpayment",
    }
    assert report["bars"]["precision_count"]["ok"]
