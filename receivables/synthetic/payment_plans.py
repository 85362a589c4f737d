"""Payment plans: a few customers behind on their invoices agreed to pay them off in instalments.

About one in a hundred customers with overdue invoices has a plan, covering one or two of its
overdue invoices, split into two to four instalments, the first two weeks after the agreement
and the others a month apart.  Most plans were agreed in the last ten days, so nothing is due
yet and they pause the dunning of their invoices; a plan agreed six weeks ago is broken by
as_of, because the set holds no payment of its first instalment.  The first chunk always has
one of each, so even a ten-customer demo set shows a current and a broken plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from receivables.synthetic.companies import _COMPANY_CODES
from receivables.synthetic.customers import _Customers
from receivables.synthetic.open_items import _INV, _Items
from receivables.synthetic.run_state import _business_day, _Params, _State
from receivables.synthetic.text_columns import _STRING, _date_text, _money_text

#: who approves a plan: the credit manager of the company (language order de, es, en)
_APPROVERS = ("Kreditmanagement", "Gestión de crédito", "Credit management")


def _make_payment_plans(
    rng: np.random.Generator, items: _Items, cust: _Customers, state: _State, params: _Params, first_chunk: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payment_plans and plan_instalments of one chunk."""
    as_of = params.as_of_day
    overdue = (items.doc_type == _INV) & (items.due_date < as_of) & (items.open > 0)
    behind = np.flatnonzero(np.add.reduceat(overdue, items.start) > 0)
    chosen = behind[rng.random(len(behind)) < 0.01]
    broken = rng.random(len(chosen)) < 0.2
    if first_chunk and len(behind) >= 2 and len(chosen) < 2:
        chosen = np.sort(rng.choice(behind, size=2, replace=False))
        broken = np.array([True, False])
    # broken plans were agreed about six weeks ago, current ones in the last ten days
    ago = np.where(broken, 42 + rng.integers(0, 8, len(chosen)), 1 + rng.integers(0, 10, len(chosen)))
    agreed = _business_day(as_of - ago)
    plans, instalments = [], []
    for k, c in enumerate(chosen.tolist()):
        s, e = items.start[c], items.end[c]
        late = s + np.flatnonzero(overdue[s:e])
        docs = late[: 1 + int(rng.random() < 0.5)]
        plan_id = f"PLN{state.plans + 1:06d}"
        state.plans += 1
        plans.append((plan_id, c, ";".join(items.document_no[docs].tolist()), int(agreed[k])))
        total = int(items.open[docs].sum())
        n = 2 + int(rng.integers(0, 3))
        amounts = np.full(n, total // n, dtype=np.int64)
        amounts[-1] += total - int(amounts.sum())
        due = _business_day(agreed[k] + 14 + 30 * np.arange(n), roll="forward")
        instalments += [(plan_id, i + 1, int(due[i]), int(amounts[i])) for i in range(n)]
    return _plan_columns(cust, plans), _instalment_columns(instalments)


def _plan_columns(cust: _Customers, plans: list[tuple]) -> dict[str, Any]:
    c = np.array([p[1] for p in plans], dtype=np.int64)
    company = cust.company[c]
    return {
        "plan_id": np.array([p[0] for p in plans], dtype=object),
        "company_code": np.asarray(_COMPANY_CODES)[company],
        "customer_id": cust.ids[c],
        "document_nos": np.array([p[2] for p in plans], dtype=object),
        "agreed_on": _date_text(np.array([p[3] for p in plans], dtype=np.int64)),
        "approved_by": np.asarray(_APPROVERS)[company],
    }


def _instalment_columns(instalments: list[tuple]) -> dict[str, Any]:
    return {
        "plan_id": np.array([i[0] for i in instalments], dtype=object),
        "seq": np.array([i[1] for i in instalments], dtype=np.int64).astype(_STRING),
        "due_date": _date_text(np.array([i[2] for i in instalments], dtype=np.int64)),
        "amount": _money_text(np.array([i[3] for i in instalments], dtype=np.int64)),
    }
