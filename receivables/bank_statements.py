"""Payments straight from bank statements: ISO 20022 camt.053 and SWIFT MT940.

Each reader turns the *credit* entries of a statement into the canonical ``payments`` frame
(``receivables.schemas.PAYMENTS``): money in int cents, dates as ``datetime64``, blank text
NA, index = the payment's record number in the file (starting at 1).  Debits, reversals and
entries that are not booked are not customer payments and are skipped.

A bank account belongs to one company code, so the caller says which.  ``payment_id`` is
derived from the statement, never random, so reading the same file twice gives the same ids:
``<statement id>/<entry number>`` for camt.053 (``/<transaction number>`` added for each
payment of a batch entry) and ``<account>/<statement number>/<entry number>`` for MT940.

MT940 is parsed with the maintained ``mt-940`` library (German ``:86:`` sub-fields ``?20``-
``?29``, ``?31``-``?33`` and the SEPA keywords ``EREF+``/``SVWZ+`` included); camt.053 with the
standard library's XML parser, namespace-agnostic so every camt.053.001.xx version reads.
A file that cannot be read raises ``InputRejected`` naming the file and the entry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import mt940
import pandas as pd

from receivables.errors import InputRejected
from receivables.money import to_cents
from receivables.schemas import PAYMENTS

#: an extra column (kept and ignored by later stages): the account the statement is for
ACCOUNT_COLUMN = "statement_account"

_TEXT_COLUMNS = (
    "payment_id",
    "company_code",
    "currency",
    "customer_id",
    "payer_name",
    "payer_iban",
    "remittance_info",
    "bank_reference",
)


def read_bank_statement(source: Path | str, company_code: str) -> pd.DataFrame:
    """Credit entries of a camt.053 or MT940 file (told apart by content) as ``payments``."""
    path = Path(source)
    data = _read_bytes(path)
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return read_camt053(data, company_code, name=path.name)
    return read_mt940(data, company_code, name=path.name)


# --- camt.053 -----------------------------------------------------------------------------------


def read_camt053(source: Path | str | bytes, company_code: str, *, name: str | None = None) -> pd.DataFrame:
    """Booked credit entries (``CdtDbtInd`` CRDT) of an ISO 20022 camt.053 statement file.

    A batch entry with one ``TxDtls`` per transfer gives one payment per transfer; a batch
    without transaction amounts stays one payment for the entry amount.
    """
    data, name = _source(source, name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputRejected(f"not a well-formed XML file ({exc})", file=name) from exc
    if _local(root.tag) != "Document" or root.find("{*}BkToCstmrStmt") is None:
        raise InputRejected(
            "not a camt.053 bank-to-customer statement (no Document/BkToCstmrStmt)",
            file=name,
            hint="camt.052 and camt.054 are not statements of booked entries.",
        )
    rows: list[dict[str, Any]] = []
    for s_no, stmt in enumerate(root.iterfind("{*}BkToCstmrStmt/{*}Stmt"), start=1):
        stmt_id = _text(stmt, "{*}Id") or f"STMT{s_no}"
        account = _text(stmt, "{*}Acct/{*}Id/{*}IBAN") or _text(stmt, "{*}Acct/{*}Id/{*}Othr/{*}Id")
        acct_ccy = _text(stmt, "{*}Acct/{*}Ccy")
        for e_no, entry in enumerate(stmt.iterfind("{*}Ntry"), start=1):
            where = f"statement {stmt_id}, entry {e_no}"
            rows.extend(_camt_entry(entry, name, where, f"{stmt_id}/{e_no}", account, acct_ccy, company_code))
    return _frame(rows)


def _camt_entry(
    entry: ET.Element,
    file: str,
    where: str,
    entry_id: str,
    account: str | None,
    acct_ccy: str | None,
    company_code: str,
) -> list[dict[str, Any]]:
    indicator = _text(entry, "{*}CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise InputRejected(f"{where}: CdtDbtInd must be CRDT or DBIT", file=file, column="CdtDbtInd", value=indicator)
    status = _text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts")
    reversal = (_text(entry, "{*}RvslInd") or "").lower() == "true"
    if indicator != "CRDT" or reversal or (status and status != "BOOK"):
        return []
    amount, currency = _camt_amount(entry.find("{*}Amt"), file, where)
    currency = currency or acct_ccy
    value_date = _camt_date(entry, "{*}ValDt", file, where) or _camt_date(entry, "{*}BookgDt", file, where)
    if value_date is None:
        raise InputRejected(
            f"{where}: the entry has neither a value date nor a booking date", file=file, column="ValDt"
        )
    entry_ref = _text(entry, "{*}AcctSvcrRef") or _text(entry, "{*}NtryRef")
    txs = entry.findall("{*}NtryDtls/{*}TxDtls")
    amounts = [_camt_tx_amount(tx, file, f"{where}, transaction {t}") for t, tx in enumerate(txs, start=1)]
    credit_txs = [
        (t, tx, a)
        for t, (tx, a) in enumerate(zip(txs, amounts), start=1)
        if (_text(tx, "{*}CdtDbtInd") or "CRDT") == "CRDT"
    ]
    split = len(txs) > 1 and all(a is not None for a in amounts)
    if split:
        total = sum(a[0] for _, _, a in credit_txs if a is not None) - sum(
            a[0] for tx, a in zip(txs, amounts) if a is not None and _text(tx, "{*}CdtDbtInd") == "DBIT"
        )
        if total != amount:
            raise InputRejected(
                f"{where}: the batch's transactions add up to {total / 100:.2f}, "
                f"not to the entry amount {amount / 100:.2f}",
                file=file,
                column="TxDtls/Amt",
            )
        out = []
        for t, tx, a in credit_txs:
            assert a is not None
            out.append(
                _camt_row(
                    [tx],
                    f"{entry_id}/{t}",
                    a[0],
                    a[1] or currency,
                    value_date,
                    entry_ref,
                    account,
                    company_code,
                    file,
                    where,
                )
            )
        return out
    row = _camt_row(txs, entry_id, amount, currency, value_date, entry_ref, account, company_code, file, where)
    if row["remittance_info"] is None:
        # some banks put the whole purpose in the entry's additional information only
        row["remittance_info"] = _text(entry, "{*}AddtlNtryInf")
    return [row]


def _camt_row(
    txs: list[ET.Element],
    payment_id: str,
    amount: int,
    currency: str | None,
    value_date: pd.Timestamp,
    entry_ref: str | None,
    account: str | None,
    company_code: str,
    file: str,
    where: str,
) -> dict[str, Any]:
    if not currency:
        raise InputRejected(f"{where}: the amount has no currency (Ccy)", file=file, column="Amt")
    names, ibans, texts, refs = [], [], [], []
    for tx in txs:
        names.append(
            _text(tx, "{*}RltdPties/{*}Dbtr/{*}Nm")
            or _text(tx, "{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm")
            or _text(tx, "{*}RltdPties/{*}UltmtDbtr/{*}Nm")
            or _text(tx, "{*}RltdPties/{*}UltmtDbtr/{*}Pty/{*}Nm")
        )
        ibans.append(
            _text(tx, "{*}RltdPties/{*}DbtrAcct/{*}Id/{*}IBAN")
            or _text(tx, "{*}RltdPties/{*}DbtrAcct/{*}Id/{*}Othr/{*}Id")
        )
        texts.extend(t.strip() for t in (e.text for e in tx.iterfind("{*}RmtInf/{*}Ustrd")) if t and t.strip())
        for strd in tx.iterfind("{*}RmtInf/{*}Strd"):
            texts.extend(_text(d, "{*}Nb") or "" for d in strd.iterfind("{*}RfrdDocInf"))
            texts.append(_text(strd, "{*}CdtrRefInf/{*}Ref") or "")
            texts.extend((e.text or "").strip() for e in strd.iterfind("{*}AddtlRmtInf"))
        e2e = _text(tx, "{*}Refs/{*}EndToEndId")
        if e2e and e2e.upper() != "NOTPROVIDED":
            texts.append(f"EREF+{e2e}")
        refs.append(_text(tx, "{*}Refs/{*}AcctSvcrRef") or e2e)
    return {
        "payment_id": payment_id,
        "company_code": company_code,
        "value_date": value_date,
        "amount": amount,
        "currency": currency,
        "customer_id": None,
        "payer_name": _one(names),
        "payer_iban": _one(ibans),
        "remittance_info": " ".join(t for t in texts if t) or None,
        "bank_reference": (refs[0] if len(txs) == 1 and refs[0] else None) or entry_ref,
        ACCOUNT_COLUMN: account,
    }


def _camt_amount(el: ET.Element | None, file: str, where: str) -> tuple[int, str | None]:
    if el is None or not (el.text or "").strip():
        raise InputRejected(f"{where}: the entry has no amount", file=file, column="Amt")
    return _cents(el.text or "", file, where, "Amt"), el.get("Ccy")


def _camt_tx_amount(tx: ET.Element, file: str, where: str) -> tuple[int, str | None] | None:
    # camt.053.001.02 puts it in AmtDtls/TxAmt/Amt; later versions also directly in TxDtls/Amt
    el = tx.find("{*}Amt")
    if el is None:
        el = tx.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
    if el is None:
        return None
    return _camt_amount(el, file, where)


def _camt_date(entry: ET.Element, path: str, file: str, where: str) -> pd.Timestamp | None:
    text = _text(entry, f"{path}/{{*}}Dt") or (_text(entry, f"{path}/{{*}}DtTm") or "")[:10]
    if not text:
        return None
    try:
        return pd.Timestamp(text).normalize()
    except ValueError as exc:
        raise InputRejected(f"{where}: not a date", file=file, column=_local(path), value=text) from exc


# --- MT940 --------------------------------------------------------------------------------------


def read_mt940(source: Path | str | bytes, company_code: str, *, name: str | None = None) -> pd.DataFrame:
    """Credit entries (``:61:`` mark C) of a SWIFT MT940 file, several statements allowed.

    The ``:86:`` details feed payer name, payer account and remittance text: the German
    structured layout (``?20``-``?29`` purpose with ``EREF+``/``SVWZ+``, ``?31`` account,
    ``?32``/``?33`` name) is split into its fields, any other layout is kept as free text.
    """
    data, name = _source(source, name)
    text = _decode(data, name)
    if not re.search(r"(?m)^:20:", text) or not re.search(r"(?m)^:25:", text):
        raise InputRejected("not an MT940 statement (no :20: and :25: fields)", file=name)
    _check_mt940_entries(text, name)
    try:
        statements = mt940.parse_statements(text, options=mt940.Options.all())
    except Exception as exc:  # the library raises bare RuntimeError/ValueError on bad fields
        raise InputRejected(f"the MT940 statement cannot be parsed: {exc}", file=name) from exc
    rows: list[dict[str, Any]] = []
    for s_no, stmt in enumerate(statements, start=1):
        account = _clean(stmt.data.get("account_identification"))
        number = _clean(stmt.data.get("statement_number")) or str(s_no)
        seq = _clean(stmt.data.get("sequence_number"))
        stmt_key = f"{account or 'ACCOUNT'}/{number}" + (f"-{seq}" if seq else "")
        for e_no, tx in enumerate(stmt, start=1):
            where = f"statement {stmt_key}, entry {e_no}"
            row = _mt940_row(tx.data, f"{stmt_key}/{e_no}", account, company_code, name, where)
            if row is not None:
                rows.append(row)
    return _frame(rows)


#: the fixed part of a :61: line (SWIFT): value date, optional entry date, mark, amount
_MT940_ENTRY = re.compile(r"^\d{6}(\d{4})?R?[CD][A-Z]?\d{1,12},\d{0,2}[A-Z][A-Z0-9]{3}")


def _check_mt940_entries(text: str, file: str) -> None:
    """Name the statement and entry of a malformed :61: line before the library trips on it."""
    statement, entry = "?", 0
    for line in text.splitlines():
        if line.startswith(":28C:"):
            statement, entry = line[5:].strip(), 0
        elif line.startswith(":61:"):
            entry += 1
            if not _MT940_ENTRY.match(line[4:]):
                raise InputRejected(
                    f"statement {statement}, entry {entry}: the :61: line is not "
                    "'value date YYMMDD, [entry date MMDD], C/D/RC/RD, amount with a decimal comma, transaction type'",
                    file=file,
                    column=":61:",
                    value=line[4:],
                )


def _mt940_row(
    d: dict[str, Any], payment_id: str, account: str | None, company_code: str, file: str, where: str
) -> dict[str, Any] | None:
    status = str(d.get("status") or "").upper()
    if status not in ("C", "D", "RC", "RD"):
        raise InputRejected(f"{where}: the :61: line has no debit/credit mark", file=file, column=":61:", value=status)
    if status != "C":  # debits, and reversals (RC/RD) are corrections, not customer payments
        return None
    amt = d.get("amount")
    if amt is None:
        raise InputRejected(f"{where}: the :61: line has no amount", file=file, column=":61:")
    amount = _cents(str(amt.amount), file, where, ":61:")
    if amount <= 0:
        raise InputRejected(
            f"{where}: a credit entry must have a positive amount", file=file, column=":61:", value=amt.amount
        )
    currency = _clean(getattr(amt, "currency", None)) or _clean(d.get("currency"))
    if not currency:
        raise InputRejected(f"{where}: no currency (the :60F: opening balance names it)", file=file, column=":60F:")
    value_date = d.get("date") or d.get("entry_date")
    if value_date is None:
        raise InputRejected(f"{where}: the :61: line has no value date", file=file, column=":61:")
    purpose = _clean(d.get("purpose"))
    eref = _clean(d.get("end_to_end_reference"))
    kref = _clean(d.get("customer_reference")) if "customer_reference" in d else None
    raw_details = _clean(d.get("transaction_details"))
    parts = []
    if purpose:
        parts.append(purpose)
    elif raw_details:  # not the German ?-layout: the whole :86: is the text
        parts.append(re.sub(r"\s+", " ", raw_details))
    if eref and eref.upper() != "NOTPROVIDED":
        parts.append(f"EREF+{eref}")
    bank_ref = _clean(d.get("bank_reference"))
    if kref and kref.upper() != "NONREF":
        bank_ref = bank_ref or kref
    return {
        "payment_id": payment_id,
        "company_code": company_code,
        "value_date": pd.Timestamp(value_date).normalize(),
        "amount": amount,
        "currency": currency.upper(),
        "customer_id": None,
        "payer_name": _clean(d.get("applicant_name")),
        "payer_iban": _clean(d.get("applicant_iban")),
        "remittance_info": " ".join(parts) or None,
        "bank_reference": bank_ref,
        ACCOUNT_COLUMN: account,
    }


# --- shared -------------------------------------------------------------------------------------


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = PAYMENTS.names + [ACCOUNT_COLUMN]
    frame = pd.DataFrame(rows, columns=columns)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    for c in _TEXT_COLUMNS + (ACCOUNT_COLUMN,):
        s = frame[c].astype("string").str.strip()
        frame[c] = s.mask(s == "", pd.NA)
    frame["amount"] = frame["amount"].astype("int64")
    frame["value_date"] = pd.to_datetime(frame["value_date"]).astype("datetime64[ns]")
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


def _decode(data: bytes, name: str) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # SWIFT character set is ASCII; German banks deliver ISO 8859-1 for umlauts in names
        return data.decode("latin-1")


def _cents(text: str, file: str, where: str, column: str) -> int:
    value = text.strip().replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise InputRejected(f"{where}: not an amount", file=file, column=column, value=text) from exc
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InputRejected(f"{where}: not an amount with at most 2 decimals", file=file, column=column, value=text)
    return to_cents(amount)


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _one(values: list[str | None]) -> str | None:
    present = sorted({v for v in values if v})
    return present[0] if len(present) == 1 else ("; ".join(present) or None)


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].replace("{*}", "")
