"""``receivables outbox``: an operator's commands for the email outbox.

``list`` shows what is queued, sent, failed, held or cancelled; ``release`` and ``mark-sent``
settle a held email (a send interrupted so that nobody knows whether the server took it);
``cancel`` stops one that must not go out.  A group of its own so ``flows/cli.py`` stays
readable; the rules live in ``receivables.outbox.review`` and this module only parses and
prints, in the style of ``flows/cli.py`` (one-paragraph errors, exit 2 for a request the
outbox refuses).  No message body and no password is ever printed.

``flows.cli`` imports this module to register the group, so the commands import its helpers
(``_fail``, ``_as_of``, the console) when they run, never at load time.
"""

from __future__ import annotations

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

outbox_app = typer.Typer(
    name="outbox",
    help="Look at the email outbox and settle held or unwanted emails.",
    no_args_is_help=True,
)


def _engine(db: str | None):
    from receivables.pipeline import warehouse_engine
    from receivables.settings import load_settings

    return warehouse_engine(load_settings(db_url=db).db_url)


@outbox_app.command("list")
def list_outbox(
    as_of: str | None = typer.Option(None, "--as-of", help="Only the emails of this business date."),
    status: str | None = typer.Option(
        None, "--status", help="Only this status: pending, sending, sent, failed, held or cancelled."
    ),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many emails (newest dates first)."),
    wide: bool = typer.Option(False, "--wide", help="Every column and the whole error or reason."),
) -> None:
    """List the outbox: key, date, customer, recipients, status, attempts, last error or cancel reason."""
    from flows.cli import _as_of, _fail

    try:
        from receivables.outbox.review import list_emails

        day = _as_of(as_of) if as_of else None
        emails, by_status = list_emails(_engine(db), as_of=day, status=status, limit=limit)
    except Exception as exc:
        raise _fail(exc) from None
    console = Console()  # the terminal's width now, not when the module was imported
    total = sum(by_status.values())
    if not total:
        where = (f" for {day}" if day else "") + (f" with status {status}" if status else "")
        console.print(f"No email in the outbox{where}.", markup=False, highlight=False)
        return
    _print_emails(console, emails, wide)
    shown = f"{len(emails)} of {total} shown (--limit)" if len(emails) < total else f"{total} email(s)"
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    console.print(f"{shown}: {counts}.", markup=False, highlight=False)
    if by_status.get("held"):
        console.print(
            "Held emails may or may not have reached the mail server: look for their Message-ID in the server's "
            "log, then `receivables outbox release KEY` to send one again or `receivables outbox mark-sent KEY` "
            "if it went out.",
            markup=False,
            highlight=False,
        )


#: (title, cell, narrowest terminal that shows it): an 80-column terminal gets the first six
#: and the errors and reasons beneath the table
LIST_COLUMNS = (
    ("key", lambda e: e.short_key, 0),
    ("as_of", lambda e: str(e.as_of), 0),
    ("customer", lambda e: e.customer_id, 0),
    ("status", lambda e: e.status, 0),
    ("recipients", lambda e: e.recipients, 0),
    ("attempts", lambda e: str(e.attempts), 0),
    ("updated (UTC)", lambda e: f"{e.updated_at:%Y-%m-%d %H:%M}" if e.updated_at else "", 130),
    ("last error / reason", lambda e: e.note, 170),
)
NO_WRAP = {"key", "as_of", "status", "updated (UTC)"}


def _print_emails(console: Console, emails: list, wide: bool) -> None:
    width = console.width
    columns = [c for c in LIST_COLUMNS if wide or c[2] <= width]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for title, _, _ in columns:
        table.add_column(title, overflow="fold", no_wrap=title in NO_WRAP)
    for email in emails:
        table.add_row(*(Text(cell(email)) for _, cell, _ in columns))
    console.print(table)
    if len(columns) == len(LIST_COLUMNS):
        return
    # the errors and reasons beneath, one line each, as `receivables history` shows a run's error
    cut = False
    for email in emails:
        if email.note:
            line = f"{email.short_key} ({email.customer_id}, {email.status}): {email.note}"
            if len(line) > width:
                line, cut = line[: width - 1] + "…", True
            console.print(line, markup=False, highlight=False)
    if cut:
        console.print("(--wide shows every column and the whole error or reason)", markup=False, highlight=False)


@outbox_app.command()
def release(
    key: str | None = typer.Argument(None, help="The held email's key (its first 8 or more characters will do)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Release every held email of this business date."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
) -> None:
    """Send a held email again: the server's log shows it did not go out (held -> pending)."""
    from flows.cli import _as_of, _fail, out

    try:
        from receivables.errors import ConfigError
        from receivables.outbox import release_held_on
        from receivables.outbox.review import release as release_one

        if (key is None) == (as_of is None):
            raise ConfigError("Give either the KEY of one held email or --as-of DATE for every held email of a date.")
        engine = _engine(db)
        if key is not None:
            email = release_one(engine, key)
            message = f"Released the {email.named()}: the next delivery of {email.as_of} sends it again."
        else:
            day = _as_of(as_of)
            count = release_held_on(engine, day)
            message = (
                f"Released {count} held email(s) of {day}: the next delivery of {day} sends them again."
                if count
                else f"No held email for {day}: nothing released."
            )
    except Exception as exc:
        raise _fail(exc) from None
    out.print(message, markup=False, highlight=False, soft_wrap=True)


@outbox_app.command("mark-sent")
def mark_sent(
    key: str = typer.Argument(..., help="The held email's key (its first 8 or more characters will do)."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
) -> None:
    """Record a held email as sent: the server's log shows it went out (held -> sent)."""
    from flows.cli import _fail, out

    try:
        from receivables.outbox.review import mark_sent as mark_one

        email = mark_one(_engine(db), key)
    except Exception as exc:
        raise _fail(exc) from None
    if email.mode == "redirect":
        # a held test copy: the customer's own email is still to be sent (held.mark_held_sent)
        message = (
            f"Recorded the test copy of the {email.named()} as delivered to the test address; "
            "the customer's own email is still pending."
        )
    else:
        message = f"Recorded the {email.named()} as sent: it is never sent again."
    out.print(message, markup=False, highlight=False, soft_wrap=True)


@outbox_app.command()
def cancel(
    key: str = typer.Argument(..., help="The email's key (its first 8 or more characters will do)."),
    reason: str | None = typer.Option(None, "--reason", help="Why, kept with the email (default: by an operator)."),
    db: str | None = typer.Option(None, "--db", help="Warehouse URL."),
) -> None:
    """Make sure an email is never sent: pending, held or failed -> cancelled (a sent one is refused)."""
    from flows.cli import _fail, out

    try:
        from receivables.outbox.review import cancel as cancel_one

        email, changed = cancel_one(_engine(db), key, reason)
    except Exception as exc:
        raise _fail(exc) from None
    if changed:
        message = f"Cancelled the {email.named()}, which was {email.status}: it is never sent."
    else:
        message = f"The {email.named()} was already cancelled ({email.note}): nothing changed."
    out.print(message, markup=False, highlight=False, soft_wrap=True)
