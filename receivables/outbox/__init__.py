"""The email outbox: every reminder is sent at most once per idempotency key, and a send that
may or may not have happened is held for a person instead of being repeated.

``enqueue`` stores the rendered emails of a run as ``pending`` rows in ``email_outbox``; a key
that is already there (any status) is left exactly as it is, so rerunning the same as_of
enqueues nothing new and therefore sends nothing new.  ``deliver`` then works through the
pending rows in one of three modes:

``preview``
    writes ``<outbox_dir>/<as_of>/<key>.eml`` and sends nothing.  The row stays ``pending``
    (with ``mode='preview'`` and the file's path): a preview is what finance reviews before
    the real send of that very as_of, so it must not count as sent.
``redirect``
    sends each email once to ``redirect_to`` with the subject marked
    ``[TEST to <original recipients>]``.  The customer has received nothing, so the row goes
    back to ``pending`` with ``redirected_at`` set; a later redirect run skips it and a later
    ``send`` still reaches the customer.
``send``
    sends to the customer.

Delivery protocol per email (send and redirect): (1) in its own committed transaction, move
the row ``pending -> sending`` and count the attempt; only the process whose update changed
the row may send it.  (2) Talk to SMTP.  (3) Commit ``sent`` with the Message-ID and time.
A crash between (2) and (3) leaves ``sending``; the next ``deliver`` turns every such row into
``held``: nobody knows whether the server accepted it, so it is never resent automatically.
An operator checks the mail server log for the row's Message-ID and calls ``release_held``
(resend) or ``mark_held_sent`` (it did go out).

SMTP outcomes: a refused recipient list or a permanent 5xx reply fails the email with the
server's answer; a temporary 4xx reply or a dropped connection is retried with exponential
backoff up to ``max_attempts`` and then fails.  A server that cannot be reached or refuses
the login stops the delivery and leaves the remaining emails ``pending``: that is nobody's
email's fault.  The SMTP password comes from the settings (``RECEIVABLES_SMTP_PASSWORD``) or a
Prefect Secret block, is always handed to yagmail explicitly (yagmail would otherwise look in
the keyring and then prompt, hanging a worker), and is scrubbed from every error text that is
logged, stored or reported.
"""

from __future__ import annotations

import base64
import email
import logging
import os
import smtplib
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from receivables.errors import ConfigError
from receivables.reminders import ComposedEmail, RenderedEmail, compose, make_message_id
from receivables.settings import Settings
from receivables.warehouse.tables import email_outbox

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, HELD = "pending", "sending", "sent", "failed", "held"
STATUSES = (PENDING, SENDING, SENT, FAILED, HELD)
MODES = ("preview", "redirect", "send")
#: the longest error text kept per email: enough for an SMTP reply and a recipient list
ERROR_LIMIT = 2000


class SmtpConnection(Protocol):
    """What ``deliver`` needs from an SMTP connection (``smtplib.SMTP`` has it)."""

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: bytes) -> dict: ...

    def close(self) -> None: ...


#: opens an authenticated connection: ``factory(settings, password)``
SmtpFactory = Callable[[Settings, "str | None"], SmtpConnection]


@dataclass
class Enqueued:
    """What ``enqueue`` did: new rows, keys already present (left untouched), rows rejected
    at once because a header value was unusable (stored as ``failed`` with the reason)."""

    inserted: int = 0
    already_present: int = 0
    rejected: int = 0


@dataclass
class EmailProblem:
    """One email that did not go out cleanly, as the run report lists it."""

    key: str
    customer_id: str
    recipients: str
    status: str
    error: str


@dataclass
class DeliveryReport:
    """The outcome of one ``deliver`` call, per email where something went wrong."""

    mode: str
    sent: int = 0
    redirected: int = 0
    previewed: int = 0
    failed: int = 0
    #: rows found ``sending`` (a crash mid-send) and held for review by this call
    held: int = 0
    #: temporary failures that were retried
    retried: int = 0
    #: pending rows left for later because delivery stopped (server unreachable, login refused)
    not_attempted: int = 0
    #: rows ``held`` in scope after this call, including older ones still awaiting review
    held_outstanding: int = 0
    #: emails that could not be built (no usable address): stored ``failed`` by ``enqueue``,
    #: never attempted, and counted with the failures wherever a person reads them
    not_built: int = 0
    #: why delivery stopped early, if it did
    aborted: str | None = None
    problems: list[EmailProblem] = field(default_factory=list)
    eml_paths: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.aborted and not self.failed and not self.held and not self.not_built

    @property
    def failed_total(self) -> int:
        """Failed deliveries and emails that could not be built."""
        return self.failed + self.not_built

    def summary(self) -> str:
        """One paragraph for the run log and the flow's artifact."""
        done = {
            "preview": f"{self.previewed} previewed",
            "redirect": f"{self.redirected} sent to the test address",
            "send": f"{self.sent} sent",
        }[self.mode]
        failed = f"{self.failed_total} failed"
        if self.not_built:
            failed += f" ({self.not_built} could not be built: no usable address)"
        parts = [f"Mail mode {self.mode}: {done}", failed, f"{self.held} newly held"]
        if self.retried:
            parts.append(f"{self.retried} retries")
        if self.held_outstanding:
            parts.append(f"{self.held_outstanding} held awaiting review")
        text = ", ".join(parts) + "."
        if self.aborted:
            text += f" Delivery stopped: {self.aborted} {self.not_attempted} email(s) stay pending."
        for p in self.problems[:10]:
            text += f" {p.customer_id} ({p.recipients}): {p.status}, {p.error}"
        if len(self.problems) > 10:
            text += f" ... and {len(self.problems) - 10} more."
        return text


# --------------------------------------------------------------------------- enqueue


def enqueue(conn: Connection, as_of: date, run_id: str, emails: Iterable[ComposedEmail | RenderedEmail]) -> Enqueued:
    """Store a run's emails as ``pending`` rows; keys already in the outbox stay untouched.

    Runs inside the caller's transaction.  An email whose header values are unusable is
    stored as ``failed`` with the reason, so the run report shows it and nobody sends it.
    """
    result = Enqueued()
    rows = []
    now = _now()
    for r in emails:
        if isinstance(r, RenderedEmail):
            r = compose(r)
        if r.as_of != as_of:
            raise ValueError(f"email {r.key} is for {r.as_of}, not for the run's as_of {as_of}")
        rows.append(
            {
                "idempotency_key": r.key,
                "as_of": r.as_of,
                "run_id": run_id,
                "notice_id": r.notice_id,
                "customer_id": r.customer_id,
                "company_code": r.company_code,
                "currency": r.currency,
                "level": r.level,
                "template": r.template,
                "recipients": r.recipients,
                "subject": r.subject,
                "language": r.language,
                "reply_to": r.reply_to,
                "status": FAILED if r.problem else PENDING,
                "attempts": 0,
                "error": r.problem,
                "mime_zlib": r.mime_zlib,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return result
    # one statement per batch; ON CONFLICT DO NOTHING keeps a concurrent rerun from failing
    # and, above all, from changing a row that exists (its status is the truth about sending)
    for batch in _chunks(rows, 500):
        inserted = _insert_new(conn, batch)
        result.inserted += len(inserted)
        result.already_present += len(batch) - len(inserted)
        result.rejected += sum(1 for row in batch if row["idempotency_key"] in inserted and row["status"] == FAILED)
    log.info(
        "outbox %s: %d new email(s), %d already present, %d rejected",
        as_of,
        result.inserted,
        result.already_present,
        result.rejected,
    )
    return result


def _insert_new(conn: Connection, batch: list[dict]) -> set[str]:
    keys = [row["idempotency_key"] for row in batch]
    present = set(
        conn.execute(
            sa.select(email_outbox.c.idempotency_key).where(email_outbox.c.idempotency_key.in_(keys))
        ).scalars()
    )
    new = [row for row in batch if row["idempotency_key"] not in present]
    if not new:
        return set()
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        conn.execute(insert(email_outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]), new)
        # a row a concurrent enqueue inserted first is theirs, not ours: compare run ids
        ours = conn.execute(
            sa.select(email_outbox.c.idempotency_key).where(
                email_outbox.c.idempotency_key.in_([r["idempotency_key"] for r in new]),
                email_outbox.c.run_id == new[0]["run_id"],
            )
        ).scalars()
        return set(ours)
    conn.execute(email_outbox.insert(), new)
    return {r["idempotency_key"] for r in new}


# --------------------------------------------------------------------------- deliver


def deliver(
    engine: Engine,
    settings: Settings,
    *,
    mode: str | None = None,
    as_of: date | None = None,
    smtp_factory: SmtpFactory | None = None,
    max_attempts: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Deliver the pending emails (of ``as_of``, or all) in ``mode`` (default: the settings').

    Pass the run's ``as_of``: without it every pending row in the outbox is in scope, also
    an old preview nobody released, which a finance team would not want sent weeks later.
    Retries wait ``backoff * 2**(attempt-1)`` seconds.
    """
    mode = mode or settings.effective_mail_mode
    if mode not in MODES:
        raise ConfigError(f"Mail mode {mode!r} is not one of {', '.join(MODES)}.")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if settings.mail_from and not _plain_address(settings.mail_from):
        raise ConfigError("RECEIVABLES_MAIL_FROM must be a plain email address.")
    report = DeliveryReport(mode=mode)
    report.held = hold_interrupted(engine)
    rows = _pending_rows(engine, as_of, mode)
    if mode == "preview":
        _preview(engine, settings, rows, report)
    elif rows:
        password = smtp_password(settings)
        _check_smtp_settings(settings, mode, password)
        secrets = _secret_forms(settings, password)
        session = _Session(
            smtp_factory or yagmail_connection, settings, password, secrets, max_attempts, backoff, sleep
        )
        try:
            for n, row in enumerate(rows):
                try:
                    _deliver_one(engine, settings, session, row, mode, report)
                except _ServerUnavailable as exc:
                    report.aborted = exc.reason
                    report.not_attempted = len(rows) - n
                    log.error("delivery stopped: %s %d email(s) stay pending", exc.reason, report.not_attempted)
                    break
        finally:
            session.close()
    report.held_outstanding = _count_held(engine, as_of)
    log.info(report.summary())
    return report


def hold_interrupted(engine: Engine) -> int:
    """Hold every row left ``sending``: a crash came between talking to SMTP and recording
    the outcome, so whether the customer got the email is unknown.  Returns how many."""
    with engine.begin() as conn:
        held = conn.execute(
            email_outbox.update()
            .where(email_outbox.c.status == SENDING)
            .values(
                status=HELD,
                updated_at=_now(),
                error=sa.func.coalesce(email_outbox.c.error + " | ", "")
                + "Interrupted while sending: the mail server may or may not have accepted it. "
                "Check its log for the Message-ID, then release_held() to resend or mark_held_sent().",
            )
        ).rowcount
    if held:
        log.warning("%d email(s) were interrupted while sending and are held for review", held)
    return held


def release_held(engine: Engine, key: str) -> bool:
    """An operator's decision that a held email did not go out: back to ``pending`` so the
    next ``deliver`` sends it (with the same Message-ID).  False when the key is not held."""
    with engine.begin() as conn:
        changed = conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == HELD)
            .values(
                status=PENDING,
                updated_at=_now(),
                error=sa.func.coalesce(email_outbox.c.error, "")
                + f" | Released for resend at {_now().isoformat(timespec='seconds')}.",
            )
        ).rowcount
    if changed:
        log.info("held email %s released for resend", key[:12])
    return bool(changed)


def mark_held_sent(engine: Engine, key: str) -> bool:
    """An operator's finding that a held email did reach the server: record it as ``sent``
    so it is never resent.  A held test copy (redirect mode) only counts as redirected: the
    customer's own email is still to be sent.  False when the key is not held."""
    now = _now()
    with engine.begin() as conn:
        mode = conn.execute(
            sa.select(email_outbox.c.mode).where(email_outbox.c.idempotency_key == key, email_outbox.c.status == HELD)
        ).scalar_one_or_none()
        if mode is None:
            return False
        values = {"status": PENDING, "redirected_at": now} if mode == "redirect" else {"status": SENT, "sent_at": now}
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == HELD)
            .values(
                **values,
                updated_at=now,
                error=sa.func.coalesce(email_outbox.c.error, "")
                + f" | Confirmed delivered to the server by an operator at {now.isoformat(timespec='seconds')}.",
            )
        )
    log.info("held email %s confirmed as delivered", key[:12])
    return True


def smtp_password(settings: Settings) -> str | None:
    """The SMTP password from the settings (the environment, or a Prefect Secret block that
    the flow resolved into the settings before calling the library); None when none is set.
    A block name still unresolved here means the library was called without the flow."""
    if settings.smtp_password is not None:
        return settings.smtp_password.get_secret_value()
    if settings.smtp_password_block:
        raise ConfigError(
            f"The SMTP password is in the Prefect Secret block {settings.smtp_password_block!r}, which only a "
            "Prefect flow run can read: run through `receivables run` or a deployment, "
            "or set RECEIVABLES_SMTP_PASSWORD."
        )
    return None


def yagmail_connection(settings: Settings, password: str | None) -> SmtpConnection:
    """An authenticated SMTP connection opened by yagmail.

    yagmail handles the connection, STARTTLS/SSL and login; the message is sent through its
    underlying ``smtplib`` connection (``yag.smtp``) rather than ``yag.send`` because
    ``yag.send`` builds its own MIME (raw HTML in the text part, no own text alternative, a
    Message-ID that repeats for equal subjects, attachments only from files) and retries a
    dropped connection by itself, sleeping and resending outside the outbox's bookkeeping.
    The password is always passed as a string, and without a user the login is skipped, so
    yagmail never reaches its keyring lookup, getpass prompt or ~/.yagmail file (it only
    looks there when password or user is None).
    """
    import yagmail

    user = settings.smtp_user or ""
    yag = yagmail.SMTP(
        # as a one-entry mapping: a plain string without "@" gets "@gmail.com" appended by
        # yagmail, which breaks logins such as "apikey" or an access key id
        user={user: user},
        password=password or "",
        host=settings.smtp_host,
        port=settings.smtp_port,
        smtp_starttls=bool(settings.smtp_starttls and not settings.smtp_ssl),
        smtp_ssl=settings.smtp_ssl,
        smtp_skip_login=not user,
        soft_email_validation=False,
        oauth2_file=None,
        timeout=30,
    )
    yag.set_logging(None)  # yagmail's own handler would log to stderr behind our back
    try:
        yag.login()
    except BaseException:
        yag.close()
        raise
    return _YagmailConnection(yag)


class _YagmailConnection:
    def __init__(self, yag: Any) -> None:
        self._yag = yag

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: bytes) -> dict:
        return self._yag.smtp.sendmail(from_addr, to_addrs, msg)

    def close(self) -> None:
        self._yag.close()


# --------------------------------------------------------------------------- internals


class _ServerUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Session:
    """One SMTP connection for the whole delivery, reopened after a drop.  Failing to connect
    or log in is charged to no email: it stops the delivery instead."""

    def __init__(
        self,
        factory: SmtpFactory,
        settings: Settings,
        password: str | None,
        secrets: list[str],
        max_attempts: int,
        backoff: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.factory, self.settings, self.password, self.secrets = factory, settings, password, secrets
        self.max_attempts, self.backoff, self.sleep = max_attempts, backoff, sleep
        self.conn: SmtpConnection | None = None

    def connection(self) -> SmtpConnection:
        if self.conn is not None:
            return self.conn
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.conn = self.factory(self.settings, self.password)
                return self.conn
            except smtplib.SMTPAuthenticationError as exc:
                raise _ServerUnavailable(
                    f"the SMTP server refused the login: {self.scrub(_smtp_error(exc))}."
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                reason = self.scrub(_smtp_error(exc))
                if attempt == self.max_attempts:
                    raise _ServerUnavailable(
                        f"the SMTP server {self.settings.smtp_host}:{self.settings.smtp_port} "
                        f"cannot be reached ({reason})."
                    ) from None
                log.warning("SMTP connection failed (%s); retrying", reason)
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # the connection is already broken; closing is a courtesy
                pass

    def close(self) -> None:
        self.drop()

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


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
        if not _claim(engine, key, mode, message_id, rcpts):
            log.info("email %s was taken by another delivery; skipped", key[:12])
            return
        try:
            refused = smtp.sendmail(envelope_from, rcpts, payload)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = "all recipients refused: " + "; ".join(
                f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items()
            )
            temporary = all(400 <= code < 500 for code in codes)
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
        except smtplib.SMTPServerDisconnected as exc:
            # a dropped connection before the server's final reply: SMTP practice is to retry
            # (a duplicate is possible only if the drop came after the server queued it, and
            # the stable Message-ID lets the receiving side recognise it)
            error = f"connection lost: {_smtp_error(exc)}"
            temporary = True
            session.drop()
        except smtplib.SMTPException as exc:  # e.g. the server lacks SMTPUTF8: retrying won't help
            error = _smtp_error(exc)
            temporary = False
        except OSError as exc:  # reset, timeout, broken pipe (SMTPException is an OSError too)
            error = f"connection lost: {_smtp_error(exc)}"
            temporary = True
            session.drop()
        else:
            # outside the try: a failure to record success must leave the row `sending`
            # (held on the next run), never lead to a second send
            _mark_sent(engine, key, mode, refused, session.scrub)
            if mode == "redirect":
                report.redirected += 1
            else:
                report.sent += 1
            if refused:
                partial = "refused: " + "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in refused.items())
                report.problems.append(EmailProblem(key, row.customer_id, row.recipients, SENT, session.scrub(partial)))
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


def _stored_message(engine: Engine, key: str) -> bytes | None:
    return _stored_messages(engine, [key]).get(key)


def _stored_messages(engine: Engine, keys: list[str]) -> dict[str, bytes | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(email_outbox.c.idempotency_key, email_outbox.c.mime_zlib).where(
                email_outbox.c.idempotency_key.in_(keys)
            )
        )
        return {key: mime for key, mime in rows}


def _outgoing(stored: bytes | None, row: Any, settings: Settings, mode: str) -> tuple[bytes, str, str]:
    """The stored message with the delivery headers: From (the configured sender address
    when set), Date, Message-ID, and in redirect mode the test address and subject mark.
    Returns the wire bytes, the envelope sender and the Message-ID."""
    if not stored:
        raise ValueError("no message is stored for this email")
    raw = zlib.decompress(stored)
    if mode == "redirect":
        return _redirected(raw, row, settings)
    # Send and preview only add headers: the stored bytes are kept as they are rather than
    # parsed and regenerated, which costs ~10 ms a message with the stdlib parser.
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the stored message has no header block")
    kept, from_value = [], None
    lines = head.split(b"\r\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
            j += 1  # folded continuation lines belong to the header above
        if line[:5].lower() == b"from:":
            from_value = b" ".join(part.strip() for part in lines[i:j])[5:].strip().decode("ascii")
        else:
            kept.extend(lines[i:j])
        i = j
    if from_value is None:
        raise ValueError("the stored message has no From header")
    from_header, envelope_from, domain = _sender(from_value, settings.mail_from)
    message_id = make_message_id(row.idempotency_key, domain, None)
    added = from_header + f"Date: {format_datetime(_now())}\r\nMessage-ID: {message_id}\r\n".encode("ascii")
    return added + b"\r\n".join(kept) + b"\r\n\r\n" + body, envelope_from, message_id


@lru_cache(maxsize=256)
def _sender(from_value: str, mail_from: str | None) -> tuple[bytes, str, str]:
    """The folded From header, envelope sender and domain for a stored From value: a night's
    emails come from a handful of companies, so the header registry parses each only once."""
    original = policy.SMTP.header_factory("From", from_value).addresses[0]
    sender = Address(original.display_name, addr_spec=mail_from) if mail_from else original
    # through the header registry, so a non-ASCII display name is RFC 2047 encoded
    folded = policy.SMTP.header_factory("From", str(sender)).fold(policy=policy.SMTP).encode("ascii")
    return folded, sender.addr_spec, sender.domain


def _redirected(raw: bytes, row: Any, settings: Settings) -> tuple[bytes, str, str]:
    msg = email.message_from_bytes(raw, policy=policy.SMTP)
    original_from = msg["From"].addresses[0]
    sender = Address(original_from.display_name, addr_spec=settings.mail_from) if settings.mail_from else original_from
    msg.replace_header("From", sender)
    msg["Date"] = format_datetime(_now())
    msg["Message-ID"] = make_message_id(row.idempotency_key, sender.domain, "redirect")
    originals = ", ".join(a.addr_spec for a in msg["To"].addresses)
    subject = str(msg["Subject"])
    msg.replace_header("To", Address(addr_spec=settings.redirect_to))
    msg.replace_header("Subject", f"[TEST to {originals}] {subject}")
    msg["X-Receivables-Original-To"] = originals
    return msg.as_bytes(policy=policy.SMTP), sender.addr_spec, str(msg["Message-ID"])


def _preview(engine: Engine, settings: Settings, rows: list, report: DeliveryReport) -> None:
    for batch in _chunks(rows, PREVIEW_BATCH):
        stored = _stored_messages(engine, [row.idempotency_key for row in batch])
        written: list[tuple[str, str]] = []
        for row in batch:
            try:
                payload, _, _ = _outgoing(stored.get(row.idempotency_key), row, settings, "send")
            except ValueError as exc:
                _finish(
                    engine,
                    row.idempotency_key,
                    FAILED,
                    f"The stored message cannot be previewed: {exc}",
                    report,
                    row,
                    [],
                )
                continue
            folder = Path(settings.outbox_dir) / row.as_of.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{row.idempotency_key}.eml"
            tmp = path.with_suffix(".eml.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, path)  # a reader never sees half a file
            written.append((row.idempotency_key, str(path)))
            report.previewed += 1
            report.eml_paths.append(path)
        _record_previews(engine, written)


#: preview reads and marks rows in batches: a preview has no side effect outside the outbox
#: folder, so a query and a commit per email (what sending needs) would only cost time
PREVIEW_BATCH = 500


def _record_previews(engine: Engine, written: list[tuple[str, str]]) -> None:
    if not written:
        return
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == sa.bindparam("key"), email_outbox.c.status == PENDING)
            .values(mode="preview", eml_path=sa.bindparam("path"), updated_at=now),
            [{"key": key, "path": path} for key, path in written],
        )


def _pending_rows(engine: Engine, as_of: date | None, mode: str) -> list:
    # the stored messages are fetched per email or per preview batch: 10^4 of them at once
    # would hold every attachment of the night in memory
    columns = [c for c in email_outbox.c if c.name != "mime_zlib"]
    query = sa.select(*columns).where(email_outbox.c.status == PENDING)
    if as_of is not None:
        query = query.where(email_outbox.c.as_of == as_of)
    if mode == "redirect":
        # a test copy goes out once per email; the customer's send is still to come
        query = query.where(email_outbox.c.redirected_at.is_(None))
    query = query.order_by(
        email_outbox.c.as_of, email_outbox.c.company_code, email_outbox.c.customer_id, email_outbox.c.idempotency_key
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _claim(engine: Engine, key: str, mode: str, message_id: str, rcpts: list[str]) -> bool:
    """pending -> sending, committed before SMTP is touched.  The status condition makes it a
    compare-and-set: of two concurrent deliveries only one changes the row and sends."""
    with engine.begin() as conn:
        return (
            conn.execute(
                email_outbox.update()
                .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == PENDING)
                .values(
                    status=SENDING,
                    attempts=email_outbox.c.attempts + 1,
                    mode=mode,
                    # recorded before sending, so a held row names the id to look for in the server log
                    message_id=message_id,
                    delivered_to="; ".join(rcpts),
                    updated_at=_now(),
                )
            ).rowcount
            == 1
        )


def _mark_sent(engine: Engine, key: str, mode: str, refused: dict, scrub: Callable[[str], str]) -> None:
    now = _now()
    note = None
    if refused:
        note = scrub("Partly refused: " + "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in refused.items()))[
            :ERROR_LIMIT
        ]
    # a redirect is a test copy: the customer's email is still to be sent
    values = {"status": PENDING, "redirected_at": now} if mode == "redirect" else {"status": SENT, "sent_at": now}
    with engine.begin() as conn:
        # `held` too: a concurrent delivery may have swept this row while we were sending;
        # the server accepted it, so `sent` is the truth
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status.in_([SENDING, HELD]))
            .values(**values, error=note, updated_at=now)
        )


def _release_for_retry(engine: Engine, key: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status == SENDING)
            .values(status=PENDING, error=error[:ERROR_LIMIT], updated_at=_now())
        )


def _finish(
    engine: Engine, key: str, status: str, error: str, report: DeliveryReport, row: Any, recipients: list[str]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            email_outbox.update()
            .where(email_outbox.c.idempotency_key == key, email_outbox.c.status.in_([PENDING, SENDING]))
            .values(status=status, error=error[:ERROR_LIMIT], updated_at=_now())
        )
    report.failed += 1
    report.problems.append(EmailProblem(key, row.customer_id, row.recipients, status, error[:ERROR_LIMIT]))
    log.warning("email %s for customer %s failed: %s", key[:12], row.customer_id, error)


def _count_held(engine: Engine, as_of: date | None) -> int:
    query = sa.select(sa.func.count()).select_from(email_outbox).where(email_outbox.c.status == HELD)
    if as_of is not None:
        query = query.where(email_outbox.c.as_of == as_of)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _check_smtp_settings(settings: Settings, mode: str, password: str | None) -> None:
    if not settings.smtp_host:
        raise ConfigError(
            f"Mail mode {mode} needs an SMTP server: set RECEIVABLES_SMTP_HOST (or use mail mode preview)."
        )
    if settings.smtp_user and not password:
        # never let an empty password through: yagmail would fall back to the keyring and a prompt
        raise ConfigError(
            "RECEIVABLES_SMTP_USER is set but no password is configured: set RECEIVABLES_SMTP_PASSWORD "
            "or smtp_password_block (a Prefect Secret block)."
        )
    if mode == "redirect" and not _plain_address(settings.redirect_to):
        raise ConfigError("Mail mode redirect needs RECEIVABLES_REDIRECT_TO, a plain email address.")


def _plain_address(value: str | None) -> bool:
    if not value or value != value.strip() or "@" not in value or any(ord(c) < 32 or c in "<>,;" for c in value):
        return False
    try:
        Address(addr_spec=value)
    except Exception:  # headerregistry raises several types for malformed addresses
        return False
    return True


def _secret_forms(settings: Settings, password: str | None) -> list[str]:
    """The password and the encodings in which an SMTP dialogue could echo it (AUTH PLAIN and
    LOGIN send base64), longest first so a longer form is replaced before its substring."""
    if not password:
        return []
    user = settings.smtp_user or ""
    forms = {
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
    }
    return sorted(forms, key=len, reverse=True)


def _smtp_error(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())


def _chunks(rows: list, size: int) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)
