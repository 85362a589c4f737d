"""The run summary: the key numbers of a run gathered from the stages' results
(``summarise``, for the CLI, the run log and the flow's artifacts), and the same summary as a
finance-ops person reads it at a glance (the Prefect artifact, the failure notice): what
night, which mode, did it work, what went out, what was held back, where the files are.  KPIs
and the worklist follow with labels and units instead of codes.

The text is made from the summary dict alone (or, for a run that never got that far, from the
reason it stopped), so it is tested without Prefect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from receivables.kpi_labels import HEADLINE, format_amount, format_kpi, format_money, kpi_label
from receivables.money import to_decimal
from receivables.report_stage import report_links
from receivables.worklist import ACTION_LABELS

if TYPE_CHECKING:  # the pipeline imports this module; its types only annotate here
    from receivables.cash_application import CashApplication
    from receivables.outbox import DeliveryReport
    from receivables.pipeline import DunningStep, Run
    from receivables.preflight import Preflight
    from receivables.report_stage import Reports
    from receivables.validation import ValidatedSet

#: worklist reasons are cut to this many characters in tables meant for a screen
REASON_WIDTH = 80
OUTCOMES = {"succeeded": "Succeeded", "rejected": "Rejected (input refused, nothing written)", "failed": "Failed"}


def summarise(
    run: Run,
    validated: ValidatedSet,
    cash: CashApplication | None = None,
    reports: Reports | None = None,
    files: dict | None = None,
    step: DunningStep | None = None,
    queued: dict | None = None,
    delivered: DeliveryReport | None = None,
    checked: Preflight | None = None,
) -> dict:
    """The key numbers of a run for the CLI, the run log and the flow's artifacts, from the
    stages' results (``queued``: what the publish put in the outbox; ``delivered``: the
    delivery report)."""
    reasons = validated.quarantine["reason"].value_counts().head(5) if not validated.quarantine.empty else {}
    summary = {
        "run_id": run.run_id,
        "flow_run_name": run.flow_run_name,
        "as_of": run.as_of.isoformat(),
        "mode": run.settings.effective_mail_mode,
        "outcome": "succeeded",
        "reminders": run.reminders,
        "base_currency": run.settings.base_currency,
        "extracts": validated.counts,
        "quarantined_rows": validated.quarantined_rows,
        "quarantine_reasons": [{"reason": str(r), "count": int(n)} for r, n in dict(reasons).items()],
        "open_totals": _open_totals(validated, cash),
        "cash_application": cash.counts if cash is not None else None,
        "dunning": step.counts if step is not None else None,
        "emails": email_counts(delivered) if delivered is not None else None,
        "outbox": queued,
        "files": files or {},
        "file_links": report_links(run, files or {}),
        "timings": dict(run.timings),
        "peak_rss_mb": dict(run.peak_rss_mb),
        "statements": run.counts.get("statements"),
        "held_companies": checked.held_companies if checked is not None else [],
        "configuration_problems": [p.paragraph() for p in checked.problems] if checked is not None else [],
        "data_warnings": [f"{n:,} row(s): {reason}" for reason, n in validated.warning_counts().items()],
    }
    if cash is not None:
        summary["cash_applied"] = _cash_applied(cash)
    if reports is not None:
        summary |= _report_facts(reports)
    return summary


def _open_totals(validated: ValidatedSet, cash: CashApplication | None) -> list[dict]:
    """The open amount per company code and currency, after the cash applied (if any)."""
    items = cash.open_items_after if cash is not None else validated.frames["open_items"]
    items = items[items["open_amount"] != 0]
    totals = (
        items.groupby(["company_code", "currency"], sort=True)["open_amount"].sum().reset_index()
        if not items.empty
        else pd.DataFrame(columns=["company_code", "currency", "open_amount"])
    )
    return [
        {"company_code": r.company_code, "currency": r.currency, "open_amount": str(to_decimal(r.open_amount))}
        for r in totals.itertuples()
    ]


def _cash_applied(cash: CashApplication) -> list[dict]:
    applied = cash.applications[cash.applications["status"] == "applied"]
    return [
        {"currency": c, "amount": str(to_decimal(v))}
        for c, v in applied.groupby("currency")["applied_amount"].sum().items()
    ]


def _report_facts(reports: Reports) -> dict:
    """The headline KPIs of all company codes (a KPI with a group, such as per reason, left
    out) and the top of the worklist."""
    every = reports.kpis[reports.kpis["company_code"] == "ALL"]
    return {
        "kpis": [
            {"kpi": str(r.kpi), "value": None if pd.isna(r.value) else str(r.value), "unit": str(r.unit)}
            for r in every.itertuples()
            if "." not in str(r.kpi)
        ],
        # amounts in these currencies have no rate to the base currency: the KPIs leave them out
        "missing_fx": list(reports.missing_fx),
        "worklist": reports.worklist.head(10)[["rank", "company_code", "customer_id", "next_action", "reason"]].to_dict(
            "records"
        ),
        "cases": reports.counts["cases"],
    }


def email_counts(report: DeliveryReport) -> dict:
    """The run log's facts of a delivery."""
    return {
        "mode": report.mode,
        "sent": report.sent,
        "previewed": report.previewed,
        "redirected": report.redirected,
        "failed": report.failed_total,
        "not_built": report.not_built,
        "held": report.held,
        "held_outstanding": report.held_outstanding,
        "not_attempted": report.not_attempted,
        "summary": report.summary(),
    }


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
        text += f"; {emails['held_outstanding']} held awaiting review (`receivables outbox list --status held`)"
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


def statement_line(counts: dict) -> str:
    """What the ``statements/`` folder held, in one line."""
    return (
        f"{counts['files']} file(s), {counts['statements']} statement(s), {counts['credits']} credit(s) read; "
        f"skipped {counts['debits_skipped']} debit(s), {counts['reversals_skipped']} reversal(s), "
        f"{counts['pending_skipped']} pending; {counts['duplicates_dropped']} duplicate(s) dropped; "
        f"{counts['quarantined'] + counts['refused']} entr(ies) quarantined"
    )


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
    cases = summary.get("cases")
    if cases:
        stages = ", ".join(f"{n:,} {stage.lower()}" for stage, n in cases["by_stage"].items()) or "none"
        lines.append(
            f"| Collection cases | {cases['open']:,} open ({stages}); {cases['sla_breached']:,} past their SLA; "
            f"{cases['closed']:,} closed tonight |"
        )
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
        left_out = summary.get("missing_fx") or []
        note = f"; {', '.join(left_out)} left out: no rate to {base}" if left_out else ""
        lines += ["", f"## KPIs (all company codes, {base}{note})", "", "| KPI | value |", "| --- | ---: |"]
        lines += [f"| {kpi_label(k['kpi'])} | {format_kpi(k['value'], k['unit'], base)} |" for k in headline_kpis(kpis)]
    totals = summary.get("open_totals") or []
    if totals:
        lines += ["", "## Open receivables after cash application", "", "| company | open amount |", "| --- | ---: |"]
        lines += [f"| {t['company_code']} | {format_money(t['open_amount'], t['currency'])} |" for t in totals]
    problems = summary.get("configuration_problems") or []
    if problems:
        lines += ["", "## Configuration problems", ""]
        lines += [f"- {p}".replace("\n", "\n  ") for p in problems]
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
    if summary.get("held_companies"):
        lines.append(
            f"| Held back | {', '.join(summary['held_companies'])}: no creditor details yet; cash applied "
            "and reported, no dunning, no reminders |"
        )
    statements = summary.get("statements")
    if statements:
        lines.append(f"| Bank statements | {statement_line(statements)} |")
    for warning in summary.get("data_warnings") or []:
        lines.append(f"| Data warning | {warning} |")
    return lines
