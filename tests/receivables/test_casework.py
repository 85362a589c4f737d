"""Collection cases night by night (receivables.casework): one account walked over several
nights, each night's open cases fed in as the next night's ``previous`` as the pipeline does,
one test per stage rule of ``receivables.casework.lifecycle``; then the worklist of the
cases' due actions and the collector view."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from receivables.aging import TABLE_BUCKETS
from receivables.casework.case_worklist import worklist_from_cases
from receivables.casework.cases import Cases, derive_cases, night_facts
from receivables.casework.collectors import collector_view
from receivables.casework.config import CaseRules
from receivables.casework.facts import Contact, Facts
from receivables.casework.lifecycle import close_reason
from receivables.reporting_config import ReportingConfig
from receivables.worklist import build_worklist, priority_score
from receivables.worklist_reasons import Balances

D1 = date(2026, 10, 1)
KEY = ("1000", "C1")
RULES = CaseRules()
CONFIG = ReportingConfig()


def day(n: int) -> date:
    """Night n of the walk (night 1 is 1 October 2026)."""
    return D1 + timedelta(days=n - 1)


def contact(on: date, outcome: str = "REACHED", next_on: date | None = None, aid: str | None = None) -> Contact:
    return Contact(on, aid or f"A{on:%m%d}", "call", outcome, next_on, "Anna")


def balances(overdue: dict) -> Balances:
    b = Balances(*(defaultdict(int) for _ in range(3)), defaultdict(bool), *(defaultdict(dict) for _ in range(2)))
    for key, cents in overdue.items():
        b.overdue[key] = cents
        b.total[key] = cents
        b.oldest[key] = 31 if cents > 0 else 0
        b.overdue_booked[key] = {"EUR": cents}
    return b


def facts(
    on: date,
    overdue: int = 0,
    *,
    kinds: tuple[str, ...] = (),
    dunned: bool = False,
    dispute: date | None = None,
    plan_due: date | None = None,
    plan_agreed: date | None = None,
    promise_due: date | None = None,
    promise_made: date | None = None,
    broken: dict[str, date] | None = None,
    paid: bool = False,
    contacts: tuple[Contact, ...] = (),
    key: tuple[str, str] = KEY,
) -> Facts:
    """One account's facts for the night ``on``, as ``night_facts`` would gather them."""
    f = Facts(as_of=on, balances=balances({key: overdue}), currency="EUR")
    if kinds:
        f.kinds[key] = list(kinds)
        f.reason[key] = "tonight: " + "; ".join(kinds)
    for kind in ("dunning_call", "unreachable"):  # tonight's notices arose tonight
        if kind in kinds:
            f.event_since[key][kind] = on
    f.event_since[key].update(broken or {})
    for present, target, value in (
        (dunned, f.dunned, key),
        (paid, f.paid, key),
    ):
        if present:
            target.add(value)
    for value, target in (
        (dispute, f.dispute_since),
        (plan_due, f.plan_due),
        (plan_agreed, f.plan_agreed),
        (promise_due, f.promise_due),
        (promise_made, f.promise_made),
    ):
        if value is not None:
            target[key] = value
    f.contacts[key].extend(contacts)
    f.collector[key[1]] = "Anna"
    return f


def walk(nights: list[Facts], rules: CaseRules = RULES) -> list[Cases]:
    """Each night's cases, the previous night's open cases carried on as the pipeline does."""
    out: list[Cases] = []
    previous, previous_day = None, None
    for f in nights:
        c = derive_cases(previous, f, rules, dispute_follow_up_days=14, previous_as_of=previous_day)
        out.append(c)
        previous, previous_day = c.open, f.as_of
    return out


def case(c: Cases, key: tuple[str, str] = KEY) -> dict:
    rows = c.cases.loc[(c.cases["company_code"] == key[0]) & (c.cases["customer_id"] == key[1])]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def _plain(value: object) -> object:
    return None if value is None or pd.isna(value) else value


def events(c: Cases) -> list[tuple]:
    return [(e.event, e.on_date, _plain(e.from_stage), _plain(e.to_stage)) for e in c.events.itertuples(index=False)]


def stages(nights: list[Cases]) -> list[tuple]:
    return [(case(c)["stage"], case(c)["next_action"], case(c)["next_action_due"]) for c in nights]


# --- 1. HANDOVER ---------------------------------------------------------------------------------


def test_a_handover_stays_whatever_else_happens_until_the_account_is_paid() -> None:
    nights = walk(
        [
            facts(day(1), 500_000, kinds=("handover",), dunned=True),
            # a dispute, a call notice and a reached contact do not take it back from the agency
            facts(day(2), 500_000, dispute=day(2), kinds=("dunning_call",), contacts=(contact(day(2)),)),
            facts(day(40), 200_000, dunned=True),
            facts(day(41), 0, paid=True),
        ]
    )
    assert [case(c)["stage"] for c in nights[:3]] == ["HANDOVER"] * 3
    assert {case(c)["stage_since"] for c in nights[:3]} == {day(1)}
    assert case(nights[2])["detail"] == "handed over on 2026-10-01; 2,000.00 EUR overdue"
    last = case(nights[3])
    assert (last["closed_on"], last["close_reason"], last["stage"]) == (day(41), "PAID", "HANDOVER")
    assert events(nights[3]) == [("CLOSED", day(41), "HANDOVER", None)]
    assert nights[3].open.empty


def test_a_handover_returns_when_a_plan_or_promise_is_agreed_after_it() -> None:
    before = walk(
        [
            facts(day(1), 500_000, kinds=("handover",), dunned=True),
            # a plan agreed on the handover day itself is what the agency already knows about
            facts(day(2), 500_000, plan_agreed=day(1), plan_due=day(20)),
        ]
    )
    assert case(before[1])["stage"] == "HANDOVER"
    plan = walk(
        [
            facts(day(1), 500_000, kinds=("handover",), dunned=True),
            facts(day(5), 500_000, plan_agreed=day(4), plan_due=day(20)),
            facts(day(6), 500_000, plan_agreed=day(4), plan_due=day(20)),
        ]
    )
    assert stages(plan)[1:] == [("PLAN", "check_plan", day(21))] * 2
    assert events(plan[1]) == [("STAGE_CHANGED", day(5), "HANDOVER", "PLAN")]
    promise = walk(
        [
            facts(day(1), 500_000, kinds=("handover",), dunned=True),
            facts(day(3), 500_000, promise_made=day(3), promise_due=day(10)),
        ]
    )
    assert stages(promise)[1] == ("PROMISE", "check_promise", day(11))


# --- 2. DISPUTE ----------------------------------------------------------------------------------


def test_an_open_dispute_is_followed_up_after_the_dispute_days_and_wins_over_a_call() -> None:
    nights = walk(
        [
            facts(day(5), 80_000, dispute=day(1), kinds=("dunning_call", "dispute"), dunned=True),
            facts(day(6), 80_000, dispute=day(1), dunned=True),
            facts(day(7), 80_000, dunned=True),  # resolved, still overdue: dunning goes on
        ]
    )
    first = case(nights[0])
    assert (first["stage"], first["next_action"], first["next_action_due"]) == ("DISPUTE", "resolve_dispute", day(15))
    assert first["sla_due"] == day(5) + timedelta(days=30)
    assert case(nights[1])["stage_since"] == day(5)
    assert stages(nights)[2] == ("REMINDING", "wait_for_reply", None)
    assert events(nights[2]) == [("STAGE_CHANGED", day(7), "DISPUTE", "REMINDING")]


# --- 3. CALLING for an event newer than the last contact ---------------------------------------


def test_a_broken_promise_asks_for_a_call_unless_the_customer_was_reached_after_it_broke() -> None:
    reached_before = walk(
        [
            facts(
                day(6),
                90_000,
                kinds=("broken_promise",),
                broken={"broken_promise": day(5)},
                contacts=(contact(day(4)),),
            )
        ]
    )
    assert stages(reached_before) == [("CALLING", "call", day(6))]
    reached_after = walk(
        [
            facts(
                day(7),
                90_000,
                kinds=("broken_promise",),
                dunned=True,
                broken={"broken_promise": day(5)},
                contacts=(contact(day(6)),),
            )
        ]
    )
    # the broken promise lasts (it is listed every night) but the collector has talked since:
    # wait for the follow-up seven days after that contact
    assert stages(reached_after) == [("REMINDING", "follow_up", day(13))]
    assert case(reached_after[0])["detail"] == "follow up on 2026-10-13 after the contact on 2026-10-06"


def test_a_call_notice_on_the_night_of_a_contact_waits_and_a_later_one_calls() -> None:
    nights = walk(
        [
            facts(day(1), 90_000, dunned=True, contacts=(contact(day(1)),)),
            facts(day(2), 90_000, kinds=("dunning_call",), dunned=True, contacts=(contact(day(1)),)),
        ]
    )
    assert [case(c)["stage"] for c in nights] == ["REMINDING", "CALLING"]
    assert case(nights[1])["action_since"] == day(2)
    same_night = walk([facts(day(1), 90_000, kinds=("dunning_call",), dunned=True, contacts=(contact(day(1)),))])
    assert stages(same_night) == [("REMINDING", "follow_up", day(8))]


# --- 4. PLAN and 5. PROMISE ----------------------------------------------------------------------


def test_a_current_plan_is_checked_the_day_after_its_next_instalment() -> None:
    nights = walk(
        [
            facts(day(1), 60_000, plan_agreed=day(1), plan_due=day(10), promise_due=day(3)),
            facts(day(11), 60_000, plan_agreed=day(1), plan_due=day(31)),
        ]
    )
    assert stages(nights) == [("PLAN", "check_plan", day(11)), ("PLAN", "check_plan", day(32))]
    assert case(nights[0])["detail"] == "payment plan current; next instalment due 2026-10-10"
    assert case(nights[0])["sla_due"] is None  # a plan ends on its own dates


def test_a_broken_plan_beside_a_current_one_calls_and_an_active_promise_is_checked() -> None:
    broken = walk(
        [
            facts(
                day(8),
                60_000,
                kinds=("broken_plan",),
                broken={"broken_plan": day(8)},
                plan_agreed=day(1),
                plan_due=day(20),
            )
        ]
    )
    assert stages(broken) == [("CALLING", "call", day(8))]
    promise = walk([facts(day(2), 60_000, promise_made=day(1), promise_due=day(9))])
    assert stages(promise) == [("PROMISE", "check_promise", day(10))]
    assert case(promise[0])["detail"] == "promise to pay by 2026-10-09"


# --- 6. an open call task --------------------------------------------------------------------


def test_a_call_task_stays_open_until_a_contact_reaches_the_customer_after_its_day() -> None:
    nights = walk(
        [
            facts(day(1), 90_000, kinds=("dunning_call",), dunned=True),
            facts(day(2), 90_000, dunned=True, contacts=(contact(day(2), "NO_ANSWER"),)),
            facts(
                day(3), 90_000, dunned=True, contacts=(contact(day(2), "NO_ANSWER"), contact(day(3), "WRONG_CONTACT"))
            ),
            facts(day(4), 90_000, dunned=True, contacts=(contact(day(2), "NO_ANSWER"), contact(day(4), "REACHED"))),
        ]
    )
    assert [case(c)["stage"] for c in nights] == ["CALLING", "CALLING", "CALLING", "REMINDING"]
    # the task keeps its day, so its overdue days count from it
    assert [(case(c)["action_since"], case(c)["days_action_overdue"]) for c in nights[:3]] == [
        (day(1), 0),
        (day(1), 1),
        (day(1), 2),
    ]
    assert (case(nights[2])["last_contact_on"], case(nights[2])["last_outcome"]) == (day(3), "WRONG_CONTACT")
    assert stages(nights)[3] == ("REMINDING", "follow_up", day(11))
    assert case(nights[3])["case_id"] == case(nights[0])["case_id"]


def test_which_outcomes_complete_a_call_task_is_configured() -> None:
    strict = CaseRules(contact_outcomes=("REACHED", "PROMISE"))
    nights = walk(
        [
            facts(day(1), 90_000, kinds=("dunning_call",), dunned=True),
            facts(day(2), 90_000, dunned=True, contacts=(contact(day(2), "REFUSED"),)),
        ],
        strict,
    )
    assert stages(nights)[1] == ("CALLING", "call", day(1))
    # the default counts REFUSED as a contact
    default = walk(
        [
            facts(day(1), 90_000, kinds=("dunning_call",), dunned=True),
            facts(day(2), 90_000, dunned=True, contacts=(contact(day(2), "REFUSED"),)),
        ]
    )
    assert stages(default)[1] == ("REMINDING", "follow_up", day(9))


def test_a_lasting_condition_waits_for_the_follow_up_after_a_contact() -> None:
    talked = (contact(day(2), "REACHED", next_on=day(5)),)
    nights = walk(
        [
            facts(day(1), 2_000_000, kinds=("over_limit",), dunned=True),
            facts(day(2), 2_000_000, kinds=("over_limit",), dunned=True, contacts=talked),
            facts(day(4), 2_000_000, kinds=("over_limit",), dunned=True, contacts=talked),
            facts(day(5), 2_000_000, kinds=("over_limit",), dunned=True, contacts=talked),
        ]
    )
    assert stages(nights) == [
        ("CALLING", "call", day(1)),
        ("REMINDING", "follow_up", day(5)),
        ("REMINDING", "follow_up", day(5)),
        ("CALLING", "call", day(5)),  # the follow-up date has come: a new task of tonight
    ]
    without_date = (contact(day(2), "REACHED"),)
    later = walk(
        [
            facts(day(8), 2_000_000, kinds=("large_old",), dunned=True, contacts=without_date),
            facts(day(9), 2_000_000, kinds=("large_old",), dunned=True, contacts=without_date),
        ]
    )
    assert [s[0] for s in stages(later)] == ["REMINDING", "CALLING"]  # 2 Oct + 7 days = 9 Oct


# --- 7. CLOSING and 8. REMINDING -----------------------------------------------------------------


def test_a_small_old_balance_is_a_write_off_candidate() -> None:
    nights = walk([facts(day(1), 4_000, kinds=("write_off",), dunned=True)])
    row = case(nights[0])
    assert (row["stage"], row["next_action"], row["next_action_due"]) == ("CLOSING", "write_off_candidate", day(1))
    assert row["sla_due"] == day(15)


def test_reminding_waits_for_dunning_or_follows_up_when_a_contact_set_a_date() -> None:
    assert walk([facts(day(1), 30_000)])[0].cases.empty  # overdue, not yet dunned: nobody's case
    nights = walk(
        [
            facts(day(1), 30_000, dunned=True),
            facts(day(2), 30_000, dunned=True, contacts=(contact(day(2), "PAID_CLAIMED", next_on=day(6)),)),
        ]
    )
    assert stages(nights) == [("REMINDING", "wait_for_reply", None), ("REMINDING", "follow_up", day(6))]
    assert case(nights[0])["detail"] == "dunning runs; 300.00 EUR overdue"
    assert case(nights[1])["sla_due"] is None


# --- closing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overdue", "paid", "reason"),
    [(0, True, "PAID"), (0, False, "CLEARED"), (-500, False, "CLEARED")],
)
def test_a_case_closes_paid_or_cleared(overdue: int, paid: bool, reason: str) -> None:
    nights = walk([facts(day(1), 30_000, dunned=True), facts(day(2), overdue, paid=paid)])
    row = case(nights[1])
    assert (row["closed_on"], row["close_reason"], row["detail"]) == (day(2), reason, f"closed: {reason.lower()}")
    assert (row["next_action"], row["next_action_due"], row["overdue_amount"]) == (None, None, overdue)
    assert events(nights[1]) == [("CLOSED", day(2), "REMINDING", None)]
    assert nights[1].counts == {"open": 0, "by_stage": {}, "closed": 1, "sla_breached": 0}


def test_resolved_is_the_close_reason_of_an_account_still_owing() -> None:
    f = facts(day(1), 30_000)
    assert close_reason(KEY, f) == "RESOLVED"


# --- SLA -----------------------------------------------------------------------------------------


def test_an_sla_breach_is_flagged_the_night_after_its_due_date_with_one_event() -> None:
    first = facts(day(1), 90_000, kinds=("dunning_call",), dunned=True)
    nights = walk([first, *(facts(day(n), 90_000, dunned=True) for n in range(2, 8))])
    assert {case(c)["sla_due"] for c in nights} == {day(4)}
    assert [bool(case(c)["sla_breached"]) for c in nights] == [False] * 4 + [True] * 3
    breaches = [e for c in nights for e in events(c) if e[0] == "SLA_BREACHED"]
    assert breaches == [("SLA_BREACHED", day(5), None, "CALLING")]
    assert nights[4].counts["sla_breached"] == 1


# --- ids and events ------------------------------------------------------------------------------


def test_case_ids_are_stable_across_nights_and_reruns_and_a_reopened_account_gets_a_new_one() -> None:
    script = [
        facts(day(1), 30_000, dunned=True),
        facts(day(2), 30_000, kinds=("dunning_call",), dunned=True),
        facts(day(3), 0, paid=True),
        facts(day(9), 45_000, dunned=True),
    ]
    nights = walk(script)
    ids = [case(c)["case_id"] for c in nights]
    assert ids == ["C-1000-C1-20261001"] * 3 + ["C-1000-C1-20261009"]
    again = derive_cases(nights[0].open, script[1], RULES, dispute_follow_up_days=14, previous_as_of=day(1))
    assert_frame_equal(again.cases, nights[1].cases)
    assert_frame_equal(again.events, nights[1].events)
    assert events(nights[3]) == [("OPENED", day(9), None, "REMINDING")]


def test_the_events_of_a_case() -> None:
    nights = walk(
        [
            facts(day(1), 30_000, dunned=True),
            facts(day(4), 30_000, kinds=("dunning_call",), dunned=True, contacts=(contact(day(1), "NO_ANSWER"),)),
            facts(
                day(6),
                30_000,
                dunned=True,
                contacts=(contact(day(1), "NO_ANSWER"), contact(day(5), "NO_ANSWER"), contact(day(6), "REACHED")),
            ),
            facts(day(7), 0, paid=True),
        ]
    )
    detail = {(e.event, e.on_date): e.detail for c in nights for e in c.events.itertuples(index=False)}
    assert [events(c) for c in nights] == [
        [("OPENED", day(1), None, "REMINDING")],
        [("STAGE_CHANGED", day(4), "REMINDING", "CALLING")],
        [
            ("STAGE_CHANGED", day(6), "CALLING", "REMINDING"),
            # the contacts since the previous night (4 Oct), not the one of 1 Oct again
            ("CONTACT_RECORDED", day(5), None, None),
            ("CONTACT_RECORDED", day(6), None, None),
        ],
        [("CLOSED", day(7), "REMINDING", None)],
    ]
    assert detail[("OPENED", day(1))] == "dunning runs; 300.00 EUR overdue"
    assert detail[("CONTACT_RECORDED", day(6))] == "call REACHED (A1006)"
    assert detail[("CLOSED", day(7))] == "PAID"
    assert {c.events["case_id"].unique()[0] for c in nights} == {"C-1000-C1-20261001"}


def test_night_facts_read_the_nights_frames() -> None:
    """The same walk from the pipeline's frames: a call notice opens a CALLING case owned by
    the customer's collector, and the contact log on the next night completes the task."""
    as_of = day(31)
    aging = pd.DataFrame([{**dict.fromkeys(TABLE_BUCKETS, 0), "company_code": "1000", "customer_id": "C1"}])
    aging = aging.assign(currency="EUR", d31_60=99_900, total=99_900)
    notices = pd.DataFrame(
        {
            "notice_id": ["N1"],
            "company_code": ["1000"],
            "customer_id": ["C1"],
            "currency": ["EUR"],
            "level": [3],
            "overdue_amount": [99_900],
            "fees": [500],
            "interest": [0],
            "action": ["call_task"],
            "policy": ["STANDARD"],
        }
    )
    customers = pd.DataFrame(
        {
            "company_code": ["1000"],
            "customer_id": ["C1"],
            "currency": ["EUR"],
            "collector": ["Ben"],
            "credit_limit": [0],
        }
    )
    signals = build_worklist(aging, notices, None, None, None, customers, None, as_of, CONFIG)
    f = night_facts(as_of, aging, CONFIG, signals=signals, notices=notices, customers=customers)
    first = derive_cases(None, f, CONFIG.cases)
    row = case(first)
    assert (row["stage"], row["owner"], row["overdue_amount"]) == ("CALLING", "Ben", 99_900)
    assert row["detail"] == "dunning level 3 call for 999.00 EUR overdue"
    activities = pd.DataFrame(
        {
            "activity_id": ["A1"],
            "company_code": ["1000"],
            "customer_id": ["C1"],
            "collector": ["Ben"],
            "occurred_on": [pd.Timestamp(as_of + timedelta(days=1))],
            "channel": ["call"],
            "outcome": ["REACHED"],
            "next_contact_on": [pd.Timestamp(as_of + timedelta(days=3))],
        }
    )
    nxt = night_facts(as_of + timedelta(days=1), aging, CONFIG, activities=activities, customers=customers)
    second = derive_cases(first.open, nxt, CONFIG.cases, previous_as_of=as_of)
    assert stages([second]) == [("REMINDING", "follow_up", as_of + timedelta(days=3))]
    assert (case(second)["last_contact_on"], case(second)["last_outcome"]) == (as_of + timedelta(days=1), "REACHED")


# --- the worklist from the cases -----------------------------------------------------------------


def test_the_worklist_lists_only_due_actions_with_overdue_days_and_sla_points() -> None:
    keys = {name: ("1000", name) for name in ("K1", "K2", "K3", "K4")}
    script = []
    for n in range(1, 8):
        f = Facts(as_of=day(n), balances=balances({k: 120_000 for k in keys.values()}), currency="EUR")
        f.dunned.update(keys.values())
        if n == 1:
            f.kinds[keys["K1"]] = ["dunning_call"]  # a call task left lying for a week
            f.event_since[keys["K1"]]["dunning_call"] = day(1)
        if n == 7:
            f.kinds[keys["K2"]] = ["dunning_call"]  # a call task of tonight
            f.event_since[keys["K2"]]["dunning_call"] = day(7)
            f.reason[keys["K2"]] = "dunning level 3 call for 1,200.00 EUR overdue"
        f.contacts[keys["K3"]].append(contact(day(6), "REACHED", next_on=day(9)))  # follow-up not yet due
        f.collector.update({"K1": "Anna", "K2": "Ben", "K3": "Anna", "K4": None})
        script.append(f)
    nights = walk(script)
    tonight = nights[-1]
    signals = pd.DataFrame(
        {
            "rank": [1],
            "company_code": ["1000"],
            "customer_id": ["K2"],
            "collector": ["Ben"],
            "priority": [50.0],
            "overdue_amount": [120_000],
            "reason": ["dunning level 3 call for 1,200.00 EUR overdue"],
            "next_action": ["call"],
            "currencies": ["EUR"],
            "overdue_native": pd.array([120_000], dtype="Int64"),
            "oldest_bucket": ["d31_60"],
            "disputed_amount": [0],
            "over_limit_amount": [0],
            "unapplied_amount": [0],
            "broken_promise_amount": [0],
            "summary": ["dunning asks for a call"],
            "kinds": ["dunning_call"],
        }
    )
    work = worklist_from_cases(tonight.cases, signals, script[-1], day(7), CONFIG)
    assert list(work["customer_id"]) == ["K1", "K2"]  # K3 follows up on 9 Oct, K4 waits for dunning
    assert list(work["rank"]) == [1, 2]
    k1, k2 = work.to_dict("records")
    base = priority_score(120_000, 31, {"call"}, CONFIG)
    # six days overdue, and the CALLING SLA (3 days from 1 Oct) breached
    assert k1["priority"] == round(base + 6 * 1.0 + 25.0, 2)
    assert (k1["days_overdue"], k1["sla_breached"], k1["stage"]) == (6, True, "CALLING")
    # no reason tonight: the row says what the case says
    assert (k1["reason"], k1["summary"], k1["collector"]) == (
        "call task open; 1,200.00 EUR overdue",
        "Call task open",
        "Anna",
    )
    assert (k2["priority"], k2["reason"], k2["days_overdue"]) == (
        50.0,
        "dunning level 3 call for 1,200.00 EUR overdue",
        0,
    )
    assert k1["case_id"] == "C-1000-K1-20261001"


def test_overdue_days_count_up_to_the_cap() -> None:
    rules = CONFIG.model_copy(update={"cases": CaseRules(priority={"per_day_overdue": 2.0, "max_days_overdue": 3})})
    nights = walk([facts(day(1), 120_000, kinds=("dunning_call",), dunned=True), facts(day(11), 120_000, dunned=True)])
    work = worklist_from_cases(
        nights[1].cases, pd.DataFrame(columns=["company_code", "customer_id"]), facts(day(11), 120_000), day(11), rules
    )
    (row,) = work.to_dict("records")
    assert row["days_overdue"] == 10
    assert row["priority"] == round(priority_score(120_000, 31, {"call"}, rules) + 2.0 * 3 + 25.0, 2)
    empty = worklist_from_cases(
        nights[1].cases.iloc[0:0], pd.DataFrame(columns=["company_code", "customer_id"]), facts(day(11)), day(11), rules
    )
    assert empty.empty and list(empty.columns) == list(work.columns)


# --- the collector view --------------------------------------------------------------------------


def test_the_collector_view_counts_cases_actions_contacts_and_promises_kept_by_amount() -> None:
    as_of = date(2026, 10, 30)  # a Friday
    cases = pd.DataFrame(
        {
            "case_id": ["C-a", "C-b", "C-c", "C-d"],
            "owner": ["Anna", "Anna", "Ben", None],
            "next_action_due": [as_of, as_of - timedelta(days=2), as_of + timedelta(days=1), None],
            "sla_breached": [False, True, False, False],
            "closed_on": [None, None, None, None],
        }
    )
    closed = pd.DataFrame(
        {"case_id": ["C-e"], "owner": ["Ben"], "next_action_due": [None], "sla_breached": [False], "closed_on": [as_of]}
    )
    cases = pd.concat([cases, closed], ignore_index=True)
    occurred = [
        as_of,
        as_of - timedelta(days=6),
        as_of - timedelta(days=7),
        as_of - timedelta(days=29),
        as_of - timedelta(days=30),
    ]
    activities = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(6)],
            "company_code": "1000",
            "customer_id": ["C1", "C1", "C1", "C1", "C1", "C3"],
            "collector": ["Anna", "Anna", "Anna", "Anna", "Anna", None],  # C3's contact counts for its collector
            "occurred_on": pd.to_datetime([*occurred, as_of]),
            "channel": "call",
            "outcome": "REACHED",
        }
    )
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "collector": ["Anna", "Anna", "Ben"]})
    promises = pd.DataFrame(
        {
            "promise_id": ["P1", "P2", "P3", "P4"],
            "company_code": "1000",
            "customer_id": ["C1", "C2", "C1", "C1"],
            "document_no": ["INV1", "INV2", None, "INV2"],
            "promised_amount": [30_000, 10_000, 60_000, 99_999],
            "promised_date": pd.to_datetime(
                [as_of - timedelta(days=20), as_of - timedelta(days=10), as_of - timedelta(days=15), as_of]
            ),
            "created_on": pd.to_datetime([as_of - timedelta(days=40)] * 4),
        }
    )
    broken = pd.DataFrame({"promise_id": ["P3"]})
    open_items = pd.DataFrame({"company_code": ["1000"], "document_no": ["INV2"], "open_amount": [10_000]})
    view = collector_view(cases, activities, promises, broken, open_items, customers, as_of, 5)
    rows = {r["collector"]: r for r in view.to_dict("records")}
    assert list(view["collector"]) == ["(unassigned)", "Anna", "Ben"]
    anna, ben = rows["Anna"], rows["Ben"]
    assert (anna["open_cases"], anna["actions_due"], anna["actions_overdue"], anna["sla_breaches"]) == (2, 2, 1, 1)
    assert (ben["open_cases"], ben["actions_due"], ben["actions_overdue"]) == (1, 0, 0)
    assert rows["(unassigned)"]["open_cases"] == 1
    # done: contacts of the last 7 days (30 Oct and 24 Oct, not 23 Oct)
    assert (anna["actions_done"], ben["actions_done"]) == (2, 1)
    # 4 of Anna's contacts fall in the 30 days up to 30 Oct, which hold 22 business days
    assert anna["contacts_per_day"] == round(4 / 22, 1)
    # P1 paid (INV1 gone) 300.00, P3 broken 600.00, P2 still open with its window over (kept
    # as dunning did not find it broken) 100.00; P4 still in its window is not judged
    assert anna["promises_kept_pct"] == round(100 * 40_000 / 100_000, 1)
    assert ben["promises_kept_pct"] is None or pd.isna(ben["promises_kept_pct"])


def test_a_reopened_case_does_not_inherit_the_follow_up_of_an_old_contact() -> None:
    """An account paid in October and overdue again in April is a new case that dunning deals
    with, not a follow-up six months overdue at the top of the list."""
    old = (contact(day(1), "REACHED"),)
    nights = walk(
        [
            facts(day(1), 30_000, dunned=True, contacts=old),
            facts(day(2), 0, paid=True, contacts=old),
            facts(day(200), 40_000, dunned=True, contacts=old),
        ]
    )
    assert stages(nights)[0] == ("REMINDING", "follow_up", day(8))
    assert stages(nights)[2] == ("REMINDING", "wait_for_reply", None)
    # a contact just before the case opened still sets its follow-up
    fresh = walk([facts(day(10), 30_000, dunned=True, contacts=(contact(day(8), next_on=day(12)),))])
    assert stages(fresh) == [("REMINDING", "follow_up", day(12))]


def test_a_call_event_after_a_finished_call_task_starts_a_task_of_its_own_day() -> None:
    # night 1: a call-task notice; the collector reaches the customer on day 3 but logs it
    # late, so the contact first reaches the run on night 5, with another call-task notice:
    # the first task is done, and the new one is due night 5, not night 1
    reached = contact(day(3))
    nights = walk(
        [
            facts(day(1), 50_000, kinds=("dunning_call",), dunned=True),
            facts(day(4), 50_000, dunned=True),
            facts(day(5), 50_000, kinds=("dunning_call",), dunned=True, contacts=(reached,)),
        ]
    )
    assert case(nights[1])["next_action_due"] == day(1) and case(nights[1])["days_action_overdue"] == 3
    fifth = case(nights[2])
    assert (fifth["stage"], fifth["next_action"], fifth["next_action_due"]) == ("CALLING", "call", day(5))
    assert fifth["days_action_overdue"] == 0
