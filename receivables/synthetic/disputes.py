"""Disputes: invoices a customer contests, and who inside the company owns each one.

About three in a hundred invoices are disputed, for the whole open amount or a part of it; a
disputed invoice is withheld from payments (nobody pays what they contest), and a few disputes
are already resolved.  The owner follows the reason -- sales for prices, logistics for a
missing proof of delivery, quality assurance for defects -- and is otherwise the collector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from receivables import schemas
from receivables.synthetic.companies import _COMPANY_CODES
from receivables.synthetic.customers import _Customers
from receivables.synthetic.open_items import _INV, _Items
from receivables.synthetic.run_state import _Params, _State
from receivables.synthetic.text_columns import _STRING, _date_text, _money_text

#: who owns a dispute, by reason: sales for prices, logistics for proofs of delivery, ...
_DISPUTE_TEAMS = (
    {"PRICING": "Vertrieb Süd", "POD_MISSING": "Logistik Versand", "QUALITY": "Qualitätssicherung"},
    {"PRICING": "Ventas Zona Centro", "POD_MISSING": "Logística", "QUALITY": "Calidad"},
    {"PRICING": "Sales East", "POD_MISSING": "Logistics", "QUALITY": "Quality Assurance"},
)
_DISPUTE_REASON_SHARE = (0.25, 0.15, 0.15, 0.05, 0.20, 0.10, 0.10)  # schemas.DISPUTE_REASONS


def _make_disputes(
    rng: np.random.Generator, items: _Items, cust: _Customers, state: _State, params: _Params
) -> dict[str, Any]:
    as_of = params.as_of_day
    rows = np.flatnonzero((items.doc_type == _INV) & (rng.random(len(items.cust)) < 0.03))
    items.disputed[rows] = True
    k = len(rows)
    reason = rng.choice(len(schemas.DISPUTE_REASONS), size=k, p=_DISPUTE_REASON_SHARE)
    open_amount = items.open[rows]
    full = rng.random(k) < 0.6
    amount = np.where(full, open_amount, np.maximum(1, (open_amount * rng.uniform(0.1, 0.9, k)).astype(np.int64)))
    opened = np.minimum(items.doc_date[rows] + rng.integers(5, 45, k), as_of)
    resolved = rng.random(k) < 0.15
    resolved_on = np.where(resolved, np.minimum(opened + rng.integers(1, 30, k), as_of), -1)
    owners = []
    for r, row, own in zip(reason.tolist(), rows.tolist(), rng.random(k).tolist()):
        company = int(items.company[row])
        team = _DISPUTE_TEAMS[company].get(schemas.DISPUTE_REASONS[r])
        owners.append(team if team and own < 0.8 else cust.columns["collector"][items.cust[row]])
    ids = np.strings.add("DSP", np.strings.zfill((state.disputes + 1 + np.arange(k)).astype(_STRING), 7))
    state.disputes += k
    return {
        "dispute_id": ids,
        "company_code": np.asarray(_COMPANY_CODES)[items.company[rows]],
        "document_no": items.document_no[rows],
        "customer_id": cust.ids[items.cust[rows]],
        "reason_code": np.asarray(schemas.DISPUTE_REASONS)[reason],
        "amount": _money_text(amount),
        "status": np.where(resolved, "RESOLVED", "OPEN"),
        "opened_on": _date_text(opened),
        "resolved_on": _date_text(resolved_on),
        "owner": owners,
    }
