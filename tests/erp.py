"""An ERP database as the shipped extraction queries (``sql/extract/*.sql``) expect it, on
SQLite or PostgreSQL, for the tests of the ``sql+<URL>`` source.

The tables are the ones the queries' header comments and docs/operations.md describe: the
documents and receipts stay after they are cleared, and the clearing lines say what took how
much off which document on which date, so the queries can answer for any earlier date.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from receivables.settings import sqlalchemy_url

ERP = sa.MetaData()


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(15, 2))


def _code(name: str, length: int = 64) -> sa.Column:
    return sa.Column(name, sa.String(length))


CUSTOMERS = sa.Table(
    "erp_customers",
    ERP,
    _code("customer_id"),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    _code("language", 8),
    _code("country", 2),
    _code("currency", 3),
    sa.Column("payment_terms_days", sa.Integer),
    _money("credit_limit"),
    _code("segment"),
    _code("dunning_policy"),
    sa.Column("dunning_block", sa.Boolean),
    sa.Column("collector", sa.Text),
    sa.Column("iban", sa.Text),
    _code("company_code", 16),
)
DOCUMENTS = sa.Table(
    "erp_ar_documents",
    ERP,
    _code("company_code", 16),
    _code("document_no"),
    _code("document_type", 8),
    _code("customer_id"),
    sa.Column("document_date", sa.Date),
    sa.Column("posting_date", sa.Date),
    sa.Column("due_date", sa.Date),
    _code("currency", 3),
    _money("amount"),
    sa.Column("reference", sa.Text),
    sa.Column("dunning_block", sa.Boolean),
    sa.Column("discount_pct", sa.Numeric(5, 2)),
    sa.Column("discount_days", sa.Integer),
)
CLEARINGS = sa.Table(
    "erp_ar_clearings",
    ERP,
    _code("company_code", 16),
    _code("document_no"),
    sa.Column("clearing_date", sa.Date),
    _money("cleared_amount"),
    _code("payment_id"),
    _code("clearing_doc"),
)
PAYMENTS = sa.Table(
    "erp_incoming_payments",
    ERP,
    _code("payment_id"),
    _code("company_code", 16),
    sa.Column("value_date", sa.Date),
    _money("amount"),
    _code("currency", 3),
    _code("customer_id"),
    sa.Column("payer_name", sa.Text),
    sa.Column("payer_iban", sa.Text),
    sa.Column("remittance_info", sa.Text),
    sa.Column("bank_reference", sa.Text),
)
DISPUTES = sa.Table(
    "erp_disputes",
    ERP,
    _code("dispute_id"),
    _code("company_code", 16),
    _code("document_no"),
    _code("customer_id"),
    _code("reason_code", 32),
    _money("amount"),
    sa.Column("opened_on", sa.Date),
    sa.Column("resolved_on", sa.Date),
    sa.Column("owner", sa.Text),
)
PROMISES = sa.Table(
    "erp_promises",
    ERP,
    _code("promise_id"),
    _code("company_code", 16),
    _code("customer_id"),
    _code("document_no"),
    _money("promised_amount"),
    sa.Column("promised_date", sa.Date),
    sa.Column("created_on", sa.Date),
)


def create_all(url: str) -> None:
    engine = engine_for(url)
    ERP.create_all(engine)
    engine.dispose()


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url.removeprefix("sql+")))


def create_erp(url: str, files: dict[str, str]) -> None:
    """The ERP tables holding a canonical extract set (``VALID_SET``): each open item becomes a
    document posted on its document date, with a clearing line (no payment) for the part
    already cleared; each listed payment a receipt not yet applied.  Tables of extracts the set
    lacks are not created (the source skips an optional extract whose table does not exist);
    ``create_all`` makes them all."""
    engine = engine_for(url)
    tables = [CUSTOMERS, DOCUMENTS, CLEARINGS, PAYMENTS] + ([DISPUTES] if "disputes.csv" in files else [])
    ERP.create_all(engine, tables=tables)
    items = _frame(files["open_items.csv"])
    cleared = items[items["amount"] != items["open_amount"]]
    with engine.begin() as conn:
        insert(conn, CUSTOMERS, _frame(files["customers.csv"]).to_dict("records"))
        insert(conn, DOCUMENTS, items.assign(posting_date=items["document_date"]).to_dict("records"))
        insert(
            conn,
            CLEARINGS,
            [
                {
                    "company_code": r["company_code"],
                    "document_no": r["document_no"],
                    "clearing_date": r["document_date"],
                    "cleared_amount": r["amount"] - r["open_amount"],
                }
                for r in cleared.to_dict("records")
            ],
        )
        insert(conn, PAYMENTS, _frame(files["payments.csv"]).to_dict("records"))
        if "disputes.csv" in files:
            insert(conn, DISPUTES, _frame(files["disputes.csv"]).to_dict("records"))
    engine.dispose()


def insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Rows given as canonical text or Python values, typed by the table's columns; columns the
    table does not have (``open_amount``, ``status``) are left out."""
    typed = [{c.name: _typed(c, row.get(c.name)) for c in table.columns} for row in rows]
    if typed:
        conn.execute(table.insert(), typed)


def _frame(text: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for col in ("amount", "open_amount"):
        if col in frame.columns:
            frame[col] = frame[col].map(Decimal)
    return frame


def _typed(column: sa.Column, value: object) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return value
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    if isinstance(column.type, sa.Boolean):
        return value.strip().lower() == "true"
    if isinstance(column.type, sa.Integer):
        return int(value)
    if isinstance(column.type, sa.Numeric):
        return Decimal(value)
    return value
