"""The refund proposals as files a finance team imports: per company code a CSV for the ERP
(every proposal) and a SEPA credit transfer (pain.001, built by ``sepaxml``) for the bank with
the EUR proposals that have a customer IBAN, both under ``reports_dir/<as_of>/``
(docs/refunds.md).

The company pays from its ``refund_account`` in ``companies.yaml`` when it names one, else from
``bank.iban``, else from the first of its ``bank_accounts``; an account that fails its IBAN
checksum writes no transfer file, and the CSV says why for each row.  The message id and the
payment-information id are derived from the file's content, so a rerun with the same proposals
writes a file a bank recognises as the one it already has (banks refuse a repeated MsgId).
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd
import sepaxml
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError

from receivables.money import to_decimal
from receivables.reporting_config import RefundRules

CSV_COLUMNS = [
    "document",
    "company_code",
    "customer",
    "name",
    "iban",
    "amount",
    "currency",
    "reference",
    "documents",
    "execution_date",
    "in_transfer_file",
    "note",
]
#: SEPA credit transfers are in euro only
SEPA_CURRENCY = "EUR"
_REMITTANCE_MAX = 140


def debtor_account(company: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The company's account refunds are paid from: (IBAN, BIC or None, None), or (None, None,
    why not)."""
    bank = company.get("bank") or {}
    account, bic = company.get("refund_account"), company.get("refund_bic")
    if not account:
        account, bic = bank.get("iban"), bank.get("bic")
    if not account:
        account = next(iter(company.get("bank_accounts") or []), None)
    if not account:
        return None, None, "the company has no IBAN to pay refunds from (refund_account, bank.iban, bank_accounts)"
    try:
        return IBAN("".join(str(account).split())).compact, (str(bic) if bic else None), None
    except SchwiftyException as exc:
        return None, None, f"the company's account {account} to pay refunds from is not a valid IBAN ({exc})"


def remittance(row: dict) -> str:
    """What the customer's bank statement shows: the refund id and the documents behind it."""
    text = f"Refund {row['refund_id']} of credit balance {row['documents'].replace(';', ' ')}"
    return text if len(text) <= _REMITTANCE_MAX else text[: _REMITTANCE_MAX - 3] + "..."


def transfer_problem(row: dict, debtor_problem: str | None) -> str | None:
    """Why a proposal is not in the transfer file (None: it is)."""
    if row["currency"] != SEPA_CURRENCY:
        return f"{row['currency']} is not a SEPA currency: pay it by hand"
    if not row["iban"] or pd.isna(row["iban"]):
        return row["note"] or "no customer IBAN"
    return debtor_problem


def refund_csv(proposals: pd.DataFrame, company: dict[str, Any], as_of: date, rules: RefundRules) -> str:
    """Every proposal of one company as a comma-separated ERP import: amounts as decimal text
    with a point (``1234.56``), a blank IBAN where none is usable and the reason in ``note``."""
    _, _, debtor_problem = debtor_account(company)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    execution = (as_of + timedelta(days=rules.execution_days)).isoformat()
    for row in proposals.to_dict("records"):
        problem = transfer_problem(row, debtor_problem)
        iban = row["iban"] if isinstance(row["iban"], str) else ""
        writer.writerow(
            [
                row["refund_id"],
                row["company_code"],
                row["customer_id"],
                row["name"] or "",
                iban,
                str(to_decimal(row["amount"])),
                row["currency"],
                remittance(row),
                row["documents"],
                execution,
                "no" if problem else "yes",
                problem or "",
            ]
        )
    return out.getvalue()


def pain001(proposals: pd.DataFrame, company: dict[str, Any], as_of: date, rules: RefundRules) -> bytes | None:
    """One company's EUR proposals with a customer IBAN as a SEPA credit transfer in
    ``rules.pain_format``, validated against sepaxml's copy of its schema; None when there is none
    (or the company has no valid account to pay from)."""
    debtor, bic, problem = debtor_account(company)
    rows = [r for r in proposals.to_dict("records") if transfer_problem(r, problem) is None]
    if not rows or debtor is None:
        return None
    name = (company.get("bank") or {}).get("account_holder") or company.get("name") or ""
    config = {"name": str(name), "IBAN": debtor, "batch": True, "currency": SEPA_CURRENCY}
    if bic:
        config["BIC"] = bic
    sepa = SepaTransfer(config, schema=rules.pain_format, clean=True)
    execution = as_of + timedelta(days=rules.execution_days)
    for r in rows:
        sepa.add_payment(
            {
                "name": r["name"] or r["customer_id"],
                "IBAN": r["iban"],
                "amount": int(r["amount"]),
                "execution_date": execution,
                "description": remittance(r),
                "endtoend_id": r["refund_id"],
            }
        )
    return _stable_ids(_validated(sepa.export(validate=False), rules.pain_format), rows, as_of)


def _validated(xml: bytes, schema: str) -> bytes:
    """``xml`` when it is valid against the pain schema ``schema``; sepaxml's own check would
    parse the XSD again for every file (~0.6 s each)."""
    import xmlschema  # as sepaxml does: imported late, it patches ElementTree

    try:
        _schema(schema).validate(xml.decode())
    except xmlschema.XMLSchemaValidationError as exc:
        raise ValidationError(
            "The output SEPA file contains validation errors. This is likely due to an illegal value in one of "
            "your input fields."
        ) from exc
    return xml


@lru_cache(maxsize=4)
def _schema(name: str):
    import xmlschema

    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / f"{name}.xsd"))


def _stable_ids(xml: bytes, rows: list[dict], as_of: date) -> bytes:
    """The library's random MsgId and PmtInfId replaced by ids derived from the transfers, so
    the same proposals give the same ids (both Max35Text)."""
    digest = hashlib.sha256("|".join(f"{r['refund_id']}:{r['amount']}" for r in rows).encode()).hexdigest()[:12]
    msg_id = f"RF{as_of:%Y%m%d}-{digest.upper()}"
    namespace = xml.split(b'xmlns="', 1)[1].split(b'"', 1)[0].decode()
    ET.register_namespace("", namespace)
    root = ET.fromstring(xml)
    ns = {"p": namespace}
    root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", ns).text = msg_id
    for i, node in enumerate(root.findall("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId", ns), start=1):
        node.text = f"{msg_id}-{i}"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def write_refund_files(
    folder: Path, refunds: pd.DataFrame, companies: dict[str, dict[str, Any]], as_of: date, rules: RefundRules
) -> dict[str, str]:
    """Per company code with a proposal: ``refunds-<company>-<as_of>.csv``, and
    ``refunds-<company>-<as_of>.pain.001.xml`` when it has a transfer to make.  Returns
    file key -> absolute path (``refunds_csv_<company>``, ``refunds_pain001_<company>``)."""
    files: dict[str, str] = {}
    if refunds is None or refunds.empty:
        return files
    for code, rows in refunds.groupby("company_code", sort=True):
        company = companies.get(str(code), {})
        stem = folder / f"refunds-{code}-{as_of.isoformat()}"
        csv_path = stem.with_name(stem.name + ".csv")
        csv_path.write_text(refund_csv(rows, company, as_of, rules), encoding="utf-8")
        files[f"refunds_csv_{code}"] = str(csv_path.resolve())
        xml = pain001(rows, company, as_of, rules)
        if xml is not None:
            xml_path = stem.with_name(stem.name + ".pain.001.xml")
            xml_path.write_bytes(xml)
            files[f"refunds_pain001_{code}"] = str(xml_path.resolve())
    return files
