"""The nightly flow on a real Prefect server, and the CLI as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import VALID_AS_OF, VALID_SET, read_flow_run, warehouse_rows, write_set

pytestmark = pytest.mark.prefect


def test_nightly_flow_run_is_recorded_with_artifacts(
    workdir: Path, valid_set: Path, prefect_server, monkeypatch
) -> None:
    from flows.nightly import nightly

    monkeypatch.setenv("RECEIVABLES_REPORTS_BASE_URL", "https://files.example.com/ar-reports/")

    bad = dict(VALID_SET, **{"payments.csv": VALID_SET["payments.csv"].replace("500.00,USD", "-500.00,USD")})
    write_set(valid_set, bad)
    state = nightly(extracts=str(valid_set), as_of=date(2026, 10, 31), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["quarantined_rows"] == 1
    # after cash application: P0000001 pays 9000012345 by reference, P0000002 (no customer
    # id) is identified by its IBAN and pays F-2026-000123, so company 2000 has nothing open
    assert {"company_code": "1000", "currency": "EUR", "open_amount": "1261.50"} in summary["open_totals"]
    assert "2000" not in {t["company_code"] for t in summary["open_totals"]}
    assert summary["cash_applied"] == [{"currency": "EUR", "amount": "2035.20"}]

    ((run_id, flow_run_id, status, counts, hashes),) = warehouse_rows(
        workdir, "SELECT run_id, flow_run_id, status, counts, input_hashes FROM run_log"
    )
    flow_run, artifacts, _ = read_flow_run(flow_run_id)
    assert flow_run.state.is_completed() and status == "succeeded"
    assert json.loads(counts)["extracts"]["payments"] == {"read": 3, "accepted": 2, "quarantined": 1}
    # named and tagged by business date and mode, so the UI's filters find the night
    assert flow_run.name == f"ar-{VALID_AS_OF}-preview"
    assert {f"as_of:{VALID_AS_OF}", "mode:preview", "source:manual"} <= set(flow_run.tags)
    assert warehouse_rows(workdir, "SELECT flow_run_name FROM run_log") == [(f"ar-{VALID_AS_OF}-preview",)]
    keys = {a.key for a in artifacts}
    assert {"run-summary", "quarantine", "collector-worklist", "kpis", "workbook", "aging-chart", "trend-chart"} <= keys
    links = {a.key: a.data for a in artifacts}
    assert f"(https://files.example.com/ar-reports/{VALID_AS_OF}/receivables-{VALID_AS_OF}.xlsx)" in links["workbook"]
    markdown = next(a.data for a in artifacts if a.key == "run-summary")
    book = workdir / "reports" / VALID_AS_OF / f"receivables-{VALID_AS_OF}.xlsx"
    assert markdown.splitlines()[:9] == [
        f"# Receivables run {VALID_AS_OF}: Succeeded",
        "",
        "| run | |",
        "| --- | --- |",
        f"| Business date (as_of) | {VALID_AS_OF} |",
        "| Mail mode | preview |",
        "| Outcome | Succeeded |",
        f"| Flow run | ar-{VALID_AS_OF}-preview |",
        "| Emails | 1 previewed, 0 sent, 0 failed, 0 held |",
    ]
    assert "| Quarantined rows | 1: 1 × " in markdown and "run_id `" in markdown
    assert (
        f"| Workbook | `{book}` "
        f"([open](https://files.example.com/ar-reports/{VALID_AS_OF}/receivables-{VALID_AS_OF}.xlsx)) |" in markdown
    )
    assert f"![aging chart](https://files.example.com/ar-reports/{VALID_AS_OF}/aging-by-bucket.png)" in markdown
    assert "| payments | 3 | 2 | 1 |" in markdown and "| 1000 | 1,261.50 EUR |" in markdown
    assert "| DSO (standard) | " in markdown and " days |" in markdown and "{" not in markdown
    assert (workdir / "reports" / VALID_AS_OF / f"receivables-{VALID_AS_OF}.xlsx").exists()

    # the archive holds the exact input bytes under their sha256
    manifest = json.loads((workdir / "archive" / VALID_AS_OF / run_id / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (valid_set / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == json.loads(hashes)[entry["file"]]
        assert (workdir / "archive" / VALID_AS_OF / run_id / entry["file"]).read_bytes() == data

    # a rerun for the same as_of replaces that date's quarantine rows instead of adding to them
    assert nightly(extracts=str(valid_set), as_of=date(2026, 10, 31), return_state=True).is_completed()
    assert warehouse_rows(workdir, "SELECT count(*) FROM quarantine")[0][0] == 1
    assert warehouse_rows(workdir, "SELECT count(*), count(DISTINCT run_id) FROM run_log")[0] == (2, 2)


def test_rejected_input_fails_the_flow_run_with_the_paragraph(workdir: Path, valid_set: Path, prefect_server) -> None:
    from flows.nightly import nightly

    (valid_set / "customers.csv").write_bytes(b"")
    state = nightly(extracts=str(valid_set), as_of=date(2026, 10, 31), return_state=True)
    assert state.is_failed() and state.name == "Rejected"
    assert "customers.csv" in state.message and "empty" in state.message
    ((flow_run_id, status, error),) = warehouse_rows(workdir, "SELECT flow_run_id, status, error FROM run_log")
    flow_run, artifacts, _ = read_flow_run(flow_run_id)
    assert (
        flow_run.state.is_failed() and flow_run.state.name == "Rejected" and "customers.csv" in flow_run.state.message
    )
    assert flow_run.name == f"ar-{VALID_AS_OF}-preview"
    assert status == "rejected" and "customers.csv" in error
    markdown = next(a.data for a in artifacts if a.key == "run-summary")
    assert markdown.splitlines()[0] == f"# Receivables run {VALID_AS_OF}: Rejected (input refused, nothing written)"
    assert "| Outcome | Rejected (input refused, nothing written) |" in markdown and error.strip() in markdown
    assert "No failure notification channel is configured" in markdown
    assert warehouse_rows(workdir, "SELECT count(*) FROM quarantine")[0][0] == 0


def _cli(workdir: Path, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    exe = Path(sys.executable).with_name("receivables")
    return subprocess.run([str(exe), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_rejection_in_a_real_terminal_session(workdir: Path, valid_set: Path, prefect_server, monkeypatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    (valid_set / "open_items.csv").write_bytes(VALID_SET["open_items.csv"].replace("due_date", "faelligkeit").encode())
    proc = _cli(workdir, "run", "--extracts", str(valid_set), "--as-of", VALID_AS_OF)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "open_items.csv" in last and "'due_date' is missing" in last and "faelligkeit" in last
    ((flow_run_id,),) = warehouse_rows(workdir, "SELECT flow_run_id FROM run_log")
    flow_run, _, _ = read_flow_run(flow_run_id)
    assert flow_run.state.name == "Rejected" and flow_run.name == f"ar-{VALID_AS_OF}-preview"
    assert {"source:cli", f"as_of:{VALID_AS_OF}", "mode:preview"} <= set(flow_run.tags)


def test_cli_db_flag_reaches_the_flow_in_memory_and_settings_load_once(
    workdir: Path, valid_set: Path, prefect_server, cli, monkeypatch
) -> None:
    """``--db`` may hold a password: it must reach the flow without becoming a flow parameter
    (stored in Prefect's run history) or an environment variable of the process, and the run
    uses the very settings the CLI checked instead of reading them again."""
    import receivables.settings
    from flows import run_settings

    loads = []
    real = receivables.settings.load_settings

    def counting(*args, **kwargs):
        loads.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(receivables.settings, "load_settings", counting)
    monkeypatch.setattr(run_settings, "load_settings", counting)
    other = workdir / "other.db"
    env_before = os.environ["RECEIVABLES_DB_URL"]
    result = cli("run", "--extracts", str(valid_set), "--as-of", VALID_AS_OF, "--db", f"sqlite:///{other}")
    assert result.exit_code == 0, result.output
    assert os.environ["RECEIVABLES_DB_URL"] == env_before
    assert not (workdir / "warehouse.db").exists()
    ((flow_run_id,),) = warehouse_rows(workdir, "SELECT flow_run_id FROM run_log", db=other)
    flow_run, _, _ = read_flow_run(flow_run_id)
    assert "other.db" not in json.dumps(flow_run.parameters, default=str)
    assert flow_run.name == f"ar-{VALID_AS_OF}-preview"
    assert len(loads) == 1, loads
    # the CLI's tag labels the run, not its tasks: a tagged task asks the server for a tag
    # concurrency slot before it starts, a round-trip per task for no limit
    assert "source:cli" in flow_run.tags
    tasks = _task_runs(flow_run_id)
    assert len(tasks) >= 10, [t.name for t in tasks]  # the night's stages, each its task
    assert [t.name for t in tasks if t.tags] == []


def _task_runs(flow_run_id: str) -> list:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def fetch():
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    return anyio.run(fetch)


def test_validate_writes_nothing(workdir: Path, valid_set: Path, cli) -> None:
    result = cli("validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF)
    assert result.exit_code == 0, result.output
    assert "open_items" in result.output
    assert not (workdir / "warehouse.db").exists() and not (workdir / "archive").exists()


def test_bad_as_of_and_unknown_mapping_exit_2(workdir: Path, valid_set: Path, cli) -> None:
    result = cli("run", "--extracts", str(valid_set), "--as-of", "31.10.2026")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = cli("run", "--extracts", str(valid_set), "--mapping", "oracle_ebs")
    assert result.exit_code == 2 and "known mappings: canonical, sap_fbl5n_de" in result.output


TABLES_TO_COMPARE = {
    "cash_applications": (
        "payment_id, document_no, applied_amount, rule, confidence, status, writeoff_amount, discount_amount"
    ),
    "unapplied_cash": "payment_id, remaining_amount, reason",
    "dunning_notices": "notice_id, level, overdue_amount, fees, interest, action",
    "dunning_items": "notice_id, document_no, previous_level, level, open_amount, interest, fee",
    "aging": (
        "company_code, customer_id, currency, not_due, d1_30, d31_60, d61_90, d91_120, d121_plus, total, total_base"
    ),
    "kpis": "company_code, kpi, value",
    "collector_worklist": "rank, company_code, customer_id, priority, overdue_amount, reason, next_action",
    "quarantine": 'extract, row_number, "column", value, reason',
}


def _report_rows(workdir: Path) -> dict[str, list]:
    return {
        t: warehouse_rows(workdir, f"SELECT {cols} FROM {t} ORDER BY {cols}") for t, cols in TABLES_TO_COMPARE.items()
    }


def test_send_mode_through_the_flow_once_per_notice_in_the_customers_language(
    workdir: Path, valid_set: Path, prefect_server, smtp_server, monkeypatch
) -> None:
    server = smtp_server()
    monkeypatch.setenv("RECEIVABLES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RECEIVABLES_SMTP_PORT", str(server.port))
    monkeypatch.setenv("RECEIVABLES_SMTP_STARTTLS", "false")
    monkeypatch.setenv("RECEIVABLES_MAIL_FROM", "ar@nordwerk.example")
    # every collection goes to its task quoted, as a large night's emails do: they arrive whole
    monkeypatch.setattr("flows.nightly.QUOTED_ITEMS", 0)
    # C002 also owes an old invoice nobody paid: a Spanish reminder besides C001's German one
    extra = "2000,F-2026-000124,INV,C002,2026-08-01,2026-09-15,EUR,300.00,300.00,,false,,\n"
    write_set(valid_set, dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + extra}))
    from flows.nightly import nightly

    state = nightly(extracts=str(valid_set), as_of=date(2026, 10, 31), mode="send", return_state=True)
    assert state.is_completed(), state.message
    first_rows = _report_rows(workdir)
    notices = warehouse_rows(
        workdir, "SELECT customer_id FROM dunning_notices WHERE action = 'email' ORDER BY customer_id"
    )
    assert [n[0] for n in notices] == ["C001", "C002"]
    received = {m.rcpt_tos[0]: m.message for m in server.received}
    assert sorted(received) == ["buchhaltung@mueller-soehne.de", "pagos@penalver.es"]
    german = received["buchhaltung@mueller-soehne.de"].get_body(("plain",)).get_content()
    spanish = received["pagos@penalver.es"].get_body(("plain",)).get_content()
    assert "1.380,50" in german and "Zahlungserinnerung" in str(received["buchhaltung@mueller-soehne.de"]["Subject"])
    assert "300,00" in spanish and "pago" in str(received["pagos@penalver.es"]["Subject"]).lower()
    assert warehouse_rows(workdir, "SELECT status, count(*) FROM email_outbox GROUP BY status") == [("sent", 2)]

    # a rerun of the same as_of sends nothing and reproduces every report row
    state = nightly(extracts=str(valid_set), as_of=date(2026, 10, 31), mode="send", return_state=True)
    assert state.is_completed(), state.message
    assert len(server.received) == 2
    assert _report_rows(workdir) == first_rows


def test_a_large_collection_goes_to_its_task_quoted_and_the_rest_as_it_is() -> None:
    from prefect.utilities.annotations import quote

    from flows.nightly import QUOTED_ITEMS, task_arguments

    run, emails, few = object(), [object()] * (QUOTED_ITEMS + 1), [object()]
    arguments = task_arguments((run, emails, few))
    assert arguments[0] is run and arguments[2] is few
    assert isinstance(arguments[1], quote) and arguments[1].unquote() is emails


def test_a_night_paid_only_by_bank_statements_through_the_flow(workdir: Path, prefect_server) -> None:
    """Payments only from a camt.053 (with a camt.054 copy) and an MT940: applied by their
    structured and free-text references, the statement counts in the run-summary artifact."""
    from flows.nightly import nightly
    from tests.receivables.test_statement_payments import statement_only_set

    folder = statement_only_set(workdir / "set")
    state = nightly(extracts=str(folder), as_of=date(2026, 10, 31), return_state=True)
    assert state.is_completed(), state.message
    applied = warehouse_rows(workdir, "SELECT document_no, applied_amount, status FROM cash_applications")
    assert {(d, f"{float(a):.2f}", s) for d, a, s in applied} == {
        ("9000012345", "1190.00", "applied"),
        ("9000012346", "1380.50", "applied"),
        ("9000012399", "-119.00", "applied"),
        ("F-2026-000123", "845.20", "applied"),
    }
    ((flow_run_id,),) = warehouse_rows(workdir, "SELECT flow_run_id FROM run_log")
    _, artifacts, _ = read_flow_run(flow_run_id)
    markdown = next(a.data for a in artifacts if a.key == "run-summary")
    assert (
        "| Bank statements | 3 file(s), 3 statement(s), 4 credit(s) read; skipped 1 debit(s), 1 reversal(s), "
        "1 pending; 1 duplicate(s) dropped; 0 entr(ies) quarantined |" in markdown
    )
