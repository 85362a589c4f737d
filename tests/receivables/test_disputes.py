"""The dispute lifecycle: target dates, breach, escalation tiers (hand-computed), the rules
file's validation, and the escalation email's outbox key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from receivables.dispute_rules import load_dispute_rules
from receivables.disputes import dispute_status, escalations_due
from receivables.disputes_escalation import escalation_key
from receivables.errors import ConfigError

RULES = load_dispute_rules()  # shipped: PRICING 14 days, QUALITY 21; tiers +0 (owner), +7 (manager)


def _disputes(*rows: tuple) -> pd.DataFrame:
    cols = ["dispute_id", "company_code", "document_no", "customer_id", "reason_code", "amount", "status"]
    cols += ["opened_on", "resolved_on", "owner"]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("opened_on", "resolved_on"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


D = _disputes(
    # PRICING opened 09-03: target 09-17; tier 1 from 09-18, tier 2 from 09-25
    ("D1", "1000", "INV-1", "C1", "PRICING", 40_000, "OPEN", "2026-09-03", None, "John Miller"),
    # QUALITY opened 09-01: target 09-22; resolved 09-20, within target
    ("D2", "1000", None, "C2", "QUALITY", 12_345, "RESOLVED", "2026-09-01", "2026-09-20", None),
    # an unknown reason counts as OTHER (30 days); opened after the night: not listed
    ("D3", "2000", "INV-9", "C3", "WHATEVER", 100, "OPEN", "2026-09-30", None, "Nobody"),
)


def _row(status: pd.DataFrame, dispute: str) -> dict:
    return status.set_index("dispute_id").loc[dispute].to_dict()


@pytest.mark.parametrize(
    "night, breached, level, age",
    [
        ("2026-09-17", False, 0, 14),
        ("2026-09-18", True, 1, 15),
        ("2026-09-24", True, 1, 21),
        ("2026-09-25", True, 2, 22),
    ],
)
def test_target_date_breach_and_tier_by_night(night: str, breached: bool, level: int, age: int) -> None:
    d1 = _row(dispute_status(D, night, RULES), "D1")
    assert d1["target_date"] == pd.Timestamp("2026-09-17")
    assert (d1["breached"], d1["escalation_level"], d1["age_days"]) == (breached, level, age)


def test_a_resolved_dispute_keeps_its_days_to_resolve_and_escalates_no_more() -> None:
    status = dispute_status(D, "2026-09-28", RULES)
    assert list(status["dispute_id"]) == ["D1", "D2"]  # D3 opened later
    d2 = _row(status, "D2")
    assert d2["target_date"] == pd.Timestamp("2026-09-22")
    assert (d2["days_to_resolve"], d2["breached"], d2["escalation_level"], d2["age_days"]) == (19, False, 0, 19)
    # seen from a night before the resolution, it was open then
    assert pd.isna(_row(dispute_status(D, "2026-09-19", RULES), "D2")["resolved_on"])


def test_an_unknown_reason_code_takes_the_target_of_other() -> None:
    d3 = _row(dispute_status(D, "2026-11-15", RULES), "D3")
    assert d3["target_date"] == pd.Timestamp("2026-10-30")  # 09-30 + 30 days
    assert d3["reason_code"] == "WHATEVER"


def test_escalations_due_name_the_tier_date_and_address() -> None:
    due = escalations_due(dispute_status(D, "2026-09-26", RULES), RULES)
    got = due[["dispute_id", "tier", "escalated_on", "address"]].values.tolist()
    assert got == [
        ["D1", 1, pd.Timestamp("2026-09-18"), "john.miller@example.com"],
        ["D1", 2, pd.Timestamp("2026-09-25"), "ar-manager@example.com"],
    ]


def test_the_outbox_key_depends_on_the_dispute_and_tier_only() -> None:
    assert escalation_key("1000", "D1", 1) == escalation_key(" 1000", "D1 ", 1)
    assert len({escalation_key("1000", "D1", 1), escalation_key("1000", "D1", 2), escalation_key("2000", "D1", 1)}) == 3


@pytest.mark.parametrize(
    "change, message",
    [
        ("  QUALITY: 21\n", "missing: QUALITY"),
        ("    days_after_target: 7\n", "days_after_target increasing"),
        ("manager_address: ar-manager@example.com", "not an email address"),
    ],
)
def test_a_bad_rules_file_is_a_readable_error(tmp_path: Path, change: str, message: str) -> None:
    shipped = (Path(__file__).parents[2] / "configs" / "disputes.yaml").read_text(encoding="utf-8")
    assert change in shipped
    bad = shipped.replace(change, {"    days_after_target: 7\n": "    days_after_target: 0\n"}.get(change, ""), 1)
    if change.startswith("manager_address"):
        bad = shipped.replace(change, "manager_address: the manager")
    (tmp_path / "disputes.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_dispute_rules(tmp_path / "disputes.yaml")
    assert "disputes.yaml" in str(err.value)
