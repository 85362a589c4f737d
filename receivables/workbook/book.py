"""A run's workbook from start to close: the sheets, their order, and the two moments they are
written in.

``ReportWorkbook`` writes the sheets the reports fix (Worklist, Cases, Collectors, Aging,
Disputes, Payment plans, Open items, Unapplied cash, Suggestions, Refunds, Write-offs, KPIs) as
soon as it is opened, and
the two that need the delivery (the Summary's email counts and charts, the Dunning
proposal's delivery status) in ``finish``.  A large night opens it in a background process
while the reminders render (``background``); otherwise the report-files stage does both at
once (``write_report_workbook``).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import xlsxwriter
import xlsxwriter.workbook

from receivables.workbook.aging_sheet import write_aging
from receivables.workbook.casework_sheets import write_cases, write_collectors, write_plans
from receivables.workbook.cash_sheets import write_suggestions, write_unapplied
from receivables.workbook.disputes_sheet import write_disputes
from receivables.workbook.drivers_sheets import write_drivers, write_root_causes
from receivables.workbook.formats import Formats
from receivables.workbook.inputs import Delivery, WorkbookInputs
from receivables.workbook.kpi_sheet import write_kpis
from receivables.workbook.open_items_sheet import open_items, write_open_items
from receivables.workbook.proposal_sheet import proposal_base, write_proposal
from receivables.workbook.provision_sheet import write_provision
from receivables.workbook.refunds_sheet import write_refunds
from receivables.workbook.summary_sheet import write_summary
from receivables.workbook.worklist_sheet import write_worklist
from receivables.workbook.writeoffs_sheet import write_writeoffs

#: the sheets in the order a reader meets them
SHEETS = (
    "Summary",
    "Worklist",
    "Cases",
    "Collectors",
    "Aging",
    "Delinquency drivers",
    "Root causes",
    "Dunning proposal",
    "Disputes",
    "Payment plans",
    "Open items",
    "Unapplied cash",
    "Suggestions",
    "Refunds",
    "Write-offs",
    "Provision",
    "KPIs",
)
_OPTIONS = {
    "constant_memory": True,  # rows are written in order: memory stays flat for big sheets
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


class _Book(xlsxwriter.Workbook):
    """xlsxwriter's workbook, zipped at deflate level 1 instead of zlib's default 6: at size l
    its ~470 MB of sheet XML took 6.1 s of CPU to compress, at level 1 1.7 s, for a file of
    65 MB instead of 52 MB.  xlsxwriter has no option for it; its ``ZipFile`` is swapped for
    the store only (it is pinned in ``pyproject.toml`` for ``fast_rows`` already)."""

    def _store_workbook(self) -> None:
        zip_file = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = functools.partial(zip_file, compresslevel=1)
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = zip_file


class ReportWorkbook:
    """The workbook at ``path``: opening it writes every sheet the reports fix."""

    def __init__(self, path: Path | str, inputs: WorkbookInputs, created: dt.datetime | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.inputs = inputs
        self.book = _Book(str(self.path), _OPTIONS)
        if created is not None:
            self.book.set_properties({"created": created})
        try:
            self.formats = Formats.of(self.book)
            self.sheets = {name: self.book.add_worksheet(name) for name in SHEETS}
            self.items = open_items(inputs)
            self._write_early()
        except BaseException:
            self.abandon()
            raise

    def _write_early(self) -> None:
        s, i, fm, items = self.sheets, self.inputs, self.formats, self.items
        write_worklist(s["Worklist"], i, items, fm)
        write_cases(s["Cases"], i, items, fm)
        write_collectors(s["Collectors"], i, fm)
        write_plans(s["Payment plans"], i, items, fm)
        write_aging(s["Aging"], i, items, fm)
        write_open_items(s["Open items"], items, i, fm)
        write_unapplied(s["Unapplied cash"], i, items, fm)
        write_suggestions(s["Suggestions"], i, items, fm)
        write_refunds(s["Refunds"], i, items, fm)
        write_writeoffs(s["Write-offs"], i, items, fm)
        write_provision(s["Provision"], i, fm)
        write_kpis(s["KPIs"], i, fm)
        write_drivers(s["Delinquency drivers"], i, fm, self.book)
        write_root_causes(s["Root causes"], i, fm, self.book)
        write_disputes(s["Disputes"], i, items, fm)
        # what the Dunning proposal shows before the delivery, while the reminders render
        self.proposal = proposal_base(i, items)

    def finish(self, delivery: Delivery) -> Path:
        """Write the Summary and the Dunning proposal, and close the file."""
        try:
            s = self.sheets
            write_proposal(s["Dunning proposal"], self.inputs, self.proposal, delivery, self.formats)
            write_summary(s["Summary"], self.inputs, self.items, delivery, self.formats)
            self.book.close()
        except BaseException:
            self.abandon()
            raise
        return self.path

    def abandon(self) -> None:
        """Give up: no half-written file is left behind."""
        try:
            self.book.close()
        except Exception:  # noqa: BLE001,S110 - the file is removed next anyway
            pass
        self.path.unlink(missing_ok=True)


def write_report_workbook(
    path: Path | str, inputs: WorkbookInputs, delivery: Delivery, created: dt.datetime | None = None
) -> Path:
    """The whole workbook in this process."""
    return ReportWorkbook(path, inputs, created).finish(delivery)
