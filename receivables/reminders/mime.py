"""The MIME message of a rendered reminder, and the compressed form the outbox stores and sends."""

from __future__ import annotations

import base64
import quopri
import re
import zlib
from dataclasses import dataclass
from datetime import date
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import formataddr, quote
from typing import Any

from receivables.reminders.recipients import _CONTROL, _address_problem, _visible
from receivables.reminders.render import RenderedEmail


def message_bytes(rendered: RenderedEmail) -> bytes:
    """The MIME message of a rendered email as stored in the outbox, without Date and
    Message-ID (set when sent).

    multipart/mixed: a multipart/alternative with the text part first and the HTML part
    last (clients show the last one they can display), then the statement files.  Raises
    ``ValueError`` for an email with a ``problem``: such an email must never become headers.

    Built with the ``email.mime`` classes rather than ``EmailMessage``: the header registry
    parses and refolds every header on the way in and out, which cost ~6 ms a message, more
    than rendering it (a go-live night has 10^4-10^5 of them).  Non-ASCII display names and
    subjects are RFC 2047 encoded by ``_encoded``; the checks below keep
    every header one line.
    """
    if rendered.problem:
        raise ValueError(rendered.problem)
    addresses = [rendered.from_address, rendered.reply_to_address, *rendered.recipients]
    if not rendered.recipients:
        raise ValueError(f"email {rendered.key} has no recipient")
    for value in (rendered.subject, rendered.from_name, rendered.to_name, rendered.reply_to_name, *addresses):
        # a second line of defence behind render_reminder's checks: no value may start a header
        if _CONTROL.search(value):
            raise ValueError(
                f"a header value of email {rendered.key} contains a line break or control character: {_visible(value)}"
            )
    for addr in addresses:
        if problem := _address_problem(addr):
            raise ValueError(problem)
    boundary = f"=_{rendered.key[:24]}_"
    # Deterministic boundaries make a rerun's message byte-identical.  "=_" cannot occur in
    # quoted-printable or base64 bodies, so it cannot collide with the content.
    headers = [
        ("Subject", _encoded(rendered.subject)),
        ("From", _address(rendered.from_name, rendered.from_address)),
        ("To", ", ".join(_address(rendered.to_name, a) for a in rendered.recipients)),
        ("Reply-To", _address(rendered.reply_to_name, rendered.reply_to_address)),
        ("Content-Language", rendered.language),
        # RFC 3834: tells vacation responders and ticket systems not to answer automatically
        ("Auto-Submitted", "auto-generated"),
        ("X-Receivables-Key", rendered.key),
    ]
    written = _written(rendered, boundary, headers)
    return written if written is not None else _flatten(_built(rendered, boundary, headers))


def _built(rendered: RenderedEmail, boundary: str, headers: list[tuple[str, str]]) -> MIMEMultipart:
    """The message as ``email.mime`` objects: what ``_written`` writes directly, and what
    writes the messages it leaves to the library."""
    msg = MIMEMultipart("mixed", boundary=boundary + "0")
    alternative = MIMEMultipart("alternative", boundary=boundary + "1")
    alternative.attach(_text_part(rendered.text, "plain"))
    alternative.attach(_text_part(rendered.html, "html"))
    msg.attach(alternative)
    for filename, content, mimetype in rendered.attachments:
        maintype, subtype = mimetype.split("/", 1)
        # our text attachments (the CSV statement) are UTF-8; saying so spares readers a guess
        part = MIMEBase(maintype, subtype, **({"charset": "utf-8"} if maintype == "text" else {}))
        part.set_payload(_base64_lines(content))
        part["Content-Transfer-Encoding"] = "base64"
        # RFC 2231 for a non-ASCII file name (a customer id with umlauts), plain otherwise
        name = filename if filename.isascii() else ("utf-8", "", filename)
        part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    for part in msg.get_payload()[1:] + [alternative, *alternative.get_payload()]:
        del part["MIME-Version"]  # email.mime puts one on every part; it belongs on the top only
    for name, value in headers:
        msg[name] = value
    return msg


def _written(rendered: RenderedEmail, boundary: str, headers: list[tuple[str, str]]) -> bytes | None:
    """``_flatten(_built(...))``, byte for byte, written as text: building the ``email.mime``
    objects was half of a message's CPU.  None for what only the library writes right: a
    non-ASCII file name (RFC 2231), an empty one (written without its value) or a non-ASCII
    body."""
    if not all(filename and filename.isascii() for filename, _, _ in rendered.attachments):
        return None
    outer, inner = boundary + "0", boundary + "1"
    out = [_header("Content-Type", f'multipart/mixed; boundary="{outer}"'), _header("MIME-Version", "1.0")]
    out += [_header(name, value) for name, value in headers]
    out += ["\r\n", f"--{outer}\r\n", _header("Content-Type", f'multipart/alternative; boundary="{inner}"'), "\r\n"]
    for i, (text, subtype) in enumerate(((rendered.text, "plain"), (rendered.html, "html"))):
        out += [
            f"--{inner}\r\n" if i == 0 else f"\r\n--{inner}\r\n",
            _header("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ]
        out += [_header("Content-Transfer-Encoding", "quoted-printable"), "\r\n", _crlf(_quoted_printable(text))]
    out.append(f"\r\n--{inner}--\r\n")
    for filename, content, mimetype in rendered.attachments:
        maintype, subtype = mimetype.split("/", 1)
        charset = '; charset="utf-8"' if maintype == "text" else ""
        out += [f"\r\n--{outer}\r\n", _header("Content-Type", f"{maintype}/{subtype}{charset}")]
        out.append(_header("Content-Transfer-Encoding", "base64"))
        out.append(_header("Content-Disposition", f'attachment; filename="{quote(filename)}"'))
        out += ["\r\n", _crlf(_base64_lines(content))]
    out.append(f"\r\n--{outer}--\r\n")
    try:
        return "".join(out).encode("ascii")
    except UnicodeEncodeError:
        return None


def _header(name: str, value: str) -> str:
    # the wire policy's folding, exactly as the generator calls it
    return _WIRE._fold(name, value, sanitize=_WIRE.cte_type == "7bit")


def _flatten(msg: MIMEMultipart) -> bytes:
    """``msg.as_bytes(policy=_WIRE)``, byte for byte, without the generator's per-line and
    per-part work (a fifth of a reminder's CPU): every header through the same policy, each
    body's lines joined with CRLF, the parts between their boundaries as RFC 2046 puts them."""
    out: list[str] = []
    _emit(msg, out)
    try:
        return "".join(out).encode("ascii")
    except UnicodeEncodeError:  # not one of ours (all is ASCII by now): the library decides
        return msg.as_bytes(policy=_WIRE)


def _emit(msg: Any, out: list[str]) -> None:
    for name, value in msg.raw_items():
        out.append(_header(name, value))
    out.append("\r\n")
    if msg.is_multipart():
        boundary = msg.get_boundary()
        for i, part in enumerate(msg.get_payload()):
            out.append(f"--{boundary}\r\n" if i == 0 else f"\r\n--{boundary}\r\n")
            _emit(part, out)
        out.append(f"\r\n--{boundary}--\r\n")
    else:
        out.append(_crlf(msg.get_payload()))


def _base64_lines(content: bytes) -> str:
    """``email.encoders.encode_base64``'s body: lines of 76 characters (57 bytes), each
    ending in a line break, encoded in one call instead of one per line."""
    text = base64.b64encode(content).decode("ascii")
    return "".join(text[i : i + 76] + "\n" for i in range(0, len(text), 76))


def _crlf(text: str) -> str:
    """Every line end (CRLF, CR or LF) as CRLF, as the generator writes a body."""
    # str.replace in C: a regex split and join was a sixth of building a message (base64 bodies)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def _encoded(text: str) -> str:
    """Header text as RFC 2047 encoded words when it is not ASCII, already folded, so the
    998-column wire policy below leaves it as it is.  Each word carries whole characters of
    at most 45 UTF-8 bytes (72 columns encoded, under the RFC's 75) and ends after a space
    where it can: readers join adjacent encoded words without the folding space, and the
    few lenient ones that keep it then only double a space instead of splitting a word."""
    if text.isascii():
        return text
    words: list[str] = []
    chunk, size = "", 0
    for token in re.split(r"(?<= )", text):
        n = len(token.encode("utf-8"))
        if size + n <= 45:
            chunk, size = chunk + token, size + n
            continue
        if chunk:
            words.append(chunk)
            chunk, size = "", 0
        for char in token:  # a single token longer than a word: split between characters
            c = len(char.encode("utf-8"))
            if size + c > 45:
                words.append(chunk)
                chunk, size = "", 0
            chunk, size = chunk + char, size + c
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words if w)


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    # quopri runs binascii's C encoder; email.mime's own quoted-printable is per character in
    # Python and was a tenth of the time of a message
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(_quoted_printable(text))
    return part


def _quoted_printable(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def _address(name: str, addr: str) -> str:
    # formataddr quotes an ASCII name with specials ("Acme, Inc."); encoded words need no quotes
    return formataddr((name, addr)) if name.isascii() else f"{_encoded(name)} <{addr}>"


class _WirePolicy(Compat32):
    """compat32 (what ``email.mime`` parts are built for) with CRLF line ends.  A header
    value that is ASCII and already within SMTP's 998-column limit is written as it is:
    compat32 would re-wrap every value through ``Header`` (a third of the build time), and
    our non-ASCII values arrive pre-encoded and folded by ``_encoded``."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isascii():
            unfolded = value.replace("\r\n ", " ")
            if "\r" not in unfolded and "\n" not in unfolded and max(map(len, f"{name}: {value}".split("\r\n"))) <= 998:
                return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_WIRE = _WirePolicy(linesep="\r\n", max_line_length=998)


@dataclass(frozen=True)
class ComposedEmail:
    """A rendered email reduced to what the outbox stores: its row and the compressed
    message.  This is what travels between processes and waits for the publish
    transaction, so a night's emails cost ~10 KB each instead of their text, HTML and
    attachments."""

    key: str
    as_of: date
    notice_id: str
    company_code: str
    customer_id: str
    currency: str
    level: int
    template: str
    language: str
    subject: str
    recipients: str
    reply_to: str
    problem: str | None
    #: zlib-compressed ``message_bytes``; None for an email with a problem
    mime_zlib: bytes | None


def compose(rendered: RenderedEmail) -> ComposedEmail:
    """Build and compress the message of a rendered email for the outbox."""
    return ComposedEmail(
        key=rendered.key,
        as_of=rendered.as_of,
        notice_id=rendered.notice_id,
        company_code=rendered.company_code,
        customer_id=rendered.customer_id,
        currency=rendered.currency,
        level=rendered.level,
        template=rendered.template,
        language=rendered.language,
        subject=rendered.subject,
        recipients=rendered.recipients_text,
        reply_to=rendered.reply_to,
        problem=rendered.problem,
        mime_zlib=None if rendered.problem else zlib.compress(message_bytes(rendered), _LEVEL),
    )


#: zlib level of the stored message: 2 costs a third less CPU than the default 6 (0.23 against
#: 0.34 ms for a size-l letter of 19.6 KB, most of it base64 that no level shrinks much) and
#: stores 3.6 % more (8,811 against 8,502 bytes)
_LEVEL = 2
