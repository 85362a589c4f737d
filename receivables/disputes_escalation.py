"""The internal email that escalates a dispute past its target date (``disputes.yaml``
escalation tiers): tier 1 to the dispute's owner, tier 2 to the manager, in English.

Exactly once per (dispute, tier), whichever night proposes it: the outbox key is built from
the company code, the dispute and the tier, never from the night (as for a payment plan's
courtesy email, ``receivables.reminders.plan_courtesy``).  The email carries no dunning level:
a letter of its own, never a level of the customer's dunning letter.  It goes from the company
code's collections address (``companies.yaml``); a company the configuration does not know
gets no escalation email (its dispute still escalates on the worklist).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from babel import Locale

from receivables.errors import ConfigError
from receivables.reminders.batch import POOL_CHUNK, Task
from receivables.reminders.mime import ComposedEmail, compose
from receivables.reminders.recipients import parse_recipients
from receivables.reminders.render import RenderedEmail, _Letter
from receivables.reminders.templates import (
    TemplateDirs,
    _catalog,
    _html_env,
    _search_path,
    _subject_template,
    _text_env,
)

#: the templates ``dispute_escalation.en.html.j2`` / ``.txt.j2`` and their subject in messages.yaml
ESCALATION_TEMPLATE = "dispute_escalation"
#: bump when the fields of the key change, so old and new keys never collide
ESCALATION_KEY_VERSION = "dispute-escalation-v1"


def escalation_key(company_code: str, dispute_id: str, tier: int) -> str:
    """The outbox key of a dispute's tier: sha256 over company code, dispute and tier only, so
    every night the tier stays reached proposes the same email and the outbox queues it once."""
    parts = (ESCALATION_KEY_VERSION, str(company_code).strip(), str(dispute_id).strip(), str(int(tier)))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def escalation_emails(
    due: pd.DataFrame,
    companies: Mapping[str, Mapping[str, Any]],
    as_of: date,
    template_dir: str | Path | TemplateDirs | None,
) -> list[ComposedEmail]:
    """One internal email per row of ``receivables.disputes.escalations_due`` whose company
    code has creditor details."""
    if due.empty:
        return []
    tdir = _search_path(template_dir)
    emails = []
    for row in due.to_dict("records"):
        company = companies.get(str(row["company_code"]))
        if company is not None:
            emails.append(compose(render_escalation(row, company, as_of, tdir)))
    return emails


def escalation_tasks(
    due: pd.DataFrame,
    companies: Mapping[str, Mapping[str, Any]],
    as_of: date,
    template_dir: str | Path | TemplateDirs | None,
    size: int = POOL_CHUNK,
) -> Iterator[Task]:
    """``escalation_emails`` in slices of ``size`` rows, for the rendering pool: every night
    a tier stays reached proposes its email again (the outbox keeps it once), so a large
    ledger re-renders thousands of them."""
    tdir = _search_path(template_dir)
    for start in range(0, len(due), size):
        yield escalation_emails, (due.iloc[start : start + size], dict(companies), as_of, tdir)


def render_escalation(
    row: Mapping[str, Any], company: Mapping[str, Any], as_of: date, tdir: TemplateDirs
) -> RenderedEmail:
    """The escalation email of one (dispute, tier), as its internal reader gets it."""
    entry = _catalog(tdir)["templates"].get(ESCALATION_TEMPLATE) or {}
    if "subject" not in entry:
        raise ConfigError(
            f"messages.yaml of {' or '.join(tdir)} has no subject for the template {ESCALATION_TEMPLATE!r}."
        )
    currency = str(company.get("currency") or "EUR").upper()
    letter = _Letter(ESCALATION_TEMPLATE, "en", Locale.parse("en"), currency, {})
    context = _context(letter, row, company, as_of)
    subject = " ".join(_subject_template(tdir, entry["subject"]["en"]).render(context).split())
    context["subject"] = subject
    html = _html_env(tdir).get_template(f"{ESCALATION_TEMPLATE}.en.html.j2").render(context)
    text = _text_env(tdir).get_template(f"{ESCALATION_TEMPLATE}.en.txt.j2").render(context)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip() + "\n"
    address = str(row["address"])
    recipients, problem = parse_recipients(address, str(row["dispute_id"]))
    reader = context["reader"]
    return RenderedEmail(
        key=escalation_key(row["company_code"], row["dispute_id"], row["tier"]),
        as_of=as_of,
        # what the outbox's notice_id column shows for it: the dispute and the tier
        notice_id=f"{row['dispute_id']}/T{int(row['tier'])}"[:64],
        company_code=str(row["company_code"]),
        customer_id=str(row["customer_id"]),
        currency=currency,
        level=None,  # type: ignore[arg-type]  # not a dunning letter: see the module docstring
        template=ESCALATION_TEMPLATE,
        language="en",
        locale="en",
        subject=subject,
        html=html,
        text=text,
        recipients=tuple(recipients) if problem is None else (),
        to_name="" if problem else reader,
        from_name=str(company["name"]),
        from_address=str(company["collections_email"]),
        reply_to_name=str(company["name"]),
        reply_to_address=str(company["collections_email"]),
        attachments=(),
        problem=problem,
        raw_recipients=address,
    )


def _context(letter: _Letter, row: Mapping[str, Any], company: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """Every field the templates may ask for (StrictUndefined: a missing one is an error)."""
    owner = "" if pd.isna(row["owner"]) else str(row["owner"])
    target = pd.Timestamp(row["target_date"]).date()
    return {
        "reader": (owner or "Dispute owner") if row["to"] == "owner" else "Collections manager",
        "tier": int(row["tier"]),
        "to_manager": row["to"] == "manager",
        "company": {"code": str(row["company_code"]), "name": str(company["name"])},
        "dispute": {
            "id": str(row["dispute_id"]),
            "customer_id": str(row["customer_id"]),
            "document_no": "" if pd.isna(row["document_no"]) else str(row["document_no"]),
            "reason_code": str(row["reason_code"]),
            "owner": owner or "(no owner)",
            "amount": letter.money(int(row["amount"])),
            "opened_on": letter.day(pd.Timestamp(row["opened_on"]).date()),
            "target_date": letter.day(target),
            "days_past_target": (pd.Timestamp(as_of) - pd.Timestamp(target)).days,
            "age_days": int(row["age_days"]),
        },
        "dates": {"as_of": letter.day(as_of)},
    }
