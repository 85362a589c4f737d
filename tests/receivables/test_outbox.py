"""The outbox against a real SMTP server on loopback (aiosmtpd): one email per notice, none on
a rerun, a crash between send and commit held instead of resent, redirect and preview modes,
header injection, retries, refusals, and a password that never leaks."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from receivables import outbox
from receivables.errors import ConfigError
from receivables.outbox import deliver, enqueue, mark_held_sent, release_held
from receivables.reminders import load_companies, render_reminder
from receivables.settings import Settings
from receivables.warehouse import connect, migrate
from receivables.warehouse.database import read_table
from receivables.warehouse.tables import email_outbox
from tests.receivables.test_reminders import CUSTOMERS, items_for, notice_for
from tests.smtp_server import Recorder, Server, free_port

AS_OF = date(2026, 10, 31)
CANARY = "Canary-Pw-7f3c9e!"
COMPANIES = load_companies()


class BusyThenOk(Recorder):
    """450 for the first ``busy`` DATA commands, then 250."""

    def __init__(self, busy: int = 1) -> None:
        super().__init__()
        self.busy = busy

    def answer(self, server) -> str:
        return "450 4.2.1 Mailbox busy, try again later" if self.data_calls <= self.busy else "250 OK"


class RefuseUnknown(Recorder):
    """550 for any recipient whose address starts with 'unknown'."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("unknown"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class DropFirst(Recorder):
    """Drops the connection at the end of the first DATA, without a reply."""

    def answer(self, server) -> str:
        if self.data_calls == 1:
            server.transport.close()
            return "421 closing"  # never reaches the client: the transport is gone
        return "250 OK"


class RefuseSender(Recorder):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "553 5.7.1 Sender address rejected: not owned by user"


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def engine(workdir: Path):
    engine = connect(f"sqlite:///{workdir / 'outbox.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def settings_for(workdir: Path, server: Server | None = None, **overrides) -> Settings:
    values = {
        "db_url": f"sqlite:///{workdir / 'outbox.db'}",
        "outbox_dir": workdir / "outbox",
        "mail_from": "ar@nordwerk.example",
        "smtp_starttls": False,
    }
    if server is not None:
        values.update(smtp_host="127.0.0.1", smtp_port=server.port, mail_mode="send")
    values.update(overrides)
    return Settings(**values)


def rendered(*customer_ids: str, customers: dict | None = None, as_of: date = AS_OF, **notice_kw):
    customers = customers or CUSTOMERS
    emails = []
    for cid in customer_ids:
        notice = notice_for(cid, **notice_kw)
        emails.append(
            render_reminder(notice, items_for(notice), customers[cid], COMPANIES[notice["company_code"]], as_of)
        )
    return emails


def enqueue_run(engine, emails, run_id: str = "run-1", as_of: date = AS_OF):
    with engine.begin() as conn:
        return enqueue(conn, as_of, run_id, emails)


def rows(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.customer_id: r._asdict() for r in conn.execute(sa.select(email_outbox))}


NO_WAIT = {"backoff": 0.001}


# --------------------------------------------------------------------------- tests


def test_send_delivers_one_email_per_notice_and_a_rerun_sends_none(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server)
    added = enqueue_run(engine, rendered("C001", "C002", "C003"))
    assert (added.inserted, added.already_present, added.rejected) == (3, 0, 0)

    report = deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    assert (report.sent, report.failed, report.held) == (3, 0, 0) and report.ok
    assert len(server.received) == 3
    by_rcpt = {tuple(r.rcpt_tos): r for r in server.received}
    assert set(by_rcpt) == {
        ("buchhaltung@mueller-soehne.de",),
        ("pagos@penalver.es",),
        ("ap@acme-supply.com", "controller@acme-supply.com"),
    }
    assert {r.mail_from for r in server.received} == {"ar@nordwerk.example"}

    # the German customer reads German, the Spanish one Spanish
    german = by_rcpt[("buchhaltung@mueller-soehne.de",)].message
    spanish = by_rcpt[("pagos@penalver.es",)].message
    assert "Sehr geehrte Damen und Herren" in german.get_body(("plain",)).get_content()
    assert "1.234,56\u00a0€" in german.get_body(("html",)).get_content()
    assert "Estimados señores" in spanish.get_body(("plain",)).get_content()
    assert str(german["Subject"]).startswith("Zahlungserinnerung")
    assert german["Reply-To"].addresses[0].addr_spec == "anna.schmidt@nordwerk.example"
    assert german["From"].addresses[0].addr_spec == "ar@nordwerk.example"
    assert german["Date"] is not None

    # every email has its own Message-ID, the one recorded in the outbox
    stored = rows(engine)
    ids = {str(r.message["Message-ID"]) for r in server.received}
    assert len(ids) == 3 and ids == {row["message_id"] for row in stored.values()}
    assert all(row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] for row in stored.values())
    assert stored["C001"]["message_id"] == f"<{stored['C001']['idempotency_key']}@nordwerk.example>"

    # deliver again, then a whole rerun of the same as_of (new run id, re-rendered): nothing
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 0
    again = enqueue_run(engine, rendered("C001", "C002", "C003"), run_id="run-2")
    assert (again.inserted, again.already_present) == (0, 3)
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 0
    assert len(server.received) == 3
    assert {row["run_id"] for row in rows(engine).values()} == {"run-1"}  # existing rows untouched


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def test_crash_between_send_and_commit_is_held_and_never_resent(workdir, engine, smtp_server, monkeypatch) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server)
    enqueue_run(engine, rendered("C001", "C002", "C003"))
    real_mark_sent = outbox._mark_sent
    crashed: list[str] = []

    def crash_once(engine_, key, *args, **kwargs):
        if not crashed:
            crashed.append(key)
            raise Crash("killed after the server accepted the message")
        return real_mark_sent(engine_, key, *args, **kwargs)

    monkeypatch.setattr(outbox, "_mark_sent", crash_once)
    with pytest.raises(Crash):
        deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    monkeypatch.setattr(outbox, "_mark_sent", real_mark_sent)
    assert len(server.received) == 1
    [key] = crashed
    status = {row["idempotency_key"]: row["status"] for row in rows(engine).values()}
    assert status[key] == "sending"

    # the next run holds it, sends the other two, and does not resend the crashed one
    report = deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    assert (report.held, report.sent, report.held_outstanding) == (1, 2, 1)
    assert not report.ok
    assert len(server.received) == 3
    assert len({tuple(r.rcpt_tos) for r in server.received}) == 3  # exactly one copy each
    held = next(row for row in rows(engine).values() if row["idempotency_key"] == key)
    assert held["status"] == "held" and held["attempts"] == 1
    assert "Message-ID" in held["error"] and held["message_id"] == f"<{key}@nordwerk.example>"
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 0  # still held
    assert len(server.received) == 3

    # the operator finds it in the server log: confirmed, never sent again
    assert mark_held_sent(engine, key)
    assert not release_held(engine, key)  # no longer held
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 0
    assert len(server.received) == 3


def test_a_released_held_email_is_sent_once_with_the_same_message_id(workdir, engine, smtp_server, monkeypatch) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server)
    [email] = rendered("C001")
    enqueue_run(engine, [email])
    monkeypatch.setattr(outbox, "_mark_sent", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        deliver(engine, settings, **NO_WAIT)
    monkeypatch.undo()
    assert deliver(engine, settings, **NO_WAIT).held == 1
    assert release_held(engine, email.key)
    report = deliver(engine, settings, **NO_WAIT)
    assert report.sent == 1
    assert [str(r.message["Message-ID"]) for r in server.received] == [f"<{email.key}@nordwerk.example>"] * 2
    row = rows(engine)["C001"]
    assert (row["status"], row["attempts"]) == ("sent", 2)


def test_redirect_sends_everything_to_the_test_address_and_keeps_the_real_send(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    settings = settings_for(workdir, server, mail_mode="redirect", redirect_to="qa@nordwerk.example")
    enqueue_run(engine, rendered("C001", "C003"))
    report = deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    assert (report.redirected, report.sent) == (2, 0)
    assert [r.rcpt_tos for r in server.received] == [["qa@nordwerk.example"]] * 2
    subjects = sorted(str(r.message["Subject"]) for r in server.received)
    assert subjects[0].startswith("[TEST to ap@acme-supply.com, controller@acme-supply.com] Payment reminder")
    assert subjects[1].startswith("[TEST to buchhaltung@mueller-soehne.de] Zahlungserinnerung")
    assert all([a.addr_spec for a in r.message["To"].addresses] == ["qa@nordwerk.example"] for r in server.received)
    assert all(str(r.message["Message-ID"]).endswith(".redirect@nordwerk.example>") for r in server.received)
    state = rows(engine)
    assert all(
        row["status"] == "pending" and row["redirected_at"] and row["mode"] == "redirect" for row in state.values()
    )

    # one test copy per email; the customers' own send is still to come
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).redirected == 0
    report = deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT)
    assert report.sent == 2
    assert sorted(r.rcpt_tos[0] for r in server.received[2:]) == ["ap@acme-supply.com", "buchhaltung@mueller-soehne.de"]


def test_redirect_without_a_test_address_is_refused(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    enqueue_run(engine, rendered("C001"))
    with pytest.raises(ConfigError, match="REDIRECT_TO"):
        deliver(engine, settings_for(workdir, server, mail_mode="redirect"), **NO_WAIT)
    assert server.received == [] and rows(engine)["C001"]["status"] == "pending"


def test_preview_writes_eml_files_sends_nothing_and_does_not_block_the_send(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    preview_settings = settings_for(workdir)  # no SMTP host: preview is the default
    assert preview_settings.effective_mail_mode == "preview"
    emails = rendered("C001", "C002")
    enqueue_run(engine, emails)
    report = deliver(engine, preview_settings, as_of=AS_OF)
    assert report.previewed == 2 and server.handler.data_calls == 0
    for email in emails:
        path = workdir / "outbox" / "2026-10-31" / f"{email.key}.eml"
        assert path in report.eml_paths
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert str(msg["Subject"]) == email.subject
        assert str(msg["Message-ID"]) == f"<{email.key}@nordwerk.example>"
        assert [a.addr_spec for a in msg["To"].addresses] == list(email.recipients)
    state = rows(engine)
    assert all(
        row["status"] == "pending" and row["mode"] == "preview" and row["attempts"] == 0 for row in state.values()
    )
    # previewing again rewrites the same files, still sends nothing
    assert deliver(engine, preview_settings, as_of=AS_OF).previewed == 2

    report = deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT)
    assert report.sent == 2 and len(server.received) == 2


def test_deliver_is_scoped_to_the_as_of(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    enqueue_run(engine, rendered("C001", as_of=date(2026, 10, 30)), as_of=date(2026, 10, 30))
    enqueue_run(engine, rendered("C002"))
    assert deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT).sent == 1
    assert [r.rcpt_tos for r in server.received] == [["pagos@penalver.es"]]
    assert rows(engine)["C001"]["status"] == "pending"


def test_crlf_in_an_address_or_a_name_never_becomes_a_header(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    customers = {
        **CUSTOMERS,
        "C001": {**CUSTOMERS["C001"], "email": "buchhaltung@mueller-soehne.de\r\nBcc: victim@evil.example"},
        "C002": {**CUSTOMERS["C002"], "name": "Café Peñalver S.L.\r\nBcc: victim@evil.example\r\nX-Injected: yes"},
    }
    added = enqueue_run(engine, rendered("C001", "C002", "C003", customers=customers))
    assert (added.inserted, added.rejected) == (3, 2)
    report = deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT)
    assert report.sent == 1
    assert [r.rcpt_tos for r in server.received] == [["ap@acme-supply.com", "controller@acme-supply.com"]]
    for received in server.received:
        header_block = received.content.split(b"\r\n\r\n", 1)[0]
        assert not [line for line in header_block.split(b"\r\n") if line.lower().startswith((b"bcc:", b"x-injected:"))]
        assert b"victim@evil.example" not in received.content
    state = rows(engine)
    for cid in ("C001", "C002"):
        assert state[cid]["status"] == "failed" and "line break or control character" in state[cid]["error"]
        assert state[cid]["mime_zlib"] is None and state[cid]["attempts"] == 0
        assert "\r" not in state[cid]["recipients"] and "\n" not in state[cid]["recipients"]
    assert "\\r\\nBcc: victim@evil.example" in state["C001"]["recipients"]  # visible for the audit


def test_the_password_never_appears_in_the_outbox_logs_or_files(
    workdir, engine, smtp_server, caplog, monkeypatch
) -> None:
    # yagmail must never fall back to the keyring or a prompt
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda *a, **k: pytest.fail("prompted for a password"))
    caplog.set_level(logging.DEBUG)
    good = smtp_server(password=CANARY)
    emails = rendered("C001", "C002")
    enqueue_run(engine, emails)
    settings = settings_for(workdir, good, smtp_user="mailer", smtp_password=CANARY)
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 2
    assert good.logins and all(login == (b"mailer", CANARY.encode()) for login in good.logins)

    # a server that echoes the credential in its refusal: the error is scrubbed
    enqueue_run(engine, rendered("C003"), run_id="run-2")
    echo = smtp_server(password="something-else", echo_password=True)
    report = deliver(
        engine, settings_for(workdir, echo, smtp_user="mailer", smtp_password=CANARY), as_of=AS_OF, **NO_WAIT
    )
    assert report.aborted and "refused the login" in report.aborted and "***" in report.aborted
    assert report.not_attempted == 1 and rows(engine)["C003"]["status"] == "pending"

    # and a preview with the password configured
    preview = deliver(engine, settings_for(workdir, smtp_password=CANARY, mail_mode="preview"), as_of=AS_OF)
    assert preview.previewed == 1

    forms = [
        CANARY,
        base64.b64encode(CANARY.encode()).decode(),
        base64.b64encode(f"\0mailer\0{CANARY}".encode()).decode(),
    ]
    table = read_table(engine, "email_outbox").drop(columns=["mime_zlib"]).astype(str).to_csv()
    bodies = b"".join(v or b"" for v in read_table(engine, "email_outbox")["mime_zlib"])
    files = b"".join(p.read_bytes() for p in (workdir / "outbox").rglob("*.eml"))
    # our logs and yagmail's; the test server's own protocol trace (mail.log) naturally sees AUTH
    logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "receivables.outbox" in {r.name for r in caplog.records}
    texts = {
        "table": table,
        "logs": logs,
        "report": report.summary() + str(report),
        "settings": repr(settings) + str(settings),
    }
    for form in forms:
        for where, text in texts.items():
            assert form not in text, where
        assert form.encode() not in bodies and form.encode() not in files


def test_a_user_without_a_password_is_a_configuration_error_not_a_prompt(
    workdir, engine, smtp_server, monkeypatch
) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda *a, **k: pytest.fail("prompted for a password"))
    server = smtp_server(password=CANARY)
    enqueue_run(engine, rendered("C001"))
    with pytest.raises(ConfigError, match="no password"):
        deliver(engine, settings_for(workdir, server, smtp_user="mailer"), **NO_WAIT)
    assert server.logins == [] and rows(engine)["C001"]["status"] == "pending"


def test_a_password_block_is_read_by_the_flow_side_only(workdir) -> None:
    settings = settings_for(workdir, smtp_password_block="smtp-password")
    with pytest.raises(ConfigError, match="only a Prefect flow run can read"):
        outbox.smtp_password(settings)


@pytest.mark.prefect
def test_password_from_a_prefect_secret_block(workdir, prefect_server) -> None:
    """A real Secret block on the session's Prefect server fills in the password; a missing
    block is one readable paragraph that names no secret."""
    from prefect.blocks.system import Secret

    from tasks.secrets import with_smtp_password

    Secret(value=CANARY).save("smtp-password-test", overwrite=True)
    settings = with_smtp_password(settings_for(workdir, smtp_password_block="smtp-password-test"))
    assert outbox.smtp_password(settings) == CANARY and CANARY not in repr(settings)
    with pytest.raises(ConfigError) as err:
        with_smtp_password(settings_for(workdir, smtp_password_block="no-such-block"))
    assert "'no-such-block'" in str(err.value) and CANARY not in str(err.value) and err.value.__cause__ is None


def test_the_library_does_not_import_prefect() -> None:
    code = "import sys, receivables.outbox, receivables.reminders; print('prefect' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_temporary_4xx_is_retried_with_backoff(workdir, engine, smtp_server) -> None:
    server = smtp_server(BusyThenOk(busy=1))
    enqueue_run(engine, rendered("C001"))
    waits: list[float] = []
    report = deliver(engine, settings_for(workdir, server), backoff=0.01, sleep=waits.append)
    assert (report.sent, report.retried, report.failed) == (1, 1, 0)
    assert waits == [0.01]
    assert len(server.received) == 1
    row = rows(engine)["C001"]
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 2, None)


def test_a_persistent_4xx_fails_after_max_attempts(workdir, engine, smtp_server) -> None:
    server = smtp_server(BusyThenOk(busy=99))
    enqueue_run(engine, rendered("C001", "C002"))
    waits: list[float] = []
    report = deliver(engine, settings_for(workdir, server), max_attempts=3, backoff=0.01, sleep=waits.append)
    assert (report.sent, report.failed, report.retried) == (0, 2, 4)
    assert waits == [0.01, 0.02] * 2  # exponential backoff per email
    assert server.received == []
    for row in rows(engine).values():
        assert row["status"] == "failed" and row["attempts"] == 3
        assert row["error"].startswith("gave up after 3 attempt(s): 450 4.2.1 Mailbox busy")
    assert {p.customer_id for p in report.problems} == {"C001", "C002"}
    assert "450 4.2.1" in report.summary()


def test_a_refused_recipient_fails_that_email_and_the_run_goes_on(workdir, engine, smtp_server) -> None:
    server = smtp_server(RefuseUnknown())
    customers = {
        **CUSTOMERS,
        "C001": {**CUSTOMERS["C001"], "email": "unknown@mueller-soehne.de"},
        "C003": {**CUSTOMERS["C003"], "email": "ap@acme-supply.com; unknown.controller@acme-supply.com"},
    }
    enqueue_run(engine, rendered("C001", "C002", "C003", customers=customers))
    report = deliver(engine, settings_for(workdir, server), **NO_WAIT)
    assert (report.sent, report.failed, report.retried) == (2, 1, 0)
    state = rows(engine)
    assert state["C001"]["status"] == "failed" and state["C001"]["attempts"] == 1
    assert "unknown@mueller-soehne.de: 550 5.1.1" in state["C001"]["error"]
    # one of two addresses refused: delivered to the other, the refusal recorded and reported
    assert state["C003"]["status"] == "sent" and "unknown.controller@acme-supply.com: 550" in state["C003"]["error"]
    assert {(p.customer_id, p.status) for p in report.problems} == {("C001", "failed"), ("C003", "sent")}
    assert sorted(r.rcpt_tos[0] for r in server.received) == ["ap@acme-supply.com", "pagos@penalver.es"]


def test_a_refused_sender_stops_delivery_and_fails_no_email(workdir, engine, smtp_server) -> None:
    server = smtp_server(RefuseSender())
    enqueue_run(engine, rendered("C001", "C002"))
    report = deliver(engine, settings_for(workdir, server), **NO_WAIT)
    assert report.aborted and "refused the sender ar@nordwerk.example (553 5.7.1" in report.aborted
    assert (report.failed, report.not_attempted) == (0, 2)
    assert all(row["status"] == "pending" for row in rows(engine).values())


def test_a_dropped_connection_is_retried_on_a_new_connection(workdir, engine, smtp_server) -> None:
    server = smtp_server(DropFirst())
    enqueue_run(engine, rendered("C001", "C002"))
    report = deliver(engine, settings_for(workdir, server), **NO_WAIT)
    assert (report.sent, report.retried, report.failed) == (2, 1, 0)
    assert len(server.received) == 2 and server.handler.data_calls == 3
    attempts = sorted(row["attempts"] for row in rows(engine).values())
    assert attempts == [1, 2]


def test_an_unreachable_server_leaves_every_email_pending(workdir, engine) -> None:
    enqueue_run(engine, rendered("C001", "C002"))
    settings = settings_for(workdir, smtp_host="127.0.0.1", smtp_port=free_port(), mail_mode="send")
    waits: list[float] = []
    report = deliver(engine, settings, max_attempts=2, backoff=0.01, sleep=waits.append)
    assert report.aborted and "cannot be reached" in report.aborted
    assert report.not_attempted == 2 and report.failed == 0 and waits == [0.01]
    assert all(row["status"] == "pending" and row["attempts"] == 0 for row in rows(engine).values())
    assert "stay pending" in report.summary()


@pytest.mark.postgres
def test_exactly_once_on_postgresql(workdir, pg_url, smtp_server, monkeypatch) -> None:
    engine = connect(pg_url)
    migrate(engine)
    server = smtp_server()
    settings = settings_for(workdir, server, db_url=pg_url)
    assert enqueue_run(engine, rendered("C001", "C002")).inserted == 2
    monkeypatch.setattr(outbox, "_mark_sent", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    monkeypatch.undo()
    report = deliver(engine, settings, as_of=AS_OF, **NO_WAIT)
    assert (report.held, report.sent) == (1, 1)
    assert enqueue_run(engine, rendered("C001", "C002"), run_id="run-2").already_present == 2
    assert deliver(engine, settings, as_of=AS_OF, **NO_WAIT).sent == 0
    assert len(server.received) == 2
    assert sorted(row["status"] for row in rows(engine).values()) == ["held", "sent"]
    engine.dispose()


@pytest.mark.parametrize(
    ("status", "withdrawn_by", "decided"),
    [
        ("pending", None, False),  # tonight's rendering still replaces it
        ("cancelled", "run-2", False),  # withdrawn by a rerun: a later proposal restores it
        ("cancelled", None, True),  # cancelled by an operator: stays cancelled
        ("sent", None, True),
        ("sending", None, True),
        ("held", None, True),
        ("failed", None, True),
    ],
)
def test_decided_keys_are_those_a_proposal_leaves_as_they_are(engine, status, withdrawn_by, decided) -> None:
    """What a night need not render again (a dispute's tier proposed every night): the keys a
    proposal cannot change.  The outbox then proposes it nothing new on a rerun either."""
    email = rendered("C001")[0]
    enqueue_run(engine, [email])
    with engine.begin() as conn:
        conn.execute(email_outbox.update().values(status=status, withdrawn_by=withdrawn_by))
        assert outbox.decided_keys(conn, [email.key, "no-such-key"]) == ({email.key} if decided else set())
    if decided:
        before = rows(engine)["C001"]
        enqueue_run(engine, [email], run_id="run-3")
        after = rows(engine)["C001"]
        assert (after["status"], after["run_id"], after["mime_zlib"]) == (status, before["run_id"], before["mime_zlib"])
