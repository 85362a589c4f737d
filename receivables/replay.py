"""Replaying an archived run: find the input a run archived, check that it is still the input
that run read, and say what the replay will read.

``receivables replay RUN_ID`` (``flows/replay_command.py``) runs the flow again on the run's
archive folder, for the run's as_of and with the mapping the run read its input with, as a
normal run.  This module owns everything before that, because a replay is only worth its
name if it reads exactly what the original read:

* where the folder is: the run log of the warehouse gives the run's as_of (and the mapping as
  the run was given it); a run this warehouse does not know is searched in the archive;
* that every file the manifest lists is there with the sha256 it recorded (and the run log
  recorded), and that nothing was added to the folder;
* that the mapping finds in the folder exactly the files the run read, one per extract.

Every problem is one paragraph naming the file or the run, exit code 2; nothing is written.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import fsspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from receivables.archive import MANIFEST, run_folder
from receivables.config_folder import ConfigFolder
from receivables.errors import ConfigError, InputRejected, ReceivablesError
from receivables.extracts.files import _find_file
from receivables.extracts.sql_source import SQL_CSV_SUFFIX
from receivables.mappings import Mapping, load_mapping
from receivables.schemas import EXTRACTS
from receivables.settings import Settings

#: a run id may be shortened to this many leading characters, as long as no other run shares them
MIN_PREFIX = 8


class ReplayRefused(ReceivablesError):
    """The run cannot be replayed (unknown, ambiguous, never archived); nothing was run."""

    exit_code = 2


@dataclass(frozen=True)
class ArchivedRun:
    """An earlier run's archived input, and what its replay reads it with."""

    run_id: str
    as_of: date
    folder: Path
    manifest: dict
    #: a mapping name or YAML path: the run's own (as the run log has it), or one given for the replay
    mapping: str
    #: from the run log; None when the run is not in this warehouse
    status: str | None = None
    source: str | None = None
    input_hashes: dict = field(default_factory=dict)

    @property
    def files(self) -> list[dict]:
        return list(self.manifest.get("files") or [])

    @property
    def from_sql(self) -> bool:
        """Read by the extraction queries of a SQL source (archived as canonical CSV files)."""
        return any(str(f.get("input", "")).endswith(SQL_CSV_SUFFIX) for f in self.files)

    def describe(self) -> str:
        """What the replay reads, in a few lines for the terminal."""
        known = f"{self.status} in the run log" if self.status else "not in this warehouse's run log"
        read_from = self.source or next((str(f.get("source", "")) for f in self.files), "")
        lines = [
            f"Run {self.run_id} for {self.as_of.isoformat()} ({known}), read from {read_from}"
            + (" (SQL source, archived as canonical CSV)" if self.from_sql else "")
            + f" with mapping {self.mapping}.",
            f"Archive {self.folder}: {len(self.files)} file(s), each matching the sha256 "
            + ("of the manifest and the run log." if self.input_hashes else "of the manifest."),
        ]
        lines += [
            f"  {f['extract']:<13} {f['file']}  {f.get('rows', '?')} rows  {f['sha256'][:12]}" for f in self.files
        ]
        return "\n".join(lines)


def prepare_replay(run_id: str, settings: Settings, mapping: str | None = None) -> ArchivedRun:
    """The run's archive, found through the warehouse of ``settings`` (else in its archive
    folder) and verified with the run's mapping (or ``mapping``) from the configuration folder."""
    from receivables.pipeline import warehouse_engine  # the warehouse, migrated, as a run opens it

    run = find_archived_run(run_id, settings.archive_dir, warehouse_engine(settings.db_url), mapping=mapping)
    verify_archive(run, _load_mapping(run, ConfigFolder.at(settings.config_dir)))
    return run


def replay_roots(settings: Settings) -> list[str] | None:
    """The extract roots a replay runs with: the configured ones plus the archive, which the
    pipeline wrote itself (None when no roots are configured: any location may be read)."""
    if not settings.extract_roots:
        return None
    return [*settings.extract_roots, str(Path(settings.archive_dir).resolve())]


def find_archived_run(
    run_id: str, archive_dir: Path | str, engine: Engine | None = None, *, mapping: str | None = None
) -> ArchivedRun:
    """The archive folder of ``run_id`` (or a unique prefix of MIN_PREFIX or more characters)."""
    wanted = run_id.strip()
    if len(wanted) < MIN_PREFIX:
        raise ReplayRefused(
            f"Run id {run_id!r} is too short: give the run id as `receivables history` shows it "
            f"(at least its first {MIN_PREFIX} characters)."
        )
    logged = _logged_run(engine, wanted) if engine is not None else None
    if logged is not None:
        folder = run_folder(archive_dir, logged["as_of"], logged["run_id"])
        if not (folder / MANIFEST).is_file():
            raise _not_archived(logged, folder, archive_dir)
    else:
        folder = _search_archive(Path(archive_dir), wanted)
    manifest = _read_manifest(folder)
    as_of = _manifest_as_of(manifest, folder)
    if logged is not None and logged["as_of"] != as_of:
        raise InputRejected(
            f"the manifest is for {as_of}, but the run log has run {logged['run_id']} for {logged['as_of']}",
            file=str(folder / MANIFEST),
            hint="The archive folder was moved or edited; a replay needs the run's own archive.",
        )
    return ArchivedRun(
        run_id=folder.name,
        as_of=as_of,
        folder=folder.resolve(),
        manifest=manifest,
        mapping=mapping or (logged or {}).get("mapping") or manifest.get("mapping") or "canonical",
        status=(logged or {}).get("status"),
        source=(logged or {}).get("source"),
        input_hashes=(logged or {}).get("input_hashes") or {},
    )


def _logged_run(engine: Engine, wanted: str) -> dict | None:
    from receivables.warehouse.tables import run_log

    query = sa.select(run_log).where(
        sa.or_(run_log.c.run_id == wanted, run_log.c.run_id.startswith(wanted, autoescape=True))
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings().all()]
    exact = [r for r in rows if r["run_id"] == wanted]
    rows = exact or rows
    if len(rows) > 1:
        ids = ", ".join(f"{r['run_id']} ({r['as_of']})" for r in rows[:5])
        raise ReplayRefused(f"Run id {wanted!r} is ambiguous: it starts {len(rows)} runs ({ids}). Give more of it.")
    if not rows:
        return None
    row = rows[0]
    if isinstance(row.get("input_hashes"), str):  # a JSON column read back as text on some drivers
        row["input_hashes"] = json.loads(row["input_hashes"])
    return row


def _not_archived(logged: dict, folder: Path, archive_dir: Path | str) -> ReplayRefused:
    what = f"Run {logged['run_id']} for {logged['as_of']} ({logged['status']})"
    if logged["status"] == "rejected":
        return ReplayRefused(
            f"{what} was refused before its input was archived: a run archives its input only after the "
            "validation and the configuration check pass. There is nothing to replay; correct the input and run again."
        )
    if folder.is_dir():
        return ReplayRefused(
            f"{what}: the archive folder {folder} has no {MANIFEST}, so the run stopped while archiving its "
            "input and the folder cannot be trusted. Run the date again from the extracts."
        )
    return ReplayRefused(
        f"{what} has no archive folder {folder}: it stopped before archiving its input (archiving follows "
        f"validation), or the archive is elsewhere (RECEIVABLES_ARCHIVE_DIR is {archive_dir})."
    )


def _search_archive(archive_dir: Path, wanted: str) -> Path:
    """The run's folder found by name alone (a run of another warehouse, a restored archive)."""
    found = sorted(
        Path(p).parent
        for p in glob.glob(os.path.join(glob.escape(str(archive_dir)), "*", glob.escape(wanted) + "*", MANIFEST))
    )
    if not found:
        raise ReplayRefused(
            f"No run {wanted!r} in the run log of this warehouse, and no archive folder for it under "
            f"{archive_dir} (<as_of>/<run id>/{MANIFEST}). Check the run id (`receivables history`), --db "
            "and RECEIVABLES_ARCHIVE_DIR."
        )
    if len(found) > 1:
        raise ReplayRefused(
            f"Run id {wanted!r} is ambiguous in the archive {archive_dir}: "
            + ", ".join(str(p.relative_to(archive_dir)) for p in found[:5])
            + ". Give more of it."
        )
    return found[0]


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputRejected(f"the archive manifest cannot be read ({exc})", file=str(path)) from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and {"extract", "file", "sha256"} <= set(f) for f in files
    ):
        raise InputRejected(
            "the archive manifest does not list the run's files (extract, file, sha256 for each)", file=str(path)
        )
    if manifest.get("run_id") not in (None, folder.name):
        raise InputRejected(f"the manifest is for run {manifest.get('run_id')}, not {folder.name}", file=str(path))
    return manifest


def _manifest_as_of(manifest: dict, folder: Path) -> date:
    try:
        return date.fromisoformat(str(manifest.get("as_of") or folder.parent.name))
    except ValueError:
        raise InputRejected(
            f"the manifest's as_of {manifest.get('as_of')!r} is not a date", file=str(folder / MANIFEST)
        ) from None


def _load_mapping(run: ArchivedRun, folder: ConfigFolder) -> Mapping:
    try:
        return load_mapping(run.mapping, folder)
    except ConfigError as exc:
        raise ConfigError(
            f"Run {run.run_id} read its input with the mapping {run.mapping!r}, which cannot be loaded now: {exc} "
            "Restore it in the configuration folder (--config-dir), or pass --mapping with one that reads the "
            "archived files the same way."
        ) from exc


def verify_archive(run: ArchivedRun, mapping: Mapping) -> None:
    """Refuse the replay unless the folder holds exactly the run's input, byte for byte, and
    ``mapping`` reads from it exactly the files the run read."""
    listed = _check_listed_files(run)
    extra = sorted(
        p.relative_to(run.folder).as_posix()
        for p in run.folder.rglob("*")
        if p.is_file() and p.relative_to(run.folder).as_posix() not in listed | {MANIFEST}
    )
    if extra:
        raise InputRejected(
            f"the archive folder holds a file its manifest does not list (of {len(extra)}: {', '.join(extra[:5])}); "
            "a replay would read it as part of the run's input",
            file=str(run.folder / extra[0]),
            hint="Remove what was added to the archive folder.",
        )
    _check_run_log_hashes(run)
    _check_mapping_reads_the_files(run, mapping)


def _check_listed_files(run: ArchivedRun) -> set[str]:
    listed: set[str] = set()
    for entry in run.files:
        name = str(entry["file"])
        path = run.folder / name
        if not path.resolve().is_relative_to(run.folder):
            raise InputRejected(
                f"the manifest names a file outside the run's folder: {name!r}", file=str(run.folder / MANIFEST)
            )
        if not path.is_file():
            raise InputRejected(
                f"the archived {entry['extract']} file is missing",
                file=str(path),
                hint="Restore the run's archive folder from a backup; a replay runs only the input as it was archived.",
            )
        found = _sha256(path)
        if found != entry["sha256"]:
            raise InputRejected(
                f"the archived {entry['extract']} file was changed after the run: its sha256 is {found}, the manifest "
                f"recorded {entry['sha256']}",
                file=str(path),
                hint="Restore it from a backup; a replay runs only the input as it was archived.",
            )
        listed.add(name)
    return listed


def _check_run_log_hashes(run: ArchivedRun) -> None:
    """The manifest against the run log's hashes (the warehouse is not the archive's disk: a file
    edited together with its manifest entry still shows here)."""
    manifest = {str(f.get("input") or f["file"]): f["sha256"] for f in run.files}
    for name, sha in run.input_hashes.items():
        if manifest.get(name) != sha:
            raise InputRejected(
                f"the manifest does not match the run log: the run read {name} with sha256 {sha}, the manifest "
                f"records {manifest.get(name) or 'no such file'}",
                file=str(run.folder / MANIFEST),
                hint="The archive was edited after the run; restore it from a backup.",
            )


def _check_mapping_reads_the_files(run: ArchivedRun, mapping: Mapping) -> None:
    """What ``read_extract_set`` would pick in the folder, per extract, is what the run read
    (files in subfolders, such as bank statements, are read as a folder and not by pattern)."""
    fs = fsspec.filesystem("file")
    base = str(run.folder)
    for name in EXTRACTS:
        expected = next((f["file"] for f in run.files if f["extract"] == name and "/" not in f["file"]), None)
        found = _find_file(fs, base, mapping.files_for(name))
        found = os.path.relpath(found, base) if found else None
        if found == expected:
            continue
        if expected is None:
            problem = (
                f"the mapping {mapping.name!r} would read {found} as the {name} extract, which the run did not read"
            )
        else:
            problem = (
                f"the mapping {mapping.name!r} does not find the archived {name} file {expected} "
                f"(it looks for {', '.join(mapping.files_for(name))})"
            )
        raise ConfigError(
            f"Run {run.run_id} cannot be replayed with this mapping: {problem}. Pass --mapping with a mapping whose "
            "file patterns find the archived files; an archive of a SQL source holds canonical files "
            "(--mapping canonical)."
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
