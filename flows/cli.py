"""The ``receivables`` command line.

It lives with the flows because it starts them (``run``, ``demo``, ``serve``); the library
under ``receivables/`` never imports Prefect, the flows or the tasks.

Exit codes: 0 success, 2 input rejected (extracts, mapping, settings), 1 any other failure.
Errors print as one paragraph; set ``RECEIVABLES_DEBUG=1`` to see the traceback as well.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="receivables",
    help="Nightly accounts-receivable collections pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

DEMO_AS_OF = "2026-10-31"


def main() -> None:
    # Prefect's server would try to send usage telemetry; workers here have no internet.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("Interrupted.")
        sys.exit(130)


def _fail(exc: BaseException) -> typer.Exit:
    from receivables.errors import ReceivablesError

    if os.environ.get("RECEIVABLES_DEBUG"):
        err.print_exception()
    if isinstance(exc, ReceivablesError):
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return typer.Exit(exc.exit_code)
    err.print(
        f"Unexpected failure: {type(exc).__name__}: {exc}. Set RECEIVABLES_DEBUG=1 to see the traceback.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return typer.Exit(1)


def _as_of(value: str | None) -> date:
    from receivables.errors import ConfigError

    if not value:
        return date.today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"--as-of {value!r} is not a date in the form YYYY-MM-DD.") from None


@app.command()
def generate(
    out_dir: Path = typer.Option(..., "--out", help="Folder to write the extract set into."),
    customers: int = typer.Option(200, "--customers", min=1, help="Number of customers (about 10 open items each)."),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed gives the same files."),
    as_of: str | None = typer.Option(DEMO_AS_OF, "--as-of", help="Business date the set is for."),
) -> None:
    """Write a synthetic extract set with ground-truth labels for cash application."""
    try:
        from receivables.synthetic import generate_extract_set

        summary = generate_extract_set(out_dir, customers=customers, seed=seed, as_of=_as_of(as_of))
    except Exception as exc:
        raise _fail(exc) from None
    out.print(f"Wrote the extract set to {out_dir}: " + ", ".join(f"{k} {v}" for k, v in summary.counts.items()))


@app.command()
def init(
    folder: Path = typer.Argument(..., help="The new configuration folder (must not exist or be empty)."),
    extracts: str | None = typer.Option(
        None, "--extracts", help="An extract set whose company codes get a companies.yaml entry each."
    ),
    mapping: str | None = typer.Option(None, "--mapping", help="ERP mapping name or YAML path for --extracts."),
) -> None:
    """Write a starter configuration folder: copies of the shipped defaults to edit."""
    try:
        from receivables.config_folder import write_starter_folder

        codes = _company_codes(extracts, mapping) if extracts else None
        written = write_starter_folder(folder, codes)
    except Exception as exc:
        raise _fail(exc) from None
    out.print(f"Wrote {len(written)} files to {folder}.", markup=False, highlight=False)
    if codes:
        out.print(
            f"companies.yaml has an entry for {', '.join(codes)}: fill in every '<fill in>' before the first run.",
            markup=False,
            highlight=False,
        )
    out.print(
        f"Use it with RECEIVABLES_CONFIG_DIR={folder.resolve()} or --config-dir {folder}.",
        markup=False,
        highlight=False,
    )


def _company_codes(extracts: str, mapping: str | None) -> list[str]:
    """The company codes an extract set uses (read only, nothing validated or written)."""
    from receivables.extracts import read_extract_set
    from receivables.mappings import load_mapping
    from receivables.settings import load_settings

    settings = load_settings(mapping=mapping)
    extract_set = read_extract_set(extracts, load_mapping(settings.mapping), roots=settings.extract_roots)
    codes: set[str] = set()
    for name in ("customers", "open_items", "payments"):
        frame = extract_set.frames.get(name)
        if frame is not None and "company_code" in frame.columns:
            codes |= {str(c).strip() for c in frame["company_code"].dropna() if str(c).strip()}
    return sorted(codes)


@app.command()
def validate(
    extracts: str = typer.Option(..., "--extracts", help="Extract folder, fsspec URL or sql+<database URL>."),
    as_of: str | None = typer.Option(None, "--as-of", help="Business date (default today)."),
    mapping: str | None = typer.Option(None, "--mapping", help="ERP mapping name or YAML path."),
    config: Path | None = typer.Option(None, "--config", help="Settings YAML file."),
    config_dir: Path | None = typer.Option(
        None,
        "--config-dir",
        help="The team's configuration folder (default RECEIVABLES_CONFIG_DIR, else the shipped defaults).",
    ),
    quarantine_csv: Path | None = typer.Option(
        None, "--quarantine-csv", help="Also write the quarantine records here."
    ),
) -> None:
    """Check an extract set without writing anything: exit 2 when it would be rejected."""
    try:
        from receivables.extracts import read_extract_set
        from receivables.rules import load_rules
        from receivables.settings import load_settings
        from receivables.validation import validate_extract_set

        settings = load_settings(config, mapping=mapping, config_dir=config_dir)
        rules = load_rules(settings.config_dir, settings.mapping)
        day = _as_of(as_of)
        extract_set = read_extract_set(
            extracts, rules.mapping, as_of=day, roots=settings.extract_roots, folder=rules.folder
        )
        validated = validate_extract_set(extract_set, day, rules.folder)
    except Exception as exc:
        raise _fail(exc) from None
    table = Table("extract", "file", "read", "accepted", "quarantined", title="Validation")
    for name, c in validated.counts.items():
        src = extract_set.sources.get(name)
        table.add_row(name, src.name if src else "-", str(c["read"]), str(c["accepted"]), str(c["quarantined"]))
    out.print(table)
    if not validated.quarantine.empty:
        q = Table("extract", "row", "column", "value", "reason", title="Quarantined rows (first 20)")
        for r in validated.quarantine.head(20).itertuples():
            q.add_row(r.extract, str(r.row_number), r.column, "" if r.value is None else str(r.value)[:40], r.reason)
        out.print(q)
    if quarantine_csv:
        validated.quarantine.to_csv(quarantine_csv, index=False)


@app.command()
def run(
    extracts: str = typer.Option(..., "--extracts", help="Extract folder, fsspec URL or sql+<database URL>."),
    as_of: str | None = typer.Option(None, "--as-of", help="Business date the run is for (default today)."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL (default RECEIVABLES_DB_URL or ./receivables.db)."),
    mode: str | None = typer.Option(None, "--mode", help="Mail mode: preview, redirect or send."),
    config: Path | None = typer.Option(None, "--config", help="Settings YAML file."),
    mapping: str | None = typer.Option(None, "--mapping", help="ERP mapping name or YAML path."),
    config_dir: Path | None = typer.Option(
        None,
        "--config-dir",
        help="The team's configuration folder (default RECEIVABLES_CONFIG_DIR, else the shipped defaults).",
    ),
    report_only: bool = typer.Option(
        False, "--report-only", help="Reports only: no dunning state, no email (month-end close)."
    ),
    redo_dunning: bool = typer.Option(
        False, "--redo-dunning", help="Rewrite the dunning state of a date before the latest one."
    ),
) -> None:
    """Run the nightly flow for one business date."""
    try:
        summary = _run_flow(
            extracts,
            _as_of(as_of),
            db=db,
            mode=mode,
            config=config,
            mapping=mapping,
            reminders=not report_only,
            redo_dunning=redo_dunning,
            config_dir=config_dir,
        )
    except Exception as exc:
        raise _fail(exc) from None
    _print_summary(summary)


@app.command()
def demo(
    folder: Path = typer.Option(Path("receivables-demo"), "--folder", help="Working folder for the demo."),
    customers: int = typer.Option(200, "--customers", min=1),
) -> None:
    """Generate sample extracts and run the whole nightly flow on the embedded defaults."""
    try:
        from receivables.synthetic import generate_extract_set

        extracts = folder / "extracts"
        generate_extract_set(extracts, customers=customers, seed=42, as_of=_as_of(DEMO_AS_OF))
        os.environ.setdefault("RECEIVABLES_ARCHIVE_DIR", str(folder / "archive"))
        os.environ.setdefault("RECEIVABLES_OUTBOX_DIR", str(folder / "outbox"))
        os.environ.setdefault("RECEIVABLES_REPORTS_DIR", str(folder / "reports"))
        db = f"sqlite:///{(folder / 'receivables.db').resolve()}"
        summary = _run_flow(str(extracts), _as_of(DEMO_AS_OF), db=db, mode="preview", config=None, mapping=None)
    except Exception as exc:
        raise _fail(exc) from None
    _print_summary(summary)
    out.print(f"Demo finished. Warehouse: {db}")


@app.command()
def history(
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
    limit: int = typer.Option(20, "--limit", min=1),
    wide: bool = typer.Option(False, "--wide", help="Every column and the whole error paragraph."),
    as_json: bool = typer.Option(False, "--json", help="The run log as JSON, for scripts."),
) -> None:
    """List recent runs from the run log: status, flow run, emails, the reason of a failure."""
    try:
        from receivables.pipeline import warehouse_engine
        from receivables.settings import load_settings
        from receivables.warehouse.run_lock import held_locks
        from receivables.warehouse.run_log import history as run_history

        settings = load_settings(db_url=db)
        engine = warehouse_engine(settings.db_url)
        runs = run_history(engine, limit=limit)
        locks = held_locks(engine)
    except Exception as exc:
        raise _fail(exc) from None
    rows = [_history_row(r) for r in runs.astype(object).where(runs.notna(), None).to_dict("records")]
    if as_json:
        import json

        typer.echo(json.dumps({"runs": rows, "locks": [_lock_row(lock) for lock in locks]}, indent=2, default=str))
        return
    console = Console()  # the terminal's width now, not when the module was imported
    width = console.width
    columns = [c for c in HISTORY_COLUMNS if wide or c[2] <= width]
    from rich import box

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


@app.command()
def unlock(
    as_of: str = typer.Option(..., "--as-of", help="Business date whose run lock to break."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
) -> None:
    """Break the run lock of a date whose run died (only when no run for it is still going)."""
    try:
        from receivables.pipeline import warehouse_engine
        from receivables.settings import load_settings
        from receivables.warehouse import run_lock
        from receivables.warehouse.run_log import finish_run
        from receivables.warehouse.tables import run_log

        day = _as_of(as_of)
        engine = warehouse_engine(load_settings(db_url=db).db_url)
        held = run_lock.holder(engine, day)
        if held is None:
            out.print(f"No run lock is held for {day}.")
            return
        run_lock.release(engine, day, held.run_id)
        # the run that held it never finished: show it as failed, not running forever
        with engine.connect() as conn:
            row = conn.execute(run_log.select().where(run_log.c.run_id == held.run_id)).mappings().first()
        if row is not None and row["status"] == "running":
            finish_run(
                engine,
                held.run_id,
                status="failed",
                error=f"lock broken by `receivables unlock` (held since {held.acquired_at:%Y-%m-%d %H:%M} UTC)",
            )
    except Exception as exc:
        raise _fail(exc) from None
    out.print(f"Broke the run lock for {day} held by run {held.run_id} since {held.acquired_at:%Y-%m-%d %H:%M} UTC.")


@app.command()
def serve(
    prefect_file: Path = typer.Option(
        None, "--prefect-file", help="Deployments file (default: prefect.yaml of this project)."
    ),
    name: list[str] | None = typer.Option(None, "--name", help="Serve only this deployment (repeatable)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Most flow runs at a time in this process."),
) -> None:
    """Serve the deployments of prefect.yaml on this machine, without a work pool (Ctrl-C stops)."""
    try:
        from prefect import serve as prefect_serve

        from flows.deployments import PREFECT_YAML, runner_deployments

        deployments = runner_deployments(prefect_file or PREFECT_YAML, names=name or None)
    except Exception as exc:
        raise _fail(exc) from None
    out.print("Serving " + ", ".join(f"receivables-nightly/{d.name}" for d in deployments) + ".")
    try:
        prefect_serve(*deployments, limit=limit, print_starting_message=True)
    except Exception as exc:
        raise _fail(exc) from None


def _run_flow(
    extracts: str,
    as_of: date,
    *,
    db: str | None,
    mode: str | None,
    config: Path | None,
    mapping: str | None,
    reminders: bool = True,
    redo_dunning: bool = False,
    config_dir: Path | None = None,
) -> dict:
    from receivables.settings import load_settings

    if db:
        # via the environment, not a flow parameter: a URL may hold a password and parameters
        # are stored in Prefect's run history
        os.environ["RECEIVABLES_DB_URL"] = db
    from receivables.errors import ReceivablesError
    from receivables.rules import load_rules

    # fail fast, before a temporary Prefect server starts: the flow loads them again, once
    settings = load_settings(config, mail_mode=mode, mapping=mapping, config_dir=config_dir)
    load_rules(settings.config_dir, settings.mapping)
    from prefect import tags

    from flows.nightly import nightly

    with tags("source:cli"):
        state = nightly(
            extracts=extracts,
            as_of=as_of,
            mode=mode,
            config=str(config) if config else None,
            mapping=mapping,
            reminders=reminders,
            redo_dunning=redo_dunning,
            config_dir=str(config_dir) if config_dir else None,
            return_state=True,
        )
    if state.is_completed():
        return state.result()
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    raise ReceivablesError(f"The flow run ended {state.type.value}: {state.message}")


def _print_summary(summary: dict) -> None:
    table = Table("extract", "read", "accepted", "quarantined", title=f"Run {summary['as_of']} ({summary['mode']})")
    for name, c in summary["extracts"].items():
        if c["read"]:
            table.add_row(name, str(c["read"]), str(c["accepted"]), str(c["quarantined"]))
    out.print(table)
    totals = Table("company", "currency", "open amount", title="Open receivables after cash application")
    for t in summary["open_totals"]:
        totals.add_row(t["company_code"], t["currency"], t["open_amount"])
    out.print(totals)
    cash = summary.get("cash_application")
    if cash:
        applied = ", ".join(f"{c['amount']} {c['currency']}" for c in summary.get("cash_applied", [])) or "nothing"
        out.print(
            f"Cash application: {cash['payments_fully_applied']} of {cash['payments']} payments "
            f"fully applied ({applied}); "
            f"{cash['suggestions']} suggestions for review; unapplied by reason {cash['unapplied']}."
        )
    dunning = summary.get("dunning")
    if dunning:
        note = "" if dunning["state_written"] else f" State not written: {dunning['why_not']}."
        out.print(
            f"Dunning: {dunning['notices']} notices {dunning['by_action']}, {dunning['advanced']} items advanced.{note}"
        )
    if summary.get("emails"):
        rejected = (summary.get("outbox") or {}).get("rejected", 0)
        note = (
            f" {rejected} email(s) could not be built (no usable address) and are recorded as failed in email_outbox."
            if rejected
            else ""
        )
        out.print(f"Reminders: {summary['emails']['summary']}{note}")
    if summary.get("kpis"):
        from receivables.kpi_labels import format_kpi, kpi_label
        from receivables.run_summary import headline_kpis

        base = summary.get("base_currency", "")
        out.print(
            "KPIs: "
            + "; ".join(
                f"{kpi_label(k['kpi'])} {format_kpi(k['value'], k['unit'], base)}"
                for k in headline_kpis(summary["kpis"])
            )
        )
    for name, path in summary.get("files", {}).items():
        out.print(f"{name}: {path}")
    out.print(
        f"run_id {summary['run_id']}; stage seconds: " + ", ".join(f"{k} {v}" for k, v in summary["timings"].items())
    )


if __name__ == "__main__":  # pragma: no cover
    main()
