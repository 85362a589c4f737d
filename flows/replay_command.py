"""``receivables replay RUN_ID``: run the archived input of an earlier run again.

The run's archive folder (``<archive_dir>/<as_of>/<run_id>/``) is checked first: every file
against the sha256 its manifest recorded, nothing added, and the mapping finds exactly the
files the run read (``receivables.replay``).  Then the flow runs on that folder for the run's
as_of and with its mapping, as a normal run (``_run_flow``, as ``receivables run``): it takes
the date's lock, replaces the date's report rows, keeps the dunning rules of reruns, and gets
a run log row of its own whose source is the archive folder.

A replay is for audits and month-end questions, not for reaching customers: its mail mode is
``preview`` unless ``--mode`` says otherwise, whatever ``RECEIVABLES_MAIL_MODE`` says.

``flows.cli`` registers ``replay``; it imports its helpers from there when it runs, never at
load time, so the two modules do not import each other while loading.
"""

from __future__ import annotations

from pathlib import Path

import typer

#: a replay sends nothing unless told to
REPLAY_MAIL_MODE = "preview"


def replay(
    run_id: str = typer.Argument(
        ..., help="The run to replay, as `receivables history` shows it (8 or more leading characters do)."
    ),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL (default RECEIVABLES_DB_URL or ./receivables.db)."),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="Mail mode: preview (the default for a replay, whatever RECEIVABLES_MAIL_MODE says, so that a "
        "replay never emails customers by accident), redirect or send.",
    ),
    config: Path | None = typer.Option(None, "--config", help="Settings YAML file."),
    config_dir: Path | None = typer.Option(
        None,
        "--config-dir",
        help="The team's configuration folder (default RECEIVABLES_CONFIG_DIR, else the shipped defaults).",
    ),
    mapping: str | None = typer.Option(
        None, "--mapping", help="Read the archive with this mapping instead of the one the run used."
    ),
    report_only: bool = typer.Option(
        False, "--report-only", help="Reports only: no dunning state, no email (month-end close)."
    ),
    redo_dunning: bool = typer.Option(
        False, "--redo-dunning", help="Rewrite the dunning state of a date before the latest one."
    ),
) -> None:
    """Run the archived input of an earlier run again, for its as_of and with its mapping.

    Every archived file is checked against its sha256 first; a changed or missing file stops
    the replay (exit 2). Mail mode is preview unless --mode is given: a replay never emails
    customers by accident.
    """
    from flows.cli import _fail, out

    try:
        summary, archived = _replay(run_id, db, mode, config, config_dir, mapping, report_only, redo_dunning)
    except Exception as exc:
        raise _fail(exc) from None
    from flows.summary_view import print_summary

    print_summary(out, summary)
    out.print(
        f"Replayed run {archived.run_id} for {archived.as_of} as run {summary.get('run_id')}.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _replay(run_id, db, mode, config, config_dir, mapping, report_only, redo_dunning):
    """Check the archived run, then run the flow on its folder; returns the summary and the run."""
    from flows.cli import _run_flow, out
    from receivables.replay import prepare_replay, replay_roots
    from receivables.settings import load_settings

    settings = load_settings(config, db_url=db, config_dir=config_dir)
    archived = prepare_replay(run_id, settings, mapping=mapping)
    out.print(archived.describe(), markup=False, highlight=False, soft_wrap=True)
    out.print(f"Replaying in mail mode {mode or REPLAY_MAIL_MODE}.", markup=False, highlight=False)
    roots = replay_roots(settings)
    summary = _run_flow(
        str(archived.folder),
        archived.as_of,
        db=db,
        mode=mode or REPLAY_MAIL_MODE,
        config=config,
        mapping=archived.mapping,
        reminders=not report_only,
        redo_dunning=redo_dunning,
        config_dir=config_dir,
        # the archive is the pipeline's own output: configured extract roots must not refuse it
        paths={"extract_roots": roots} if roots else None,
    )
    return summary, archived
