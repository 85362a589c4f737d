"""What the claims for fees and interest read back from the warehouse: every notice and item
the dunning stage wrote before a date, and the cash applied before it (money in cents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from receivables.warehouse.tables import cash_applications, dunning_items, dunning_notices, in_cents

NOTICE_COLUMNS = ["notice_id", "as_of", "company_code", "customer_id", "currency", "level", "fees", "policy"]
ITEM_COLUMNS = [
    "notice_id", "as_of", "company_code", "customer_id", "document_no", "currency", "level", "due_date",
    "open_amount", "disputed_amount", "interest", "fee",
]  # fmt: skip
PAYMENT_COLUMNS = ["as_of", "company_code", "customer_id", "document_no", "applied_amount"]


@dataclass(frozen=True)
class ClaimsHistory:
    """The history the claims stand on, read once a run: the notices and their items of every
    as_of before ``notices_until`` and the cash applied on the nights before ``paid_until``."""

    notices: pd.DataFrame
    items: pd.DataFrame
    paid: pd.DataFrame
    notices_until: date
    paid_until: date

    def notices_before(self, before: date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The notices and their items of every as_of before ``before`` (within what was read)."""
        if before > self.notices_until:
            raise ValueError(f"the claims history holds the notices before {self.notices_until}, not {before}")
        if before == self.notices_until:
            return self.notices, self.items
        return self.notices[self.notices["as_of"] < before], self.items[self.items["as_of"] < before]

    def applied_before(self, before: date) -> pd.DataFrame:
        """The cash applications of the nights before ``before`` (the date that was read)."""
        if before != self.paid_until:
            raise ValueError(f"the claims history holds the cash applied before {self.paid_until}, not {before}")
        return self.paid


def read_history(conn: Connection, notices_until: date, paid_until: date) -> ClaimsHistory:
    """The notices before ``notices_until`` and the cash applied before ``paid_until``."""
    notices, items = notices_before(conn, notices_until)
    return ClaimsHistory(notices, items, applied_before(conn, paid_until), notices_until, paid_until)


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
    money = [c for c in columns if _is_money(table.c[c])]
    query = sa.select(*[in_cents(table.c[c]) if c in money else table.c[c] for c in columns]).where(where)
    frame = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns)
    # a blank amount is no money (NULL comes back as NaN or None; every other value is whole cents)
    return frame.fillna(dict.fromkeys(money, 0)).astype(dict.fromkeys(money, "int64"))


def _is_money(column: sa.Column) -> bool:
    return isinstance(column.type, sa.Numeric) and not isinstance(column.type, sa.Float)
