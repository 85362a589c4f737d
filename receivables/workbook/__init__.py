"""Stage 6, report: the Excel workbook finance users open after a run.

Sheets, in reading order: **Summary** (the run's facts, the KPIs by company code, the aging and
trend charts), **Worklist**, **Cases** (the collection cases, due actions first),
**Collectors** (each collector's load and record), **Aging** (with subtotals per company code
and currency), **Dunning proposal** (with each email's recipients and delivery status),
**Payment plans** (broken ones first), **Open items** (one row per document, which the other
sheets' customer cells link to), **Unapplied cash**, **Suggestions** (cash-application
proposals to confirm) and **KPIs**.

What a reader can rely on, on every sheet: money is a number with two decimals whose header
names its currency, "(EUR)" for the base currency or "(native)" beside a Currency column, and
never cents; dates are dates; codes are words (the warehouse keeps the codes); a header row
that stays in view, filters, and a print setup of landscape pages one page wide with the
header repeated.  No cell is a formula: text that starts like one gets a leading apostrophe.

The workbook is made from two parts known at different times (``inputs``): what the report
stage has, and what only delivery tells (``Delivery``).  One module per sheet; ``book`` puts
them together, ``background`` writes a large night's in another process.
"""

from receivables.cell_text import neutralise
from receivables.workbook.background import BackgroundWorkbook
from receivables.workbook.book import SHEETS, ReportWorkbook, write_report_workbook
from receivables.workbook.inputs import NO_DELIVERY, Delivery, RunFacts, WorkbookInputs
from receivables.workbook.sheets import EXCEL_MAX_ROWS

__all__ = [
    "EXCEL_MAX_ROWS",
    "NO_DELIVERY",
    "SHEETS",
    "BackgroundWorkbook",
    "Delivery",
    "ReportWorkbook",
    "RunFacts",
    "WorkbookInputs",
    "neutralise",
    "write_report_workbook",
]
