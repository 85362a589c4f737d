"""Mail mode ``preview``: each pending email is written to ``<outbox_dir>/<as_of>/<key>.eml``
and nothing is sent.

The row stays ``pending`` (with ``mode='preview'`` and the file's path): a preview is what
finance reviews before the real send of that very as_of, so it must not count as sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from receivables.outbox.outgoing import _outgoing
from receivables.outbox.report import DeliveryReport, _finish
from receivables.outbox.store import FAILED, _chunks, _record_previews, _stored_messages
from receivables.settings import Settings

#: preview reads and marks rows in batches: a preview has no side effect outside the outbox
#: folder, so a query and a commit per email (what sending needs) would only cost time
PREVIEW_BATCH = 500


def _preview(engine: Engine, settings: Settings, rows: list, report: DeliveryReport) -> None:
    for batch in _chunks(rows, PREVIEW_BATCH):
        stored = _stored_messages(engine, [row.idempotency_key for row in batch])
        written: list[tuple[str, str]] = []
        for row in batch:
            try:
                payload, _, _ = _outgoing(stored.get(row.idempotency_key), row, settings, "send")
            except ValueError as exc:
                _finish(
                    engine,
                    row.idempotency_key,
                    FAILED,
                    f"The stored message cannot be previewed: {exc}",
                    report,
                    row,
                    [],
                )
                continue
            path = _write_eml(settings, row, payload)
            written.append((row.idempotency_key, str(path)))
            report.previewed += 1
            report.eml_paths.append(path)
        _record_previews(engine, written)


def _write_eml(settings: Settings, row: Any, payload: bytes) -> Path:
    folder = Path(settings.outbox_dir) / row.as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.idempotency_key}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)  # a reader never sees half a file
    return path
