"""What the claims for fees and interest read back from the warehouse: every notice and item
the dunning stage wrote before a date, and the cash applied before it (money in cents)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from receivables.money import to_cents
from receivables.warehouse.tables import cash_applications, dunning_items, dunning_notices

NOTICE_COLUMNS = ["notice_id", "as_of", "company_code", "customer_id", "currency", "level", "fees", "policy"]
ITEM_COLUMNS = [
    "notice_id", "as_of", "company_code", "customer_id", "document_no", "currency", "level", "due_date",
    "open_amount", "disputed_amount", "interest", "fee",
]  # fmt: skip
PAYMENT_COLUMNS = ["as_of", "company_code", "customer_id", "document_no", "applied_amount"]


def notices_before(conn: Connection, before: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The notices and their items of every as_of before ``before``."""
    notices = _read(conn, dunning_notices, NOTICE_COLUMNS, dunning_notices.c.as_of < before)
    items = _read(conn, dunning_items, ITEM_COLUMNS, dunning_items.c.as_of < before)
    return notices, items


def applied_before(conn: Connection, before: date) -> pd.DataFrame:
    """The cash applications posted (status applied) on the nights before ``before``."""
    t = cash_applications
    return _read(conn, t, PAYMENT_COLUMNS, sa.and_(t.c.as_of < before, t.c.status == "applied"))


def _read(conn: Connection, table: sa.Table, columns: list[str], where) -> pd.DataFrame:
    rows = conn.execute(sa.select(*[table.c[c] for c in columns]).where(where)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for col in columns:
        kind = table.c[col].type
        if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
            frame[col] = pd.Series([0 if v is None else to_cents(Decimal(v)) for v in frame[col]], dtype="int64")
    return frame
