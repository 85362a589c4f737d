"""``receivables statements``: the monthly statements of account for one business date, now.

The same flow the ``statements`` deployment runs on the first business day of each month
(flows/statements.py), started from the command line with ``run``'s options.  A rerun in the
same month sends no statement twice.

``flows.cli`` registers ``statements``; it imports its helpers from there when it runs, never
at load time, so the two modules do not import each other while loading.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer


def statements(
    extracts: str = typer.Option(..., "--extracts", help="Extract folder, fsspec URL or sql+<database URL>."),
    as_of: str | None = typer.Option(None, "--as-of", help="Business date of the statements (default today)."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL (default RECEIVABLES_DB_URL or ./receivables.db)."),
    mode: str | None = typer.Option(None, "--mode", help="Mail mode: preview, redirect or send."),
    config: Path | None = typer.Option(None, "--config", help="Settings YAML file."),
    mapping: str | None = typer.Option(None, "--mapping", help="ERP mapping name or YAML path."),
    config_dir: Path | None = typer.Option(
        None,
        "--config-dir",
        help="The team's configuration folder (default RECEIVABLES_CONFIG_DIR, else the shipped defaults).",
    ),
) -> None:
    """Send the statement of account to every customer with an open balance (once a month)."""
    from flows.cli import _as_of, _fail, out

    try:
        summary = _run_statements(extracts, _as_of(as_of), db, mode, config, mapping, config_dir)
    except Exception as exc:
        raise _fail(exc) from None
    s = summary["statements"]
    skipped = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in s["skipped"].items())
    out.print(
        f"Statements {summary['as_of']}: {s['planned']} for customers with an open balance "
        f"({s['outbox']['inserted']} new, {s['outbox']['already_present']} already in the outbox this month); "
        f"skipped: {skipped}.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if summary["held_companies"]:
        out.print(f"Companies held back: {', '.join(summary['held_companies'])}.", markup=False, highlight=False)
    out.print(summary["emails"]["summary"], markup=False, highlight=False, soft_wrap=True)


def _run_statements(extracts, as_of: date, db, mode, config, mapping, config_dir) -> dict:
    """The statements flow with settings loaded here (as ``receivables run`` does: fail fast,
    and a --db URL with a password never becomes a flow parameter)."""
    from prefect import tags

    from flows import run_settings
    from flows.statements import statements as statements_flow
    from receivables.errors import ReceivablesError
    from receivables.rules import load_rules
    from receivables.settings import load_settings

    settings = load_settings(config, mail_mode=mode, mapping=mapping, config_dir=config_dir, db_url=db)
    rules = load_rules(settings.config_dir, settings.mapping)
    with tags("source:cli"), run_settings.given(settings, rules):
        state = statements_flow(
            extracts=extracts,
            as_of=as_of,
            mode=mode,
            config=str(config) if config else None,
            mapping=mapping,
            config_dir=str(config_dir) if config_dir else None,
            return_state=True,
        )
    if state.is_completed():
        return state.result()
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    raise ReceivablesError(f"The flow run ended {state.type.value}: {state.message}")
