"""What a finance-ops person reads first: the run summary, KPI labels and units, the
worklist on a screen, and `receivables history` in an 80- and a 120-column terminal."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from receivables.kpi_labels import format_kpi, format_money, kpi_label
from receivables.run_summary import email_line, outcome_markdown, summary_markdown, worklist_table


def test_kpi_labels_and_units_read_as_words() -> None:
    assert kpi_label("dso_standard") == "DSO (standard)"
    assert kpi_label("disputed_amount.reason.PRICING") == "Disputed amount, reason: pricing"
    assert kpi_label("unapplied_cash.age.31-60") == "Unapplied cash, age: 31-60"
    assert format_kpi(Decimal("3211175.04"), "amount", "EUR") == "3,211,175.04 EUR"
    assert format_kpi(Decimal("59.7827"), "percent", "EUR") == "59.8 %"
    assert format_kpi(Decimal("47.6551"), "days", "EUR") == "47.7 days"
    assert format_kpi(Decimal("1204"), "count", "EUR") == "1,204"
    assert format_kpi(None, "percent", "EUR") == "n/a"
    assert format_money("-647.14", "EUR") == "-647.14 EUR"


def test_a_failed_email_build_counts_as_failed() -> None:
    emails = {"mode": "preview", "previewed": 3, "failed": 1, "not_built": 1, "held": 0}
    assert email_line(emails) == "3 previewed, 0 sent, 1 failed, 0 held (1 could not be built: no usable address)"
    assert email_line(None, reminders=False) == "none (report-only run)"


SUMMARY = {
    "run_id": "r-1",
    "flow_run_name": "ar-2026-11-20-send",
    "as_of": "2026-11-20",
    "mode": "send",
    "outcome": "succeeded",
    "base_currency": "EUR",
    "quarantined_rows": 1234,
    "quarantine_reasons": [
        {"reason": "amount is not a number", "count": 1200},
        {"reason": "unknown currency", "count": 34},
    ],
    "emails": {"mode": "send", "sent": 1523, "previewed": 0, "failed": 2, "not_built": 1, "held": 1},
    "dunning": {"notices": 1600, "advanced": 2100, "state_written": True, "why_not": None},
    "files": {"workbook": "/srv/ar/reports/2026-11-20/receivables-2026-11-20.xlsx"},
    "file_links": {},
    "kpis": [
        {"kpi": "ar_total", "value": "3211175.04", "unit": "amount"},
        {"kpi": "dso_standard", "value": "47.6551", "unit": "days"},
        {"kpi": "cei", "value": None, "unit": "percent"},
    ],
    "open_totals": [{"company_code": "1000", "currency": "EUR", "open_amount": "3211175.04"}],
    "extracts": {"payments": {"read": 10, "accepted": 9, "quarantined": 1}},
}


def test_summary_starts_with_what_a_person_looks_for() -> None:
    lines = summary_markdown(SUMMARY).splitlines()
    assert lines[0] == "# Receivables run 2026-11-20: Succeeded"
    assert lines[4:10] == [
        "| Business date (as_of) | 2026-11-20 |",
        "| Mail mode | send |",
        "| Outcome | Succeeded |",
        "| Flow run | ar-2026-11-20-send |",
        "| Emails | 0 previewed, 1,523 sent, 2 failed, 1 held (1 could not be built: no usable address) |".replace(
            "1,523", "1523"
        ),
        "| Quarantined rows | 1,234: 1200 × amount is not a number; 34 × unknown currency "
        "(warehouse table `quarantine`, run_id `r-1`; the `quarantine` artifact) |",
    ]
    text = "\n".join(lines)
    # an absolute path as text, no file:// link that the browser would refuse
    assert "| Workbook | `/srv/ar/reports/2026-11-20/receivables-2026-11-20.xlsx` |" in text and "file://" not in text
    assert "| Open receivables | 3,211,175.04 EUR |" in text and "| DSO (standard) | 47.7 days |" in text
    assert "| Collection effectiveness (CEI) | n/a |" in text
    assert "| 1000 | 3,211,175.04 EUR |" in text
    assert "{" not in text and "dso_standard" not in text


def test_a_stopped_run_says_why_and_who_was_told() -> None:
    text = outcome_markdown(
        as_of="2026-11-20",
        mode="send",
        outcome="rejected",
        reason="customers.csv is empty. Nothing was written.",
        run_id="r-2",
        notified="No failure notification channel is configured: nobody was notified.",
    )
    lines = text.splitlines()
    assert lines[0] == "# Receivables run 2026-11-20: Rejected (input refused, nothing written)"
    assert "| Outcome | Rejected (input refused, nothing written) |" in lines
    assert "customers.csv is empty. Nothing was written." in lines and lines[-1].startswith("No failure notification")


def test_worklist_table_fits_a_screen() -> None:
    rows = worklist_table(
        [
            {
                "rank": 1,
                "company_code": "1000",
                "customer_id": "C1",
                "collector": "Anna",
                "overdue_amount": "190183.04",
                "next_action": "resolve_dispute",
                "reason": "x" * 351,
            }
        ],
        "EUR",
    )
    (row,) = rows
    assert list(row)[0] == "next action" and row["next action"] == "Resolve the dispute"
    assert row["overdue (EUR)"] == "190,183.04" and len(row["reason"]) == 80


@pytest.fixture
def history_db(tmp_path: Path) -> str:
    from datetime import date

    from receivables.pipeline import warehouse_engine
    from receivables.warehouse.run_log import finish_run, start_run

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = warehouse_engine(url)
    long_error = (
        "open_items.csv, row 17, column due_date: the value '31.02.2026' is not a date. " * 6 + "Nothing was written."
    )
    start_run(
        engine,
        run_id="a" * 36,
        as_of=date(2026, 11, 19),
        mode="send",
        source="/x",
        mapping="canonical",
        flow_run_id="f" * 36,
        flow_run_name="ar-2026-11-19-send",
    )
    finish_run(
        engine,
        "a" * 36,
        status="succeeded",
        counts={
            "extracts": {"open_items": {"read": 10, "accepted": 10, "quarantined": 0}},
            "quarantined_rows": 0,
            "cash_application": {"payments": 4, "payments_fully_applied": 3},
            "dunning": {"notices": 2},
            "emails": {"sent": 2, "failed": 1, "held": 0},
        },
    )
    start_run(
        engine,
        run_id="b" * 36,
        as_of=date(2026, 11, 20),
        mode="send",
        source="/x",
        mapping="canonical",
        flow_run_id="e" * 36,
        flow_run_name="ar-2026-11-20-send",
    )
    finish_run(engine, "b" * 36, status="rejected", error=long_error)
    return url


@pytest.mark.parametrize("columns", [80, 120])
def test_history_fits_the_terminal(history_db: str, cli, monkeypatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("history", "--db", history_db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    assert any("ar-2026-11-20-send" in line and "rejected" in line for line in lines)
    assert any("ar-2026-11-19-send" in line and "2 sent 1 failed" in line for line in lines)
    header = next(line for line in lines if "started" in line and "status" in line)
    assert ("mode" in header) == (columns >= 100)
    assert "Nothing was written." not in result.output and "--wide" in result.output


def test_history_wide_and_json(history_db: str, cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    wide = cli("history", "--db", history_db, "--wide")
    assert wide.exit_code == 0 and "Nothing was written." in " ".join(wide.output.split())
    data = json.loads(cli("history", "--db", history_db, "--json").output)
    first, second = data["runs"]
    assert (first["flow_run_name"], first["status"]) == ("ar-2026-11-20-send", "rejected")
    assert first["error"].endswith("Nothing was written.")
    assert second["emails"] == {"sent": 2, "previewed": 0, "redirected": 0, "failed": 1, "held": 0}
    assert (second["rows_read"], second["payments_fully_applied"], second["notices"]) == (10, 3, 2)


def test_an_email_that_cannot_be_built_counts_as_failed_everywhere(workdir: Path, valid_set: Path, cli) -> None:
    """C001 has no address: its notice cannot become an email.  The run summary, the run
    log and `receivables history` all count it as failed (not silently as nothing)."""
    from datetime import date

    from receivables.pipeline import run_nightly
    from receivables.settings import load_settings
    from tests.conftest import VALID_SET, write_set

    customers = VALID_SET["customers.csv"].replace("buchhaltung@mueller-soehne.de", "")
    write_set(valid_set, dict(VALID_SET, **{"customers.csv": customers}))
    summary = run_nightly(str(valid_set), date(2026, 10, 31), load_settings())
    assert summary["emails"]["failed"] == 1 and summary["emails"]["not_built"] == 1
    assert (
        email_line(summary["emails"])
        == "0 previewed, 0 sent, 1 failed, 0 held (1 could not be built: no usable address)"
    )
    (run,) = json.loads(cli("history", "--json").output)["runs"]
    assert run["emails"]["failed"] == 1 and run["status"] == "succeeded"
