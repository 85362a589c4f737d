"""The expected-credit-loss provision of a month-end close (docs/close.md): roll rates and
loss rates derived by hand from a 13-month aging history, the default matrix while the history
is short, floor and overlay, specific provisions counted once, and the close run's table."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from receivables import pipeline
from receivables.aging import KEYS, TABLE_BUCKETS, AgingConfig, add_base_totals, age_open_items, rates_on, to_base_cents
from receivables.close.provision import ProvisionInputs, provision_matrix
from receivables.close.provision_rules import ProvisionRules
from receivables.settings import ConfigError, load_settings
from receivables.warehouse import connect, migrate, replace_for_as_of
from receivables.warehouse.aging_history import month_end_agings
from tests.conftest import VALID_SET, warehouse_rows, write_set

AS_OF = date(2026, 10, 31)
EUR = {"EUR": Decimal(1)}
ITEM_COLUMNS = ["company_code", "document_no", "customer_id", "document_date", "due_date", "currency", "open_amount"]


def month_ends(last: date, count: int) -> list[date]:
    days = [last]
    while len(days) < count:
        days.append(days[-1].replace(day=1) - timedelta(days=1))
    return sorted(days)


def snapshot(i: int) -> pd.DataFrame:
    """Month i's aging (cents).  RETAIL: R1 owes the same every month except 1-30, which is
    300.00 in even months and 400.00 in odd ones; R2 has 20.00 at 91-120 and 90.00 at 121+.
    KEY: K1 owes 500.00 not due, 50.00 at 1-30 and 10.00 at 31-60 every month."""
    rows = [
        ("1000", "R1", "EUR", 100000, 30000 if i % 2 == 0 else 40000, 20000, 10000, 8000, 4000),
        ("1000", "R2", "EUR", 0, 0, 0, 0, 2000, 9000),
        ("2000", "K1", "EUR", 50000, 5000, 1000, 0, 0, 0),
    ]
    return pd.DataFrame(rows, columns=[*KEYS, *TABLE_BUCKETS])


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["R1", "R2", "K1"],
        "segment": ["RETAIL", "RETAIL", "KEY"],
        "company_code": ["1000", "1000", "2000"],
    }
)


def inputs(history: dict, aging: pd.DataFrame, **overrides) -> ProvisionInputs:
    values = dict(
        as_of=AS_OF,
        aging=aging,
        history=history,
        open_items=pd.DataFrame(columns=ITEM_COLUMNS),
        customers=CUSTOMERS,
        handed_over=pd.DataFrame(columns=["company_code", "customer_id"]),
        writeoffs=None,
        disputes=None,
        fx=EUR,
        previous=pd.DataFrame(columns=["company_code", "segment", "bucket", "provision"]),
        previous_month_end=date(2026, 9, 30),
    )
    return ProvisionInputs(**(values | overrides))


def thirteen_months() -> tuple[dict, pd.DataFrame]:
    days = month_ends(AS_OF, 13)
    return {d: snapshot(i) for i, d in enumerate(days[:-1])}, snapshot(12)


def by_row(frame: pd.DataFrame) -> dict:
    return {(r.company_code, r.segment, r.bucket): r for r in frame.itertuples()}


def test_loss_rates_are_the_chain_of_the_averaged_roll_rates_derived_by_hand() -> None:
    history, tonight = thirteen_months()
    out = by_row(provision_matrix(inputs(history, tonight), ProvisionRules(), AgingConfig()))
    # RETAIL, 12 month pairs.  not due -> 1-30: 400/1000 after an odd month, 300/1000 after an
    # even one: mean 0.35.  1-30 -> 31-60: 200/300 from an even month, 200/400 from an odd
    # one: mean 7/12.  31-60 -> 61-90: 100/200 = 0.5.  61-90 -> 91-120: 80/100 = 0.8 (R2's
    # 20.00 at 91-120 never was at 61-90).  91-120 -> 121+: R1 40 of 80, R2 min(90, 20) = 20:
    # 60/100 = 0.6.  Chain from 121+ at 100 %: 0.6, 0.48, 0.24, 0.24 x 7/12 = 0.14, 0.049.
    expected = {"not_due": "0.049", "d1_30": "0.14", "d31_60": "0.24", "d61_90": "0.48", "d91_120": "0.6"}
    expected["d121_plus"] = "1"
    exposure = {"not_due": 100000, "d1_30": 30000, "d31_60": 20000, "d61_90": 10000, "d91_120": 10000}
    exposure["d121_plus"] = 13000
    provision = {"not_due": 4900, "d1_30": 4200, "d31_60": 4800, "d61_90": 4800, "d91_120": 6000}
    provision["d121_plus"] = 13000
    for bucket in TABLE_BUCKETS:
        row = out[("1000", "RETAIL", bucket)]
        assert row.loss_rate == Decimal(expected[bucket]), bucket
        assert (row.exposure, row.provision, row.method) == (exposure[bucket], provision[bucket], "roll_rate")
    # KEY: 50/500 = 0.1, 10/50 = 0.2, 31-60 -> 61-90 nothing (0); 61-90 and 91-120 never held a
    # balance in KEY, so the pooled means (0.8, 0.6) stand in: 0.6, 0.48, 0, 0, 0
    key = {b: out[("2000", "KEY", b)] for b in ("not_due", "d1_30", "d31_60")}
    assert [key[b].loss_rate for b in key] == [Decimal(0)] * 3
    assert [key[b].method for b in key] == ["pooled_roll_rate"] * 3
    assert ("2000", "KEY", "d61_90") not in out  # no exposure tonight: no row


def test_the_floor_and_the_overlay_apply_after_the_chain_and_a_rate_stops_at_100_percent() -> None:
    history, tonight = thirteen_months()
    rules = ProvisionRules(floors={"d31_60": "0.01", "not_due": "0.06"}, overlay="1.10")
    out = by_row(provision_matrix(inputs(history, tonight), rules, AgingConfig()))
    assert out[("2000", "KEY", "d31_60")].loss_rate == Decimal("0.011000")  # max(0, 1 %) x 1.1
    assert out[("1000", "RETAIL", "not_due")].loss_rate == Decimal("0.066000")  # max(4.9 %, 6 %) x 1.1
    assert out[("1000", "RETAIL", "d1_30")].loss_rate == Decimal("0.154000")  # 14 % x 1.1
    assert out[("1000", "RETAIL", "d121_plus")].loss_rate == Decimal("1.000000")  # 110 % capped
    assert out[("1000", "RETAIL", "d1_30")].provision == 4620  # 300.00 x 15.4 %


def test_a_short_history_uses_the_default_matrix_and_says_so() -> None:
    history, tonight = thirteen_months()
    short = dict(list(history.items())[-10:])  # 11 snapshots with tonight: 10 month pairs
    rules = ProvisionRules(segment_default_matrix={"KEY": {"not_due": "0.001"}})
    out = by_row(provision_matrix(inputs(short, tonight), rules, AgingConfig()))
    assert {r.method for r in out.values()} == {"default_matrix"}
    assert out[("1000", "RETAIL", "not_due")].loss_rate == Decimal("0.005")
    assert out[("1000", "RETAIL", "not_due")].provision == 500  # 1,000.00 x 0.5 %
    assert out[("2000", "KEY", "not_due")].loss_rate == Decimal("0.001")
    assert out[("2000", "KEY", "d1_30")].provision == 100  # 50.00 x 2 %


def test_specific_provisions_leave_the_matrix_so_nothing_is_counted_twice() -> None:
    items = pd.DataFrame(
        [
            # H1 is at the agency: both its items are provided for as handed over
            ("1000", "H-1", "H1", "2026-05-01", "2026-05-31", "EUR", 60000),
            ("1000", "H-2", "H1", "2026-10-01", "2026-10-31", "EUR", 10000),
            # R1: a write-off proposal for 150.00 of a 200.00 item; the rest stays in the matrix
            ("1000", "W-1", "R1", "2026-06-01", "2026-06-30", "EUR", 20000),
            # R1: 250.00 of 300.00 disputed (the dispute says 400.00: never more than is open)
            ("1000", "D-1", "R1", "2026-09-01", "2026-09-30", "EUR", 30000),
            # R1: a dispute resolved before the as_of does not count
            ("1000", "D-2", "R1", "2026-10-01", "2026-10-31", "EUR", 5000),
        ],
        columns=ITEM_COLUMNS,
    )
    aging = age_open_items(items.assign(document_type="INV"), AS_OF)
    disputes = pd.DataFrame(
        {
            "company_code": ["1000", "1000"],
            "document_no": ["D-1", "D-2"],
            "amount": [40000, 5000],
            "status": ["OPEN", "RESOLVED"],
            "opened_on": pd.to_datetime(["2026-10-05", "2026-10-02"]),
            "resolved_on": pd.to_datetime([None, "2026-10-20"]),
        }
    )
    customers = pd.DataFrame({"customer_id": ["H1", "R1"], "segment": ["RETAIL", "RETAIL"]})
    case = pd.DataFrame({"company_code": ["1000"], "customer_id": ["H1"]})
    writeoffs = pd.DataFrame({"company_code": ["1000"], "document_no": ["W-1"], "amount": [15000]})
    rules = ProvisionRules()  # handover 50 %, write-off proposed 100 %, disputed 25 %
    got = inputs(
        {}, aging, open_items=items, customers=customers, handed_over=case, writeoffs=writeoffs, disputes=disputes
    )
    out = by_row(provision_matrix(got, rules, AgingConfig()))
    specific = {k[2]: (r.exposure, r.provision) for k, r in out.items() if k[2].startswith("specific:")}
    assert specific == {
        "specific:handover": (70000, 35000),
        "specific:writeoff_proposed": (15000, 15000),
        "specific:disputed": (30000, 7500),
    }
    # the matrix keeps what no specific kind took: 50.00 of W-1 (121+), D-2 not due
    matrix = {k[2]: r.exposure for k, r in out.items() if not k[2].startswith("specific:")}
    assert matrix == {"not_due": 5000, "d121_plus": 5000}
    # every cent of the aging is in exactly one row
    assert sum(r.exposure for r in out.values()) == int(aging["total"].sum()) == 125000


def test_the_change_is_measured_against_the_previous_month_end_row_by_row() -> None:
    history, tonight = thirteen_months()
    previous = pd.DataFrame(
        {
            "company_code": ["1000", "3000"],
            "segment": ["RETAIL", "RETAIL"],
            "bucket": ["not_due", "d1_30"],
            "provision": [4000, 1234],
        }
    )
    out = provision_matrix(inputs(history, tonight, previous=previous), ProvisionRules(), AgingConfig())
    rows = by_row(out)
    assert (rows[("1000", "RETAIL", "not_due")].previous_provision, rows[("1000", "RETAIL", "not_due")].change) == (
        4000,
        900,
    )
    gone = rows[("3000", "RETAIL", "d1_30")]
    assert (gone.exposure, gone.provision, gone.change, gone.method) == (0, 0, -1234, "no_exposure")
    assert int(out["change"].sum()) == int(out["provision"].sum()) - 4000 - 1234
    assert set(out["previous_month_end"]) == {date(2026, 9, 30)}


def test_a_bad_provision_section_is_refused_with_the_field_named(tmp_path: Path) -> None:
    from receivables.close.config import load_close_rules

    path = tmp_path / "close.yaml"
    path.write_text("provision:\n  floors:\n    d1_30: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="d1_30"):
        load_close_rules(path)
    path.write_text("provision:\n  default_matrix:\n    not_due: 0.01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing d1_30"):
        load_close_rules(path)


# --- the close run --------------------------------------------------------------------------------


def _history_in_warehouse(url: str) -> None:
    """Twelve month ends of aging before 2026-10-31 for the valid set's EUR customers."""
    engine = connect(url)
    migrate(engine)
    with engine.begin() as conn:
        for i, day in enumerate(month_ends(AS_OF, 13)[:-1]):
            rows = pd.DataFrame(
                [("1000", "C001", "EUR", 100000, 40000 if i % 2 else 30000, 20000, 10000, 8000, 4000)],
                columns=[*KEYS, *TABLE_BUCKETS],
            )
            replace_for_as_of(conn, "aging", day, rows.assign(total=rows[list(TABLE_BUCKETS)].sum(axis=1)), "seed")
    engine.dispose()


def test_a_close_run_writes_the_provision_a_normal_night_leaves_it_and_a_rerun_repeats_it(
    workdir: Path, tmp_path: Path
) -> None:
    extracts = write_set(
        tmp_path / "extracts", VALID_SET | {"fx_rates.csv": "currency,rate_to_base,rate_date\nUSD,0.9,2026-10-30\n"}
    )
    _history_in_warehouse(f"sqlite:///{workdir / 'warehouse.db'}")
    settings = load_settings(render_workers=1)
    query = (
        "SELECT company_code, segment, bucket, exposure, loss_rate, provision, method, previous_month_end, "
        "previous_provision, change, run_id FROM provisions ORDER BY id"
    )
    first = pipeline.run_nightly(str(extracts), AS_OF, settings, reminders=False, close=True)
    rows = warehouse_rows(workdir, query)
    assert {r[-1] for r in rows} == {first["run_id"]}
    got = {
        (r[0], r[1], r[2]): (Decimal(str(r[3])), Decimal(str(r[4])).quantize(Decimal("0.000001")), r[6]) for r in rows
    }
    # C001 (1000, STANDARD) tonight: 1,380.50 at 1-30 less the 119.00 credit note (31-60);
    # the roll history is only C001's from the seeded months plus tonight
    assert got[("1000", "STANDARD", "d1_30")][0] == Decimal("1380.50")
    assert got[("1000", "STANDARD", "d1_30")][2] == "roll_rate"
    # C003's 250.00 USD dispute at 0.9: 225.00 specific, out of its not-due exposure
    assert got[("3000", "KEY_ACCOUNT", "specific:disputed")] == (Decimal("225.00"), Decimal("0.250000"), "specific")
    assert got[("3000", "KEY_ACCOUNT", "not_due")][0] == Decimal("19800.68")  # (15,000 + 7,250.75 - 250) x 0.9, half-up

    sheet = load_workbook(workdir / "reports" / "2026-10-31" / "receivables-2026-10-31.xlsx")["Provision"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "Specific: disputed" in cells and 225.0 in cells and "0.250000" in cells

    pipeline.run_nightly(str(extracts), AS_OF, settings, reminders=False)  # a normal night of the same date
    assert warehouse_rows(workdir, query) == rows

    again = pipeline.run_nightly(str(extracts), AS_OF, settings, reminders=False, close=True)
    rerun = warehouse_rows(workdir, query)
    assert {r[-1] for r in rerun} == {again["run_id"]}
    assert [r[:-1] for r in rerun] == [r[:-1] for r in rows]


# --- a generated history ----------------------------------------------------------------------------


def _generated_agings(folder: Path) -> tuple[dict[date, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The aging (cents) of 13 generated month ends up to AS_OF - the same seed, so the same
    customers with their dates moved to each month end - and the last month end's frames."""
    from receivables.extracts import read_extract_set
    from receivables.mappings import load_mapping
    from receivables.synthetic import generate_extract_set

    mapping, agings = load_mapping("canonical"), {}
    for day in month_ends(AS_OF, 13):
        generate_extract_set(folder / day.isoformat(), customers=40, seed=2718, as_of=day)
        frames = read_extract_set(str(folder / day.isoformat()), mapping).frames
        agings[day] = add_base_totals(age_open_items(frames["open_items"], day), frames["fx_rates"], "EUR", day).aging
    return agings, frames


def _loss_rates_by_hand(agings: dict[date, pd.DataFrame], segment_of: dict, fx: dict, rules: ProvisionRules) -> dict:
    """(segment, bucket) -> loss rate, the documented method in plain pandas and exact fractions."""
    from fractions import Fraction

    def long(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.melt(id_vars=KEYS, value_vars=list(TABLE_BUCKETS), var_name="bucket", value_name="cents")
        return out.assign(step=out["bucket"].map(TABLE_BUCKETS.index), cents=out["cents"].astype("int64").clip(lower=0))

    days, pairs = sorted(agings), []
    for earlier, later in zip(days, days[1:]):
        a = long(agings[earlier]).query("bucket != 'd121_plus'")
        b = long(agings[later]).assign(step=lambda f: f["step"] - 1)[[*KEYS, "step", "cents"]]
        both = a.merge(b, on=[*KEYS, "step"], how="left", suffixes=("", "_next")).fillna({"cents_next": 0})
        both["rolled"] = both[["cents", "cents_next"]].min(axis=1).astype("int64")
        both["segment"] = both["customer_id"].map(segment_of).fillna("UNSEGMENTED")
        sums = both.groupby(["segment", "currency", "bucket"], as_index=False)[["cents", "rolled"]].sum()
        for col in ("cents", "rolled"):  # each segment's currency sum at tonight's rate, half-up
            sums[col] = [to_base_cents(v, fx[c]) for v, c in zip(sums[col], sums["currency"])]
        pairs.append(
            sums.groupby(["segment", "bucket"], as_index=False)[["cents", "rolled"]].sum().assign(month=earlier)
        )
    history = pd.concat(pairs, ignore_index=True)

    def mean_rolls(frame: pd.DataFrame) -> dict[str, Fraction]:
        seen = frame.loc[frame["cents"] > 0]
        rates = seen.assign(rate=[Fraction(int(r), int(c)) for r, c in zip(seen["rolled"], seen["cents"])])
        return {b: sum(g["rate"], Fraction(0)) / len(g) for b, g in rates.groupby("bucket")}

    pooled = mean_rolls(history.groupby(["month", "bucket"], as_index=False)[["cents", "rolled"]].sum())
    expected = {}
    for segment, own in ((s, mean_rolls(g)) for s, g in history.groupby("segment")):
        loss = {"d121_plus": Fraction(rules.last_bucket_rate)}
        for older, bucket in reversed(list(zip(TABLE_BUCKETS[1:], TABLE_BUCKETS[:-1]))):
            loss[bucket] = own.get(bucket, pooled.get(bucket, Fraction(0))) * loss[older]
        for bucket, rate in loss.items():
            final = min(max(rate, Fraction(rules.floor(bucket))) * Fraction(rules.overlay), Fraction(1))
            expected[(segment, bucket)] = Decimal((final * 10**6 + Fraction(1, 2)).__floor__()) / 10**6
    return expected


def test_the_loss_rates_of_a_generated_13_month_history_are_those_derived_by_hand(tmp_path: Path) -> None:
    agings, tonight = _generated_agings(tmp_path / "sets")
    engine = connect(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    with engine.begin() as conn:  # the 12 earlier month ends, as the nightly runs wrote them
        for day in sorted(agings)[:-1]:
            replace_for_as_of(conn, "aging", day, agings[day], "generated")
    rules = ProvisionRules(floors={"not_due": "0.002", "d1_30": "0.01"}, overlay="1.07")
    history = month_end_agings(engine, AS_OF, rules.lookback_months)
    engine.dispose()
    assert sorted(history) == sorted(agings)[:-1]
    fx = rates_on(tonight["fx_rates"], "EUR", AS_OF)
    got = provision_matrix(
        inputs(history, agings[AS_OF], open_items=tonight["open_items"], customers=tonight["customers"], fx=fx),
        rules,
        AgingConfig(),
    )
    matrix = got.loc[got["bucket"].isin(TABLE_BUCKETS)]
    assert set(matrix["method"]) == {"roll_rate"}
    rates = {(r.segment, r.bucket): r.loss_rate for r in matrix.itertuples()}  # the same for each company code
    assert len(rates) == len(matrix[["segment", "bucket"]].drop_duplicates())
    segment_of = dict(zip(tonight["customers"]["customer_id"].astype(str), tonight["customers"]["segment"].astype(str)))
    by_hand = _loss_rates_by_hand(agings, segment_of, fx, rules)
    assert {k: by_hand[k] for k in rates} == rates
    assert {s for s, _ in rates} == {"STANDARD", "LOW_VALUE", "KEY_ACCOUNT"}
