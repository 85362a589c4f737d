"""Claims for fees and interest (docs/close.md "Claims for fees and interest"), computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from receivables import pipeline
from receivables.close.claim_rules import ClaimRules
from receivables.close.claims import build_claims
from receivables.dunning import load_dunning_policies
from receivables.dunning.proposal import notice_id
from receivables.money import to_cents
from receivables.settings import load_settings
from tests.conftest import write_set
from tests.nights import night_after_the_gate, scenario_settings

POLICIES = load_dunning_policies()  # shipped: 1000 is DE (Basiszins + 9), 2000 ES (ECB MRO + 8)
RULES = ClaimRules()  # DE: costs_interest_principal, elsewhere principal_first
NOTICE_DAY = date(2025, 6, 20)


def history(company: str = "1000", level_fee: int = 500, comp: int = 4000, interest: int = 1234):
    """One invoice of 1,000.00 on one level-3 notice (statutory interest, compensation)."""
    notice_id = f"N-{company}-C1"
    notices = pd.DataFrame(
        [[notice_id, NOTICE_DAY, company, "C1", "EUR", 3, level_fee + comp, "STANDARD"]],
        columns=["notice_id", "as_of", "company_code", "customer_id", "currency", "level", "fees", "policy"],
    )
    items = pd.DataFrame(
        [[notice_id, NOTICE_DAY, company, "C1", "INV1", "EUR", 3, date(2025, 5, 1), 100000, 0, interest, comp]],
        columns=["notice_id", "as_of", "company_code", "customer_id", "document_no", "currency", "level",
                 "due_date", "open_amount", "disputed_amount", "interest", "fee"],
    )  # fmt: skip
    return notices, items


def payments(company: str = "1000", *rows: tuple[date, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [[day, company, "C1", "INV1", cents] for day, cents in rows],
        columns=["as_of", "company_code", "customer_id", "document_no", "applied_amount"],
    )


def claims(company="1000", paid=(), as_of=date(2025, 7, 10), **kw):
    notices, items = history(company)
    return build_claims(notices, items, payments(company, *paid), as_of, RULES, POLICIES, **kw)


def by_kind(frame: pd.DataFrame) -> dict[str, dict]:
    key = frame["document_no"].where(frame["document_no"] != "", "notice") + "/" + frame["kind"]
    return {k: r for k, r in zip(key, frame.to_dict("records"))}


def test_interest_accrues_on_the_open_principal_across_a_base_rate_change() -> None:
    # 1,000.00 from 2025-06-20 to 2025-07-10: 10 days at 2.27 + 9 = 11.27 % (to 30 June) and
    # 10 days at 1.27 + 9 = 10.27 % (from 1 July): 100000 x (112.7 + 102.7) / 36500 = 590.14 -> 5.90
    c = by_kind(claims().claims)
    assert c["INV1/INTEREST"]["amount"] == 1234 + 590
    assert c["INV1/INTEREST"]["accrued_to"] == date(2025, 7, 10)
    assert c["INV1/FEE"]["amount"] == 4000 and c["notice/FEE"]["amount"] == 500
    assert {r["status"] for r in c.values()} == {"OPEN"}


def test_without_accrual_the_notice_amount_stays() -> None:
    notices, items = history()
    rules = ClaimRules(accrue_until_paid=False)
    c = by_kind(build_claims(notices, items, payments(), date(2025, 7, 10), rules, POLICIES).claims)
    assert c["INV1/INTEREST"]["amount"] == 1234


def test_section_367_a_partial_payment_first_consumes_costs_and_interest() -> None:
    # 60.00 on 10 July: notice fee 5.00 and compensation 40.00 first, then 15.00 of the
    # interest of 18.24 (12.34 + 5.90 accrued); nothing is left for the principal
    result = claims(paid=[(date(2025, 7, 10), 6000)])
    c = by_kind(result.claims)
    assert (c["notice/FEE"]["settled_amount"], c["notice/FEE"]["status"]) == (500, "SETTLED")
    assert (c["INV1/FEE"]["settled_amount"], c["INV1/FEE"]["status"]) == (4000, "SETTLED")
    assert (c["INV1/INTEREST"]["amount"], c["INV1/INTEREST"]["settled_amount"]) == (1824, 1500)
    assert c["INV1/INTEREST"]["status"] == "OPEN"
    assert result.shortfalls.to_dict("records") == [
        {"company_code": "1000", "customer_id": "C1", "document_no": "INV1", "currency": "EUR",
         "principal_shortfall": 6000}
    ]  # fmt: skip


def test_section_367_interest_keeps_accruing_on_what_the_erp_shows_open() -> None:
    # 200.00 on 10 July settles 5.00 + 40.00 + 18.24 = 63.24, 136.76 goes to principal; the ERP
    # shows 800.00 open, on which 10 more days at 10.27 % accrue: 80000 x 102.7 / 36500 = 225.1 -> 2.25
    result = claims(paid=[(date(2025, 7, 10), 20000)], as_of=date(2025, 7, 20))
    c = by_kind(result.claims)
    assert (c["INV1/INTEREST"]["amount"], c["INV1/INTEREST"]["settled_amount"]) == (1824 + 225, 1824)
    assert int(result.shortfalls["principal_shortfall"].sum()) == 6324


def test_principal_first_elsewhere_leaves_the_claims_open() -> None:
    # ES (2000): ECB MRO + 8, 11.15 % to 30 June and 10.15 % from 1 July:
    # 100000 x (10 x 11.15 + 10 x 10.15) / 36500 = 583.56 -> 5.84
    result = claims("2000", paid=[(date(2025, 7, 10), 6000)])
    c = by_kind(result.claims)
    assert c["INV1/INTEREST"]["amount"] == 1234 + 584
    assert {r["settled_amount"] for r in c.values()} == {0}
    assert result.shortfalls.empty


def test_a_waiver_closes_the_claim_with_who_and_why_and_stops_accrual() -> None:
    waivers = pd.DataFrame(
        [["N-1000-C1/FEE", "anna", date(2025, 7, 1), "goodwill"],
         ["N-1000-C1/INV1/INTEREST", "anna", date(2025, 6, 30), "goodwill"]],
        columns=["claim_id", "waived_by", "waived_on", "reason"],
    )  # fmt: skip
    c = by_kind(claims(waivers=waivers).claims)
    assert (c["notice/FEE"]["status"], c["notice/FEE"]["waived_by"], c["notice/FEE"]["waived_reason"]) == (
        "WAIVED", "anna", "goodwill",
    )  # fmt: skip
    # accrual to 30 June only: 100000 x 112.7 / 36500 = 308.77 -> 3.09
    assert (c["INV1/INTEREST"]["amount"], c["INV1/INTEREST"]["status"]) == (1234 + 309, "WAIVED")
    assert c["INV1/INTEREST"]["accrued_to"] == date(2025, 6, 30)
    assert c["INV1/FEE"]["status"] == "OPEN"


def test_an_approved_write_off_closes_the_items_claims_and_the_notice_fee() -> None:
    off = pd.DataFrame([["1000", "C1", "INV1", date(2025, 7, 1)]],
                       columns=["company_code", "customer_id", "document_no", "approved_on"])  # fmt: skip
    c = by_kind(claims(written_off=off).claims)
    assert {k: r["status"] for k, r in c.items()} == {
        "notice/FEE": "WRITTEN_OFF", "INV1/FEE": "WRITTEN_OFF", "INV1/INTEREST": "WRITTEN_OFF",
    }  # fmt: skip
    # accrual ends on the approval day: 100000 x (10 x 11.27 + 1 x 10.27) / 36500 = 336.9 -> 3.37
    assert c["INV1/INTEREST"]["amount"] == 1234 + 337


# --- the scenario: dunned twice with charges, paid in two parts, settled exactly ----------------

CUSTOMERS = (
    "customer_id,name,email,language,country,currency,payment_terms_days,credit_limit,segment,dunning_policy,dunning_block,collector,iban,company_code\n"
    "C001,Müller & Söhne GmbH,buchhaltung@mueller-soehne.de,de,DE,EUR,30,50000.00,STANDARD,,false,Anna Schmidt,,1000\n"
)
ITEMS_HEADER = (
    "company_code,document_no,document_type,customer_id,document_date,due_date,currency,amount,open_amount,"
    "reference,dunning_block,discount_pct,discount_days\n"
)
PAYMENTS_HEADER = (
    "payment_id,company_code,value_date,amount,currency,customer_id,payer_name,payer_iban,"
    "remittance_info,bank_reference\n"
)
CLEARED_HEADER = "company_code,document_no,customer_id,document_date,due_date,currency,amount,clearing_date\n"
#: the invoice (1,000.00 due 09-01) is paid 300.00 on 10-23 and 700.00 on 10-26
PAID = {date(2026, 10, 23): "300.00", date(2026, 10, 26): "700.00"}
#: the nights run: the four notices (levels 1-4), the two payments, the nights after each
NIGHTS = [date(2026, 9, 8), date(2026, 9, 22), date(2026, 10, 6), date(2026, 10, 21), date(2026, 10, 23),
          date(2026, 10, 24), date(2026, 10, 26), date(2026, 10, 27)]  # fmt: skip


def erp_set(day: date) -> dict[str, str]:
    """The ERP's set for ``day``: the day's payment, the invoice less what earlier days paid."""
    paid = sum(int(a.replace(".", "")) for d, a in PAID.items() if d < day)
    left = 100000 - paid
    # a later invoice, due after the last night, keeps the ERP's open items from being empty
    items, cleared = (
        ITEMS_HEADER + "1000,9000039999,INV,C001,2026-10-01,2026-12-31,EUR,10.00,10.00,,false,,\n",
        CLEARED_HEADER,
    )
    if left > 0:
        items += f"1000,9000030001,INV,C001,2026-08-02,2026-09-01,EUR,1000.00,{left // 100}.{left % 100:02d},,false,,\n"
    else:
        cleared += "1000,9000030001,C001,2026-08-02,2026-09-01,EUR,1000.00,2026-10-26\n"
    payments = PAYMENTS_HEADER
    if day in PAID:
        payments += f"P-{day},1000,{day},{PAID[day]},EUR,C001,MUELLER UND SOEHNE GMBH,,RE 9000030001,BR-{day}\n"
    return {"customers.csv": CUSTOMERS, "open_items.csv": items, "payments.csv": payments,
            "cleared_items.csv": cleared}  # fmt: skip


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, smtp_server_module):
    folder = tmp_path_factory.mktemp("claims")
    server = smtp_server_module()
    settings = scenario_settings(folder, server)
    for day in NIGHTS:
        source = str(write_set(folder / f"extracts-{day}", erp_set(day)))
        run = pipeline.Run(source=source, as_of=day, settings=settings)
        extracts = pipeline.ingest(run)
        validated = pipeline.validate(run, extracts)
        assert validated.quarantine.empty, (day, validated.quarantine)
        night_after_the_gate(source, day, settings, extracts, validated)
    return pipeline.warehouse_engine(settings.db_url)


def stored_claims(engine, day: date) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT claim_id, amount, settled_amount, principal_shortfall, status, accrued_to FROM claims "
                "WHERE as_of = :d ORDER BY claim_id"
            ),
            {"d": day},
        ).all()
    return {r[0]: (to_cents(Decimal(str(r[1]))), to_cents(Decimal(str(r[2]))), to_cents(Decimal(str(r[3]))),
                   r[4], str(r[5])) for r in rows}  # fmt: skip


def test_an_invoice_dunned_twice_and_paid_in_two_parts_ends_with_its_claims_settled_exactly(scenario) -> None:
    l2, l3, l4 = (notice_id(date(2026, m, d), "1000", "C001", "EUR") for m, d in ((9, 22), (10, 6), (10, 21)))
    # 09-22 level 2: fee 5.00 on the notice; 10-06 level 3: compensation 40.00 and interest
    # 1,000.00 x 10.27 % x 35 / 365 = 9.85, accruing 15 days to 10-21 (4.22): 14.07; 10-21 level 4
    # charges 50 days = 14.07 again, so its claim starts at 0 and accrues on the open principal:
    # 2 days on 1,000.00 and 3 on 700.00 at 10.27 % = (2,054,000 + 2,156,700) / 36500 = 1.15.
    # 300.00 on 10-23 settles 5.00 + 40.00 + 14.07 + 0.56 (2 days on 1,000.00) first (367 BGB),
    # 700.00 on 10-26 the last 0.59: everything settled, 60.22 of principal re-characterised.
    got = stored_claims(scenario, date(2026, 10, 27))
    assert got == {
        f"{l2}/FEE": (500, 500, 500, "SETTLED", "2026-09-22"),
        f"{l3}/9000030001/FEE": (4000, 4000, 4000, "SETTLED", "2026-10-06"),
        f"{l3}/9000030001/INTEREST": (1407, 1407, 1407, "SETTLED", "2026-10-21"),
        f"{l4}/9000030001/INTEREST": (115, 115, 115, "SETTLED", "2026-10-26"),
    }
    # between the payments the latest interest claim is partly settled and still growing
    between = stored_claims(scenario, date(2026, 10, 24))
    assert between[f"{l4}/9000030001/INTEREST"][:4] == (76, 56, 56, "OPEN")  # (2,054,000 + 718,900) / 36500 = 0.76


def test_the_waiver_suite_keeps_good_rows_and_quarantines_bad_ones(tmp_path) -> None:
    waivers = "claim_id,waived_by,waived_on,reason\nX/FEE,anna,2026-10-01,goodwill\nY/FEE,,2026-10-01,\n"
    waivers += "Z/FEE,bob,2026-12-01,late\n"
    source = str(write_set(tmp_path / "set", erp_set(date(2026, 10, 6)) | {"claim_waivers.csv": waivers}))
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'w.db'}", archive_dir=tmp_path / "a",
                             outbox_dir=tmp_path / "o", reports_dir=tmp_path / "r")  # fmt: skip
    run = pipeline.Run(source=source, as_of=date(2026, 10, 6), settings=settings)
    validated = pipeline.validate(run, pipeline.ingest(run))
    assert list(validated.frames["claim_waivers"]["claim_id"]) == ["X/FEE"]
    assert sorted(validated.quarantine["reason"]) == [
        "waived_by is required and blank",
        "waived_on is after the run date (as_of)",
    ]
