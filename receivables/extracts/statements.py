"""The ``statements/`` folder of an extract set: bank files read as payments.

A team whose ERP has no list of unapplied cash gives the bank's camt.053/054 or MT940/MT942
files instead of (or besides) a ``payments`` extract.  Each booked credit becomes a payment
row in the canonical shape; the account's IBAN names the company code (``bank.iban`` and
``bank_accounts`` in ``companies.yaml``); the same booking read from overlapping statements,
or already listed in the ``payments`` extract, counts once.  An entry that cannot be used (an
unreadable entry, an account no company claims) becomes a quarantine record naming the file,
the statement and the entry; only a file that is not a statement rejects the set.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import fsspec
import pandas as pd

from receivables.bank_statements import drop_duplicate_payments, read_statement
from receivables.extracts.source_file import SourceFile

FOLDER = "statements"
#: row numbers of statement payments in the ``payments`` frame start here, far beyond any
#: file's rows, so a quarantine record can be traced back to its statement entry
ROW_BASE = 10_000_000


@dataclass
class StatementPayments:
    """What the statement files of a set give the ``payments`` extract."""

    #: booked credits with a company code, canonical ``payments`` columns, indexed from ROW_BASE
    payments: pd.DataFrame
    #: entries that cannot become a payment: row_number (index), file label, entry, reason
    refused: pd.DataFrame
    sources: list[SourceFile]
    counts: dict[str, int] = field(default_factory=dict)
    #: the accounts (IBAN, else the bank's account id) the files book to
    accounts: list[str] = field(default_factory=list)
    #: row number -> (file label, entry number), for quarantine records
    origins: dict[int, tuple[str, int]] = field(default_factory=dict)


def has_statements(fs: fsspec.AbstractFileSystem, base: str) -> bool:
    path = f"{base.rstrip('/')}/{FOLDER}"
    return fs.isdir(path) and any(fs.isfile(p) for p in fs.ls(path, detail=False))


def read_statement_folder(
    fs: fsspec.AbstractFileSystem, base: str, bank_accounts: dict[str, str], columns: list[str]
) -> StatementPayments:
    """Every file of ``<base>/statements`` as payments of the company its account belongs to."""
    files = sorted(p for p in fs.ls(f"{base.rstrip('/')}/{FOLDER}", detail=False) if fs.isfile(p))
    reads, sources, refused = [], [], []
    counts: dict[str, int] = {"files": len(files)}
    for path in files:
        with fs.open(path, "rb") as fh:
            data = fh.read()
        name = path.rsplit("/", 1)[-1]
        read = read_statement(data, name)
        sources.append(_source_file(path, name, data, len(read.payments) + len(read.quarantine)))
        reads.append(read.payments.assign(source_file=f"{FOLDER}/{name}"))
        refused += [
            (f"{FOLDER}/{name} (statement {q.statement_id})", int(q.entry_no), q.reason)
            for q in read.quarantine.itertuples()
        ]
        for key, value in asdict(read.counts).items():
            counts[key] = counts.get(key, 0) + int(value)
    payments, duplicates = drop_duplicate_payments(reads)
    counts["duplicates_dropped"] = duplicates
    accounts = sorted({_account(r) for r in payments.itertuples()}) if len(payments) else []
    return _assign_companies(payments, refused, sources, counts, accounts, bank_accounts, columns)


def _assign_companies(
    payments: pd.DataFrame,
    refused: list[tuple[str, int, str]],
    sources: list[SourceFile],
    counts: dict[str, int],
    accounts: list[str],
    bank_accounts: dict[str, str],
    columns: list[str],
) -> StatementPayments:
    """Each payment with the company code of its account; a payment to an account no company
    claims is refused (the preflight names the account and the fix)."""
    rows, origins = [], {}
    for p in payments.to_dict("records"):
        label = f"{p['source_file']} (statement {p['statement_id']})"
        company = bank_accounts.get(compact_account(p.get("account_iban") or p.get("account_id") or ""))
        if company is None:
            account = p.get("account_iban") or p.get("account_id")
            refused.append((label, int(p["entry_no"]), f"account {account} belongs to no company code"))
            continue
        origins[ROW_BASE + len(rows)] = (label, int(p["entry_no"]))
        rows.append({**{c: p.get(c) for c in columns}, "company_code": company})
    frame = pd.DataFrame(rows, columns=columns, index=pd.RangeIndex(ROW_BASE, ROW_BASE + len(rows)))
    start = ROW_BASE + len(rows)
    refusals = pd.DataFrame(
        [{"file": f, "entry_no": e, "reason": r} for f, e, r in refused],
        columns=["file", "entry_no", "reason"],
        index=pd.RangeIndex(start, start + len(refused)),
    )
    origins |= {row: (r.file, int(r.entry_no)) for row, r in refusals.iterrows()}
    counts["refused"] = len(refused)
    return StatementPayments(frame, refusals, sources, counts, accounts, origins)


def without_listed(statements: StatementPayments, listed: pd.DataFrame) -> StatementPayments:
    """Statement payments less those the ``payments`` extract already lists (same company
    code and bank reference): the ERP's list of unapplied cash wins."""
    if listed.empty or statements.payments.empty or "bank_reference" not in listed.columns:
        return statements
    known = set(zip(listed["company_code"].astype(str), listed["bank_reference"].astype(str), strict=True))
    p = statements.payments
    keys = zip(p["company_code"].astype(str), p["bank_reference"].astype(str), strict=True)
    again = pd.Series([k in known for k in keys], index=p.index, dtype=bool)
    statements.counts["duplicates_dropped"] += int(again.sum())
    statements.payments = p[~again]
    return statements


def _account(row) -> str:
    return compact_account(getattr(row, "account_iban", None) or getattr(row, "account_id", None) or "")


def compact_account(value: object) -> str:
    """An account as the keys compare it: IBAN without blanks, upper case (blank for none)."""
    return "".join(str(value).split()).upper() if value is not None and not pd.isna(value) else ""


def _source_file(path: str, name: str, data: bytes, rows: int) -> SourceFile:
    return SourceFile(
        extract="payments",
        url=path,
        name=f"{FOLDER}/{name}",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        rows=rows,
        data=data,
    )


def bank_accounts_of(companies: dict[str, dict]) -> dict[str, str]:
    """Account (IBAN, compact, upper case) -> company code, from each company's ``bank.iban``
    and its ``bank_accounts`` list (the accounts statements arrive for)."""
    owners: dict[str, str] = {}
    for code, company in companies.items():
        bank = company.get("bank") or {}
        for account in [bank.get("iban"), *(company.get("bank_accounts") or [])]:
            if account:
                owners[compact_account(account)] = str(code)
    return owners
