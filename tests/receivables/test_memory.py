"""Giving memory back between stages: what a large night needs, a small one does not pay for."""

from __future__ import annotations

import gc

import pyarrow as pa

from receivables.memory import LARGE_NIGHT_ROWS, release_unused_memory


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def test_a_small_night_skips_the_full_collection_a_large_one_runs() -> None:
    before = _full_collections()
    assert release_unused_memory(LARGE_NIGHT_ROWS - 1) is False
    assert _full_collections() == before

    # a cycle holding a buffer from pyarrow's pool, as great-expectations' caught exceptions
    # hold the extract set: only the full collection frees it
    holder: list = [pa.array(range(200_000))]
    holder.append(holder)
    del holder
    allocated = pa.default_memory_pool().bytes_allocated()
    assert release_unused_memory(LARGE_NIGHT_ROWS) is True
    assert _full_collections() > before
    assert pa.default_memory_pool().bytes_allocated() < allocated
