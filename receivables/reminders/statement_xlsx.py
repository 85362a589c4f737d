"""A one-sheet SpreadsheetML (XLSX) package for the statement of account, written directly.

Why not xlsxwriter: every reminder carries a statement, and xlsxwriter builds a whole
workbook object per file (format objects, a theme, app properties, nine zip members each
deflated on its own): about 0.6 ms of CPU for an empty workbook and 1.7 ms for a typical
statement (``benchmarks/statement_attachment.py``), none of which its options
(``in_memory``, ``constant_memory``) remove.  The statement always has the same package,
styles and layout, so those parts are bytes made once at import; per statement only the
sheet, its shared strings, the workbook (sheet name, defined names) and the core properties
are written, following ECMA-376 (Part 1, SpreadsheetML) element order, with the cell styles
xlsxwriter gave the statement (``STYLE_*``).  The tests read every file back with openpyxl.

Files are byte-identical for the same content: zip members carry a fixed timestamp.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from receivables.reminders import zip_package

#: cell styles (indices into cellXfs of ``_STYLES``)
STYLE_NONE, STYLE_TITLE, STYLE_BOLD, STYLE_DAY, STYLE_HEAD, STYLE_CODE, STYLE_MONEY, STYLE_MONEY_BOLD = range(8)
#: ECMA-376 paperSize codes
PAPER_LETTER, PAPER_A4 = 1, 9
#: the longest text a cell holds (Excel's limit)
MAX_TEXT = 32767

_XML = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_CONTENT_TYPES = (
    _XML
    + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/docProps/core.xml"'
        ' ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        "</Types>"
    ).encode()
)

_ROOT_RELS = (
    _XML
    + (
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
        "</Relationships>"
    ).encode()
)

_WORKBOOK_RELS = (
    _XML
    + (
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ).encode()
)

_FONT = '<sz val="{}"/><name val="Calibri"/><family val="2"/>'
_STYLES = (
    _XML
    + (
        f'<styleSheet xmlns="{_MAIN}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="#,##0.00"/></numFmts>'
        f'<fonts count="3"><font>{_FONT.format(11)}</font><font><b/>{_FONT.format(14)}</font>'
        f"<font><b/>{_FONT.format(11)}</font></fonts>"
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFDCE6F1"/><bgColor indexed="64"/></patternFill></fill>'
        "</fills>"
        '<borders count="3"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom><diagonal/></border>'
        '<border><left/><right/><top style="thin"><color auto="1"/></top><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="2" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"'
        ' applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment horizontal="center"/></xf>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="164" fontId="2" fillId="0" borderId="2" xfId="0" applyNumberFormat="1" applyFont="1"'
        ' applyBorder="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ).encode()
)

#: a fixed member timestamp (the zip epoch): the same statement is the same bytes
_STAMP = zip_package.dos_stamp((1980, 1, 1, 0, 0, 0))
#: the serial day 0 of the 1900 date system as spreadsheets count it (with the 1900 leap bug)
_DAY_ZERO = date(1899, 12, 30)
# XML 1.0 forbids these; Excel writes them as _xHHHH_, and a literal _xHHHH_ is escaped first
_LITERAL_ESCAPE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@lru_cache(maxsize=64)
def column_letter(col: int) -> str:
    """A zero-based column number as spreadsheets name it: 0 -> A, 26 -> AA."""
    name, col = "", col + 1
    while col:
        col, rest = divmod(col - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text_xml(value: str) -> str:
    """A ``<t>`` element for text: XML-escaped, forbidden characters as Excel writes them."""
    if "_x" in value:
        value = _LITERAL_ESCAPE.sub(r"_x005F\1", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    value = escape(value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<t xml:space="preserve">{value}</t>'
    return f"<t>{value}</t>"


def excel_width(chars: float) -> float:
    """A column width in digits as Excel stores it (whole pixels of a 7-pixel digit plus 5
    pixels of margin), so the file shows what xlsxwriter showed for the same width."""
    if chars <= 0:
        return 0.0
    pixels = int(chars * 7 + 0.5) + 5 if chars >= 1 else int(chars * 12 + 0.5)
    return int(pixels / 7 * 256) / 256


class StatementSheet:
    """The cells of one sheet, written in any order and stored row by row; ``package`` makes
    the XLSX file."""

    def __init__(self) -> None:
        self._rows: dict[int, dict[int, str]] = {}
        self._strings: dict[str, int] = {}
        self._string_refs = 0

    @property
    def last_row(self) -> int:
        return max(self._rows, default=0)

    @property
    def last_col(self) -> int:
        # asked for twice a file, not kept up to date per cell (a night writes millions)
        return max((max(cells) for cells in self._rows.values()), default=0)

    def _put(self, row: int, col: int, xml: str) -> None:
        self._rows.setdefault(row, {})[col] = xml  # a cell written again is replaced

    def text(self, row: int, col: int, value: str, style: int = STYLE_NONE) -> None:
        """A text cell (a shared string): shown as it is, never evaluated."""
        index = self._strings.setdefault(value[:MAX_TEXT], len(self._strings))
        self._string_refs += 1
        s = f' s="{style}"' if style else ""
        self._put(row, col, f'<c r="{column_letter(col)}{row + 1}"{s} t="s"><v>{index}</v></c>')

    def number(self, row: int, col: int, value: int | Decimal, style: int = STYLE_NONE) -> None:
        """A number cell; money as the Decimal of its cents, so the file holds it exactly."""
        s = f' s="{style}"' if style else ""
        self._put(row, col, f'<c r="{column_letter(col)}{row + 1}"{s}><v>{value}</v></c>')

    def day(self, row: int, col: int, value: date, style: int = STYLE_DAY) -> None:
        """A date: its serial day number in a date format."""
        self.number(row, col, (value - _DAY_ZERO).days, style)

    def sheet_data(self, heights: dict[int, float]) -> str:
        parts = ["<sheetData>"]
        for row in sorted(self._rows):
            height = heights.get(row)
            ht = f' ht="{height:g}" customHeight="1"' if height else ""
            parts.append(f'<row r="{row + 1}"{ht}>')
            cells = self._rows[row]
            parts.extend(cells[col] for col in sorted(cells))
            parts.append("</row>")
        parts.append("</sheetData>")
        return "".join(parts)

    def _shared_strings(self) -> bytes:
        items = "".join(f"<si>{_text_xml(s)}</si>" for s in self._strings)
        count = f'count="{self._string_refs}" uniqueCount="{len(self._strings)}"'
        return _XML + f'<sst xmlns="{_MAIN}" {count}>{items}</sst>'.encode()

    def package(self, layout: SheetLayout) -> bytes:
        """The XLSX file: the fixed parts, this sheet, its strings, names and properties."""
        members = (
            _fixed_member("[Content_Types].xml", _CONTENT_TYPES),
            _fixed_member("_rels/.rels", _ROOT_RELS),
            _fixed_member("docProps/core.xml", _core(layout.title, layout.author, layout.created)),
            _fixed_member("xl/workbook.xml", _workbook(layout, self.last_col)),
            _fixed_member("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            _fixed_member("xl/styles.xml", _STYLES),
            zip_package.member("xl/sharedStrings.xml", self._shared_strings()),
            zip_package.member("xl/worksheets/sheet1.xml", _worksheet(layout, self)),
        )
        return zip_package.archive(members, _STAMP)


class SheetLayout:
    """What the statement's sheet looks like beyond its cells: names, widths, frozen and
    printed heading row, the autofilter, the paper."""

    __slots__ = ("sheet_name", "title", "author", "created", "widths", "heights", "header_row", "filter_last", "paper")

    def __init__(
        self,
        *,
        sheet_name: str,
        title: str,
        author: str,
        created: date,
        widths: list[float],
        heights: dict[int, float],
        header_row: int,
        filter_last: int,
        paper: int,
    ) -> None:
        self.sheet_name, self.title, self.author, self.created = sheet_name, title, author, created
        self.widths, self.heights, self.header_row = widths, heights, header_row
        self.filter_last, self.paper = filter_last, paper


def _worksheet(layout: SheetLayout, sheet: StatementSheet) -> bytes:
    """The sheet: one page wide in landscape, the headings frozen, filtered and repeated on
    every printed page (CT_Worksheet's element order)."""
    head = layout.header_row + 1
    last = column_letter(sheet.last_col)
    last_row = sheet.last_row + 1
    cols = "".join(
        f'<col min="{n}" max="{n}" width="{excel_width(w):g}" customWidth="1"/>'
        for n, w in enumerate(layout.widths, start=1)
    )
    xml = (
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}{last_row}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        f'<pane ySplit="{head}" topLeftCell="A{head + 1}" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols>"
        f"{sheet.sheet_data(layout.heights)}"
        f'<autoFilter ref="A{head}:{last}{layout.filter_last + 1}"/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        f'<pageSetup paperSize="{layout.paper}" fitToHeight="0" orientation="landscape"/>'
        "</worksheet>"
    )
    return _XML + xml.encode()


def _workbook(layout: SheetLayout, last_col: int) -> bytes:
    """The workbook: its one sheet and the names Excel gives the autofilter and print titles."""
    quoted = "'" + layout.sheet_name.replace("'", "''") + "'"
    head = layout.header_row + 1
    last = column_letter(last_col)
    names = (
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{escape(quoted)}!$A${head}:${last}${layout.filter_last + 1}</definedName>"
        f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{escape(quoted)}!${head}:${head}</definedName>'
    )
    xml = (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        "<bookViews><workbookView/></bookViews>"
        f'<sheets><sheet name={quoteattr(layout.sheet_name)} sheetId="1" r:id="rId1"/></sheets>'
        f"<definedNames>{names}</definedNames>"
        '<calcPr calcId="124519" fullCalcOnLoad="1"/>'
        "</workbook>"
    )
    return _XML + xml.encode()


@lru_cache(maxsize=1024)
def _fixed_member(name: str, content: bytes) -> zip_package.Member:
    # deflated once: the package's fixed parts, and the few core properties and (per row
    # count) workbook parts a night's statements share
    return zip_package.member(name, content)


@lru_cache(maxsize=64)
def _core(title: str, author: str, created: date) -> bytes:
    """The document properties: title, author, and the as-of day as creation time (not the
    clock, so a rerun makes the same file)."""
    stamp = f"{created.isoformat()}T00:00:00Z"
    xml = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(author)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )
    return _XML + xml.encode()
