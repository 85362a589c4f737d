"""Payment plans: the suites, the plan statuses worked out by hand, dunning paused by a
current plan and resumed at the stored level by a broken one, the worklist task, the KPIs and
the warehouse tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables import pipeline
from receivables.dunning import EXCLUSION_REASONS, propose_dunning
from receivables.extracts import read_extract_set
from receivables.kpis import compute_kpis
from receivables.mappings import load_mapping
from receivables.payment_plans import covered_documents, plan_status
from receivables.settings import load_settings
from receivables.validation import validate_extract_set
from receivables.worklist_reasons import broken_plan_reasons
from tests.conftest import VALID_SET, warehouse_rows, write_set
from tests.receivables.test_dunning import AS_OF, POLICIES, customers, item, items, reasons

PLANS_HEADER = "plan_id,company_code,customer_id,document_nos,agreed_on,approved_by\n"
INSTALMENTS_HEADER = "plan_id,seq,due_date,amount\n"
T = date(2026, 10, 31)


def _plans(*rows: tuple) -> pd.DataFrame:
    """(plan_id, document_nos, agreed_on[, customer, company])"""
    return pd.DataFrame(
        {
            "plan_id": [r[0] for r in rows],
            "company_code": [r[4] if len(r) > 4 else "1000" for r in rows],
            "customer_id": [r[3] if len(r) > 3 else "C1" for r in rows],
            "document_nos": [r[1] for r in rows],
            "agreed_on": pd.to_datetime([r[2] for r in rows]),
            "approved_by": "Anna",
        }
    )


def _instalments(*rows: tuple) -> pd.DataFrame:
    """(plan_id, seq, due_date, cents)"""
    return pd.DataFrame(
        {
            "plan_id": [r[0] for r in rows],
            "seq": pd.array([r[1] for r in rows], dtype="Int64"),
            "due_date": pd.to_datetime([r[2] for r in rows]),
            "amount": [r[3] for r in rows],
        }
    )


def _applications(*rows: tuple) -> pd.DataFrame:
    """(document_no, cents[, status])"""
    return pd.DataFrame(
        {
            "payment_id": [f"P{i}" for i in range(len(rows))],
            "company_code": "1000",
            "document_no": [r[0] for r in rows],
            "applied_amount": [r[1] for r in rows],
            "status": [r[2] if len(r) > 2 else "applied" for r in rows],
        }
    )


def _cleared(*rows: tuple) -> pd.DataFrame:
    """(document_no, cents, clearing_date)"""
    return pd.DataFrame(
        {
            "company_code": "1000",
            "document_no": [r[0] for r in rows],
            "customer_id": "C1",
            "currency": "EUR",
            "amount": [r[1] for r in rows],
            "clearing_date": pd.to_datetime([r[2] for r in rows]),
        }
    )


def _open(*rows: tuple) -> pd.DataFrame:
    """(document_no, open cents)"""
    return pd.DataFrame(
        {
            "company_code": "1000",
            "document_no": [r[0] for r in rows],
            "currency": "EUR",
            "open_amount": [r[1] for r in rows],
        }
    )


def _status(plans, inst, apps=None, cleared=None, open_items=None, as_of="2026-03-31", grace=3):
    open_items = _open(("A", 30_000), ("B", 20_000)) if open_items is None else open_items
    return plan_status(plans, inst, apps, cleared, open_items, as_of, grace)


SCHEDULE = _instalments(
    ("PL1", 1, "2026-03-01", 10_000), ("PL1", 2, "2026-04-01", 10_000), ("PL1", 3, "2026-05-01", 10_000)
)
PLAN = _plans(("PL1", "A", "2026-02-15"))


# --- plan statuses, by hand ----------------------------------------------------------------------


def test_covered_documents_are_split_trimmed_and_deduplicated() -> None:
    assert covered_documents(" A; B;;A ") == ["A", "B"]
    assert covered_documents(None) == []


def test_an_instalment_met_on_time_keeps_the_plan_current() -> None:
    s = _status(PLAN, SCHEDULE, cleared=_cleared(("A", 10_000, "2026-02-28")), open_items=_open(("A", 20_000)))
    row = s.plans.iloc[0]
    assert row["status"] == "CURRENT"
    assert (row["due_to_date"], row["paid_to_date"], row["covered_open_amount"]) == (10_000, 10_000, 20_000)
    assert row["next_due_date"] == date(2026, 4, 1) and row["next_amount"] == 10_000
    assert row["amount_at_risk"] == 0
    assert list(s.events["event"]) == ["PLAN_AGREED", "INSTALMENT_MET"]
    assert s.events.iloc[1]["on_date"] == date(2026, 2, 28)
    assert list(s.paused_items()["document_no"]) == ["A"]


def test_an_instalment_met_within_the_grace_days_is_met() -> None:
    # due 1 March, paid 4 March: three days of grace
    s = _status(PLAN, SCHEDULE, cleared=_cleared(("A", 10_000, "2026-03-04")), open_items=_open(("A", 20_000)))
    assert s.plans.iloc[0]["status"] == "CURRENT"
    assert s.events.iloc[1][["event", "seq"]].tolist() == ["INSTALMENT_MET", 1]


def test_an_instalment_missed_after_its_grace_breaks_the_plan() -> None:
    # paid 5 March: one day after the grace ran out; the money does not mend the plan
    s = _status(PLAN, SCHEDULE, cleared=_cleared(("A", 10_000, "2026-03-05")), open_items=_open(("A", 20_000)))
    row = s.plans.iloc[0]
    assert row["status"] == "BROKEN"
    assert row["missed_seq"] == 1 and row["missed_due_date"] == date(2026, 3, 1)
    assert row["amount_at_risk"] == 20_000 and row["paid_to_date"] == 10_000
    assert list(s.events["event"]) == ["PLAN_AGREED", "INSTALMENT_MISSED", "PLAN_BROKEN"]
    assert s.events.iloc[1]["on_date"] == date(2026, 3, 5)
    assert s.paused_items().empty


def test_a_plan_whose_instalments_are_all_met_is_completed() -> None:
    cleared = _cleared(("A", 30_000, "2026-02-25"))  # the whole plan paid early
    s = _status(PLAN, SCHEDULE, cleared=cleared, open_items=_open(), as_of="2026-05-10")
    row = s.plans.iloc[0]
    assert row["status"] == "COMPLETED" and pd.isna(row["next_due_date"])
    assert list(s.events["event"]) == ["PLAN_AGREED", *["INSTALMENT_MET"] * 3, "PLAN_COMPLETED"]
    assert s.paused_items().empty


def test_an_instalment_not_yet_due_leaves_the_plan_current_and_cumulative_amounts_count() -> None:
    # 150.00 by 1 March meets instalment 1 and half of 2; nothing more is due by 31 March
    cleared = _cleared(("A", 15_000, "2026-02-20"))
    s = _status(PLAN, SCHEDULE, cleared=cleared, open_items=_open(("A", 15_000)))
    row = s.plans.iloc[0]
    assert row["status"] == "CURRENT" and row["next_amount"] == 5_000


def test_tonights_cash_counts_once_and_money_before_the_agreement_not_at_all() -> None:
    plan = _plans(("PL1", "A;B", "2026-02-15"))
    inst = _instalments(("PL1", 1, "2026-03-31", 30_000))
    # B is paid in full tonight; a rerun's cleared_items already holds B's clearing: one payment
    apps = _applications(("B", 20_000), ("A", 5_000, "suggested"))
    cleared = _cleared(("B", 20_000, "2026-03-31"), ("A", 10_000, "2026-02-01"))
    s = _status(plan, inst, apps, cleared, _open(("A", 20_000)))
    row = s.plans.iloc[0]
    assert row["paid_to_date"] == 20_000  # not 40,000 (twice B), not 25,000 (a suggestion)
    assert row["status"] == "CURRENT"  # due today, grace until 3 April
    assert row["next_amount"] == 10_000


def test_an_invoice_paid_in_parts_on_earlier_nights_keeps_meeting_its_plan() -> None:
    """A stays open while it is paid in instalments, so no cleared_items row shows the parts:
    the cash earlier nights applied (read back from the warehouse) does.  The same payment
    applied again tonight, because the ERP had not posted it yet, counts once."""
    earlier = _applications(("A", 10_000)).assign(as_of=pd.to_datetime(["2026-03-01"]))
    again = _applications(("A", 10_000))  # P0 again, tonight
    s = plan_status(PLAN, SCHEDULE, again, None, _open(("A", 20_000)), "2026-04-02", 3, earlier_applications=earlier)
    row = s.plans.iloc[0]
    assert row["status"] == "CURRENT" and row["paid_to_date"] == 10_000  # instalment 2 in its grace
    later = plan_status(PLAN, SCHEDULE, None, None, _open(("A", 20_000)), "2026-03-20", 3, earlier_applications=earlier)
    assert later.plans.iloc[0]["status"] == "CURRENT"  # without the warehouse's parts: BROKEN
    # when A finally clears in the ERP, only what the applied cash does not explain is new money
    cleared = _cleared(("A", 30_000, "2026-04-01"))
    done = _status(PLAN, SCHEDULE, None, cleared, _open(), as_of="2026-04-02")
    assert done.plans.iloc[0]["paid_to_date"] == 30_000  # cleared, nothing applied by us: counted whole
    with_parts = plan_status(PLAN, SCHEDULE, None, cleared, _open(), "2026-04-02", 3, earlier_applications=earlier)
    assert with_parts.plans.iloc[0]["paid_to_date"] == 30_000  # 10,000 applied + the other 20,000, not 40,000


def test_instalments_in_any_row_order_are_judged_by_their_plan_and_sequence() -> None:
    # an export may interleave the plans' rows and list a plan's instalments out of order
    plans = _plans(("PL1", "A", "2026-02-15"), ("PL2", "B", "2026-02-20"))
    rows = [
        ("PL1", 1, "2026-03-01", 10_000),
        ("PL1", 2, "2026-04-01", 10_000),
        ("PL1", 3, "2026-05-01", 10_000),
        ("PL2", 1, "2026-03-10", 5_000),
        ("PL2", 2, "2026-03-20", 15_000),
    ]
    cleared = _cleared(("A", 10_000, "2026-02-28"), ("B", 5_000, "2026-03-09"))
    in_order = _status(plans, _instalments(*rows), cleared=cleared)
    shuffled = _status(plans, _instalments(*[rows[i] for i in (4, 2, 0, 3, 1)]), cleared=cleared)
    pd.testing.assert_frame_equal(in_order.plans, shuffled.plans)
    pd.testing.assert_frame_equal(in_order.events, shuffled.events)
    by_plan = in_order.plans.set_index("plan_id")
    assert by_plan["status"].to_dict() == {"PL1": "CURRENT", "PL2": "BROKEN"}
    assert (by_plan.loc["PL1", "next_due_date"], by_plan.loc["PL1", "next_amount"]) == (date(2026, 4, 1), 10_000)
    assert (by_plan.loc["PL2", "missed_seq"], by_plan.loc["PL2", "amount_at_risk"]) == (2, 20_000)


def test_an_instalment_without_a_plan_id_belongs_to_no_plan() -> None:
    # what a caller hands in unvalidated: the blank id is nobody's schedule, not the last plan's
    blank = _instalments(("PL1", 1, "2026-03-01", 10_000), (None, 1, "2026-03-01", 99_000))
    s = _status(PLAN, blank, cleared=_cleared(("A", 10_000, "2026-02-28")), open_items=_open(("A", 20_000)))
    assert s.plans.iloc[0][["status", "due_to_date"]].tolist() == ["COMPLETED", 10_000]
    only_blank = _instalments((None, 1, "2026-03-01", 10_000))
    assert _status(PLAN, only_blank).plans.empty


def test_a_plan_without_instalments_or_agreed_after_as_of_is_left_out() -> None:
    plans = _plans(("PL1", "A", "2026-02-15"), ("PL2", "B", "2026-04-15"))
    inst = _instalments(("PL2", 1, "2026-05-01", 100))
    assert _status(plans, inst).plans.empty
    assert _status(None, None).plans.empty


# --- dunning -------------------------------------------------------------------------------------


def test_a_current_plan_pauses_its_items_and_a_broken_one_does_not() -> None:
    open_items = items(item("A", 30_000, dpd=40), item("B", 20_000, dpd=40))
    plans = _plans(("PL1", "A", "2026-02-15"), ("PL2", "B", "2026-02-15"))
    inst = _instalments(("PL1", 1, "2026-04-15", 100), ("PL2", 1, "2026-03-01", 100))
    s = plan_status(plans, inst, None, None, open_items, AS_OF, POLICIES.plan_grace_days)
    assert dict(zip(s.plans["plan_id"], s.plans["status"])) == {"PL1": "CURRENT", "PL2": "BROKEN"}
    p = propose_dunning(open_items, customers(), None, None, None, POLICIES, AS_OF, plans=s)
    assert reasons(p)["A"] == "PLAN"
    assert list(p.items["document_no"]) == ["B"]
    assert EXCLUSION_REASONS.index("PLAN") == EXCLUSION_REASONS.index("CREDIT_BALANCE") - 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(1, 50_000), st.integers(-5, 120), st.booleans()), min_size=1, max_size=8),
    st.integers(0, 10),
)
def test_nothing_covered_by_a_current_plan_is_dunned(rows: list, grace: int) -> None:
    open_items = items(*[item(f"D{i}", amount, dpd=dpd) for i, (amount, dpd, _) in enumerate(rows)])
    covered = ";".join(f"D{i}" for i, (_, _, planned) in enumerate(rows) if planned) or "NONE"
    plans = _plans(("PL1", covered, "2026-03-01"))
    inst = _instalments(("PL1", 1, "2026-03-30", 100))
    s = plan_status(plans, inst, None, None, open_items, AS_OF, grace)
    p = propose_dunning(open_items, customers(), None, None, None, POLICIES, AS_OF, plans=s)
    paused = set(s.paused_items()["document_no"])
    assert not paused & set(p.items["document_no"])
    if grace >= 1:  # 30 March + grace reaches as_of (31 March): the plan is current
        assert paused - {"NONE"} == {f"D{i}" for i, (_, _, planned) in enumerate(rows) if planned}


# --- worklist and KPIs ---------------------------------------------------------------------------


def test_a_broken_plan_gives_the_collector_a_call() -> None:
    s = _status(PLAN, SCHEDULE, open_items=_open(("A", 30_000)))
    (reason,) = broken_plan_reasons(s.plans)
    assert reason.key == ("1000", "C1") and reason.action == "call" and reason.kind == "broken_plan"
    assert "payment plan PL1 broken: instalment 1 due 2026-03-01 missed, 300.00 EUR open" == reason.text


def test_plan_kpis() -> None:
    plans = _plans(("PL1", "A", "2026-02-15"), ("PL2", "B", "2026-02-15"))
    inst = _instalments(
        ("PL1", 1, "2026-03-01", 10_000), ("PL2", 1, "2026-03-01", 10_000), ("PL2", 2, "2026-06-01", 10_000)
    )
    cleared = _cleared(("B", 15_000, "2026-02-20"))
    s = _status(plans, inst, cleared=cleared, open_items=_open(("A", 30_000), ("B", 5_000)))
    k = compute_kpis(
        _open(("A", 30_000), ("B", 5_000)).assign(
            customer_id="C1",
            document_type="INV",
            document_date=pd.Timestamp("2026-01-01"),
            due_date=pd.Timestamp("2026-02-01"),
            amount=[30_000, 20_000],
        ),
        "2026-03-31",
        plans=s.plans,
        base_currency="EUR",
    )
    v = dict(zip(k.loc[k["company_code"] == "ALL", "kpi"], k.loc[k["company_code"] == "ALL", "value"]))
    assert (v["plans_current"], v["plans_completed"], v["plans_broken"]) == (1, 0, 1)
    assert str(v["amount_under_plans"]) == "50.00" and str(v["amount_at_risk"]) == "300.00"
    # due 200.00; paid 100.00 toward PL2 (its 150.00 counts up to what was due), 0 toward PL1
    assert float(v["plan_attainment_pct"]) == 50.0


# --- the suites and a run ------------------------------------------------------------------------


def _plan_files(plans: str, instalments: str) -> dict:
    return {"payment_plans.csv": PLANS_HEADER + plans, "plan_instalments.csv": INSTALMENTS_HEADER + instalments}


def test_the_suites_quarantine_bad_plans_and_instalments_with_their_reasons(tmp_path: Path) -> None:
    files = dict(
        VALID_SET,
        **_plan_files(
            "PL1,1000,C001,9000012346,2026-10-20,Anna\n"
            "PL2,1000,C001, ; ,2026-10-20,Anna\n"  # row 3: no document
            "PL3,1000,C404,9000012346,2026-10-20,Anna\n"  # row 4: unknown customer
            "PL4,1000,C001,9000012346,2026-11-20,Anna\n",  # row 5: after as_of
            "PL1,1,2026-11-05,500.00\n"
            "PL1,1,2026-11-30,880.50\n"  # rows 2 and 3: seq twice
            "PL1,2,2026-11-30,0.00\n"  # row 4: nothing due
            "PL1,3,2026-10-01,10.00\n"  # row 5: due before the agreement
            "PL9,1,2026-11-30,10.00\n"  # row 6: no such plan
            "PL3,1,2026-11-30,10.00\n",  # row 7: its plan was quarantined
        ),
    )
    validated = validate_extract_set(read_extract_set(str(write_set(tmp_path / "x", files)), load_mapping()), T)
    assert validated.counts["payment_plans"] == {"read": 4, "accepted": 1, "quarantined": 3}
    assert validated.counts["plan_instalments"] == {"read": 6, "accepted": 0, "quarantined": 6}
    q = validated.quarantine
    why = {(r.extract, r.row_number, r.column): r.reason for r in q.itertuples()}
    assert why[("payment_plans", 3, "document_nos")].startswith("document_nos names no document")
    assert why[("payment_plans", 4, "customer_id")].startswith("customer C404 does not exist")
    assert why[("payment_plans", 5, "agreed_on")] == "agreed_on is after the run date (as_of)"
    assert why[("plan_instalments", 2, "plan_id+seq")].startswith("duplicate key: plan_id + seq")
    assert why[("plan_instalments", 4, "amount")] == "instalment amount must be positive"
    assert why[("plan_instalments", 5, "due_date+plan_id")] == "due_date is before the plan's agreed_on"
    assert why[("plan_instalments", 6, "plan_id")] == "plan_id is not an accepted payment plan"
    assert why[("plan_instalments", 7, "plan_id")] == "plan_id is not an accepted payment plan"


def test_dunning_pauses_under_a_plan_and_resumes_at_the_stored_level_after_a_break(
    workdir: Path, valid_set: Path
) -> None:
    """Three nights on one warehouse: 9000012346 (due 15 October) reaches level 1; a plan
    agreed on 25 October pauses it while level 2 falls due; the plan breaks (instalment 1 due
    5 November unpaid past its grace) and the item goes on from level 1 to 2, not from 0 and
    not to 3 though 36 days past due would reach level 3."""
    settings = load_settings()
    with_plan = write_set(
        workdir / "with_plan",
        dict(
            VALID_SET,
            **_plan_files(
                "PL1,1000,C001,9000012346,2026-10-25,Anna\n", "PL1,1,2026-11-05,500.00\nPL1,2,2026-11-30,880.50\n"
            ),
        ),
    )
    pipeline.run_nightly(str(valid_set), date(2026, 10, 22), settings)
    pipeline.run_nightly(str(with_plan), date(2026, 11, 6), settings)
    pipeline.run_nightly(str(with_plan), date(2026, 11, 20), settings)

    def level_of(day: str) -> list:
        return warehouse_rows(
            workdir,
            f"select previous_level, level from dunning_items where as_of = '{day}' and document_no = '9000012346'",
        )

    assert level_of("2026-10-22") == [(0, 1)]
    assert level_of("2026-11-06") == []
    skips = warehouse_rows(
        workdir, "select reason, level from dunning_skips where as_of = '2026-11-06' and document_no = '9000012346'"
    )
    assert skips == [("PLAN", 1)]
    assert level_of("2026-11-20") == [(1, 2)]
    status = warehouse_rows(
        workdir, "select as_of, status, missed_seq, amount_at_risk from payment_plan_status order by as_of"
    )
    assert [(s[0], s[1], s[2]) for s in status] == [("2026-11-06", "CURRENT", None), ("2026-11-20", "BROKEN", 1)]
    assert float(status[1][3]) == 1380.50
    work = warehouse_rows(
        workdir, "select reason from collector_worklist where as_of = '2026-11-20' and customer_id = 'C001'"
    )
    assert "payment plan PL1 broken" in work[0][0]
    kpi = warehouse_rows(
        workdir, "select value from kpis where as_of = '2026-11-20' and company_code = 'ALL' and kpi = 'plans_broken'"
    )
    assert float(kpi[0][0]) == 1


def test_the_plan_tables_are_replaced_on_a_rerun(workdir: Path) -> None:
    folder = write_set(
        workdir / "x",
        dict(VALID_SET, **_plan_files("PL1,1000,C001,9000012346,2026-10-20,Anna\n", "PL1,1,2026-11-05,500.00\n")),
    )
    settings = load_settings()
    for _ in range(2):
        pipeline.run_nightly(str(folder), T, settings)
    events = warehouse_rows(workdir, "select as_of, plan_id, event, seq, on_date from plan_events")
    assert events == [("2026-10-31", "PL1", "PLAN_AGREED", None, "2026-10-20")]
    assert len(warehouse_rows(workdir, "select * from payment_plan_status")) == 1
    run_ids = warehouse_rows(workdir, "select distinct run_id from payment_plan_status")
    assert len(run_ids) == 1


def test_generated_sets_carry_a_current_and_a_broken_plan_the_same_for_a_seed(tmp_path: Path) -> None:
    from receivables.synthetic import generate_extract_set

    first = generate_extract_set(tmp_path / "a", customers=10, seed=7)
    generate_extract_set(tmp_path / "b", customers=10, seed=7)
    for name in ("payment_plans.csv", "plan_instalments.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    validated = validate_extract_set(read_extract_set(str(tmp_path / "a"), load_mapping()), first.as_of)
    assert validated.counts["plan_instalments"]["quarantined"] == 0 and first.counts["payment_plans"] >= 2
    f = validated.frames
    s = plan_status(
        f["payment_plans"], f["plan_instalments"], None, f["cleared_items"], f["open_items"], first.as_of, 3
    )
    assert {"CURRENT", "BROKEN"} <= set(s.plans["status"])
