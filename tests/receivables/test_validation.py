"""The great-expectations gate: suites agree with the schema, rows are accounted for."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from receivables.config_folder import ConfigFolder
from receivables.errors import InputRejected
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.schemas import EXTRACTS
from receivables.validation import DERIVED, load_suite, validate_extract_set
from tests.conftest import VALID_SET, write_set


@pytest.mark.parametrize("name", list(EXTRACTS))
def test_every_required_value_has_a_not_null_expectation(name: str) -> None:
    suite = load_suite(name)
    not_null = {
        e["kwargs"]["column"] for e in suite["expectations"] if e["type"] == "expect_column_values_to_not_be_null"
    }
    required = {c.name for c in EXTRACTS[name].columns if not c.nullable}
    assert required <= not_null, required - not_null
    for exp in suite["expectations"]:
        assert exp["meta"]["reason"], exp
        column = exp["kwargs"].get("column")
        assert column is None or column in EXTRACTS[name].names or column in DERIVED, exp


def test_valid_set_passes_untouched(valid_set: Path) -> None:
    validated = validate_extract_set(read_extract_set(str(valid_set), load_mapping()), date(2026, 10, 31))
    assert validated.quarantine.empty
    assert validated.counts["open_items"] == {"read": 6, "accepted": 6, "quarantined": 0}
    assert validated.frames["open_items"]["open_amount"].dtype == "int64"
    assert validated.frames["open_items"]["open_amount"].sum() == 119000 + 138050 - 11900 + 84520 + 1500000 + 725075


def test_a_row_with_several_problems_is_quarantined_once_with_every_reason(tmp_path: Path) -> None:
    line = "3000,INV-000300,INV,C404,2026-10-01,2026-09-01,XYZ,10.00,20.00,,false,,"
    files = dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + line + "\n"})
    validated = validate_extract_set(
        read_extract_set(str(write_set(tmp_path / "x", files)), load_mapping()), date(2026, 10, 31)
    )
    rows = validated.quarantine[validated.quarantine["row_number"] == 8]
    assert set(rows["column"]) == {"customer_id", "due_date+document_date", "currency", "amount+open_amount"}
    assert validated.counts["open_items"] == {"read": 7, "accepted": 6, "quarantined": 1}
    assert rows[rows["column"] == "amount+open_amount"]["value"].item() == "10.00 | 20.00"


def test_critical_expectation_from_a_suite_file_stops_the_run(tmp_path: Path, valid_set: Path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in EXTRACTS:
        suite = json.loads(ConfigFolder().file(f"expectations/{name}.json").read_text())
        if name == "payments":
            suite["expectations"].append(
                {
                    "type": "expect_table_row_count_to_be_between",
                    "kwargs": {"max_value": 2},
                    "meta": {"severity": "critical", "reason": "more unapplied payments than the bank statement holds"},
                }
            )
        (suites / f"{name}.json").write_text(json.dumps(suite))
    with pytest.raises(InputRejected) as err:
        validate_extract_set(read_extract_set(str(valid_set), load_mapping()), date(2026, 10, 31), suites)
    assert err.value.file == "payments.csv" and "bank statement" in str(err.value)


def test_validations_in_one_process_share_a_context_and_nothing_else(tmp_path: Path, valid_set: Path) -> None:
    """A worker validates night after night with one great-expectations context: a night's
    rows, failures or a rejection never reach the next night's result."""
    line = "3000,INV-000300,INV,C404,2026-10-01,2026-09-01,XYZ,10.00,20.00,,false,,"
    bad = write_set(tmp_path / "bad", dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + line + "\n"}))
    rejected = write_set(tmp_path / "rejected", dict(VALID_SET, **{"customers.csv": VALID_SET["customers.csv"][:60]}))

    def quarantine(folder: Path):
        validated = validate_extract_set(read_extract_set(str(folder), load_mapping()), date(2026, 10, 31))
        return validated.quarantine.to_dict("records"), validated.counts

    first = quarantine(bad)
    with pytest.raises(InputRejected):
        quarantine(rejected)
    assert quarantine(valid_set)[0] == []
    assert quarantine(bad) == first
    assert {r["row_number"] for r in first[0] if r["extract"] == "open_items"} == {8}


def test_a_validation_keeps_nothing_computed_on_the_rows_it_checked(tmp_path: Path) -> None:
    """great-expectations caches each expectation's row masks and unexpected rows by batch: a
    worker kept the last night's (~80 MB at size l) through the rest of that night and into
    the next.  Once the result is returned, no frame or series of the extract's length lives
    on."""
    import gc

    import pandas as pd

    rows = 1237  # a length nothing else in the process has
    lines = "".join(
        f"1000,77{n:08d},INV,C001,2026-08-01,2026-08-31,EUR,10.00,10.00,,false,,\n" for n in range(rows - 6)
    )
    folder = write_set(tmp_path / "x", dict(VALID_SET, **{"open_items.csv": VALID_SET["open_items.csv"] + lines}))
    validated = validate_extract_set(read_extract_set(str(folder), load_mapping()), date(2026, 10, 31))
    assert validated.counts["open_items"] == {"read": rows, "accepted": rows, "quarantined": 0}
    del validated
    gc.collect()
    left = [o for o in gc.get_objects() if isinstance(o, (pd.Series, pd.DataFrame)) and len(o) == rows]
    assert left == []
