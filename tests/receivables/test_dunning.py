"""Stage 4, dunning: every rule on hand-made frames to the cent, the invariants as properties,
the state in a real warehouse (rerun of the same date, earlier dates), and 90 nightly runs."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.dunning import (
    EXCLUSION_REASONS,
    SKIP_REASONS,
    DunningPolicies,
    DunningProposal,
    load_dunning_policies,
    notice_id,
    propose_dunning,
    statutory_rate_days,
)
from receivables.errors import ConfigError
from receivables.warehouse import connect, migrate
from receivables.warehouse.database import read_table
from receivables.warehouse.dunning_history import (
    DunningStateError,
    dunning_allowed,
    latest_dunning_as_of,
    previous_levels,
    read_dunning,
    write_dunning,
)

AS_OF = pd.Timestamp("2026-03-31")

# The shipped STANDARD and KEY_ACCOUNT numbers, frozen here so the rules are tested against
# known values whatever configs/dunning.yaml is tuned to; plus policies for interest tests.
POLICY_DATA = {
    "default_policy": "STANDARD",
    "segments": {
        "STANDARD": "STANDARD",
        "KEY_ACCOUNT": "KEY_ACCOUNT",
        "FIXED": "FIXED",
        "EARLY_INTEREST": "EARLY_INTEREST",
    },
    "policies": {
        "STANDARD": {
            "promise_grace_days": 3,
            "levels": [
                {
                    "level": 1,
                    "template": "reminder_1",
                    "action": "email",
                    "days_past_due": 7,
                    "minimum": {"EUR": "10.00", "USD": "10.00"},
                },
                {
                    "level": 2,
                    "template": "reminder_2",
                    "action": "email",
                    "days_past_due": 21,
                    "min_days_since_previous": 14,
                    "minimum": {"EUR": "10.00", "USD": "10.00"},
                    "fee": {"EUR": "5.00", "USD": "5.00"},
                },
                {
                    "level": 3,
                    "template": "final_notice",
                    "action": "email",
                    "days_past_due": 35,
                    "min_days_since_previous": 14,
                    "minimum": {"EUR": "25.00", "USD": "25.00"},
                    "interest": "statutory",
                    "compensation": True,
                },
                {
                    "level": 4,
                    "template": "handover_collections",
                    "action": "handover",
                    "days_past_due": 50,
                    "min_days_since_previous": 14,
                    "interest": "statutory",
                },
            ],
        },
        "KEY_ACCOUNT": {
            "promise_grace_days": 5,
            "levels": [
                {"level": 1, "template": "call_key_account", "action": "call_task", "days_past_due": 5},
                {
                    "level": 2,
                    "template": "call_key_account_followup",
                    "action": "call_task",
                    "days_past_due": 20,
                    "min_days_since_previous": 14,
                },
                {
                    "level": 3,
                    "template": "escalation_key_account",
                    "action": "handover",
                    "days_past_due": 45,
                    "min_days_since_previous": 21,
                },
            ],
        },
        "FIXED": {
            "levels": [
                {
                    "level": 1,
                    "template": "reminder_1",
                    "action": "email",
                    "days_past_due": 1,
                    "interest": {"percent": "10"},
                }
            ]
        },
        "EARLY_INTEREST": {
            "levels": [
                {"level": 1, "template": "reminder_1", "action": "email", "days_past_due": 1, "interest": "statutory"}
            ]
        },
    },
    "late_payment_compensation": {"EUR": "40.00", "USD": "45.00"},
    "interest": {
        "base_rates": {
            "DE_BASIS": [{"effective_from": "2024-01-01", "percent": "3.62"}],
            "ECB": [
                {"effective_from": "2025-01-01", "percent": "3.15"},
                {"effective_from": "2025-07-01", "percent": "2.15"},
            ],
        },
        "statutory": {
            "DE": {"base_rate": "DE_BASIS", "points": "9"},
            "US": None,
            "default": {"base_rate": "ECB", "points": "8"},
        },
    },
}
POLICIES = DunningPolicies.model_validate(POLICY_DATA)


# --- frame builders ------------------------------------------------------------------------------


def item(
    doc: str,
    open_amount: int,
    *,
    dpd: int = 10,
    customer: str = "C1",
    company: str = "1000",
    currency: str = "EUR",
    doc_type: str = "INV",
    amount: int | None = None,
    block: bool = False,
    as_of: pd.Timestamp = AS_OF,
) -> dict:
    due = as_of - pd.Timedelta(days=dpd)
    return {
        "company_code": company,
        "document_no": doc,
        "document_type": doc_type,
        "customer_id": customer,
        "document_date": due - pd.Timedelta(days=30),
        "due_date": due,
        "currency": currency,
        "amount": open_amount if amount is None else amount,
        "open_amount": open_amount,
        "reference": None,
        "dunning_block": block,
        "discount_pct": None,
        "discount_days": None,
    }


def frame(
    rows: list[dict], text: tuple[str, ...], money: tuple[str, ...] = (), dates: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Rows typed as the readers type them: text ``string``, money Int64 cents, dates datetime64,
    index = source row number."""
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    typed = {
        k: pd.array(v, dtype="string")
        if k in text
        else pd.array(v, dtype="Int64")
        if k in money
        else pd.to_datetime(pd.Series(v, dtype=object)).to_numpy()
        if k in dates
        else v
        for k, v in columns.items()
    }
    return pd.DataFrame(typed, index=range(2, len(rows) + 2))


def items(*rows: dict) -> pd.DataFrame:
    if not rows:
        return frame([item("X", 1)], ()).iloc[0:0]
    return frame(
        list(rows),
        ("company_code", "document_no", "document_type", "customer_id", "currency", "reference"),
        ("amount", "open_amount"),
        ("document_date", "due_date"),
    )


def customer(
    cid: str = "C1",
    *,
    segment: str = "STANDARD",
    policy: str | None = None,
    block: bool = False,
    language: str = "de",
    country: str = "DE",
    currency: str = "EUR",
    company: str = "1000",
) -> dict:
    return {
        "customer_id": cid,
        "name": f"Customer {cid}",
        "email": f"ap@{cid.lower()}.example",
        "language": language,
        "country": country,
        "currency": currency,
        "payment_terms_days": 30,
        "credit_limit": 1_000_000,
        "segment": segment,
        "dunning_policy": policy,
        "dunning_block": block,
        "collector": "Anna",
        "iban": None,
        "company_code": company,
    }


def customers(*rows: dict) -> pd.DataFrame:
    rows = rows or (customer(),)
    return frame(
        list(rows),
        (
            "customer_id",
            "name",
            "email",
            "language",
            "country",
            "currency",
            "segment",
            "dunning_policy",
            "collector",
            "iban",
            "company_code",
        ),
        ("credit_limit",),
    )


def dispute(
    doc: str | None,
    *,
    customer: str = "C1",
    company: str = "1000",
    status: str = "OPEN",
    opened: int = -5,
    resolved: int | None = None,
    as_of: pd.Timestamp = AS_OF,
    amount: int = 10**12,
) -> dict:
    # the default disputes more than any item here is open: a dispute of the whole item,
    # which pauses it (a dispute of part of an item pauses only that part, test_dunning_disputes)
    return {
        "dispute_id": f"D-{doc}-{status}",
        "company_code": company,
        "document_no": doc,
        "customer_id": customer,
        "reason_code": "PRICING",
        "amount": amount,
        "status": status,
        "opened_on": as_of + pd.Timedelta(days=opened),
        "resolved_on": None if resolved is None else as_of + pd.Timedelta(days=resolved),
        "owner": "Sales",
    }


def disputes(*rows: dict) -> pd.DataFrame:
    return frame(
        list(rows),
        ("dispute_id", "company_code", "document_no", "customer_id", "reason_code", "status", "owner"),
        ("amount",),
        ("opened_on", "resolved_on"),
    )


def promise(
    pid: str,
    amount: int,
    *,
    doc: str | None,
    promised: int,
    created: int = -10,
    customer: str = "C1",
    company: str = "1000",
    as_of: pd.Timestamp = AS_OF,
) -> dict:
    return {
        "promise_id": pid,
        "company_code": company,
        "customer_id": customer,
        "document_no": doc,
        "promised_amount": amount,
        "promised_date": as_of + pd.Timedelta(days=promised),
        "created_on": as_of + pd.Timedelta(days=created),
    }


def promises(*rows: dict) -> pd.DataFrame:
    return frame(
        list(rows),
        ("promise_id", "company_code", "customer_id", "document_no"),
        ("promised_amount",),
        ("promised_date", "created_on"),
    )


def history(*rows: tuple, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    """(document_no, level, reached n days before as_of[, company_code])"""
    return pd.DataFrame(
        {
            "company_code": [r[3] if len(r) > 3 else "1000" for r in rows],
            "document_no": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "as_of": [as_of - pd.Timedelta(days=r[2]) for r in rows],
        }
    )


def run(
    open_items: pd.DataFrame,
    *,
    custs: pd.DataFrame | None = None,
    disp: pd.DataFrame | None = None,
    prom: pd.DataFrame | None = None,
    hist: pd.DataFrame | None = None,
    policies: DunningPolicies = POLICIES,
    as_of: pd.Timestamp = AS_OF,
) -> DunningProposal:
    return propose_dunning(open_items, customers() if custs is None else custs, disp, prom, hist, policies, as_of)


def levels(p: DunningProposal) -> dict[str, int]:
    return dict(zip(p.items["document_no"], p.items["level"]))


def reasons(p: DunningProposal) -> dict[str, str]:
    return dict(zip(p.skipped["document_no"], p.skipped["reason"]))


# --- configuration -------------------------------------------------------------------------------


def test_shipped_policies_load_with_the_three_defaults() -> None:
    shipped = load_dunning_policies()
    assert {"STANDARD", "KEY_ACCOUNT", "LOW_VALUE"} <= set(shipped.policies)
    assert shipped.segments["KEY_ACCOUNT"] == "KEY_ACCOUNT" and shipped.default_policy == "STANDARD"
    standard = shipped.policies["STANDARD"].levels
    assert [lv.template for lv in standard[:3]] == ["reminder_1", "reminder_2", "final_notice"]
    assert standard[-1].action == "handover"
    assert sum(lv.compensation for lv in standard) == 1
    assert shipped.late_payment_compensation["EUR"] == Decimal("40.00")
    assert {lv.action for lv in shipped.policies["KEY_ACCOUNT"].levels} <= {"call_task", "handover"}
    assert {lv.action for lv in shipped.policies["LOW_VALUE"].levels} == {"email"}
    assert shipped.interest.statutory["DE"].points == Decimal("9")
    assert shipped.interest.rate_for("XX").points == Decimal("8")  # the Directive's minimum


def test_the_shipped_defaults_dun_the_sample_set(valid_set: Path) -> None:
    from receivables.extracts import read_extract_set
    from receivables.mappings import load_mapping

    frames = read_extract_set(str(valid_set), load_mapping("canonical"), as_of=date(2026, 10, 31)).frames
    p = propose_dunning(
        frames["open_items"],
        frames["customers"],
        frames["disputes"],
        frames["promises"],
        None,
        load_dunning_policies(),
        date(2026, 11, 30),
    )
    assert set(p.notices["customer_id"]) == {"C001", "C002", "C003"}
    assert p.notices.set_index("customer_id").loc["C003", "action"] == "call_task"  # key account: no e-mail
    assert p.notices.set_index("customer_id").loc["C001", "credit_amount"] == -11900  # the credit note nets
    # D001 disputes 250.00 of INV-000124's 7,250.75: a partial dispute pauses only its part
    # (issue 17), so the item is on C003's notice claiming 7,000.75 instead of being skipped
    assert reasons(p) == {}
    item = p.items.set_index("document_no").loc["INV-000124"]
    assert (item["open_amount"], item["disputed_amount"]) == (725075, 25000)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"default_policy": "NOPE"}, "default_policy 'NOPE' is not one of the policies"),
        ({"segments": {"SME": "MISSING"}}, "SME -> MISSING"),
        ({"policies.STANDARD.levels.1.fee": {"EUR": "5.001"}}, "policies.STANDARD.levels.1.fee"),
        ({"policies.STANDARD.levels.1.level": 3}, "numbered 1, 2, ..."),
        ({"policies.STANDARD.levels.1.days_past_due": 5}, "days_past_due must increase"),
        ({"policies.STANDARD.levels.1.compensation": True}, "one level only"),
        ({"policies.STANDARD.levels.0.action": "fax"}, "policies.STANDARD.levels.0.action"),
        ({"interest.statutory": {"DE": {"base_rate": "BUBA", "points": "9"}}}, "base rate 'BUBA' is not in base_rates"),
        ({"late_payment_compensation": {"EURO": "40"}}, "not an ISO 4217 currency code"),
    ],
)
def test_a_bad_policies_file_is_one_readable_paragraph(tmp_path: Path, change: dict, message: str) -> None:
    import copy

    import yaml

    data = copy.deepcopy(POLICY_DATA)
    for path, value in change.items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    bad = tmp_path / "dunning.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_dunning_policies(bad)
    text = str(err.value)
    assert message in text and str(bad) in text and "\n" not in text and "https://" not in text


def test_missing_or_broken_policies_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_dunning_policies(tmp_path / "nope.yaml")
    (tmp_path / "x.yaml").write_text("policies: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_dunning_policies(tmp_path / "x.yaml")


def test_policy_by_override_then_segment_then_default() -> None:
    custs = customers(
        customer("C1", segment="KEY_ACCOUNT"),
        customer("C2", segment="KEY_ACCOUNT", policy="standard"),  # the override wins, any case
        customer("C3", segment="SOMETHING_NEW"),  # unknown segment: the default policy
        customer("C4", policy="GONE"),  # an override naming no policy: held, not guessed
    )
    p = run(items(*[item(f"I{c}", 10_000, dpd=8, customer=f"C{c}") for c in range(1, 6)]), custs=custs)
    policy = dict(zip(p.notices["customer_id"], p.notices["policy"]))
    assert policy == {"C1": "KEY_ACCOUNT", "C2": "STANDARD", "C3": "STANDARD"}
    assert reasons(p) == {"I4": "UNKNOWN_POLICY", "I5": "UNKNOWN_CUSTOMER"}


# --- when an item advances -----------------------------------------------------------------------


def test_an_item_not_yet_due_is_never_dunned() -> None:
    p = run(
        items(item("DUE_TODAY", 50_000, dpd=0), item("DUE_LATER", 50_000, dpd=-5)),
        hist=history(("DUE_TODAY", 1, 30), ("DUE_LATER", 2, 30)),
    )
    assert p.notices.empty and p.items.empty and p.skipped.empty


def test_level_one_only_once_days_past_due_is_reached() -> None:
    assert run(items(item("A", 50_000, dpd=6))).notices.empty
    p = run(items(item("A", 50_000, dpd=7)))
    assert levels(p) == {"A": 1}
    n = p.notices.iloc[0]
    assert (n["level"], n["action"], n["template"], n["language"], n["overdue_amount"]) == (
        1,
        "email",
        "reminder_1",
        "de",
        50_000,
    )


def test_an_item_advances_at_most_one_level_per_run() -> None:
    p = run(items(item("OLD", 50_000, dpd=200)))
    assert levels(p) == {"OLD": 1}
    p = run(items(item("OLD", 50_000, dpd=200)), hist=history(("OLD", 1, 14)))
    assert levels(p) == {"OLD": 2}


def test_the_next_level_waits_for_the_minimum_days_since_the_previous_notice() -> None:
    p = run(items(item("A", 50_000, dpd=40)), hist=history(("A", 1, 13)))
    assert p.notices.empty and reasons(p) == {"A": "TOO_SOON"}
    p = run(items(item("A", 50_000, dpd=40)), hist=history(("A", 1, 14)))
    assert levels(p) == {"A": 2}
    # days past due are not enough either: level 2 needs 21 even long after level 1
    p = run(items(item("A", 50_000, dpd=20)), hist=history(("A", 1, 13)))
    assert p.notices.empty and p.skipped.empty


def test_an_item_at_the_last_level_stays_there_and_is_listed_with_the_others() -> None:
    hist = history(("TOP", 4, 60))
    p = run(items(item("TOP", 50_000, dpd=150)), hist=hist)
    assert p.notices.empty and reasons(p) == {"TOP": "MAX_LEVEL"}
    p = run(items(item("TOP", 50_000, dpd=150), item("NEW", 20_000, dpd=8)), hist=hist)
    assert levels(p) == {"TOP": 4, "NEW": 1}
    n = p.notices.iloc[0]
    assert (n["level"], n["action"], n["fees"]) == (4, "handover", 0)  # no new escalation


def test_no_notice_on_a_day_nothing_advances() -> None:
    p = run(items(item("A", 50_000, dpd=12), item("B", 30_000, dpd=3)), hist=history(("A", 1, 5)))
    assert p.notices.empty and p.items.empty


def test_one_notice_per_customer_company_and_currency_at_the_highest_item_level() -> None:
    p = run(
        items(
            item("A", 50_000, dpd=40),  # level 1 -> 2
            item("B", 20_000, dpd=8),  # 0 -> 1
            item("C", 10_000, dpd=3),  # overdue, not yet level 1: listed at 0
            item("D", 10_000, dpd=-3),  # not due: not listed
            item("U", 70_000, dpd=8, currency="USD"),
            item("K", 80_000, dpd=8, company="2000"),
        ),
        hist=history(("A", 1, 20)),
    )
    assert len(p.notices) == 3
    eur = p.notices[(p.notices["company_code"] == "1000") & (p.notices["currency"] == "EUR")].iloc[0]
    assert eur["level"] == 2 and eur["overdue_amount"] == 80_000 and eur["template"] == "reminder_2"
    on_eur = p.items[p.items["notice_id"] == eur["notice_id"]]
    assert dict(zip(on_eur["document_no"], zip(on_eur["previous_level"], on_eur["level"]))) == {
        "A": (1, 2),
        "B": (0, 1),
        "C": (0, 0),
    }
    assert eur["notice_id"] == notice_id(AS_OF.date(), "1000", "C1", "EUR")


def test_notice_ids_are_stable_and_the_same_inputs_give_the_same_proposal() -> None:
    rows = items(item("A", 50_000, dpd=40), item("B", 20_000, dpd=8, currency="USD"))
    first, again = run(rows, hist=history(("A", 1, 20))), run(rows.iloc[::-1], hist=history(("A", 1, 20)))
    for name in ("notices", "items", "skipped", "broken_promises"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    assert notice_id(date(2026, 3, 31), "1000", "C1", "EUR") == notice_id(AS_OF, "1000", "C1", "EUR")
    assert notice_id(date(2026, 4, 1), "1000", "C1", "EUR") != notice_id(AS_OF, "1000", "C1", "EUR")


def test_items_with_nothing_open_are_ignored() -> None:
    p = run(items(item("PAID", 0, dpd=40, amount=50_000), item("A", 50_000, dpd=8)))
    assert set(p.items["document_no"]) == {"A"}


def test_the_history_may_hold_every_row_the_latest_counts() -> None:
    hist = history(("A", 1, 40), ("A", 2, 20), ("A", 1, 30))
    assert levels(run(items(item("A", 50_000, dpd=60)), hist=hist)) == {"A": 3}


def test_key_accounts_get_call_tasks_not_emails() -> None:
    p = run(
        items(item("K", 5_000_000, dpd=5, currency="USD", customer="K1")),
        custs=customers(customer("K1", segment="KEY_ACCOUNT", currency="USD", language="en")),
    )
    n = p.notices.iloc[0]
    assert (n["action"], n["template"], n["policy"], n["language"]) == (
        "call_task",
        "call_key_account",
        "KEY_ACCOUNT",
        "en",
    )


# --- why an item is skipped ----------------------------------------------------------------------


def test_an_open_dispute_pauses_the_item() -> None:
    rows = items(item("A", 50_000, dpd=10), item("B", 30_000, dpd=10))
    assert reasons(run(rows, disp=disputes(dispute("A")))) == {"A": "DISPUTE"}
    assert levels(run(rows, disp=disputes(dispute("A")))) == {"B": 1}
    # resolved: dunning resumes; resolved only after as_of (a rerun of an earlier date): still open
    assert reasons(run(rows, disp=disputes(dispute("A", status="RESOLVED", resolved=0)))) == {}
    assert reasons(run(rows, disp=disputes(dispute("A", status="RESOLVED", resolved=3)))) == {"A": "DISPUTE"}
    # opened after as_of: not yet
    assert reasons(run(rows, disp=disputes(dispute("A", opened=2)))) == {}
    # a dispute without a document is about the account: all of it pauses
    assert reasons(run(rows, disp=disputes(dispute(None)))) == {"A": "DISPUTE", "B": "DISPUTE"}


def test_item_and_customer_blocks() -> None:
    rows = items(item("A", 50_000, block=True), item("B", 30_000), item("Z", 30_000, customer="C2"))
    p = run(rows, custs=customers(customer("C1"), customer("C2", block=True)))
    assert reasons(p) == {"A": "ITEM_BLOCK", "Z": "CUSTOMER_BLOCK"}
    assert levels(p) == {"B": 1}


def test_an_active_promise_pauses_until_promised_date_plus_grace() -> None:
    rows = items(item("A", 50_000, dpd=30))
    for promised in (5, 0, -3):  # grace 3 days: still active three days after the promised date
        p = run(rows, prom=promises(promise("P1", 50_000, doc="A", promised=promised)))
        assert reasons(p) == {"A": "PROMISE"} and p.broken_promises.empty
    p = run(rows, prom=promises(promise("P1", 50_000, doc="A", promised=-4)))
    assert levels(p) == {"A": 1}  # dunning resumes ...
    broken = p.broken_promises.iloc[0]  # ... and the broken promise is recorded
    assert (broken["promise_id"], broken["document_no"], broken["promised_amount"], broken["covered_open_amount"]) == (
        "P1",
        "A",
        50_000,
        50_000,
    )
    # a promise made after as_of is not known yet
    assert reasons(run(rows, prom=promises(promise("P1", 50_000, doc="A", promised=5, created=1)))) == {}


def test_a_promise_kept_in_part_is_not_broken() -> None:
    # promised 300.00 of 500.00 and paid 300.00: kept, the rest is dunned again
    p = run(
        items(item("A", 20_000, amount=50_000, dpd=30)), prom=promises(promise("P1", 30_000, doc="A", promised=-10))
    )
    assert p.broken_promises.empty and levels(p) == {"A": 1}
    # paid only 299.99: broken
    p = run(
        items(item("A", 20_001, amount=50_000, dpd=30)), prom=promises(promise("P1", 30_000, doc="A", promised=-10))
    )
    assert list(p.broken_promises["promise_id"]) == ["P1"]
    # paid in full: the item left the extract, nothing to judge, nothing broken
    assert run(
        items(item("B", 1_000)), prom=promises(promise("P1", 30_000, doc="A", promised=-10))
    ).broken_promises.empty


def test_a_whole_account_promise_covers_what_is_due_by_the_promised_date() -> None:
    rows = items(item("A", 50_000, dpd=30), item("B", 20_000, dpd=8), item("LATE", 10_000, dpd=1))
    p = run(rows, prom=promises(promise("P1", 70_000, doc=None, promised=-2)))  # still in grace
    assert reasons(p) == {"A": "PROMISE", "B": "PROMISE"}  # LATE fell due after the promised date
    p = run(rows, prom=promises(promise("P1", 70_000, doc=None, promised=-10)))
    assert list(p.broken_promises["covered_open_amount"]) == [50_000]  # B was due after the promised date
    assert levels(p) == {"A": 1, "B": 1, "LATE": 0}


def test_below_the_level_minimum() -> None:
    p = run(items(item("SMALL", 999, dpd=10)))
    assert p.notices.empty and reasons(p) == {"SMALL": "BELOW_MINIMUM"}
    # the minimum is the customer's total, not the item's
    assert levels(run(items(item("SMALL", 999, dpd=10), item("MORE", 1, dpd=10)))) == {"SMALL": 1, "MORE": 1}
    # level 3 asks for 25.00: a 20.00 account stops at level 2
    p = run(items(item("A", 2_000, dpd=40)), hist=history(("A", 2, 14)))
    assert reasons(p) == {"A": "BELOW_MINIMUM"}


def test_credits_net_against_the_overdue_total() -> None:
    covered = items(item("A", 10_000, dpd=10), item("CN", -10_000, doc_type="CRN", dpd=-20))
    p = run(covered)
    assert p.notices.empty and reasons(p) == {"A": "CREDIT_BALANCE"}
    p = run(items(item("A", 10_000, dpd=10), item("PMT", -4_000, doc_type="PMT", dpd=5)))
    n = p.notices.iloc[0]
    assert (n["overdue_amount"], n["credit_amount"]) == (10_000, -4_000)
    # 30.00 overdue less a 25.00 credit is under the 10.00 minimum
    assert reasons(run(items(item("A", 3_000), item("CN", -2_500, doc_type="CRN")))) == {"A": "BELOW_MINIMUM"}
    # credits in another currency or company code do not net
    assert levels(run(items(item("A", 10_000), item("CN", -10_000, doc_type="CRN", currency="USD")))) == {"A": 1}


# --- fees and interest to the cent ---------------------------------------------------------------


def test_the_level_fee_is_charged_once_per_escalation() -> None:
    hist = history(("A", 1, 20))
    p = run(items(item("A", 50_000, dpd=40)), hist=hist)
    assert p.notices.iloc[0]["fees"] == 500  # reminder 2: 5.00 EUR
    # later: another item reaches level 1, the account is already at level 2: no new charge
    p = run(items(item("A", 50_000, dpd=45), item("B", 20_000, dpd=8)), hist=history(("A", 2, 5)))
    assert p.notices.iloc[0]["level"] == 2 and p.notices.iloc[0]["fees"] == 0


def test_the_flat_compensation_once_per_invoice_at_the_final_notice() -> None:
    rows = items(
        item("INV1", 100_000, dpd=40),
        item("INV2", 50_000, dpd=40),
        item("ADJ1", 30_000, dpd=40, doc_type="ADJ"),  # not an invoice
        item("INV3", 20_000, dpd=40),  # still at level 1: not yet
    )
    hist = history(("INV1", 2, 14), ("INV2", 2, 14), ("ADJ1", 2, 14), ("INV3", 1, 10))
    p = run(rows, hist=hist)
    fee = dict(zip(p.items["document_no"], p.items["fee"]))
    assert fee == {"INV1": 4_000, "INV2": 4_000, "ADJ1": 0, "INV3": 0}
    assert p.notices.iloc[0]["fees"] == 8_000 and p.notices.iloc[0]["template"] == "final_notice"
    # the next notice (INV3 advances) lists INV1 at level 3 again: not charged twice
    later = run(rows, hist=history(("INV1", 3, 4), ("INV2", 3, 4), ("ADJ1", 3, 4), ("INV3", 1, 14)))
    assert levels(later)["INV3"] == 2 and later.items["fee"].sum() == 0 and later.notices.iloc[0]["fees"] == 0
    # in USD the configured equivalent
    usd = run(items(item("U", 100_000, dpd=40, currency="USD")), hist=history(("U", 2, 14)))
    assert list(usd.items["fee"]) == [4_500]


def test_statutory_interest_to_the_cent() -> None:
    # 1,000.00 EUR, 30 days, German B2B rate: base rate 3.62 % + 9 points = 12.62 %
    # 1000.00 x 12.62 % x 30 / 365 = 10.3726... -> 10.37
    custs = customers(customer("C1", segment="EARLY_INTEREST"))
    p = run(items(item("A", 100_000, dpd=30)), custs=custs)
    assert list(p.items["interest"]) == [1_037] and p.notices.iloc[0]["interest"] == 1_037
    # a Spanish customer: the EU minimum, ECB rate + 8 points
    es = run(items(item("A", 100_000, dpd=30)), custs=customers(customer("C1", segment="EARLY_INTEREST", country="ES")))
    assert list(es.items["interest"]) == [round(100_000 * (Decimal("2.15") + 8) * 30 / 36500)]
    # no statutory rate configured for the country: none
    us = run(items(item("A", 100_000, dpd=30)), custs=customers(customer("C1", segment="EARLY_INTEREST", country="US")))
    assert list(us.items["interest"]) == [0]


def test_interest_across_a_base_rate_change_uses_each_days_rate() -> None:
    ecb = POLICIES.interest.base_rates["ECB"]
    # June 16..30 at 3.15 + 8, July 1..15 at 2.15 + 8
    rate_days = statutory_rate_days(ecb, Decimal(8), date(2025, 6, 15), date(2025, 7, 15))
    assert rate_days == 15 * Decimal("11.15") + 15 * Decimal("10.15")
    as_of = pd.Timestamp("2025-07-15")
    p = run(
        items(item("A", 100_000, dpd=30, as_of=as_of)),
        custs=customers(customer("C1", segment="EARLY_INTEREST", country="ES")),
        as_of=as_of,
    )
    assert list(p.items["interest"]) == [875]  # 100000 x 319.5 / 36500 = 875.34


def test_interest_rounds_half_up_once_per_item() -> None:
    # 10 % fixed for 73 days is 2 % of the amount: 1.25 EUR -> 2.5 cents -> 3 (half-up, not 2)
    custs = customers(customer("C1", segment="FIXED"))
    p = run(items(item("A", 125, dpd=73), item("B", 100_000, dpd=73)), custs=custs)
    assert dict(zip(p.items["document_no"], p.items["interest"])) == {"A": 3, "B": 2_000}


def test_interest_only_on_items_whose_level_claims_it() -> None:
    rows = items(item("OLD", 100_000, dpd=40), item("NEW", 50_000, dpd=8))
    p = run(rows, hist=history(("OLD", 2, 14)))
    interest = dict(zip(p.items["document_no"], p.items["interest"]))
    # OLD reaches the final notice: 1000.00 x 12.62 % x 40 / 365 = 13.83; NEW is only at level 1
    assert interest == {"OLD": 1_383, "NEW": 0}


def test_the_company_codes_country_decides_the_law_when_configured() -> None:
    data = {**POLICY_DATA, "interest": {**POLICY_DATA["interest"], "company_countries": {"1000": "DE"}}}
    policies = DunningPolicies.model_validate(data)
    custs = customers(customer("C1", segment="EARLY_INTEREST", country="US"))
    p = run(items(item("A", 100_000, dpd=30)), custs=custs, policies=policies)
    assert list(p.items["interest"]) == [1_037]  # German law, not "no rate" for the US customer


# --- properties ----------------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    """A few customers with random items, history, disputes, blocks and promises."""
    n_customers = draw(st.integers(1, 4))
    custs = [
        customer(
            f"C{i}",
            segment=draw(st.sampled_from(["STANDARD", "KEY_ACCOUNT", "OTHER"])),
            block=draw(st.integers(0, 9)) == 0,
        )
        for i in range(n_customers)
    ]
    rows, hist, disp, prom = [], [], [], []
    for j in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["INV", "INV", "INV", "CRN", "ADJ"]))
        cents = {"INV": st.integers(0, 300_000), "CRN": st.integers(-100_000, -1), "ADJ": st.integers(-5_000, 5_000)}[
            kind
        ]
        cust = f"C{draw(st.integers(0, n_customers - 1))}" if draw(st.integers(0, 7)) else "NOT_IN_MASTER"
        doc, company = f"D{j}", draw(st.sampled_from(["1000", "2000"]))
        rows.append(
            item(
                doc,
                draw(cents),
                dpd=draw(st.integers(-15, 120)),
                customer=cust,
                company=company,
                currency=draw(st.sampled_from(["EUR", "USD"])),
                doc_type=kind,
                block=draw(st.integers(0, 9)) == 0,
            )
        )
        if draw(st.booleans()):
            hist.append((doc, draw(st.integers(1, 5)), draw(st.integers(1, 60)), company))
        if draw(st.integers(0, 6)) == 0:
            status = draw(st.sampled_from(["OPEN", "RESOLVED"]))
            disp.append(
                dispute(
                    doc if draw(st.integers(0, 4)) else None,
                    customer=cust,
                    company=company,
                    status=status,
                    opened=draw(st.integers(-30, 3)),
                    resolved=draw(st.integers(-10, 10)) if status == "RESOLVED" else None,
                )
            )
        if draw(st.integers(0, 6)) == 0:
            prom.append(
                promise(
                    f"P{j}",
                    draw(st.integers(1, 300_000)),
                    doc=doc if draw(st.booleans()) else None,
                    promised=draw(st.integers(-20, 20)),
                    created=draw(st.integers(-30, 3)),
                    customer=cust,
                    company=company,
                )
            )
    return {
        "open_items": items(*rows),
        "customers": customers(*custs),
        "disputes": disputes(*disp) if disp else None,
        "promises": promises(*prom) if prom else None,
        "history": history(*hist) if hist else None,
    }


def _propose(w: dict) -> DunningProposal:
    return propose_dunning(w["open_items"], w["customers"], w["disputes"], w["promises"], w["history"], POLICIES, AS_OF)


def _expected_exclusions(w: dict) -> set[tuple[str, str]]:
    """Items that must be on no notice, worked out independently of the engine."""
    o, c = w["open_items"], w["customers"].set_index("customer_id")
    out = {
        (r.company_code, r.document_no)
        for r in o.itertuples()
        if r.due_date >= AS_OF
        or bool(r.dunning_block)
        or r.customer_id not in c.index
        or bool(c.loc[r.customer_id, "dunning_block"])
    }
    if w["disputes"] is not None:
        for d in w["disputes"].itertuples():
            started = d.opened_on <= AS_OF
            still = d.status == "OPEN" or (not pd.isna(d.resolved_on) and d.resolved_on > AS_OF)
            if started and still:
                out |= {
                    (r.company_code, r.document_no)
                    for r in o.itertuples()
                    if r.company_code == d.company_code
                    and (
                        r.document_no == d.document_no if not pd.isna(d.document_no) else r.customer_id == d.customer_id
                    )
                }
    if w["promises"] is not None:
        for p in w["promises"].itertuples():
            segment = c.loc[p.customer_id, "segment"] if p.customer_id in c.index else "STANDARD"
            grace = 5 if segment == "KEY_ACCOUNT" else 3
            if p.created_on <= AS_OF <= p.promised_date + pd.Timedelta(days=grace):
                out |= {
                    (r.company_code, r.document_no)
                    for r in o.itertuples()
                    if r.company_code == p.company_code
                    and (
                        r.document_no == p.document_no
                        if not pd.isna(p.document_no)
                        else r.customer_id == p.customer_id and r.due_date <= p.promised_date
                    )
                }
    return out


PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(worlds())
def test_property_levels_move_at_most_one_step_and_excluded_items_are_never_dunned(w: dict) -> None:
    p = _propose(w)
    before = (
        {} if w["history"] is None else {(r.company_code, r.document_no): r.level for r in w["history"].itertuples()}
    )
    for r in p.items.itertuples():
        assert r.previous_level == before.get((r.company_code, r.document_no), 0)
        assert r.level - r.previous_level in (0, 1)
        assert r.days_past_due >= 1 and r.open_amount > 0
    listed = set(zip(p.items["company_code"], p.items["document_no"]))
    assert not listed & _expected_exclusions(w)
    excluded = p.skipped[p.skipped["reason"].isin(EXCLUSION_REASONS)]
    assert not listed & set(zip(excluded["company_code"], excluded["document_no"]))


@PROPERTY_SETTINGS
@given(worlds())
def test_property_notices_add_up_and_every_overdue_item_is_accounted_for(w: dict) -> None:
    p = _propose(w)
    assert not p.notices.duplicated(["company_code", "customer_id", "currency"]).any()
    for n in p.notices.itertuples():
        on = p.items[p.items["notice_id"] == n.notice_id]
        assert n.level == on["level"].max() and (on["level"] > on["previous_level"]).any()
        assert n.overdue_amount == on["open_amount"].sum() and n.interest == on["interest"].sum()
        assert n.fees >= on["fee"].sum() and n.credit_amount <= 0
        assert set(on["customer_id"]) == {n.customer_id} and set(on["currency"]) == {n.currency}
    assert set(p.skipped["reason"]) <= set(SKIP_REASONS)
    # every overdue debit is on a notice, skipped with a reason, or not yet due for its next level
    listed = set(zip(p.items["company_code"], p.items["document_no"]))
    skipped = set(zip(p.skipped["company_code"], p.skipped["document_no"]))
    before = (
        {} if w["history"] is None else {(r.company_code, r.document_no): r.level for r in w["history"].itertuples()}
    )
    segment = dict(zip(w["customers"]["customer_id"], w["customers"]["segment"]))
    for r in w["open_items"].itertuples():
        key = (r.company_code, r.document_no)
        if r.open_amount <= 0 or r.due_date >= AS_OF or key in listed or key in skipped:
            continue
        policy = POLICIES.policies[POLICIES.segments.get(segment.get(r.customer_id), "STANDARD")]
        nxt = before.get(key, 0) + 1
        assert nxt <= len(policy.levels) and (AS_OF - r.due_date).days < policy.levels[nxt - 1].days_past_due


@PROPERTY_SETTINGS
@given(worlds(), st.randoms(use_true_random=False))
def test_property_same_inputs_same_output_whatever_the_row_order(w: dict, rnd: random.Random) -> None:
    first = _propose(w)
    shuffled = {
        k: (v.sample(frac=1, random_state=rnd.randint(0, 2**31)) if isinstance(v, pd.DataFrame) else v)
        for k, v in w.items()
    }
    again = _propose(shuffled)
    for name in ("notices", "items", "skipped", "broken_promises"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))


# --- the state in the warehouse ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = connect(url)
    migrate(eng)
    yield eng
    eng.dispose()


def _night(
    eng: sa.Engine, as_of: pd.Timestamp, open_items: pd.DataFrame, *, redo: bool = False, **frames
) -> DunningProposal:
    """One nightly dunning stage: read the state before as_of, propose, write, one transaction."""
    with eng.begin() as conn:
        hist = previous_levels(conn, as_of)
        p = propose_dunning(
            open_items, frames.get("custs", customers()), frames.get("disp"), frames.get("prom"), hist, POLICIES, as_of
        )
        write_dunning(conn, as_of, f"run-{as_of:%Y%m%d}", p, redo=redo)
    return p


def _rows(eng: sa.Engine, table: str) -> pd.DataFrame:
    return (
        read_table(eng, table)
        .drop(columns=[c for c in ("id", "run_id") if c in read_table(eng, table)])
        .sort_values(["as_of"] + (["notice_id", "document_no"] if table == "dunning_items" else ["notice_id"]))
        .reset_index(drop=True)
    )


def test_a_rerun_for_the_same_as_of_reproduces_its_notices_instead_of_advancing(engine: sa.Engine) -> None:
    d1, d2 = AS_OF, AS_OF + pd.Timedelta(days=14)

    def rows(d):
        return items(
            item("A", 50_000, dpd=(d - (AS_OF - pd.Timedelta(days=30))).days, as_of=d),
            item("B", 20_000, dpd=8, as_of=d),
            item("CN", -1_000, doc_type="CRN", as_of=d),
        )

    first = _night(engine, d1, rows(d1))
    second = _night(engine, d2, rows(d2))
    assert levels(first) == {"A": 1, "B": 1} and levels(second) == {"A": 2, "B": 1}
    notices, lines = _rows(engine, "dunning_notices"), _rows(engine, "dunning_items")
    for _ in range(2):
        again = _night(engine, d2, rows(d2))
        for name in ("notices", "items", "skipped", "broken_promises"):
            pd.testing.assert_frame_equal(getattr(again, name), getattr(second, name))
        pd.testing.assert_frame_equal(_rows(engine, "dunning_notices"), notices)
        pd.testing.assert_frame_equal(_rows(engine, "dunning_items"), lines)
    stored = read_dunning(engine, d2)
    for name in ("notices", "items", "skipped", "broken_promises"):
        pd.testing.assert_frame_equal(getattr(stored, name), getattr(second, name))
    assert read_table(engine, "dunning_notices", d2)["fees"].tolist() == [Decimal("5.00")]
    assert read_dunning(engine, d2 - pd.Timedelta(days=1)) is None


def test_an_earlier_date_changes_no_dunning_state_unless_asked(engine: sa.Engine) -> None:
    d1, d2 = AS_OF, AS_OF + pd.Timedelta(days=20)
    _night(engine, d1, items(item("A", 50_000, dpd=10)))
    _night(engine, d2, items(item("A", 50_000, dpd=30, as_of=d2)))
    assert latest_dunning_as_of(engine) == d2.date()
    assert dunning_allowed(engine, d2) and dunning_allowed(engine, d2 + pd.Timedelta(days=1))
    assert not dunning_allowed(engine, d1) and dunning_allowed(engine, d1, redo=True)
    before = _rows(engine, "dunning_items")
    with pytest.raises(DunningStateError, match="redo"):
        _night(engine, d1, items(item("A", 50_000, dpd=10), item("B", 30_000, dpd=10)))
    pd.testing.assert_frame_equal(_rows(engine, "dunning_items"), before)  # rolled back, untouched
    redone = _night(engine, d1, items(item("A", 50_000, dpd=10), item("B", 30_000, dpd=10)), redo=True)
    assert levels(redone) == {"A": 1, "B": 1}
    assert set(read_table(engine, "dunning_items", d2)["document_no"]) == {"A"}  # later dates keep their rows


def test_a_day_without_notices_still_counts_as_the_latest_dunning_date(engine: sa.Engine) -> None:
    assert latest_dunning_as_of(engine) is None and dunning_allowed(engine, AS_OF)
    quiet = _night(engine, AS_OF, items(item("A", 50_000, dpd=2)))
    assert quiet.notices.empty and latest_dunning_as_of(engine) == AS_OF.date()
    assert not dunning_allowed(engine, AS_OF - pd.Timedelta(days=1))


def test_previous_levels_is_the_level_and_the_date_it_was_reached(engine: sa.Engine) -> None:
    def line(day: int, doc: str, level: int) -> dict:
        return {
            "notice_id": f"N{day}",
            "company_code": "1000",
            "document_no": doc,
            "previous_level": 0,
            "level": level,
            "days_past_due": 10,
            "open_amount": 100,
            "interest": 0,
            "fee": 0,
            "as_of": (AS_OF + pd.Timedelta(days=day)).date(),
            "run_id": "r",
        }

    rows = [
        line(0, "A", 1),
        line(5, "A", 1),
        line(9, "A", 2),
        line(12, "A", 2),  # relisted at 2: still reached on day 9
        line(0, "Z", 0),  # listed but never dunned
        line(0, "R", 2),
        line(5, "R", 1),
        line(8, "R", 2),
    ]  # a redo left a dip: level 2 since day 8
    with engine.begin() as conn:
        conn.execute(sa.insert(sa.table("dunning_items", *[sa.column(c) for c in rows[0]])), rows)
    state = previous_levels(engine, AS_OF + pd.Timedelta(days=20))
    assert {r.document_no: (r.level, (r.as_of - AS_OF).days) for r in state.itertuples()} == {"A": (2, 9), "R": (2, 8)}
    state = previous_levels(engine, AS_OF + pd.Timedelta(days=8))  # strictly before as_of
    assert {r.document_no: (r.level, (r.as_of - AS_OF).days) for r in state.itertuples()} == {"A": (1, 0), "R": (1, 5)}
    assert list(state.columns) == ["company_code", "document_no", "level", "as_of"]


# --- 90 nightly runs on one warehouse ------------------------------------------------------------


START = pd.Timestamp("2026-01-05")


def _scenario_day(d: int) -> dict:
    """The extracts as the ERP would deliver them on day d of the scenario."""
    on = START + pd.Timedelta(days=d)

    def inv(doc: str, cust: str, due: int, cents: int, **kw) -> dict:
        return item(doc, cents, dpd=d - due, customer=cust, as_of=on, **kw)

    rows = [
        inv("A1", "STEADY", 0, 100_000),
        inv("A2", "STEADY", 10, 50_000),
        inv("B1", "LATE_START", -30, 200_000),
        inv("D1", "DISPUTING", 0, 80_000),
        inv("E1", "PROMISER", 0, 120_000),
        inv("G1", "KEY", 0, 5_000_000, currency="USD", company="3000"),
        inv("H1", "BLOCKED", 0, 90_000),
    ]
    if d < 24:  # paid the day before the promised date: kept
        rows.append(inv("F1", "KEEPER", 0, 60_000))
    if d < 10:  # paid after the first reminder
        rows.append(inv("J1", "PAYER", 0, 40_000))
    disp = []
    if 10 <= d < 40:
        disp.append(dispute("D1", customer="DISPUTING", opened=10 - d, as_of=on))
    elif d >= 40:
        disp.append(dispute("D1", customer="DISPUTING", status="RESOLVED", opened=10 - d, resolved=40 - d, as_of=on))
    prom = []
    if d >= 15:
        prom += [
            promise("P-E1", 120_000, doc="E1", customer="PROMISER", created=15 - d, promised=25 - d, as_of=on),
            promise("P-F1", 60_000, doc="F1", customer="KEEPER", created=15 - d, promised=25 - d, as_of=on),
        ]
    return {
        "as_of": on,
        "open_items": items(*rows),
        "disp": disputes(*disp) if disp else None,
        "prom": promises(*prom) if prom else None,
    }


SCENARIO_CUSTOMERS = customers(
    customer("STEADY"),
    customer("LATE_START"),
    customer("DISPUTING"),
    customer("PROMISER"),
    customer("KEEPER"),
    customer("PAYER"),
    customer("BLOCKED", block=True),
    customer("KEY", segment="KEY_ACCOUNT", currency="USD", country="US", language="en", company="3000"),
)


def test_ninety_nightly_runs_on_one_warehouse(tmp_path: Path) -> None:
    eng = connect(f"sqlite:///{tmp_path / 'scenario.db'}")
    migrate(eng)
    advanced: dict[str, list[tuple[int, int]]] = {}
    notices: dict[int, pd.DataFrame] = {}
    skipped: dict[int, dict[str, str]] = {}
    broken: dict[int, list[str]] = {}
    for d in range(90):
        x = _scenario_day(d)
        p = _night(eng, x["as_of"], x["open_items"], custs=SCENARIO_CUSTOMERS, disp=x["disp"], prom=x["prom"])
        for r in p.items[p.items["level"] > p.items["previous_level"]].itertuples():
            advanced.setdefault(r.document_no, []).append((d, r.level))
        notices[d] = p.notices.set_index("customer_id")
        skipped[d] = reasons(p)
        broken[d] = list(p.broken_promises["promise_id"])
        if d == 50:  # a rerun of the same night changes nothing
            again = _night(eng, x["as_of"], x["open_items"], custs=SCENARIO_CUSTOMERS, disp=x["disp"], prom=x["prom"])
            pd.testing.assert_frame_equal(again.items, p.items)
            assert not dunning_allowed(eng, START + pd.Timedelta(days=30))

    # level 1 a week after the due date, then every level once both its days past due and
    # 14 days since the previous level have passed, the handover at the end
    assert advanced["A1"] == [(7, 1), (21, 2), (35, 3), (50, 4)]
    assert advanced["A2"] == [(17, 1), (31, 2), (45, 3), (60, 4)]
    # already 30 days overdue at the start: one level per night, then held by the 14 days
    assert advanced["B1"] == [(0, 1), (14, 2), (28, 3), (42, 4)]
    assert all(skipped[d]["B1"] == "TOO_SOON" for d in range(1, 14))
    # the dispute pauses D1 from day 10; resolved on day 40 it resumes where it stood
    assert advanced["D1"] == [(7, 1), (40, 2), (54, 3), (68, 4)]
    assert all(skipped[d]["D1"] == "DISPUTE" for d in range(10, 40))
    # the promise pauses E1 until promised date + 3 days grace; broken on day 29, dunning resumes
    assert advanced["E1"] == [(7, 1), (29, 2), (43, 3), (57, 4)]
    assert all(skipped[d]["E1"] == "PROMISE" for d in range(15, 29))
    assert [d for d in range(90) if "P-E1" in broken[d]][0] == 29
    # a kept promise: paid before the date, never broken, never dunned again
    assert advanced["F1"] == [(7, 1)] and not any("P-F1" in b for b in broken.values())
    assert advanced["J1"] == [(7, 1)]
    # a key account: call tasks, then the handover, no e-mail ever
    assert advanced["G1"] == [(5, 1), (20, 2), (45, 3)]
    assert {notices[d].loc["KEY", "action"] for d in (5, 20, 45)} == {"call_task", "handover"}
    # a blocked customer is never dunned
    assert "H1" not in advanced and all(skipped[d]["H1"] == "CUSTOMER_BLOCK" for d in range(1, 90))

    steady = {d: notices[d].loc["STEADY"] for d in range(90) if "STEADY" in notices[d].index}
    assert {d: int(n["level"]) for d, n in steady.items()} == {7: 1, 17: 1, 21: 2, 31: 2, 35: 3, 45: 3, 50: 4, 60: 4}
    assert {d: n["action"] for d, n in steady.items() if n["level"] == 4} == {50: "handover", 60: "handover"}
    # reminder 2 charges 5.00 once; each invoice's 40.00 compensation once, on its final notice
    assert {d: int(n["fees"]) for d, n in steady.items() if n["fees"]} == {21: 500, 35: 4_000, 45: 4_000}
    # statutory interest from the final notice on (1000.00 x 12.62 % x 35 / 365 = 12.10 for A1)
    assert steady[21]["interest"] == 0 and steady[35]["interest"] == 1_210
    # ... and on day 45 A1 for 45 days (15.56) plus A2, now also at the final notice, for 35 (6.05)
    assert steady[45]["interest"] == 1_556 + 605

    # the warehouse holds the same story: the state after the last night
    final = previous_levels(eng, START + pd.Timedelta(days=90))
    reached = {r.document_no: (r.level, (r.as_of - START).days) for r in final.itertuples()}
    assert reached["A1"] == (4, 50) and reached["D1"] == (4, 68) and reached["F1"] == (1, 7)
    assert len(read_table(eng, "dunning_runs")) == 90
    eng.dispose()
