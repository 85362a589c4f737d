"""When a failed task is worth retrying: transient faults yes, rejected input never."""

from __future__ import annotations

from receivables.errors import ConfigError, InputRejected


def transient_only(task, task_run, state) -> bool:
    """Retry I/O hiccups (network share, database restart); a rejected extract or a bad
    configuration fails the same way every time, so retrying only delays the report."""
    try:
        state.result()
    except (InputRejected, ConfigError):
        return False
    except Exception:
        return True
    return False
