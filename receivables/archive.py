"""The input archive: the raw files of every run, with their sha256, so any run can be
audited and replayed byte for byte.

Layout: ``<archive_dir>/<as_of>/<run_id>/<file>`` plus ``manifest.json``.  Only input files and
their hashes go in: never settings, so no credential can reach the archive.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from receivables.extracts import ExtractSet


def archive_inputs(extracts: ExtractSet, archive_dir: Path, as_of: date, run_id: str) -> Path:
    """Copy each input's bytes and write the manifest; returns the run's archive folder."""
    folder = Path(archive_dir) / as_of.isoformat() / run_id
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"run_id": run_id, "as_of": as_of.isoformat(), "mapping": extracts.mapping, "files": []}
    for src in extracts.sources.values():
        target = folder / src.name
        target.parent.mkdir(parents=True, exist_ok=True)  # statements/ keep their folder
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(src.data)
        os.replace(tmp, target)  # a crash never leaves a truncated file under the final name
        manifest["files"].append(
            {
                "extract": src.extract,
                "file": src.name,
                "source": src.url,
                "sha256": src.sha256,
                "bytes": src.size,
                "rows": src.rows,
            }
        )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder
