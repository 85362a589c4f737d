"""Warehouse access: engines, migrations, and the as_of-keyed writes every stage uses.

A stage's rows for one as_of are replaced in one transaction: a rerun for the same date
leaves exactly one copy, other dates are untouched.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from receivables.errors import ReceivablesError
from receivables.warehouse.tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def connect(url: str) -> Engine:
    """An engine for the warehouse URL; raises a readable error when it cannot be reached."""
    try:
        kwargs: dict = {}
        if url.startswith("sqlite"):
            # a second writer waits instead of failing at once with "database is locked"
            kwargs["connect_args"] = {"timeout": 60}
        else:
            kwargs["pool_pre_ping"] = True
        engine = sa.create_engine(url, **kwargs)
        with engine.connect():
            pass
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ReceivablesError(f"The warehouse URL is not usable: {exc}.") from exc
    except sa.exc.OperationalError as exc:
        raise ReceivablesError(
            f"The warehouse {redact(url)} cannot be reached: {str(exc.orig).strip().splitlines()[0]}."
        ) from exc
    return engine


def redact(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def migrate(engine: Engine) -> None:
    """Bring the warehouse schema to the newest Alembic revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def replace_for_as_of(conn: Connection, table_name: str, as_of, frame: pd.DataFrame, run_id: str) -> int:
    """Delete the table's rows for ``as_of`` and insert ``frame`` (money columns in cents)."""
    table = metadata.tables[table_name]
    conn.execute(table.delete().where(table.c.as_of == as_of))
    return insert_frame(conn, table_name, frame.assign(as_of=as_of, run_id=run_id))


def insert_frame(conn: Connection, table_name: str, frame: pd.DataFrame) -> int:
    """Insert a frame's rows in the caller's transaction: COPY on PostgreSQL (psycopg 3),
    one executemany elsewhere."""
    table = metadata.tables[table_name]
    rows = list(_rows(frame, table))
    if not rows:
        return 0
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, rows)
    else:
        conn.execute(table.insert(), rows)
    return len(rows)


def _copy(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    # COPY streams the rows in one command: at 10^5-10^6 rows a night it is several times
    # faster than batched INSERTs, and it runs on the same connection, so in the same
    # transaction as the rest of the as_of's rows
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except dbapi.Error as exc:
        # the same exception classes an INSERT through SQLAlchemy raises (IntegrityError,
        # OperationalError, ...), so callers need not know which path wrote the rows
        raise sa.exc.DBAPIError.instance(f"COPY {table.name}", None, exc, dbapi.Error, dialect=conn.dialect) from exc


def _rows(frame: pd.DataFrame, table: sa.Table) -> Iterable[dict]:
    """Frame rows as plain Python values: cents to Decimal, NA to None, numpy to builtins."""
    columns = [c for c in table.columns if c.name in frame.columns]
    converted: dict[str, list] = {}
    for col in columns:
        series = frame[col.name]
        if isinstance(col.type, sa.Numeric) and not isinstance(col.type, sa.Float) and col.type.scale == 2:
            converted[col.name] = [None if pd.isna(v) else Decimal(int(v)).scaleb(-2) for v in series]
        elif isinstance(col.type, sa.Date):
            converted[col.name] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in series]
        else:
            converted[col.name] = [_plain(v) for v in series]
    names = list(converted)
    for values in zip(*(converted[n] for n in names)):
        yield dict(zip(names, values))


def _plain(v: object) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_table(engine: Engine, table_name: str, as_of=None) -> pd.DataFrame:
    """A warehouse table (optionally one as_of) as a frame; used by reports and tests."""
    table = metadata.tables[table_name]
    query = sa.select(table)
    if as_of is not None:
        query = query.where(table.c.as_of == as_of)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in table.columns])
