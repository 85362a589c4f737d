"""The run summary as a finance-ops person reads it at a glance (the Prefect artifact, the
failure notice): what night, which mode, did it work, what went out, what was held back,
where the files are.  KPIs and the worklist follow with labels and units instead of codes.

Pure text from the summary dict of ``pipeline.summarise`` (or, for a run that never got that
far, from the reason it stopped), so it is tested without Prefect.
"""

from __future__ import annotations

from receivables.kpi_labels import HEADLINE, format_amount, format_kpi, format_money, kpi_label
from receivables.worklist import ACTION_LABELS

#: worklist reasons are cut to this many characters in tables meant for a screen
REASON_WIDTH = 80
OUTCOMES = {"succeeded": "Succeeded", "rejected": "Rejected (input refused, nothing written)", "failed": "Failed"}


def email_line(emails: dict | None, reminders: bool = True) -> str:
    """``3 previewed, 0 sent, 1 failed, 0 held``; a failure to build an email counts as failed."""
    if not emails:
        return "none (report-only run)" if not reminders else "none"
    redirected = emails.get("mode") == "redirect" or emails.get("redirected")
    shown = (
        ("previewed", "sent", "redirected", "failed", "held") if redirected else ("previewed", "sent", "failed", "held")
    )
    text = ", ".join(f"{emails.get(k, 0) or 0} {k}" for k in shown)
    if emails.get("not_built"):
        text += f" ({emails['not_built']} could not be built: no usable address)"
    if emails.get("held_outstanding"):
        text += f"; {emails['held_outstanding']} held awaiting review (`receivables history`, outbox)"
    return text


def quarantine_line(count: int, reasons: list[dict] | None, run_id: str | None) -> str:
    if not count:
        return "0"
    top = "; ".join(f"{r['count']} × {r['reason']}" for r in (reasons or [])[:3])
    where = f" (warehouse table `quarantine`, run_id `{run_id}`; the `quarantine` artifact)" if run_id else ""
    return f"{count:,}" + (f": {top}" if top else "") + where


def file_lines(files: dict | None, links: dict | None) -> list[str]:
    """One line per report file: its absolute path as text, a link where a base URL is set."""
    labels = {"workbook": "Workbook", "aging_chart": "Aging chart", "trend_chart": "Trend chart"}
    out = []
    for key, path in (files or {}).items():
        line = f"| {labels.get(key, key)} | `{path}`"
        if links and links.get(key):
            line += f" ([open]({links[key]}))"
        out.append(line + " |")
    return out


def summary_markdown(summary: dict) -> str:
    """The artifact of a run that got as far as its reports."""
    base = summary.get("base_currency", "")
    lines = [
        f"# Receivables run {summary['as_of']}: "
        f"{OUTCOMES.get(summary.get('outcome', 'succeeded'), summary.get('outcome'))}",
        "",
    ]
    lines += _facts(summary)
    dunning = summary.get("dunning")
    if dunning:
        written = "" if dunning["state_written"] else f" (state not written: {dunning['why_not']})"
        lines.append(f"| Dunning | {dunning['notices']:,} notices, {dunning['advanced']:,} items advanced{written} |")
    cash = summary.get("cash_application")
    if cash:
        applied = (
            ", ".join(format_money(c["amount"], c["currency"]) for c in summary.get("cash_applied", [])) or "nothing"
        )
        unapplied = ", ".join(f"{k} {v}" for k, v in (cash.get("unapplied") or {}).items()) or "none"
        lines.append(
            f"| Cash application | {cash['payments_fully_applied']:,} of {cash['payments']:,} payments "
            f"fully applied ({applied}); "
            f"{cash['suggestions']:,} suggestions for review; unapplied: {unapplied} |"
        )
    lines += file_lines(summary.get("files"), summary.get("file_links"))
    images = [(k, v) for k, v in (summary.get("file_links") or {}).items() if k.endswith("_chart")]
    for key, link in images:
        lines += ["", f"![{key.replace('_', ' ')}]({link})"]
    kpis = summary.get("kpis") or []
    if kpis:
        lines += ["", f"## KPIs (all company codes, {base})", "", "| KPI | value |", "| --- | ---: |"]
        lines += [f"| {kpi_label(k['kpi'])} | {format_kpi(k['value'], k['unit'], base)} |" for k in headline_kpis(kpis)]
    totals = summary.get("open_totals") or []
    if totals:
        lines += ["", "## Open receivables after cash application", "", "| company | open amount |", "| --- | ---: |"]
        lines += [f"| {t['company_code']} | {format_money(t['open_amount'], t['currency'])} |" for t in totals]
    extracts = summary.get("extracts") or {}
    if extracts:
        lines += ["", "## Extracts", "", "| extract | read | accepted | quarantined |", "| --- | ---: | ---: | ---: |"]
        lines += [
            f"| {n} | {c['read']:,} | {c['accepted']:,} | {c['quarantined']:,} |"
            for n, c in extracts.items()
            if c["read"]
        ]
    return "\n".join(lines) + "\n"


def outcome_markdown(
    *,
    as_of: str,
    mode: str,
    outcome: str,
    reason: str,
    run_id: str | None = None,
    counts: dict | None = None,
    notified: str | None = None,
) -> str:
    """The artifact of a run that stopped before its reports: the paragraph that says why."""
    summary = {"as_of": as_of, "mode": mode, "outcome": outcome, "run_id": run_id, **(counts or {})}
    lines = [f"# Receivables run {as_of}: {OUTCOMES.get(outcome, outcome)}", ""]
    lines += _facts(summary, reason=reason)
    lines += ["", "## Why", "", reason.strip(), ""]
    if notified:
        lines.append(notified)
    return "\n".join(lines) + "\n"


def headline_kpis(kpis: list[dict]) -> list[dict]:
    """The headline KPIs in reading order (codes with a group, such as per reason, left out)."""
    by_code = {k["kpi"]: k for k in kpis}
    return [by_code[c] for c in HEADLINE if c in by_code]


def worklist_table(worklist: list[dict], currency: str, limit: int = 200) -> list[dict]:
    """The worklist for a screen: the action first, then who and how much; the reason cut."""
    rows = []
    for r in worklist[:limit]:
        reason = str(r.get("reason") or "")
        if len(reason) > REASON_WIDTH:
            reason = reason[: REASON_WIDTH - 1].rstrip() + "…"
        rows.append(
            {
                "next action": ACTION_LABELS.get(str(r.get("next_action")), str(r.get("next_action"))),
                "rank": r.get("rank"),
                "customer": f"{r.get('company_code')}/{r.get('customer_id')}",
                "collector": r.get("collector") or "",
                f"overdue ({currency})": format_amount(r.get("overdue_amount")),
                "reason": reason,
            }
        )
    return rows


def _facts(summary: dict, reason: str | None = None) -> list[str]:
    outcome = summary.get("outcome", "succeeded")
    lines = [
        "| run | |",
        "| --- | --- |",
        f"| Business date (as_of) | {summary['as_of']} |",
        f"| Mail mode | {summary.get('mode') or 'n/a'} |",
        f"| Outcome | {OUTCOMES.get(outcome, outcome)} |",
    ]
    if summary.get("flow_run_name"):
        lines.append(f"| Flow run | {summary['flow_run_name']} |")
    if reason is None:
        lines.append(f"| Emails | {email_line(summary.get('emails'), summary.get('reminders', True))} |")
    quarantined = quarantine_line(
        int(summary.get("quarantined_rows") or 0), summary.get("quarantine_reasons"), summary.get("run_id")
    )
    lines.append(f"| Quarantined rows | {quarantined} |")
    return lines
