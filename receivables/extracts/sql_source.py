"""The SQL source of an extract set (``sql+<SQLAlchemy URL>``): one query per extract, run
against the ERP database, its rows kept as CSV bytes so the archive holds what was read.

The shipped queries (``sql/extract/``) are point in time: the bound ``as_of`` decides what was
open and unapplied on that date, so a rerun of an earlier date reads that date's ledger.  The
CSV is written so that reading it back as a canonical file gives the values the run used
(ISO dates, plain decimals): ``receivables replay`` runs an archived SQL input from it.

A URL's password never reaches a message or the run log (``_redact``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from receivables.config_folder import ConfigFolder
from receivables.errors import InputRejected
from receivables.extracts.source_file import SourceFile
from receivables.schemas import EXTRACTS
from receivables.settings import sqlalchemy_url

#: a source starting with this is a database URL, not a folder
SQL_PREFIX = "sql+"
#: an extract read by a query is named ``<extract>.sql.csv`` in messages and the run log; the
#: archive keeps it as ``<extract>.csv`` (``receivables.archive``)
SQL_CSV_SUFFIX = ".sql.csv"


def read_sql_source(
    url: str, as_of: date | None, folder: ConfigFolder
) -> tuple[dict[str, pd.DataFrame], dict[str, SourceFile]]:
    """Run ``sql/extract/<extract>.sql`` against the ERP database; ``:as_of`` is a bound
    parameter, never pasted into the text."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(sqlalchemy_url(url))
    except Exception as exc:  # bad URL or missing driver
        raise InputRejected(f"the SQL source URL cannot be used ({exc})", file=_redact(url)) from exc
    raws: dict[str, pd.DataFrame] = {}
    sources: dict[str, SourceFile] = {}
    try:
        with engine.connect() as conn:
            for name, extract in EXTRACTS.items():
                query_file = folder.sql_file(f"extract/{name}.sql")
                if not query_file.is_file():
                    if extract.required:
                        raise InputRejected(f"the query for required extract '{name}' is missing", file=str(query_file))
                    continue
                query = sa.text(query_file.read_text(encoding="utf-8"))
                params = {"as_of": as_of or date.today()} if "as_of" in query.compile().params else {}
                try:
                    frame = pd.read_sql_query(query, conn, params=params, dtype=object)
                except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
                    if not extract.required and _missing_table(exc):
                        conn.rollback()  # PostgreSQL aborts the transaction on an error
                        continue
                    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
                    raise InputRejected(
                        f"the extract query failed: {str(cause).splitlines()[0]}", file=query_file.name
                    ) from exc
                frame.index = pd.RangeIndex(1, len(frame) + 1)
                payload = _csv_bytes(frame, {c.name for c in extract.columns if c.kind == "date"})
                raws[name] = frame
                sources[name] = SourceFile(
                    extract=name,
                    url=f"{_redact(url)}#{query_file.name}",
                    name=f"{name}{SQL_CSV_SUFFIX}",
                    sha256=hashlib.sha256(payload).hexdigest(),
                    size=len(payload),
                    rows=len(frame),
                    data=payload,
                )
    except sa.exc.OperationalError as exc:
        raise InputRejected(
            f"the SQL source cannot be reached ({str(exc.orig).splitlines()[0]})", file=_redact(url)
        ) from exc
    finally:
        engine.dispose()
    return raws, sources


#: columns that ``to_csv`` writes as the canonical reader reads them back, untouched (not
#: "date": pandas says so of a column that mixes dates and timestamps)
_AS_THEY_ARE = ("string", "empty", "integer", "boolean")


def _csv_bytes(frame: pd.DataFrame, date_columns: set[str]) -> bytes:
    """The rows as canonical CSV, each value written the way the canonical mapping reads back
    what this run read from it: ``2026-10-31``, not ``2026-10-31 00:00:00`` (in a canonical
    date column the run keeps only the date of a timestamp, so that is all that is written);
    ``10``, not ``10.0`` (a nullable integer column comes back from the driver as floats);
    ``100.00``, not ``1E+2``.  A replay of the archived file then sees the values this run saw.
    Only columns of other types are converted value by value."""
    converted = {
        col: frame[col].map(lambda v, day=col in date_columns: _cell_text(v, day)).astype(object)
        for col in frame.columns
        if pd.api.types.infer_dtype(frame[col], skipna=True) not in _AS_THEY_ARE
    }
    out = frame.assign(**converted) if converted else frame  # the run's own frame stays as read
    return out.to_csv(index=False).encode("utf-8")


def _cell_text(value: object, date_only: bool = False) -> object:
    """One value as the run's coercion reads it (``coercion._num_text``), as text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):  # a TIMESTAMP column; pandas' Timestamp is one too
        midnight = value.hour == value.minute == value.second == value.microsecond == 0
        if date_only or (midnight and value.tzinfo is None):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    return value


def _missing_table(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "no such table" in msg or "does not exist" in msg or "doesn't exist" in msg


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)
