"""Money on account: a customer is not reminded of what its own unapplied payments already
cover, and a letter that goes out names the part they cover (policy ``unapplied_cash``)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from receivables.dunning import DunningPolicies, propose_dunning
from tests.receivables.test_dunning import AS_OF, POLICIES, POLICY_DATA, customer, customers, item, items


def unapplied(*rows: tuple[str | None, int, str]) -> pd.DataFrame:
    """Cash application's unapplied rows: (customer, remaining cents, currency) in company 1000."""
    return pd.DataFrame(
        {
            "payment_id": [f"P{n}" for n in range(len(rows))],
            "company_code": pd.array(["1000"] * len(rows), dtype="string"),
            "customer_id": pd.array([r[0] for r in rows], dtype="string"),
            "remaining_amount": pd.array([r[1] for r in rows], dtype="int64"),
            "currency": pd.array([r[2] for r in rows], dtype="string"),
            "reason": pd.array(["NO_MATCH"] * len(rows), dtype="string"),
        }
    )


def propose(money: pd.DataFrame | None, policies: DunningPolicies = POLICIES):
    # the customer: 533.50 EUR overdue
    return propose_dunning(
        items(item("A", 53350, dpd=10)), customers(customer()), None, None, None, policies, AS_OF, unapplied=money
    )


def test_unapplied_payments_that_cover_the_overdue_amount_hold_the_reminder() -> None:
    p = propose(unapplied(("C1", 40000, "EUR"), ("C1", 13350, "EUR")))
    assert p.notices.empty
    assert p.skipped[["document_no", "reason"]].values.tolist() == [["A", "UNAPPLIED_CASH"]]


def test_a_letter_names_the_unapplied_payments_that_cover_part_of_it() -> None:
    p = propose(unapplied(("C1", 46436, "EUR")))
    (notice,) = p.notices.to_dict("records")
    assert notice["overdue_amount"] == 53350 and notice["unapplied_amount"] == 46436


def test_only_the_customers_own_money_in_the_same_currency_counts() -> None:
    p = propose(unapplied(("C2", 90000, "EUR"), ("C1", 90000, "USD"), (None, 90000, "EUR")))
    (notice,) = p.notices.to_dict("records")
    assert notice["unapplied_amount"] == 0


def test_a_policy_may_ignore_unapplied_payments() -> None:
    data = {**POLICY_DATA, "policies": {**POLICY_DATA["policies"]}}
    data["policies"]["STANDARD"] = {**data["policies"]["STANDARD"], "unapplied_cash": "ignore"}
    p = propose(unapplied(("C1", 90000, "EUR")), DunningPolicies.model_validate(data))
    (notice,) = p.notices.to_dict("records")
    assert notice["unapplied_amount"] == 0 and notice["overdue_amount"] == 53350


@given(st.integers(min_value=0, max_value=200_000))
def test_a_customer_is_reminded_exactly_when_its_money_on_account_falls_short(on_account: int) -> None:
    p = propose(unapplied(("C1", on_account, "EUR")) if on_account else None)
    if on_account >= 53350:
        assert p.notices.empty and set(p.skipped["reason"]) == {"UNAPPLIED_CASH"}
    else:
        (notice,) = p.notices.to_dict("records")
        assert notice["unapplied_amount"] == on_account


def test_the_letter_names_the_unallocated_payments_and_asks_for_remittance_details() -> None:
    from receivables.reminders import render_reminder
    from tests.receivables.test_reminders import COMPANIES, CUSTOMERS, items_for, notice_for

    notice = notice_for("C001", overdue=53350) | {"unapplied_amount": 46436}
    letter = render_reminder(notice, items_for(notice), CUSTOMERS["C001"], COMPANIES["1000"], AS_OF.date())
    text = " ".join(letter.text.split())
    assert "Zahlungen von Ihnen über 464,36 € vor, die wir noch keiner Rechnung zuordnen konnten" in text
    assert "danach verbleiben 69,14 € zu zahlen" in text
    assert "464,36" in letter.html and "zuordnen konnten" in letter.html
    plain = notice_for("C001", overdue=53350)
    assert (
        "zuordnen"
        not in render_reminder(plain, items_for(plain), CUSTOMERS["C001"], COMPANIES["1000"], AS_OF.date()).text
    )
