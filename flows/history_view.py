"""The run history as a person reads it in a terminal, and as JSON for scripts: one row per
run from the run log, the columns that fit the terminal, the reason of a failure beneath."""

from __future__ import annotations

import json

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table


def print_history(runs: pd.DataFrame, locks: list, *, wide: bool, as_json: bool) -> None:
    """Print the run log's rows and the locks still held (``--json``: as one JSON document)."""
    rows = [_history_row(r) for r in runs.astype(object).where(runs.notna(), None).to_dict("records")]
    if as_json:
        typer.echo(json.dumps({"runs": rows, "locks": [_lock_row(lock) for lock in locks]}, indent=2, default=str))
        return
    console = Console()  # the terminal's width now, not when the module was imported
    width = console.width
    columns = [c for c in HISTORY_COLUMNS if wide or c[2] <= width]
    table = Table(title="Run history (started in UTC)", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for title, _, _ in columns:
        table.add_column(title, overflow="fold", no_wrap=title in ("started", "as_of", "status", "flow run"))
    for row in rows:
        table.add_row(*(cell(row) for _, cell, _ in columns))
    console.print(table)
    room = max(40, width - 30)
    for row in rows:
        if row["error"]:
            text = row["error"] if wide else _trim(row["error"], room)
            name = row["flow_run_name"] or row["run_id"][:8]
            console.print(f"{name} ({row['as_of']}, {row['status']}): {text}", markup=False, highlight=False)
    if not wide and any(r["error"] and len(r["error"]) > room for r in rows):
        console.print("(--wide shows every column and the whole error paragraphs)")
    for lock in locks:
        console.print(
            f"In progress: the run for {lock.as_of} (run {lock.run_id[:8]}) holds the lock since "
            f"{lock.acquired_at:%Y-%m-%d %H:%M} UTC; if it died, `receivables unlock --as-of {lock.as_of}`.",
            markup=False,
            highlight=False,
        )


def _history_row(r: dict) -> dict:
    """One run-log row for people and scripts: counts per stage flattened, seconds computed."""
    counts = r.get("counts") if isinstance(r.get("counts"), dict) else {}  # a run still going has none
    seconds = None
    if r.get("finished_at") is not None and r.get("started_at") is not None:
        seconds = round((r["finished_at"] - r["started_at"]).total_seconds(), 1)
    extracts = counts.get("extracts") or {}
    cash = counts.get("cash_application") or {}
    emails = counts.get("emails") or {}
    return {
        "run_id": r["run_id"],
        "flow_run_id": r.get("flow_run_id"),
        "flow_run_name": r.get("flow_run_name"),
        "as_of": str(r["as_of"]),
        "status": r["status"],
        "mode": r["mode"],
        "started_at": r["started_at"].isoformat() if r.get("started_at") is not None else None,
        "finished_at": r["finished_at"].isoformat() if r.get("finished_at") is not None else None,
        "seconds": seconds,
        "rows_read": sum(int(c.get("read", 0)) for c in extracts.values()) if extracts else None,
        "quarantined_rows": counts.get("quarantined_rows"),
        "payments": cash.get("payments"),
        "payments_fully_applied": cash.get("payments_fully_applied"),
        "notices": (counts.get("dunning") or {}).get("notices"),
        "emails": {k: emails.get(k, 0) for k in ("sent", "previewed", "redirected", "failed", "held")}
        if emails
        else None,
        "counts": counts,
        "error": r.get("error"),
    }


def _lock_row(lock) -> dict:
    return {"as_of": str(lock.as_of), "run_id": lock.run_id, "acquired_at": lock.acquired_at.isoformat()}


def _emails_cell(row: dict) -> str:
    emails = row["emails"]
    if not emails:
        return ""
    return " ".join(f"{n} {k}" for k, n in emails.items() if n) or "0"


def _trim(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _blank(value) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


#: (title, cell, narrowest terminal that shows it): an 80-column terminal gets the first five
HISTORY_COLUMNS = (
    ("started", lambda r: (r["started_at"] or "")[:16].replace("T", " "), 0),
    ("as_of", lambda r: r["as_of"], 0),
    ("status", lambda r: r["status"], 0),
    ("flow run", lambda r: r["flow_run_name"] or (r["flow_run_id"] or "")[:8], 0),
    ("emails", _emails_cell, 0),
    ("mode", lambda r: r["mode"], 100),
    ("s", lambda r: _blank(r["seconds"]), 100),
    ("quarantined", lambda r: _blank(r["quarantined_rows"]), 120),
    ("notices", lambda r: _blank(r["notices"]), 120),
    ("rows read", lambda r: _blank(r["rows_read"]), 150),
    (
        "cash applied",
        lambda r: f"{r['payments_fully_applied']:,}/{r['payments']:,}" if r["payments"] is not None else "",
        150,
    ),
    ("run_id", lambda r: r["run_id"][:8], 150),
)
