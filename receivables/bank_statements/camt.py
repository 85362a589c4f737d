"""ISO 20022 bank-to-customer messages as payments: camt.053 statements (.001.02 to .001.08),
camt.054 debit/credit notifications and camt.052 account reports, any namespace version.

Read with the standard library's XML parser and namespace wildcards, so one reader serves every
version: the elements it needs kept their names and places from .001.02 on (only a party's name
moved under ``Pty`` in .001.08, which is looked up too). Each booked credit entry gives one
payment per credit transaction detail (``NtryDtls/TxDtls``) when the details' amounts add up to
the entry, else one payment for the entry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

from receivables.bank_statements._base import (
    NO_REFERENCE,
    Collector,
    EntryProblem,
    Payment,
    StatementRead,
    cents,
    iban_in,
    iso_date,
    join_texts,
    money_text,
    one_of,
)
from receivables.errors import InputRejected

#: message element -> the element of one account's statement, notification or report inside it
_CONTAINERS = {"BkToCstmrStmt": "Stmt", "BkToCstmrDbtCdtNtfctn": "Ntfctn", "BkToCstmrAcctRpt": "Rpt"}
_MESSAGE_NAMES = {"BkToCstmrStmt": "camt.053", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrAcctRpt": "camt.052"}


def looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_camt(data: bytes, name: str) -> StatementRead:
    """Booked credits of a camt.052/053/054 file; see the package docstring for the result."""
    message, fmt = _message(_parse_xml(data, name), name)
    out = Collector(name)
    for s_no, stmt in enumerate(message.iterfind("{*}" + _CONTAINERS[_local(message.tag)]), start=1):
        _read_statement(stmt, s_no, out)
    return out.result(fmt)


def _parse_xml(data: bytes, name: str) -> ET.Element:
    # expat refuses whitespace before the XML declaration; some exports start with a blank line
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputRejected(f"not a well-formed XML file ({exc})", file=name) from exc


def _message(root: ET.Element, name: str) -> tuple[ET.Element, str]:
    """The bank-to-customer message element, also inside an envelope, and the format name."""
    for el in root.iter():
        local = _local(el.tag)
        if local in _CONTAINERS:
            namespace = el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""
            version = re.search(r"camt\.\d{3}\.\d{3}\.\d{2}", namespace)
            return el, version.group(0) if version else _MESSAGE_NAMES[local]
    raise InputRejected(
        f"an XML document, but not an ISO 20022 bank statement: its root element is <{_local(root.tag)}> "
        "and it holds no BkToCstmrStmt (camt.053), BkToCstmrDbtCdtNtfctn (camt.054) or BkToCstmrAcctRpt "
        "(camt.052)",
        file=name,
        hint="Put only bank statements in the statements/ folder.",
    )


class _Account:
    """The statement an entry belongs to: its id and the account it reports."""

    def __init__(self, stmt: ET.Element, statement_id: str) -> None:
        self.statement_id = statement_id
        iban = "".join((_text(stmt, "{*}Acct/{*}Id/{*}IBAN") or "").split()).upper() or None
        other = _text(stmt, "{*}Acct/{*}Id/{*}Othr/{*}Id")
        # some banks put the IBAN in Othr/Id (genkgo's .001.08 sample does)
        self.iban = iban or iban_in(other)
        self.account_id = iban or other
        self.currency = _text(stmt, "{*}Acct/{*}Ccy")


def _read_statement(stmt: ET.Element, s_no: int, out: Collector) -> None:
    account = _Account(stmt, out.statement(_text(stmt, "{*}Id") or f"#{s_no}"))
    for e_no, entry in enumerate(stmt.iterfind("{*}Ntry"), start=1):
        out.counts.entries += 1
        try:
            kind = _kind(entry)
            if kind == "credit":
                out.add(_entry_payments(entry, account, e_no))
            else:
                out.skip(kind)
        except EntryProblem as problem:
            out.quarantine(account.statement_id, e_no, str(problem))


def _kind(entry: ET.Element) -> str:
    # <Sts>BOOK</Sts> up to .001.06, <Sts><Cd>BOOK</Cd></Sts> from .001.07; a statement without
    # a status lists booked entries (it is the statement of the account)
    status = (
        _text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts/{*}Prtry") or _text(entry, "{*}Sts") or "BOOK"
    ).upper()
    if status != "BOOK":
        return "pending"
    if (_text(entry, "{*}RvslInd") or "").lower() in ("true", "1"):
        return "reversal"
    indicator = _text(entry, "{*}CdtDbtInd")
    if indicator == "DBIT":
        return "debit"
    if indicator == "CRDT":
        return "credit"
    raise EntryProblem(f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}")


def _entry_payments(entry: ET.Element, account: _Account, e_no: int) -> list[Payment]:
    amount_el = entry.find("{*}Amt")
    amount = cents(amount_el.text if amount_el is not None else None)
    if amount == 0:
        raise EntryProblem("a credit of 0.00 is not a payment")
    currency = (amount_el.get("Ccy") if amount_el is not None else None) or account.currency
    if not currency:
        raise EntryProblem("the amount has no currency (Amt/@Ccy)")
    value_date = _date(entry, "ValDt", "value date")
    booking_date = _date(entry, "BookgDt", "booking date")
    if value_date is None and booking_date is None:
        raise EntryProblem("the entry has neither a value date nor a booking date")
    base = {
        "statement_id": account.statement_id,
        "entry_no": e_no,
        "account_id": account.account_id,
        "account_iban": account.iban,
        "value_date": value_date or booking_date,
        "booking_date": booking_date,
        "currency": currency,
    }
    txs = entry.findall("{*}NtryDtls/{*}TxDtls")
    split = _split(txs, amount, currency)
    if split is None:
        return [_whole_entry(entry, txs, amount, base)]
    refs = _detail_refs(txs, _ref(_text(entry, "{*}AcctSvcrRef")))
    return [
        Payment(
            payment_id=f"{account.statement_id}/{e_no}/{t_no}",
            amount=tx_amount,
            payer_name=_payer_name(tx),
            payer_iban=_payer_iban(tx),
            remittance_info=join_texts(_remittance(tx)),
            servicer_ref=refs[t_no - 1],
            fingerprint=[str(t_no), *(r or "" for r in _tx_refs(tx))],
            **base,
        )
        for t_no, tx, tx_amount in split
    ]


def _whole_entry(entry: ET.Element, txs: list[ET.Element], amount: int, base: dict[str, Any]) -> Payment:
    """One payment for the entry amount, with what all its details (if any) say."""
    texts = [t for tx in txs for t in _remittance(tx)]
    if not any(tx.find("{*}RmtInf") is not None for tx in txs):
        # the entry's information summarises its details (ABN AMRO repeats them as a
        # /TRTP/.../REMI/ string); without remittance details it is often the only text
        texts.append(_text(entry, "{*}AddtlNtryInf"))
    entry_ref = _ref(_text(entry, "{*}AcctSvcrRef"))
    return Payment(
        payment_id=f"{base['statement_id']}/{base['entry_no']}",
        amount=amount,
        payer_name=one_of([_payer_name(tx) for tx in txs]),
        payer_iban=one_of([_payer_iban(tx) for tx in txs]),
        remittance_info=join_texts(texts),
        servicer_ref=entry_ref or (_tx_refs(txs[0])[0] if len(txs) == 1 else None),
        fingerprint=[r or "" for tx in txs for r in _tx_refs(tx)],
        **base,
    )


def _split(txs: list[ET.Element], amount: int, currency: str) -> list[tuple[int, ET.Element, int]] | None:
    """The credit details of a batch entry with their amounts, or None when the entry stays one
    payment: one detail (its amount may be the instructed amount in another currency), or
    details without amounts or in another currency (the bank gave no split to book by)."""
    if len(txs) < 2:
        return None
    amounts = []
    for tx in txs:
        el = tx.find("{*}Amt")
        if el is None:  # .001.02 has no TxDtls/Amt, only the amount details
            el = tx.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
        if el is None or (el.get("Ccy") or currency) != currency:
            return None
        amounts.append(cents(el.text, "transaction amount"))
    debit = [(_text(tx, "{*}CdtDbtInd") or "CRDT") == "DBIT" for tx in txs]
    net = sum(-a if d else a for a, d in zip(amounts, debit))
    if net != amount:
        raise EntryProblem(
            f"the batch's transactions add up to {money_text(net)}, not to the entry amount {money_text(amount)}"
        )
    return [(t_no, tx, a) for t_no, (tx, a, d) in enumerate(zip(txs, amounts, debit), start=1) if not d]


def _detail_refs(txs: list[ET.Element], entry_ref: str | None) -> list[str | None]:
    """The servicer reference of each detail of a split batch: its own ``AcctSvcrRef`` when it
    has one that no sibling shares; else the entry's reference with the detail's first payer
    reference (TxId, EndToEndId, InstrId) or, failing that, its position in the batch."""
    own = [_ref(_text(tx, "{*}Refs/{*}AcctSvcrRef")) for tx in txs]
    own = [r if r != entry_ref else None for r in own]
    payer = [next((r for r in _tx_refs(tx)[1:] if r), None) for tx in txs]
    out: list[str | None] = []
    for t_no, (mine, theirs) in enumerate(zip(own, payer), start=1):
        if mine and own.count(mine) == 1:
            out.append(mine)
        elif entry_ref:
            out.append(f"{entry_ref}/{theirs if theirs and payer.count(theirs) == 1 else f'#{t_no}'}")
        else:
            out.append(None)
    return out


def _tx_refs(tx: ET.Element) -> list[str | None]:
    """AcctSvcrRef, TxId, EndToEndId, InstrId of a detail ("NOTPROVIDED" is none)."""
    return [_ref(_text(tx, f"{{*}}Refs/{{*}}{tag}")) for tag in ("AcctSvcrRef", "TxId", "EndToEndId", "InstrId")]


def _remittance(tx: ET.Element) -> list[str | None]:
    """Everything in a detail that may name an invoice, in the order a reader would look."""
    texts: list[str | None] = [e.text for e in tx.iterfind("{*}RmtInf/{*}Ustrd")]
    for strd in tx.iterfind("{*}RmtInf/{*}Strd"):
        texts.extend(_text(doc, "{*}Nb") for doc in strd.iterfind("{*}RfrdDocInf"))
        texts.extend(_text(ref, "{*}Ref") for ref in strd.iterfind("{*}CdtrRefInf"))
        texts.extend(e.text for e in strd.iterfind("{*}AddtlRmtInf"))
    e2e = _ref(_text(tx, "{*}Refs/{*}EndToEndId"))
    if e2e:
        texts.append(f"EREF+{e2e}")
    texts.append(_text(tx, "{*}AddtlTxInf"))
    return texts


def _payer_name(tx: ET.Element) -> str | None:
    # .001.08 wraps the party in <Pty>; the ultimate debtor is the payer when no debtor is named
    for party in ("Dbtr", "UltmtDbtr"):
        name = _text(tx, f"{{*}}RltdPties/{{*}}{party}/{{*}}Nm") or _text(
            tx, f"{{*}}RltdPties/{{*}}{party}/{{*}}Pty/{{*}}Nm"
        )
        if name:
            return name
    return None


def _payer_iban(tx: ET.Element) -> str | None:
    return _text(tx, "{*}RltdPties/{*}DbtrAcct/{*}Id/{*}IBAN") or _text(
        tx, "{*}RltdPties/{*}DbtrAcct/{*}Id/{*}Othr/{*}Id"
    )


def _date(entry: ET.Element, tag: str, what: str) -> date | None:
    return iso_date(_text(entry, f"{{*}}{tag}/{{*}}Dt") or _text(entry, f"{{*}}{tag}/{{*}}DtTm"), what)


def _ref(value: str | None) -> str | None:
    return None if not value or value.upper() in NO_REFERENCE else value


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
