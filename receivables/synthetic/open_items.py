"""Open items: the documents a customer still owes, spread the way a real ledger spreads them.

Item counts and amounts per customer are Pareto-like (lognormal activity and size), most
documents are invoices with some credit notes, payments on account and adjustments, a few
invoices are part-paid, and the ages follow the customer's payment profile -- with one invoice
forced into each aging bucket so even a tiny set fills every column of an aging report.
Invoices carry cash-discount terms and the reference a customer will quote back (an RF
creditor reference or a PO number); the reference text itself is assigned once documents are
numbered (``document_numbers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from receivables.synthetic.companies import _COMPANY_CODES, _CURRENCIES
from receivables.synthetic.customers import _PROFILE_AGE_SCALE, _Customers
from receivables.synthetic.run_state import _business_day, _Params
from receivables.synthetic.text_columns import _STRING, _bool_text, _date_text, _money_text

_DOC_TYPES = ("INV", "CRN", "PMT", "ADJ")
_INV, _CRN, _PMT, _ADJ = 0, 1, 2, 3
_DOC_TYPE_SHARE = (0.88, 0.07, 0.02, 0.03)

_REF_NONE, _REF_RF, _REF_PO = 0, 1, 2
_REF_SHARE = ((0.25, 0.45, 0.30), (0.40, 0.20, 0.40), (0.30, 0.0, 0.70))

_DISCOUNT_SHARE = (0.25, 0.08, 0.10)
_DISCOUNT_BP = (200, 300, 150)  # 2 %, 3 %, 1.5 % in basis points
_DISCOUNT_BP_SHARE = (0.70, 0.15, 0.15)
_DISCOUNT_DAYS = (10, 14)


@dataclass
class _Items:
    """Open items of one chunk, grouped by customer (``start[c]:end[c]``) and date within."""

    cust: np.ndarray
    company: np.ndarray
    doc_type: np.ndarray
    amount: np.ndarray
    open: np.ndarray
    doc_date: np.ndarray  # days since 1970-01-01
    due_date: np.ndarray
    ref_kind: np.ndarray
    ref_text: np.ndarray  # str
    block: np.ndarray
    discount_bp: np.ndarray
    discount_days: np.ndarray
    counter: np.ndarray  # the running number inside document_no
    document_no: np.ndarray  # str
    start: np.ndarray
    end: np.ndarray
    disputed: np.ndarray


def _make_open_items(rng: np.random.Generator, cust: _Customers, params: _Params) -> _Items:
    # lognormal activity with mean 1: most customers near the average, a few with many items
    weight = rng.lognormal(-0.5, 1.0, cust.n)
    counts = np.maximum(1, rng.poisson(params.items_per_customer * weight))
    counts = np.minimum(counts, int(60 * params.items_per_customer))
    m = int(counts.sum())
    c = np.repeat(np.arange(cust.n), counts)
    end = np.cumsum(counts)
    start = end - counts

    doc_type = rng.choice(4, size=m, p=_DOC_TYPE_SHARE).astype(np.int8)
    amount = _item_amounts(rng, doc_type, cust.scale[c])
    open_amount = _open_amounts(rng, doc_type, amount)
    doc_date, due_date = _item_dates(rng, doc_type, cust.profile[c], cust.terms[c], params.as_of_day)

    # within a customer, oldest first (the order an account statement shows)
    order = np.lexsort((doc_date, c))
    company = cust.company[c]
    inv = doc_type == _INV
    discount_bp, discount_days = _cash_discount_terms(rng, inv, company)
    ref_kind = _reference_kinds(rng, inv, company)
    block = rng.random(m) < 0.01

    def sort(a: np.ndarray) -> np.ndarray:
        return a[order]

    return _Items(
        cust=sort(c),
        company=sort(company),
        doc_type=sort(doc_type),
        amount=sort(amount),
        open=sort(open_amount),
        doc_date=sort(doc_date),
        due_date=sort(due_date),
        ref_kind=sort(ref_kind),
        ref_text=np.full(m, "", dtype=object),
        block=sort(block),
        discount_bp=sort(discount_bp),
        discount_days=sort(discount_days),
        counter=np.zeros(m, dtype=np.int64),
        document_no=np.full(m, "", dtype=object),
        start=start,
        end=end,
        disputed=np.zeros(m, dtype=bool),
    )


def _item_amounts(rng: np.random.Generator, doc_type: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Original amounts in cents around the customer's typical invoice; credits are negative."""
    m = len(doc_type)
    z = rng.lognormal(0.0, 0.9, m)
    amount = np.maximum(1_000, scale * z).astype(np.int64)
    round_amount = rng.random(m) < 0.05  # some invoices are flat fees in whole units
    amount[round_amount] = amount[round_amount] // 100 * 100
    crn = doc_type == _CRN
    amount[crn] = -np.maximum(500, (scale[crn] * rng.lognormal(-1.2, 0.8, int(crn.sum())))).astype(np.int64)
    pmt = doc_type == _PMT
    amount[pmt] = -np.maximum(1_000, (scale[pmt] * rng.lognormal(-0.5, 0.8, int(pmt.sum())))).astype(np.int64)
    adj = doc_type == _ADJ
    adj_amount = np.maximum(100, (scale[adj] * 0.05 * rng.lognormal(0.0, 0.8, int(adj.sum())))).astype(np.int64)
    amount[adj] = np.where(rng.random(int(adj.sum())) < 0.7, adj_amount, -adj_amount)
    return amount


def _open_amounts(rng: np.random.Generator, doc_type: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """What is still open: the full amount, except for a few part-paid invoices."""
    open_amount = amount.copy()
    partial = (doc_type == _INV) & (rng.random(len(doc_type)) < 0.07)
    # part-paid or part-credited invoices: same sign, strictly less than the original
    open_amount[partial] = np.maximum(100, (amount[partial] * rng.uniform(0.15, 0.9, int(partial.sum())))).astype(
        np.int64
    )
    return open_amount


def _item_dates(
    rng: np.random.Generator, doc_type: np.ndarray, profile: np.ndarray, terms: np.ndarray, as_of: int
) -> tuple[np.ndarray, np.ndarray]:
    """Document and due dates: older for customers who pay late, one invoice in every aging bucket."""
    age = rng.exponential(np.asarray(_PROFILE_AGE_SCALE)[profile]) % 230
    doc_date = as_of - age.astype(np.int64)
    forced = _forced_bucket_items(rng, doc_type)
    # one invoice per aging bucket so even a tiny set fills not due, 1-30, ..., 121+
    doc_date[forced] = as_of - terms[forced] - np.asarray([-7, 15, 45, 75, 105, 150])[: len(forced)]
    doc_date = _business_day(doc_date)
    # credit notes and payments on account are due at once; invoices and charges after terms
    due_date = np.where((doc_type == _CRN) | (doc_type == _PMT), doc_date, doc_date + terms)
    return doc_date, due_date


def _forced_bucket_items(rng: np.random.Generator, doc_type: np.ndarray) -> np.ndarray:
    invoices = np.flatnonzero(doc_type == _INV)
    return rng.choice(invoices, size=min(6, len(invoices)), replace=False)


def _cash_discount_terms(
    rng: np.random.Generator, inv: np.ndarray, company: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cash-discount rate (basis points) and period (days) of the invoices that offer one."""
    m = len(inv)
    discount = inv & (rng.random(m) < np.asarray(_DISCOUNT_SHARE)[company])
    discount_bp = np.where(discount, rng.choice(_DISCOUNT_BP, size=m, p=_DISCOUNT_BP_SHARE), 0)
    discount_days = np.where(discount, rng.choice(_DISCOUNT_DAYS, size=m, p=(0.6, 0.4)), 0)
    return discount_bp, discount_days


def _reference_kinds(rng: np.random.Generator, inv: np.ndarray, company: np.ndarray) -> np.ndarray:
    """Which reference each invoice prints: none, an RF creditor reference or the customer's PO."""
    ref_kind = np.full(len(inv), _REF_NONE, dtype=np.int8)
    u = rng.random(len(inv))
    shares = np.asarray(_REF_SHARE)[company]
    ref_kind[inv & (u >= shares[:, 0])] = _REF_RF
    ref_kind[inv & (u >= shares[:, 0] + shares[:, 1])] = _REF_PO
    return ref_kind


def _open_item_columns(items: _Items, cust: _Customers) -> dict[str, Any]:
    bp = items.discount_bp
    pct = np.strings.add(
        np.strings.add((bp // 100).astype(_STRING), "."), np.strings.zfill((bp % 100).astype(_STRING), 2)
    )
    return {
        "company_code": np.asarray(_COMPANY_CODES)[items.company],
        "document_no": items.document_no,
        "document_type": np.asarray(_DOC_TYPES)[items.doc_type],
        "customer_id": cust.ids[items.cust],
        "document_date": _date_text(items.doc_date),
        "due_date": _date_text(items.due_date),
        "currency": np.asarray(_CURRENCIES)[items.company],
        "amount": _money_text(items.amount),
        "open_amount": _money_text(items.open),
        "reference": items.ref_text,
        "dunning_block": _bool_text(items.block),
        "discount_pct": np.where(bp > 0, pct, ""),
        "discount_days": np.where(bp > 0, items.discount_days.astype(_STRING), ""),
    }
