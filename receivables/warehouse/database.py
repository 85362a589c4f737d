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
    if frame.empty or not any(col.name in frame.columns for col in table.columns):
        return 0
    if conn.dialect.name == "sqlite":
        _executemany(conn, table, _sqlite_columns(frame, table, conn.dialect))
        return len(frame)
    columns = _columns(frame, table)
    names = list(columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, names, zip(*columns.values()))
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


def insert_rows(conn: Connection, table_name: str, rows: list[dict], *, skip_existing: str | None = None) -> None:
    """Insert rows (dicts with the same keys) in the caller's transaction; with
    ``skip_existing`` (a unique column) a row whose value is taken is left out instead of
    failing the statement (ON CONFLICT DO NOTHING: SQLite and PostgreSQL only)."""
    if not rows:
        return
    table = metadata.tables[table_name]
    if conn.dialect.name == "sqlite":
        dialect = conn.dialect
        columns = {name: _bound(table.c[name], [row[name] for row in rows], dialect) for name in rows[0]}
        _executemany(conn, table, columns, skip_existing)
        return
    statement = table.insert()
    if skip_existing:
        if conn.dialect.name != "postgresql":
            raise ValueError(f"skip_existing needs SQLite or PostgreSQL, not {conn.dialect.name}")
        from sqlalchemy.dialects.postgresql import insert

        statement = insert(table).on_conflict_do_nothing(index_elements=[skip_existing])
    conn.execute(statement, rows)


def _executemany(conn: Connection, table: sa.Table, columns: dict[str, list], skip_existing: str | None = None) -> None:
    # SQLAlchemy's executemany builds a parameter dict per row (~45 us a row); here the
    # columns arrive as the driver values SQLAlchemy would bind (``_sqlite_columns``,
    # ``_bound``) and the driver's executemany does the rest
    quote = conn.dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    if skip_existing:
        statement += f" ON CONFLICT ({quote(skip_existing)}) DO NOTHING"
    conn.exec_driver_sql(statement, list(zip(*columns.values())))


def _bound(col: sa.Column, values: list, dialect: sa.Dialect) -> list:
    """Python values as the column's type binds them on ``dialect``."""
    processor = col.type.dialect_impl(dialect).bind_processor(dialect)
    return [processor(v) for v in values] if processor else values


def _columns(frame: pd.DataFrame, table: sa.Table) -> dict[str, list]:
    """The frame's columns of the table as plain Python values: cents to Decimal, NA to
    None, numpy to builtins.

    Column by column with vectorised missing-value handling: a go-live night writes ~10^6
    rows, and a per-value check costs more than the database insert."""
    return {col.name: _values(col, frame[col.name]) for col in table.columns if col.name in frame.columns}


def _values(col: sa.Column, series: pd.Series) -> list:
    if _is_money(col):
        return [None if v is None else Decimal(int(v)).scaleb(-2) for v in _objects(series)]
    if isinstance(col.type, sa.Date):
        days = pd.to_datetime(series)
        # astype(object): of a column with no date at all, .dt.date keeps datetime64 and NaT
        return _objects(days.dt.date.astype(object).where(days.notna(), None))
    return _objects(series)


def _sqlite_columns(frame: pd.DataFrame, table: sa.Table, dialect: sa.Dialect) -> dict[str, list]:
    """The frame's columns of the table as the values SQLAlchemy's SQLite types bind: what
    ``_columns`` gives, through each type's own bind processor.  Money and dates, most of a
    night's values, are converted per column instead of per value (same results)."""
    converted: dict[str, list] = {}
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        series = frame[col.name]
        values = None
        if _is_money(col) and not dialect.supports_native_decimal:
            values = _money_floats(series)
        elif isinstance(col.type, sa.Date):
            values = _iso_days(pd.to_datetime(series))
        converted[col.name] = _bound(col, _values(col, series), dialect) if values is None else values
    return converted


def _is_money(col: sa.Column) -> bool:
    return isinstance(col.type, sa.Numeric) and not isinstance(col.type, sa.Float) and col.type.scale == 2


def _money_floats(series: pd.Series) -> list | None:
    """Integer cents as the floats the SQLite dialect binds a Numeric as (``float(Decimal)``),
    or None when the column is not integer cents.  float(Decimal(c).scaleb(-2)) is c/100
    correctly rounded, and so is float64 division while c is exact in a float64 (< 2**53)."""
    if series.dtype.kind != "i":
        return None
    cents = series.to_numpy(dtype="int64", na_value=0)
    if ((cents >= 2**53) | (cents <= -(2**53))).any():
        return None
    return _with_none((cents / 100).tolist(), series)


def _iso_days(days: pd.Series) -> list | None:
    """Datetimes as the ``YYYY-MM-DD`` text SQLite's Date type binds (the day a datetime
    falls on), or None for time-zone aware ones."""
    if not (isinstance(days.dtype, np.dtype) and days.dtype.kind == "M"):
        return None
    # a night's dates repeat (one as_of, a few hundred due dates): each is formatted once
    codes, unique = pd.factorize(days.to_numpy().astype("datetime64[D]"))
    text = np.array([*np.datetime_as_string(unique, unit="D").tolist(), None], dtype=object)
    return text[codes].tolist()  # code -1 (NaT) picks the None at the end


def _with_none(values: list, series: pd.Series) -> list:
    """``values`` with None where ``series`` has a missing value."""
    if series.hasnans:
        for i in np.flatnonzero(series.isna().to_numpy()).tolist():
            values[i] = None
    return values


def _objects(series: pd.Series) -> list:
    """The values as builtins (numpy's int64 -> int, ...) with None for every kind of NA."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.to_numpy().tolist()  # never missing; tolist() gives builtins
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _with_none(series.to_numpy().tolist(), series)
    if isinstance(dtype, pd.StringDtype) or isinstance(
        series.array, pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray
    ):
        # these hold str or Python numbers and NA only: nothing is left to convert per value
        return series.to_numpy(dtype=object, na_value=None).tolist()
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
        frame = pd.DataFrame(row_tuples(conn.execute(query)), columns=[*by, *money])
    return frame.astype({c: "int64" for c in money})


def row_tuples(result: Iterable) -> list[tuple]:
    """The rows of a query result as plain tuples, for ``pd.DataFrame``: SQLAlchemy's rows are
    not tuples, so pandas asks each row for a ``dtype`` first (an attribute lookup that fails
    through SQLAlchemy's key fallback) and then makes the same tuples itself: 0.8 against
    0.2 s for a size-l night's 95,612 aging rows."""
    return [tuple(row) for row in result]


def read_table(engine: Engine, table_name: str, as_of=None) -> pd.DataFrame:
    """A warehouse table (optionally one as_of) as a frame; used by reports and tests."""
    table = metadata.tables[table_name]
    query = sa.select(table)
    if as_of is not None:
        query = query.where(table.c.as_of == as_of)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in table.columns])
