"""Giving memory the night no longer uses back to the operating system between stages.

Two things keep freed data resident.  pyarrow allocates the text of every extract from its own
pool (mimalloc), which keeps the pages of freed buffers for pyarrow's reuse alone: after
reading 2.6 M rows (size l) ~0.6 GB of decoded files and parsed tables stay resident though
nothing refers to them, and the numpy and Python allocations of later stages cannot use them.
And great-expectations keeps exceptions it caught (pydantic validation errors) whose
tracebacks hold the frames of their callers, and with them the extract set, until Python's
cycle collector happens to run.  Then glibc's allocator keeps the pages of freed numpy and
Python memory inside its heap for its own reuse (~0.5 GB after a size-l night), so a worker's
second night started half a gigabyte higher than its first; ``malloc_trim`` gives them back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from functools import lru_cache

import pyarrow as pa

#: below this many extract rows a night's garbage is a few MB, and a full collection costs more
#: than it frees: ~0.4 s each in a process that imported Prefect and great-expectations (some
#: 660,000 objects to traverse), twice a night, longer than the rest of a small night's stages
LARGE_NIGHT_ROWS = 100_000


def release_unused_memory(rows: int, *, freeze: bool = False) -> bool:
    """Free what only reference cycles still hold, then return the pages pyarrow's pool keeps
    for freed buffers; live data is not touched (well under a second at size l).  Only for a
    night of at least ``LARGE_NIGHT_ROWS`` extract rows; returns whether it ran.

    ``freeze``: what survived this collection (the imported libraries, the validated frames)
    lives on to the end of the night, so it is set aside (``gc.freeze``) and the later full
    collections stop walking it every time: 16 of them took 3.9 s of a size-l go-live night.
    Objects set aside are still freed when nothing refers to them; only a reference cycle
    among them waits for ``thaw``."""
    global _nights_frozen
    if rows < LARGE_NIGHT_ROWS:
        return False
    gc.collect()
    if freeze:
        with _lock:
            _nights_frozen += 1
            gc.freeze()
    _return_free_pages()
    return True


def _return_free_pages() -> None:
    """Give the operating system the pages pyarrow's pool and the C heap hold for freed data."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def thaw() -> None:
    """The end of a night that set objects aside (``release_unused_memory(freeze=True)``
    returned True): once no other night of the process still runs on them, they go back to
    the collector, and what the night left (its cycles, the pages of its freed frames) is
    given back, so a worker's next night starts where its first one did."""
    global _nights_frozen
    with _lock:
        _nights_frozen = max(_nights_frozen - 1, 0)
        last = not _nights_frozen
        if last:
            gc.unfreeze()
    if last:
        gc.collect()
        _return_free_pages()


#: nights of this process (a worker may run several at once) that set objects aside and have
#: not ended: the last one to end gives them back
_nights_frozen = 0
_lock = threading.Lock()
