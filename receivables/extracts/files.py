"""The file source of an extract set: a folder or an fsspec URL (``s3://``, ``memory://``...).

Finds each extract's newest file, refuses locations outside the configured roots, and reads
CSV, XLSX or Parquet into raw frames indexed by the row numbers a user sees in the file, so
that quarantine records point at the right line.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from receivables.errors import InputRejected
from receivables.extracts.source_file import SourceFile
from receivables.extracts.statements import StatementPayments, has_statements, read_statement_folder
from receivables.mappings import Mapping, TextFormat
from receivables.schemas import EXTRACTS


def read_file_source(
    source: str, mapping: Mapping, roots: list[str], bank_accounts: dict[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, SourceFile], StatementPayments | None]:
    """Each extract's newest file under ``source`` as a raw frame, the file as read, and the
    payments of a ``statements/`` folder (None without one; it makes ``payments`` optional)."""
    _confine(source, roots)
    try:
        fs, base = fsspec.core.url_to_fs(source)
    except (ValueError, ImportError) as exc:
        raise InputRejected(f"the extract location cannot be opened: {exc}", file=source) from exc
    if not fs.isdir(base):
        raise InputRejected(
            "the extract location is not a folder (or does not exist)",
            file=source,
            hint="Pass the folder that holds customers, open_items and payments files.",
        )
    raws: dict[str, pd.DataFrame] = {}
    sources: dict[str, SourceFile] = {}
    statements = None
    if has_statements(fs, base):
        statements = read_statement_folder(fs, base, bank_accounts or {}, list(EXTRACTS["payments"].names))
    for name, extract in EXTRACTS.items():
        path = _find_file(fs, base, mapping.files_for(name))
        if path is None:
            if extract.required and not (name == "payments" and statements is not None):
                raise InputRejected(
                    f"the required extract '{name}' is missing; looked for " + ", ".join(mapping.files_for(name)),
                    file=source,
                    hint=f"Check the folder and the mapping '{mapping.name}'.",
                )
            continue
        display = path.rsplit("/", 1)[-1]
        with fs.open(path, "rb") as fh:
            data = fh.read()
        src = SourceFile(
            extract=name,
            url=fs.unstrip_protocol(path) if "://" in source else path,
            name=display,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            data=data,
        )
        raw = _read_bytes(data, display, mapping.format_for(name))
        src.rows = len(raw)
        raws[name], sources[name] = raw, src
    return raws, sources, statements


def _confine(source: str, roots: list[str]) -> None:
    """Refuse extract locations outside the configured roots (a path from a parameter or a
    deployment must not read arbitrary files on a worker)."""
    if not roots:
        return
    if "://" in source and not source.startswith("file://"):
        ok = any(source.startswith(r) for r in roots if "://" in r)
    else:
        target = Path(source.removeprefix("file://")).resolve()
        ok = any(target.is_relative_to(Path(r).resolve()) for r in roots if "://" not in r)
    if not ok:
        raise InputRejected(
            "the extract location is outside the configured extract_roots",
            file=source,
            hint="Add its folder to extract_roots in the settings if it is meant to be read.",
        )


def _find_file(fs: fsspec.AbstractFileSystem, base: str, patterns: list[str]) -> str | None:
    base = base.rstrip("/")
    for pattern in patterns:
        matches = sorted(fs.glob(f"{base}/{pattern}"))
        matches = [m for m in matches if not fs.isdir(m)]
        if matches:
            return matches[-1]  # several dated exports: the newest name sorts last
    return None


def _read_bytes(data: bytes, name: str, fmt: TextFormat) -> pd.DataFrame:
    """Raw records as text (or the file's own types for XLSX/Parquet), indexed by row number."""
    if not data.strip():
        raise InputRejected("the file is empty", file=name, hint="The ERP export probably failed.")
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, name)
    if lower.endswith(".parquet"):
        return _read_parquet(data, name)
    return _read_csv(data, name, fmt)


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InputRejected(f"the workbook cannot be read ({type(exc).__name__}: {exc})", file=name) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # header is spreadsheet row 1
    return frame


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise InputRejected(f"the Parquet file cannot be read ({exc})", file=name) from exc
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_csv(data: bytes, name: str, fmt: TextFormat) -> pd.DataFrame:
    if b"\x00" in data[:65536]:
        raise InputRejected(
            "the file is binary, not delimited text",
            file=name,
            hint="Is it a spreadsheet or an archive saved with a .csv name?",
        )
    text = _decode(data, name, fmt.encoding)
    header_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = fmt.delimiter if fmt.delimiter != "auto" else _sniff_delimiter(header_line)
    names = [h.strip().strip('"').strip() for h in _split_header(header_line, delimiter)]
    if not any(names):
        raise InputRejected("the first line holds no column headers", file=name, row=1)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputRejected(f"the header repeats column(s) {', '.join(dupes)}", file=name, row=1)
    bad_rows: list[tuple[int, str]] = []

    def _invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append((row.actual_columns, row.text))
        return "skip"

    body = text.encode("utf-8")
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InputRejected(f"the file cannot be parsed as delimited text ({exc})", file=name) from exc
    frame = table.to_pandas()
    frame.columns = names
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    if bad_rows:
        frame = _reinsert_bad_rows(frame, text, bad_rows, len(names))
    return frame


#: column holding the text of a record whose field count did not match the header
MALFORMED = "__malformed__"


def _reinsert_bad_rows(frame: pd.DataFrame, text: str, bad_rows: list[tuple[int, str]], expected: int) -> pd.DataFrame:
    """Give records with the wrong number of fields their row number back, so that the
    quarantine names them and the rows after them keep the numbers a user sees in the file."""
    lines = text.split("\n")
    bad_at: dict[int, str] = {}
    cursor = 1  # records are searched in file order; the handler is called in that order
    for actual, row_text in bad_rows:
        first = row_text.split("\n", 1)[0]
        while cursor < len(lines) and lines[cursor].rstrip("\r") != first.rstrip("\r"):
            cursor += 1
        line_no = cursor + 1 if cursor < len(lines) else len(lines)
        bad_at[line_no] = f"{actual} of {expected} fields: {row_text[:200]}"
        cursor += 1
    total = len(frame) + len(bad_at)
    good_rows = [r for r in range(2, total + 2) if r not in bad_at]
    frame.index = pd.Index(good_rows[: len(frame)])
    bad = pd.DataFrame({c: pd.Series([pd.NA] * len(bad_at), dtype=object) for c in frame.columns})
    bad.index = pd.Index(sorted(bad_at))
    bad[MALFORMED] = [bad_at[r] for r in sorted(bad_at)]
    frame[MALFORMED] = pd.NA
    return pd.concat([frame, bad]).sort_index()


def _decode(data: bytes, name: str, encoding: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InputRejected(
            f"the file is not valid {encoding} (byte {data[exc.start : exc.start + 1]!r} at position {exc.start})",
            file=name,
            row=row,
            hint="If the ERP writes Latin-1 or Windows-1252, declare it as `encoding` in the mapping.",
        ) from exc
    return text.replace("\r\n", "\n")


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split_header(header_line: str, delimiter: str) -> list[str]:
    import csv

    return next(csv.reader([header_line], delimiter=delimiter))
