"""A corrected rerun of the same date against the outbox: emails it no longer proposes are
withdrawn (``cancelled`` with the reason) when they were never sent, a changed notice level
never becomes a second letter, and nothing that went out (or may have) is touched.  Also the
operator's side: the held-email message names the CLI commands, and a cancelled email is
never delivered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from receivables import outbox
from receivables.outbox import deliver, enqueue, hold_interrupted
from receivables.outbox.review import OutboxRequestError, cancel, find_email, mark_sent, release
from receivables.warehouse import connect, migrate
from receivables.warehouse.tables import email_outbox
from tests.receivables.test_outbox import AS_OF, NO_WAIT, rendered, settings_for

LEVEL_2 = {"level": 2, "template": "reminder_2"}


@pytest.fixture
def engine(workdir: Path):
    engine = connect(f"sqlite:///{workdir / 'outbox.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def run(engine, emails, run_id: str, as_of: date = AS_OF):
    """One run's publish: every email it proposes for the date, in one transaction."""
    with engine.begin() as conn:
        return enqueue(conn, as_of, run_id, emails)


def outbox_rows(engine) -> list[dict]:
    columns = [c for c in email_outbox.c if c.name != "mime_zlib"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*columns).order_by(email_outbox.c.customer_id, email_outbox.c.level))
        return [r._asdict() for r in rows]


def by_customer(engine) -> dict[str, list[tuple[int, str]]]:
    """customer -> [(level, status), ...] for every row of the outbox."""
    result: dict[str, list[tuple[int, str]]] = {}
    for row in outbox_rows(engine):
        result.setdefault(row["customer_id"], []).append((row["level"], row["status"]))
    return result


def claim(engine, email) -> None:
    """What a delivery does before talking to SMTP: the row is now ``sending``."""
    assert outbox._claim(engine, email.key, "send", f"<{email.key}@nordwerk.example>", ["x@example.com"])


def send(engine, email) -> None:
    claim(engine, email)
    outbox._mark_sent(engine, email.key, "send", {}, str)


def hold(engine, email) -> None:
    claim(engine, email)
    assert hold_interrupted(engine) == 1


# --------------------------------------------------------------------------- withdrawal


def test_a_corrected_rerun_withdraws_what_it_no_longer_proposes_and_sends_the_rest_once(
    workdir, engine, smtp_server
) -> None:
    server = smtp_server()
    first = run(engine, rendered("C001", "C002", "C003"), "run-1")
    assert (first.inserted, first.withdrawn) == (3, 0)

    # the corrected extracts show C002 paid: the rerun proposes C001 and C003 only
    again = run(engine, rendered("C001", "C003"), "run-2")
    assert (again.inserted, again.already_present, again.withdrawn, again.not_queued) == (0, 2, 1, 0)
    c002 = next(r for r in outbox_rows(engine) if r["customer_id"] == "C002")
    assert c002["status"] == "cancelled" and c002["withdrawn_by"] == "run-2" and c002["cancelled_at"]
    assert c002["cancel_reason"] == "withdrawn by the rerun of run-2: no longer proposed for this date"

    report = deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT)
    assert report.sent == 2 and len(server.received) == 2
    assert "pagos@penalver.es" not in {rcpt for r in server.received for rcpt in r.rcpt_tos}
    # the same corrected rerun once more: nothing new, nothing withdrawn, nothing sent
    assert run(engine, rendered("C001", "C003"), "run-3").describe() == (
        "0 new, 0 restored, 2 already present, 0 rejected, 0 withdrawn, 0 not queued"
    )
    assert deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT).sent == 0


def test_withdrawal_leaves_what_went_out_failed_rows_and_other_dates_alone(engine) -> None:
    day_before = date(2026, 10, 30)
    run(engine, rendered("C001", as_of=day_before), "run-0", as_of=day_before)
    sent, held, sending = rendered("C001", "C002", "C003")
    failed, pending = rendered("C001", "C002", **LEVEL_2)
    run(engine, [sent, held, sending, failed, pending], "run-1")
    send(engine, sent)
    hold(engine, held)
    claim(engine, sending)
    with engine.begin() as conn:
        conn.execute(email_outbox.update().where(email_outbox.c.idempotency_key == failed.key).values(status="failed"))

    # a rerun that proposes nothing at all for the date (every customer paid)
    result = run(engine, [], "run-2")
    assert (result.withdrawn, result.inserted) == (1, 0)
    statuses = {r["idempotency_key"]: (r["as_of"], r["status"]) for r in outbox_rows(engine)}
    assert [s for (d, s) in statuses.values() if d == day_before] == ["pending"]
    assert statuses[sent.key][1] == "sent" and statuses[held.key][1] == "held"
    assert statuses[sending.key][1] == "sending" and statuses[failed.key][1] == "failed"
    assert statuses[pending.key][1] == "cancelled"


# --------------------------------------------------------------------------- a changed level


def test_a_changed_level_replaces_the_pending_letter_and_only_one_goes_out(workdir, engine, smtp_server) -> None:
    server = smtp_server()
    (level_1,) = rendered("C001")
    run(engine, [level_1], "run-1")
    (level_2,) = rendered("C001", **LEVEL_2)
    assert level_2.key != level_1.key  # the level is part of the key: a different letter

    result = run(engine, [level_2], "run-2")
    assert (result.inserted, result.withdrawn, result.not_queued) == (1, 1, 0)
    assert by_customer(engine) == {"C001": [(1, "cancelled"), (2, "pending")]}
    assert find_email(engine, level_1.key).cancel_reason == "replaced by the rerun of run-2: level 2"

    assert deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT).sent == 1
    assert len(server.received) == 1
    assert server.received[0].message["Message-ID"] == f"<{level_2.key}@nordwerk.example>"


@pytest.mark.parametrize("earlier", ["sent", "held", "sending"])
def test_no_second_letter_when_the_earlier_level_went_out_or_may_have(workdir, engine, earlier) -> None:
    (level_1,) = rendered("C001")
    run(engine, [level_1], "run-1")
    {"sent": send, "held": hold, "sending": claim}[earlier](engine, level_1)

    result = run(engine, rendered("C001", **LEVEL_2), "run-2")
    assert (result.inserted, result.not_queued, result.withdrawn) == (0, 1, 0)
    assert "1 not queued" in result.describe()
    assert by_customer(engine) == {"C001": [(1, earlier)]}
    preview = deliver(engine, settings_for(workdir), mode="preview", as_of=AS_OF)
    assert preview.previewed == 0


def test_a_failed_earlier_level_does_not_block_the_corrected_letter(engine) -> None:
    (level_1,) = rendered("C001")
    run(engine, [level_1], "run-1")
    with engine.begin() as conn:
        conn.execute(email_outbox.update().values(status="failed", error="550 no such user"))
    result = run(engine, rendered("C001", **LEVEL_2), "run-2")
    assert (result.inserted, result.not_queued, result.withdrawn) == (1, 0, 0)
    assert by_customer(engine) == {"C001": [(1, "failed"), (2, "pending")]}


def test_a_letter_withdrawn_by_one_rerun_is_restored_by_the_next_but_an_operators_cancel_stays(engine) -> None:
    (level_1,) = rendered("C001")
    (level_2,) = rendered("C001", **LEVEL_2)
    run(engine, [level_1] + rendered("C002"), "run-1")
    run(engine, [level_2] + rendered("C002"), "run-2")
    assert cancel(engine, rendered("C002")[0].key, "customer asked to stop letters")[1]

    # the correction is undone: run-3 proposes what run-1 did
    result = run(engine, [level_1] + rendered("C002"), "run-3")
    assert (result.restored, result.withdrawn, result.already_present, result.inserted) == (1, 1, 1, 0)
    assert by_customer(engine) == {"C001": [(1, "pending"), (2, "cancelled")], "C002": [(1, "cancelled")]}
    restored = next(r for r in outbox_rows(engine) if r["idempotency_key"] == level_1.key)
    assert restored["run_id"] == "run-3" and restored["withdrawn_by"] is None and restored["cancel_reason"] is None
    assert find_email(engine, level_2.key).cancel_reason == "replaced by the rerun of run-3: level 1"
    assert find_email(engine, rendered("C002")[0].key).cancel_reason == "customer asked to stop letters"


def test_a_corrected_amount_at_the_same_level_is_what_the_pending_letter_says(engine, workdir, smtp_server) -> None:
    """Same customer, same level, corrected data: the key stays, and a letter that was never
    tried takes the rerun's rendering, so the customer reads the corrected amount, once."""
    import email
    from email import policy

    (wrong,) = rendered("C001", overdue=123456)
    (right,) = rendered("C001", overdue=98765)
    assert wrong.key == right.key
    run(engine, [wrong], "run-1")
    result = run(engine, [right], "run-2")
    assert (result.already_present, result.refreshed, result.inserted) == (1, 1, 0)
    server = smtp_server()
    report = deliver(engine, settings_for(workdir, server), as_of=AS_OF, **NO_WAIT)
    assert report.sent == 1 and len(server.received) == 1
    body = email.message_from_bytes(server.received[0].content, policy=policy.default)
    text = body.get_body(("plain",)).get_content()
    assert "987,65" in text and "1.234,56" not in text  # C001 reads German formats
    # once sent, a later rerun changes nothing about it
    assert run(engine, [wrong], "run-3").refreshed == 0


@pytest.mark.postgres
def test_withdrawal_and_a_changed_level_on_postgresql(pg_url) -> None:
    engine = connect(pg_url)
    migrate(engine)
    (level_1,) = rendered("C001")
    run(engine, [level_1] + rendered("C002", "C003"), "run-1")
    send(engine, rendered("C003")[0])
    result = run(engine, rendered("C001", **LEVEL_2) + rendered("C003", **LEVEL_2), "run-2")
    assert (result.inserted, result.withdrawn, result.not_queued) == (1, 2, 1)
    assert by_customer(engine) == {
        "C001": [(1, "cancelled"), (2, "pending")],
        "C002": [(1, "cancelled")],
        "C003": [(1, "sent")],
    }
    engine.dispose()


# --------------------------------------------------------------------------- the operator's side


def test_the_held_message_names_the_commands_that_settle_it(workdir, engine) -> None:
    emails = rendered("C001", "C002")
    run(engine, emails, "run-1")
    hold(engine, emails[0])
    held = find_email(engine, emails[0].key)
    assert f"`receivables outbox release {emails[0].key}`" in held.error
    assert f"`receivables outbox mark-sent {emails[0].key}`" in held.error
    assert "release_held()" not in held.error
    report = deliver(engine, settings_for(workdir), mode="preview", as_of=AS_OF)
    assert report.held_outstanding == 1
    assert "`receivables outbox list --status held`" in report.summary()


def test_release_mark_sent_and_cancel_follow_the_status_rules(workdir, engine) -> None:
    emails = rendered("C001", "C002", "C003")
    run(engine, emails, "run-1")
    hold(engine, emails[0])
    send(engine, emails[1])

    with pytest.raises(OutboxRequestError, match="is sent, not held") as refused:
        release(engine, emails[1].key[:10])
    assert refused.value.exit_code == 2
    assert release(engine, emails[0].key[:8]).status == "held"
    assert find_email(engine, emails[0].key).status == "pending"
    with pytest.raises(OutboxRequestError, match="a sent email cannot be cancelled"):
        cancel(engine, emails[1].key)
    with pytest.raises(OutboxRequestError, match="No email in the outbox"):
        mark_sent(engine, "0" * 64)

    # a cancelled email is never delivered, whatever the mode
    email, changed = cancel(engine, emails[2].key)
    assert changed and email.status == "pending"
    assert find_email(engine, emails[2].key).cancel_reason == "cancelled by an operator"
    assert deliver(engine, settings_for(workdir), mode="preview", as_of=AS_OF).previewed == 1  # C001 only
    assert cancel(engine, emails[2].key) == (find_email(engine, emails[2].key), False)
