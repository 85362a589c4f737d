"""An extract set whose payments come from its ``statements/`` folder: read through the run's
ingest, deduplicated, assigned to company codes by account, quarantined per entry."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd

from receivables import pipeline
from receivables.extracts import read_extract_set
from receivables.extracts.statements import bank_accounts_of
from receivables.rules import load_rules
from receivables.settings import load_settings
from receivables.validation import validate_extract_set
from tests.conftest import TESTS, VALID_SET, write_set

STATEMENT_SET = TESTS / "data" / "statement_set" / "statements"
AS_OF = date(2026, 10, 31)


def statement_only_set(folder: Path, extra: dict[str, bytes] | None = None) -> Path:
    write_set(folder, {k: v for k, v in VALID_SET.items() if k != "payments.csv"})
    shutil.copytree(STATEMENT_SET, folder / "statements")
    for name, data in (extra or {}).items():
        (folder / "statements" / name).write_bytes(data)
    return folder


def read(folder: Path):
    rules = load_rules()
    extracts = read_extract_set(str(folder), rules.mapping, bank_accounts=bank_accounts_of(rules.companies))
    return extracts, validate_extract_set(extracts, AS_OF, rules.folder)


def test_statement_credits_become_payments_of_the_company_owning_the_account(tmp_path: Path) -> None:
    extracts, validated = read(statement_only_set(tmp_path / "set"))
    payments = validated.frames["payments"]
    assert sorted(zip(payments["company_code"], payments["amount"], strict=True)) == [
        ("1000", 119000),
        ("1000", 126150),
        ("2000", 84520),
    ]
    assert extracts.statement_counts == {
        "files": 3,
        "statements": 3,
        "entries": 7,
        "credits": 4,
        "debits_skipped": 1,
        "reversals_skipped": 1,
        "pending_skipped": 1,
        "quarantined": 0,
        "duplicates_dropped": 1,
        "refused": 0,
    }
    assert validated.counts["payments"] == {"read": 3, "accepted": 3, "quarantined": 0}
    assert set(extracts.sources) >= {
        "statements/2026-10-30-deutsche-bank.camt053.xml",
        "statements/2026-10-30-santander.sta",
    }


def test_an_account_no_company_claims_is_quarantined_with_file_statement_and_entry(tmp_path: Path) -> None:
    stranger = (
        (STATEMENT_SET / "2026-10-30-santander.sta")
        .read_bytes()
        .replace(b"ES0600491500032710123456", b"CH9300762011623852957")
    )
    _, validated = read(statement_only_set(tmp_path / "set", {"ubs.sta": stranger}))
    q = validated.quarantine
    (row,) = q[q["extract"] == "payments"].itertuples()
    assert row.file.startswith("statements/ubs.sta (statement ") and row.row_number == 1
    assert "account CH9300762011623852957 belongs to no company code" in row.reason
    assert validated.counts["payments"] == {"read": 4, "accepted": 3, "quarantined": 1}


def test_a_payment_the_extract_already_lists_counts_once(tmp_path: Path) -> None:
    folder = statement_only_set(tmp_path / "set")
    listed = VALID_SET["payments.csv"].replace("BR-1", "DB2026102800017")
    write_set(folder, {"payments.csv": listed})
    extracts, validated = read(folder)
    assert len(validated.frames["payments"]) == 3 + 2  # the extract's three, the statements' new two
    assert extracts.statement_counts["duplicates_dropped"] == 2


def test_a_statement_night_applies_cash_by_structured_and_free_text_references(workdir: Path) -> None:
    folder = statement_only_set(workdir / "set")
    summary = pipeline.run_nightly(str(folder), AS_OF, load_settings(mail_mode="preview"))
    engine = pipeline.warehouse_engine(load_settings().db_url)
    applied = pd.read_sql("SELECT document_no, applied_amount, rule, status FROM cash_applications", engine)
    got = {(r.document_no, f"{r.applied_amount:.2f}", r.status) for r in applied.itertuples()}
    assert got == {
        ("9000012345", "1190.00", "applied"),  # RF creditor reference (structured)
        ("9000012346", "1380.50", "applied"),  # free text naming the invoice ...
        ("9000012399", "-119.00", "applied"),  # ... and the credit note it deducts
        ("F-2026-000123", "845.20", "applied"),  # MT940 /REMI/
    }
    assert summary["statements"]["credits"] == 4 and summary["statements"]["duplicates_dropped"] == 1
    archived = list((workdir / "archive").rglob("statements/*"))
    assert len(archived) == 3
