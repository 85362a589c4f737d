"""Writing the extract files: one open CSV per extract, appended chunk by chunk and hashed.

A million open items must fit in a few hundred MB, so nothing is held for the whole set: each
chunk's columns are converted to text in batches, appended, and fed into a running sha256 for
the manifest.  Every file has the canonical columns in schema order (UTF-8 without BOM, comma,
header row, one line per row), and a chunk whose columns drift from the schema is a bug that
stops the run, not a row to skip.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import IO, Any

import numpy as np

from receivables import schemas
from receivables.synthetic.payments import GROUND_TRUTH_COLUMNS, GROUND_TRUTH_FILE

_FILES = {
    "customers": ("customers.csv", schemas.CUSTOMERS.names),
    "open_items": ("open_items.csv", schemas.OPEN_ITEMS.names),
    "payments": ("payments.csv", schemas.PAYMENTS.names),
    "disputes": ("disputes.csv", schemas.DISPUTES.names),
    "promises": ("promises.csv", schemas.PROMISES.names),
    "cleared_items": ("cleared_items.csv", schemas.CLEARED_ITEMS.names),
    "fx_rates": ("fx_rates.csv", schemas.FX_RATES.names),
    "activities": ("activities.csv", schemas.ACTIVITIES.names),
    "payment_plans": ("payment_plans.csv", schemas.PAYMENT_PLANS.names),
    "plan_instalments": ("plan_instalments.csv", schemas.PLAN_INSTALMENTS.names),
    # the close's decisions are a person's, not the ERP's history: a sample set has none yet,
    # but the files are there (headers only) for a user to fill and rerun
    "writeoff_approvals": ("writeoff_approvals.csv", schemas.WRITEOFF_APPROVALS.names),
    "agency_returns": ("agency_returns.csv", schemas.AGENCY_RETURNS.names),
    "claim_waivers": ("claim_waivers.csv", schemas.CLAIM_WAIVERS.names),
    "ground_truth": (GROUND_TRUTH_FILE, list(GROUND_TRUTH_COLUMNS)),
}


class _Writers:
    """One open CSV per extract; chunks are appended and hashed as they are written."""

    _BATCH = 50_000  # rows converted to Python strings at a time, to bound memory

    def __init__(self, out_dir: Path) -> None:
        self.files = {key: path for key, (path, _) in _FILES.items()}
        self.counts = dict.fromkeys(_FILES, 0)
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self._hashes = {key: hashlib.sha256() for key in _FILES}
        self._buffers = {key: io.StringIO() for key in _FILES}
        for key, (path, columns) in _FILES.items():
            handle = open(out_dir / path, "w", encoding="utf-8", newline="")
            self._handles[key] = handle
            self._writers[key] = csv.writer(self._buffers[key], lineterminator="\n")
            self._writers[key].writerow(columns)
            self._flush(key)

    def _flush(self, key: str) -> None:
        buffer = self._buffers[key]
        text = buffer.getvalue()
        self._handles[key].write(text)
        self._hashes[key].update(text.encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()

    def write(self, key: str, columns: dict[str, Any]) -> None:
        names = _FILES[key][1]
        if list(columns) != list(names):
            raise AssertionError(f"{key}: columns {list(columns)} do not follow the schema {names}")
        n = len(next(iter(columns.values())))
        for lo in range(0, n, self._BATCH):
            hi = min(n, lo + self._BATCH)
            parts = [_as_list(columns[name][lo:hi]) for name in names]
            self._writers[key].writerows(zip(*parts))
            self._flush(key)
        self.counts[key] += n

    def sha256(self, key: str) -> str:
        return self._hashes[key].hexdigest()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()


def _as_list(values: Any) -> list[str]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)
