"""A partially disputed invoice over 37 nights on one warehouse, against a real SMTP server on
loopback: dunned for its undisputed part, the dispute escalating to its owner and then to the
manager on the nights ``configs/disputes.yaml`` says (each email once), resolved, and the whole
invoice dunned after.

The extract set is fixed (the ERP's dispute register already holds the resolution date, so
every night before it sees the dispute open, as a rerun for that date would)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.nights import nights_on_a_fixed_set

START = date(2026, 9, 1)
NIGHTS = 37  # to 2026-10-07

CUSTOMERS = (
    "customer_id,name,email,language,country,currency,payment_terms_days,credit_limit,segment,dunning_policy,dunning_block,collector,iban,company_code\n"
    "C001,Müller & Söhne GmbH,buchhaltung@mueller-soehne.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
)
OPEN_ITEMS = (
    "company_code,document_no,document_type,customer_id,document_date,due_date,currency,amount,open_amount,reference,dunning_block,discount_pct,discount_days\n"
    "1000,9000030001,INV,C001,2026-08-02,2026-09-01,EUR,1000.00,1000.00,,false,,\n"
)
PAYMENTS = (
    "payment_id,company_code,value_date,amount,currency,customer_id,payer_name,payer_iban,"
    "remittance_info,bank_reference\n"
)
# 400.00 of the 1,000.00 disputed (PRICING: 14 days target, so the target date is 09-17),
# owned by John Miller (john.miller@example.com in disputes.yaml), resolved on 10-05
DISPUTES = (
    "dispute_id,company_code,document_no,customer_id,reason_code,amount,status,opened_on,resolved_on,owner\n"
    "D100,1000,9000030001,C001,PRICING,400.00,RESOLVED,2026-09-03,2026-10-05,John Miller\n"
)

EXPECTED_EMAILS = [
    (date(2026, 9, 8), "buchhaltung@mueller-soehne.de"),  # level 1 at 7 days: 600.00 claimed
    (date(2026, 9, 18), "john.miller@example.com"),  # tier 1: the first night past 09-17
    (date(2026, 9, 22), "buchhaltung@mueller-soehne.de"),  # level 2 at 21 days: 600.00 claimed
    (date(2026, 9, 25), "ar-manager@example.com"),  # tier 2: 7 days after tier 1
    (date(2026, 10, 6), "buchhaltung@mueller-soehne.de"),  # level 3 at 35 days: all 1,000.00
]


@pytest.fixture(scope="module")
def nights(tmp_path_factory, smtp_server_module):
    files = {
        "customers.csv": CUSTOMERS,
        "open_items.csv": OPEN_ITEMS,
        "payments.csv": PAYMENTS,
        "disputes.csv": DISPUTES,
    }
    folder = tmp_path_factory.mktemp("dispute_scenario")
    return nights_on_a_fixed_set(folder, files, START, NIGHTS, smtp_server_module())


def _query(engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def test_each_email_goes_out_once_on_its_night(nights) -> None:
    got = [(day, m.rcpt_tos[0]) for day, messages in nights["sent"].items() for m in messages]
    assert got == EXPECTED_EMAILS


def test_the_notices_claim_the_undisputed_part_until_the_dispute_is_resolved(nights) -> None:
    rows = _query(
        nights["engine"],
        "SELECT n.as_of, n.level, n.overdue_amount, i.open_amount, i.disputed_amount, n.interest "
        "FROM dunning_notices n JOIN dunning_items i ON i.notice_id = n.notice_id ORDER BY n.as_of",
    )
    got = [(str(r[0]), r[1], *(Decimal(str(v)) for v in r[2:])) for r in rows]
    assert got == [
        ("2026-09-08", 1, Decimal("600.00"), Decimal("1000.00"), Decimal("400.00"), Decimal("0.00")),
        ("2026-09-22", 2, Decimal("600.00"), Decimal("1000.00"), Decimal("400.00"), Decimal("0.00")),
        # resolved on 10-05: the final notice claims it all, with 1,000.00 x 10.27 % x 35 / 365
        ("2026-10-06", 3, Decimal("1000.00"), Decimal("1000.00"), Decimal("0.00"), Decimal("9.85")),
    ]
    first = nights["sent"][date(2026, 9, 8)][0].message.get_body(("plain",)).get_content().replace("\xa0", " ")
    assert "Offener Betrag: 1.000,00 €" in first and "Zu zahlender Gesamtbetrag: 600,00 €" in first
    assert "davon 400,00 € strittig und in diesem Schreiben nicht gefordert" in first


def test_the_escalation_emails_name_the_dispute_the_tier_and_the_breach(nights) -> None:
    tier1 = nights["sent"][date(2026, 9, 18)][0].message
    tier2 = nights["sent"][date(2026, 9, 25)][0].message
    assert tier1["Subject"].startswith("Dispute D100 past its target – escalation tier 1")
    text1 = tier1.get_body(("plain",)).get_content()
    assert "Hello John Miller" in text1 and "target breached by 1 days" in text1 and "€400.00" in text1
    text2 = tier2.get_body(("plain",)).get_content()
    assert "Escalation tier 2: target breached by 8 days" in text2 and "Collections manager" in text2


def test_dispute_status_per_night(nights) -> None:
    rows = _query(
        nights["engine"],
        "SELECT as_of, age_days, target_date, breached, escalation_level, resolved_on, days_to_resolve "
        "FROM dispute_status WHERE as_of IN ('2026-09-17', '2026-09-18', '2026-09-25', '2026-10-05') ORDER BY as_of",
    )
    got = [(str(r[0]), r[1], str(r[2]), bool(r[3]), r[4], None if r[5] is None else str(r[5]), r[6]) for r in rows]
    assert got == [
        ("2026-09-17", 14, "2026-09-17", False, 0, None, None),
        ("2026-09-18", 15, "2026-09-17", True, 1, None, None),
        ("2026-09-25", 22, "2026-09-17", True, 2, None, None),
        ("2026-10-05", 32, "2026-09-17", True, 0, "2026-10-05", 32),
    ]


def test_the_escalated_dispute_is_on_the_worklist(nights) -> None:
    rows = _query(nights["engine"], "SELECT as_of, reason FROM collector_worklist WHERE as_of = '2026-09-18'")
    text = " ".join(str(r[1]) for r in rows)
    assert "dispute D100 (PRICING)" in text and "escalation tier 1" in text and "breached by 1 days" in text


def test_a_sent_escalation_is_not_rendered_again_on_the_nights_after(nights) -> None:
    """Each night the dispute stays past its target proposes its tiers again; once a tier's
    email is sent, the outbox keeps it and the night does not render it for nothing: the run
    summary shows no email proposed again (``already_present``) on any night, escalations included."""
    again = {day: summary["outbox"]["already_present"] for day, summary in nights["summaries"].items()}
    assert len(again) == NIGHTS
    assert set(again.values()) == {0}
    # the tiers stayed due on those nights: 1 from 09-18, 2 from 09-25, until the resolution
    levels = {
        str(day): level for day, level in _query(nights["engine"], "SELECT as_of, escalation_level FROM dispute_status")
    }
    assert levels["2026-09-24"] == 1 and levels["2026-10-04"] == 2
