"""Cash applied by earlier nights, read back from the warehouse.

A payment plan is met by everything the customer paid toward its documents since it was
agreed; an invoice paid in parts stays open, so the ERP's cleared items do not show those
parts, but the nights that applied them wrote them to ``cash_applications``.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.warehouse.tables import cash_applications, in_cents


def earlier_applications(engine: Engine, since: date, before: date) -> pd.DataFrame:
    """Applied cash (not suggestions) of the nights from ``since`` up to the day before
    ``before``, oldest night first: payment_id, company_code, document_no, applied_amount
    (cents), as_of."""
    c = cash_applications.c
    query = (
        sa.select(c.payment_id, c.company_code, c.document_no, in_cents(c.applied_amount), c.as_of)
        .where(c.status == "applied", c.as_of >= since, c.as_of < before)
        .order_by(c.as_of, c.payment_id, c.document_no)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["payment_id", "company_code", "document_no", "applied_amount", "as_of"])
    frame["applied_amount"] = frame["applied_amount"].fillna(0).astype("int64")
    return frame
