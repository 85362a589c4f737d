"""The run summary printed at the end of ``receivables run`` and ``demo``: what was read,
the open totals after cash application, cash, dunning, reminders, headline KPIs, files."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from receivables.kpi_labels import format_amount, format_kpi, kpi_label
from receivables.run_summary import headline_kpis, statement_line


def print_summary(out: Console, summary: dict) -> None:
    """Print a finished run's summary (the flow's return value) to ``out``."""
    table = Table("extract", "read", "accepted", "quarantined", title=f"Run {summary['as_of']} ({summary['mode']})")
    for name, c in summary["extracts"].items():
        if c["read"]:
            table.add_row(name, str(c["read"]), str(c["accepted"]), str(c["quarantined"]))
    out.print(table)
    totals = Table("company", "currency", "open amount", title="Open receivables after cash application")
    totals.columns[2].justify = "right"
    for t in summary["open_totals"]:
        totals.add_row(t["company_code"], t["currency"], format_amount(t["open_amount"]))
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
    cases = summary.get("cases")
    if cases:
        stages = ", ".join(f"{n} {stage.lower()}" for stage, n in cases["by_stage"].items()) or "none"
        out.print(
            f"Collection cases: {cases['open']} open ({stages}), {cases['sla_breached']} past their SLA, "
            f"{cases['closed']} closed tonight; the worklist lists the due actions."
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
        base = summary.get("base_currency", "")
        left_out = summary.get("missing_fx") or []
        note = f" ({', '.join(left_out)} left out: no rate to {base})" if left_out else ""
        out.print(
            f"KPIs{note}: "
            + "; ".join(
                f"{kpi_label(k['kpi'])} {format_kpi(k['value'], k['unit'], base)}"
                for k in headline_kpis(summary["kpis"])
            ),
            markup=False,
            highlight=False,
        )
    _print_attention(out, summary)
    for name, path in summary.get("files", {}).items():
        out.print(f"{name}: {path}")
    out.print(
        f"run_id {summary['run_id']}; stage seconds: " + ", ".join(f"{k} {v}" for k, v in summary["timings"].items())
    )


def _print_attention(out: Console, summary: dict) -> None:
    """What the night read from bank statements, the companies it held back and why, and the
    data it kept with a warning."""
    if summary.get("statements"):
        out.print(f"Bank statements: {statement_line(summary['statements'])}.", markup=False, highlight=False)
    if summary.get("held_companies"):
        out.print(
            f"Held back: company code(s) {', '.join(summary['held_companies'])}: cash applied and reported, "
            "no dunning and no reminders until configured.",
            markup=False,
            highlight=False,
        )
    for problem in summary.get("configuration_problems") or []:
        out.print(f"Configuration: {problem}", markup=False, highlight=False, soft_wrap=True)
    for warning in summary.get("data_warnings") or []:
        out.print(f"Data warning: {warning}", markup=False, highlight=False)
