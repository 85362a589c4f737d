"""What every statement reader shares: the result object, the payment record, money and date
parsing, and the rule that gives each payment its stable ``bank_reference``.

The format readers (``camt``, ``mt940``) only walk their format and hand over one ``Payment``
per booked credit, or a skip, or a quarantine reason per entry; this module turns that into the
canonical frames, so both formats produce exactly the same columns, types and references.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import pandas as pd

from receivables.money import to_cents, to_decimal
from receivables.schemas import PAYMENTS

#: columns after the canonical ``payments`` ones (kept and ignored by later stages): the caller
#: maps ``account_iban`` (or ``account_id`` where the bank gives no IBAN) to a company code
EXTRA_COLUMNS = ["account_id", "account_iban", "booking_date", "statement_id", "entry_no", "source_file"]
PAYMENT_COLUMNS = PAYMENTS.names + EXTRA_COLUMNS
QUARANTINE_COLUMNS = ["file", "statement_id", "entry_no", "reason"]

#: references that name nothing (SWIFT's "no reference", SEPA's "not provided")
NO_REFERENCE = frozenset({"NONREF", "NOTPROVIDED", "NONE", "N/A"})


class EntryProblem(Exception):
    """One entry cannot be read; the reader quarantines it and goes on with the next."""


@dataclass
class StatementCounts:
    """What a file held. Debits, reversals and pending entries are counted per entry;
    ``credits`` per payment read (a batch entry split into its transactions counts each)."""

    statements: int = 0
    entries: int = 0
    credits: int = 0
    debits_skipped: int = 0
    reversals_skipped: int = 0
    pending_skipped: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class StatementRead:
    """One statement file read: its booked credits as ``payments`` rows (``PAYMENT_COLUMNS``),
    the entries that could not be read (``QUARANTINE_COLUMNS``) and the counts."""

    file: str
    format: str
    payments: pd.DataFrame
    quarantine: pd.DataFrame
    counts: StatementCounts


@dataclass
class Payment:
    """One booked credit as a reader found it, before the file-wide reference rule runs."""

    payment_id: str
    statement_id: str
    entry_no: int
    account_id: str | None
    account_iban: str | None
    value_date: date
    booking_date: date | None
    amount: int
    currency: str
    payer_name: str | None
    payer_iban: str | None
    remittance_info: str | None
    #: the account servicer's own reference(s) for this booking, if the bank gave any
    servicer_ref: str | None
    #: further text that tells this booking apart (payer references, raw details, detail number)
    fingerprint: list[str] = field(default_factory=list)


class Collector:
    """Gathers a file's payments, skips and quarantines; ``result`` builds the frames."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.counts = StatementCounts()
        self.payments: list[Payment] = []
        self.problems: list[dict[str, object]] = []
        self._statement_ids: Counter[str] = Counter()

    def statement(self, wanted: str) -> str:
        """Count a statement and return its id, numbered when the file repeats one
        (``0`` twice in one Rabobank file), so payment ids stay unique."""
        self.counts.statements += 1
        self._statement_ids[wanted] += 1
        n = self._statement_ids[wanted]
        return wanted if n == 1 else f"{wanted}#{n}"

    def skip(self, kind: str) -> None:
        attr = {"debit": "debits_skipped", "reversal": "reversals_skipped", "pending": "pending_skipped"}[kind]
        setattr(self.counts, attr, getattr(self.counts, attr) + 1)

    def quarantine(self, statement_id: str, entry_no: int | None, reason: str) -> None:
        self.counts.quarantined += 1
        self.problems.append({"file": self.file, "statement_id": statement_id, "entry_no": entry_no, "reason": reason})

    def add(self, payments: list[Payment]) -> None:
        self.counts.credits += len(payments)
        self.payments.extend(payments)

    def result(self, fmt: str) -> StatementRead:
        refs = bank_references(self.payments)
        rows = [_row(p, ref, self.file) for p, ref in zip(self.payments, refs)]
        quarantine = pd.DataFrame(self.problems, columns=QUARANTINE_COLUMNS)
        quarantine["entry_no"] = quarantine["entry_no"].astype("Int64")
        return StatementRead(self.file, fmt, payments_frame(rows), quarantine, self.counts)


# --- the bank reference -------------------------------------------------------------------------


def bank_references(payments: list[Payment]) -> list[str]:
    """The ``bank_reference`` of each payment: equal for the same booking in overlapping
    statements and reruns, different for different bookings.

    1. The account servicer's reference (camt ``AcctSvcrRef``, MT940 ``:61:`` ``//`` reference)
       where the bank gives one: it names the booking, whichever file reports it.
    2. Otherwise ``H:`` and a SHA-256 digest of account, booking and value date, currency,
       amount, payer, remittance text and the payer's references (EndToEndId, TxId, ``:61:``
       customer reference, raw ``:86:``): payer-chosen references alone repeat across payers.
    3. One statement lists each booking once, so a servicer reference shared by two payments of
       one statement is a placeholder (``Bankreferenz``): those payments fall back to rule 2.
    4. Payments of one statement that are identical in every field are numbered ``#2``, ``#3``.

    Duplicates are rows with the same ``account_id`` and ``bank_reference``.
    """
    refs = [p.servicer_ref or _digest(p) for p in payments]
    shared = Counter((p.account_id, p.statement_id, r) for p, r in zip(payments, refs))
    refs = [_digest(p) if shared[(p.account_id, p.statement_id, r)] > 1 else r for p, r in zip(payments, refs)]
    seen: Counter[tuple[str | None, str, str]] = Counter()
    out = []
    for p, r in zip(payments, refs):
        seen[(p.account_id, p.statement_id, r)] += 1
        n = seen[(p.account_id, p.statement_id, r)]
        out.append(r if n == 1 else f"{r}#{n}")
    return out


def _digest(p: Payment) -> str:
    parts = [
        p.account_id or "",
        p.booking_date.isoformat() if p.booking_date else "",
        p.value_date.isoformat(),
        p.currency,
        str(p.amount),
        p.payer_iban or "",
        p.payer_name or "",
        p.remittance_info or "",
        *p.fingerprint,
    ]
    return "H:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


# --- values -------------------------------------------------------------------------------------


def cents(value: str | Decimal | None, what: str = "amount") -> int:
    """An amount as integer cents, never through float. ``105.750`` is 105.75 (a trailing zero
    is not a third decimal); ``12.345`` is refused, as is a negative or unreadable amount."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise EntryProblem(f"the entry has no {what}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value.strip())
    except InvalidOperation:
        raise EntryProblem(f"the {what} {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise EntryProblem(f"the {what} {value!r} is not an amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise EntryProblem(f"the {what} {value!r} is not an amount with at most 2 decimals")
    return to_cents(amount)


def money_text(amount_cents: int) -> str:
    return f"{to_decimal(amount_cents):.2f}"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(text: str | None, what: str) -> date | None:
    """An ISO date, also when written with a time or a time-zone offset (``2017-04-11+02:00``,
    ``2014-12-31T13:15:00+01:00``): the date the bank wrote is the date, not converted to UTC."""
    if not text:
        return None
    head = text.strip()[:10]
    try:
        if not _ISO_DATE.fullmatch(head):
            raise ValueError(head)
        return date.fromisoformat(head)
    except ValueError:
        raise EntryProblem(f"the {what} {text.strip()!r} is not a date") from None


_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def iban_in(account: str | None) -> str | None:
    """The IBAN in an account identification such as ``BPHKPLPK/PL29...`` or ``NL71RABO...EUR``:
    a part with valid check digits first, else the first part shaped like an IBAN."""
    if not account:
        return None
    parts = account.replace(" ", "").upper().split("/")
    candidates = [c for p in parts for c in (p, p[:-3]) if _IBAN.fullmatch(c)]
    valid = [c for c in candidates if _mod97(c)]
    if valid:
        return valid[0]
    return next((p for p in parts if _IBAN.fullmatch(p) and not p[-3:].isalpha()), None)


def _mod97(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def clean(value: object) -> str | None:
    """Text with its whitespace runs (line breaks, tabs, padding) as single spaces; blank is None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def join_texts(parts: list[str | None]) -> str | None:
    """Remittance pieces as one text, each piece once, in the order the bank gave them."""
    out: list[str] = []
    for part in parts:
        text = clean(part)
        # a piece another piece already holds as whole words (an EndToEndId the bank repeats in
        # its additional information) adds nothing; "123" inside "1234" is not such a piece
        inside = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)") if text else None
        if inside and not any(inside.search(seen) for seen in out):
            out.append(text)
    return " ".join(out) or None


def one_of(values: list[str | None]) -> str | None:
    """The value several transactions of one payment share, or all of them ``;``-separated."""
    present = list(dict.fromkeys(v for v in values if v))
    return "; ".join(present) or None


# --- frames -------------------------------------------------------------------------------------


def _row(p: Payment, bank_reference: str, file: str) -> dict[str, object]:
    return {
        "payment_id": p.payment_id,
        "company_code": None,
        "value_date": p.value_date,
        "amount": p.amount,
        "currency": p.currency.upper(),
        "customer_id": None,
        "payer_name": p.payer_name,
        "payer_iban": p.payer_iban,
        "remittance_info": p.remittance_info,
        "bank_reference": bank_reference,
        "account_id": p.account_id,
        "account_iban": p.account_iban,
        "booking_date": p.booking_date,
        "statement_id": p.statement_id,
        "entry_no": p.entry_no,
        "source_file": file,
    }


_TEXT_COLUMNS = [c for c in PAYMENT_COLUMNS if c not in ("value_date", "amount", "booking_date", "entry_no")]


def payments_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The canonical typed frame: int64 cents, ``datetime64`` dates, stripped text with blank as
    NA, index = the payment's record number in the file (from 1)."""
    frame = pd.DataFrame(rows, columns=PAYMENT_COLUMNS)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    for c in _TEXT_COLUMNS:
        s = frame[c].astype("string").str.strip()
        frame[c] = s.mask(s == "", pd.NA)
    frame["amount"] = frame["amount"].astype("int64")
    for c in ("value_date", "booking_date"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    frame["entry_no"] = frame["entry_no"].astype("Int64")
    return frame
