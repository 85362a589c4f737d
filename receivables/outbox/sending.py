"""Sending one email (modes ``send`` and ``redirect``): claim its row, talk to SMTP, record the
outcome, retrying what the server says may work later.

Delivery protocol per email: (1) in its own committed transaction, move the row
``pending -> sending`` and count the attempt; only the process whose update changed the row
may send it.  (2) Talk to SMTP.  (3) Commit ``sent`` with the Message-ID and time.  A crash
between (2) and (3) leaves ``sending``, which the next ``deliver`` holds (see ``held``).

SMTP outcomes: a refused recipient list or a permanent 5xx reply fails the email with the
server's answer; a temporary 4xx reply or a dropped connection is retried with exponential
backoff up to ``max_attempts`` and then fails.  A refused sender, like an unreachable server
or a refused login (``smtp``), stops the delivery and leaves the remaining emails ``pending``.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from sqlalchemy.engine import Engine

# ``_claim`` and ``_mark_sent`` are looked up on the package at call time, not imported: the
# crash tests replace ``receivables.outbox._claim`` / ``._mark_sent`` to kill a delivery
# between its steps, and that replacement must be the function this module calls.
from receivables import outbox
from receivables.outbox.outgoing import _outgoing
from receivables.outbox.report import DeliveryReport, EmailProblem, _finish
from receivables.outbox.smtp import SmtpConnection, _refusals, _ServerUnavailable, _Session, _smtp_error
from receivables.outbox.store import FAILED, SENT, _release_for_retry, _stored_message
from receivables.settings import Settings

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")


def _deliver_one(
    engine: Engine, settings: Settings, session: _Session, row: Any, mode: str, report: DeliveryReport
) -> None:
    key = row.idempotency_key
    recipients = [a.strip() for a in row.recipients.split(";") if a.strip()]
    try:
        payload, envelope_from, message_id = _outgoing(_stored_message(engine, key), row, settings, mode)
    except ValueError as exc:
        # stored header data no longer passes the checks: never send what would be unsafe
        _finish(engine, key, FAILED, f"The stored message cannot be sent safely: {exc}", report, row, recipients)
        return
    rcpts = [settings.redirect_to] if mode == "redirect" else recipients
    for attempt in range(1, session.max_attempts + 1):
        smtp = session.connection()  # may raise _ServerUnavailable: the row stays pending
        if not outbox._claim(engine, key, mode, message_id, rcpts):
            log.info("email %s was taken by another delivery; skipped", key[:12])
            return
        refused, error, temporary = _send(engine, session, smtp, key, envelope_from, rcpts, payload)
        if error is None:
            # outside the try around sendmail: a failure to record success must leave the row
            # `sending` (held on the next run), never lead to a second send
            outbox._mark_sent(engine, key, mode, refused, session.scrub)
            _count_sent(report, row, mode, refused, session)
            log.info("email %s to %s: %s (%s)", key[:12], ", ".join(rcpts), mode, message_id)
            return
        error = session.scrub(error)
        if temporary and attempt < session.max_attempts:
            _release_for_retry(engine, key, error)
            report.retried += 1
            log.warning(
                "email %s: temporary failure (%s); retry %d of %d", key[:12], error, attempt, session.max_attempts - 1
            )
            session.sleep(session.backoff * 2 ** (attempt - 1))
            continue
        if temporary:
            error = f"gave up after {attempt} attempt(s): {error}"
        _finish(engine, key, FAILED, error, report, row, recipients)
        return


def _send(
    engine: Engine,
    session: _Session,
    smtp: SmtpConnection,
    key: str,
    envelope_from: str,
    rcpts: list[str],
    payload: bytes,
) -> tuple[Any, str | None, bool]:
    """Hand the message to the server.  Accepted: (the refused recipients, None, False);
    not accepted: (None, the server's answer, whether a retry may succeed)."""
    try:
        return smtp.sendmail(envelope_from, rcpts, payload), None, False
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = "all recipients refused: " + _refusals(exc.recipients)
        return None, error, all(400 <= code < 500 for code in codes)
    except smtplib.SMTPSenderRefused as exc:
        # the server will not take mail from this sender (not allowed, login required):
        # a configuration problem that would fail every email alike, so stop and keep them
        _release_for_retry(engine, key, session.scrub(_smtp_error(exc)))
        raise _ServerUnavailable(
            f"the SMTP server refused the sender {envelope_from} ({session.scrub(_smtp_error(exc))})."
        ) from None
    except smtplib.SMTPResponseException as exc:  # DATA refused, 421, ...
        error = _smtp_error(exc)
        temporary = 400 <= exc.smtp_code < 500
        if exc.smtp_code == 421:
            session.drop()
        return None, error, temporary
    except smtplib.SMTPServerDisconnected as exc:
        # a dropped connection before the server's final reply: SMTP practice is to retry
        # (a duplicate is possible only if the drop came after the server queued it, and
        # the stable Message-ID lets the receiving side recognise it)
        error = f"connection lost: {_smtp_error(exc)}"
        session.drop()
        return None, error, True
    except smtplib.SMTPException as exc:  # e.g. the server lacks SMTPUTF8: retrying won't help
        return None, _smtp_error(exc), False
    except OSError as exc:  # reset, timeout, broken pipe (SMTPException is an OSError too)
        error = f"connection lost: {_smtp_error(exc)}"
        session.drop()
        return None, error, True


def _count_sent(report: DeliveryReport, row: Any, mode: str, refused: Any, session: _Session) -> None:
    if mode == "redirect":
        report.redirected += 1
    else:
        report.sent += 1
    if refused:
        partial = "refused: " + _refusals(refused)
        report.problems.append(
            EmailProblem(row.idempotency_key, row.customer_id, row.recipients, SENT, session.scrub(partial))
        )
