"""The input archive: the raw files of every run, with their sha256, so any run can be
audited and replayed byte for byte (``receivables replay``, ``receivables.replay``).

Layout: ``<archive_dir>/<as_of>/<run_id>/<file>`` plus ``manifest.json``.  Only input files and
their hashes go in: never settings, so no credential can reach the archive.

A run folder is itself an extract folder: files keep their names (bank statements under
``statements/``), and an extract read by a SQL query (``open_items.sql.csv`` in the run log)
is kept under its canonical name ``open_items.csv``, so the run's own mapping finds every file
again.  The manifest names both (``file`` in the folder, ``input`` as the run log has it).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from receivables.extracts import ExtractSet, SourceFile
from receivables.extracts.sql_source import SQL_CSV_SUFFIX

MANIFEST = "manifest.json"


def archive_inputs(extracts: ExtractSet, archive_dir: Path, as_of: date, run_id: str) -> Path:
    """Copy each input's bytes and write the manifest; returns the run's archive folder."""
    folder = run_folder(archive_dir, as_of, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"run_id": run_id, "as_of": as_of.isoformat(), "mapping": extracts.mapping, "files": []}
    for src in extracts.sources.values():
        name = archived_name(src)
        target = folder / name
        if not target.resolve().is_relative_to(folder.resolve()):  # a name is never a way out
            raise ValueError(f"input name {src.name!r} leaves the archive folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(src.data)
        os.replace(tmp, target)  # a crash never leaves a truncated file under the final name
        manifest["files"].append(
            {
                "extract": src.extract,
                "file": name,
                "input": src.name,
                "source": src.url,
                "sha256": src.sha256,
                "bytes": src.size,
                "rows": src.rows,
            }
        )
    # written last: a folder without a manifest is the trace of a run that stopped while archiving
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def run_folder(archive_dir: Path | str, as_of: date, run_id: str) -> Path:
    return Path(archive_dir) / as_of.isoformat() / run_id


def archived_name(src: SourceFile) -> str:
    """The file's name in the run folder: a SQL extract under its canonical CSV name."""
    if src.name.endswith(SQL_CSV_SUFFIX):
        return f"{src.extract}.csv"
    return src.name
