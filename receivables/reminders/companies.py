"""The creditors: ``companies.yaml`` read and checked before any letter names one of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from receivables.config_folder import PLACEHOLDER, ConfigFolder
from receivables.errors import ConfigError
from receivables.reminders.recipients import _CONTROL, _address_problem


@dataclass(frozen=True)
class Companies:
    """``companies.yaml`` read: the usable entries, and what is wrong with the others."""

    file: Path
    #: company code -> creditor details, only entries a letter can be built from
    entries: dict[str, dict[str, Any]]
    #: company code -> what keeps its entry from being used (placeholders, missing fields)
    problems: dict[str, list[str]] = field(default_factory=dict)


def read_companies(path: str | Path | None = None) -> Companies:
    """Company codes with their legal name, address, bank details and collections contact.

    An unreadable file is a ``ConfigError``; an entry with a problem is kept out of
    ``entries`` and described in ``problems``, so that one half-configured company degrades
    only itself and a check can report every problem at once."""
    file = Path(path) if path else ConfigFolder().file("companies.yaml")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"The company file {file} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The company file {file} must map company codes to their details.")
    entries: dict[str, dict[str, Any]] = {}
    problems: dict[str, list[str]] = {}
    for code, company in data.items():
        found = _entry_problems(f"company {code} in {file}", company)
        if found:
            problems[str(code)] = found
        else:
            entries[str(code)] = company
    return Companies(file, entries, problems)


def load_companies(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The usable company entries; the first problem of any entry is a ``ConfigError``."""
    companies = read_companies(path)
    for found in companies.problems.values():
        raise ConfigError(found[0])
    return companies.entries


def _entry_problems(where: str, company: Any) -> list[str]:
    """What keeps one company entry from being printed on a letter, each as a sentence."""
    if not isinstance(company, dict):
        return [f"The {where} must be a mapping."]
    unfilled = _placeholders(company)
    if unfilled:
        return [f"The {where} still reads {PLACEHOLDER!r} in {', '.join(unfilled)}: fill in the creditor's details."]
    missing = [f for f in ("name", "address", "collections_email", "bank") if not company.get(f)]
    if missing:
        return [f"The {where} has no {f}." for f in missing]
    problems = []
    for name in [company["name"], *company["address"], *(company.get("collectors") or {})]:
        if _CONTROL.search(str(name)):
            problems.append(f"The {where} has a control character in {str(name)!r}.")
    for addr in [company["collections_email"], *(company.get("collectors") or {}).values()]:
        if _address_problem(str(addr)):
            problems.append(f"The {where} has an unusable email address {str(addr)!r}.")
    bank = company["bank"]
    if not isinstance(bank, dict) or not (bank.get("iban") or (bank.get("ach_routing") and bank.get("account_number"))):
        problems.append(f"The {where} needs bank.iban or bank.ach_routing and bank.account_number.")
    return problems


def _placeholders(value: Any, path: str = "") -> list[str]:
    """The fields of a company entry that ``receivables init`` left to fill in."""
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _placeholders(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _placeholders(v, f"{path}[{i + 1}]")]
    return [path] if isinstance(value, str) and value.strip() == PLACEHOLDER else []
