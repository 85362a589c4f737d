"""``disputes.yaml``: target days per dispute reason code and the escalation tiers, read once
per run into ``DisputeRules`` (a bad file is a ``ConfigError`` naming the field).

How long a pricing dispute may take, and who hears about it when it takes longer, is the
team's judgement, so it lives in the team's configuration folder rather than in code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from receivables.config_folder import ConfigFolder
from receivables.money import StrictModel
from receivables.schemas import DISPUTE_REASONS
from receivables.settings import load_yaml_model

_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


def _address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address like name@example.com")
    return value


class EscalationTier(StrictModel):
    """One escalation step: on ``target date + days_after_target`` of a dispute still open,
    an internal email to its owner or to the manager."""

    tier: int = Field(ge=1)
    days_after_target: int = Field(0, ge=0, le=365)
    to: Literal["owner", "manager"]


class DisputeRules(StrictModel):
    #: days from opened_on to the target date, per reason code
    target_days: dict[str, int]
    escalation: list[EscalationTier] = Field(min_length=1)
    #: the extract's owner name -> the address that owner reads
    owners: dict[str, str] = Field(default_factory=dict)
    default_owner_address: str
    manager_address: str

    @field_validator("target_days")
    @classmethod
    def _every_reason(cls, v: dict[str, int]) -> dict[str, int]:
        v = {str(k).strip().upper(): n for k, n in v.items()}
        missing = [r for r in DISPUTE_REASONS if r not in v]
        if missing:
            raise ValueError(f"needs a number of days for every reason code; missing: {', '.join(missing)}")
        if any(n < 1 or n > 365 for n in v.values()):
            raise ValueError("each target must be a number of days from 1 to 365")
        return v

    @field_validator("owners")
    @classmethod
    def _owner_addresses(cls, v: dict[str, str]) -> dict[str, str]:
        return {str(k).strip(): _address(a) for k, a in v.items()}

    @field_validator("default_owner_address", "manager_address")
    @classmethod
    def _one_address(cls, v: str) -> str:
        return _address(v)

    @model_validator(mode="after")
    def _tiers_in_order(self) -> DisputeRules:
        tiers = [t.tier for t in self.escalation]
        days = [t.days_after_target for t in self.escalation]
        if tiers != list(range(1, len(tiers) + 1)) or days != sorted(days) or len(set(days)) != len(days):
            raise ValueError(
                "escalation: tiers must be numbered 1, 2, ... with days_after_target increasing from tier to tier"
            )
        return self

    def target_for(self, reason_code: str) -> int:
        """The target days of a reason code; a code the file does not know counts as OTHER."""
        return self.target_days.get(str(reason_code).strip().upper(), self.target_days["OTHER"])

    def address_for(self, tier: EscalationTier, owner: str | None) -> str:
        """Who receives a tier's email for a dispute of ``owner``."""
        if tier.to == "manager":
            return self.manager_address
        return self.owners.get((owner or "").strip(), self.default_owner_address)


def load_dispute_rules(path: Path | str | None = None) -> DisputeRules:
    """The rules from ``configs/disputes.yaml`` (or ``path``); a bad file raises ConfigError
    naming the setting and what is wrong with it."""
    path = Path(path) if path is not None else ConfigFolder().file("disputes.yaml")
    return load_yaml_model(
        path,
        DisputeRules,
        "Dispute rules file",
        "target_days, escalation, owners, default_owner_address, manager_address",
    )
