"""Properties of collection cases over random runs of nights (each night's cases carried on as
the next night's ``previous``, as the pipeline does), and of dunning under payment plans with
the shipped policies: what the casework promises whatever the facts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from receivables.casework.cases import derive_cases
from receivables.casework.config import STAGES, CaseRules
from receivables.casework.facts import Contact, Facts
from receivables.dunning import EXCLUSION_REASONS, load_dunning_policies, propose_dunning
from receivables.payment_plans import plan_status
from tests.receivables.test_casework import balances
from tests.receivables.test_dunning import AS_OF, customer, customers, dispute, disputes, item, items, promise, promises

POLICIES = load_dunning_policies(Path(__file__).parents[2] / "configs" / "dunning.yaml")
RULES = CaseRules()
START = date(2026, 10, 1)
ACCOUNTS = [("1000", "C1"), ("1000", "C2"), ("3000", "C1")]
KINDS = [
    "handover",
    "dunning_call",
    "unreachable",
    "broken_promise",
    "broken_plan",
    "not_reminded",
    "unapplied",
    "large_old",
    "over_limit",
    "write_off",
    "dispute",
]
OUTCOMES = ["REACHED", "NO_ANSWER", "PROMISE", "DISPUTE", "PLAN", "REFUSED", "WRONG_CONTACT", "PAID_CLAIMED"]

# --- (a) cases over random nights ----------------------------------------------------------------

#: disputes, plans and promises now and then, so that cases close and accounts reopen too
seldom = st.sampled_from([False, False, False, True])
account_night = st.fixed_dictionaries(
    {
        "overdue": st.sampled_from([0, 0, 4_000, 90_000, 2_000_000, -500]),
        "kinds": st.lists(st.sampled_from(KINDS), max_size=2, unique=True),
        "dunned": st.booleans(),
        "dispute": seldom,
        "plan": seldom,
        "plan_agreed": seldom,
        "promise": seldom,
        "paid": st.booleans(),
        "contact": st.none() | st.tuples(st.sampled_from(OUTCOMES), st.none() | st.integers(0, 10)),
    }
)
night = st.tuples(st.integers(1, 6), st.lists(account_night, min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)))


def night_facts(on: date, specs: list[dict], log: dict, since: dict) -> Facts:
    """The facts of the night ``on``; ``log`` (the contact log) and ``since`` (when disputes,
    plans and promises began) carry over from night to night as the extracts would."""
    f = Facts(as_of=on, balances=balances({k: s["overdue"] for k, s in zip(ACCOUNTS, specs)}), currency="EUR")
    for key, s in zip(ACCOUNTS, specs):
        if s["kinds"]:
            f.kinds[key] = list(s["kinds"])
            f.reason[key] = ", ".join(s["kinds"])
        for kind in ("dunning_call", "unreachable"):
            if kind in s["kinds"]:
                f.event_since[key][kind] = on
        for kind in ("broken_promise", "broken_plan"):
            if kind in s["kinds"]:
                f.event_since[key][kind] = since[key].setdefault(kind, on)
        for flag, target in (("dunned", f.dunned), ("paid", f.paid)):
            if s[flag]:
                target.add(key)
        if s["dispute"]:
            f.dispute_since[key] = since[key].setdefault("dispute", on)
        else:
            since[key].pop("dispute", None)
        if s["plan"]:
            f.plan_due[key] = on + timedelta(days=5)
        if s["plan_agreed"]:
            f.plan_agreed[key] = since[key].setdefault("plan_agreed", on)
        if s["promise"]:
            f.promise_made[key] = since[key].setdefault("promise_made", on)
            f.promise_due[key] = on + timedelta(days=3)
        if s["contact"] is not None:
            outcome, after = s["contact"]
            nxt = None if after is None else on + timedelta(days=after)
            log[key].append(Contact(on, f"A{len(log[key])}-{key[1]}", "call", outcome, nxt, "Anna"))
        f.contacts[key] = list(log[key])
    return f


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(night, min_size=1, max_size=12))
def test_cases_over_random_nights(nights: list) -> None:
    log: dict = defaultdict(list)
    since: dict = defaultdict(dict)
    previous, previous_day, on = None, None, START
    closed_ids: set[str] = set()
    closed_keys: set = set()
    reopened: set = set()
    for gap, specs in nights:
        on += timedelta(days=gap)
        f = night_facts(on, specs, log, since)
        c = derive_cases(previous, f, RULES, dispute_follow_up_days=14, previous_as_of=previous_day)
        # deterministic, and the same whether the closed cases are passed back or not
        again = derive_cases(previous, f, RULES, dispute_follow_up_days=14, previous_as_of=previous_day)
        assert_frame_equal(c.cases, again.cases)
        assert_frame_equal(c.events, again.events)
        if previous is not None:
            with_closed = pd.concat([previous, c.cases.loc[c.cases["closed_on"].notna()]], ignore_index=True)
            assert_frame_equal(
                derive_cases(with_closed, f, RULES, dispute_follow_up_days=14, previous_as_of=previous_day).cases,
                c.cases,
            )
        cases = c.cases
        # one case per account a night, open or closed tonight
        assert not cases.duplicated(["company_code", "customer_id"]).any()
        assert not c.open.duplicated(["company_code", "customer_id"]).any()
        # a closed case is never carried on, a reopened account gets a new id of tonight
        assert not set(cases["case_id"]) & closed_ids
        before = set() if previous is None else set(previous["case_id"])
        for row in cases.to_dict("records"):
            assert row["stage"] in STAGES
            if row["case_id"] not in before:
                assert row["opened_on"] == on
                assert row["case_id"] == f"C-{row['company_code']}-{row['customer_id']}-{on:%Y%m%d}"
            action, due = (None if pd.isna(row[c]) else row[c] for c in ("next_action", "next_action_due"))
            assert (due is None) == (action in (None, "wait_for_reply"))
        # every case opened tonight says so once, every case closed tonight too
        happened = c.events.groupby("event")["case_id"].apply(list).to_dict()
        opened = sorted(set(cases["case_id"]) - before)
        assert sorted(happened.get("OPENED", [])) == opened
        closed = sorted(cases.loc[cases["closed_on"].notna(), "case_id"])
        assert sorted(happened.get("CLOSED", [])) == closed
        assert set(cases.loc[cases["closed_on"].notna(), "close_reason"]) <= {"PAID", "CLEARED", "RESOLVED"}
        # a case that was open and is not closed tonight is still there (nothing is dropped)
        assert before <= set(cases["case_id"])
        keys = list(zip(cases["company_code"], cases["customer_id"]))
        reopened |= {k for k, i in zip(keys, cases["case_id"]) if k in closed_keys and i not in before}
        closed_ids |= set(closed)
        closed_keys |= {k for k, shut in zip(keys, cases["closed_on"].notna()) if shut}
        previous, previous_day = c.open.reset_index(drop=True), on
    event("an account reopened" if reopened else "no account reopened")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=2, max_size=15))
def test_one_sla_breached_event_per_stage_stint(nights: list) -> None:
    """However long a call task lies, its SLA is breached once, the night after sla_due."""
    log: dict = defaultdict(list)
    previous, previous_day, on = None, None, START
    seen = []
    for i, (gap, no_answer) in enumerate(nights):
        on += timedelta(days=gap)
        spec = {
            "overdue": 90_000,
            "kinds": ["dunning_call"] if i == 0 else [],
            "dunned": True,
            "dispute": False,
            "plan": False,
            "plan_agreed": False,
            "promise": False,
            "paid": False,
            "contact": ("NO_ANSWER", None) if no_answer else None,
        }
        f = night_facts(on, [spec] + [{**spec, "overdue": 0, "kinds": [], "dunned": False}] * 2, log, defaultdict(dict))
        c = derive_cases(previous, f, RULES, dispute_follow_up_days=14, previous_as_of=previous_day)
        row = c.cases.iloc[0]
        assert row["stage"] == "CALLING"
        assert bool(row["sla_breached"]) == (on > START + timedelta(days=nights[0][0] + 3))
        seen += [
            (e.on_date, row["sla_breached"]) for e in c.events.itertuples(index=False) if e.event == "SLA_BREACHED"
        ]
        previous, previous_day = c.open, on
    assert len(seen) == (1 if on > START + timedelta(days=nights[0][0] + 3) else 0)


# --- (b) nothing a current plan covers is dunned -------------------------------------------------

document = st.fixed_dictionaries(
    {
        "amount": st.integers(1, 200_000),
        "dpd": st.integers(-5, 150),
        "customer": st.sampled_from(["C1", "C2"]),
        "plan": st.none() | st.sampled_from(["PL1", "PL2", "PL3"]),
        "disputed": seldom,
        "blocked": seldom,
        "promised": seldom,
    }
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(document, min_size=1, max_size=10),
    st.fixed_dictionaries({p: st.booleans() for p in ("PL1", "PL2", "PL3")}),
    st.sampled_from([set(), set(), {"C1"}, {"C2"}]),
    st.sampled_from([set(), set(), {"C1"}, {"C2"}]),
    seldom,
)
def test_nothing_a_current_plan_covers_is_dunned(
    docs: list, current: dict, blocked_customers: set, handed_over: set, account_dispute: bool
) -> None:
    open_items = items(
        *[
            item(f"D{i}", d["amount"], dpd=d["dpd"], customer=d["customer"], block=d["blocked"])
            for i, d in enumerate(docs)
        ]
    )
    custs = customers(*[customer(c, block=c in blocked_customers) for c in ("C1", "C2")])
    # a plan per id, on one customer's documents; current when its instalment is still to come
    plan_rows, instalments = [], []
    for plan in ("PL1", "PL2", "PL3"):
        covered = [f"D{i}" for i, d in enumerate(docs) if d["plan"] == plan]
        if not covered:
            continue
        owner = docs[int(covered[0][1:])]["customer"]
        plan_rows.append((plan, "1000", owner, ";".join(covered), AS_OF - pd.Timedelta(days=40)))
        instalments.append((plan, 1, AS_OF + pd.Timedelta(days=10 if current[plan] else -20), 100))
    plans = pd.DataFrame(plan_rows, columns=["plan_id", "company_code", "customer_id", "document_nos", "agreed_on"])
    inst = pd.DataFrame(instalments, columns=["plan_id", "seq", "due_date", "amount"])
    status = plan_status(plans, inst, None, None, open_items, AS_OF, POLICIES.plan_grace_days)
    disputed = [dispute(f"D{i}", customer=d["customer"]) for i, d in enumerate(docs) if d["disputed"]]
    if account_dispute:
        disputed.append(dispute(None, customer="C2"))
    promised = [
        promise(f"P{i}", d["amount"], doc=f"D{i}", promised=5, customer=d["customer"])
        for i, d in enumerate(docs)
        if d["promised"]
    ]
    agency = pd.DataFrame({"company_code": "1000", "customer_id": sorted(handed_over)})
    p = propose_dunning(
        open_items,
        custs,
        disputes(*disputed) if disputed else None,
        promises(*promised) if promised else None,
        None,
        POLICIES,
        AS_OF,
        plans=status,
        handed_over=agency,
    )
    paused = set(status.paused_items()["document_no"])
    assert paused == {f"D{i}" for i, d in enumerate(docs) if d["plan"] is not None and current[d["plan"]]}
    assert not paused & set(p.items["document_no"])
    reasons = dict(zip(p.skipped["document_no"], p.skipped["reason"]))
    earlier = EXCLUSION_REASONS[: EXCLUSION_REASONS.index("PLAN")]
    for i, d in enumerate(docs):
        doc = f"D{i}"
        if doc not in paused or d["dpd"] < 1:
            continue
        before = (
            d["disputed"]
            or (account_dispute and d["customer"] == "C2")
            or d["blocked"]
            or d["customer"] in blocked_customers
            or d["customer"] in handed_over
            or d["promised"]
        )
        assert reasons[doc] in earlier if before else reasons[doc] == "PLAN", (doc, d, reasons.get(doc))
        event(f"a planned overdue item skipped as {'an earlier reason' if before else 'PLAN'}")
