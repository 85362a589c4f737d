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

from flows.outbox_commands import outbox_app
from flows.replay_command import replay
from flows.statements_command import statements

app = typer.Typer(
    name="receivables",
    help="Nightly accounts-receivable collections pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# `receivables outbox list|release|mark-sent|cancel`: a group of its own (flows/outbox_commands.py)
app.add_typer(outbox_app, name="outbox")
# `receivables replay RUN_ID`: an archived night again (flows/replay_command.py)
app.command("replay")(replay)
# `receivables statements`: the monthly statements of account now (flows/statements_command.py)
app.command("statements")(statements)
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
        from receivables.pipeline import read_extracts
        from receivables.preflight import preflight
        from receivables.rules import load_rules
        from receivables.settings import load_settings
        from receivables.validation import validate_extract_set

        settings = load_settings(config, mapping=mapping, config_dir=config_dir)
        rules = load_rules(settings.config_dir, settings.mapping)
        day = _as_of(as_of)
        extract_set = read_extracts(extracts, day, settings, rules)
        validated = validate_extract_set(extract_set, day, rules.folder)
        checked = preflight(rules, settings, validated.frames, day, statement_accounts=extract_set.statement_accounts)
    except Exception as exc:
        raise _fail(exc) from None
    _print_validation(extract_set, validated)
    if quarantine_csv:
        from receivables.cell_text import neutralise

        # the file is opened in a spreadsheet: a rejected value is text, never a formula
        validated.quarantine.map(lambda v: neutralise(v) if isinstance(v, str) else v).to_csv(
            quarantine_csv, index=False
        )
    _print_problems(checked)
    if checked.errors:
        raise typer.Exit(2)


def _print_validation(extract_set, validated) -> None:
    """What was read and accepted per extract, and the first quarantined rows with their file."""
    table = Table("extract", "file", "read", "accepted", "quarantined", title="Validation")
    statements = extract_set.statement_counts.get("files", 0)
    for name, c in validated.counts.items():
        src = extract_set.sources.get(name)
        shown = src.name if src else "-"
        if name == "payments" and statements:
            shown = f"{shown if src else ''} + statements/ ({statements} files)".lstrip(" +")
        table.add_row(name, shown, str(c["read"]), str(c["accepted"]), str(c["quarantined"]))
    out.print(table)
    if not validated.quarantine.empty:
        q = Table(title="Quarantined rows (first 20)")
        for title in ("extract", "file", "row", "column", "value", "reason"):
            q.add_column(title, overflow="fold")  # a file or reason is read whole, never cut off
        for r in validated.quarantine.head(20).itertuples():
            value = "" if r.value is None else str(r.value)[:40]
            q.add_row(r.extract, str(r.file), str(r.row_number), r.column, value, r.reason)
        out.print(q)


def _print_problems(checked) -> None:
    """Each configuration problem as its own paragraph with its fix, errors first."""
    if not checked.problems:
        out.print("Configuration: no problem found for these extracts.")
        return
    errors = len(checked.errors)
    warnings = len(checked.problems) - errors
    err.print(f"Configuration: {errors} problem(s), {warnings} warning(s).", markup=False, highlight=False)
    for problem in sorted(checked.problems, key=lambda p: p.severity != "error"):
        label = "Problem" if problem.severity == "error" else "Warning"
        err.print(f"\n{label}: {problem.paragraph()}", markup=False, highlight=False, soft_wrap=True)


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
    close: bool = typer.Option(
        False, "--close", help="Month-end close: also write the expected-credit-loss provision (docs/close.md)."
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
            close=close,
        )
    except Exception as exc:
        raise _fail(exc) from None
    from flows.summary_view import print_summary

    print_summary(out, summary)


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
        paths = {name: folder / name.removesuffix("_dir") for name in ("archive_dir", "outbox_dir", "reports_dir")}
        db = f"sqlite:///{(folder / 'receivables.db').resolve()}"
        summary = _run_flow(
            str(extracts), _as_of(DEMO_AS_OF), db=db, mode="preview", config=None, mapping=None, paths=paths
        )
    except Exception as exc:
        raise _fail(exc) from None
    from flows.summary_view import print_summary

    print_summary(out, summary)
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
        from flows.history_view import print_history
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
    print_history(runs, locks, wide=wide, as_json=as_json)


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
    out.print("Serving " + ", ".join(f"{d.flow_name}/{d.name}" for d in deployments) + ".")
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
    paths: dict[str, Path | list[str]] | None = None,
    close: bool = False,
) -> dict:
    from receivables.rules import load_rules
    from receivables.settings import load_settings

    # loaded once, here: failing fast before a temporary Prefect server starts, and handed to
    # the flow in memory (flows/run_settings.py) because a --db URL may hold a password that
    # must stay out of the run's parameters and out of this process's environment
    settings = load_settings(config, mail_mode=mode, mapping=mapping, config_dir=config_dir, db_url=db, **(paths or {}))
    rules = load_rules(settings.config_dir, settings.mapping)
    from prefect import tags

    from flows import run_settings
    from flows.nightly import nightly
    from receivables.errors import ReceivablesError

    with tags("source:cli"), run_settings.given(settings, rules):
        state = nightly(
            extracts=extracts,
            as_of=as_of,
            mode=mode,
            config=str(config) if config else None,
            mapping=mapping,
            reminders=reminders,
            redo_dunning=redo_dunning,
            config_dir=str(config_dir) if config_dir else None,
            close=close,
            return_state=True,
        )
    if state.is_completed():
        return state.result()
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    raise ReceivablesError(f"The flow run ended {state.type.value}: {state.message}")


if __name__ == "__main__":  # pragma: no cover
    main()
