"""Courtesy reminders: a policy whose level 1 has days_past_due 0 or less sends one friendly
email before the due date, then dunns the item as usual from level 2 once it is overdue."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.dunning import (
    DunningPolicies,
    DunningProposal,
    courtesy_notices,
    load_dunning_policies,
    propose_dunning,
)
from receivables.errors import ConfigError
from receivables.payment_plans import COVERED_COLUMNS, EVENT_COLUMNS, STATUS_COLUMNS, PlanStatus
from receivables.reminders import render_notices
from receivables.warehouse import connect, migrate
from receivables.warehouse.dunning_history import previous_levels, write_dunning
from tests.receivables.test_dunning import (
    AS_OF,
    POLICY_DATA,
    customer,
    customers,
    dispute,
    disputes,
    history,
    item,
    items,
    promise,
    promises,
)
from tests.receivables.test_dunning_money_on_account import unapplied

# Frozen numbers, so the rules are tested whatever configs/dunning.yaml is tuned to: a courtesy
# five days before the due date, then the STANDARD letters one level higher.
COURTESY_DATA = {
    **POLICY_DATA,
    "default_policy": "COURTESY",
    "policies": {
        **POLICY_DATA["policies"],
        "COURTESY": {
            "levels": [
                {
                    "level": 1,
                    "template": "courtesy",
                    "action": "email",
                    "days_past_due": -5,
                    "minimum": {"EUR": "10.00"},
                },
                {
                    "level": 2,
                    "template": "reminder_1",
                    "action": "email",
                    "days_past_due": 7,
                    "minimum": {"EUR": "10.00"},
                },
                {
                    "level": 3,
                    "template": "reminder_2",
                    "action": "email",
                    "days_past_due": 21,
                    "min_days_since_previous": 14,
                    "minimum": {"EUR": "10.00"},
                    "fee": {"EUR": "5.00"},
                },
            ]
        },
    },
}
POLICIES = DunningPolicies.model_validate(COURTESY_DATA)
#: customers of the courtesy policy (the default here) unless a test says otherwise
CUSTS = customers(customer("C1", segment="OTHER"), customer("C2", segment="OTHER"))


def run(open_items: pd.DataFrame, **kw) -> DunningProposal:
    return propose_dunning(
        open_items,
        kw.pop("custs", CUSTS),
        kw.pop("disp", None),
        kw.pop("prom", None),
        kw.pop("hist", None),
        kw.pop("policies", POLICIES),
        kw.pop("as_of", AS_OF),
        **kw,
    )


def notice_of(p: DunningProposal, cid: str = "C1") -> dict:
    (notice,) = p.notices[p.notices["customer_id"] == cid].to_dict("records")
    return notice


def listed(p: DunningProposal) -> dict[str, int]:
    return dict(zip(p.items["document_no"], p.items["level"]))


# --- the courtesy notice --------------------------------------------------------------------------


def _night(eng: sa.Engine, as_of: pd.Timestamp, open_items: pd.DataFrame, **kw) -> DunningProposal:
    """One nightly dunning stage on a real warehouse: the state before as_of, propose, write."""
    with eng.begin() as conn:
        p = run(open_items, hist=previous_levels(conn, as_of), as_of=as_of, **kw)
        write_dunning(conn, as_of, f"run-{as_of:%Y%m%d}", p)
    return p


def test_a_courtesy_five_days_before_due_once_then_the_reminders_from_level_2(tmp_path: Path) -> None:
    eng = connect(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(eng)
    due = AS_OF
    nights = {}
    for dpd in range(-8, 30):
        day = due + pd.Timedelta(days=dpd)
        nights[dpd] = _night(eng, day, items(item("A", 123456, dpd=dpd, as_of=day)))
    sent = {dpd: notice_of(p) for dpd, p in nights.items() if not p.notices.empty}
    # five days before the due date, not again the next night, then level 2 a week after the
    # due date (reminder_1) and level 3 at 21 days, 14 days after level 2
    assert {d: (n["level"], n["template"]) for d, n in sent.items()} == {
        -5: (1, "courtesy"),
        7: (2, "reminder_1"),
        21: (3, "reminder_2"),
    }
    courtesy = sent[-5]
    assert courtesy["action"] == "email" and courtesy["overdue_amount"] == 123456
    assert courtesy["fees"] == 0 and courtesy["interest"] == 0 and courtesy["credit_amount"] == 0
    (line,) = nights[-5].items.to_dict("records")
    assert (line["previous_level"], line["level"], line["days_past_due"]) == (0, 1, -5)
    assert sent[21]["fees"] == 500
    # what casework and reports use to tell the friendly note from a reminder
    assert [courtesy_notices(nights[d].notices, POLICIES).tolist() for d in (-5, 7, 21)] == [[True], [False], [False]]
    # waiting for the due date and for level 2 is the normal wait, not a skip
    assert all(nights[d].skipped.empty for d in range(-8, 7))


def test_the_wait_for_level_2_counts_from_the_courtesy() -> None:
    data = copy.deepcopy(COURTESY_DATA)
    data["policies"]["COURTESY"]["levels"][1].update(days_past_due=3, min_days_since_previous=10)
    policies = DunningPolicies.model_validate(data)
    hist = history(("A", 1, 8))  # the courtesy went out 8 days ago, at 5 days before due
    early = run(items(item("A", 50000, dpd=3)), hist=hist, policies=policies)
    assert early.notices.empty and early.skipped[["document_no", "reason"]].values.tolist() == [["A", "TOO_SOON"]]
    later = run(
        items(item("A", 50000, dpd=5)), hist=history(("A", 1, 10)), policies=policies
    )  # 10 days since the courtesy
    assert listed(later) == {"A": 2} and notice_of(later)["template"] == "reminder_1"


def test_an_item_already_overdue_never_gets_a_courtesy() -> None:
    for dpd in range(1, 7):  # first seen the day after its due date: wait for level 2
        p = run(items(item("A", 50000, dpd=dpd)))
        assert p.notices.empty and p.skipped.empty
    p = run(items(item("A", 50000, dpd=7)))
    assert listed(p) == {"A": 2} and notice_of(p)["template"] == "reminder_1"
    assert p.items["previous_level"].tolist() == [0]


def test_the_courtesy_window_and_an_item_first_seen_inside_it() -> None:
    p = run(items(item("EARLY", 50000, dpd=-6), item("IN", 40000, dpd=-2, customer="C2")))
    assert listed(p) == {"IN": 1} and notice_of(p, "C2")["template"] == "courtesy"
    assert listed(run(items(item("TODAY", 40000, dpd=0)))) == {"TODAY": 1}


def test_a_policy_without_courtesy_level_leaves_items_not_yet_due_alone() -> None:
    custs = customers(customer("C1", segment="STANDARD"))
    p = run(items(item("A", 50000, dpd=-3), item("B", 50000, dpd=0)), custs=custs)
    assert p.notices.empty and p.items.empty and p.skipped.empty


def test_a_courtesy_lists_the_items_in_the_window_and_nets_the_credits() -> None:
    open_items = items(
        item("NEW", 30000, dpd=-5),
        item("SENT", 20000, dpd=-3),  # had its courtesy two nights ago: listed, not advanced
        item("LATER", 90000, dpd=-20),  # outside the window
        item("CRN", -4500, dpd=-10, doc_type="CRN"),
    )
    p = run(open_items, hist=history(("SENT", 1, 2)))
    assert listed(p) == {"NEW": 1, "SENT": 1}
    n = notice_of(p)
    assert (n["level"], n["overdue_amount"], n["credit_amount"], n["fees"]) == (1, 50000, -4500, 0)


def test_the_courtesy_minimum_is_checked_against_the_net_amount() -> None:
    small = run(items(item("A", 5000, dpd=-5), item("CRN", -4500, dpd=-40, doc_type="CRN")))
    assert small.notices.empty and small.skipped.empty  # 0.50 EUR net: below the 10.00 minimum
    covered = run(items(item("A", 5000, dpd=-5), item("CRN", -6000, dpd=-40, doc_type="CRN")))
    assert covered.notices.empty and covered.skipped.empty


# --- who gets no courtesy -------------------------------------------------------------------------


def _plans(*docs: str) -> PlanStatus:
    covered = pd.DataFrame(
        {"plan_id": "PL1", "company_code": "1000", "document_no": list(docs), "status": "CURRENT"},
        columns=COVERED_COLUMNS,
    )
    return PlanStatus(pd.DataFrame(columns=STATUS_COLUMNS), pd.DataFrame(columns=EVENT_COLUMNS), covered)


EXCLUDED = {
    "dispute on the item": {"disp": disputes(dispute("A"))},
    "dispute on the account": {"disp": disputes(dispute(None))},
    "item block": {"open_items": items(item("A", 50000, dpd=-5, block=True))},
    "customer block": {"custs": customers(customer("C1", segment="OTHER", block=True))},
    "promise": {"prom": promises(promise("P1", 50000, doc="A", promised=10))},
    "whole-account promise": {"prom": promises(promise("P1", 50000, doc=None, promised=10))},
    "payment plan": {"plans": _plans("A")},
    "credit balance": {"open_items": items(item("A", 50000, dpd=-5), item("CRN", -60000, dpd=-30, doc_type="CRN"))},
    "unapplied cash": {"unapplied": unapplied(("C1", 50000, "EUR"))},
}


@pytest.mark.parametrize("case", EXCLUDED)
def test_the_exclusions_stop_a_courtesy_as_they_stop_a_reminder(case: str) -> None:
    kw = dict(EXCLUDED[case])
    p = run(kw.pop("open_items", items(item("A", 50000, dpd=-5))), **kw)
    # no letter, and nothing in skipped: that lists overdue items only
    assert p.notices.empty and p.items.empty and p.skipped.empty


def test_part_of_the_unapplied_cash_is_named_on_the_courtesy() -> None:
    p = run(items(item("A", 50000, dpd=-5)), unapplied=unapplied(("C1", 20000, "EUR")))
    assert notice_of(p)["unapplied_amount"] == 20000


def test_a_customer_with_overdue_items_hears_about_those_not_a_friendly_note() -> None:
    open_items = items(item("OLD", 70000, dpd=21), item("NEW", 30000, dpd=-5))
    # the overdue item climbs to level 3 tonight: the letter is reminder_2 about it alone
    p = run(open_items, hist=history(("OLD", 2, 14)))
    assert listed(p) == {"OLD": 3}
    n = notice_of(p)
    assert (n["template"], n["overdue_amount"], n["fees"]) == ("reminder_2", 70000, 500)
    # the overdue item is waiting: nobody gets a letter, not even the courtesy
    quiet = run(items(item("OLD", 70000, dpd=15), item("NEW", 30000, dpd=-5)), hist=history(("OLD", 2, 8)))
    assert quiet.notices.empty and quiet.skipped.empty
    # overdue but not yet at level 2 counts as well: the new invoice waits with it
    young = run(items(item("OLD", 70000, dpd=3), item("NEW", 30000, dpd=-5)))
    assert young.notices.empty
    # once overdue the new invoice joins the reminders, from level 2 (its courtesy lapsed)
    later = run(items(item("OLD", 70000, dpd=33), item("NEW", 30000, dpd=7)), hist=history(("OLD", 3, 12)))
    assert listed(later) == {"OLD": 3, "NEW": 2} and notice_of(later)["template"] == "reminder_2"


def test_an_overdue_item_paused_for_a_dispute_does_not_stop_the_courtesy_of_another() -> None:
    open_items = items(item("OLD", 70000, dpd=30), item("NEW", 30000, dpd=-5))
    p = run(open_items, disp=disputes(dispute("OLD")))
    assert listed(p) == {"NEW": 1}
    assert notice_of(p)["overdue_amount"] == 30000 and notice_of(p)["template"] == "courtesy"
    assert p.skipped[["document_no", "reason"]].values.tolist() == [["OLD", "DISPUTE"]]


def test_an_item_dunned_before_whose_due_date_moved_later_gets_no_courtesy() -> None:
    p = run(items(item("A", 50000, dpd=-3)), hist=history(("A", 2, 20)))
    assert p.notices.empty and p.skipped.empty


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, change, message",
    [
        (1, {"days_past_due": -5, "action": "call_task"}, "action must be email, not call_task"),
        (1, {"days_past_due": -5, "fee": {"EUR": "5.00"}}, "charges no fee"),
        (1, {"days_past_due": 0, "interest": "statutory"}, "claims no interest"),
        (1, {"days_past_due": -5, "interest": {"percent": "8"}}, "claims no interest"),
        (1, {"days_past_due": -5, "compensation": True}, "claims no compensation"),
        (2, {"days_past_due": 0}, "only level 1 may be a courtesy level"),
        (2, {"days_past_due": -8}, "days_past_due must increase"),  # the ordering still applies
    ],
)
def test_a_bad_courtesy_level_is_a_readable_error(tmp_path: Path, level: int, change: dict, message: str) -> None:
    data = copy.deepcopy(COURTESY_DATA)
    data["policies"]["COURTESY"]["levels"][level - 1].update(change)
    bad = tmp_path / "dunning.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_dunning_policies(bad)
    text = str(err.value)
    assert message in text and "policies.COURTESY" in text and str(bad) in text and "\n" not in text
    if "increase" not in message:
        assert f"level {level} (days_past_due" in text


def test_the_shipped_courtesy_policy_is_standard_one_level_later_and_unused() -> None:
    shipped = load_dunning_policies()
    courtesy = shipped.policies["STANDARD_WITH_COURTESY"]
    assert courtesy.courtesy_days == -5 and courtesy.levels[0].template == "courtesy"
    assert shipped.policies["STANDARD"].courtesy_days is None
    standard = [(lv.template, lv.action, lv.days_past_due, lv.fee) for lv in shipped.policies["STANDARD"].levels]
    assert [(lv.template, lv.action, lv.days_past_due, lv.fee) for lv in courtesy.levels[1:]] == standard
    assert "STANDARD_WITH_COURTESY" not in {*shipped.segments.values(), shipped.default_policy}


# --- the level sequence over consecutive nights ---------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict], list[tuple[str, int, int]], int]:
    """Invoices of two customers due from 12 days before the first night to 25 after it, an
    occasional credit note, and disputes on some invoices for a few nights."""
    invoices = []
    for n in range(draw(st.integers(1, 5))):
        invoices.append(
            {
                "doc": f"I{n}",
                "customer": draw(st.sampled_from(["C1", "C2"])),
                "cents": draw(st.integers(1_000, 200_000)),
                "due": draw(st.integers(-12, 25)),
                "paid_on": draw(st.none() | st.integers(0, 40)),
            }
        )
    if draw(st.booleans()):
        invoices.append({"doc": "CRN", "customer": "C1", "cents": -draw(st.integers(1_000, 50_000)), "due": -30})
    disputed = draw(
        st.lists(
            st.tuples(st.sampled_from([i["doc"] for i in invoices]), st.integers(0, 30), st.integers(1, 10)), max_size=2
        )
    )
    return invoices, disputed, draw(st.integers(30, 40))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_levels_never_go_down_and_never_skip_one(world: tuple) -> None:
    invoices, disputed, nights = world
    start = AS_OF
    state: dict[str, tuple[int, pd.Timestamp]] = {}
    seen: dict[str, list[tuple[int, int]]] = {}  # per item: (days past due, level) each night
    for night in range(nights):
        day = start + pd.Timedelta(days=night)
        rows = [
            item(
                i["doc"],
                i["cents"],
                dpd=night - i["due"],
                customer=i["customer"],
                as_of=day,
                doc_type="CRN" if i["cents"] < 0 else "INV",
            )
            for i in invoices
            if i.get("paid_on") is None or night < i["paid_on"]
        ]
        if not rows:
            break
        disp = [
            dispute(doc, opened=-(night - since), as_of=day)
            for doc, since, length in disputed
            if since <= night < since + length
        ]
        hist = history(*((doc, lv, (day - on).days) for doc, (lv, on) in state.items()), as_of=day) if state else None
        p = run(items(*rows), disp=disputes(*disp) if disp else None, hist=hist, as_of=day)
        courtesy_notices = set(p.notices.loc[p.notices["template"] == "courtesy", "notice_id"])
        for r in p.items.itertuples():
            # a courtesy lists only items not yet due, and an overdue notice never is one
            assert (r.notice_id in courtesy_notices) == (r.days_past_due < 1)
            if r.level != state.get(r.document_no, (0, None))[0]:
                state[r.document_no] = (r.level, day)
        for i in invoices:
            if i["cents"] > 0 and (i.get("paid_on") is None or night < i["paid_on"]):
                seen.setdefault(i["doc"], []).append((night - i["due"], state.get(i["doc"], (0, None))[0]))
    for doc, sequence in seen.items():
        for (_, before), (dpd, after) in zip([(None, 0), *sequence], sequence):
            assert after >= before, (doc, sequence)  # never down
            # one level a night; the only jump of two is the courtesy level lapsing for an
            # item that is overdue without ever having had its courtesy
            assert after - before <= 1 or ((before, after) == (0, 2) and dpd >= 1), (doc, sequence)
            # level 1, the courtesy, is only ever reached before the due date
            assert not (before == 0 and after == 1 and dpd >= 1), (doc, sequence)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(6, 20), st.integers(1_000, 500_000), st.integers(30, 60))
def test_an_item_seen_before_its_window_climbs_every_level_in_turn(due: int, cents: int, nights: int) -> None:
    state: dict[str, tuple[int, pd.Timestamp]] = {}
    sequence = []
    for night in range(nights):
        day = AS_OF + pd.Timedelta(days=night)
        hist = history(*((doc, lv, (day - on).days) for doc, (lv, on) in state.items()), as_of=day) if state else None
        p = run(items(item("A", cents, dpd=night - due, as_of=day)), hist=hist, as_of=day)
        for r in p.items.itertuples():
            if r.level != state.get("A", (0, None))[0]:
                state["A"] = (r.level, day)
        sequence.append(state.get("A", (0, None))[0])
    # never down, never a level skipped: 0 ... 1 (five days before due) ... 2 ... 3
    assert sequence == sorted(sequence)
    assert sorted(set(sequence)) == list(range(max(sequence) + 1))
    assert sequence.index(1) == due - 5 and sequence.index(2) == due + 7


# --- the letter -----------------------------------------------------------------------------------


def test_the_courtesy_email_in_german_names_the_due_date_and_the_amount_to_the_cent() -> None:
    open_items = items(item("A", 123456, dpd=-5), item("B", 10001, dpd=-3))
    p = run(open_items, hist=history(("B", 1, 2)))
    (email,) = render_notices(p.notices, p.items, CUSTS, open_items, AS_OF.date())
    assert email.problem is None and email.language == "de" and email.template == "courtesy"
    assert email.subject.startswith("Hinweis auf anstehende Fälligkeit – Kundennummer C1")
    for part in (email.text, email.html):
        assert "1.234,56\xa0€" in part and "100,01\xa0€" in part and "1.334,57\xa0€" in part
        # A is due on 5 April, B on 3 April 2026: the letter names both dates
        assert "03.04.2026" in part and "05.04.2026" in part
        assert "Demnächst fällige Rechnungen" in part and "Überfällig" not in part and "Mahngebühr" not in part
    assert "zwischen dem 03.04.2026 und dem 05.04.2026 fällig werden" in " ".join(email.text.split())
    assert "Tage bis zur Fälligkeit: 5" in email.text and "Zahlungsziel: 03.04.2026" in email.text
