"""The claims history the night reads from the warehouse: only the documents something is
charged on, with their items and cash, and the claims built on it are the claims the whole
history gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd

from receivables.close.claims import build_claims, charged_documents
from receivables.rules import load_rules
from receivables.warehouse import claims_history
from receivables.warehouse.claims_history import ClaimsHistory, read_history
from receivables.warehouse.database import connect, migrate, replace_for_as_of
from receivables.warehouse.tables import cash_applications, dunning_items, dunning_notices

NIGHTS = [date(2026, 9, 1) + timedelta(days=7 * k) for k in range(6)]
DOCUMENTS = [(company, f"90{n:05d}", f"C{n % 17:03d}") for company in ("1000", "2000") for n in range(80)]


def dunning_night(rng: random.Random, day: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One night's notices, items and applied cash: a third of the documents dunned, a few
    charged (a notice's fee, an item's fee or interest; a negative item fee leaves its notice
    a level fee of its own), cash on charged and other documents."""
    dunned = rng.sample(DOCUMENTS, 55)
    notices, items, paid = {}, [], []
    for company, doc, customer in dunned:
        notice_id = f"N-{day}-{company}-{customer}"
        notices.setdefault(
            notice_id,
            {"notice_id": notice_id, "company_code": company, "customer_id": customer, "currency": "EUR",
             "level": 2, "overdue_amount": 0, "fees": rng.choice([0, 0, 0, 0, 500]), "interest": 0,
             "action": "email", "policy": "STANDARD", "template": "reminder_2", "language": "de"},
        )  # fmt: skip
        level = rng.randint(1, 3)
        items.append(
            {"notice_id": notice_id, "company_code": company, "document_no": doc, "customer_id": customer,
             "currency": "EUR", "previous_level": level - 1, "level": level, "days_past_due": 30,
             "open_amount": rng.randint(1_000, 90_000), "due_date": date(2026, 8, 1),
             "interest": rng.choice([0] * 8 + [rng.randint(1, 900)]), "fee": rng.choice([0] * 12 + [250, -500]),
             "disputed_amount": rng.choice([0] * 9 + [500])},
        )  # fmt: skip
    for company, doc, customer in rng.sample(DOCUMENTS, 30):
        paid.append(
            {"payment_id": f"P-{day}-{doc}", "company_code": company, "document_no": doc, "customer_id": customer,
             "applied_amount": rng.randint(100, 20_000), "currency": "EUR", "rule": "reference", "confidence": 1.0,
             "status": rng.choice(["applied", "applied", "suggested"]), "writeoff_amount": 0, "discount_amount": 0},
        )  # fmt: skip
    return pd.DataFrame(list(notices.values())), pd.DataFrame(items), pd.DataFrame(paid)


def whole_history(conn, notices_until: date, paid_until: date) -> ClaimsHistory:
    """Every notice and item before ``notices_until`` and all cash applied before
    ``paid_until``: what the night read before."""
    read = claims_history._read
    notices = read(conn, dunning_notices, claims_history.NOTICE_COLUMNS, dunning_notices.c.as_of < notices_until)
    items = read(conn, dunning_items, claims_history.ITEM_COLUMNS, dunning_items.c.as_of < notices_until)
    a = cash_applications.c
    applied = (a.as_of < paid_until) & (a.status == "applied")
    paid = read(conn, cash_applications, claims_history.PAYMENT_COLUMNS, applied)
    return ClaimsHistory(notices, items, paid, notices_until, paid_until)


def claims_of(
    history: ClaimsHistory, day: date, tonight: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], written: bool
):
    """``claims_part.claims_result``'s build: the history plus tonight's cash, and tonight's
    notices and items from the proposal, or (``written``, a report-only rerun) from the history."""
    t_notices, t_items, t_paid = (f.assign(as_of=day) for f in tonight)
    notices, items = history.notices_before(day + timedelta(days=1) if written else day)
    if not written:
        notices = pd.concat([notices, t_notices[notices.columns]], ignore_index=True)
        items = pd.concat([items, t_items[items.columns]], ignore_index=True)
    paid = pd.concat([history.applied_before(day), t_paid.loc[t_paid["status"] == "applied", history.paid.columns]])
    rules = load_rules()
    return build_claims(notices, items, paid, day, rules.close.claims, rules.dunning, countries={})


def same_claims(got, expected) -> None:
    pd.testing.assert_frame_equal(got.claims, expected.claims)
    pd.testing.assert_frame_equal(got.shortfalls, expected.shortfalls)


def test_the_charged_documents_history_gives_the_claims_of_the_whole_history(warehouse_url: str) -> None:
    engine = connect(warehouse_url)
    migrate(engine)
    rng = random.Random(23)
    kinds = set()
    for day in NIGHTS:
        tonight = dunning_night(rng, day)
        with engine.connect() as conn:
            whole = whole_history(conn, day, day)
            narrow = read_history(conn, day, day, charged_documents(tonight[0], tonight[1]))
        expected = claims_of(whole, day, tonight, written=False)
        same_claims(claims_of(narrow, day, tonight, written=False), expected)
        kinds |= set(expected.claims["kind"])
        with engine.begin() as conn:
            for table, frame in zip(("dunning_notices", "dunning_items", "cash_applications"), tonight):
                replace_for_as_of(conn, table, day, frame, f"run-{day}")
        # a report-only rerun of the night: its notices are the warehouse's
        until = day + timedelta(days=1)
        with engine.connect() as conn:
            whole, narrow = whole_history(conn, until, day), read_history(conn, until, day)
        # most of the history is left in the database (the first night's cash is before it)
        assert len(narrow.items) < len(whole.items) and (len(narrow.paid) < len(whole.paid) or day == NIGHTS[0])
        same_claims(claims_of(narrow, day, tonight, written=True), claims_of(whole, day, tonight, written=True))
    assert {"FEE", "INTEREST"} <= kinds
    engine.dispose()
