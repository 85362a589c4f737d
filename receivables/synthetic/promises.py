"""Promises to pay: open ones for the coming weeks, and past ones that were broken or kept.

A few customers with overdue invoices have promised to pay -- one invoice, or a round sum for
everything overdue.  A promise dated in the future is still open; a past one is broken when
its document is still open, and kept when it points at a document cleared in the last 60 days,
so the outcome of each can be judged from the extracts alone.  Every promise is created on or
before both its promised date and the extract date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from receivables.synthetic.cleared_items import _Cleared
from receivables.synthetic.companies import _COMPANY_CODES
from receivables.synthetic.customers import _Customers
from receivables.synthetic.open_items import _INV, _Items
from receivables.synthetic.run_state import _Params, _State
from receivables.synthetic.text_columns import _STRING, _date_text, _money_text


@dataclass
class _Promised:
    """Promises of one chunk, collected one at a time before they become columns."""

    as_of: int
    company: list[int] = field(default_factory=list)
    cust: list[int] = field(default_factory=list)
    doc: list[str] = field(default_factory=list)
    amount: list[int] = field(default_factory=list)
    promised: list[int] = field(default_factory=list)
    created: list[int] = field(default_factory=list)

    def add(self, company: int, c: int, doc: str, amount: int, promised: int, created: int) -> None:
        self.company.append(company)
        self.cust.append(c)
        self.doc.append(doc)
        self.amount.append(amount)
        self.promised.append(promised)
        self.created.append(min(created, promised, self.as_of))


def _make_promises(
    rng: np.random.Generator,
    items: _Items,
    cust: _Customers,
    cleared: _Cleared,
    state: _State,
    params: _Params,
    first_chunk: bool,
) -> dict[str, Any]:
    """Promises to pay: future ones still open, past ones broken (item open) or kept (cleared)."""
    as_of = params.as_of_day
    out = _Promised(as_of)
    overdue = (items.doc_type == _INV) & (items.due_date < as_of) & (items.open > 0)
    chosen = rng.random(cust.n) < 0.04
    behind = np.flatnonzero(np.add.reduceat(overdue, items.start) > 0)
    if first_chunk and len(behind):
        # even a ten-customer demo set shows promises
        chosen[rng.choice(behind, size=min(2, len(behind)), replace=False)] = True
    chosen = np.flatnonzero(chosen)
    u = rng.random((len(chosen), 6))
    cleared_start = np.searchsorted(cleared.cust, np.arange(cust.n))
    cleared_end = np.searchsorted(cleared.cust, np.arange(cust.n), side="right")
    for c, r in zip(chosen.tolist(), u):
        s, e = items.start[c], items.end[c]
        late = s + np.flatnonzero(overdue[s:e])
        if len(late) == 0:
            continue
        company = int(cust.company[c])
        _promise_overdue(out, items, company, c, late, r)
        # a kept promise leaves its trace on a recently cleared document
        recent = slice(cleared_start[c], cleared_end[c])
        _kept_promise(out, cleared, company, c, recent, r)
    return _promise_columns(out, cust, state)


def _promise_overdue(out: _Promised, items: _Items, company: int, c: int, late: np.ndarray, r: np.ndarray) -> None:
    """A promise for one overdue invoice or, rounded, for all of them; future or past."""
    as_of = out.as_of
    future = r[1] < 0.55
    if r[0] < 0.55:
        i = int(late[int(r[2] * len(late))])
        amount = int(items.open[i]) if r[3] < 0.8 else max(100, int(items.open[i]) // 200 * 100)
        if future:
            promised = as_of + 1 + int(r[4] * 21)
            out.add(company, c, items.document_no[i], amount, promised, as_of - int(r[5] * 10))
        else:
            low = max(int(items.due_date[i]), as_of - 30)
            promised = low + int(r[4] * (as_of - low))
            created = max(int(items.doc_date[i]), promised - 3 - int(r[5] * 17))
            out.add(company, c, items.document_no[i], amount, promised, created)
    else:
        total = int(items.open[late].sum())
        amount = total if total < 100_000 else total // 10_000 * 10_000
        if future:
            out.add(company, c, "", amount, as_of + 1 + int(r[4] * 21), as_of - int(r[5] * 10))
        else:
            promised = as_of - 1 - int(r[4] * 30)
            out.add(company, c, "", amount, promised, promised - 3 - int(r[5] * 17))


def _kept_promise(out: _Promised, cleared: _Cleared, company: int, c: int, rows: slice, r: np.ndarray) -> None:
    """Sometimes, a promise the customer kept: its document was cleared in the last 60 days."""
    as_of = out.as_of
    recent = rows.start + np.flatnonzero((cleared.clearing_date[rows] >= as_of - 60) & (cleared.amount[rows] > 0))
    if len(recent) and r[5] < 0.4:
        j = int(recent[int(r[3] * len(recent))])
        promised = min(int(cleared.clearing_date[j]) + int(r[2] * 4), as_of)
        created = max(int(cleared.doc_date[j]), promised - 3 - int(r[4] * 12))
        out.add(company, c, cleared.document_no[j], int(cleared.amount[j]), promised, created)


def _promise_columns(out: _Promised, cust: _Customers, state: _State) -> dict[str, Any]:
    """The promises extract, with ids that run on across chunks."""
    k = len(out.cust)
    company = np.asarray(out.company, dtype=np.int64)
    ids = np.strings.add("PTP", np.strings.zfill((state.promises + 1 + np.arange(k)).astype(_STRING), 7))
    state.promises += k
    return {
        "promise_id": ids,
        "company_code": np.asarray(_COMPANY_CODES)[company] if k else [],
        "customer_id": cust.ids[np.asarray(out.cust, dtype=np.int64)] if k else [],
        "document_no": out.doc,
        "promised_amount": _money_text(np.asarray(out.amount, dtype=np.int64)),
        "promised_date": _date_text(np.asarray(out.promised, dtype=np.int64)),
        "created_on": _date_text(np.asarray(out.created, dtype=np.int64)),
    }
