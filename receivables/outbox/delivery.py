"""``deliver``: works through the pending rows in one of three modes.

``preview``
    writes one ``.eml`` file per email and sends nothing (see ``preview``).
``redirect``
    sends each email once to ``redirect_to`` with the subject marked
    ``[TEST to <original recipients>]``.  The customer has received nothing, so the row goes
    back to ``pending`` with ``redirected_at`` set; a later redirect run skips it and a later
    ``send`` still reaches the customer.
``send``
    sends to the customer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy.engine import Engine

from receivables.errors import ConfigError
from receivables.outbox.held import _count_held, hold_interrupted
from receivables.outbox.preview import _preview
from receivables.outbox.report import DeliveryReport
from receivables.outbox.sending import _deliver_one
from receivables.outbox.smtp import (
    SmtpFactory,
    _check_smtp_settings,
    _plain_address,
    _secret_forms,
    _ServerUnavailable,
    _Session,
    smtp_password,
    yagmail_connection,
)
from receivables.outbox.store import _pending_rows
from receivables.settings import Settings

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")

MODES = ("preview", "redirect", "send")


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
