"""Giving memory the night no longer uses back to the operating system between stages.

Two things keep freed data resident.  pyarrow allocates the text of every extract from its own
pool (mimalloc), which keeps the pages of freed buffers for pyarrow's reuse alone: after
reading 2.6 M rows (size l) ~0.6 GB of decoded files and parsed tables stay resident though
nothing refers to them, and the numpy and Python allocations of later stages cannot use them.
And great-expectations keeps exceptions it caught (pydantic validation errors) whose
tracebacks hold the frames of their callers, and with them the extract set, until Python's
cycle collector happens to run.
"""

from __future__ import annotations

import gc
import threading

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
    pa.default_memory_pool().release_unused()
    return True


def thaw() -> None:
    """The end of a night that set objects aside (``release_unused_memory(freeze=True)``
    returned True): once no other night of the process still runs on them, they go back to
    the collector, which frees their cycles the next time it runs."""
    global _nights_frozen
    with _lock:
        _nights_frozen = max(_nights_frozen - 1, 0)
        if not _nights_frozen:
            gc.unfreeze()


#: nights of this process (a worker may run several at once) that set objects aside and have
#: not ended: the last one to end gives them back
_nights_frozen = 0
_lock = threading.Lock()
