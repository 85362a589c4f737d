"""The SQL source of an extract set (``sql+<SQLAlchemy URL>``): one query per extract, run
against the ERP database, its rows kept as CSV bytes so the archive holds what was read.

A URL's password never reaches a message or the run log (``_redact``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pandas as pd

from receivables.config_folder import ConfigFolder
from receivables.errors import InputRejected
from receivables.extracts.source_file import SourceFile
from receivables.schemas import EXTRACTS
from receivables.settings import sqlalchemy_url

#: a source starting with this is a database URL, not a folder
SQL_PREFIX = "sql+"


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
                payload = frame.to_csv(index=False).encode("utf-8")
                raws[name] = frame
                sources[name] = SourceFile(
                    extract=name,
                    url=f"{_redact(url)}#{query_file.name}",
                    name=f"{name}.sql.csv",
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


def _missing_table(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "no such table" in msg or "does not exist" in msg or "doesn't exist" in msg


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)
