"""The creditors: ``companies.yaml`` read and checked before any letter names one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from receivables.config_folder import PLACEHOLDER, ConfigFolder
from receivables.errors import ConfigError
from receivables.reminders.recipients import _CONTROL, _address_problem


def load_companies(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Company codes with their legal name, address, bank details and collections contact."""
    file = Path(path) if path else ConfigFolder().file("companies.yaml")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"The company file {file} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The company file {file} must map company codes to their details.")
    companies = {}
    for code, company in data.items():
        where = f"company {code} in {file}"
        if not isinstance(company, dict):
            raise ConfigError(f"The {where} must be a mapping.")
        unfilled = _placeholders(company)
        if unfilled:
            raise ConfigError(
                f"The {where} still reads {PLACEHOLDER!r} in {', '.join(unfilled)}: fill in the creditor's details."
            )
        for field in ("name", "address", "collections_email", "bank"):
            if not company.get(field):
                raise ConfigError(f"The {where} has no {field}.")
        for name in [company["name"], *company["address"], *(company.get("collectors") or {})]:
            if _CONTROL.search(str(name)):
                raise ConfigError(f"The {where} has a control character in {str(name)!r}.")
        for addr in [company["collections_email"], *(company.get("collectors") or {}).values()]:
            if _address_problem(str(addr)):
                raise ConfigError(f"The {where} has an unusable email address {str(addr)!r}.")
        bank = company["bank"]
        if not (bank.get("iban") or (bank.get("ach_routing") and bank.get("account_number"))):
            raise ConfigError(f"The {where} needs bank.iban or bank.ach_routing and bank.account_number.")
        companies[str(code)] = company
    return companies


def _placeholders(value: Any, path: str = "") -> list[str]:
    """The fields of a company entry that ``receivables init`` left to fill in."""
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _placeholders(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _placeholders(v, f"{path}[{i + 1}]")]
    return [path] if isinstance(value, str) and value.strip() == PLACEHOLDER else []
