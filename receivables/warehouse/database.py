"""Warehouse access: engines, migrations, and the as_of-keyed writes every stage uses.

A stage's rows for one as_of are replaced in one transaction: a rerun for the same date
leaves exactly one copy, other dates are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from receivables.errors import ReceivablesError
from receivables.settings import sqlalchemy_url
from receivables.warehouse.tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def connect(url: str) -> Engine:
    """An engine for the warehouse URL; raises a readable error when it cannot be reached."""
    url = sqlalchemy_url(url)
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
    """Insert a frame's rows in the caller's transaction: COPY on PostgreSQL (psycopg 3), one
    driver-level executemany on SQLite, SQLAlchemy's executemany elsewhere."""
    table = metadata.tables[table_name]
    columns = _columns(frame, table)
    if frame.empty or not columns:
        return 0
    names = list(columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, names, zip(*columns.values()))
    elif conn.dialect.name == "sqlite":
        _executemany(conn, table, columns)
    else:
        conn.execute(table.insert(), [dict(zip(names, values)) for values in zip(*columns.values())])
    return len(frame)


def _copy(conn: Connection, table: sa.Table, names: list[str], rows: Iterable[tuple]) -> None:
    # COPY streams the rows in one command: at 10^5-10^6 rows a night it is several times
    # faster than batched INSERTs, and it runs on the same connection, so in the same
    # transaction as the rest of the as_of's rows
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        # the same exception classes an INSERT through SQLAlchemy raises (IntegrityError,
        # OperationalError, ...), so callers need not know which path wrote the rows
        raise sa.exc.DBAPIError.instance(f"COPY {table.name}", None, exc, dbapi.Error, dialect=conn.dialect) from exc


def _executemany(conn: Connection, table: sa.Table, columns: dict[str, list]) -> None:
    # SQLAlchemy's executemany builds a parameter dict per row (~45 us a row); here each
    # column goes once through the type's own bind processor, so the stored values are the
    # ones SQLAlchemy would store, and the driver's executemany does the rest.
    dialect = conn.dialect
    processed = []
    for name, values in columns.items():
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        processed.append([processor(v) for v in values] if processor else values)
    quote = dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    conn.exec_driver_sql(statement, list(zip(*processed)))


def _columns(frame: pd.DataFrame, table: sa.Table) -> dict[str, list]:
    """The frame's columns of the table as plain Python values: cents to Decimal, NA to
    None, numpy to builtins.

    Column by column with vectorised missing-value handling: a go-live night writes ~10^6
    rows, and a per-value check costs more than the database insert."""
    converted: dict[str, list] = {}
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        series = frame[col.name]
        if isinstance(col.type, sa.Numeric) and not isinstance(col.type, sa.Float) and col.type.scale == 2:
            converted[col.name] = [None if v is None else Decimal(int(v)).scaleb(-2) for v in _objects(series)]
        elif isinstance(col.type, sa.Date):
            days = pd.to_datetime(series)
            # astype(object): of a column with no date at all, .dt.date keeps datetime64 and NaT
            converted[col.name] = _objects(days.dt.date.astype(object).where(days.notna(), None))
        else:
            converted[col.name] = _objects(series)
    return converted


def _objects(series: pd.Series) -> list:
    """The values as builtins (numpy's int64 -> int, ...) with None for every kind of NA."""
    values = series.to_numpy(dtype=object, na_value=None) if series.hasnans else series.to_numpy(dtype=object)
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def money_sums(engine: Engine, table_name: str, by: list[str], money: list[str]) -> pd.DataFrame:
    """Per group of ``by``, the sums of the ``money`` columns in integer cents, computed by
    the database (each amount is turned into cents before it is added, so the sums are exact
    on SQLite's floating-point storage too).  For history charts: reading every row of every
    past as_of grows with each night."""
    table = metadata.tables[table_name]
    cents = lambda col: sa.func.sum(sa.cast(sa.func.round(table.c[col] * 100), sa.BigInteger)).label(col)  # noqa: E731
    query = (
        sa.select(*[table.c[c] for c in by], *[cents(c) for c in money])
        .group_by(*[table.c[c] for c in by])
        .order_by(*[table.c[c] for c in by])
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[*by, *money])
    return frame.astype({c: "int64" for c in money})


def read_table(engine: Engine, table_name: str, as_of=None) -> pd.DataFrame:
    """A warehouse table (optionally one as_of) as a frame; used by reports and tests."""
    table = metadata.tables[table_name]
    query = sa.select(table)
    if as_of is not None:
        query = query.where(table.c.as_of == as_of)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in table.columns])
