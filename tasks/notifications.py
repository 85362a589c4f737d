"""Telling finance ops that a run failed: the flow's on-failure hook.

A nightly run that fails at 02:00 must not wait for someone to open the Prefect UI: the
reminders of the day are not sent and the reports are stale until someone reruns it.  The
hook always writes one clear error line to the flow run's log, and in addition

- emails ``RECEIVABLES_OPS_EMAIL`` (one or more addresses, ``;``-separated) through the
  project's SMTP settings, whatever the mail mode (preview mode holds back *customer* emails;
  this one goes to the team), and
- calls the Prefect notification block named by ``RECEIVABLES_OPS_NOTIFY_BLOCK``
  (``"<block-type-slug>/<name>"``, e.g. ``slack-webhook/finance-ops``).

Without either, a warning in the run's log says that nobody was notified.  The run log row
of the run already holds the status and the reason (``pipeline.fail``).  A
notification that cannot be delivered is logged and never turns the failure into another
error.  Neither the SMTP password nor a database password ever appears in what is sent.
"""

from __future__ import annotations

import os
import socket
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from prefect.logging.loggers import flow_run_logger

from tasks.secrets import with_smtp_password

OPS_EMAIL = "RECEIVABLES_OPS_EMAIL"
OPS_NOTIFY_BLOCK = "RECEIVABLES_OPS_NOTIFY_BLOCK"


def notify_finance_ops(flow, flow_run, state) -> None:
    """On-failure hook of the nightly flow (Prefect calls it with the final Failed state)."""
    logger = flow_run_logger(flow_run, flow)
    subject, body, secrets = failure_notice(flow_run, state)
    logger.error("%s: %s", subject, _scrub(state.message or "", secrets))
    _send_notice(logger, subject, body, secrets, flow_run.parameters.get("config"))


def notify_held_companies(summary: dict, config: str | None = None) -> None:
    """A run that held company codes back succeeded for the others, but those customers got
    no reminder tonight: finance ops hear of it the same way as of a failure."""
    from prefect.logging import get_run_logger

    held = summary.get("held_companies") or []
    if not held:
        return
    logger = get_run_logger()
    secrets = _secrets(config)
    subject = f"[receivables] run for {summary['as_of']}: company code(s) {', '.join(held)} held back"
    problems = [p for p in summary.get("configuration_problems") or [] if any(code in p for code in held)]
    lines = [
        f"The receivables run for {summary['as_of']} succeeded, but the configuration cannot yet print a "
        f"letter for company code(s) {', '.join(held)}: their cash was applied and reported, their dunning "
        "did not advance and none of their reminders went out.",
        "",
        *problems,
        "",
        f"Flow run: {summary.get('flow_run_name') or summary.get('run_id')}",
        "Fix the configuration (`receivables validate` lists every problem with its fix) and rerun the date.",
    ]
    logger.warning("%s.", subject)
    _send_notice(logger, subject, _scrub("\n".join(lines), secrets) + "\n", secrets, config)


def _send_notice(logger, subject: str, body: str, secrets: list[str], config: str | None) -> None:
    """Email the notice to ``RECEIVABLES_OPS_EMAIL`` and/or call the Prefect block; a notice
    that cannot go out is logged and never raises."""
    recipients = _ops_recipients()
    block = os.environ.get(OPS_NOTIFY_BLOCK)
    if not recipients and not block:
        logger.warning(
            "No failure notification channel is configured, so nobody was notified: set %s "
            "(addresses) or %s (a Prefect notification block) in the worker's environment.",
            OPS_EMAIL,
            OPS_NOTIFY_BLOCK,
        )
        return
    if recipients:
        try:
            send_ops_email(recipients, subject, body, config)
            logger.info("Notice emailed to %s.", ", ".join(recipients))
        except Exception as exc:  # a notice that cannot go out must not mask the failure itself
            logger.error(
                "The notice could not be emailed to %s: %s",
                ", ".join(recipients),
                _scrub(f"{type(exc).__name__}: {exc}", secrets),
            )
    if block:
        try:
            from prefect.blocks.core import Block

            Block.load(block, _sync=True).notify(body, subject=subject, _sync=True)
            logger.info("Notice sent through the Prefect block %s.", block)
        except Exception as exc:
            logger.error("The notice could not be sent through the Prefect block %s: %s", block, type(exc).__name__)


def failure_notice(flow_run, state) -> tuple[str, str, list[str]]:
    """Subject and plain-text body for finance ops, and the secrets to scrub from them."""
    secrets = _secrets(flow_run.parameters.get("config"))
    params = flow_run.parameters or {}
    as_of = params.get("as_of") or "today"
    reason = _scrub(state.message or f"the run ended {state.type.value}", secrets)
    ui = os.environ.get("PREFECT_UI_URL")
    lines = [
        f"The receivables run for {as_of} failed.",
        "",
        f"Reason: {reason}",
        "",
        f"Flow run: {flow_run.name} ({flow_run.id})",
        f"Deployment: {flow_run.deployment_id or 'none (started by hand)'}",
        f"Extracts: {params.get('extracts')}",
        f"Mail mode: {params.get('mode') or 'from settings'}; reminders: {params.get('reminders', True)}",
    ]
    if ui:
        lines.append(f"Open in Prefect: {ui.rstrip('/')}/runs/flow-run/{flow_run.id}")
    lines += [
        "",
        "Nothing of this run was published unless its run log says so; no reminder of this run "
        "was sent before its outbox rows were committed. Check `receivables history`, fix the "
        f"cause and rerun, e.g. `prefect deployment run receivables-nightly/rerun --param as_of={as_of} "
        f"--param extracts=...`.",
    ]
    return f"[receivables] run for {as_of} failed", _scrub("\n".join(lines), secrets) + "\n", secrets


def send_ops_email(recipients: list[str], subject: str, body: str, config: str | None = None) -> None:
    """Send the notice through the configured SMTP server (yagmail, as the reminders)."""
    from receivables.errors import ConfigError
    from receivables.outbox import smtp_password, yagmail_connection
    from receivables.settings import load_settings

    try:
        settings = load_settings(config)
    except ConfigError:
        # the failure may be that very settings file: the environment alone still knows SMTP
        settings = load_settings(None)
    if not settings.smtp_host:
        raise ConfigError(
            f"{OPS_EMAIL} is set but RECEIVABLES_SMTP_HOST is not, so there is no server to send through."
        )
    sender = settings.mail_from or f"receivables@{socket.getfqdn()}"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    # quoted-printable: a reason paragraph is one long line, and SMTP servers refuse lines over 998
    msg.set_content(body, cte="quoted-printable")
    connection = yagmail_connection(settings, smtp_password(with_smtp_password(settings)))
    try:
        # CRLF line ends: smtplib passes bytes through unchanged, and SMTP lines end in CRLF
        connection.sendmail(sender, recipients, msg.as_bytes(policy=policy.SMTP))
    finally:
        connection.close()


def _secrets(config: str | None) -> list[str]:
    """Values that must never leave in a notice: the SMTP password, the warehouse password."""
    import sqlalchemy as sa

    from receivables.settings import load_settings

    found = []
    try:
        settings = load_settings(config)
    except Exception:
        try:
            settings = load_settings(None)
        except Exception:
            return [v for v in (os.environ.get("RECEIVABLES_SMTP_PASSWORD"),) if v]
    if settings.smtp_password is not None:
        found.append(settings.smtp_password.get_secret_value())
    try:
        password = sa.engine.make_url(settings.db_url).password
        if password:
            found.append(str(password))
    except Exception:
        pass
    return [s for s in found if s]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _ops_recipients() -> list[str]:
    """The addresses in ``RECEIVABLES_OPS_EMAIL`` (``;``-separated)."""
    return [a.strip() for a in os.environ.get(OPS_EMAIL, "").split(";") if a.strip()]


def notification_note() -> str:
    """What a failed run's summary says about who hears of it."""
    recipients = _ops_recipients()
    block = os.environ.get(OPS_NOTIFY_BLOCK)
    channels = ([f"email to {', '.join(recipients)}"] if recipients else []) + (
        [f"Prefect block {block}"] if block else []
    )
    if not channels:
        return f"No failure notification channel is configured ({OPS_EMAIL}, {OPS_NOTIFY_BLOCK}): nobody was notified."
    return "Finance ops are notified: " + "; ".join(channels) + "."
