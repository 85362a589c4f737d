"""Partial disputes in dunning: a dispute blocks its amount of an item, the rest is dunned."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.dunning import DunningProposal
from tests.receivables.test_dunning import AS_OF, customer, customers, dispute, disputes, item, items, reasons, run


def _row(p: DunningProposal, doc: str) -> pd.Series:
    return p.items.set_index("document_no").loc[doc]


def test_a_partly_disputed_item_is_dunned_for_its_undisputed_rest() -> None:
    # 500.00 open, 200.00 of it disputed: the notice claims 300.00 and shows the 200.00
    p = run(items(item("A", 50_000)), disp=disputes(dispute("A", amount=20_000)))
    assert reasons(p) == {}
    a = _row(p, "A")
    assert (a["level"], a["open_amount"], a["disputed_amount"]) == (1, 50_000, 20_000)
    assert p.notices["overdue_amount"].tolist() == [30_000]


def test_disputes_on_one_item_add_up_and_never_beyond_its_open_amount() -> None:
    two = disputes(dispute("A", amount=10_000), {**dispute("A", amount=15_000), "dispute_id": "D-2"})
    p = run(items(item("A", 50_000), item("B", 8_000)), disp=two)
    assert (_row(p, "A")["disputed_amount"], p.notices["overdue_amount"].tolist()) == (25_000, [25_000 + 8_000])
    # 300.00 + 400.00 disputed on 500.00: all of it, so the item waits as DISPUTE
    covered = disputes(dispute("A", amount=30_000), {**dispute("A", amount=40_000), "dispute_id": "D-2"})
    p = run(items(item("A", 50_000), item("B", 8_000)), disp=covered)
    assert reasons(p) == {"A": "DISPUTE"}
    assert p.items["document_no"].tolist() == ["B"]
    assert p.notices["overdue_amount"].tolist() == [8_000]


def test_the_minimum_is_checked_against_the_undisputed_rest() -> None:
    # 30.00 open, 25.00 disputed: 5.00 is below level 1's minimum of 10.00
    p = run(items(item("A", 3_000)), disp=disputes(dispute("A", amount=2_500)))
    assert p.notices.empty
    assert reasons(p) == {"A": "BELOW_MINIMUM"}


def test_no_interest_runs_on_the_disputed_part() -> None:
    # FIXED: 10 % a year from the day after due; 1,000.00 open 73 days, 500.00 disputed:
    # 500.00 x 10 % x 73 / 365 = 10.00 (20.00 without the dispute)
    custs = customers(customer(segment="FIXED"))
    both = items(item("A", 100_000, dpd=73))
    assert run(both, custs=custs).items["interest"].tolist() == [2_000]
    p = run(both, custs=custs, disp=disputes(dispute("A", amount=50_000)))
    assert p.items["interest"].tolist() == [1_000]
    assert p.notices[["overdue_amount", "interest"]].values.tolist() == [[50_000, 1_000]]


def test_an_account_dispute_still_pauses_the_whole_account_and_a_resolved_one_nothing() -> None:
    rows = items(item("A", 50_000), item("B", 8_000))
    assert reasons(run(rows, disp=disputes(dispute(None, amount=100)))) == {"A": "DISPUTE", "B": "DISPUTE"}
    resolved = disputes(dispute("A", amount=20_000, status="RESOLVED", resolved=-1))
    p = run(rows, disp=resolved)
    assert (_row(p, "A")["disputed_amount"], p.notices["overdue_amount"].tolist()) == (0, [58_000])


@st.composite
def _disputed_accounts(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    rows, disp = [], []
    for j in range(draw(st.integers(1, 6))):
        doc = f"I{j}"
        rows.append(item(doc, draw(st.integers(-20_000, 200_000).filter(bool)), dpd=draw(st.integers(-5, 60))))
        for k in range(draw(st.integers(0, 3))):
            d = dispute(
                doc if draw(st.integers(0, 6)) else None,
                amount=draw(st.integers(1, 250_000)),
                status=draw(st.sampled_from(["OPEN", "OPEN", "RESOLVED"])),
                resolved=draw(st.integers(-10, 10)),
                opened=draw(st.integers(-30, 3)),
            )
            disp.append({**d, "dispute_id": f"D{j}-{k}"})
    return items(*rows), disputes(*disp) if disp else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_disputed_accounts())
def test_the_claimed_amount_is_never_more_than_the_undisputed_rest_nor_negative(world: tuple) -> None:
    open_items, disp = world
    p = run(open_items, disp=disp)
    blocked: dict[str, int] = {}
    if disp is not None:
        for d in disp.itertuples():
            is_open = d.opened_on <= AS_OF and (
                d.status == "OPEN" or (not pd.isna(d.resolved_on) and d.resolved_on > AS_OF)
            )
            if is_open and not pd.isna(d.document_no):
                blocked[d.document_no] = blocked.get(d.document_no, 0) + int(d.amount)
    for r in p.items.itertuples():
        claimed = r.open_amount - r.disputed_amount
        assert 0 <= r.disputed_amount <= max(r.open_amount, 0)
        assert 0 <= claimed or r.open_amount < 0
        assert claimed <= r.open_amount - min(blocked.get(r.document_no, 0), max(r.open_amount, 0))
        assert claimed > 0 or r.open_amount <= 0  # a fully disputed item is never listed
    listed = p.items.groupby("notice_id")
    for n in p.notices.itertuples():
        mine = listed.get_group(n.notice_id)
        assert n.overdue_amount == int((mine["open_amount"] - mine["disputed_amount"]).sum())
