"""``close.yaml``: the month-end close rules, read once per run into a ``CloseRules`` (a bad
file is a ``ConfigError`` naming the field).  Each part of the close has its section; a
section a team's file leaves out takes its defaults."""

from __future__ import annotations

from pathlib import Path

from receivables.close.claim_rules import ClaimRules
from receivables.close.provision_rules import ProvisionRules
from receivables.close.writeoff_rules import HandoverRules, WriteoffRules
from receivables.config_folder import ConfigFolder
from receivables.money import StrictModel
from receivables.settings import load_yaml_model


class CloseRules(StrictModel):
    """``configs/close.yaml`` (docs/close.md)."""

    writeoff: WriteoffRules = WriteoffRules()
    handover: HandoverRules = HandoverRules()
    provision: ProvisionRules = ProvisionRules()
    claims: ClaimRules = ClaimRules()


def load_close_rules(path: Path | str | None = None) -> CloseRules:
    """The close rules from ``configs/close.yaml`` (or ``path``)."""
    path = Path(path) if path is not None else ConfigFolder().file("close.yaml")
    return load_yaml_model(path, CloseRules, "Close rules file", "the close sections")
