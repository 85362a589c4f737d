"""Document numbers, and the payment references printed on invoices.

These are the strings a customer quotes back in a remittance text, so they follow what each
ERP prints: 9000012345 in Germany, F-2026-000123 in Spain (year of the document), INV-000123 in
the United States; RF creditor references (ISO 11649) encode company and document counter, and
PO numbers increase with gaps.  Open and cleared items share one running series per company,
in date order, carried across chunks so no number repeats in the whole set.
"""

from __future__ import annotations

import numpy as np

from receivables.synthetic.cleared_items import _Cleared
from receivables.synthetic.open_items import _REF_PO, _REF_RF, _Items
from receivables.synthetic.run_state import _State
from receivables.synthetic.text_columns import _STRING


def _number_documents(items: _Items, cleared: _Cleared, state: _State) -> None:
    """Document numbers per company, one running series per company in date order.

    Formats follow what each ERP prints and customers quote back: 9000012345 (DE),
    F-2026-000123 (ES, year of the document) and INV-000123 (US).
    """
    m = len(items.cust)
    company = np.concatenate([items.company, cleared.company])
    doc_date = np.concatenate([items.doc_date, cleared.doc_date])
    counter = np.zeros(len(company), dtype=np.int64)
    for cc in range(3):
        rows = np.flatnonzero(company == cc)
        rows = rows[np.argsort(doc_date[rows], kind="stable")]
        counter[rows] = state.documents[cc] + 1 + np.arange(len(rows))
        state.documents[cc] += len(rows)
    numbers = counter.astype(_STRING)
    year = (doc_date.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(_STRING)
    text = np.where(
        company == 0,
        (counter + 9_000_010_000).astype(_STRING),
        np.where(
            company == 1,
            np.strings.add(np.strings.add(np.strings.add("F-", year), "-"), np.strings.zfill(numbers, 6)),
            np.strings.add("INV-", np.strings.zfill(numbers, 6)),
        ),
    ).astype(object)
    items.counter, cleared.counter = counter[:m], counter[m:]
    items.document_no, cleared.document_no = text[:m], text[m:]


def _assign_references(rng: np.random.Generator, items: _Items, state: _State) -> None:
    """The payment reference printed on each invoice: an RF creditor reference or the PO."""
    rf = np.flatnonzero(items.ref_kind == _REF_RF)
    if len(rf):
        # ISO 11649: the body encodes company and document counter, so it is unique
        body = (np.asarray([1000, 2000, 3000])[items.company[rf]] * 10**8 + items.counter[rf] % 10**8).astype(np.int64)
        check = 98 - (body % 97 * (10**6 % 97) + 271500) % 97  # "RF00" -> 27 15 00
        digits = np.strings.add(
            np.strings.add("RF", np.strings.zfill(check.astype(_STRING), 2)),
            np.strings.zfill(body.astype(_STRING), 12),
        )
        grouped = digits.tolist()
        items.ref_text[rf] = [" ".join(d[i : i + 4] for i in range(0, 16, 4)) for d in grouped]
    po = np.flatnonzero(items.ref_kind == _REF_PO)
    if len(po):
        # customers' purchase orders: increasing with gaps, one PO per invoice
        numbers = state.po + np.cumsum(rng.integers(1, 40, len(po)))
        state.po = int(numbers[-1])
        items.ref_text[po] = np.strings.add("PO ", numbers.astype(_STRING)).tolist()
