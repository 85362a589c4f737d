"""The close's part of a run: what the report stage adds beside aging, KPIs and the worklist,
what the publish writes, and which files the report-files stage leaves for the ERP and the
agencies.  Write-off proposals and handover packages are made every night (a night decides
them); the expected-credit-loss provision only by a close run (``Run.close``), so a normal
night never replaces the month-end's provision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.engine import Connection

from receivables.warehouse import replace_for_as_of

if TYPE_CHECKING:  # the report stage imports this module; these only annotate here
    from receivables.cash_application import CashApplication
    from receivables.dunning_stage import DunningStep
    from receivables.pipeline import Run
    from receivables.validation import ValidatedSet


@dataclass
class CloseOutputs:
    """The close's frames of one run (None: this run does not make that part, and the
    warehouse's rows of the date stay as they are)."""

    #: table name -> the run's rows for it
    tables: dict[str, pd.DataFrame | None]

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items() if frame is not None}


def build_close(
    run: Run,
    validated: ValidatedSet,
    cash: CashApplication,
    step: DunningStep,
    aging: pd.DataFrame,
    cases: pd.DataFrame,
) -> CloseOutputs:
    """The close's part of the report stage: each part of the close in its module."""
    return CloseOutputs(tables={})


def publish_close(conn: Connection, run: Run, close: CloseOutputs) -> None:
    """Write the close's rows of the as_of in the publish transaction."""
    for table, frame in close.tables.items():
        if frame is not None:
            replace_for_as_of(conn, table, run.as_of, frame, run.run_id)


def write_close_files(run: Run, close: CloseOutputs, folder: Path) -> dict[str, str]:
    """The close's files under the report folder (journals, exports); name -> path."""
    return {}
