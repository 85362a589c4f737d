"""Write-off proposals (docs/close.md "Write-off proposals"): each reason and its edges, the
approver role at each tier's edge, approvals, the ERP journal file and the case closing as
WRITTEN_OFF once every overdue item is an approved write-off."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from pydantic import ValidationError

from receivables.casework.cases import derive_cases, night_facts
from receivables.casework.config import CaseRules
from receivables.close.writeoff_rules import WriteoffRules
from receivables.close.writeoffs import journal_csv, propose_writeoffs, written_off_items
from receivables.reporting_config import ReportingConfig
from tests.receivables.test_dunning import AS_OF, POLICIES, customer, customers, history, item, items

T = AS_OF.date()
TOP = len(POLICIES.policies["STANDARD"].levels)
RULES = WriteoffRules.model_validate(
    {
        "max_level_days": 60,
        "small_balance": {"EUR": "25.00"},
        "small_balance_days": 90,
        "accounts": {"1000": {"receivable_account": "140000", "expense_account": "685000", "cost_center": "CC1"}},
    }
)


def returns(*docs: str, on: date = T) -> pd.DataFrame:
    return pd.DataFrame(
        {"company_code": "1000", "customer_id": "C1", "document_no": list(docs), "returned_on": pd.Timestamp(on)}
    )


def approvals(*docs: str, on: date = T) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "company_code": "1000",
            "document_no": list(docs),
            "approved_by": "Petra Kunz",
            "approved_on": pd.Timestamp(on),
        }
    )


def propose(open_items, hist=None, ret=None, appr=None, rates=None, rules=RULES) -> pd.DataFrame:
    return propose_writeoffs(open_items, hist, customers(customer()), ret, appr, T, rules, POLICIES, rates)


def by_doc(p: pd.DataFrame) -> dict[str, tuple]:
    return {r.document_no: (r.reason, r.amount, r.approver_role, r.status) for r in p.itertuples()}


def test_each_reason_at_its_edges() -> None:
    open_items = items(
        item("AGED", 120_000, dpd=200),  # at the last level 60 days: proposed
        item("YOUNG", 120_000, dpd=200),  # at the last level 59 days: not yet
        item("LOWER", 120_000, dpd=200),  # one level short of the last: never
        item("SMALL", 2_500, dpd=90),  # 25.00 open, 90 days: proposed
        item("CENT", 2_501, dpd=90),  # one cent over the threshold: not
        item("FRESH", 2_500, dpd=89),  # one day too young: not
        item("USD", 100, dpd=300, currency="USD"),  # no threshold for USD: not
        item("BACK", 700_000, dpd=30),  # returned by the agency: proposed, however young
        item("CREDIT", -500, dpd=300, doc_type="CRN"),  # a credit is never written off here
    )
    hist = history(("AGED", TOP, 60), ("YOUNG", TOP, 59), ("LOWER", TOP - 1, 400), ("BACK", TOP, 400))
    p = propose(open_items, hist, returns("BACK"))
    assert by_doc(p) == {
        "AGED": ("MAX_LEVEL_AGED", 120_000, "team_lead", "PROPOSED"),
        "BACK": ("AGENCY_RETURNED", 700_000, "controller", "PROPOSED"),  # wins over MAX_LEVEL_AGED
        "SMALL": ("SMALL_BALANCE", 2_500, "collector", "PROPOSED"),
    }
    aged = p.set_index("document_no").loc["AGED"]
    assert (aged["dunning_level"], aged["level_since"], aged["days_past_due"]) == (TOP, AS_OF - timedelta(days=60), 200)
    assert list(p["proposal_id"]) == ["WO-1000-AGED", "WO-1000-BACK", "WO-1000-SMALL"]


def test_a_return_dated_after_the_night_is_not_known_yet() -> None:
    p = propose(items(item("BACK", 700_000, dpd=30)), ret=returns("BACK", on=T + timedelta(days=1)))
    assert p.empty


@pytest.mark.parametrize(
    ("usd_cents", "role"),
    [(50_000, "collector"), (50_001, "team_lead"), (500_000, "team_lead"), (500_001, "controller")],
)
def test_the_approver_role_follows_the_base_amount_at_each_tiers_edge(usd_cents: int, role: str) -> None:
    # 2 USD = 1 EUR: the USD amount is halved into base cents; returned items are proposed at any amount
    p = propose(
        items(item("X", usd_cents * 2, currency="USD")),
        ret=returns("X"),
        rates={"EUR": Decimal(1), "USD": Decimal("0.5")},
    )
    assert (p.loc[0, "base_amount"], p.loc[0, "amount"], p.loc[0, "approver_role"]) == (usd_cents, usd_cents * 2, role)


def test_without_a_rate_the_last_tier_approves() -> None:
    p = propose(items(item("X", 100, currency="CHF")), ret=returns("X"), rates={"EUR": Decimal(1)})
    assert pd.isna(p.loc[0, "base_amount"]) and p.loc[0, "approver_role"] == "controller"


def test_an_approval_makes_the_proposal_approved_and_the_journal_lists_only_approved_ones() -> None:
    open_items = items(item("SMALL", 2_499, dpd=100), item("SMALL2", 1_000, dpd=100), item("BACK", 123_456, dpd=30))
    p = propose(open_items, ret=returns("BACK"), appr=approvals("SMALL", "BACK", "GONE"))
    assert {d: s for d, (_, _, _, s) in by_doc(p).items()} == {
        "BACK": "APPROVED",
        "SMALL": "APPROVED",
        "SMALL2": "PROPOSED",
    }
    text = journal_csv(p, "1000", T, RULES).decode()
    assert text.splitlines()[0] == (
        "posting_date,company_code,document_no,customer_id,debit_account,credit_account,cost_center,"
        "amount,currency,reason,approver_role,proposal_id"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["document_no"], r["amount"], r["debit_account"], r["credit_account"]) for r in rows] == [
        ("BACK", "1234.56", "685000", "140000"),
        ("SMALL", "24.99", "685000", "140000"),
    ]
    assert rows[0] | {} == rows[0] and rows[0]["posting_date"] == "2026-03-31"
    assert (rows[0]["reason"], rows[0]["approver_role"], rows[0]["proposal_id"]) == (
        "AGENCY_RETURNED",
        "team_lead",
        "WO-1000-BACK",
    )
    assert journal_csv(p, "2000", T, RULES) is None  # no accounts configured: no journal
    assert list(written_off_items(p)["document_no"]) == ["BACK", "SMALL"]


def test_bad_approver_tiers_are_refused_with_a_readable_message() -> None:
    with pytest.raises(ValidationError, match="up_to must rise"):
        WriteoffRules.model_validate(
            {"approvers": [{"role": "a", "up_to": "10"}, {"role": "b", "up_to": "5"}, {"role": "c"}]}
        )
    with pytest.raises(ValidationError, match="the last has none"):
        WriteoffRules.model_validate({"approvers": [{"role": "a", "up_to": "10"}]})


def _aging(overdue: int) -> pd.DataFrame:
    config = ReportingConfig()
    row = {"company_code": "1000", "customer_id": "C1", "currency": "EUR", "total": overdue, "total_base": overdue}
    row |= {b.column: 0 for b in config.aging.buckets}
    row[config.aging.buckets[-1].column] = overdue
    return pd.DataFrame([row])


def test_an_approved_write_off_closes_the_case_the_next_night() -> None:
    open_items = items(item("SMALL", 2_000, dpd=100), item("OTHER", 50_000, dpd=100))
    config = ReportingConfig()

    def night(day: date, appr: pd.DataFrame | None, prev):
        f = night_facts(day, _aging(52_000), config, open_items=open_items, writeoff_approvals=appr)
        f.dunned.add(("1000", "C1"))
        return derive_cases(prev, f, CaseRules(), previous_as_of=day - timedelta(days=1))

    first = night(T, approvals("SMALL"), None)  # OTHER is still owed: the case stays open
    assert first.cases.loc[0, "closed_on"] is None
    second = night(T + timedelta(days=1), approvals("SMALL", "OTHER", on=T + timedelta(days=1)), first.cases)
    c = second.cases.loc[0]
    assert (c["closed_on"], c["close_reason"]) == (T + timedelta(days=1), "WRITTEN_OFF")
    assert list(second.events["event"]) == ["CLOSED"]
    third = night(T + timedelta(days=2), approvals("SMALL", "OTHER"), second.cases)
    assert third.cases.empty  # no new case while the approvals stand


def test_an_approved_write_off_is_skipped_by_dunning_before_a_dispute_and_only_from_its_day() -> None:
    """WRITTEN_OFF wins over a dispute; an approval dated after the night is not known yet."""
    from receivables.close.writeoffs import approved_writeoffs
    from receivables.dunning import propose_dunning
    from tests.receivables.test_dunning import dispute, disputes

    open_items = items(item("W1", 1999, dpd=40), item("W2", 50000, dpd=40), item("W3", 3000, dpd=40))
    gone = approved_writeoffs(pd.concat([approvals("W1", "W2"), approvals("W3", on=T + timedelta(days=1))]), T)
    p = propose_dunning(
        open_items, customers(customer()), disputes(dispute("W2")), None, None, POLICIES, AS_OF, written_off=gone
    )
    assert dict(zip(p.skipped["document_no"], p.skipped["reason"])) == {"W1": "WRITTEN_OFF", "W2": "WRITTEN_OFF"}
    assert list(p.items["document_no"]) == ["W3"]
    assert approved_writeoffs(None, T) is None


def test_the_workbook_sheet_lists_each_proposal_and_totals_per_company_and_approver(tmp_path) -> None:
    import openpyxl

    from receivables.workbook import write_report_workbook
    from tests.receivables import workbook_data as data

    open_items = items(item("S1", 1999, dpd=120), item("S2", 2450, dpd=95), item("B1", 60000, dpd=40))
    hist = history(("B1", TOP, 70))
    proposals = propose(open_items, hist, appr=approvals("S1"))
    path = write_report_workbook(tmp_path / "run.xlsx", data.inputs(writeoffs=proposals), data.delivery())
    ws = openpyxl.load_workbook(path)["Write-offs"]
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert values[2][:5] == ["1000", "collector", 2, 44.49, 19.99]
    assert values[3][:5] == ["1000", "team_lead", 1, 600.0, 0]
    header = values[5]
    body = [dict(zip(header, row)) for row in values[6:]]
    assert [
        (r["Document"], r["Reason"], r["Amount to write off (EUR)"], r["Approver role"], r["Status"]) for r in body
    ] == [
        ("B1", "At the last dunning level too long", 600.0, "team_lead", "Proposed"),
        ("S1", "Small old balance", 19.99, "collector", "Approved"),
        ("S2", "Small old balance", 24.5, "collector", "Proposed"),
    ]
    assert {r["Customer name"] for r in body} == {"'" + data.HOSTILE}
