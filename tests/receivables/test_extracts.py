"""Readers and mappings: every supported source gives the same canonical frames, to the cent."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import fsspec
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.errors import InputRejected
from receivables.extracts import read_extract_set
from receivables.mappings import TextFormat, load_mapping
from receivables.validation import validate_extract_set
from tests.conftest import VALID_SET, write_set
from tests.erp import create_erp

CANONICAL = load_mapping("canonical")


def _frames(source: str, mapping=CANONICAL, as_of: date = date(2026, 10, 31)):
    extracts = read_extract_set(source, mapping, as_of=as_of)
    assert extracts.row_errors.empty, extracts.row_errors
    return extracts.frames


@pytest.fixture
def reference(valid_set: Path):
    return _frames(str(valid_set))


def test_canonical_csv_types_and_cents(reference) -> None:
    items = reference["open_items"]
    assert list(items.index) == [2, 3, 4, 5, 6, 7]  # spreadsheet row numbers
    assert items.loc[3, "amount"] == 238050 and items.loc[3, "open_amount"] == 138050
    assert items.loc[4, "open_amount"] == -11900
    assert items.loc[2, "due_date"] == pd.Timestamp("2026-08-31")
    assert str(items.loc[2, "discount_pct"]) == "2"
    customers = reference["customers"].set_index("customer_id")
    assert customers.loc["C001", "name"] == "Müller & Söhne GmbH"
    assert customers.loc["C002", "name"] == "Café Peñalver S.L."
    assert not customers["dunning_block"].any()
    assert pd.isna(reference["payments"].set_index("payment_id").loc["P0000002", "customer_id"])


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_any_delimiter_gives_the_same_frames(tmp_path: Path, reference, delimiter: str) -> None:
    import csv

    files = {}
    for name, text in VALID_SET.items():
        rows = list(csv.reader(io.StringIO(text)))
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        files[name] = buf.getvalue()
    frames = _frames(str(write_set(tmp_path / "x", files)))
    for name in VALID_SET:
        stem = name.split(".")[0]
        pd.testing.assert_frame_equal(frames[stem], reference[stem])


def test_utf8_bom_is_accepted(tmp_path: Path, reference) -> None:
    files = {name: b"\xef\xbb\xbf" + text.encode("utf-8") for name, text in VALID_SET.items()}
    frames = _frames(str(write_set(tmp_path / "x", files)))
    pd.testing.assert_frame_equal(frames["customers"], reference["customers"])


def test_declared_latin1_encoding(tmp_path: Path, reference) -> None:
    mapping = tmp_path / "latin.yaml"
    mapping.write_text("name: latin\nformat:\n  encoding: latin-1\n", encoding="utf-8")
    files = {name: text.encode("latin-1") for name, text in VALID_SET.items()}
    frames = _frames(str(write_set(tmp_path / "x", files)), load_mapping(mapping))
    assert frames["customers"].loc[2, "name"] == "Müller & Söhne GmbH"


def test_undeclared_latin1_names_file_and_row(tmp_path: Path) -> None:
    files = dict(VALID_SET, **{"customers.csv": VALID_SET["customers.csv"].encode("latin-1")})
    with pytest.raises(InputRejected) as err:
        read_extract_set(str(write_set(tmp_path / "x", files)), CANONICAL)
    assert err.value.file == "customers.csv" and err.value.row == 2
    assert "encoding" in str(err.value)


def test_xlsx_with_typed_cells(tmp_path: Path, reference) -> None:
    folder = write_set(tmp_path / "x", {k: v for k, v in VALID_SET.items() if k != "open_items.csv"})
    items = pd.read_csv(io.StringIO(VALID_SET["open_items.csv"]), dtype=str, keep_default_na=False)
    for col in ("document_date", "due_date"):
        items[col] = pd.to_datetime(items[col])
    for col in ("amount", "open_amount"):
        items[col] = items[col].astype(float)
    items.to_excel(folder / "open_items.xlsx", index=False)
    frames = _frames(str(folder))
    cols = ["company_code", "document_no", "amount", "open_amount", "document_date", "due_date"]
    pd.testing.assert_frame_equal(frames["open_items"][cols], reference["open_items"][cols])


def test_parquet(tmp_path: Path, reference) -> None:
    folder = write_set(tmp_path / "x", {k: v for k, v in VALID_SET.items() if k != "payments.csv"})
    payments = pd.read_csv(io.StringIO(VALID_SET["payments.csv"]), dtype=str, keep_default_na=False)
    payments["amount"] = payments["amount"].astype(float)
    payments["value_date"] = pd.to_datetime(payments["value_date"])
    payments.to_parquet(folder / "payments.parquet")
    frames = _frames(str(folder))
    got = frames["payments"].reset_index(drop=True)
    want = reference["payments"].reset_index(drop=True)
    pd.testing.assert_series_equal(got["amount"], want["amount"])
    pd.testing.assert_series_equal(got["value_date"], want["value_date"])
    assert frames["payments"].index[0] == 1  # Parquet records count from 1


def test_fsspec_url(reference) -> None:
    fs = fsspec.filesystem("memory")
    for name, text in VALID_SET.items():
        with fs.open(f"/ar/2026-10-31/{name}", "wb") as fh:
            fh.write(text.encode("utf-8"))
    frames = _frames("memory://ar/2026-10-31")
    pd.testing.assert_frame_equal(frames["open_items"], reference["open_items"])
    extracts = read_extract_set("memory://ar/2026-10-31", CANONICAL)
    assert extracts.sources["customers"].url.startswith("memory://")


def test_sql_source_with_bound_as_of(tmp_path: Path, reference) -> None:
    db = tmp_path / "erp.db"
    create_erp(f"sqlite:///{db}", VALID_SET)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        # a payment received after the run date must not be read
        conn.execute(
            sa.text(
                "INSERT INTO erp_incoming_payments (payment_id, company_code, value_date, amount, currency) "
                "VALUES ('P9', '1000', '2026-11-05', '1.00', 'EUR')"
            )
        )
    engine.dispose()
    frames = _frames(f"sql+sqlite:///{db}", as_of=date(2026, 10, 31))
    assert sorted(frames["payments"]["payment_id"]) == ["P0000001", "P0000002", "P0000003"]
    assert frames["open_items"]["open_amount"].sum() == reference["open_items"]["open_amount"].sum()
    assert frames["promises"].empty  # optional extract whose table does not exist


def test_sql_source_unreachable_is_rejected() -> None:
    with pytest.raises(InputRejected) as err:
        read_extract_set("sql+postgresql://reader:secret@127.0.0.1:1/erp", CANONICAL)
    assert "secret" not in str(err.value)


SAP_ITEMS = (
    "Buchungskreis;Konto;Belegnummer;Belegart;Belegdatum;Nettofälligkeit;Betrag in Belegwährung;Belegwährung;"
    "Referenz;Mahnsperre;Skonto 1 Proz.;Skontotage 1;Zuordnung\n"
    "1000;C001;9000012345;RV;01.08.2026;31.08.2026;1.190,00;EUR;RF18539007547034;;2,000;10;4711\n"
    "1000;C001;9000012346;RV;15.09.2026;15.10.2026;1.380,50;EUR;;R;;;\n"
    "1000;C001;9000012399;DG;20.09.2026;20.09.2026;119,00-;EUR;;;;;\n"
)
SAP_CUSTOMERS = (
    "Debitor;Name 1;E-Mail-Adresse;Sprache;Land;Währung;Zahlungsziel Tage;Kreditlimit;Buchungskreis;Mahnsperre\n"
    "C001;Müller & Söhne GmbH;buchhaltung@mueller-soehne.de;D;DE;EUR;30;50.000,00;1000;\n"
)


def test_sap_fbl5n_mapping(tmp_path: Path) -> None:
    folder = write_set(
        tmp_path / "sap",
        {
            "FBL5N_20261031.csv": SAP_ITEMS.encode("cp1252"),
            "Debitoren.csv": SAP_CUSTOMERS.encode("cp1252"),
            "payments.csv": VALID_SET["payments.csv"].splitlines()[0] + "\n",
        },
    )
    frames = _frames(str(folder), load_mapping("sap_fbl5n_de"))
    items = frames["open_items"].set_index("document_no")
    assert items.loc["9000012345", "document_type"] == "INV"
    assert items.loc["9000012345", "amount"] == 119000
    assert items.loc["9000012399", "document_type"] == "CRN"
    assert items.loc["9000012399", "open_amount"] == -11900
    assert items.loc["9000012346", "dunning_block"] and not items.loc["9000012345", "dunning_block"]
    assert items.loc["9000012345", "due_date"] == pd.Timestamp("2026-08-31")
    assert str(items.loc["9000012345", "discount_pct"]) == "2.000"
    assert items.loc["9000012345", "Zuordnung"] == "4711"  # extra columns are kept
    customers = frames["customers"]
    assert customers.loc[2, "language"] == "de" and customers.loc[2, "credit_limit"] == 5_000_000
    extracts = read_extract_set(str(folder), load_mapping("sap_fbl5n_de"))
    validated = validate_extract_set(extracts, date(2026, 10, 31))
    assert validated.quarantine.empty, validated.quarantine
    assert validated.counts["open_items"]["accepted"] == 3


def test_sap_export_missing_a_column_names_the_german_header(tmp_path: Path) -> None:
    broken = SAP_ITEMS.replace("Nettofälligkeit", "Fälligkeit")
    folder = write_set(
        tmp_path / "sap",
        {
            "FBL5N.csv": broken.encode("cp1252"),
            "Debitoren.csv": SAP_CUSTOMERS.encode("cp1252"),
            "payments.csv": "payment_id,company_code,value_date,amount,currency,customer_id\n",
        },
    )
    with pytest.raises(InputRejected) as err:
        read_extract_set(str(folder), load_mapping("sap_fbl5n_de"))
    assert "'Nettofälligkeit' (for due_date)" in str(err.value) and err.value.file == "FBL5N.csv"


def test_rows_after_a_malformed_row_keep_their_numbers(tmp_path: Path) -> None:
    text = VALID_SET["open_items.csv"].splitlines()
    text.insert(2, "1000,BROKEN,INV")
    files = dict(VALID_SET, **{"open_items.csv": "\n".join(text) + "\n"})
    extracts = read_extract_set(str(write_set(tmp_path / "x", files)), CANONICAL)
    assert list(extracts.row_errors["row_number"]) == [3]
    items = extracts.frames["open_items"]
    assert items.loc[4, "document_no"] == "9000012346"  # was row 3 before the insert
    assert items.loc[8, "document_no"] == "INV-000124"


def _format(cents: int, fmt: TextFormat) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    digits = f"{whole:,}".replace(",", fmt.thousands) if fmt.thousands else str(whole)
    text = f"{digits}{fmt.decimal}{frac:02d}"
    return text + sign if fmt.trailing_minus and sign else sign + text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-(10**13), max_value=10**13), min_size=1, max_size=30), st.booleans())
def test_amount_text_round_trips_to_the_cent(values: list[int], german: bool) -> None:
    from receivables.extracts.coercion import _money

    fmt = TextFormat(decimal=",", thousands=".", trailing_minus=True) if german else TextFormat()
    series = pd.Series([_format(v, fmt) for v in values], dtype="string")
    parsed, bad, _ = _money(series, fmt)
    assert not bad.any()
    assert list(parsed.astype("int64")) == values
