"""The message as it leaves: the stored MIME plus the headers only delivery knows (From, Date,
Message-ID, and for a redirect the test address and the subject mark)."""

from __future__ import annotations

import email
import zlib
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from receivables.outbox.store import _now
from receivables.reminders import make_message_id
from receivables.settings import Settings


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
    kept, from_value = _without_from(head)
    if from_value is None:
        raise ValueError("the stored message has no From header")
    from_header, envelope_from, domain = _sender(from_value, settings.mail_from)
    message_id = make_message_id(row.idempotency_key, domain, None)
    added = from_header + _date_header(_now().replace(microsecond=0)) + f"Message-ID: {message_id}\r\n".encode("ascii")
    return added + b"\r\n".join(kept) + b"\r\n\r\n" + body, envelope_from, message_id


def _without_from(head: bytes) -> tuple[list[bytes], str | None]:
    """The header lines other than From, and the unfolded From value (None when missing)."""
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
    return kept, from_value


@lru_cache(maxsize=256)
def _sender(from_value: str, mail_from: str | None) -> tuple[bytes, str, str]:
    """The folded From header, envelope sender and domain for a stored From value: a night's
    emails come from a handful of companies, so the header registry parses each only once."""
    original = policy.SMTP.header_factory("From", from_value).addresses[0]
    sender = Address(original.display_name, addr_spec=mail_from) if mail_from else original
    # through the header registry, so a non-ASCII display name is RFC 2047 encoded
    folded = policy.SMTP.header_factory("From", str(sender)).fold(policy=policy.SMTP).encode("ascii")
    return folded, sender.addr_spec, sender.domain


@lru_cache(maxsize=4)
def _date_header(second: datetime) -> bytes:
    # the header names the second: the emails a preview builds in that second share it
    return f"Date: {format_datetime(second)}\r\n".encode("ascii")


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
