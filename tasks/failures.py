"""What a failure means to a task: transient faults are retried, rejected input is an answer.

Rejected extracts and invalid configuration fail the same way on every try, and are a
business outcome the operator must read as one paragraph, not a crash with a traceback in
the flow's log.  Such tasks return the ``Rejection`` instead of raising, and the flow ends in a
``Failed`` state carrying the paragraph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from receivables.errors import ConfigError, InputRejected
from receivables.warehouse.run_lock import RunInProgress

Rejection = (InputRejected, ConfigError)
#: the same answer on every try within a retry delay: another run for the as_of is going
NOT_TRANSIENT = (*Rejection, RunInProgress)
T = TypeVar("T")


def transient_only(task, task_run, state) -> bool:
    """Retry I/O hiccups (a network share, a database restart), never rejected input."""
    try:
        state.result()
    except NOT_TRANSIENT:
        return False
    except Exception:
        return True
    return False


def rejection_as_value(fn: Callable[..., T]) -> Callable[..., T | InputRejected | ConfigError]:
    """Return a rejection instead of raising it (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Rejection as exc:
            return exc

    return wrapper
