"""The identity of a reminder: the outbox's idempotency key and the email's Message-ID."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from receivables.reminders.cells import _as_date

#: bump when the fields of the idempotency key change, so old and new keys never collide
KEY_VERSION = "v1"


def idempotency_key(notice: Mapping[str, Any], as_of: date | str | None = None) -> str:
    """The outbox key of a notice's email: the same letter for the same business date.

    sha256 over as_of, company_code, customer_id, currency and level.  Those fields identify
    the letter a customer receives: the SPEC groups a notice per customer, company code and
    currency, and dunning state is keyed by as_of, so a rerun for the same as_of reproduces
    the key and the outbox refuses to send it again.  The level is part of it because a
    different level is a different letter.  Deliberately left out: the notice_id (generated
    by the dunning engine and not promised stable across reruns), the amounts and the item
    list (a corrected rerun the same day, e.g. after a late payment import, must not send a
    second reminder for that day), and the mail mode (a preview must not stand in for the
    real send).
    """
    when = _as_date(as_of if as_of is not None else notice["as_of"])
    if when is None:
        raise ValueError("an idempotency key needs the notice's as_of date")
    parts = (
        KEY_VERSION,
        when.isoformat(),
        str(notice["company_code"]).strip(),
        str(notice["customer_id"]).strip(),
        str(notice["currency"]).strip().upper(),
        str(int(notice["level"])),
    )
    # the unit separator cannot occur in codes, so ("10", "0") and ("1", "00") differ
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def make_message_id(key: str, domain: str, tag: str | None = None) -> str:
    """The Message-ID of the email with this key: ``<key@domain>``, or ``<key.tag@domain>``.

    Stable per key on purpose: a retry after a dropped connection, or a held email released
    by an operator, goes out with the same id, so if the first copy did arrive the recipient's
    mail system can recognise the duplicate, and the held row's id can be looked up in the
    mail server's log.  Unique per email because the key is (yagmail's default id is a hash of
    From, To and Subject and repeats every night).  ``tag`` marks a different rendition of the
    same email, e.g. ``redirect`` for the copy sent to the test address.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("the key must be a sha256 hex digest")
    domain = _ascii_domain(domain)
    if tag is not None and not re.fullmatch(r"[A-Za-z0-9-]+", tag):
        raise ValueError("a Message-ID tag must be letters, digits or '-'")
    return f"<{key}.{tag}@{domain}>" if tag else f"<{key}@{domain}>"


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{domain!r} is not a usable domain") from exc
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain):
        raise ValueError(f"{domain!r} is not a usable domain")
    return domain
