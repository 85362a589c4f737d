"""``receivables outbox list|release|mark-sent|cancel`` as an operator uses them, in-process
against a SQLite warehouse prepared with the library: what the table shows, the counts the
messages give, the exit codes, and that no message body is ever printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from receivables import outbox
from receivables.outbox import deliver, enqueue, hold_interrupted
from receivables.outbox.review import find_email
from receivables.warehouse import connect, migrate
from tests.receivables.test_outbox import AS_OF, rendered, settings_for


@pytest.fixture
def warehouse(workdir: Path):
    """C001 held (a send was interrupted), C002 sent, C003 pending, all for AS_OF; yields the
    URL, the engine and the emails."""
    url = f"sqlite:///{workdir / 'outbox.db'}"
    engine = connect(url)
    migrate(engine)
    emails = rendered("C001", "C002", "C003")
    with engine.begin() as conn:
        enqueue(conn, AS_OF, "run-1", emails)
    for email in emails[:2]:
        assert outbox._claim(engine, email.key, "send", f"<{email.key}@nordwerk.example>", ["x@example.com"])
    outbox._mark_sent(engine, emails[1].key, "send", {}, str)
    assert hold_interrupted(engine) == 1
    yield url, engine, emails
    engine.dispose()


def status_of(engine, email) -> str:
    return find_email(engine, email.key).status


def one_paragraph(result) -> bool:
    return "Traceback" not in result.output and result.output.strip().count("\n\n") == 0


def test_list_shows_each_email_with_its_status_and_the_counts(cli, warehouse) -> None:
    url, _, emails = warehouse
    result = cli("outbox", "list", "--db", url)
    assert result.exit_code == 0, result.output
    table_row = {}  # the first line that starts with a key is its table row (errors follow the table)
    for line in result.output.splitlines():
        if line.strip():
            table_row.setdefault(line.split()[0], line)
    held, sent, pending = (table_row[e.key[:12]] for e in emails)
    assert held.split()[1:4] == ["2026-10-31", "C001", "held"]
    assert sent.split()[1:5] == ["2026-10-31", "C002", "sent", "pagos@penalver.es"] and sent.split()[-1] == "1"
    assert pending.split()[3] == "pending" and pending.split()[-1] == "0"
    assert "3 email(s): 1 held, 1 pending, 1 sent." in result.output
    # the held email's state beneath the table, and what to do about it
    assert f"{emails[0].key[:12]} (C001, held): Interrupted while sending" in result.output
    assert "`receivables outbox release KEY`" in result.output
    assert "`receivables outbox mark-sent KEY`" in result.output
    # never a message body: no MIME, no subject, no amount
    assert "Content-Type" not in result.output and emails[0].subject not in result.output


def test_list_filters_by_status_and_date_and_limits(cli, warehouse) -> None:
    url, _, emails = warehouse
    held = cli("outbox", "list", "--status", "held", "--as-of", AS_OF.isoformat(), "--db", url)
    assert held.exit_code == 0, held.output
    assert emails[0].key[:12] in held.output and emails[1].key[:12] not in held.output
    assert "1 email(s): 1 held." in held.output

    other_day = cli("outbox", "list", "--as-of", "2026-10-30", "--db", url)
    assert other_day.exit_code == 0 and "No email in the outbox for 2026-10-30." in other_day.output

    limited = cli("outbox", "list", "--limit", "2", "--db", url)
    assert "2 of 3 shown (--limit): 1 held, 1 pending, 1 sent." in limited.output


def test_list_wide_shows_recipients_updated_and_the_whole_reason(cli, warehouse, monkeypatch) -> None:
    url, _, emails = warehouse
    monkeypatch.setenv("COLUMNS", "400")
    result = cli("outbox", "list", "--wide", "--db", url)
    assert result.exit_code == 0, result.output
    assert "last error / reason" in result.output and "updated (UTC)" in result.output
    assert f"`receivables outbox release {emails[0].key}`" in result.output


def test_release_one_held_email_by_its_listed_key(cli, warehouse) -> None:
    url, engine, emails = warehouse
    result = cli("outbox", "release", emails[0].key[:12], "--db", url)
    assert result.exit_code == 0, result.output
    assert f"Released the email {emails[0].key[:12]} (customer C001, 2026-10-31)" in result.output
    assert status_of(engine, emails[0]) == "pending"
    assert "No email in the outbox with status held." in cli("outbox", "list", "--status", "held", "--db", url).output


def test_release_a_whole_date_says_how_many(cli, warehouse) -> None:
    url, engine, emails = warehouse
    result = cli("outbox", "release", "--as-of", AS_OF.isoformat(), "--db", url)
    assert result.exit_code == 0, result.output
    assert "Released 1 held email(s) of 2026-10-31" in result.output
    assert status_of(engine, emails[0]) == "pending"
    again = cli("outbox", "release", "--as-of", AS_OF.isoformat(), "--db", url)
    assert again.exit_code == 0 and "No held email for 2026-10-31: nothing released." in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("outbox", "release", "0123456789ab"), "No email in the outbox has the key 0123456789ab"),
        (("outbox", "release", "C001"), "'C001' is not an outbox key"),
        (("outbox", "release"), "Give either the KEY of one held email or --as-of DATE"),
        (("outbox", "release", "--as-of", "31.10.2026"), "--as-of '31.10.2026' is not a date"),
        (("outbox", "mark-sent", "ffffffffffff"), "No email in the outbox has the key"),
        (("outbox", "list", "--status", "delivered"), "--status 'delivered' is not an outbox status"),
    ],
)
def test_bad_requests_exit_2_with_one_paragraph(cli, warehouse, args, message) -> None:
    url, _, _ = warehouse
    result = cli(*args, "--db", url)
    assert result.exit_code == 2, result.output
    assert message in result.output and one_paragraph(result)


def test_only_a_held_email_is_released_or_marked_sent(cli, warehouse) -> None:
    url, engine, emails = warehouse
    pending = cli("outbox", "release", emails[2].key, "--db", url)
    assert pending.exit_code == 2 and "is pending, not held: only a held email can be released" in pending.output
    sent = cli("outbox", "mark-sent", emails[1].key[:10], "--db", url)
    assert sent.exit_code == 2 and "is sent, not held" in sent.output and one_paragraph(sent)
    assert [status_of(engine, e) for e in emails] == ["held", "sent", "pending"]


def test_mark_sent_records_a_held_email_that_went_out_and_it_is_never_sent(cli, warehouse, workdir) -> None:
    url, engine, emails = warehouse
    result = cli("outbox", "mark-sent", emails[0].key[:12], "--db", url)
    assert result.exit_code == 0, result.output
    assert "Recorded the email" in result.output and "as sent: it is never sent again." in result.output
    assert status_of(engine, emails[0]) == "sent"
    report = deliver(engine, settings_for(workdir), mode="preview", as_of=AS_OF)
    assert report.previewed == 1 and report.held_outstanding == 0  # only C003


def test_mark_sent_of_a_held_test_copy_keeps_the_customers_email_pending(cli, warehouse) -> None:
    url, engine, emails = warehouse
    assert outbox._claim(engine, emails[2].key, "redirect", "<t@nordwerk.example>", ["test@example.com"])
    assert hold_interrupted(engine) == 1
    result = cli("outbox", "mark-sent", emails[2].key[:12], "--db", url)
    assert result.exit_code == 0, result.output
    assert "Recorded the test copy" in result.output and "the customer's own email is still pending" in result.output
    assert status_of(engine, emails[2]) == "pending"


def test_cancel_keeps_the_reason_refuses_a_sent_email_and_nothing_cancelled_goes_out(cli, warehouse, workdir) -> None:
    url, engine, emails = warehouse
    result = cli("outbox", "cancel", emails[2].key[:12], "--reason", "customer paid by phone", "--db", url)
    assert result.exit_code == 0, result.output
    assert "Cancelled the email" in result.output and "which was pending: it is never sent." in result.output
    listed = cli("outbox", "list", "--status", "cancelled", "--db", url)
    assert f"{emails[2].key[:12]} (C003, cancelled): customer paid by phone" in listed.output

    held = cli("outbox", "cancel", emails[0].key, "--db", url)
    assert held.exit_code == 0 and "which was held" in held.output
    assert find_email(engine, emails[0].key).cancel_reason == "cancelled by an operator"
    again = cli("outbox", "cancel", emails[0].key, "--db", url)
    assert again.exit_code == 0 and "was already cancelled (cancelled by an operator)" in again.output

    refused = cli("outbox", "cancel", emails[1].key, "--db", url)
    assert refused.exit_code == 2 and "a sent email cannot be cancelled" in refused.output
    assert one_paragraph(refused)
    assert deliver(engine, settings_for(workdir), mode="preview", as_of=AS_OF).previewed == 0


def test_a_corrected_rerun_shows_its_withdrawals_in_the_list(cli, warehouse) -> None:
    url, engine, emails = warehouse
    with engine.begin() as conn:  # the corrected rerun no longer proposes C003
        assert enqueue(conn, AS_OF, "run-2", emails[:2]).withdrawn == 1
    result = cli("outbox", "list", "--db", url)
    assert "3 email(s): 1 cancelled, 1 held, 1 sent." in result.output
    assert f"{emails[2].key[:12]} (C003, cancelled): withdrawn by the rerun of run-2" in result.output
