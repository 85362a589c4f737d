"""The collection cases of the night before, read back from the warehouse: tonight's cases
carry on from them (``receivables.casework``)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import collection_cases, in_cents


def previous_cases(engine: Engine, before: date) -> tuple[pd.DataFrame, date | None]:
    """The cases still open after the latest night before ``before`` (money in cents), and
    that night; an empty frame and None before the first night with cases.  A rerun of a
    date reads the same night, so it carries on from the same cases."""
    c = collection_cases.c
    with engine.connect() as conn:
        night = conn.execute(sa.select(sa.func.max(c.as_of)).where(c.as_of < before)).scalar()
        if night is None:
            return pd.DataFrame(columns=[col.name for col in collection_cases.columns]), None
        # the cents computed by the database: tens of thousands of open cases on a large ledger
        columns = [in_cents(col) if col.name == "overdue_amount" else col for col in collection_cases.columns]
        query = sa.select(*columns).where(c.as_of == night, c.closed_on.is_(None)).order_by(c.case_id)
        rows = row_tuples(conn.execute(query))
    frame = pd.DataFrame(rows, columns=[col.name for col in collection_cases.columns])
    night = night if isinstance(night, date) else pd.Timestamp(night).date()
    return frame, night


def handed_over(previous: pd.DataFrame) -> pd.DataFrame:
    """The accounts (company_code, customer_id) whose open case was at HANDOVER: their dunning
    pauses until the case leaves that stage."""
    if previous.empty:
        return pd.DataFrame(columns=["company_code", "customer_id"])
    at = previous.loc[previous["stage"] == "HANDOVER", ["company_code", "customer_id"]]
    return at.astype(str).reset_index(drop=True)
