"""Where a night's memory goes, stage by stage, without running the whole night.

    python benchmarks/memory_profile.py [--size s|m|l] [--source FOLDER] [--out FILE]

Runs the first stages of ``receivables.pipeline.nightly_stages`` (ingest, validate, preflight,
archive, cash application, dunning) on the benchmark extract set of ``benchmarks/nightly.py``
(``.cache/bench/nightly-<size>-7``, generated once), on a SQLite warehouse in a temporary
folder, and stops before the reports.  The stages run through the real ``nightly_stages``, so
the frames it keeps alive (or releases) between stages are exactly those of a night.

After each stage it prints the process's resident memory (``VmRSS``) before and after it (what
the runner releases between two stages shows as the drop from one's end to the next one's
start), the stage's own peak (``VmHWM``, reset before the stage through
``/proc/self/clear_refs``, which resets ``getrusage``'s ``ru_maxrss`` too), the process peak so
far (the stages' maximum), and the memory of each frame the stage returned
(``DataFrame.memory_usage(deep=True)``): the extract set's frames after ingest, the validated
frames after validate, the cash result's frames after cash application.  It also says whether
the ingest's ``ExtractSet`` is still alive after each later stage (held here only through a
weak reference, so the profiler itself keeps nothing alive).  A stage that fails (work in
progress elsewhere) ends the profile there.

Other work on the machine does not change memory figures, but the 1-minute load average is
printed beside them anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import weakref
from dataclasses import fields, is_dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import nightly  # noqa: E402  (the benchmark sets and their as_of)

#: the stages measured; the night is stopped after the last one
STAGES = ("ingest", "validate", "preflight", "archive", "cash_application", "dunning")
MB = 1024 * 1024


class _Stop(Exception):
    """Raised after the last measured stage: the rest of the night is not run."""


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_stage_peak() -> None:
    """Reset VmHWM so that it shows the peak of the next stage alone (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _frames_of(result: object) -> dict[str, object]:
    """The DataFrames a stage's result holds: a dict of frames, or a dataclass's frame fields
    (and its ``frames`` dict)."""
    import pandas as pd

    found: dict[str, object] = {}
    if is_dataclass(result):
        for f in fields(result):
            value = getattr(result, f.name)
            if isinstance(value, pd.DataFrame):
                found[f.name] = value
            elif isinstance(value, dict) and value and all(isinstance(v, pd.DataFrame) for v in value.values()):
                found |= {f"{f.name}.{k}": v for k, v in value.items()}
    return found


def _frame_mb(frame) -> float:
    return float(frame.memory_usage(deep=True).sum()) / MB


class Profiler:
    """A ``call`` for ``nightly_stages`` that measures after each stage."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.extracts_ref: weakref.ref | None = None

    def __call__(self, stage: str, fn, *args):
        if stage not in STAGES:
            raise _Stop(stage)
        _reset_stage_peak()
        rss_before = round(_status_mb("VmRSS"))
        started = time.perf_counter()
        try:
            result = fn(*args)
        except Exception as exc:  # a stage broken by work in progress elsewhere: keep what was measured
            print(f"{stage} failed ({type(exc).__name__}: {exc}); stopping here", flush=True)
            raise _Stop(stage) from exc
        seconds = time.perf_counter() - started
        if stage == "ingest":
            self.extracts_ref = weakref.ref(result)
        frames = {name: round(_frame_mb(f), 1) for name, f in _frames_of(result).items()}
        alive = self.extracts_ref is not None and self.extracts_ref() is not None
        row = {
            "stage": stage,
            "seconds": round(seconds, 1),
            "rss_before_mb": rss_before,
            "rss_mb": round(_status_mb("VmRSS")),
            "stage_peak_mb": round(_status_mb("VmHWM")),
            # resetting VmHWM resets getrusage's ru_maxrss too: the process peak is the stages' maximum
            "process_peak_mb": max([round(_status_mb("VmHWM"))] + [r["process_peak_mb"] for r in self.rows]),
            "extract_set_alive": alive,
            "frames_mb": frames,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        self.rows.append(row)
        _print_row(row)
        return result


def _print_row(row: dict) -> None:
    print(
        f"{row['stage']:<17} {row['seconds']:>6.1f} s  RSS {row['rss_before_mb']:>6} -> {row['rss_mb']:>6} MB  "
        f"stage peak {row['stage_peak_mb']:>6} MB  process peak {row['process_peak_mb']:>6} MB  "
        f"ExtractSet alive: {'yes' if row['extract_set_alive'] else 'no'}  load {row['load_average_1m']}",
        flush=True,
    )
    if row["frames_mb"]:
        total = sum(row["frames_mb"].values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(row["frames_mb"].items(), key=lambda kv: -kv[1]))
        print(f"{'':<19}frames {total:.1f} MB: {parts}", flush=True)


def profile(source: Path, as_of) -> list[dict]:
    from receivables import pipeline
    from receivables.settings import load_settings

    profiler = Profiler()
    print(f"start: RSS {_status_mb('VmRSS'):.0f} MB (imports)", flush=True)
    with tempfile.TemporaryDirectory(prefix="memory-profile-") as tmp:
        work = Path(tmp)
        settings = load_settings(
            db_url=f"sqlite:///{work / 'warehouse.db'}",
            archive_dir=work / "archive",
            outbox_dir=work / "outbox",
            reports_dir=work / "reports",
            mail_mode="preview",
        )
        run = pipeline.Run(source=str(source), as_of=as_of, settings=settings)
        try:
            pipeline.nightly_stages(run, call=profiler)
        except _Stop:
            pass
    return profiler.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(nightly.SIZES), default="l")
    parser.add_argument("--source", type=Path, help="an extract folder instead of the benchmark set")
    parser.add_argument("--out", type=Path, help="write the table as JSON")
    args = parser.parse_args()
    source = args.source or nightly.extract_set(args.size)[0]
    rows = profile(source, nightly.AS_OF)
    if args.out:
        args.out.write_text(json.dumps({"source": str(source), "stages": rows}, indent=2))


if __name__ == "__main__":
    main()
