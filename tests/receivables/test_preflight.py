"""Preflight: every configuration problem of a night's extracts at once, each with its fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from receivables.config_folder import ConfigFolder, write_starter_folder
from receivables.preflight import preflight
from receivables.rules import load_rules
from receivables.settings import load_settings

AS_OF = date(2026, 10, 31)


def _frames(codes: list[str], **customer_columns) -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(len(codes))], "company_code": codes})
    for name, values in customer_columns.items():
        customers[name] = values
    return {
        "customers": customers,
        "open_items": pd.DataFrame({"company_code": codes, "document_no": [f"D{i}" for i in range(len(codes))]}),
        "payments": pd.DataFrame({"company_code": ["1000"], "payment_id": ["P1"]}),
    }


def test_the_shipped_defaults_have_no_error_for_their_own_company_codes() -> None:
    checked = preflight(load_rules(), load_settings(mail_mode="preview"), _frames(["1000", "2000", "3000"]), AS_OF)
    assert checked.errors == [] and checked.held_companies == []


def test_unknown_company_codes_each_get_a_yaml_snippet_to_paste() -> None:
    checked = preflight(load_rules(), load_settings(mail_mode="preview"), _frames(["DE01", "ES01", "1000"]), AS_OF)
    assert checked.held_companies == ["DE01", "ES01"]
    (de01,) = [p for p in checked.errors if p.company_code == "DE01"]
    assert "Company code DE01 is on the extracts but has no entry in" in de01.what
    assert "its dunning does not advance and none of its reminders goes out" in de01.what
    snippet = de01.fix.split("\n", 1)[1]
    # the fix is YAML that parses into an entry for the code, with every value to fill in
    assert set(yaml.safe_load(snippet)["DE01"]) >= {"name", "address", "collections_email", "bank"}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "team"
    write_starter_folder(folder, ["DE01"])  # placeholders, refused until filled
    rules = load_rules(folder)
    frames = _frames(["DE01", "US01"], language=["fr", "de"], dunning_policy=["GENTLE", None])
    checked = preflight(rules, load_settings(mail_mode="send"), frames, AS_OF)
    by_check = {p.check: p for p in checked.problems}
    assert [p.company_code for p in checked.problems if p.check == "companies"] == ["1000", "DE01", "US01"]
    assert "still reads '<fill in>'" in [p for p in checked.problems if p.company_code == "DE01"][0].what
    assert "Policy GENTLE is named by 1 customer(s)" in by_check["policies"].what
    assert "known: KEY_ACCOUNT, LOW_VALUE, STANDARD" in by_check["policies"].fix
    assert by_check["languages"].severity == "warning" and "'fr'" in by_check["languages"].what
    assert "reminder_1.fr.html.j2" in by_check["languages"].fix
    assert "RECEIVABLES_SMTP_HOST" in by_check["mail"].fix
    assert {p.check for p in checked.errors} == {"companies", "policies", "mail"}


def test_a_base_rate_table_half_a_year_behind_as_of_is_a_warning() -> None:
    rules = load_rules()
    checked = preflight(rules, load_settings(mail_mode="preview"), _frames(["1000"]), date(2027, 9, 1))
    stale = [p for p in checked.problems if p.check == "base_rates"]
    assert {p.severity for p in stale} == {"warning"}
    assert any("DE_BASISZINSSATZ" in p.what and "2026-01-01" in p.what for p in stale)
    fresh = preflight(rules, load_settings(mail_mode="preview"), _frames(["1000"]), date(2026, 3, 1))
    assert not [p for p in fresh.problems if p.check == "base_rates"]


def test_a_statement_account_no_company_claims_is_an_error() -> None:
    rules = load_rules()
    claimed = rules.companies["1000"]["bank"]["iban"]
    checked = preflight(
        rules,
        load_settings(mail_mode="preview"),
        _frames(["1000"]),
        AS_OF,
        statement_accounts=[claimed, "CH93 0076 2011 6238 5295 7"],
    )
    (problem,) = [p for p in checked.problems if p.check == "bank_accounts"]
    assert "CH9300762011623852957" in problem.what and problem.severity == "error"


def test_a_messages_file_from_an_older_release_is_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "team"
    write_starter_folder(folder)
    messages = folder / "templates" / "email" / "messages.yaml"
    data = yaml.safe_load(messages.read_text(encoding="utf-8"))
    for labels in data["labels"].values():
        labels.pop("unapplied_note", None)
    messages.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    checked = preflight(load_rules(folder), load_settings(mail_mode="preview"), _frames(["1000"]), AS_OF)
    (problem,) = [p for p in checked.problems if p.check == "labels"]
    assert problem.severity == "warning" and "no label unapplied_note" in problem.what


def test_a_messages_file_from_an_older_release_falls_back_to_the_shipped_entries(tmp_path: Path) -> None:
    # a team's catalogue from before the courtesy letters and the unallocated-payments note:
    # those come from the shipped catalogue, while the team's own wording still wins
    from receivables.reminders.templates import _catalog

    folder = tmp_path / "team"
    write_starter_folder(folder)
    messages = folder / "templates" / "email" / "messages.yaml"
    data = yaml.safe_load(messages.read_text(encoding="utf-8"))
    for name in ("courtesy", "plan_instalment", "statement_of_account"):
        data["templates"].pop(name)
    for labels in data["labels"].values():
        labels.pop("unapplied_note", None)
    data["templates"]["reminder_1"]["subject"]["de"] = "Unsere Zahlungserinnerung {{ customer.id }}"
    messages.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rules = load_rules(folder)
    catalog = _catalog(rules.templates)
    shipped = yaml.safe_load(
        (ConfigFolder().defaults / "templates" / "email" / "messages.yaml").read_text(encoding="utf-8")
    )
    for name in ("courtesy", "plan_instalment", "statement_of_account"):
        assert catalog["templates"][name] == shipped["templates"][name]
    assert catalog["labels"]["de"]["unapplied_note"] == shipped["labels"]["de"]["unapplied_note"]
    assert catalog["templates"]["reminder_1"]["subject"]["de"] == "Unsere Zahlungserinnerung {{ customer.id }}"
