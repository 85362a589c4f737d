"""Giving memory back between stages: what a large night needs, a small one does not pay for."""

from __future__ import annotations

import gc
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from receivables.memory import LARGE_NIGHT_ROWS, _malloc_trim, release_unused_memory, thaw


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


def test_what_a_large_night_sets_aside_is_freed_after_the_night() -> None:
    """Survivors of the collection after validation are set aside (later collections skip
    them); a cycle among them that becomes garbage is freed once the night thaws them."""
    try:
        survivor: list = [pa.array(range(200_000))]
        survivor.append(survivor)
        assert release_unused_memory(LARGE_NIGHT_ROWS, freeze=True) is True
        assert gc.get_freeze_count() > 0
        del survivor
        allocated = pa.default_memory_pool().bytes_allocated()
        gc.collect()
        assert pa.default_memory_pool().bytes_allocated() == allocated  # set aside: not walked
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
    # the night's end collects: a worker's next night does not start on the last one's garbage
    assert pa.default_memory_pool().bytes_allocated() < allocated


def _resident_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


@pytest.mark.skipif(_malloc_trim() is None or not Path("/proc/self/status").exists(), reason="needs glibc on Linux")
def test_the_pages_of_what_a_large_night_freed_go_back_to_the_system() -> None:
    """Freed numpy memory stays inside the C heap when something allocated after it is still
    alive; a large night gives those pages back, so its process does not carry them into the
    next night (a size-l night left ~0.5 GB)."""
    chunks = [np.ones(8192) for _ in range(3200)]  # 200 MB in 64 KB blocks, below mmap's threshold
    pinned = chunks[-1]
    del chunks
    before = _resident_mb()
    assert release_unused_memory(LARGE_NIGHT_ROWS) is True
    assert _resident_mb() < before - 150
    assert pinned.sum() == 8192


def _night_failing_after_validation(monkeypatch, rows: int) -> None:
    """A night whose stages up to validation are stand-ins reading ``rows`` extract rows, and
    whose cash application fails."""
    from receivables import pipeline

    def cash_fails(*args):
        raise RuntimeError("the cash application broke")

    extracts = SimpleNamespace(statement_counts=None, statement_accounts=None, input_hashes=dict)
    validated = SimpleNamespace(counts={"open_items": {"read": rows}}, quarantined_rows=0)
    monkeypatch.setattr(pipeline, "ingest", lambda run: extracts)
    monkeypatch.setattr(pipeline, "validate", lambda run, extracts: validated)
    monkeypatch.setattr(pipeline, "check_configuration", lambda *args: SimpleNamespace(counts=dict))
    monkeypatch.setattr(pipeline, "archive", lambda *args: None)
    monkeypatch.setattr(pipeline, "apply_cash", cash_fails)
    run = SimpleNamespace(timed=lambda stage: nullcontext(), counts={})
    with pytest.raises(RuntimeError, match="cash application broke"):
        pipeline.nightly_stages(run)  # type: ignore[arg-type]


def test_a_large_night_thaws_what_it_set_aside_also_when_it_fails(monkeypatch) -> None:
    _night_failing_after_validation(monkeypatch, LARGE_NIGHT_ROWS)
    assert gc.get_freeze_count() == 0


def test_a_small_night_leaves_what_its_process_froze_itself(monkeypatch) -> None:
    """A host (a worker that forks, say) may have frozen objects of its own: a night that set
    nothing aside gives nothing back."""
    # asked of gc itself, not by counting: under xdist a worker's other threads free frozen
    # objects meanwhile, so the count fell by a few with nothing given back
    unfreeze, unfrozen = gc.unfreeze, []
    monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(True))
    gc.freeze()
    try:
        _night_failing_after_validation(monkeypatch, LARGE_NIGHT_ROWS - 1)
        assert unfrozen == [] and gc.get_freeze_count() > 0
    finally:
        unfreeze()
