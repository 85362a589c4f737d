"""Run the nightly pipeline (``receivables.pipeline.run_nightly``) in this process and die
hard (``os._exit(137)``, as the OOM killer would) at one chosen point.

    python tests/drivers/run_until.py CASE EXTRACTS AS_OF

Settings come from the environment (RECEIVABLES_*).  The patch lives only here, never in
production code.  CASE is one of ``KILL_POINTS`` or:

``none``    run normally (exit 0; a ReceivablesError prints its paragraph and exits 1)
``hold``    run normally but wait ``RECEIVABLES_TEST_HOLD`` seconds after ingest, so a
            second run started at the same moment overlaps this one for sure
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date

KILLED = 137


def _die(where: str) -> None:
    sys.stdout.write(f"KILLED {where}\n")
    sys.stdout.flush()
    os._exit(KILLED)


def _after(module, name: str) -> None:
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        _die(f"after {name}")
        return result

    setattr(module, name, wrapper)


def _before(module, name: str, nth: int = 1) -> None:
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            _die(f"before call {nth} of {name}")
        return real(*args, **kwargs)

    setattr(module, name, wrapper)


def _patch(case: str) -> None:
    from receivables import outbox, pipeline

    if case == "after_ingest":
        _after(pipeline, "ingest")
    elif case == "after_validate":
        _after(pipeline, "validate")
    elif case == "after_archive":
        _after(pipeline, "archive")
    elif case == "during_publish":
        # inside publish's transaction: quarantine, cash_applications, unapplied_cash, the
        # dunning state and the outbox rows are written (uncommitted); die before aging
        _before(pipeline, "replace_for_as_of", nth=4)
    elif case == "after_publish":
        _after(pipeline, "publish")
    elif case == "during_deliver":
        # the first email is sent and recorded; die before claiming the second
        _before(outbox, "_claim", nth=2)
    elif case == "between_send_and_mark_sent":
        # the server has accepted the first email; die before its `sent` is committed
        _before(outbox, "_mark_sent", nth=1)
    elif case == "after_deliver":
        _after(pipeline, "deliver_reminders")
    elif case == "before_finish":
        _before(pipeline, "finish")
    elif case == "hold":
        real = pipeline.ingest

        def slow_ingest(run):
            result = real(run)
            time.sleep(float(os.environ.get("RECEIVABLES_TEST_HOLD", "3")))
            return result

        pipeline.ingest = slow_ingest
    elif case != "none":
        raise SystemExit(f"unknown case {case!r}")


KILL_POINTS = (
    "after_ingest",
    "after_validate",
    "after_archive",
    "during_publish",
    "after_publish",
    "during_deliver",
    "between_send_and_mark_sent",
    "after_deliver",
    "before_finish",
)


def main(argv: list[str]) -> int:
    case, source, as_of = argv
    _patch(case)
    from receivables import pipeline
    from receivables.errors import ReceivablesError
    from receivables.settings import load_settings

    try:
        summary = pipeline.run_nightly(source, date.fromisoformat(as_of), load_settings())
    except ReceivablesError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    sys.stdout.write(f"FINISHED {summary['run_id']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
