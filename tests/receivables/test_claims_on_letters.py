"""The next reminder and its statement of account name what earlier reminders still claim per
kind (docs/close.md "Claims for fees and interest"): a customer dunned at level 2 (fee 5.00)
pays part of the principal before the level-3 notice."""

from __future__ import annotations

import email
import email.policy
import io
import zlib
from datetime import date

import openpyxl
import pytest

from receivables import pipeline
from receivables.settings import load_settings
from tests.conftest import write_set
from tests.receivables.test_claims import CLEARED_HEADER, CUSTOMERS, ITEMS_HEADER, PAYMENTS_HEADER

#: levels 1 and 2 (fee 5.00 on 09-22), 300.00 paid on 10-01, level 3 on 10-06
NIGHTS = [date(2026, 9, 8), date(2026, 9, 22), date(2026, 10, 1), date(2026, 10, 6)]
PAID_ON = date(2026, 10, 1)
FEE_LINE = "Gebühren aus früheren Mahnungen noch offen: 5,00\u00a0€"


def erp_set(day: date) -> dict[str, str]:
    """The invoice of 1,000.00 due 09-01, less 300.00 from 10-01 on."""
    left = "700.00" if day > PAID_ON else "1000.00"
    items = ITEMS_HEADER + f"1000,9000030001,INV,C001,2026-08-02,2026-09-01,EUR,1000.00,{left},,false,,\n"
    payments = PAYMENTS_HEADER
    if day == PAID_ON:
        payments += f"P-{day},1000,{day},300.00,EUR,C001,MUELLER UND SOEHNE GMBH,,RE 9000030001,BR-{day}\n"
    return {"customers.csv": CUSTOMERS, "open_items.csv": items, "payments.csv": payments,
            "cleared_items.csv": CLEARED_HEADER}  # fmt: skip


def nights(folder, config_dir=None) -> dict[date, list]:
    """Every night of the scenario in preview mode; the reminders each night rendered."""
    settings = load_settings(
        db_url=f"sqlite:///{folder / 'warehouse.db'}", archive_dir=folder / "archive", outbox_dir=folder / "outbox",
        reports_dir=folder / "reports", mail_mode="preview", config_dir=config_dir,
    )  # fmt: skip
    sent = {}
    for day in NIGHTS:
        source = str(write_set(folder / f"extracts-{day}", erp_set(day)))
        run = pipeline.Run(source=source, as_of=day, settings=settings)
        pipeline.begin(run)
        validated = pipeline.validate(run, pipeline.ingest(run))
        cash = pipeline.apply_cash(run, validated)
        step = pipeline.propose_dunning(run, validated, cash)
        reports = pipeline.build_reports(run, validated, cash, step)
        sent[day] = pipeline.render_reminders(run, validated, cash, step)
        queued = pipeline.publish(run, validated, cash, step, sent[day], reports)
        summary = pipeline.summarise(run, validated, cash, reports, step=step, queued=queued)
        pipeline.finish(run, summary)
    return sent


def letter(composed) -> tuple[str, str, list[tuple]]:
    """The plain text of a reminder, its statement of account as CSV and the XLSX's rows."""
    message = email.message_from_bytes(zlib.decompress(composed.mime_zlib), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    files = {p.get_filename().rsplit(".", 1)[1]: p.get_payload(decode=True) for p in message.iter_attachments()}
    sheet = openpyxl.load_workbook(io.BytesIO(files["xlsx"])).active
    return text, files["csv"].decode("utf-8-sig"), [r for r in sheet.iter_rows(values_only=True) if any(r)]


@pytest.fixture(scope="module")
def principal_first(tmp_path_factory) -> dict[date, list]:
    """Company 1000 configured to settle the principal first: the 5.00 fee stays open."""
    folder = tmp_path_factory.mktemp("principal-first")
    config = folder / "config"
    config.mkdir()
    (config / "close.yaml").write_text('claims:\n  companies:\n    "1000": principal_first\n', encoding="utf-8")
    return nights(folder, config)


def test_the_next_notice_names_the_fee_an_earlier_reminder_still_claims(principal_first) -> None:
    [level2] = principal_first[date(2026, 9, 22)]
    assert "früheren Mahnungen" not in letter(level2)[0]  # nothing earlier is open yet
    [level3] = principal_first[date(2026, 10, 6)]
    assert level3.level == 3
    text, csv, xlsx = letter(level3)
    assert FEE_LINE in text
    # the level-2 notice charged no interest; the level-3 notice's own interest is tonight's charge
    assert "Zinsen aus früheren Mahnungen" not in text
    assert ";Gebühren aus früheren Mahnungen noch offen;;;;;EUR;;5,00;" in csv.splitlines()
    # on the workbook: the line after the item, and the total open counts it (700.00 + 5.00)
    label, total = xlsx[-2], xlsx[-1]
    assert (label[0], label[8]) == ("Gebühren aus früheren Mahnungen noch offen", 5.0)
    assert (total[0], total[8]) == ("Summe offen (EUR)", 705.0)


def test_under_section_367_the_partial_payment_settled_the_fee_so_none_is_named(tmp_path) -> None:
    # the shipped rules: Germany allocates the 300.00 to the 5.00 fee first
    sent = nights(tmp_path)
    [level3] = sent[date(2026, 10, 6)]
    assert level3.level == 3
    text, csv, xlsx = letter(level3)
    assert "früheren Mahnungen" not in text and "früheren Mahnungen" not in csv
    assert xlsx[-1][8] == 700.0 and not any("früheren" in str(r[0]) for r in xlsx)
