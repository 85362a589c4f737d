"""The casework tables of the flow run's page: the cases whose action is due (and only those),
the plans with the broken one first, the collector view; money as decimal text, codes as words."""

from __future__ import annotations

from receivables.case_tables import collector_table, due_cases, plan_table
from tasks.reporting import _records
from tests.receivables import workbook_data as data


def test_only_open_cases_whose_action_is_due_the_longest_overdue_first() -> None:
    cases = data.CASES.assign(next_action_due=[None, None, data.AS_OF, data.CASES["next_action_due"][3]])
    table = _records(due_cases(cases, data.AS_OF, "EUR"))
    assert [r["case"] for r in table] == ["C-1000-C1-20261001", "C-3000-C3-20260915"]
    assert table[0] == {
        "case": "C-1000-C1-20261001",
        "customer": "1000/C1",
        "stage": "Calling",
        "owner": "Anna",
        "next action": "Call the customer",
        "due": "2026-10-28",
        "days overdue": 3,
        "SLA breached": "Yes",
        "last contact": "2026-10-20",
        "last outcome": "No answer",
        "overdue (EUR)": "1234.57",
    }
    # a case due after as_of, without a due date, or closed tonight is not on the screen
    assert [r["case"] for r in _records(due_cases(data.CASES, data.AS_OF, "EUR"))] == ["C-1000-C1-20261001"]
    assert _records(due_cases(None, data.AS_OF, "EUR")) == []


def test_plans_broken_first_with_the_amount_at_risk() -> None:
    table = _records(plan_table(data.PLAN_STATUS))
    assert [(r["plan"], r["status"]) for r in table] == [("PL2", "Broken"), ("PL1", "Current"), ("PL3", "Completed")]
    broken = table[0]
    assert [broken["customer"], broken["currency"], broken["at risk"], broken["missed instalment"]] == [
        "3000/C3",
        "USD",
        "77.77",
        2,
    ]
    assert [table[1]["next instalment due"], table[1]["next instalment"], table[1]["at risk"]] == [
        "2026-11-15",
        "30.00",
        "0.00",
    ]
    assert _records(plan_table(data.PLAN_STATUS.iloc[0:0])) == []


def test_the_collector_view_with_readable_headings() -> None:
    anna = _records(collector_table(data.COLLECTORS))[0]
    assert anna == {
        "collector": "Anna",
        "open cases": 2,
        "actions due": 1,
        "actions overdue": 1,
        "contacts, last 7 days": 3,
        "SLA breaches": 1,
        "promises kept % (90 days)": 66.7,
        "contacts per business day (30 days)": 0.3,
    }
