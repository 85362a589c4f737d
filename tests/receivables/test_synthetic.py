"""The synthetic extract set: canonical shape, realistic content and trustworthy labels."""

from __future__ import annotations

import csv
import itertools
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from receivables import schemas
from receivables.synthetic import (
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_FILE,
    SCENARIOS,
    SHORT_PAYMENT_MAX_CENTS,
    GenerationSummary,
    generate_extract_set,
)

AS_OF = date(2026, 10, 31)
FILES = {name: f"{name}.csv" for name in schemas.EXTRACTS}


def _read(folder: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(folder / rel, dtype=str, keep_default_na=False, encoding="utf-8")


def _records(folder: Path, rel: str) -> list[dict[str, str]]:
    with open(folder / rel, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _cents(values: pd.Series) -> pd.Series:
    return values.map(lambda v: int(Decimal(v) * 100)).astype("int64")


class _Set:
    """A generated set read back as text, the way a reviewer would look at it."""

    def __init__(self, folder: Path, summary: GenerationSummary | None) -> None:
        self.folder = folder
        self.summary = summary
        self.frames = {name: _read(folder, rel) for name, rel in FILES.items()}
        self.truth = _read(folder, GROUND_TRUTH_FILE)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> _Set:
    # several chunks, so keys must stay unique across them
    folder = tmp_path_factory.mktemp("small")
    return _Set(folder, generate_extract_set(folder, customers=90, seed=3, chunk_customers=40))


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> _Set:
    folder = tmp_path_factory.mktemp("scale")
    return _Set(folder, generate_extract_set(folder, customers=2000, seed=11))


@pytest.fixture(params=["small", "scale"])
def extract_set(request: pytest.FixtureRequest) -> _Set:
    return request.getfixturevalue(request.param)


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_extract_set(a, customers=40, seed=5, chunk_customers=15)
    generate_extract_set(b, customers=40, seed=5, chunk_customers=15)
    generate_extract_set(c, customers=40, seed=6, chunk_customers=15)
    first, second, other = _all_bytes(a), _all_bytes(b), _all_bytes(c)
    assert set(first) == {*(f"{n}.csv" for n in schemas.EXTRACTS), GROUND_TRUTH_FILE, "manifest.json"}
    assert first == second
    assert first["open_items.csv"] != other["open_items.csv"]
    assert first["payments.csv"] != other["payments.csv"]


def test_files_are_utf8_without_bom_with_schema_columns(small: _Set) -> None:
    for name, rel in FILES.items():
        raw = (small.folder / rel).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in raw
        assert list(small[name].columns) == schemas.EXTRACTS[name].names, name
    assert tuple(small.truth.columns) == GROUND_TRUTH_COLUMNS


def test_summary_and_manifest_match_the_files(small: _Set) -> None:
    s = small.summary
    assert (s.seed, s.as_of, s.out_dir) == (3, AS_OF, small.folder)
    for name in schemas.EXTRACTS:
        assert s.counts[name] == len(small[name]), name
    assert s.counts["ground_truth"] == len(small.truth)
    assert sum(n for _, n in s.scenarios) == s.payments
    manifest = json.loads((small.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and manifest["as_of"] == "2026-10-31"
    assert manifest["counts"] == s.counts
    assert manifest["generator_version"]
    assert set(manifest["files"]) == {*FILES.values(), GROUND_TRUTH_FILE}


def test_keys_are_unique(extract_set: _Set) -> None:
    for name, extract in schemas.EXTRACTS.items():
        frame = extract_set[name]
        assert not frame.duplicated(list(extract.key)).any(), name
    both = pd.concat([extract_set["open_items"], extract_set["cleared_items"]])
    assert not both.duplicated(["company_code", "document_no"]).any(), "an open item reuses a cleared document number"


def test_every_reference_to_a_customer_resolves(extract_set: _Set) -> None:
    customers = extract_set["customers"].set_index("customer_id")
    for name in ("open_items", "payments", "disputes", "promises", "cleared_items", "activities"):
        frame = extract_set[name]
        ids = frame["customer_id"][frame["customer_id"] != ""]
        assert ids.isin(customers.index).all(), name
        known = frame[frame["customer_id"] != ""]
        assert (known["company_code"].values == customers.loc[known["customer_id"], "company_code"].values).all(), name
    items = extract_set["open_items"]
    assert (items["currency"].values == customers.loc[items["customer_id"], "currency"].values).all()


def test_customer_master_is_plausible(extract_set: _Set) -> None:
    c = extract_set["customers"]
    assert c["customer_id"].str.fullmatch(r"C\d{6,}").all()
    assert set(c["company_code"]) == {"1000", "2000", "3000"}
    assert {"en", "de", "es"} <= set(c["language"])
    country = dict(zip(c["company_code"], c["country"]))
    assert country == {"1000": "DE", "2000": "ES", "3000": "US"}
    assert set(c["currency"]) == {"EUR", "USD"}
    assert set(c["payment_terms_days"].astype(int)) <= {14, 30, 45, 60}
    assert set(c["segment"]) <= {"STANDARD", "KEY_ACCOUNT", "LOW_VALUE"}
    assert set(c["dunning_block"]) <= {"true", "false"}
    assert (_cents(c["credit_limit"]) > 0).all()
    assert c["name"].is_unique
    assert c["name"].str.contains("[äöüß]").any() and c["name"].str.contains("[áéíóúñ]").any()
    emails = c["email"][c["email"] != ""]
    address = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    assert emails.str.fullmatch(rf"{address}(;{address})*").all()
    assert emails.str.isascii().all()


RESERVED_DOMAINS = re.compile(r"(?:^|\.)(?:example|test|invalid|localhost)$|(?:^|\.)example\.(?:com|net|org)$")


def test_sample_data_reaches_no_real_domain(small: _Set) -> None:
    """Every address anywhere in a generated set is in a domain reserved for documentation
    (RFC 2606), so a sample letter sent by mistake can reach no real company."""
    domains = set()
    for path in small.folder.rglob("*.csv"):
        domains |= set(re.findall(r"@([A-Za-z0-9.-]+)", path.read_text(encoding="utf-8")))
    assert domains, "the generated set has no addresses to check"
    assert sorted(d for d in domains if not RESERVED_DOMAINS.search(d.lower())) == []


def _iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def test_ibans_have_valid_check_digits_and_belong_to_one_customer(extract_set: _Set) -> None:
    ibans = [i for field in extract_set["customers"]["iban"] if field for i in field.split(";")]
    assert ibans and all(_iban_ok(i) for i in ibans)
    assert len(ibans) == len(set(ibans))
    assert any(";" in field for field in extract_set["customers"]["iban"])


def test_open_items_signs_dates_and_formats(extract_set: _Set) -> None:
    items = extract_set["open_items"]
    amount, open_amount = _cents(items["amount"]), _cents(items["open_amount"])
    kind = items["document_type"]
    assert set(kind) <= set(schemas.DOCUMENT_TYPES)
    assert (amount[kind == "INV"] > 0).all()
    assert (amount[kind.isin(["CRN", "PMT"])] < 0).all()
    assert (open_amount != 0).all() and (amount != 0).all()
    assert ((amount > 0) == (open_amount > 0)).all()
    assert (open_amount.abs() <= amount.abs()).all()
    assert (items["due_date"] >= items["document_date"]).all()
    assert (items["document_date"] <= AS_OF.isoformat()).all()
    formats = {"1000": r"9\d{9}", "2000": r"F-20\d\d-\d{6,}", "3000": r"INV-\d{6,}"}
    for code, pattern in formats.items():
        assert items.loc[items["company_code"] == code, "document_no"].str.fullmatch(pattern).all(), code
    refs = items["reference"][items["reference"] != ""]
    assert refs.str.fullmatch(r"RF\d\d( \d{4}){3}|PO 45\d{8}").all()
    rf = refs[refs.str.startswith("RF")].str.replace(" ", "")
    assert len(rf) and all(_iban_ok(r) for r in rf)  # ISO 11649 uses the same mod-97 rule
    discount = items[items["discount_pct"] != ""]
    assert (discount["document_type"] == "INV").all() and (discount["discount_days"] != "").all()


def _bucket(days_past_due: int) -> str:
    for limit, name in ((0, "not due"), (30, "1-30"), (60, "31-60"), (90, "61-90"), (120, "91-120")):
        if days_past_due <= limit:
            return name
    return "121+"


def test_every_aging_bucket_is_populated(extract_set: _Set) -> None:
    due = pd.to_datetime(extract_set["open_items"]["due_date"])
    days = (pd.Timestamp(AS_OF) - due).dt.days
    assert set(days.map(_bucket)) == {"not due", "1-30", "31-60", "61-90", "91-120", "121+"}


def test_payments_disputes_promises_cleared_are_consistent(extract_set: _Set) -> None:
    pay = extract_set["payments"]
    assert (_cents(pay["amount"]) > 0).all()
    assert (pay["value_date"] <= AS_OF.isoformat()).all()
    assert (pay["value_date"] >= "2026-10-15").all()
    assert pay["payment_id"].str.fullmatch(r"P\d{7,}").all()
    assert 0.08 < (pay["customer_id"] == "").mean() < 0.25

    items = extract_set["open_items"].set_index(["company_code", "document_no"])
    disputes = extract_set["disputes"]
    assert set(disputes["reason_code"]) <= set(schemas.DISPUTE_REASONS)
    assert set(disputes["status"]) <= {"OPEN", "RESOLVED"}
    resolved = disputes[disputes["status"] == "RESOLVED"]
    assert (resolved["resolved_on"] >= resolved["opened_on"]).all() and (
        resolved["resolved_on"] <= AS_OF.isoformat()
    ).all()
    assert (disputes.loc[disputes["status"] == "OPEN", "resolved_on"] == "").all()
    disputed_open = _cents(items.loc[list(zip(disputes["company_code"], disputes["document_no"])), "open_amount"])
    assert (_cents(disputes["amount"]).values <= disputed_open.values).all()

    promises = extract_set["promises"]
    assert len(promises)
    assert (promises["created_on"] <= promises["promised_date"]).all()
    assert (promises["created_on"] <= AS_OF.isoformat()).all()
    assert (_cents(promises["promised_amount"]) > 0).all()

    cleared = extract_set["cleared_items"]
    assert (cleared["clearing_date"] <= AS_OF.isoformat()).all()
    assert (cleared["clearing_date"] >= cleared["document_date"]).all()
    assert (cleared["due_date"] >= cleared["document_date"]).all()

    fx = extract_set["fx_rates"]
    assert set(fx["currency"]) == {"EUR", "USD"}
    assert (fx.loc[fx["currency"] == "EUR", "rate_to_base"].map(Decimal) == 1).all()
    assert fx.loc[fx["currency"] == "USD", "rate_to_base"].map(Decimal).between(Decimal("0.8"), Decimal("1.0")).all()


def _norm(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _translit(name: str) -> str:
    table = str.maketrans(
        {
            "Ä": "AE",
            "Ö": "OE",
            "Ü": "UE",
            "ß": "SS",
            "Á": "A",
            "É": "E",
            "Í": "I",
            "Ó": "O",
            "Ú": "U",
            "Ñ": "N",
        }
    )
    plain = re.sub(r"[.,']", "", name.upper().translate(table))
    return " ".join(re.sub(r"[^0-9A-Z ]", " ", plain).split())


def test_ground_truth_is_consistent_with_the_extracts(extract_set: _Set) -> None:
    truth = extract_set.truth
    pay = extract_set["payments"].set_index("payment_id")
    items = extract_set["open_items"].set_index(["company_code", "document_no"])
    assert set(truth["payment_id"]) == set(pay.index)
    assert set(truth["scenario"]) <= set(SCENARIOS)
    money = {k: _cents(truth[k]) for k in ("applied_amount", "discount_amount", "writeoff_amount", "remaining_amount")}

    # per payment: what is applied plus what stays unapplied is exactly the payment
    totals = pd.DataFrame(money).assign(payment_id=truth["payment_id"]).groupby("payment_id")
    applied = totals["applied_amount"].sum()
    remaining = totals["remaining_amount"].first()
    assert (applied + remaining == _cents(pay.loc[applied.index, "amount"])).all()
    assert (totals["remaining_amount"].nunique() == 1).all()

    labelled = truth[truth["document_no"] != ""]
    assert not labelled.duplicated(["company_code", "document_no"]).any(), "a document is paid twice"
    assert (truth.loc[truth["matchable"] == "false", "document_no"] == "").all()
    assert (truth.loc[truth["matchable"] == "true", "document_no"] != "").all()
    keys = list(zip(labelled["company_code"], labelled["document_no"]))
    assert pd.MultiIndex.from_tuples(keys).isin(items.index).all()
    item = items.loc[keys]
    payment = pay.loc[labelled["payment_id"]]
    assert (item["currency"].values == payment["currency"].values).all()
    assert (labelled["company_code"].values == payment["company_code"].values).all()
    known = (payment["customer_id"] != "").values
    assert (item["customer_id"].values[known] == payment["customer_id"].values[known]).all()
    assert (payment["value_date"].values >= item["document_date"].values).all()
    open_amount = _cents(item["open_amount"]).values
    used = (money["applied_amount"] + money["discount_amount"] + money["writeoff_amount"])[labelled.index].values
    assert ((used > 0) == (open_amount > 0)).all()
    assert (abs(used) <= abs(open_amount)).all()


_QUOTED = (
    "reference",
    "multi_reference",
    "discount",
    "short_payment",
    "partial",
    "overpayment",
    "reference_iban_unidentified",
    "fuzzy_name_unidentified",
)
_UNIDENTIFIED = ("reference_iban_unidentified", "fuzzy_name_unidentified", "unidentified_unknown")


def _quotes(text: str, item: dict) -> bool:
    """Whether a normalised remittance text names the item (number, reference, zeros dropped)."""
    doc = item["document_no"]
    return (
        _norm(doc) in text
        or bool(item["reference"])
        and _norm(item["reference"].removeprefix("PO ")) in text
        or item["company_code"] == "3000"
        and f"INV{int(doc[4:])}" in text
    )


def test_each_scenario_has_what_makes_it_that_scenario(extract_set: _Set) -> None:
    # plain dicts from the csv module: row-by-row checks on pandas' arrow strings are slow
    customers = {r["customer_id"]: r for r in _records(extract_set.folder, "customers.csv")}
    payments = {r["payment_id"]: r for r in _records(extract_set.folder, "payments.csv")}
    by_key, by_customer = {}, {}
    for r in _records(extract_set.folder, "open_items.csv"):
        r["cents"] = int(Decimal(r["open_amount"]) * 100)
        by_key[(r["company_code"], r["document_no"])] = r
        by_customer.setdefault(r["customer_id"], []).append(r["cents"])
    names = {_translit(c["name"]): cid for cid, c in customers.items()}
    assert len(names) == len(customers)

    for payment_id, rows in extract_set.truth.groupby("payment_id", sort=False):
        scenario, p = rows["scenario"].iloc[0], payments[payment_id]
        amount = int(Decimal(p["amount"]) * 100)
        docs = [d for d in rows["document_no"] if d]
        paid = [by_key[(p["company_code"], d)] for d in docs]
        owner = paid[0]["customer_id"] if paid else p["customer_id"]
        text = _norm(p["remittance_info"])
        quoted = [_quotes(text, item) for item in paid]
        if scenario in _QUOTED:
            assert quoted and all(quoted), (payment_id, p["remittance_info"], docs)
        else:
            assert not any(_quotes(text, by_key[(p["company_code"], d)]) for d in docs)
            assert "RF" not in text.replace("TRANSFER", "") or scenario == "unidentified_unknown"
        assert (p["customer_id"] == "") == (scenario in _UNIDENTIFIED), payment_id
        values = by_customer.get(owner, [])
        if scenario == "reference_iban_unidentified":
            assert p["payer_iban"] in customers[owner]["iban"].split(";")
        elif scenario == "fuzzy_name_unidentified":
            assert p["payer_iban"] == "" and names.get(_translit(p["payer_name"])) == owner
        elif scenario == "unidentified_unknown":
            assert p["payer_iban"] == "" and _translit(p["payer_name"]) not in names
        elif scenario == "exact_amount":
            assert values.count(amount) == 1
        elif scenario == "ambiguous":
            assert values.count(amount) == 2 and not docs
        elif scenario in ("combination", "no_match"):
            # no single item and (apart from the labelled set) no pair or triple makes the amount
            assert amount not in values
            if len(values) <= 25:
                sums = [sum(c) for k in (2, 3) for c in itertools.combinations(values, k)]
                assert sums.count(amount) == (1 if scenario == "combination" else 0)
            assert 2 <= len(docs) <= 3 if scenario == "combination" else not docs
        elif scenario == "discount":
            item = paid[0]
            rate = Decimal(item["discount_pct"])
            expected = int((item["cents"] * rate / 100).quantize(Decimal(1), "ROUND_HALF_UP"))
            assert int(Decimal(rows["discount_amount"].iloc[0]) * 100) == expected == item["cents"] - amount
            days = (date.fromisoformat(p["value_date"]) - date.fromisoformat(item["document_date"])).days
            assert 0 <= days <= int(item["discount_days"])
        elif scenario == "short_payment":
            short = int(Decimal(rows["writeoff_amount"].iloc[0]) * 100)
            assert 0 < short <= SHORT_PAYMENT_MAX_CENTS and short * 100 <= paid[0]["cents"]
        elif scenario == "partial":
            assert amount <= paid[0]["cents"] * 80 // 100 + 1
        elif scenario == "overpayment":
            assert Decimal(rows["remaining_amount"].iloc[0]) >= 10
        elif scenario == "multi_reference":
            assert len(docs) >= 2


def test_scale_follows_the_requested_averages(scale: _Set) -> None:
    s = scale.summary
    assert s.customers == 2000
    assert 9.0 <= s.open_items / s.customers <= 11.0
    assert 2.3 <= s.payments / s.customers <= 2.7
    per_customer = scale["open_items"].groupby("customer_id").size()
    assert per_customer.max() > 5 * per_customer.median()  # a few customers with many items
    kinds = scale["open_items"]["document_type"].value_counts(normalize=True)
    assert kinds["INV"] > 0.8 and {"CRN", "PMT", "ADJ"} <= set(kinds.index)
    invoices = scale["open_items"][scale["open_items"]["document_type"] == "INV"]
    assert 0.08 < (invoices["discount_pct"] != "").mean() < 0.25
    assert 0.005 < (scale["open_items"]["dunning_block"] == "true").mean() < 0.03
    scenario = scale.truth.drop_duplicates("payment_id")["scenario"].value_counts(normalize=True)
    for name, share in SCENARIOS.items():
        assert abs(scenario.get(name, 0) - share) < 0.03, name
    assert (scale.truth.drop_duplicates("payment_id")["matchable"] == "true").mean() > 0.85


def test_other_sizes_and_dates(tmp_path: Path) -> None:
    tiny = generate_extract_set(tmp_path / "tiny", customers=10, seed=1)
    assert 50 <= tiny.open_items <= 200 and tiny.payments > 0
    assert all(n > 0 for _, n in tiny.scenarios), tiny.scenarios
    early = date(2025, 3, 16)  # a Sunday: payments carry Friday's value date at the latest
    s = generate_extract_set(
        tmp_path / "early", customers=30, seed=2, as_of=early, items_per_customer=4, payments_per_customer=1
    )
    pay = _read(tmp_path / "early", "payments.csv")
    assert (pay["value_date"] <= "2025-03-14").all()
    assert s.as_of == early and 2 <= s.open_items / 30 <= 6
    with pytest.raises(ValueError):
        generate_extract_set(tmp_path / "bad", customers=0, seed=1)


def test_a_promise_logged_before_anything_fell_due_still_names_an_amount(tmp_path: Path) -> None:
    # 2,000 customers, seed 42, a Friday extract date: a contact rolled back to a business day
    # before the customer's first due date used to have no overdue invoice to promise for,
    # and `receivables generate` stopped with an IndexError
    generate_extract_set(tmp_path / "set", customers=2000, seed=42, as_of=date(2026, 10, 30))
    log = _read(tmp_path / "set", "activities.csv")
    promised = log.loc[log["outcome"] == "PROMISE", "promised_amount"]
    assert len(promised) > 0 and (promised.astype(float) > 0).all()
