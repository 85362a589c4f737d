"""One night of the pipeline after its gate, for the scenario tests: the extract set is read
and validated once per version, and every later stage runs as ``nightly_stages`` runs it."""

from __future__ import annotations

from datetime import date

from receivables import pipeline


def night_after_the_gate(source: str, day: date, settings, extracts, validated, **flags) -> dict:
    """Cash, dunning, reports, reminders, publish, delivery and the run log for ``day``."""
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
