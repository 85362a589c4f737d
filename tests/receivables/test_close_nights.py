"""Write-offs and handovers through the whole nightly pipeline (SQLite, preview mail), night
after night on one warehouse with the shipped STANDARD dunning policy:

- C001 owes a small old balance (19.99 EUR, due 2026-07-01): the first night proposes it for
  write-off (SMALL_BALANCE, approver ``collector``); by the second night the ERP has approved
  it (``writeoff_approvals``), so the proposal is APPROVED, the company's journal lists it,
  dunning skips the item as WRITTEN_OFF and the account's case closes WRITTEN_OFF;
- C002 owes 5,000.00 EUR (due 2026-10-01) and climbs a level every 14 days: level 1 on 10-31,
  2 on 11-14, 3 on 11-28 and 4 (handover) on 12-12, when its case enters HANDOVER and its
  package goes to the agency once: not again the next night, and the same bytes on a rerun.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from receivables import pipeline
from receivables.settings import load_settings
from tests.conftest import warehouse_rows, write_set

NIGHTS = (date(2026, 10, 31), date(2026, 11, 14), date(2026, 11, 28), date(2026, 12, 12), date(2026, 12, 13))
HANDOVER_NIGHT = date(2026, 12, 12)
CLOSE_YAML = """
writeoff:
  accounts:
    "1000": {receivable_account: "140000", expense_account: "685000", cost_center: "CC100"}
handover:
  agencies:
    "1000": {name: inkasso-nord, email: akten@inkasso-nord.example}
"""
CUSTOMERS = (
    "customer_id,name,email,language,country,currency,payment_terms_days,credit_limit,segment,dunning_policy,dunning_block,collector,iban,company_code\n"
    "C001,Müller & Söhne GmbH,buchhaltung@mueller-soehne.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
    "C002,Hansa Logistik GmbH,rechnungen@hansa-logistik.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
)
ITEMS_HEADER = (
    "company_code,document_no,document_type,customer_id,document_date,due_date,currency,amount,open_amount,"
    "reference,dunning_block,discount_pct,discount_days\n"
)
SMALL = "1000,9000070001,INV,C001,2026-06-01,2026-07-01,EUR,19.99,19.99,,false,,\n"
LARGE = "1000,9000070002,INV,C002,2026-09-01,2026-10-01,EUR,5000.00,5000.00,,false,,\n"
PAYMENTS = (
    "payment_id,company_code,value_date,amount,currency,customer_id,payer_name,payer_iban,"
    "remittance_info,bank_reference\n"
)
APPROVALS = (
    "company_code,document_no,proposal_id,approved_by,approved_on\n"
    "1000,9000070001,WO-1000-9000070001,Petra Kühn,2026-11-10\n"
)


def erp_set(day: date) -> dict[str, str]:
    """The second night brings the approval; from the third the ERP has posted the write-off
    and the small item is no longer open."""
    files = {"customers.csv": CUSTOMERS, "payments.csv": PAYMENTS}
    files["open_items.csv"] = ITEMS_HEADER + (SMALL if day <= NIGHTS[1] else "") + LARGE
    if day >= NIGHTS[1]:
        files["writeoff_approvals.csv"] = APPROVALS
    return files


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    """Every night in order, the handover night run twice in a row; the package bytes of its
    first run and the file names each night's report folder holds."""
    folder = tmp_path_factory.mktemp("close-nights")
    (folder / "config").mkdir()
    (folder / "config" / "close.yaml").write_text(CLOSE_YAML, encoding="utf-8")
    settings = load_settings(
        db_url=f"sqlite:///{folder / 'warehouse.db'}",
        archive_dir=folder / "archive",
        outbox_dir=folder / "outbox",
        reports_dir=folder / "reports",
        config_dir=folder / "config",
        mail_mode="preview",
        mail_from="ar@nordwerk.example",
    )
    out: dict = {"folder": folder, "summaries": {}, "files": {}}
    for day in NIGHTS:
        source = str(write_set(folder / f"extracts-{day}", erp_set(day)))
        out["summaries"][day] = pipeline.run_nightly(source, day, settings)
        out["files"][day] = sorted(p.name for p in (folder / "reports" / day.isoformat()).iterdir())
        if day == HANDOVER_NIGHT:
            first = _packages(folder, day)
            pipeline.run_nightly(source, day, settings)
            out["first_packages"], out["rerun_packages"] = first, _packages(folder, day)
    # a replay of the handover night after a later one (its dunning state is no longer rewritten)
    pipeline.run_nightly(str(folder / f"extracts-{HANDOVER_NIGHT}"), HANDOVER_NIGHT, settings)
    out["replayed_packages"] = _packages(folder, HANDOVER_NIGHT)
    return out


def _packages(folder: Path, day: date) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (folder / "reports" / day.isoformat()).glob("handover-*")}


def rows(nights: dict, sql: str) -> list:
    return warehouse_rows(nights["folder"], sql, db=nights["folder"] / "warehouse.db")


def test_the_first_night_proposes_the_small_old_balance_and_journals_nothing(nights) -> None:
    assert rows(
        nights,
        "SELECT proposal_id, reason, amount, base_amount, approver_role, status, approved_by "
        "FROM writeoff_proposals WHERE as_of = '2026-10-31'",
    ) == [("WO-1000-9000070001", "SMALL_BALANCE", 19.99, 19.99, "collector", "PROPOSED", None)]
    journal = nights["folder"] / "reports" / "2026-10-31" / "writeoff-journal-1000-2026-10-31.csv"
    assert journal.read_text(encoding="utf-8").splitlines() == [
        "posting_date,company_code,document_no,customer_id,debit_account,credit_account,cost_center,"
        "amount,currency,reason,approver_role,proposal_id"
    ]
    # the item is still dunned that night: nobody has approved anything yet
    assert ("9000070001", 1) in rows(nights, "SELECT document_no, level FROM dunning_items WHERE as_of = '2026-10-31'")


def test_an_approved_write_off_is_journaled_skipped_by_dunning_and_closes_the_case(nights) -> None:
    assert rows(
        nights,
        "SELECT status, approved_by, approved_on FROM writeoff_proposals WHERE as_of = '2026-11-14'",
    ) == [("APPROVED", "Petra Kühn", "2026-11-10")]
    journal = nights["folder"] / "reports" / "2026-11-14" / "writeoff-journal-1000-2026-11-14.csv"
    assert journal.read_text(encoding="utf-8").splitlines()[1:] == [
        "2026-11-14,1000,9000070001,C001,685000,140000,CC100,19.99,EUR,SMALL_BALANCE,collector,WO-1000-9000070001"
    ]
    # 14 days after level 1 it would have reached level 2; the approval stops it
    assert rows(
        nights, "SELECT document_no, reason, level FROM dunning_skips WHERE as_of = '2026-11-14' ORDER BY document_no"
    ) == [("9000070001", "WRITTEN_OFF", 1)]
    assert rows(nights, "SELECT document_no, level FROM dunning_items WHERE as_of = '2026-11-14'") == [
        ("9000070002", 2)
    ]
    assert rows(
        nights,
        "SELECT as_of, closed_on, close_reason FROM collection_cases WHERE customer_id = 'C001' ORDER BY as_of",
    ) == [("2026-10-31", None, None), ("2026-11-14", "2026-11-14", "WRITTEN_OFF")]


def test_the_handover_package_goes_out_on_the_night_the_case_enters_handover(nights) -> None:
    stages = rows(nights, "SELECT as_of, stage FROM collection_cases WHERE customer_id = 'C002' ORDER BY as_of")
    assert [s for _, s in stages][:3] == ["REMINDING"] * 3 and stages[3] == ("2026-12-12", "HANDOVER")
    stem = "handover-inkasso-nord-1000-C002-2026-12-12"
    for day, names in nights["files"].items():
        packages = [n for n in names if n.startswith("handover-")]
        assert packages == ([f"{stem}.csv", f"{stem}.xlsx"] if day == HANDOVER_NIGHT else []), day
    (case_id,) = rows(nights, "SELECT DISTINCT case_id FROM collection_cases WHERE customer_id = 'C002'")[0]
    assert rows(nights, "SELECT as_of, handover_id, agency, items, amount, files FROM handovers") == [
        ("2026-12-12", f"HO-1000-C002-{case_id}", "inkasso-nord", 1, 5000.0, f"{stem}.csv;{stem}.xlsx")
    ]
    text = nights["first_packages"][f"{stem}.csv"].decode("utf-8")
    assert "9000070002" in text and "5000.00" in text


def test_a_rerun_of_the_handover_night_writes_the_same_bytes(nights) -> None:
    assert len(nights["first_packages"]) == 2
    assert nights["rerun_packages"] == nights["first_packages"]
    assert nights["replayed_packages"] == nights["first_packages"]
