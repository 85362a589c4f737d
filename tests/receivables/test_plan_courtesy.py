"""The courtesy email before a payment plan's instalment: which instalment a plan announces
and when, the letter in the customer's language with the amount to the cent, and, through
real nights on a SQLite warehouse and a loopback SMTP server, that each instalment's email
goes out exactly once (the next night, a rerun and a corrected rerun included)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from receivables import pipeline
from receivables.outbox import enqueue
from receivables.reminders import PLAN_TEMPLATE, instalments_due_soon, plan_courtesy_emails, read_companies
from receivables.reminders.mime import message_bytes
from receivables.reminders.plan_courtesy import render_plan_courtesy
from receivables.reminders.templates import template_dirs
from receivables.settings import load_settings
from receivables.warehouse import connect, migrate
from receivables.warehouse.tables import email_outbox
from tests.conftest import VALID_SET, warehouse_rows, write_set
from tests.receivables.test_payment_plans import SCHEDULE, _cleared, _instalments, _plan_files, _plans, _status
from tests.smtp_server import Server

PLAN = "PL1,1000,C001,9000012346,2026-10-25,Anna\n"
INSTALMENTS = "PL1,1,2026-11-05,500.00\nPL1,2,2026-11-30,880.50\n"
PAYMENTS_HEADER = VALID_SET["payments.csv"].splitlines()[0] + "\n"
#: C001 pays instalment 1 of PL1 (500.00 of invoice 9000012346)
INSTALMENT_1_PAID = (
    "P0000009,1000,2026-10-30,500.00,EUR,C001,MUELLER UND SOEHNE GMBH,DE89370400440532013000,RE 9000012346,BR-9\n"
)


def _night(folder: Path, plans: str = PLAN, instalments: str = INSTALMENTS, **files: str) -> Path:
    return write_set(folder, dict(VALID_SET, **_plan_files(plans, instalments), **files))


def _send_to(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIVABLES_MAIL_MODE", "send")
    monkeypatch.setenv("RECEIVABLES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RECEIVABLES_SMTP_PORT", str(server.port))
    monkeypatch.setenv("RECEIVABLES_SMTP_STARTTLS", "false")
    monkeypatch.setenv("RECEIVABLES_MAIL_FROM", "ar@nordwerk.example")


def _courtesy(server: Server) -> list:
    """The courtesy emails the server received, in order: (recipient, subject, plain text)."""
    found = []
    for received in server.received:
        message = received.message
        if "Ratenzahlung" in str(message["Subject"]) or "payment plan" in str(message["Subject"]):
            found.append(
                (received.rcpt_tos, str(message["Subject"]), _read(message.get_body(("plain",)).get_content()))
            )
    return found


def _read(text: str) -> str:
    """The text as a reader takes it in: no-break spaces and line wrapping as plain spaces."""
    return " ".join(text.replace("\u00a0", " ").split())


def _outbox(workdir: Path) -> list:
    return warehouse_rows(
        workdir,
        "select notice_id, as_of, status, level from email_outbox "
        f"where template = '{PLAN_TEMPLATE}' order by notice_id",
    )


# --- which instalment, when ----------------------------------------------------------------------


def test_the_next_instalment_is_announced_within_the_window_only() -> None:
    # PL1: 100.00 due 1 March (met on 28 February), 100.00 due 1 April, 100.00 due 1 May
    s = _status(_plans(("PL1", "A", "2026-02-15")), SCHEDULE, cleared=_cleared(("A", 10_000, "2026-02-28")))
    assert instalments_due_soon(s, SCHEDULE, date(2026, 3, 26), 5).empty  # 1 April is six days off
    (row,) = instalments_due_soon(s, SCHEDULE, date(2026, 3, 27), 5).to_dict("records")
    assert (row["seq"], row["due_date"], row["missing"], row["paid"]) == (2, date(2026, 4, 1), 10_000, 10_000)
    assert (row["instalments"], row["total"], row["documents"]) == (3, 30_000, ["A"])
    assert instalments_due_soon(s, SCHEDULE, date(2026, 3, 27), 0).empty  # 0: courtesy emails off


def test_money_paid_ahead_lowers_the_amount_to_pay_to_the_cent() -> None:
    cleared = _cleared(("A", 12_345, "2026-02-20"))  # 23.45 beyond instalment 1
    s = _status(_plans(("PL1", "A", "2026-02-15")), SCHEDULE, cleared=cleared, as_of="2026-03-28")
    (row,) = instalments_due_soon(s, SCHEDULE, date(2026, 3, 28), 5).to_dict("records")
    assert (row["seq"], row["amount"], row["missing"]) == (2, 10_000, 7_655)


def test_a_plan_still_in_the_grace_of_an_earlier_instalment_or_broken_announces_nothing() -> None:
    inst = _instalments(("PL1", 1, "2026-03-26", 10_000), ("PL1", 2, "2026-03-30", 10_000))
    plans = _plans(("PL1", "A", "2026-02-15"))
    in_grace = _status(plans, inst, as_of="2026-03-27")  # instalment 1 unpaid, grace until 29 March
    assert in_grace.plans.iloc[0]["status"] == "CURRENT"
    assert instalments_due_soon(in_grace, inst, date(2026, 3, 27), 5).empty
    broken = _status(plans, inst, as_of="2026-03-30")
    assert broken.plans.iloc[0]["status"] == "BROKEN"
    assert instalments_due_soon(broken, inst, date(2026, 3, 30), 5).empty


def test_the_letter_in_english_and_spanish_and_none_for_a_blocked_customer() -> None:
    s = _status(_plans(("PL1", "A", "2026-02-15")), SCHEDULE, cleared=_cleared(("A", 10_000, "2026-02-28")))
    (due,) = instalments_due_soon(s, SCHEDULE, date(2026, 3, 28), 5).to_dict("records")
    company = read_companies().entries["1000"]
    tdir = template_dirs()
    english = render_plan_courtesy(due, _customer("en", "GB"), company, date(2026, 3, 28), tdir)
    assert "instalment 2 falls due on 1 April 2026" in _read(english.text)
    assert "To pay by the due date: €100.00" in _read(english.text) and "Paid so far: €100.00" in _read(english.text)
    spanish = render_plan_courtesy(due, _customer("es", "ES"), company, date(2026, 3, 28), tdir)
    assert "el plazo 2 vence el 1 de abril de 2026" in _read(spanish.text) and "100,00 €" in _read(spanish.text)
    assert spanish.level is None and spanish.notice_id == "PL1/2" and spanish.attachments == ()
    assert b"Auto-Submitted: auto-generated" in message_bytes(spanish)
    customers = _customers(_customer("de", "DE") | {"dunning_block": True})
    assert plan_courtesy_emails(s, SCHEDULE, customers, {"1000": company}, date(2026, 3, 28), tdir, 5) == []
    # a company without creditor details (held by the preflight) gets none either
    assert plan_courtesy_emails(s, SCHEDULE, _customers(_customer("de", "DE")), {}, date(2026, 3, 28), tdir, 5) == []


def _customer(language: str, country: str) -> dict:
    return {
        "customer_id": "C1",
        "company_code": "1000",
        "name": "Kunde & Co",
        "email": "ap@kunde.example",
        "language": language,
        "country": country,
        "currency": "EUR",
        "collector": "Anna Schmidt",
        "dunning_block": False,
    }


def _customers(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(rows)


# --- through real nights --------------------------------------------------------------------------


def test_each_instalment_gets_one_courtesy_email_five_days_before_it_falls_due(
    workdir: Path, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plan PL1 of C001 (German): 500.00 by 5 November, 880.50 by 30 November.  The email for
    instalment 1 goes out on 31 October and on no later night of its window nor on a rerun;
    instalment 1 is paid on 4 November, and instalment 2 gets its own email on 25 November."""
    server = smtp_server()
    _send_to(server, monkeypatch)
    settings = load_settings()
    folder = _night(workdir / "set")
    pipeline.run_nightly(str(folder), date(2026, 10, 30), settings)  # 6 days before: too early
    assert _courtesy(server) == []
    pipeline.run_nightly(str(folder), date(2026, 10, 31), settings)
    ((to, subject, text),) = _courtesy(server)
    assert to == ["buchhaltung@mueller-soehne.de"]
    assert subject.startswith("Ihre nächste Rate zum 05.11.2026 – Ratenzahlung PL1")
    assert "Bis zur Fälligkeit zu zahlen: 500,00 €" in text and "Rate: 1 von 2" in text
    assert "Bisher gezahlt: 0,00 €" in text and "am 5. November 2026 die 1. Rate" in text
    assert "Verwendungszweck: PL1 9000012346" in text

    pipeline.run_nightly(str(folder), date(2026, 10, 31), settings)  # a rerun of the date
    pipeline.run_nightly(str(folder), date(2026, 11, 1), settings)  # the next night, still in the window
    assert len(_courtesy(server)) == 1
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "sent", None)]

    paid = _night(workdir / "paid", **{"payments.csv": PAYMENTS_HEADER + INSTALMENT_1_PAID})
    pipeline.run_nightly(str(paid), date(2026, 11, 4), settings)
    rest = VALID_SET["open_items.csv"].replace("2380.50,1380.50", "2380.50,880.50")
    later = _night(workdir / "later", **{"payments.csv": PAYMENTS_HEADER, "open_items.csv": rest})
    pipeline.run_nightly(str(later), date(2026, 11, 25), settings)
    pipeline.run_nightly(str(later), date(2026, 11, 26), settings)
    first, (_, subject, text) = _courtesy(server)
    assert subject.startswith("Ihre nächste Rate zum 30.11.2026")
    assert "Bis zur Fälligkeit zu zahlen: 880,50 €" in text and "Rate: 2 von 2" in text
    assert "Bisher gezahlt: 500,00 €" in text
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "sent", None), ("PL1/2", "2026-11-25", "sent", None)]


def test_broken_completed_and_blocked_plans_get_no_courtesy_email(
    workdir: Path, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """31 October, every instalment below due within five days: PL1 is current and gets its
    email; PL3 was paid off tonight (completed), PL4 missed its first instalment (broken), and
    PL5's customer has a dunning block."""
    server = smtp_server()
    _send_to(server, monkeypatch)
    plans = (
        PLAN
        + "PL3,1000,C001,9000012345,2026-10-20,Anna\n"  # paid in full by P0000001 tonight
        + "PL4,3000,C003,INV-000123,2026-10-01,John\n"
        + "PL5,2000,C002,F-2026-000200,2026-10-20,Lucía\n"
    )
    instalments = (
        INSTALMENTS
        + "PL3,1,2026-11-02,1190.00\n"
        + "PL4,1,2026-10-10,5000.00\nPL4,2,2026-11-03,10000.00\n"
        + "PL5,1,2026-11-03,100.00\nPL5,2,2026-12-03,200.00\n"
    )
    customers = VALID_SET["customers.csv"].replace("STANDARD,,false,Lucía", "STANDARD,,true,Lucía")
    open_items = (
        VALID_SET["open_items.csv"] + "2000,F-2026-000200,INV,C002,2026-09-01,2026-10-01,EUR,300.00,300.00,,false,,\n"
    )
    folder = _night(workdir / "set", plans, instalments, **{"customers.csv": customers, "open_items.csv": open_items})
    pipeline.run_nightly(str(folder), date(2026, 10, 31), load_settings())
    status = dict(warehouse_rows(workdir, "select plan_id, status from payment_plan_status"))
    assert status == {"PL1": "CURRENT", "PL3": "COMPLETED", "PL4": "BROKEN", "PL5": "CURRENT"}
    assert [to for to, _, _ in _courtesy(server)] == [["buchhaltung@mueller-soehne.de"]]
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "sent", None)]


def test_a_corrected_rerun_withdraws_its_pending_email_and_a_later_night_never_does(workdir: Path) -> None:
    """Preview mode keeps the email pending.  A corrected rerun of 31 October that holds the
    payment of instalment 1 no longer proposes it: withdrawn; the correction undone, it is
    restored.  The night of 1 November, with the instalment paid, proposes nothing and leaves
    31 October's email as it is."""
    settings = load_settings()
    folder = _night(workdir / "set")
    paid = _night(workdir / "paid", **{"payments.csv": VALID_SET["payments.csv"] + INSTALMENT_1_PAID})
    pipeline.run_nightly(str(folder), date(2026, 10, 31), settings)
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "pending", None)]
    pipeline.run_nightly(str(paid), date(2026, 10, 31), settings)
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "cancelled", None)]
    reason = warehouse_rows(workdir, "select cancel_reason from email_outbox where notice_id = 'PL1/1'")[0][0]
    assert reason.startswith("withdrawn by the rerun o")
    pipeline.run_nightly(str(folder), date(2026, 10, 31), settings)
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "pending", None)]
    pipeline.run_nightly(str(paid), date(2026, 11, 1), settings)
    assert _outbox(workdir) == [("PL1/1", "2026-10-31", "pending", None)]


def test_an_email_a_night_could_not_send_goes_out_with_the_next_night_once(
    workdir: Path, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """31 October ran in preview (the email waits, pending); 1 November sends: the email moves
    to that night and reaches the customer once; a rerun of 1 November sends nothing more."""
    folder = _night(workdir / "set")
    pipeline.run_nightly(str(folder), date(2026, 10, 31), load_settings())
    server = smtp_server()
    _send_to(server, monkeypatch)
    for _ in range(2):
        pipeline.run_nightly(str(folder), date(2026, 11, 1), load_settings())
    assert len(_courtesy(server)) == 1
    assert _outbox(workdir) == [("PL1/1", "2026-11-01", "sent", None)]


# --- the outbox's rules for it, on PostgreSQL ------------------------------------------------------


def test_on_postgresql_it_is_a_letter_of_its_own_and_moves_to_the_night_that_proposes_it(pg_url: str) -> None:
    """The courtesy email pending from 27 March is proposed again on 28 March: it moves to 28
    March (that night's delivery sends it).  Sent, it keeps C1's reminder of the same night
    (same customer, company code and currency) from counting as a second level, and a rerun
    of 28 March that no longer proposes it leaves it as it went out."""
    s = _status(_plans(("PL1", "A", "2026-02-15")), SCHEDULE, cleared=_cleared(("A", 10_000, "2026-02-28")))
    companies = {"1000": read_companies().entries["1000"]}
    customers = _customers(_customer("de", "DE"))
    day, night = date(2026, 3, 27), date(2026, 3, 28)
    (first,) = plan_courtesy_emails(s, SCHEDULE, customers, companies, day, template_dirs(), 5)
    (again,) = plan_courtesy_emails(s, SCHEDULE, customers, companies, night, template_dirs(), 5)
    assert again.key == first.key  # the key names no night
    reminder = dataclasses.replace(
        again, key="b" * 64, notice_id="DN-20260328-1", level=1, template="reminder_1", subject="Zahlungserinnerung"
    )
    engine = connect(pg_url)
    migrate(engine)

    def enqueue_on(as_of: date, *emails):
        with engine.begin() as conn:
            return enqueue(conn, as_of, f"run-{as_of}-{len(emails)}", list(emails))

    def rows() -> list:
        with engine.connect() as conn:
            c = email_outbox.c
            query = sa.select(c.notice_id, c.as_of, c.status).order_by(c.notice_id)
            return [tuple(r) for r in conn.execute(query)]

    assert enqueue_on(day, first).inserted == 1
    assert enqueue_on(night, again).already_present == 1
    assert rows() == [("PL1/2", night, "pending")]
    with engine.begin() as conn:
        conn.execute(email_outbox.update().values(status="sent"))
    queued = enqueue_on(night, again, reminder)
    assert (queued.inserted, queued.not_queued) == (1, 0)
    assert enqueue_on(night, reminder).withdrawn == 0
    assert rows() == [("DN-20260328-1", night, "pending"), ("PL1/2", night, "sent")]
    engine.dispose()
