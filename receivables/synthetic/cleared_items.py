"""Cleared items: a year of paid documents per customer, the history behind the KPIs.

Days late and the sales in a DSO are read from documents that were paid, not only from the
ones still open, and a kept promise needs a cleared document to point at.  Each customer's
cleared documents are dated from its payment profile (on time, a bit late, chronically late,
erratic), never paid before the invoice existed, and numbered in the same per-company series
as the open items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from receivables.synthetic.companies import _COMPANY_CODES, _CURRENCIES
from receivables.synthetic.customers import _PROFILE_LATE, _Customers
from receivables.synthetic.run_state import _business_day, _Params
from receivables.synthetic.text_columns import _date_text, _money_text


@dataclass
class _Cleared:
    cust: np.ndarray
    company: np.ndarray
    amount: np.ndarray
    doc_date: np.ndarray
    due_date: np.ndarray
    clearing_date: np.ndarray
    counter: np.ndarray
    document_no: np.ndarray


def _make_cleared_items(rng: np.random.Generator, cust: _Customers, params: _Params) -> _Cleared:
    """A year of paid documents per customer, late or on time as the customer's profile says."""
    as_of = params.as_of_day
    counts = rng.poisson(1.2 * params.items_per_customer * rng.lognormal(-0.5, 1.0, cust.n))
    counts = np.minimum(counts, int(60 * params.items_per_customer))
    m = int(counts.sum())
    c = np.repeat(np.arange(cust.n), counts)
    clearing = _business_day(as_of - rng.integers(0, 365, m))
    mean = np.asarray([p[0] for p in _PROFILE_LATE])[cust.profile[c]]
    sd = np.asarray([p[1] for p in _PROFILE_LATE])[cust.profile[c]]
    terms = cust.terms[c]
    # nobody pays before the invoice exists: at most `terms` days early
    late = np.maximum(np.round(rng.normal(mean, sd)).astype(np.int64), -terms)
    doc_date = _business_day(clearing - late - terms)
    amount = np.maximum(1_000, cust.scale[c] * rng.lognormal(0.0, 0.9, m)).astype(np.int64)
    credit = rng.random(m) < 0.05
    amount[credit] = -(amount[credit] // 4 + 100)
    order = np.lexsort((clearing, c))
    return _Cleared(
        cust=c[order],
        company=cust.company[c][order],
        amount=amount[order],
        doc_date=doc_date[order],
        due_date=(doc_date + terms)[order],
        clearing_date=clearing[order],
        counter=np.zeros(m, dtype=np.int64),
        document_no=np.full(m, "", dtype=object),
    )


def _cleared_columns(cleared: _Cleared, cust: _Customers) -> dict[str, Any]:
    return {
        "company_code": np.asarray(_COMPANY_CODES)[cleared.company],
        "document_no": cleared.document_no,
        "customer_id": cust.ids[cleared.cust],
        "document_date": _date_text(cleared.doc_date),
        "due_date": _date_text(cleared.due_date),
        "currency": np.asarray(_CURRENCIES)[cleared.company],
        "amount": _money_text(cleared.amount),
        "clearing_date": _date_text(cleared.clearing_date),
    }
