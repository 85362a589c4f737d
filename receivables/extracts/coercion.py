"""From raw records to the canonical extract: the mapping renames the ERP's headers and
translates its codes, then each column is parsed as its kind (money, date, int, decimal,
bool, code, text).

A value that cannot be read as its type does not stop the run: it becomes a *row error*
(extract, file, row, column, value, reason) that validation quarantines.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.errors import InputRejected
from receivables.extracts.files import MALFORMED
from receivables.mappings import Mapping, TextFormat
from receivables.schemas import Extract

ROW_ERROR_COLUMNS = ["extract", "file", "row_number", "column", "value", "reason"]
MAX_CENTS = 10**15  # a trillion in any currency: beyond that a value is a unit mix-up


# --- mapping ------------------------------------------------------------------------------------


def apply_mapping(raw: pd.DataFrame, extract: Extract, mapping: Mapping, file: str) -> pd.DataFrame:
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


def coerce(frame: pd.DataFrame, extract: Extract, fmt: TextFormat, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    row_errors = pd.concat(errors, ignore_index=True) if errors else empty_errors()
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


def empty_errors() -> pd.DataFrame:
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
