"""A first night on a team's own configuration: a company code the configuration does not
know is held back, the other companies' night goes on, and every problem is named once with
its fix, never as a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from receivables import pipeline
from receivables.config_folder import ConfigFolder
from receivables.rules import load_rules
from receivables.run_summary import summary_markdown
from receivables.settings import load_settings
from tests.conftest import VALID_AS_OF, VALID_SET, write_set


def team_folder(root: Path, drop: tuple[str, ...], **extra: dict) -> Path:
    """A configuration folder whose companies.yaml lacks ``drop`` (other files: shipped)."""
    companies = yaml.safe_load(ConfigFolder().file("companies.yaml").read_text(encoding="utf-8"))
    for code in drop:
        companies.pop(code)
    companies.update(extra)
    root.mkdir(parents=True, exist_ok=True)
    (root / "companies.yaml").write_text(yaml.safe_dump(companies, allow_unicode=True), encoding="utf-8")
    return root


def test_an_unconfigured_company_is_held_back_while_the_others_run(workdir: Path, valid_set: Path) -> None:
    team = team_folder(workdir / "team", drop=("1000",))
    settings = load_settings(mail_mode="preview", config_dir=str(team))
    summary = pipeline.run_nightly(str(valid_set), pd.Timestamp(VALID_AS_OF).date(), settings, rules=load_rules(team))

    assert summary["held_companies"] == ["1000"]
    # its cash is applied and reported: P0000001 settles 9000012345 of company 1000
    assert {"company_code": "1000", "currency": "EUR", "open_amount": "1261.50"} in summary["open_totals"]
    engine = pipeline.warehouse_engine(settings.db_url)
    applied = pd.read_sql("SELECT payment_id, document_no, applied_amount FROM cash_applications", engine)
    assert ("P0000001", "9000012345", "1190.00") in {(p, d, f"{a:.2f}") for p, d, a in applied.itertuples(index=False)}
    # its dunning does not advance and none of its reminders goes out
    dunned = pd.read_sql("SELECT company_code FROM dunning_items", engine)
    assert "1000" not in set(dunned["company_code"])
    # (with the shipped companies, C001 of 1000 gets reminder_1 for 9000012346 tonight)
    outbox = pd.read_sql("SELECT company_code FROM email_outbox", engine)
    assert "1000" not in set(outbox["company_code"])
    skipped = pd.read_sql("SELECT * FROM dunning_items", engine)
    assert skipped.empty
    assert not any("mueller-soehne" in p.read_text(errors="replace") for p in (workdir / "outbox").rglob("*.eml"))
    # the summary and the Prefect artifact name it, with the fix
    (problem,) = [p for p in summary["configuration_problems"] if "1000" in p]
    assert "Company code 1000 is on the extracts but has no entry in" in problem and '"1000":' in problem
    markdown = summary_markdown(summary)
    assert "| Held back | 1000: no creditor details yet" in markdown and "## Configuration problems" in markdown


def test_validate_lists_every_problem_with_its_fix_and_exits_2(workdir: Path, valid_set: Path, cli) -> None:
    team = team_folder(workdir / "team", drop=("1000", "2000"))
    customers = VALID_SET["customers.csv"].replace("STANDARD,,false,Lucía", "STANDARD,GENTLE,false,Lucía")
    write_set(valid_set, {"customers.csv": customers})
    result = cli("validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF, "--config-dir", str(team))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Configuration: 3 problem(s)" in text
    assert "Company code 1000 is on the extracts but has no entry in" in text
    assert "Company code 2000 is on the extracts" in text and '"2000": name:' in text
    assert "Policy GENTLE is named by 1 customer(s)" in text
    assert "Traceback" not in result.output and not (workdir / "warehouse.db").exists()


@pytest.mark.prefect
def test_a_run_through_the_cli_names_the_held_company_without_a_traceback(
    workdir: Path, valid_set: Path, cli, prefect_server
) -> None:
    team = team_folder(workdir / "team", drop=("1000",))
    result = cli("run", "--extracts", str(valid_set), "--as-of", VALID_AS_OF, "--config-dir", str(team))
    assert result.exit_code == 0, result.output
    assert "Held back: company code(s) 1000" in result.output
    assert "Traceback" not in result.output
    # amounts read as amounts, and a KPI line that says what it leaves out (no USD rate here)
    assert "1,261.50" in result.output and "KPIs (USD left out: no rate to EUR):" in result.output


def test_validate_reads_bank_statements_as_the_run_does(workdir: Path, valid_set: Path, cli) -> None:
    """validate assigns statement credits to companies by account as a run does, and names an
    account no company claims, with the file, statement and entry of each refused credit."""
    import shutil

    from tests.receivables.test_statement_payments import STATEMENT_SET

    (valid_set / "payments.csv").unlink()
    shutil.copytree(STATEMENT_SET, valid_set / "statements")
    result = cli("validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF)
    assert result.exit_code == 0, result.output
    assert "statements/ (3 files)" in result.output and "Quarantined rows" not in result.output

    team = team_folder(workdir / "team", drop=("2000",))
    csv = workdir / "quarantine.csv"
    result = cli(
        "validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF, "--config-dir", str(team),
        "--quarantine-csv", str(csv),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Bank account ES0600491500032710123456 has statements tonight, but no company" in text
    (row,) = pd.read_csv(csv, dtype=str).to_dict("records")
    assert row["file"].startswith("statements/2026-10-30-santander.sta (statement ") and row["row_number"] == "1"
    assert row["reason"] == "account ES0600491500032710123456 belongs to no company code"
