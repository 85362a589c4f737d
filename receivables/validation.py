"""Stage 2: validate the extract set with the great-expectations suites in ``configs/expectations``.

Each expectation carries ``meta.severity``: ``critical`` stops the run before any side effect
(exit 2), ``row`` quarantines the failing rows with ``meta.reason``, ``warning`` keeps them
and reports them (``ValidatedSet.warnings``): a real name such as ``+Plus Logistik GmbH`` is
data to keep, and the protection against formulas belongs on output.  Values that could not be
read as their type (from ``receivables.extracts``) are quarantined the same way.  Every input
row ends up accepted or quarantined; ``ValidatedSet.counts`` proves it per extract.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.config_folder import ConfigFolder
from receivables.errors import ConfigError, InputRejected, ReceivablesError
from receivables.extracts import ROW_ERROR_COLUMNS, ExtractSet
from receivables.money import to_decimal
from receivables.schemas import ACTIVITY_CHANNELS, ACTIVITY_OUTCOMES, DISPUTE_REASONS, DOCUMENT_TYPES, EXTRACTS

#: a derived column the suites check for referential integrity: the customer exists and was
#: accepted (see _SuiteRunner.run); failures are reported against customer_id
CUSTOMER_ACCEPTED = "_customer_accepted"
#: the same for an instalment's plan (an accepted row of payment_plans), and that plan's
#: agreed_on, which an instalment may not fall due before
PLAN_ACCEPTED = "_plan_accepted"
PLAN_AGREED_ON = "_plan_agreed_on"
DERIVED = {CUSTOMER_ACCEPTED: "customer_id", PLAN_ACCEPTED: "plan_id", PLAN_AGREED_ON: "plan_id"}
#: reference values that the suites do not read as parameters (derived columns are built of them)
_NOT_GX_PARAMETERS = ("customer_ids", "plans")
QUARANTINE_COLUMNS = ROW_ERROR_COLUMNS
SEVERITIES = ("critical", "row", "warning")

log = logging.getLogger(__name__)


@dataclass
class ValidatedSet:
    """Accepted rows per extract (typed, money as int64 cents) and the quarantine records."""

    frames: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    #: rows kept although an expectation of severity ``warning`` failed (quarantine columns)
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))

    def warning_counts(self) -> dict[str, int]:
        """Rows kept with a warning, by reason (e.g. a name that starts like a formula)."""
        if self.warnings.empty:
            return {}
        return {str(k): int(v) for k, v in self.warnings["reason"].value_counts().sort_index().items()}

    @property
    def quarantined_rows(self) -> int:
        """Input rows quarantined, over every extract."""
        return int(sum(c["quarantined"] for c in self.counts.values()))


def load_suite(extract: str, suites: ConfigFolder | Path = ConfigFolder()) -> dict:
    """The extract's suite: ``expectations/<extract>.json`` of the configuration folder (else
    the shipped one), or of a folder of suites."""
    path = (
        suites.file(f"expectations/{extract}.json")
        if isinstance(suites, ConfigFolder)
        else Path(suites) / f"{extract}.json"
    )
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Validation suite {path} is missing.") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Validation suite {path} is not valid JSON: {exc}.") from exc
    for i, exp in enumerate(suite.get("expectations", [])):
        severity = exp.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise ConfigError(
                f"Validation suite {path}, expectation {i + 1} ({exp.get('type')}): "
                "meta.severity must be 'critical', 'row' or 'warning'."
            )
    return suite


def validate_extract_set(
    extracts: ExtractSet, as_of: date, suites: ConfigFolder | Path = ConfigFolder()
) -> ValidatedSet:
    """Run every extract's suite; raise ``InputRejected`` on a critical failure, else split each
    extract into accepted rows and quarantine records."""
    runner = _suite_runner()
    params = _reference_values(as_of)
    accepted: dict[str, pd.DataFrame] = {}
    quarantine: list[pd.DataFrame] = [extracts.row_errors]
    warned: list[pd.DataFrame] = []
    counts: dict[str, dict[str, int]] = {}
    raw_customer_ids: set[str] = set()
    for name, extract in EXTRACTS.items():
        frame = extracts.frames[name]
        source = extracts.sources.get(name)
        file = source.name if source else f"{name} (not supplied)"
        if name == "customers":
            raw_customer_ids = set(frame["customer_id"].dropna())
        read_errors = extracts.row_errors[extracts.row_errors["extract"] == name]
        readable = frame[~frame.index.isin(read_errors["row_number"])]
        suite = load_suite(name, suites)
        if source is None and not extract.required:
            suite = {**suite, "expectations": [e for e in suite["expectations"] if e["meta"]["severity"] != "critical"]}
        if source is None and not extract.required and readable.empty:
            # an optional extract the set does not carry: its row checks have no row to fail,
            # and great-expectations costs a quarter of a second per suite for nothing
            failures = pd.DataFrame(columns=[*QUARANTINE_COLUMNS, "severity"]).astype({"row_number": "int64"})
        else:
            failures = runner.run(name, suite, readable, params, file)
        warned.append(failures[failures["severity"] == "warning"].drop(columns="severity"))
        failures = failures[failures["severity"] != "warning"].drop(columns="severity")
        if name != "customers" and not failures.empty:
            failures = _explain_customer_refs(failures, raw_customer_ids)
        quarantine.append(failures)
        bad_rows = set(read_errors["row_number"]) | set(failures["row_number"])
        good = frame[~frame.index.isin(bad_rows)]
        accepted[name] = _finalise(good, name)
        counts[name] = {"read": len(frame), "accepted": len(good), "quarantined": len(bad_rows)}
        if len(frame) != len(good) + len(bad_rows):  # pragma: no cover - an invariant, not a branch
            raise ReceivablesError(f"Row accounting failed for {name}: {counts[name]}")
        if name == "customers":
            params["customer_ids"] = set(good["customer_id"])
        if name == "payment_plans":
            params["plans"] = dict(zip(good["plan_id"], good["agreed_on"]))
    records = _traced(_records(quarantine), extracts.statement_origins)
    warnings = _records(warned)
    return ValidatedSet(frames=accepted, quarantine=records[QUARANTINE_COLUMNS], counts=counts, warnings=warnings)


def _traced(records: pd.DataFrame, origins: dict[int, tuple[str, int]]) -> pd.DataFrame:
    """Quarantine records of payments read from bank statements point at the statement file,
    statement id and entry number instead of a row of the payments frame."""
    if not origins or records.empty:
        return records
    rows = records["row_number"].astype("int64")
    hit = (records["extract"] == "payments") & rows.isin(list(origins))
    if hit.any():
        records = records.copy()
        records.loc[hit, "file"] = [origins[int(r)][0] for r in rows[hit]]
        records.loc[hit, "row_number"] = [origins[int(r)][1] for r in rows[hit]]
    return records


def _records(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Row records of every extract in one frame, by extract, row and column."""
    kept = [q for q in parts if not q.empty]
    records = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    records = records.sort_values(["extract", "row_number", "column"], kind="stable", key=_extract_order)
    return records.reset_index(drop=True)[QUARANTINE_COLUMNS]


def _extract_order(col: pd.Series) -> pd.Series:
    if col.name == "extract":
        order = {name: i for i, name in enumerate(EXTRACTS)}
        return col.map(order)
    return col


def _finalise(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Accepted rows with non-nullable money as plain int64 cents."""
    out = frame.copy()
    for col in EXTRACTS[name].columns:
        if col.kind == "money" and not col.nullable:
            out[col.name] = out[col.name].astype("int64")
    return out


def _explain_customer_refs(failures: pd.DataFrame, raw_ids: set[str]) -> pd.DataFrame:
    """Say whether an unknown customer is missing from the master or was itself quarantined."""
    refs = failures["reason"] == "customer_id is not an accepted customer"
    if refs.any():
        failures = failures.copy()
        failures.loc[refs, "reason"] = failures.loc[refs, "value"].map(
            lambda v: (
                f"customer {v} is quarantined in the customers extract, so its rows cannot be used"
                if v in raw_ids
                else f"customer {v} does not exist in the customers extract (orphan row)"
            )
        )
    return failures


@lru_cache(maxsize=1)
def _iso_codes() -> dict[str, list[str]]:
    from babel import Locale
    from babel.numbers import get_territory_currencies, list_currencies

    english = Locale("en")
    # Babel also lists historic (DEM, ESP) and non-money (XXX, XAU) codes: keep legal tenders.
    in_use = {
        code
        for territory in english.territories
        if len(territory) == 2 and territory.isalpha()
        for code in get_territory_currencies(territory)
    }
    return {
        "currencies": sorted(in_use & set(list_currencies())),
        "countries": sorted(c for c in english.territories if len(c) == 2 and c.isalpha()),
        "languages": sorted(c for c in english.languages if len(c) == 2 and c.isalpha()),
    }


def _reference_values(as_of: date) -> dict[str, object]:
    return {
        **_iso_codes(),
        "document_types": list(DOCUMENT_TYPES),
        "dispute_reasons": list(DISPUTE_REASONS),
        "activity_channels": list(ACTIVITY_CHANNELS),
        "activity_outcomes": list(ACTIVITY_OUTCOMES),
        "as_of": pd.Timestamp(as_of),
        "customer_ids": set(),
        "plans": {},
    }


@lru_cache(maxsize=1)
def _suite_runner() -> _SuiteRunner:
    return _SuiteRunner()


class _SuiteRunner:
    """One ephemeral GX context per process, made by the first validation and reused by every
    later one (a worker or a test session validates many nights; a context costs a fifth of
    a second).  It holds only definitions: each extract's batch goes once it is validated."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        _no_batch_fingerprints()
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self._context.data_sources.add_pandas("extracts")
        self._definitions: dict[str, Any] = {}
        # one extract at a time: the batch cache is the context's, shared by every caller
        self._lock = threading.Lock()

    def run(self, name: str, suite_dict: dict, frame: pd.DataFrame, params: dict, file: str) -> pd.DataFrame:
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.validator.v1_validator import Validator

        suite = ExpectationSuite(name=suite_dict["name"], expectations=suite_dict["expectations"])
        batch_frame = _batch_frame(name, suite_dict, frame, params["customer_ids"], params["plans"])
        gx_params = {k: v for k, v in params.items() if k not in _NOT_GX_PARAMETERS}
        with self._lock:
            if name not in self._definitions:
                asset = self._source.add_dataframe_asset(name)
                self._definitions[name] = asset.add_batch_definition_whole_dataframe(f"{name}-batch")
            # What Batch.validate runs, minus loading the batch first: every load fingerprints
            # the whole frame (pandas hashing, seconds at a million rows), and Batch.validate
            # loads it again anyway.
            validator = Validator(
                batch_definition=self._definitions[name],
                batch_parameters={"dataframe": batch_frame},
                result_format={"result_format": "COMPLETE"},
            )
            try:
                result = validator.validate_expectation_suite(suite, expectation_parameters=gx_params)
            finally:
                self._forget_batches()
        return _failures(result, name, frame, file)

    def _forget_batches(self) -> None:
        """Drop the batches GX keeps in its execution engine, and the metrics it computed on
        them: each batch is the extract's batch frame with its text as Python objects (several
        hundred MB at size l in all), and GX's module state keeps the context, and so every
        batch, alive after the validation."""
        engine = self._source.get_execution_engine()
        batches = engine.batch_manager
        batches.batch_data_cache.clear()
        batches.reset_batch_cache()
        # the metrics GX computed on the batch (each expectation's row mask, its unexpected
        # rows): keyed by the batch's id, so never read again, and without this they pile up
        # night after night in a worker (~80 MB a size-l night)
        metrics = getattr(engine, "_metric_cache", None)
        if isinstance(metrics, dict):
            metrics.clear()


def _no_batch_fingerprints() -> None:
    """GX fingerprints every batch below ``HASH_THRESHOLD`` bytes by hashing the whole frame
    with pandas (3-4 s a night at a million rows) only to note it among the batch's markers,
    which nothing here reads; a threshold of 0 skips it.  Guarded: a GX without the constant
    just keeps fingerprinting."""
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


def _batch_frame(
    name: str, suite_dict: dict, frame: pd.DataFrame, customer_ids: set, plans: dict | None = None
) -> pd.DataFrame:
    """The extract as the suite checks it: with the derived customer-accepted (and for an
    instalment plan-accepted) columns, only the columns the suite reads, and values in the
    types GX compares well."""
    batch_frame = frame.copy()
    if "customer_id" in frame.columns and name != "customers":
        known = pd.Series(_is_in(frame["customer_id"], customer_ids), index=frame.index).astype(object)
        batch_frame[CUSTOMER_ACCEPTED] = known.where(frame["customer_id"].notna(), None)
    if name == "plan_instalments":
        plans = plans or {}
        known = frame["plan_id"].map(lambda p: p in plans if pd.notna(p) else None).astype(object)
        batch_frame[PLAN_ACCEPTED] = known.where(frame["plan_id"].notna(), None)
        batch_frame[PLAN_AGREED_ON] = pd.to_datetime(
            frame["plan_id"].map(lambda p: plans.get(p) if pd.notna(p) else None)
        )
    used = _suite_columns(suite_dict)
    if used is not None:
        # GX copies, filters and fingerprints the whole frame for every expectation: the
        # columns no expectation reads (remittance text, names ...) only cost time there
        batch_frame = batch_frame[[c for c in batch_frame.columns if c in used]]
    for col in batch_frame.columns:
        if str(batch_frame[col].dtype) in ("string", "str"):  # GX compares with plain Python objects; NA -> None
            batch_frame[col] = batch_frame[col].astype(object).where(batch_frame[col].notna(), None)
        elif str(batch_frame[col].dtype) == "Int64" and not batch_frame[col].hasnans:
            # the same whole numbers as numpy int64, which GX compares vectorised instead
            # of value by value
            batch_frame[col] = batch_frame[col].astype("int64")
    return batch_frame


def _failures(result: Any, name: str, frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """One quarantine record per row and failed row-level expectation; raises on a critical
    failure or an expectation that could not run."""
    money = set(EXTRACTS[name].money)
    records: list[dict] = []
    for res in result.results:
        config = res.expectation_config
        meta = config.meta or {}
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise ReceivablesError(
                f"Validation suite {name}: expectation {config.type} on {config.kwargs.get('column')} "
                f"could not run: {res.exception_info.get('exception_message')}"
            )
        if res.success:
            continue
        if meta.get("severity") == "critical":
            raise InputRejected(meta.get("reason", config.type), file=file)
        columns = [DERIVED.get(c, c) for c in _columns_of(config.kwargs)]
        for idx in res.result.get("unexpected_index_list") or []:
            row = idx if not isinstance(idx, dict) else idx.get("index")
            values = [_shown(frame.at[row, c], c in money) for c in columns if c in frame.columns]
            records.append(
                {
                    "extract": name,
                    "file": file,
                    "row_number": int(row),
                    "column": "+".join(columns) or "(row)",
                    "value": _render(values),
                    "reason": meta.get("reason", config.type),
                    "severity": meta.get("severity"),
                }
            )
    return pd.DataFrame(records, columns=[*QUARANTINE_COLUMNS, "severity"]).astype({"row_number": "int64"})


def _is_in(values: pd.Series, known: set) -> np.ndarray:
    """``values.isin(known)`` as a boolean array: pyarrow's hash look-up for Arrow text, because
    pandas boxes every member of a large set (100,000 customer ids) one by one first."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        texts = pa.array(values.array)
        try:
            wanted = pa.array(list(known), type=texts.type, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a member that is not text
            wanted = None
        if wanted is not None:
            return pc.is_in(texts, value_set=wanted).to_numpy(zero_copy_only=False)
    return values.isin(known).to_numpy(dtype=bool)


#: expectation kwargs that name columns, as _columns_of reads them
_COLUMN_KWARGS = {"column", "column_list", "column_A", "column_B"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _suite_columns(suite: dict) -> set[str] | None:
    """Every column an expectation of the suite reads (its column kwargs and any name in its
    row_condition), or None when that cannot be told: then GX gets the whole frame."""
    used: set[str] = set()
    for exp in suite.get("expectations", []):
        kwargs = exp.get("kwargs", {})
        if exp.get("type", "").startswith("expect_table_column") or any(
            "column" in k and k not in _COLUMN_KWARGS for k in kwargs
        ):
            return None  # reads the header itself, or names columns in a way not known here
        named = _columns_of(kwargs)
        if not all(isinstance(c, str) for c in named):
            return None  # a $PARAMETER column
        used.update(named)
        condition = kwargs.get("row_condition")
        if condition is not None:
            if not isinstance(condition, str):
                return None
            used.update(_NAME.findall(condition))
    return used


def _columns_of(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return []


def _shown(v: object, is_money: bool) -> str:
    """A value as the user wrote it: dates as ISO, cents back as an amount."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if is_money:
        return str(to_decimal(int(v)))
    return str(v)


def _render(values: list[str]) -> str | None:
    text = " | ".join(values)
    return text[:500] if text.strip(" |") else None
