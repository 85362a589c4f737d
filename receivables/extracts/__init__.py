"""Reading an extract set: find the files, read them, map the ERP layout, coerce the types.

Stage 1 of a run.  The output is one typed frame per extract in the canonical shape of
``receivables.schemas``, plus *row errors* (values that cannot be read as their type) that the
validation stage turns into quarantine records.  Structural problems that make a file
unusable (missing, empty, binary, wrong encoding, missing column, unparseable CSV) raise
``InputRejected`` naming the file, row and column.

``files`` reads a folder or an fsspec URL, ``sql_source`` runs the extract queries against the
ERP database, and ``coercion`` maps the raw columns to the canonical extract and parses their
types; ``source_file`` describes one input as read.  Everything public is importable from
``receivables.extracts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from receivables.config_folder import ConfigFolder
from receivables.extracts.coercion import ROW_ERROR_COLUMNS, apply_mapping, coerce, empty_errors
from receivables.extracts.files import read_file_source
from receivables.extracts.source_file import SourceFile
from receivables.extracts.sql_source import SQL_PREFIX, read_sql_source
from receivables.extracts.statements import StatementPayments, without_listed
from receivables.mappings import Mapping, TextFormat
from receivables.memory import release_unused_memory
from receivables.schemas import EXTRACTS

__all__ = ["ROW_ERROR_COLUMNS", "SQL_PREFIX", "ExtractSet", "SourceFile", "read_extract_set"]


@dataclass
class ExtractSet:
    """The typed frames of one run's input, the row errors found while reading, the sources."""

    frames: dict[str, pd.DataFrame]
    row_errors: pd.DataFrame
    sources: dict[str, SourceFile]
    mapping: str
    #: what the ``statements/`` folder held (files, statements, credits, skips, duplicates)
    statement_counts: dict[str, int] = field(default_factory=dict)
    #: accounts the statement files book to (the preflight checks a company claims each)
    statement_accounts: list[str] = field(default_factory=list)
    #: payments row number -> (statement file and id, entry number), for quarantine records
    statement_origins: dict[int, tuple[str, int]] = field(default_factory=dict)

    def input_hashes(self) -> dict[str, str]:
        return {s.name: s.sha256 for s in self.sources.values()}


def read_extract_set(
    source: str,
    mapping: Mapping,
    *,
    as_of: date | None = None,
    roots: list[str] | None = None,
    folder: ConfigFolder = ConfigFolder(),
    bank_accounts: dict[str, str] | None = None,
) -> ExtractSet:
    """Read every extract the mapping knows from a folder, an fsspec URL or a SQL source (the
    queries ``sql/extract/<extract>.sql`` of the configuration ``folder``, else shipped).  A
    folder's ``statements/`` files add payments; ``bank_accounts`` (account -> company code)
    says whose."""
    statements = None
    if source.startswith(SQL_PREFIX):
        raws, sources = read_sql_source(source[len(SQL_PREFIX) :], as_of, folder)
    else:
        raws, sources, statements = read_file_source(source, mapping, roots or [], bank_accounts)
    frames: dict[str, pd.DataFrame] = {}
    errors: list[pd.DataFrame] = []
    for name in list(raws):
        # each raw frame goes as soon as its typed one exists: the two are never all held at once
        raw = raws.pop(name)
        extract = EXTRACTS[name]
        src = sources[name]
        mapped = apply_mapping(raw, extract, mapping, src.name)
        del raw
        typed, row_errors = coerce(mapped, extract, mapping.format_for(name), src.name)
        del mapped
        frames[name] = typed
        errors.append(row_errors)
    for name, extract in EXTRACTS.items():
        if name not in frames:  # optional extract not supplied: an empty, typed frame
            frames[name], _ = coerce(pd.DataFrame(columns=extract.names, dtype=object), extract, TextFormat(), "")
    extract_set = ExtractSet(
        frames=frames,
        row_errors=pd.concat(errors, ignore_index=True) if errors else empty_errors(),
        sources=sources,
        mapping=mapping.name,
    )
    if statements is not None:
        add_statement_payments(extract_set, statements)
    # the decoded files and parsed tables are garbage now
    release_unused_memory(sum(len(frame) for frame in extract_set.frames.values()))
    return extract_set


def add_statement_payments(extract_set: ExtractSet, statements: StatementPayments) -> None:
    """The statement payments appended to the ``payments`` frame (typed like it), a refused
    entry as an empty row with its read error, so every entry is accepted or quarantined."""
    listed = extract_set.frames["payments"]
    statements = without_listed(statements, listed)
    typed = statements.payments.astype(listed.dtypes.to_dict())
    refused = pd.DataFrame(index=statements.refused.index, columns=listed.columns).astype(listed.dtypes.to_dict())
    extract_set.frames["payments"] = pd.concat([listed, typed, refused])
    errors = pd.DataFrame(
        {
            "extract": "payments",
            "file": statements.refused["file"],
            "row_number": statements.refused.index,
            "column": "(entry)",
            "value": None,
            "reason": statements.refused["reason"],
        },
        columns=ROW_ERROR_COLUMNS,
    )
    extract_set.row_errors = pd.concat([extract_set.row_errors, errors], ignore_index=True)
    extract_set.sources |= {src.name: src for src in statements.sources}
    extract_set.statement_counts = statements.counts
    extract_set.statement_accounts = statements.accounts
    extract_set.statement_origins = statements.origins
