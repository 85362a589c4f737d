"""The close's part of a run: what the report stage adds beside aging, KPIs and the worklist,
what the publish writes, and which files the report-files stage leaves for the ERP and the
agencies.  Write-off proposals and handover packages are made every night (a night decides
them); the expected-credit-loss provision only by a close run (``Run.close``), so a normal
night never replaces the month-end's provision."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.engine import Connection

from receivables.close import night_parts
from receivables.close.claims_part import claims_part
from receivables.close.provision_run import close_provisions
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
    #: part name -> what ``write_close_files`` needs beyond the tables (handover packages)
    packages: dict[str, list] = field(default_factory=dict)

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
    close = CloseOutputs(tables={})
    close.tables["writeoff_proposals"] = night_parts.writeoff_part(run, validated, cash, step)
    handed, packages = night_parts.handover_part(run, validated, cash, step, cases)
    close.tables["handovers"], close.packages["handovers"] = handed, packages
    close.tables["claims"] = claims_part(run, validated, cash, step, close.tables.get("writeoff_proposals"))
    # the claims history (every night's notices and cash so far) is only the claims' input:
    # it does not stay on the step through the reminders and the publish
    step.claims_history = None
    close.tables["provisions"] = close_provisions(run, validated, cash, aging, cases, close.tables)
    return close


def publish_close(conn: Connection, run: Run, close: CloseOutputs) -> None:
    """Write the close's rows of the as_of in the publish transaction."""
    for table, frame in close.tables.items():
        if frame is not None:
            replace_for_as_of(conn, table, run.as_of, frame, run.run_id)


def write_close_files(run: Run, close: CloseOutputs, folder: Path) -> dict[str, str]:
    """The close's files under the report folder (journals, exports); name -> path."""
    files: dict[str, str] = {}
    files |= night_parts.write_writeoff_files(run, close, folder)
    files |= night_parts.write_handover_files(run, close, folder)
    return files
