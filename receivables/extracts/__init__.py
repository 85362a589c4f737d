"""Reading an extract set: find the files, read them, map the ERP layout, coerce the types.

Stage 1 of a run.  The output is one typed frame per extract in the canonical shape of
``receivables.schemas``, plus *row errors* (values that cannot be read as their type) that the
validation stage turns into quarantine records.  Structural problems that make a file
unusable (missing, empty, binary, wrong encoding, missing column, unparseable CSV) raise
``InputRejected`` naming the file, row and column.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from receivables.config_folder import ConfigFolder
from receivables.errors import InputRejected
from receivables.mappings import Mapping, TextFormat
from receivables.schemas import EXTRACTS, Extract
from receivables.settings import sqlalchemy_url

ROW_ERROR_COLUMNS = ["extract", "file", "row_number", "column", "value", "reason"]
MAX_CENTS = 10**15  # a trillion in any currency: beyond that a value is a unit mix-up
SQL_PREFIX = "sql+"


@dataclass
class SourceFile:
    """One input as read: where from, its bytes' sha256, how many records it had."""

    extract: str
    url: str
    name: str
    sha256: str
    size: int
    rows: int = 0
    data: bytes = field(default=b"", repr=False)


@dataclass
class ExtractSet:
    """The typed frames of one run's input, the row errors found while reading, the sources."""

    frames: dict[str, pd.DataFrame]
    row_errors: pd.DataFrame
    sources: dict[str, SourceFile]
    mapping: str

    def input_hashes(self) -> dict[str, str]:
        return {s.name: s.sha256 for s in self.sources.values()}


def read_extract_set(
    source: str,
    mapping: Mapping,
    *,
    as_of: date | None = None,
    roots: list[str] | None = None,
    folder: ConfigFolder = ConfigFolder(),
) -> ExtractSet:
    """Read every extract the mapping knows from a folder, an fsspec URL or a SQL source (the
    queries ``sql/extract/<extract>.sql`` of the configuration ``folder``, else shipped)."""
    if source.startswith(SQL_PREFIX):
        raws, sources = _read_sql_source(source[len(SQL_PREFIX) :], as_of, folder)
    else:
        raws, sources = _read_file_source(source, mapping, roots or [])
    frames: dict[str, pd.DataFrame] = {}
    errors: list[pd.DataFrame] = []
    for name, raw in raws.items():
        extract = EXTRACTS[name]
        src = sources[name]
        mapped = _apply_mapping(raw, extract, mapping, src.name)
        typed, row_errors = _coerce(mapped, extract, mapping.format_for(name), src.name)
        frames[name] = typed
        errors.append(row_errors)
    for name, extract in EXTRACTS.items():
        if name not in frames:  # optional extract not supplied: an empty, typed frame
            frames[name], _ = _coerce(pd.DataFrame(columns=extract.names, dtype=object), extract, TextFormat(), "")
    row_errors = pd.concat(errors, ignore_index=True) if errors else _empty_errors()
    return ExtractSet(frames=frames, row_errors=row_errors, sources=sources, mapping=mapping.name)


# --- locating and reading files -------------------------------------------------------------


def _read_file_source(
    source: str, mapping: Mapping, roots: list[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, SourceFile]]:
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
    for name, extract in EXTRACTS.items():
        path = _find_file(fs, base, mapping.files_for(name))
        if path is None:
            if extract.required:
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
    return raws, sources


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


# --- SQL source -------------------------------------------------------------------------------


def _read_sql_source(
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


# --- mapping ------------------------------------------------------------------------------------


def _apply_mapping(raw: pd.DataFrame, extract: Extract, mapping: Mapping, file: str) -> pd.DataFrame:
    """Rename the ERP's headers to canonical names and translate its codes; extra columns stay."""
    em = mapping.for_extract(extract.name)
    present = {str(c).strip(): c for c in raw.columns}
    missing = [
        f"'{mapping.source_header(extract.name, c.name)}'"
        + ("" if mapping.source_header(extract.name, c.name) == c.name else f" (for {c.name})")
        for c in extract.columns
        if c.required and mapping.source_header(extract.name, c.name) not in present
    ]
    if missing:
        found = ", ".join(list(present)[:20])
        raise InputRejected(
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing; the header has: {found}",
            file=file,
            row=1,
            hint=f"Check the export layout against the mapping '{mapping.name}'.",
        )
    out = pd.DataFrame(index=raw.index)
    used = set()
    for col in extract.columns:
        header = mapping.source_header(extract.name, col.name)
        if header in present:
            series = raw[present[header]]
            used.add(present[header])
        else:
            series = pd.Series(pd.NA, index=raw.index, dtype=object)
        codes = em.values.get(col.name)
        if codes:
            series = series.map(lambda v, codes=codes: codes.get(v.strip(), v) if isinstance(v, str) else v)
        out[col.name] = series
    for c in raw.columns:  # unknown extra columns are kept, and ignored by the stages
        if c not in used and c not in out.columns:
            out[c] = raw[c]
    return out


# --- type coercion ---------------------------------------------------------------------------


def _coerce(frame: pd.DataFrame, extract: Extract, fmt: TextFormat, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    errors: list[pd.DataFrame] = []
    out = frame.copy()
    if MALFORMED in out.columns:
        bad = out[MALFORMED].notna()
        if bad.any():
            errors.append(
                _errors(
                    extract.name,
                    file,
                    out.index[bad],
                    "(row)",
                    out.loc[bad, MALFORMED],
                    "malformed record: the number of fields differs from the header "
                    "(truncated row or unquoted delimiter)",
                )
            )
        out = out.drop(columns=[MALFORMED])
        blank_malformed = bad
    else:
        blank_malformed = pd.Series(False, index=out.index)
    header_repeat = _repeated_header(out, extract)
    if header_repeat.any():
        errors.append(
            _errors(
                extract.name,
                file,
                out.index[header_repeat],
                "(row)",
                "header",
                "repeated header line (two exports concatenated?)",
            )
        )
    skip = blank_malformed | header_repeat
    for col in extract.columns:
        series = out[col.name]
        typed, bad_mask, reason = _COERCERS[col.kind](series, fmt)
        bad_mask = bad_mask & ~skip
        if bad_mask.any():
            errors.append(_errors(extract.name, file, out.index[bad_mask], col.name, series[bad_mask], reason))
        out[col.name] = typed
    row_errors = pd.concat(errors, ignore_index=True) if errors else _empty_errors()
    return out, row_errors


def _repeated_header(frame: pd.DataFrame, extract: Extract) -> pd.Series:
    key = extract.key[0]
    values = frame[key]
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.astype("string").str.strip().str.lower().eq(key.lower()).fillna(False).astype(bool)
    return pd.Series(False, index=frame.index)


def _errors(extract: str, file: str, index: pd.Index, column: str, values: object, reason: str) -> pd.DataFrame:
    n = len(index)
    vals = values if isinstance(values, str) else [None if _blank(v) else str(v)[:500] for v in values]
    return pd.DataFrame(
        {
            "extract": [extract] * n,
            "file": [file] * n,
            "row_number": np.asarray(index, dtype="int64"),
            "column": [column] * n,
            "value": [vals] * n if isinstance(vals, str) else vals,
            "reason": [reason] * n,
        }
    )


def _empty_errors() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row_number" else object) for c in ROW_ERROR_COLUMNS})


def _blank(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _per_value(series: pd.Series, test) -> pd.Series:
    """``series.map(test)`` for a test that no string is true of: a text column (every CSV
    column) is answered at once instead of value by value."""
    if isinstance(series.dtype, pd.StringDtype):
        return pd.Series(False, index=series.index)
    return series.map(test)


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped text, blanks as NA; numbers from a typed source keep their digits."""
    if pd.api.types.is_string_dtype(series) and series.dtype != object:
        text = series.astype("string")
    else:
        text = series.map(lambda v: None if _blank(v) else (_num_text(v) if not isinstance(v, str) else v)).astype(
            "string"
        )
    text = text.str.strip()
    return text.mask(text == "", pd.NA)


def _num_text(v: object) -> str:
    if isinstance(v, (pd.Timestamp,)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _text(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    text = _as_text(series)
    return text, pd.Series(False, index=series.index), ""


def _code(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    return _text(series, fmt)


_AMOUNT = re.compile(r"^(?P<sign>[+-]?)(?P<whole>\d+)(?:\.(?P<frac>\d+))?$")


def _money(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    reason = f"not an amount with at most 2 decimals in the format {_number_example(fmt)}"
    if pd.api.types.is_numeric_dtype(series) and series.dtype != bool:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        cents = np.round(values * 100)
        bad = ~np.isnan(values) & ((np.abs(values * 100 - cents) > 1e-6) | (np.abs(cents) >= MAX_CENTS))
        out = pd.Series(np.where(np.isnan(cents) | bad, 0, cents).astype("int64"), index=series.index)
        return out.where(~np.isnan(values), pd.NA).astype("Int64"), pd.Series(bad, index=series.index), reason
    typed_numbers = _per_value(
        series, lambda v: isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) and not _blank(v)
    )
    text = _as_text(series)
    if typed_numbers.any():
        text = text.where(
            ~typed_numbers,
            series.map(
                lambda v: format(Decimal(str(v)), "f") if isinstance(v, (int, float, Decimal)) and not _blank(v) else v
            ).astype("string"),
        )
    norm = text
    needs_format = ~typed_numbers
    if fmt.trailing_minus:
        trailing = norm.str.endswith("-").fillna(False) & needs_format
        norm = norm.where(~trailing, "-" + norm.str[:-1])
    if fmt.thousands:
        norm = norm.where(~needs_format, norm.str.replace(fmt.thousands, "", regex=False))
    if fmt.decimal == ",":
        norm = norm.where(~needs_format, norm.str.replace(",", ".", regex=False))
    norm = norm.str.replace(" ", "", regex=False)
    parts = _extract_amount(norm)
    ok = parts["whole"].notna()
    frac = parts["frac"]
    too_precise = ok & (frac.str.rstrip("0").str.len() > 2).fillna(False)
    long_number = ok & (parts["whole"].str.len() > 13).fillna(False)
    usable = (ok & ~too_precise & ~long_number).astype(bool)
    cents = pd.Series(0, index=series.index, dtype="int64")
    if usable.any():
        whole = parts.loc[usable, "whole"].astype("int64")
        hundredths = frac[usable].fillna("").str.ljust(2, "0").str[:2].astype("int64")
        value = whole * 100 + hundredths
        cents[usable] = np.where(parts.loc[usable, "sign"].eq("-"), -value, value)
    present = text.notna()
    bad = present & ~usable
    result = cents.astype("Int64").where(usable, pd.NA)
    return result, bad, reason


def _extract_amount(norm: pd.Series) -> pd.DataFrame:
    """``norm.str.extract(_AMOUNT)``, evaluated by pyarrow's RE2 when the text is ASCII.

    pandas runs an extract on Arrow strings row by row in Python (seconds per million rows);
    RE2's ``\\d`` only knows ASCII digits while Python's also takes e.g. Arabic-Indic ones, so
    any non-ASCII text keeps Python's ``re`` and its exact behaviour."""
    values = (
        pa.array(norm.array) if isinstance(norm.dtype, pd.StringDtype) and norm.dtype.storage == "pyarrow" else None
    )
    if values is None or pc.all(pc.string_is_ascii(values)).as_py() is False:
        return norm.str.extract(_AMOUNT)
    found = pc.extract_regex(values, _AMOUNT.pattern)
    return pd.DataFrame(
        {group: pd.array(pc.struct_field(found, group), dtype=norm.dtype) for group in _AMOUNT.groupindex},
        index=norm.index,
    )


def _number_example(fmt: TextFormat) -> str:
    thousands = fmt.thousands or ""
    sample = f"1{thousands}234{fmt.decimal}56"
    return sample + ("-" if fmt.trailing_minus else "") + " or -" + sample


def _date(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    reason = (
        "not a valid date in the format "
        f"{fmt.date_format.replace('%Y', 'yyyy').replace('%m', 'mm').replace('%d', 'dd')}"
    )
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=series.index), reason
    is_dt = _per_value(series, lambda v: isinstance(v, (pd.Timestamp, date)))
    text = _as_text(series.where(~is_dt, None))
    parsed = pd.to_datetime(text, format=fmt.date_format, errors="coerce")
    if fmt.date_format != "%Y-%m-%d":
        # XLSX cells typed as dates arrive as ISO text from _as_text
        parsed = parsed.fillna(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"))
    if is_dt.any():
        parsed = parsed.where(~is_dt, pd.to_datetime(series.where(is_dt), errors="coerce"))
    parsed = parsed.dt.normalize().astype("datetime64[ns]")
    bad = (text.notna() | is_dt) & parsed.isna()
    return parsed, bad.astype(bool), reason


def _int(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    text = _as_text(series)
    ok = text.str.fullmatch(r"[+-]?\d{1,9}").fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=series.index, dtype="Int64")
    if ok.any():
        out[ok] = text[ok].astype("int64")
    return out, (text.notna() & ~ok), "not a whole number"


def _decimal(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    text = _as_text(series)
    if fmt.decimal == ",":
        text = text.str.replace(fmt.thousands, "", regex=False) if fmt.thousands else text
        text = text.str.replace(",", ".", regex=False)

    def parse(v: object) -> Decimal | None:
        if v is None or v is pd.NA:
            return None
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None

    # a column repeats few distinct values (rates, percentages): parse each once
    codes, distinct = pd.factorize(text)
    parsed = np.array([parse(v) for v in distinct] + [None], dtype=object)  # code -1 (blank) -> None
    values = pd.Series(parsed[codes], index=text.index, dtype=object)
    bad = text.notna() & values.isna()
    return values.where(values.notna(), None), bad.astype(bool), "not a decimal number"


def _bool(series: pd.Series, fmt: TextFormat) -> tuple[pd.Series, pd.Series, str]:
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).astype(bool), pd.Series(False, index=series.index), ""
    text = _as_text(series).str.lower()
    true = {v.lower() for v in fmt.true_values}
    false = {v.lower() for v in fmt.false_values}
    is_true = text.isin(true).fillna(False).astype(bool)
    is_false = (text.isna() | text.isin(false)).fillna(True).astype(bool)
    if fmt.any_value_is_true:
        is_true = ~is_false
    bad = ~is_true & ~is_false
    reason = f"not a yes/no flag (use {', '.join(fmt.true_values[:2])} or {', '.join(fmt.false_values[:2])})"
    return is_true, bad, reason


_COERCERS = {
    "text": _text,
    "code": _code,
    "email": _text,
    "money": _money,
    "date": _date,
    "int": _int,
    "decimal": _decimal,
    "bool": _bool,
}
