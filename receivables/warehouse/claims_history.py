"""What the claims for fees and interest read back from the warehouse: every notice and item
the dunning stage wrote before a date, and the cash applied before it (money in cents)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from receivables.warehouse.cash_history import DOCUMENTS_PER_QUERY
from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import cash_applications, dunning_items, dunning_notices, in_cents

NOTICE_COLUMNS = ["notice_id", "as_of", "company_code", "customer_id", "currency", "level", "fees", "policy"]
ITEM_COLUMNS = [
    "notice_id", "as_of", "company_code", "customer_id", "document_no", "currency", "level", "due_date",
    "open_amount", "disputed_amount", "interest", "fee",
]  # fmt: skip
PAYMENT_COLUMNS = ["as_of", "company_code", "customer_id", "document_no", "applied_amount"]


@dataclass(frozen=True)
class ClaimsHistory:
    """The history the claims stand on, read once a run: the notices of every as_of before
    ``notices_until``; and of the documents something is charged on, their dunning items
    before ``notices_until`` and the cash applied to them on the nights before ``paid_until``."""

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


def read_history(
    conn: Connection, notices_until: date, paid_until: date, tonight: Iterable[tuple[str, str]] = ()
) -> ClaimsHistory:
    """The notices before ``notices_until``; and of the documents charged before it
    (``_charged_documents``: an item with interest or a fee, or on a notice with fees) or
    charged tonight (``tonight``: company_code, document_no), every dunning item before
    ``notices_until`` and the cash applied before ``paid_until``.

    A claim only arises on a charged document and only that document's history and cash
    decide it, so the rest (most of a large ledger's dunning: first reminders charge
    nothing) is left in the database: at size l +47,000 items and +250,000 applications a
    night that every night read whole before."""
    charged = _charged_documents(notices_until)
    i, a = dunning_items, cash_applications
    notices = _read(conn, dunning_notices, NOTICE_COLUMNS, dunning_notices.c.as_of < notices_until)
    before, pair = i.c.as_of < notices_until, sa.tuple_(i.c.company_code, i.c.document_no)
    items = _read(conn, i, ITEM_COLUMNS, sa.and_(before, pair.in_(charged)))
    # every document charged before has rows among these: they name it without a query of its own
    earlier = set(zip(items["company_code"].astype(str), items["document_no"].astype(str)))
    newly = sorted({(str(c), str(d)) for c, d in tonight} - earlier)
    items = _and_documents(conn, i, ITEM_COLUMNS, before, pair, items, newly)
    applied = sa.and_(a.c.as_of < paid_until, a.c.status == "applied")
    # by document number (no index pairs the company with it; build_claims matches the pair),
    # so a number the history's read already covers in another company is not read twice
    paid = _read(
        conn, a, PAYMENT_COLUMNS, sa.and_(applied, a.c.document_no.in_(charged.with_only_columns(i.c.document_no)))
    )
    numbers = sorted({d for _, d in newly} - {d for _, d in earlier})
    paid = _and_documents(conn, a, PAYMENT_COLUMNS, applied, a.c.document_no, paid, numbers)
    return ClaimsHistory(notices, items, paid, notices_until, paid_until)


def _charged_documents(before: date) -> sa.Select:
    """(company_code, document_no) of every dunning item before ``before`` that carries
    interest or a fee, or whose notice charged fees or has an item with a fee (a notice's
    level fee is its fees less its items' and spans its items): what ``build_claims`` walks
    (``claims.charged_documents`` is the same rule for tonight's proposal)."""
    n, i = dunning_notices, dunning_items
    with_fees = sa.union(
        sa.select(n.c.notice_id).where(n.c.as_of < before, n.c.fees != 0),
        sa.select(i.c.notice_id).where(i.c.as_of < before, i.c.fee != 0),
    )
    return sa.select(i.c.company_code, i.c.document_no).where(
        i.c.as_of < before, sa.or_(i.c.interest > 0, i.c.fee != 0, i.c.notice_id.in_(with_fees))
    )


def _and_documents(
    conn: Connection,
    table: sa.Table,
    columns: list[str],
    where,
    document: sa.ColumnElement,
    read: pd.DataFrame,
    newly: list,
) -> pd.DataFrame:
    """``read`` and ``table``'s rows ``where`` whose ``document`` is one of ``newly``, a few
    hundred documents per query."""
    parts = [read]
    for k in range(0, len(newly), DOCUMENTS_PER_QUERY):
        parts.append(_read(conn, table, columns, sa.and_(where, document.in_(newly[k : k + DOCUMENTS_PER_QUERY]))))
    # an empty part would turn the text columns of the others into objects
    parts = [p for p in parts if not p.empty] or parts[:1]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _read(conn: Connection, table: sa.Table, columns: list[str], where) -> pd.DataFrame:
    money = [c for c in columns if _is_money(table.c[c])]
    query = sa.select(*[in_cents(table.c[c]) if c in money else table.c[c] for c in columns]).where(where)
    frame = pd.DataFrame(row_tuples(conn.execute(query)), columns=columns)
    # a blank amount is no money (NULL comes back as NaN or None; every other value is whole cents)
    return frame.fillna(dict.fromkeys(money, 0)).astype(dict.fromkeys(money, "int64"))


def _is_money(column: sa.Column) -> bool:
    return isinstance(column.type, sa.Numeric) and not isinstance(column.type, sa.Float)
