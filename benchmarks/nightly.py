"""Nightly-run benchmark: the whole pipeline at three sizes, directly and through Prefect.

    python benchmarks/nightly.py --size s|m|l [--nights 2] [--no-flow] [--out FILE]

Sizes: s = 1,000 customers (~10,000 open items, 2,500 payments), m = 10,000 (~100,000 /
25,000), l = 100,000 (~1,000,000 open items / 250,000 payments).  The extract set is generated
once and cached under ``.cache/bench/``.

Each mode runs ``--nights`` consecutive business dates on a fresh SQLite warehouse in preview
mail mode: night 1 is a go-live (every overdue item is met for the first time, so most
customers get a reminder), night 2 is a steady-state night (only items crossing a level that
day).  The library mode calls ``receivables.pipeline.run_nightly``; the flow mode calls the
Prefect flow ``flows.nightly.nightly`` against the API in PREFECT_API_URL, or a temporary local
server started once (its start-up is not counted).  Orchestration overhead = flow seconds /
library seconds - 1, per night.

Prints a table per mode and night (stage seconds, rows/s, peak RSS after the stage) and
writes everything as JSON (default ``benchmarks/results/nightly-<size>.json``), with the
seconds of a fixed reference workload taken before and after each mode: this machine's speed
drifts by up to half within a day, so two results compare only next to their reference times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"s": 1_000, "m": 10_000, "l": 100_000}
AS_OF = date(2026, 10, 31)
SEED = 7


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extract_set(size: str) -> tuple[Path, dict]:
    from receivables.synthetic import generate_extract_set

    folder = ROOT / ".cache" / "bench" / f"nightly-{size}-{SEED}"
    manifest = folder / "manifest.json"
    if not manifest.exists():
        started = time.perf_counter()
        generate_extract_set(folder, customers=SIZES[size], seed=SEED, as_of=AS_OF)
        print(f"generated {folder} in {time.perf_counter() - started:.1f} s", flush=True)
    return folder, json.loads(manifest.read_text())


def reference_seconds() -> dict[str, float]:
    """Wall and CPU seconds of a fixed workload of the kinds a night is made of (a Python
    loop, zlib, a numpy sort), best of three: the machine's speed at the moment, to read the
    night's times against.  Wall time also shows other work taking the cores; CPU time not."""
    import zlib

    import numpy as np

    data = np.random.default_rng(0).integers(0, 1 << 40, 2_000_000)
    wall = cpu = float("inf")
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i % 7
        zlib.compress(data.tobytes(), 6)
        np.sort(data)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return {"wall": round(wall, 3), "cpu": round(cpu, 3)}


def _stage_rows(summary: dict) -> dict[str, int]:
    """How many rows each stage worked through, for rows/s."""
    extracts = summary["extracts"]
    read = sum(c["read"] for c in extracts.values())
    dunning = summary.get("dunning") or {}
    emails = summary.get("emails") or {}
    return {
        "ingest": read,
        "validate": read,
        "cash_application": extracts["payments"]["accepted"],
        "dunning": extracts["open_items"]["accepted"],
        "render_reminders": dunning.get("by_action", {}).get("email", 0),
        "deliver": emails.get("previewed", 0) + emails.get("sent", 0),
        "reports": extracts["open_items"]["accepted"],
    }


def _settings(work: Path):
    from receivables.settings import load_settings

    return load_settings(
        db_url=f"sqlite:///{work / 'warehouse.db'}",
        archive_dir=work / "archive",
        outbox_dir=work / "outbox",
        reports_dir=work / "reports",
        mail_mode="preview",
    )


def run_mode(mode: str, source: Path, work: Path, nights: int) -> list[dict]:
    from receivables import pipeline

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    settings = _settings(work)
    os.environ["RECEIVABLES_DB_URL"] = settings.db_url  # the flow reads settings itself
    os.environ["RECEIVABLES_ARCHIVE_DIR"] = str(settings.archive_dir)
    os.environ["RECEIVABLES_OUTBOX_DIR"] = str(settings.outbox_dir)
    os.environ["RECEIVABLES_REPORTS_DIR"] = str(settings.reports_dir)
    os.environ["RECEIVABLES_MAIL_MODE"] = "preview"
    results = []
    for night in range(nights):
        as_of = AS_OF + timedelta(days=night)
        started = time.perf_counter()
        if mode == "library":
            summary = pipeline.run_nightly(str(source), as_of, settings)
        else:
            from flows.nightly import nightly

            state = nightly(extracts=str(source), as_of=as_of, return_state=True)
            if not state.is_completed():
                raise SystemExit(f"flow run failed: {state.message}")
            summary = state.result()
        seconds = time.perf_counter() - started
        rows = _stage_rows(summary)
        stages = {
            name: {
                "seconds": secs,
                "rows": rows.get(name),
                "rows_per_s": round(rows[name] / secs) if rows.get(name) and secs else None,
                "peak_rss_mb": (summary.get("peak_rss_mb") or {}).get(name),
            }
            for name, secs in summary["timings"].items()
        }
        results.append(
            {
                "mode": mode,
                "night": night + 1,
                "as_of": as_of.isoformat(),
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(_peak_mb()),
                "stages": stages,
                "notices": (summary.get("dunning") or {}).get("by_action"),
                # other work on the machine skews wall times; keep the load next to them
                "load_average_1m": round(os.getloadavg()[0], 2),
                "emails": (summary.get("emails") or {}).get("previewed"),
            }
        )
        _print_night(results[-1])
    return results


def _print_night(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=(
            f"{r['mode']} night {r['night']} ({r['as_of']}): {r['seconds']} s, "
            f"peak RSS {r['peak_rss_mb']} MB, notices {r['notices']}"
        )
    )
    for col in ("stage", "seconds", "rows", "rows/s", "peak RSS MB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for name, s in r["stages"].items():
        table.add_row(
            name,
            f"{s['seconds']:.2f}",
            str(s["rows"] or ""),
            str(s["rows_per_s"] or ""),
            str(round(s["peak_rss_mb"])) if s["peak_rss_mb"] else "",
        )
    Console(width=120).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="s")
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--no-flow", action="store_true", help="library mode only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    source, manifest = extract_set(args.size)
    work = ROOT / ".cache" / "bench" / f"work-{args.size}"
    report = {
        "size": args.size,
        "customers": SIZES[args.size],
        "counts": manifest.get("counts"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "render_workers": _settings(work).render_workers,
        "runs": [],
    }
    report["reference_seconds"] = {"start": reference_seconds()}
    report["runs"] += run_mode("library", source, work / "library", args.nights)
    report["reference_seconds"]["after library"] = reference_seconds()
    if not args.no_flow:
        with ExitStack() as stack:
            if not os.environ.get("PREFECT_API_URL"):
                from prefect.testing.utilities import prefect_test_harness

                stack.enter_context(prefect_test_harness(server_startup_timeout=120))
            report["runs"] += run_mode("flow", source, work / "flow", args.nights)
        report["reference_seconds"]["after flow"] = reference_seconds()
        lib = {r["night"]: r["seconds"] for r in report["runs"] if r["mode"] == "library"}
        report["orchestration_overhead"] = {
            f"night {r['night']}": round(r["seconds"] / lib[r["night"]] - 1, 3)
            for r in report["runs"]
            if r["mode"] == "flow"
        }
        print("orchestration overhead (flow / library - 1):", report["orchestration_overhead"])
    print("reference workload (s, best of three; lower is a faster machine):", report["reference_seconds"])
    out = args.out or ROOT / "benchmarks" / "results" / f"nightly-{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
