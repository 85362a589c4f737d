"""Mail mode ``preview``: each pending email is written to ``<outbox_dir>/<as_of>/<key>.eml``
and nothing is sent.

The row stays ``pending`` (with ``mode='preview'`` and the file's path): a preview is what
finance reviews before the real send of that very as_of, so it must not count as sent.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
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
#: an email ready to be written: its folder, key and the message as it leaves
_Built = tuple[str, str, bytes]


def _preview(engine: Engine, settings: Settings, rows: list, report: DeliveryReport) -> None:
    # One thread writes a batch's files while this one builds the next batch and records the
    # previous (the file system calls release the GIL).  One, not more: the kernel serialises
    # creating files in one folder, and threads contending for it burn system time.  One job
    # per batch, so handing the files over costs nothing per email.
    folders: dict[Any, str] = {}
    previous: tuple[list, list, Future] | None = None
    writer = ThreadPoolExecutor(1, thread_name_prefix="preview")
    try:
        for batch in _chunks(rows, PREVIEW_BATCH):
            stored = _stored_messages(engine, [row.idempotency_key for row in batch])
            built = [_build(stored.get(row.idempotency_key), row, settings, folders) for row in batch]
            files = writer.submit(_write_emls, [b for b in built if not isinstance(b, ValueError)])
            if previous:
                _record(engine, *previous, report)
            previous = (batch, built, files)
        if previous:
            _record(engine, *previous, report)
    finally:
        writer.shutdown(cancel_futures=True)


def _build(stored: bytes | None, row: Any, settings: Settings, folders: dict[Any, str]) -> _Built | ValueError:
    """The email as its file will hold it, or why the stored message cannot be previewed
    (then no file and no folder is made for it)."""
    try:
        payload, _, _ = _outgoing(stored, row, settings, "send")
    except ValueError as exc:
        return exc
    if row.as_of not in folders:
        folders[row.as_of] = _folder(settings, row.as_of)
    return folders[row.as_of], row.idempotency_key, payload


def _record(
    engine: Engine, batch: list, built: list[_Built | ValueError], files: Future, report: DeliveryReport
) -> None:
    """Once the batch's files are written: in row order, as if one email after the other, an
    email that could not be built is recorded failed and the others as previewed."""
    paths = iter(files.result())
    written = []
    for row, email in zip(batch, built, strict=True):
        if isinstance(email, ValueError):
            reason = f"The stored message cannot be previewed: {email}"
            _finish(engine, row.idempotency_key, FAILED, reason, report, row, [])
            continue
        path = next(paths)
        written.append((row.idempotency_key, path))
        report.previewed += 1
        report.eml_paths.append(Path(path))
    _record_previews(engine, written)


def _write_emls(emails: list[_Built]) -> list[str]:
    return [_write_eml(folder, key, payload) for folder, key, payload in emails]


def _folder(settings: Settings, as_of: Any) -> str:
    """The as_of's folder of the outbox, created once per delivery rather than per email."""
    folder = Path(settings.outbox_dir) / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _write_eml(folder: str, key: str, payload: bytes) -> str:
    # os-level calls on plain strings: a night writes 10^4-10^5 files, and pathlib and the
    # buffered file object cost more per file than the few system calls a file needs
    path = os.path.join(folder, f"{key}.eml")
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)  # a reader never sees half a file
    return path
