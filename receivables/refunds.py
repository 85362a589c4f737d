"""Credit balances to pay back: per company code, customer and currency whose open items net to
a credit that has stood long enough, one refund proposal (docs/refunds.md).

What counts is the open items after tonight's cash application: credit notes, payments on
account and negative adjustments, netted with the customer's open invoices in the same company
code and currency (an invoice still open is offset, only the rest is refunded).  Unapplied cash
is left out on purpose: it is money still to be allocated to invoices, and refunding it would
pay back what the customer may have sent for an invoice nobody has matched yet.

A balance is proposed when the newest of its credit documents (by ``document_date``) is at least
``min_age_days`` old (age = as_of - document_date, in days: a credit note from exactly 30 days
ago is old enough with the default) and the credit is at least the currency's minimum.  The
proposal carries the documents behind it (every open item of the balance, ``;``-separated,
oldest first: their open amounts add up to minus the refund), the customer's name and first
IBAN in the customer master where it passes its checksum, and status PROPOSED.  A proposal
without a usable IBAN says why in ``note``.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from receivables.reporting_config import RefundRules

REFUND_COLUMNS = [
    "refund_id",
    "company_code",
    "customer_id",
    "currency",
    "amount",
    "documents",
    "iban",
    "name",
    "status",
    "note",
]
_KEYS = ["company_code", "customer_id", "currency"]
_TYPES = {"amount": "int64"}


def empty_refunds() -> pd.DataFrame:
    """No proposal, with the columns and types of some."""
    return pd.DataFrame({c: pd.Series(dtype=_TYPES.get(c, object)) for c in REFUND_COLUMNS})


def refund_id(company_code: str, customer_id: str, currency: str, amount: int, documents: str) -> str:
    """The proposal's id: the same balance (same documents, same amount) gets the same id every
    night, so an ERP or a bank that has taken it once recognises it again.  At most 32
    characters, within a SEPA EndToEndId's 35."""
    text = "|".join([company_code, customer_id, currency, str(amount), documents])
    return f"RF-{company_code}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12].upper()}"


def checked_iban(raw: object) -> tuple[str | None, str | None]:
    """The first IBAN of a customer-master ``iban`` field (``;``-separated) in compact form, or
    None and why it cannot be used (missing, or it fails its checksum or structure)."""
    if raw is None or pd.isna(raw) or not str(raw).strip():
        return None, "no IBAN in the customer master"
    first = next((p for p in str(raw).split(";") if p.strip()), "")
    compact = "".join(first.split()).upper()
    if not compact:
        return None, "no IBAN in the customer master"
    try:
        return IBAN(compact).compact, None
    except SchwiftyException as exc:
        return None, f"IBAN {compact} in the customer master is not valid ({exc})"


def propose_refunds(
    open_items: pd.DataFrame | None, customers: pd.DataFrame | None, as_of: date | str, rules: RefundRules
) -> pd.DataFrame:
    """One proposal per company code, customer and currency whose open items net to a credit of
    at least the currency's minimum, the newest credit document at least ``min_age_days`` old;
    ordered by company code, customer and currency.  Amounts are positive cents."""
    if open_items is None or open_items.empty:
        return empty_refunds()
    items = open_items[[*_KEYS, "document_no", "document_date", "open_amount"]].astype(
        {**dict.fromkeys([*_KEYS, "document_no"], str), "open_amount": "int64"}
    )
    items = items.loc[items["open_amount"] != 0].assign(_date=pd.to_datetime(items["document_date"]))
    net = items.groupby(_KEYS, sort=True)["open_amount"].sum()
    newest = items.loc[items["open_amount"] < 0].groupby(_KEYS)["_date"].max()
    t = pd.Timestamp(as_of).normalize()
    chosen = [
        key
        for key, total in net.loc[net < 0].items()
        if (t - newest[key]).days >= rules.min_age_days and -int(total) >= rules.min_cents(key[2])
    ]
    if not chosen:
        return empty_refunds()
    behind = items.merge(pd.DataFrame(chosen, columns=_KEYS), on=_KEYS).sort_values(
        [*_KEYS, "_date", "document_no"], kind="stable"
    )
    documents = behind.groupby(_KEYS, sort=True)["document_no"].agg(";".join)
    master = _master(customers)
    rows = []
    for key in chosen:
        cc, cust, cur = key
        amount, docs = -int(net[key]), documents[key]
        raw_iban, name = master.get(cust, (None, None))
        iban, problem = checked_iban(raw_iban)
        rows.append(
            {
                "refund_id": refund_id(cc, cust, cur, amount, docs),
                "company_code": cc,
                "customer_id": cust,
                "currency": cur,
                "amount": amount,
                "documents": docs,
                "iban": iban,
                "name": name,
                "status": "PROPOSED",
                "note": problem,
            }
        )
    # object columns: pandas would infer a string dtype and turn a missing IBAN into NaN
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=_TYPES.get(c, object)) for c in REFUND_COLUMNS})


def _master(customers: pd.DataFrame | None) -> dict[str, tuple[object, str | None]]:
    """Customer id -> (its ``iban`` field as written, its name)."""
    if customers is None or customers.empty:
        return {}
    ibans = customers["iban"] if "iban" in customers else pd.Series(None, index=customers.index)
    names = customers["name"] if "name" in customers else pd.Series(None, index=customers.index)
    return {str(c): (i, None if pd.isna(n) else str(n)) for c, i, n in zip(customers["customer_id"], ibans, names)}
