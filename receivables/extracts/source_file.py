"""One input file as read, whichever source it came from (a folder, an fsspec URL, a SQL
query): the archive keeps its bytes and the run log its sha256."""

from __future__ import annotations

from dataclasses import dataclass, field


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
