"""The run log: one row per run with its status, counts, timings and input hashes.

A run is written as ``running`` when it starts and finished as ``succeeded``, ``failed`` or
``rejected`` (input refused), so the history shows crashed runs too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.warehouse.tables import run_log


def start_run(
    engine: Engine,
    *,
    run_id: str,
    as_of: date,
    mode: str,
    source: str,
    mapping: str,
    flow_run_id: str | None = None,
    flow_run_name: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            run_log.insert().values(
                run_id=run_id,
                flow_run_id=flow_run_id,
                flow_run_name=flow_run_name,
                as_of=as_of,
                mode=mode,
                status="running",
                started_at=datetime.now(UTC),
                source=source,
                mapping=mapping,
            )
        )


def finish_run(
    engine: Engine,
    run_id: str,
    *,
    status: str,
    counts: dict | None = None,
    timings: dict | None = None,
    input_hashes: dict | None = None,
    error: str | None = None,
) -> None:
    values = {"status": status, "finished_at": datetime.now(UTC), "error": error}
    if counts is not None:
        values["counts"] = counts
    if timings is not None:
        values["timings"] = timings
    if input_hashes is not None:
        values["input_hashes"] = input_hashes
    with engine.begin() as conn:
        conn.execute(run_log.update().where(run_log.c.run_id == run_id).values(**values))


def history(engine: Engine, limit: int = 50) -> pd.DataFrame:
    query = sa.select(run_log).order_by(run_log.c.started_at.desc()).limit(limit)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in run_log.columns])
