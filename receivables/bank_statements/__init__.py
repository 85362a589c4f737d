"""Payments straight from bank statements: ISO 20022 camt.052/053/054 and SWIFT MT940/MT942.

One call per file, for the ingest stage of an extract set's ``statements/`` folder::

    result = read_statement(data, "2026-03-02.xml")   # bytes of the file and its name
    result.payments      # booked credits, columns PAYMENT_COLUMNS (canonical ``payments`` first)
    result.quarantine    # entries that could not be read: file, statement_id, entry_no, reason
    result.counts        # statements, entries, credits, debits/reversals/pending skipped, quarantined

Every booked credit becomes a payment: one per credit transaction detail where the bank gives
them, else one per entry. ``company_code`` and ``customer_id`` are left empty: the caller maps
``account_iban`` (``account_id`` where the bank names no IBAN) to a company code, and cash
application identifies the customer. Amounts are integer cents (never through float), dates
``datetime64``. ``payment_id`` is ``<statement id>/<entry number>[/<transaction number>]``,
the same on every reading of the file. ``bank_reference`` names the booking itself, so the same
booking read from overlapping statements, a camt.054 and its camt.053, or an MT942 and its
MT940 has the same ``(account_id, bank_reference)``: ``drop_duplicate_payments`` keeps one
(the rule is in ``_base.bank_references``).

A problem in one entry quarantines that entry; only a file that is not a statement at all
raises ``InputRejected``. The older strict readers (``read_bank_statement``, ``read_camt053``,
``read_mt940``) remain for callers that want a frame or an error and a company code filled in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from receivables.bank_statements._base import (
    EXTRA_COLUMNS,
    PAYMENT_COLUMNS,
    QUARANTINE_COLUMNS,
    StatementCounts,
    StatementRead,
    payments_frame,
)
from receivables.bank_statements.camt import looks_like_xml, read_camt
from receivables.bank_statements.mt940 import decode, looks_like_mt940, read_mt94x
from receivables.errors import InputRejected

__all__ = [
    "ACCOUNT_COLUMN",
    "EXTRA_COLUMNS",
    "PAYMENT_COLUMNS",
    "QUARANTINE_COLUMNS",
    "StatementCounts",
    "StatementRead",
    "drop_duplicate_payments",
    "read_bank_statement",
    "read_camt053",
    "read_mt940",
    "read_statement",
]

#: the column naming the account a payment was booked to
ACCOUNT_COLUMN = "account_id"


def read_statement(data: bytes, name: str) -> StatementRead:
    """The booked credits of one bank statement file, told apart by content, not by name."""
    if looks_like_xml(data):
        return read_camt(data, name)
    if looks_like_mt940(decode(data[:1_000_000])):
        return read_mt94x(data, name)
    raise InputRejected(
        "not a bank statement: neither an ISO 20022 camt.052/053/054 XML document nor a SWIFT MT940/MT942 "
        "file (an MT940 starts its statements with :20: and names the account in :25:)",
        file=name,
        hint="Put only bank statements in the statements/ folder.",
    )


def drop_duplicate_payments(frames: Iterable[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """The payments of several statement files as one frame, each booking once (the first file
    that reports it wins), and how many duplicates were dropped."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return payments_frame([]), 0
    combined = pd.concat(frames, ignore_index=True)
    duplicate = combined.duplicated(["account_id", "bank_reference"], keep="first")
    kept = combined[~duplicate]
    kept.index = pd.RangeIndex(1, len(kept) + 1)
    return kept, int(duplicate.sum())


# --- the strict readers (a frame or an error) ---------------------------------------------------


def read_bank_statement(source: Path | str, company_code: str) -> pd.DataFrame:
    """Credits of a camt or MT940 file as ``payments`` for one company; any unreadable entry
    rejects the file."""
    path = Path(source)
    return _strict(read_statement(_read_bytes(path), path.name), company_code)


def read_camt053(source: Path | str | bytes, company_code: str, *, name: str | None = None) -> pd.DataFrame:
    """``read_bank_statement`` for a camt file (053, or 052/054)."""
    data, name = _source(source, name)
    return _strict(read_camt(data, name), company_code)


def read_mt940(source: Path | str | bytes, company_code: str, *, name: str | None = None) -> pd.DataFrame:
    """``read_bank_statement`` for an MT940/MT942 file."""
    data, name = _source(source, name)
    return _strict(read_mt94x(data, name), company_code)


def _strict(result: StatementRead, company_code: str) -> pd.DataFrame:
    if len(result.quarantine):
        first = result.quarantine.iloc[0]
        where = f"statement {first['statement_id']}" + (
            "" if pd.isna(first["entry_no"]) else f", entry {int(first['entry_no'])}"
        )
        raise InputRejected(f"{where}: {first['reason']}", file=result.file)
    frame = result.payments.copy()
    frame["company_code"] = pd.Series(company_code, index=frame.index, dtype="string")
    return frame


def _source(source: Path | str | bytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, name or "<bytes>"
    path = Path(source)
    return _read_bytes(path), name or path.name


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputRejected(f"the bank statement cannot be read ({exc.strerror})", file=str(path)) from exc
