"""Preflight: the team's configuration checked against tonight's extracts before anything is written.

A first night on a team's own data fails on configuration, not on data: a company code nobody
described, a policy name the dunning file lacks, send mode without a mail server.  Every such
problem is found at once, each with the fix a person can apply (for a company code, the YAML to
paste), so ``receivables validate`` is one round trip instead of one per problem.  In a run, a
company the configuration cannot print a letter for degrades only itself: its cash is applied
and reported, its dunning does not advance and none of its reminders goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

from receivables.config_folder import ConfigFolder, starter_companies
from receivables.extracts.statements import bank_accounts_of, compact_account
from receivables.reminders.templates import FALLBACK_LANGUAGE
from receivables.rules import Rules
from receivables.settings import Settings

#: how far the newest statutory base rate may lie behind as_of: the rates change each half year
BASE_RATE_MAX_AGE_DAYS = 184


@dataclass(frozen=True)
class Problem:
    """One thing the configuration lacks for tonight's extracts, and how to fix it."""

    check: str
    what: str
    fix: str
    #: ``error``: ``validate`` exits 2 and, in a run, the part concerned is held back;
    #: ``warning``: the run goes on as described in ``what``
    severity: Literal["error", "warning"] = "error"
    company_code: str | None = None

    def paragraph(self) -> str:
        return f"{self.what} Fix: {self.fix}"


@dataclass(frozen=True)
class Preflight:
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def held_companies(self) -> list[str]:
        """Company codes whose dunning and reminders wait until their creditor details exist."""
        return sorted({p.company_code for p in self.problems if p.company_code is not None})

    def counts(self) -> dict:
        return {
            "errors": len(self.errors),
            "warnings": len(self.problems) - len(self.errors),
            "held_companies": self.held_companies,
            "problems": [p.paragraph() for p in self.problems],
        }


def preflight(
    rules: Rules,
    settings: Settings,
    frames: dict[str, pd.DataFrame],
    as_of: date,
    *,
    reminders: bool = True,
    statement_accounts: Iterable[str] = (),
) -> Preflight:
    """Every configuration problem of this night's extracts, at once, each with its fix."""
    problems = [
        *company_problems(rules, frames),
        *policy_problems(rules, frames),
        *language_problems(rules, frames),
        *bank_account_problems(rules, statement_accounts),
        *mail_problems(settings, reminders),
        *base_rate_problems(rules, as_of),
        *label_problems(rules),
    ]
    return Preflight(problems)


def company_codes(frames: dict[str, pd.DataFrame]) -> list[str]:
    """The company codes the extracts use (customers, open items, payments)."""
    codes: set[str] = set()
    for name in ("customers", "open_items", "payments"):
        frame = frames.get(name)
        if frame is not None and "company_code" in frame.columns:
            codes |= {str(c).strip() for c in frame["company_code"].dropna().unique() if str(c).strip()}
    return sorted(codes)


def company_problems(rules: Rules, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """A company code on the extracts needs a complete creditor entry before a letter can name it."""
    file = rules.folder.file("companies.yaml")
    problems = []
    for code in company_codes(frames):
        if code in rules.companies:
            continue
        if code in rules.company_problems:
            what = " ".join(rules.company_problems[code])
            fix = f"complete the entry for {code} in {file}."
        else:
            what = f"Company code {code} is on the extracts but has no entry in {file}."
            snippet = starter_companies([code]).split("\n\n", 1)[1].strip()
            fix = f"add this entry to {file} and fill in every value:\n{snippet}"
        held = " Its cash is applied and reported; its dunning does not advance and none of its reminders goes out."
        problems.append(Problem("companies", what + held, fix, company_code=code))
    return problems


def policy_problems(rules: Rules, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """A customer's ``dunning_policy`` override must name a policy, or its items are never dunned."""
    customers = frames.get("customers")
    if customers is None or "dunning_policy" not in customers.columns:
        return []
    named = customers["dunning_policy"].dropna().astype(str).str.strip().str.upper()
    counts = named[(named != "") & ~named.isin(list(rules.dunning.policies))].value_counts().sort_index()
    file = rules.folder.file("dunning.yaml")
    known = ", ".join(sorted(rules.dunning.policies))
    return [
        Problem(
            "policies",
            f"Policy {policy} is named by {n} customer(s) in dunning_policy but is not in {file}; "
            "their overdue items are held, not dunned.",
            f"add policy {policy} under policies: in {file}, or correct the customers' dunning_policy "
            f"(known: {known}).",
        )
        for policy, n in counts.items()
    ]


def language_problems(rules: Rules, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """A customer language without its own templates reads the English letter."""
    customers = frames.get("customers")
    if customers is None or "language" not in customers.columns:
        return []
    wanted = customers["language"].dropna().astype(str).str.strip().str.lower()
    counts = wanted[wanted != ""].value_counts().sort_index()
    templates = {
        lvl.template for policy in rules.dunning.policies.values() for lvl in policy.levels if lvl.action == "email"
    }
    problems = []
    for language, n in counts.items():
        if language == FALLBACK_LANGUAGE:
            continue
        missing = sorted(t for t in templates if not _has_template(rules, t, str(language)))
        if missing:
            problems.append(
                Problem(
                    "languages",
                    f"{n} customer(s) have language {language!r}, which has no template "
                    f"{', '.join(missing)}; they get the English letter.",
                    f"add {', '.join(f'{t}.{language}.html.j2 and {t}.{language}.txt.j2' for t in missing)} "
                    f"to templates/email/ of the configuration folder.",
                    severity="warning",
                )
            )
    return problems


def _has_template(rules: Rules, template: str, language: str) -> bool:
    names = {f"{template}.{language}.html.j2", f"{template}.{language}.txt.j2"}
    return all(any((Path(d) / n).is_file() for d in rules.templates) for n in names)


def bank_account_problems(rules: Rules, accounts: Iterable[str]) -> list[Problem]:
    """A statement's account must belong to a company code, or its credits cannot be applied."""
    claimed = bank_accounts_of(rules.companies)
    file = rules.folder.file("companies.yaml")
    return [
        Problem(
            "bank_accounts",
            f"Bank account {account} has statements tonight, but no company in {file} claims it; "
            "its credits are quarantined.",
            f"add {account} under bank_accounts: of the company code that owns it in {file}.",
        )
        for account in sorted({compact_account(a) for a in accounts if a})
        if account not in claimed
    ]


def mail_problems(settings: Settings, reminders: bool) -> list[Problem]:
    """Send and redirect mode need a mail server to send through."""
    mode = settings.effective_mail_mode
    if not reminders or mode == "preview" or settings.smtp_host:
        return []
    return [
        Problem(
            "mail",
            f"Mail mode is {mode!r} but no SMTP server is set.",
            "set RECEIVABLES_SMTP_HOST (and RECEIVABLES_SMTP_USER / RECEIVABLES_SMTP_PASSWORD or "
            "RECEIVABLES_SMTP_PASSWORD_BLOCK), or run with --mode preview.",
        )
    ]


def base_rate_problems(rules: Rules, as_of: date) -> list[Problem]:
    """A statutory base rate table whose newest rate is older than half a year at as_of has
    most likely missed a published change: interest would be claimed at an outdated rate."""
    interest = rules.dunning.interest
    used = {rate.base_rate for rate in interest.statutory.values() if rate is not None}
    file = rules.folder.file("dunning.yaml")
    problems = []
    for name in sorted(used):
        newest = max(r.effective_from for r in interest.base_rates[name])
        if (as_of - newest).days > BASE_RATE_MAX_AGE_DAYS:
            problems.append(
                Problem(
                    "base_rates",
                    f"The newest {name} rate in {file} is from {newest:%Y-%m-%d}, more than six months "
                    f"before {as_of:%Y-%m-%d}; statutory interest is claimed at that rate.",
                    f"add the rates published since {newest:%Y-%m-%d} under interest.base_rates.{name} in {file}.",
                    severity="warning",
                )
            )
    return problems


def label_problems(rules: Rules) -> list[Problem]:
    """A team's ``messages.yaml`` copied from an older release lacks the sentences added since:
    those letters use the shipped wording for them (e.g. the note on unallocated payments)."""
    team = Path(rules.templates[0]) / "messages.yaml"
    shipped = ConfigFolder().defaults / "templates" / "email" / "messages.yaml"
    if not team.is_file() or team.resolve() == shipped.resolve():
        return []
    theirs = (yaml.safe_load(team.read_text(encoding="utf-8")) or {}).get("labels", {}).get(FALLBACK_LANGUAGE, {})
    ours = (yaml.safe_load(shipped.read_text(encoding="utf-8")) or {}).get("labels", {}).get(FALLBACK_LANGUAGE, {})
    missing = sorted(set(ours) - set(theirs or {}))
    if not missing:
        return []
    return [
        Problem(
            "labels",
            f"{team} has no label {', '.join(missing)} (added in a later release); letters use the shipped "
            "wording for it, which may not be your house style.",
            f"copy {', '.join(missing)} from the shipped {shipped.name} (receivables init writes a current copy) "
            "into labels: of every language and word it your way.",
            severity="warning",
        )
    ]
