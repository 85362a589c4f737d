"""Cash applied by earlier nights, read back from the warehouse.

A payment plan is met by everything the customer paid toward its documents since it was
agreed; an invoice paid in parts stays open, so the ERP's cleared items do not show those
parts, but the nights that applied them wrote them to ``cash_applications``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import cash_applications, in_cents

#: document numbers per query when the read is narrowed to some documents (well under every
#: database's limit of bound parameters)
DOCUMENTS_PER_QUERY = 500


def earlier_applications(
    engine: Engine, since: date, before: date, documents: Iterable[str] | None = None
) -> pd.DataFrame:
    """Applied cash (not suggestions) of the nights from ``since`` up to the day before
    ``before``, oldest night first: payment_id, company_code, document_no, applied_amount
    (cents), as_of.  With ``documents``, only the cash applied to those document numbers
    (the payment plans' few thousand, not a large ledger's every application)."""
    c = cash_applications.c
    query = sa.select(c.payment_id, c.company_code, c.document_no, in_cents(c.applied_amount), c.as_of).where(
        c.status == "applied", c.as_of >= since, c.as_of < before
    )
    if documents is None:
        batches = [query]
    else:
        wanted = sorted(set(documents))
        batches = [
            query.where(c.document_no.in_(wanted[i : i + DOCUMENTS_PER_QUERY]))
            for i in range(0, len(wanted), DOCUMENTS_PER_QUERY)
        ]
    with engine.connect() as conn:
        rows = [row for batch in batches for row in row_tuples(conn.execute(batch))]
    frame = pd.DataFrame(rows, columns=["payment_id", "company_code", "document_no", "applied_amount", "as_of"])
    frame["applied_amount"] = frame["applied_amount"].fillna(0).astype("int64")
    return frame.sort_values(["as_of", "payment_id", "document_no"], kind="stable", ignore_index=True)
