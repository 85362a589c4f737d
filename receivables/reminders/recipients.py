"""Who a reminder goes to and who it comes from: the customer's addresses, the collector who
answers, and the checks that keep master data out of the headers.

Header safety: every value that reaches a header (addresses, the customer name, the subject)
is checked for line breaks and control characters.  A notice with such a value is still
rendered, but carries a ``problem`` and is never turned into a message: the outbox records it
as ``failed`` with that reason, so a CRLF in master data can never become a header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.headerregistry import Address
from functools import lru_cache
from typing import Any

from receivables.reminders.cells import _text

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: none of them belongs in
# a name or an address, and several are line breaks to some mail software.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A deliberately plain address syntax: what ERP master data legitimately holds.  Quoted local
# parts, comments and IP literals are legal RFC 5322 but are how injection attempts look.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")


def parse_recipients(raw: str, customer_id: str) -> tuple[list[str], str | None]:
    """The customer's addresses from the ';'-separated master-data value, or why not."""
    raw = raw.strip()
    if not raw:
        return [], f"Customer {customer_id} has no email address."
    if _CONTROL.search(raw):
        return (
            [],
            f"The email address of customer {customer_id} contains a line break or control character: {_visible(raw)}.",
        )
    seen: list[str] = []
    for part in re.split(r"[;,]", raw):
        addr = part.strip()
        if not addr:
            continue
        problem = _address_problem(addr)
        if problem:
            return [], f"The email address {_visible(addr)} of customer {customer_id} {problem}."
        if addr.lower() not in (s.lower() for s in seen):
            seen.append(addr)
    if not seen:
        return [], f"Customer {customer_id} has no email address."
    return seen, None


@lru_cache(maxsize=1 << 18)
def _address_problem(addr: str) -> str | None:
    # cached: a letter checks its sender, reply-to and recipients, mostly the same few addresses
    if _CONTROL.search(addr):
        return "contains a line break or control character"
    if not _ADDRESS.match(addr):
        return "is not a plain email address"
    try:
        Address(addr_spec=addr)
    except (ValueError, TypeError, IndexError) as exc:
        return f"is not a valid email address ({type(exc).__name__})"
    return None


def _collector(customer: Mapping[str, Any], company: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, str]:
    """Reply-To: the customer's collector when their mailbox is known, else the team mailbox."""
    name = _text(customer.get("collector"))
    if name and _CONTROL.search(name):
        name = ""
    collectors = company.get("collectors") or {}
    if name and not _address_problem(name):
        return name, name
    if name and name in collectors:
        return name, str(collectors[name])
    return (name or labels["team"]), str(company["collections_email"])


def _visible(value: str, limit: int = 200) -> str:
    """The value with control characters shown as escapes, for error columns and logs."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
