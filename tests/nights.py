"""One night of the pipeline after its gate, for the scenario tests: the extract set is read
and validated once per version, and every later stage runs as ``nightly_stages`` runs it."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from receivables import pipeline
from receivables.rules import Rules, load_rules


@lru_cache(maxsize=4)
def _rules(config_dir: str | None, mapping: str) -> Rules:
    # a night loads its rules once, as a run does; the scenarios' many nights share them
    return load_rules(config_dir, mapping)


def night_after_the_gate(source: str, day: date, settings, extracts, validated, **flags) -> dict:
    """Cash, dunning, reports, reminders, publish, delivery and the run log for ``day``."""
    flags.setdefault("rules", _rules(settings.config_dir and str(settings.config_dir), settings.mapping))
    run = pipeline.Run(source=source, as_of=day, settings=settings, **flags)
    pipeline.begin(run)
    cash = pipeline.apply_cash(run, validated)
    step = pipeline.propose_dunning(run, validated, cash)
    reports = pipeline.build_reports(run, validated, cash, step)
    emails = pipeline.render_reminders(run, validated, cash, step)
    queued = pipeline.publish(run, validated, cash, step, emails, reports)
    delivered = pipeline.deliver_reminders(run, step, queued)
    summary = pipeline.summarise(run, validated, cash, reports, step=step, queued=queued, delivered=delivered)
    pipeline.finish(run, summary)
    return summary


def scenario_settings(folder, server):
    """The settings of a scenario: a SQLite warehouse and folders under ``folder``, and mail
    really sent to the loopback ``server``."""
    from receivables.settings import load_settings

    return load_settings(
        db_url=f"sqlite:///{folder / 'warehouse.db'}",
        archive_dir=folder / "archive",
        outbox_dir=folder / "outbox",
        reports_dir=folder / "reports",
        mail_mode="send",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_starttls=False,
        mail_from="ar@nordwerk.example",
    )


def nights_on_a_fixed_set(folder, files: dict[str, str], start: date, nights: int, server) -> dict:
    """``nights`` nights from ``start`` on one warehouse, as if the ERP sent the same ``files``
    every night (read and validated once), mail sent to ``server``: what each night sent, and
    what the scenario's tests read back."""
    from datetime import timedelta

    from tests.conftest import write_set

    source = str(write_set(folder / "extracts", files))
    settings = scenario_settings(folder, server)
    first = pipeline.Run(source=source, as_of=start, settings=settings)
    extracts = pipeline.ingest(first)
    validated = pipeline.validate(first, extracts)
    assert validated.quarantine.empty, validated.quarantine
    sent, summaries = {}, {}
    for n in range(nights):
        day = start + timedelta(days=n)
        before = len(server.received)
        summaries[day] = night_after_the_gate(source, day, settings, extracts, validated)
        sent[day] = server.received[before:]
    return {
        "source": source,
        "settings": settings,
        "extracts": extracts,
        "validated": validated,
        "server": server,
        "sent": sent,
        "summaries": summaries,
        "engine": pipeline.warehouse_engine(settings.db_url),
    }
