"""The email outbox: every reminder is sent at most once per idempotency key, and a send that
may or may not have happened is held for a person instead of being repeated.

``store`` keeps the ``email_outbox`` statuses and every status change delivery makes,
``enqueueing`` puts a run's emails in (and withdraws what a corrected rerun of the date no
longer proposes), ``delivery`` holds ``deliver`` and its modes, ``preview`` writes ``.eml``
files, ``sending`` sends one email through an SMTP session from ``smtp`` (yagmail, the
password), ``outgoing`` adds the headers only delivery knows, ``held`` is the operator's review
of interrupted sends, ``review`` what ``receivables outbox list|release|mark-sent|cancel`` do,
and ``report`` is what a ``deliver`` call returns.  Everything public is importable from
``receivables.outbox``.
"""

from receivables.outbox.delivery import MODES, deliver
from receivables.outbox.enqueueing import Enqueued, decided_keys, enqueue
from receivables.outbox.held import hold_interrupted, mark_held_sent, release_held, release_held_on
from receivables.outbox.preview import PREVIEW_BATCH
from receivables.outbox.report import DeliveryReport, EmailProblem
from receivables.outbox.review import OutboxEmail, OutboxRequestError, cancel, find_email, list_emails
from receivables.outbox.smtp import SmtpConnection, SmtpFactory, smtp_password, yagmail_connection
from receivables.outbox.store import (
    CANCELLED,
    ERROR_LIMIT,
    FAILED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    STATUSES,
    _claim,
    _mark_sent,
)

# ``_claim`` and ``_mark_sent`` live here too: ``sending`` calls them through the package, so a
# test that replaces ``receivables.outbox._mark_sent`` replaces what a delivery calls.
__all__ = [
    "CANCELLED",
    "ERROR_LIMIT",
    "FAILED",
    "HELD",
    "MODES",
    "PENDING",
    "PREVIEW_BATCH",
    "SENDING",
    "SENT",
    "STATUSES",
    "DeliveryReport",
    "EmailProblem",
    "Enqueued",
    "OutboxEmail",
    "OutboxRequestError",
    "SmtpConnection",
    "SmtpFactory",
    "_claim",
    "_mark_sent",
    "cancel",
    "deliver",
    "decided_keys",
    "enqueue",
    "find_email",
    "hold_interrupted",
    "list_emails",
    "mark_held_sent",
    "release_held",
    "release_held_on",
    "smtp_password",
    "yagmail_connection",
]
