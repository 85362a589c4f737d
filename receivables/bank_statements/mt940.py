"""SWIFT MT940 statements and MT942 interim reports as payments, parsed by the maintained
``mt-940`` library so that what it accepts is accepted here: amounts without decimals, funds
codes, SOH/ETX framing and header lines, code page 852, German ``?`` sub-fields in ``:86:``.

The library parses a statement as a whole and one malformed ``:61:`` line stops it. So each
statement block is cut into its header and one piece per ``:61:`` entry (up to the next
``:61:`` or closing balance), and every entry is parsed with the header on its own: a bad
entry is quarantined and the rest of the statement is still read.
"""

from __future__ import annotations

import re
from typing import Any

import mt940 as mt940_library

from receivables.bank_statements._base import (
    NO_REFERENCE,
    Collector,
    EntryProblem,
    Payment,
    StatementRead,
    cents,
    clean,
    iban_in,
    join_texts,
)
from receivables.errors import InputRejected

#: every fix of the library's next major release (?31 as IBAN, no truncated :86:, BOM, ...)
_OPTIONS = mt940_library.Options.all()

_BLOCK = re.compile(r"(?m)^(?=:20:)")
#: tags that end an entry: the next entry, or the statement's closing and available balances
_ENTRY_END = re.compile(r"(?m)^:(?:61|62[FM]|64|65|90[CD]):")
#: width of an :86: line; a full line was cut by the bank, not ended by the writer
_LINE = 65


def decode(data: bytes) -> str:
    """UTF-8, else code page 852: the library's order (cp852 maps every byte, so it never fails
    and keeps Hungarian and Polish names readable)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp852")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def looks_like_mt940(text: str) -> bool:
    return bool(re.search(r"(?m)^:20:", text) and re.search(r"(?m)^:25P?:", text))


def read_mt94x(data: bytes, name: str) -> StatementRead:
    """Booked credits of an MT940/MT942 file; see the package docstring for the result."""
    text = decode(data)
    if not looks_like_mt940(text):
        raise InputRejected("not an MT940 or MT942 statement (no :20: and :25: fields)", file=name)
    out = Collector(name)
    blocks = [b for b in _BLOCK.split(text) if b.startswith(":20:")]
    for s_no, block in enumerate(blocks, start=1):
        _read_block(block, s_no, out)
    interim = re.search(r"(?m)^:(?:34F|13D?):", text) and not re.search(r"(?m)^:60[FM]:", text)
    return out.result("MT942" if interim else "MT940")


def _read_block(block: str, s_no: int, out: Collector) -> None:
    header, entries = _segments(block)
    statement_id = out.statement(_statement_key(block, s_no))
    try:
        account = clean(_parse(header).data.get("account_identification"))
    except EntryProblem as problem:
        # without its header no entry of the statement can be read: each is quarantined
        reason = f"the statement header cannot be read: {problem}"
        if not entries:
            out.quarantine(statement_id, None, reason)
        for e_no in range(1, len(entries) + 1):
            out.counts.entries += 1
            out.quarantine(statement_id, e_no, reason)
        return
    for e_no, entry in enumerate(entries, start=1):
        out.counts.entries += 1
        try:
            data = _entry(header, entry)
            kind = _kind(data)
            if kind == "credit":
                out.add([_payment(data, statement_id, e_no, account)])
            else:
                out.skip(kind)
        except EntryProblem as problem:
            out.quarantine(statement_id, e_no, str(problem))


def _segments(block: str) -> tuple[str, list[str]]:
    """The statement header (up to the first entry or balance) and each :61: entry's text."""
    ends = [m.start() for m in _ENTRY_END.finditer(block)] + [len(block)]
    entries = [block[a:b] for a, b in zip(ends, ends[1:]) if block.startswith(":61:", a)]
    return block[: ends[0]], entries


def _statement_key(block: str, s_no: int) -> str:
    """``<account>/<statement number>[-<sequence>]`` as written in :25: and :28C:."""
    account = re.search(r"(?m)^:25P?:(.*)$", block)
    number = re.search(r"(?m)^:28C?:(.*)$", block)
    key = account.group(1).strip() if account and account.group(1).strip() else f"#{s_no}"
    if number and number.group(1).strip():
        key += "/" + number.group(1).strip().replace("/", "-")
    return key


def _parse(text: str) -> Any:
    transactions = mt940_library.models.Transactions(options=_OPTIONS)
    try:
        transactions.parse(text)
    # the library raises whatever its parts raise (RuntimeError for a field that does not match
    # its pattern, ValueError for a month 13, InvalidOperation, KeyError): any of them means
    # this piece cannot be read, and only this piece
    except Exception as exc:
        raise EntryProblem(_why(exc)) from None
    return transactions


def _why(exc: Exception) -> str:
    if isinstance(exc, RuntimeError) and len(exc.args) == 3 and isinstance(exc.args[1], mt940_library.tags.Tag):
        return f"the :{exc.args[1].id}: field {exc.args[2]!r} does not have the MT940 layout"
    return str(exc) or type(exc).__name__


def _entry(header: str, entry: str) -> dict[str, Any]:
    transactions = _parse(header + entry)
    if len(transactions) != 1:
        raise EntryProblem("the :61: entry cannot be read")
    return transactions[0].data


def _kind(d: dict[str, Any]) -> str:
    status = str(d.get("status") or "").upper()
    kinds = {"C": "credit", "D": "debit", "RC": "reversal", "RD": "reversal"}
    if status not in kinds:
        raise EntryProblem(f"the :61: debit/credit mark must be C, D, RC or RD, not {status!r}")
    return kinds[status]


def _payment(d: dict[str, Any], statement_id: str, e_no: int, account: str | None) -> Payment:
    amount_field = d.get("amount")
    amount = cents(amount_field.amount if amount_field is not None else None)
    if amount == 0:
        raise EntryProblem("a credit of 0.00 is not a payment")
    currency = clean(getattr(amount_field, "currency", None)) or clean(d.get("currency"))
    if not currency:
        raise EntryProblem("no currency (the :60F: opening balance names it)")
    if d.get("date") is None:
        raise EntryProblem("the :61: line has no value date")
    name, iban, texts = details(d)
    raw = d.get("transaction_details")
    return Payment(
        payment_id=f"{statement_id}/{e_no}",
        statement_id=statement_id,
        entry_no=e_no,
        account_id=account,
        account_iban=iban_in(account),
        value_date=d["date"],
        booking_date=d.get("entry_date") or d["date"],
        amount=amount,
        currency=currency,
        payer_name=name,
        payer_iban=iban or iban_in(clean(d.get("extra_details"))),
        remittance_info=join_texts(texts),
        servicer_ref=_ref(d.get("bank_reference")),
        fingerprint=[str(d.get(k) or "") for k in ("customer_reference", "extra_details", "id")] + [raw or ""],
    )


# --- the :86: details ---------------------------------------------------------------------------


def details(d: dict[str, Any]) -> tuple[str | None, str | None, list[str | None]]:
    """Payer name, payer account and remittance pieces from the ``:86:`` field.

    The German ``?`` layout as the library split it (``?20``-``?29`` purpose with ``SVWZ+``,
    ``?31`` IBAN, ``?32``/``?33`` name, ``EREF+``); the Dutch/SWIFT slash layout (``/NAME/``,
    ``/IBAN/``, ``/REMI/``, ``/EREF/``); numbered sub-fields the library leaves alone (Triodos
    ``>20``); else the free text, its cut lines joined again.
    """
    if any(d.get(k) for k in ("purpose", "applicant_name", "applicant_iban", "posting_text")):
        texts = [d.get("purpose"), d.get("additional_purpose"), _eref(d.get("end_to_end_reference"))]
        return clean(d.get("applicant_name")), clean(d.get("applicant_iban")), texts
    raw = str(d.get("transaction_details") or "")
    return _slash_fields(raw) or _numbered_fields(raw) or (None, None, [unwrap(raw)])


def unwrap(raw: str) -> str:
    """The :86: lines as one text: a full-width line was cut mid-word (``CONTRA ACCOUN`` /
    ``T HOLDER``) and is glued to the next; a shorter one ended and gets a space."""
    lines = raw.split("\n")
    text = lines[0]
    for previous, line in zip(lines, lines[1:]):
        text += ("" if len(previous) >= _LINE else " ") + line
    return text


_SLASH_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|ORDP|BENM|CSID|MARF|ISDT|RTRN|PREF|NRTX|PIND|ADDR|CNTP|ULTD|ULTC|ULTB|PURP|"
    "KREF|USTD|STRD|CUR|ISSR|SVCL|EXCH|ORIG|CHGS|BUSP|ID"
)
#: a key between slashes; the closing slash is left to open the value, so "/REMI/USTD//text/" is
#: REMI, then USTD with the text
_SLASH = re.compile(rf"/({_SLASH_KEYS})(?=/)")


def _slash_fields(raw: str) -> tuple[str | None, str | None, list[str | None]] | None:
    # one string cut into lines where the bank's line ended (Rabobank at 64 characters, mid-word):
    # the spaces that belong to the text are inside it, the line breaks carry nothing
    flat = raw.replace("\n", "").strip()
    parts = _SLASH.split(flat)
    if not flat.startswith("/") or len(parts) < 3 or parts[0]:
        return None
    fields: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2]):
        # a key may repeat (ABN AMRO: "/REMI//REMI/Issuer: CUR Ref: ..."); keep every value
        fields[key] = " ".join(v for v in (fields.get(key), value.strip(" /")) if v)
    texts = [fields.get("REMI"), fields.get("USTD"), fields.get("CUR"), _eref(fields.get("EREF"))]
    return clean(fields.get("NAME")), clean(fields.get("IBAN")), texts


def _numbered_fields(raw: str) -> tuple[str | None, str | None, list[str | None]] | None:
    # like the slash layout: sub-fields are cut wherever the line ends
    flat = raw.replace("\n", "")
    layout = re.match(r"\d{3}([?>])\d{2}", flat)
    if not layout:
        return None
    pieces = re.split(re.escape(layout.group(1)) + r"(\d{2})", flat[3:])
    fields: dict[int, str] = {}
    for code, value in zip(pieces[1::2], pieces[2::2]):
        fields[int(code)] = fields.get(int(code), "") + value
    purpose = "".join(fields.get(c, "") for c in [*range(20, 30), *range(60, 64)])
    name = " ".join(fields.get(c, "") for c in (32, 33))
    return clean(name), clean(fields.get(31)), [purpose]


def _eref(value: object) -> str | None:
    ref = _ref(value)
    return f"EREF+{ref}" if ref else None


def _ref(value: object) -> str | None:
    text = clean(value)
    return None if not text or text.upper() in NO_REFERENCE else text
