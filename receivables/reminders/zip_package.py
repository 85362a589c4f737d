"""The zip container of a statement's XLSX, written directly.

Every reminder carries a statement, and ``zipfile`` costs ~25 µs of Python per member (a
file object, a header written and rewritten, a compressor set up per member) for members of
a few hundred bytes: a quarter of a statement's CPU.  Here a member is deflated once into a
``Member`` (the parts statements share are made once and reused) and the archive
is the headers packed around them: the same bytes ``zipfile.ZipFile.writestr`` writes for a
``ZipInfo`` with a fixed timestamp, deflated at level 1 (a test compares the two).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

#: PKWARE APPNOTE 4.3.7 / 4.3.12 / 4.3.16, as ``zipfile`` packs them
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
#: version 2.0 (deflate) needed to extract and made by; made on Unix (what zipfile writes on
#: Linux); the member readable and writable by its owner
_VERSION, _UNIX, _MODE = 20, 3, 0o600 << 16
_DEFLATED = 8
#: the statement's members are a few KB; anything near the 4 GB of plain zip is not ours
_LIMIT = 1 << 31


@dataclass(frozen=True)
class Member:
    """One deflated zip member: its name, the CRC-32 and size of its content, the raw deflate stream."""

    name: bytes
    crc: int
    size: int
    deflated: bytes


def member(name: str, content: bytes) -> Member:
    """``content`` deflated at level 1: the members are small and mostly markup, and level 6
    costs more CPU for a few bytes."""
    if len(content) >= _LIMIT:
        raise ValueError(f"zip member {name} is {len(content)} bytes, more than a statement can hold")
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return Member(
        name.encode("ascii"), zlib.crc32(content), len(content), compressor.compress(content) + compressor.flush()
    )


def dos_stamp(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """The (time, date) words of an MS-DOS timestamp."""
    year, month, day, hour, minute, second = date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def archive(members: Iterable[Member], stamp: tuple[int, int]) -> bytes:
    """The zip file of ``members`` in order, each with the DOS ``stamp`` (``dos_stamp``)."""
    dostime, dosdate = stamp
    body: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        fields = (_VERSION, 0, 0, _DEFLATED, dostime, dosdate, m.crc, len(m.deflated), m.size, len(m.name))
        local = _LOCAL.pack(b"PK\003\004", *fields, 0)
        body += (local, m.name, m.deflated)
        central += (_CENTRAL.pack(b"PK\001\002", _VERSION, _UNIX, *fields, 0, 0, 0, 0, _MODE, offset), m.name)
        offset += len(local) + len(m.name) + len(m.deflated)
    directory = b"".join(central)
    count = len(central) // 2
    return b"".join(body) + directory + _END.pack(b"PK\005\006", 0, 0, count, count, len(directory), offset, 0)
