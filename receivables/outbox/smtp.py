"""The SMTP connection: the password, the yagmail login, one session per delivery, and the
server's answers turned into error texts that never contain the password.

A server that cannot be reached or refuses the login stops the delivery and leaves the
remaining emails ``pending``: that is nobody's email's fault.  The SMTP password comes from the
settings (``RECEIVABLES_SMTP_PASSWORD``) or a Prefect Secret block, is always handed to yagmail
explicitly (yagmail would otherwise look in the keyring and then prompt, hanging a worker), and
is scrubbed from every error text that is logged, stored or reported.
"""

from __future__ import annotations

import base64
import logging
import smtplib
from collections.abc import Callable
from email.headerregistry import Address
from typing import Any, Protocol

from receivables.errors import ConfigError
from receivables.settings import Settings

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")


class SmtpConnection(Protocol):
    """What ``deliver`` needs from an SMTP connection (``smtplib.SMTP`` has it)."""

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: bytes) -> dict: ...

    def close(self) -> None: ...


#: opens an authenticated connection: ``factory(settings, password)``
SmtpFactory = Callable[[Settings, "str | None"], SmtpConnection]


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


def _refusals(recipients: dict) -> str:
    """The server's answer per refused recipient: ``addr: code text; ...``."""
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())
