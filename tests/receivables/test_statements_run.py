"""The monthly statement of account: who gets one (a positive balance after the night's cash),
who does not (zero or credit balance, a dunning block, no usable address), what the customer
reads (balance and overdue part to the cent, the statement attached), and that a rerun of the
month sends nothing twice.  A hand-made extract set, a SQLite warehouse, a real SMTP server."""

from __future__ import annotations

from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from receivables.pipeline import run_nightly, warehouse_engine
from receivables.settings import Settings
from receivables.statements_run import run_statements, statement_key
from receivables.warehouse import run_lock
from receivables.warehouse.run_lock import RunInProgress
from tests.conftest import VALID_SET, warehouse_rows, write_set

AS_OF = date(2026, 11, 2)  # the first business day of November 2026

# the shared small set, plus: a credit-only account, a blocked one, one without a usable address
STATEMENT_SET = dict(VALID_SET)
STATEMENT_SET["customers.csv"] = VALID_SET["customers.csv"] + (
    "C004,Nordlicht Handel KG,einkauf@nordlicht.example,en,DE,EUR,30,10000.00,STANDARD,,false,Anna Schmidt,,1000\n"
    "C005,Blocked Trading Ltd,ap@blocked.example,en,DE,EUR,30,10000.00,STANDARD,,true,Anna Schmidt,,1000\n"
    "C006,Kein Mail GmbH,,de,DE,EUR,30,10000.00,STANDARD,,false,Anna Schmidt,,1000\n"
)
STATEMENT_SET["open_items.csv"] = VALID_SET["open_items.csv"] + (
    "1000,9000020001,CRN,C004,2026-10-01,2026-10-01,EUR,-50.00,-50.00,,false,,\n"
    "1000,9000020002,INV,C005,2026-09-01,2026-10-01,EUR,300.00,300.00,,false,,\n"
    "1000,9000020003,INV,C006,2026-09-01,2026-10-01,EUR,410.10,410.10,,false,,\n"
)


@pytest.fixture
def extracts(tmp_path: Path) -> Path:
    return write_set(tmp_path / "extracts", STATEMENT_SET)


def settings_for(workdir: Path, port: int) -> Settings:
    return Settings(
        db_url=f"sqlite:///{workdir / 'warehouse.db'}",
        outbox_dir=workdir / "outbox",
        mail_from="ar@nordwerk.example",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_mode="send",
    )


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_statements_go_to_every_open_balance_once_a_month(workdir: Path, extracts: Path, smtp_server) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server.port)

    summary = run_statements(str(extracts), AS_OF, settings)

    # C001 (EUR 1,261.50 after tonight's cash) and C003 (USD 22,250.75); C002 paid in full
    received = {tuple(r.rcpt_tos): BytesParser(policy=policy.default).parsebytes(r.content) for r in server.received}
    assert set(received) == {
        ("buchhaltung@mueller-soehne.de",),
        ("ap@acme-supply.com", "controller@acme-supply.com"),
    }
    mueller = received[("buchhaltung@mueller-soehne.de",)]
    assert mueller["Subject"] == (
        "Ihr Kontoauszug zum 2. November 2026 – Kundennummer C001 – Nordwerk Industriebedarf GmbH"
    )
    text = " ".join(_plain(mueller).split())
    # 1,380.50 overdue less the 119.00 credit note: the balance, all of it overdue
    assert "Der Saldo Ihres Kontos bei uns beträgt 1.261,50 €, davon sind 1.261,50 € überfällig." in text
    assert "9000012345" not in text  # settled by tonight's payment
    names = [p.get_filename() for p in mueller.iter_attachments()]
    assert names == ["Kontoauszug_C001_2026-11-02.csv", "Kontoauszug_C001_2026-11-02.xlsx"]
    csv = next(mueller.iter_attachments()).get_content()
    assert "1380,50" in csv and "-119,00" in csv and "1190,00" not in csv

    acme = " ".join(_plain(received[("ap@acme-supply.com", "controller@acme-supply.com")]).split())
    assert "The balance of your account with us is $22,250.75, of which $15,000.00 is overdue." in acme

    assert summary["statements"]["planned"] == 2
    assert summary["statements"]["skipped"] == {
        "held_company": 0,
        "no_balance": 2,  # C002 paid to zero, C004 in credit
        "dunning_block": 1,  # C005
        "no_address": 1,  # C006
    }
    rows = warehouse_rows(workdir, "SELECT customer_id, template, status, level, currency FROM email_outbox")
    assert sorted(rows) == [
        ("C001", "statement_of_account", "sent", None, None),
        ("C003", "statement_of_account", "sent", None, None),
    ]
    (log,) = warehouse_rows(workdir, "SELECT status, mode, flow_run_name FROM run_log")
    assert log == ("succeeded", "send", "statements-2026-11-02-send")
    # nothing else of the night is written
    for table in ("aging", "kpis", "dunning_notices", "cash_applications", "quarantine"):
        assert warehouse_rows(workdir, f"SELECT count(*) FROM {table}") == [(0,)], table

    # a rerun the same day, and one later in the month: no statement goes out twice
    again = run_statements(str(extracts), AS_OF, settings)
    later = run_statements(str(extracts), date(2026, 11, 20), settings)
    assert len(server.received) == 2
    assert again["statements"]["outbox"]["already_present"] == 2 and again["emails"]["sent"] == 0
    assert later["statements"]["outbox"]["inserted"] == 0 and later["emails"]["sent"] == 0
    # December is another month: a new statement
    assert statement_key("1000", "C001", "EUR", date(2026, 12, 1)) != statement_key("1000", "C001", "EUR", AS_OF)


def test_a_statement_run_waits_for_the_night_of_its_date(workdir: Path, extracts: Path, smtp_server) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server.port)
    # the night of the same as_of holds the warehouse lock: the statements share it
    run_lock.acquire(warehouse_engine(settings.db_url), AS_OF, "the-nightly-run")
    with pytest.raises(RunInProgress, match="already in progress"):
        run_statements(str(extracts), AS_OF, settings)
    assert server.received == []
    (log,) = warehouse_rows(workdir, "SELECT status FROM run_log")
    assert log == ("failed",)


def test_a_rerun_of_the_night_leaves_the_pending_statements_of_its_date(workdir: Path, extracts: Path) -> None:
    # preview mode leaves the statements pending; the night of the same date, run after them
    # and run again, owns its letters only: it must not withdraw the statements
    settings = Settings(
        db_url=f"sqlite:///{workdir / 'warehouse.db'}",
        outbox_dir=workdir / "outbox",
        archive_dir=workdir / "archive",
        reports_dir=workdir / "reports",
        mail_from="ar@nordwerk.example",
        mail_mode="preview",
    )
    run_statements(str(extracts), AS_OF, settings)
    run_nightly(str(extracts), AS_OF, settings)
    run_nightly(str(extracts), AS_OF, settings)
    rows = warehouse_rows(
        workdir, "SELECT customer_id, status FROM email_outbox WHERE template = 'statement_of_account' ORDER BY 1"
    )
    # a preview leaves an email pending: it is still there to send, not cancelled
    assert rows == [("C001", "pending"), ("C003", "pending")]
