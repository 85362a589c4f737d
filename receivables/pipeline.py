"""The nightly run as plain library calls: the stages in order, without orchestration.

``flows/nightly.py`` composes the same stage functions as Prefect tasks; ``run_nightly`` calls
them directly (tests, benchmarks, and measuring what orchestration costs).  Each stage
function takes the ``Run`` it belongs to and returns plain data.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Iterator

import pandas as pd
from sqlalchemy.engine import Engine

from receivables.archive import archive_inputs
from receivables.errors import InputRejected
from receivables.extracts import ExtractSet, read_extract_set
from receivables.mappings import load_mapping
from receivables.money import to_decimal
from receivables.settings import Settings
from receivables.validation import ValidatedSet, validate_extract_set
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.run_log import finish_run, start_run


@dataclass
class Run:
    """One run of the pipeline: what it reads, for which date, where it writes."""

    source: str
    as_of: date
    settings: Settings
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    flow_run_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, object] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return warehouse_engine(self.settings.db_url)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)


@lru_cache(maxsize=8)
def warehouse_engine(url: str) -> Engine:
    """One engine per warehouse URL per process, migrated to the newest schema on first use."""
    engine = connect(url)
    migrate(engine)
    return engine


def begin(run: Run) -> None:
    """Record the run as started (status ``running``) so a crash still shows in the history."""
    start_run(
        run.engine,
        run_id=run.run_id,
        as_of=run.as_of,
        mode=run.settings.effective_mail_mode,
        source=run.source,
        mapping=run.settings.mapping,
        flow_run_id=run.flow_run_id,
    )


def ingest(run: Run) -> ExtractSet:
    """Stage 1: read the extract set through the configured mapping."""
    with run.timed("ingest"):
        mapping = load_mapping(run.settings.mapping)
        extracts = read_extract_set(run.source, mapping, as_of=run.as_of, roots=run.settings.extract_roots)
    return extracts


def validate(run: Run, extracts: ExtractSet) -> ValidatedSet:
    """Stage 2: the great-expectations gate; raises ``InputRejected`` on a critical failure."""
    with run.timed("validate"):
        validated = validate_extract_set(extracts, run.as_of)
    run.counts["extracts"] = validated.counts
    run.counts["quarantined_rows"] = int(sum(c["quarantined"] for c in validated.counts.values()))
    return validated


def persist_inputs(run: Run, extracts: ExtractSet, validated: ValidatedSet) -> None:
    """After the gate: archive the raw inputs and write this as_of's quarantine records."""
    with run.timed("archive"):
        archive_inputs(extracts, run.settings.archive_dir, run.as_of, run.run_id)
    with run.timed("quarantine"), run.engine.begin() as conn:
        replace_for_as_of(conn, "quarantine", run.as_of, validated.quarantine, run.run_id)


def summarise(run: Run, validated: ValidatedSet) -> dict:
    """The key numbers of a run for the CLI, the run log and the flow's artifacts."""
    items = validated.frames["open_items"]
    totals = (
        items.groupby(["company_code", "currency"], sort=True)["open_amount"].sum().reset_index()
        if not items.empty
        else pd.DataFrame(columns=["company_code", "currency", "open_amount"])
    )
    return {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "mode": run.settings.effective_mail_mode,
        "extracts": validated.counts,
        "quarantined_rows": run.counts.get("quarantined_rows", 0),
        "open_totals": [
            {"company_code": r.company_code, "currency": r.currency, "open_amount": str(to_decimal(r.open_amount))}
            for r in totals.itertuples()
        ],
        "timings": dict(run.timings),
    }


def finish(run: Run, summary: dict) -> None:
    finish_run(
        run.engine,
        run.run_id,
        status="succeeded",
        counts=run.counts,
        timings=run.timings,
        input_hashes=summary.get("input_hashes"),
    )


def fail(run: Run, exc: BaseException) -> None:
    """Mark the run ``rejected`` (input refused) or ``failed``, keeping the reason."""
    status = "rejected" if isinstance(exc, InputRejected) else "failed"
    finish_run(run.engine, run.run_id, status=status, counts=run.counts, timings=run.timings, error=str(exc)[:4000])


def run_nightly(source: str, as_of: date, settings: Settings) -> dict:
    """Every stage in order, directly; returns the run summary."""
    run = Run(source=source, as_of=as_of, settings=settings)
    begin(run)
    try:
        extracts = ingest(run)
        validated = validate(run, extracts)
        persist_inputs(run, extracts, validated)
        summary = summarise(run, validated) | {"input_hashes": extracts.input_hashes()}
        finish(run, summary)
    except BaseException as exc:
        fail(run, exc)
        raise
    return summary
