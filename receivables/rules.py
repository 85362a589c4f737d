"""Every rule a run follows, loaded and validated once, then handed to the stages.

A stage never opens a configuration file: it receives what it needs from ``Rules`` as an
argument (the way Kedro nodes receive ``params:``), so a run reads the team's folder exactly
once, a bad file stops the run before anything is written, and a test can hand a stage any
rule it likes without touching disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from receivables.cash_application import MatchingRules, load_matching_rules
from receivables.close.config import CloseRules, load_close_rules
from receivables.config_folder import ConfigFolder
from receivables.dispute_rules import DisputeRules, load_dispute_rules
from receivables.dunning import DunningPolicies, load_dunning_policies
from receivables.mappings import Mapping, load_mapping
from receivables.reminders import TemplateDirs, read_companies, template_dirs
from receivables.reporting_config import ReportingConfig, load_reporting_config


@dataclass(frozen=True)
class Rules:
    """The team's configuration for one run (files it lacks come from the shipped defaults)."""

    folder: ConfigFolder
    mapping: Mapping
    matching: MatchingRules
    dunning: DunningPolicies
    reporting: ReportingConfig
    #: company code -> creditor details (name, address, bank, collectors) for the letters
    companies: dict[str, dict[str, Any]]
    #: email template search path: the team's templates first, then the shipped ones
    templates: TemplateDirs
    #: company code -> why its entry in companies.yaml cannot be used (the preflight reports
    #: them; such a company is treated like one the configuration does not know)
    company_problems: dict[str, list[str]] = field(default_factory=dict)
    #: the month-end close: write-offs, handover packages, the provision, claims
    close: CloseRules = field(default_factory=CloseRules)
    #: target days per dispute reason and the escalation tiers (``disputes.yaml``)
    disputes: DisputeRules = field(default_factory=load_dispute_rules)


def load_rules(config_dir: str | Path | ConfigFolder | None = None, mapping: str | Path = "canonical") -> Rules:
    """Load and validate every rule file once; a problem is a ``ConfigError`` naming the file."""
    folder = config_dir if isinstance(config_dir, ConfigFolder) else ConfigFolder.at(config_dir)
    companies = read_companies(folder.file("companies.yaml"))
    return Rules(
        folder=folder,
        mapping=load_mapping(mapping, folder),
        matching=load_matching_rules(folder.file("matching.yaml")),
        dunning=load_dunning_policies(folder.file("dunning.yaml")),
        reporting=load_reporting_config(folder.file("reporting.yaml")),
        companies=companies.entries,
        templates=template_dirs(folder),
        company_problems=companies.problems,
        close=load_close_rules(folder.file("close.yaml")),
        disputes=load_dispute_rules(folder.file("disputes.yaml")),
    )
