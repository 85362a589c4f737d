"""The courtesy email before a payment plan's instalment (SPEC "Collections casework between
nights": "Customers get a courtesy email before each instalment").

A customer under a current plan hears from us a few days (``plan_courtesy_days`` of
``dunning.yaml``) before the next instalment falls due: which instalment, when, the amount
still missing to meet it (less when the customer paid ahead), what was paid so far, and where
to pay.  Friendly and without a threat: the plan is being kept.

Exactly once per instalment, whichever night proposes it.  The outbox key is built from the
company code, the plan and the instalment's seq, never from the night: every night of the
window proposes the same email, the outbox already holds the key, and nothing new is queued.
The email carries no dunning level (``level`` is None): it is not one of the dunning letters
of which a customer gets one per date, so it never replaces nor is replaced by a reminder.

Pure: the plan statuses, the instalments, the customers and the creditors come in as
arguments; nothing here reads a config file other than the templates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from receivables.errors import ConfigError
from receivables.payment_plans import PlanStatus
from receivables.reminders.cells import _as_date, _missing, _text
from receivables.reminders.mime import ComposedEmail, compose
from receivables.reminders.recipients import _collector
from receivables.reminders.render import (
    RenderedEmail,
    _bank_details,
    _company_details,
    _language,
    _Letter,
    _locale,
    addressing,
)
from receivables.reminders.templates import (
    FALLBACK_LANGUAGE,
    TemplateDirs,
    _catalog,
    _has_templates,
    _html_env,
    _search_path,
    _subject_template,
    _text_env,
)

#: the templates (``plan_instalment.<language>.html.j2`` / ``.txt.j2``) and their entry in
#: ``messages.yaml`` (subject and labels per language)
PLAN_TEMPLATE = "plan_instalment"
#: bump when the fields of the key change, so old and new keys never collide
PLAN_KEY_VERSION = "plan-v1"

#: one row per instalment to announce (money in cents)
DUE_SOON_COLUMNS = [
    "plan_id",
    "company_code",
    "customer_id",
    "currency",
    "seq",
    "instalments",
    "due_date",
    "amount",
    "missing",
    "paid",
    "total",
    "documents",
]


def plan_courtesy_key(company_code: str, plan_id: str, seq: int) -> str:
    """The outbox key of an instalment's courtesy email: sha256 over company code, plan and
    seq only, so every night of the window (and every rerun) proposes the same email and the
    outbox queues it once.  A corrected due date or amount is the same instalment: no second
    email."""
    parts = (PLAN_KEY_VERSION, str(company_code).strip(), str(plan_id).strip(), str(int(seq)))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def instalments_due_soon(plans: PlanStatus, instalments: pd.DataFrame | None, as_of: date, days: int) -> pd.DataFrame:
    """The instalment each current plan waits for, when it falls due within the next ``days``
    days (as_of < due_date <= as_of + days): a plan still in the grace of an earlier
    instalment, a completed or a broken plan has none to announce."""
    status = plans.plans
    if days <= 0 or status.empty or instalments is None or instalments.empty:
        return pd.DataFrame(columns=DUE_SOON_COLUMNS)
    due = pd.to_datetime(status["next_due_date"]).dt.normalize()
    day = pd.Timestamp(as_of)
    window = (status["status"] == "CURRENT") & (due > day) & (due <= day + pd.Timedelta(days=days))
    schedules = {str(k): g.sort_values("seq") for k, g in instalments.groupby(instalments["plan_id"].astype(str))}
    documents = plans.covered.groupby(plans.covered["plan_id"].astype(str))["document_no"].agg(list).to_dict()
    rows = []
    for plan in status[window].itertuples(index=False):
        schedule = schedules.get(str(plan.plan_id))
        if schedule is None:
            continue
        amounts = pd.to_numeric(schedule["amount"]).astype("int64").to_numpy()
        cumulative = np.cumsum(amounts)
        # the first instalment the payments so far do not reach is the one a current plan waits for
        short = np.flatnonzero(cumulative > int(plan.paid_to_date))
        if not short.size:
            continue
        pending = int(short[0])
        rows.append(
            {
                "plan_id": str(plan.plan_id),
                "company_code": str(plan.company_code),
                "customer_id": str(plan.customer_id),
                "currency": None if _missing(plan.currency) else str(plan.currency),
                "seq": int(schedule["seq"].iloc[pending]),
                "instalments": len(schedule),
                "due_date": _as_date(plan.next_due_date),
                "amount": int(amounts[pending]),
                "missing": int(plan.next_amount),
                "paid": int(plan.paid_to_date),
                "total": int(cumulative[-1]),
                "documents": documents.get(str(plan.plan_id), []),
            }
        )
    return pd.DataFrame(rows, columns=DUE_SOON_COLUMNS)


def plan_courtesy_emails(
    plans: PlanStatus,
    instalments: pd.DataFrame | None,
    customers: pd.DataFrame,
    companies: Mapping[str, Mapping[str, Any]],
    as_of: date,
    template_dir: str | Path | TemplateDirs | None,
    days: int,
) -> list[ComposedEmail]:
    """One courtesy email per instalment due within ``days`` days (``instalments_due_soon``),
    to its customer in the customer's language.  None for a customer with a dunning block
    (nobody writes to them about money), nor for a company without creditor details (the
    preflight holds it: no letter can name the creditor or its bank)."""
    due = instalments_due_soon(plans, instalments, as_of, days)
    if due.empty:
        return []
    tdir = _search_path(template_dir)
    # the few customers with an instalment due, looked up in the master data once, not per plan
    customers = customers[customers["customer_id"].astype(str).isin(set(due["customer_id"]))]
    emails = []
    for row in due.to_dict("records"):
        customer = _customer(customers, row["company_code"], row["customer_id"])
        company = companies.get(row["company_code"])
        if customer is None or company is None or _blocked(customer):
            continue
        emails.append(compose(render_plan_courtesy(row, customer, company, as_of, tdir)))
    return emails


def render_plan_courtesy(
    due: Mapping[str, Any], customer: Mapping[str, Any], company: Mapping[str, Any], as_of: date, tdir: TemplateDirs
) -> RenderedEmail:
    """The courtesy email for one row of ``instalments_due_soon``, as the customer reads it."""
    texts = _plan_texts(tdir)
    letter = _plan_letter(due, customer, texts, tdir)
    context = _context(letter, due, customer, company, as_of)
    collector_name, collector_email = context["collector"]["name"], context["collector"]["email"]
    subject = " ".join(_subject_template(tdir, _in(texts["subject"], letter.language)).render(context).split())
    context["subject"] = subject
    name = f"{PLAN_TEMPLATE}.{letter.language}"
    html = _html_env(tdir).get_template(f"{name}.html.j2").render(context)
    text = _text_env(tdir).get_template(f"{name}.txt.j2").render(context)
    # empty optional lines leave runs of blank lines; one blank line separates paragraphs
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip() + "\n"
    raw_email = _text(customer.get("email"))
    customer_id, customer_name = context["customer"]["id"], context["customer"]["name"]
    addressed = addressing(raw_email, customer_id, customer_name, subject, company, collector_name, collector_email)
    return RenderedEmail(
        key=plan_courtesy_key(due["company_code"], due["plan_id"], due["seq"]),
        as_of=as_of,
        # what the outbox's notice_id column shows for it: the plan and the instalment
        notice_id=f"{due['plan_id']}/{due['seq']}"[:64],
        company_code=str(due["company_code"]),
        customer_id=customer_id,
        currency=letter.currency,
        level=None,  # type: ignore[arg-type]  # not a dunning letter: see the module docstring
        template=PLAN_TEMPLATE,
        language=letter.language,
        locale=str(letter.locale),
        subject=subject,
        html=html,
        text=text,
        attachments=(),
        **addressed,
    )


def _plan_texts(tdir: TemplateDirs) -> dict[str, Any]:
    """The subject and labels of the courtesy email (the catalogue falls back to the shipped
    entry when the team's ``messages.yaml`` predates it)."""
    entry = _catalog(tdir)["templates"].get(PLAN_TEMPLATE)
    if not entry or "subject" not in entry:
        raise ConfigError(f"messages.yaml of {' or '.join(tdir)} has no subject for the template {PLAN_TEMPLATE!r}.")
    return entry


def _plan_letter(
    due: Mapping[str, Any], customer: Mapping[str, Any], texts: Mapping[str, Any], tdir: TemplateDirs
) -> _Letter:
    """The language (the customer's when the templates are written in it, else English), the
    locale and currency the money is written in, and the labels."""
    wanted = _language(customer.get("language"))
    language = wanted if _has_templates(tdir, PLAN_TEMPLATE, wanted) else FALLBACK_LANGUAGE
    if not _has_templates(tdir, PLAN_TEMPLATE, language):
        raise ConfigError(
            f"The email templates {PLAN_TEMPLATE}.{language}.html.j2 / .txt.j2 are missing in {' and '.join(tdir)}."
        )
    catalog = _catalog(tdir)
    plan_labels = texts.get("labels") or {}
    labels = {
        **catalog["labels"][FALLBACK_LANGUAGE],
        **catalog["labels"].get(language, {}),
        **plan_labels.get(FALLBACK_LANGUAGE, {}),
        **plan_labels.get(language, {}),
    }
    # covered documents all paid but an instalment still short: the customer's currency
    currency = (due["currency"] or _text(customer.get("currency")) or "EUR").upper()
    return _Letter(PLAN_TEMPLATE, language, _locale(language, customer.get("country")), currency, labels)


def _context(
    letter: _Letter, due: Mapping[str, Any], customer: Mapping[str, Any], company: Mapping[str, Any], as_of: date
) -> dict[str, Any]:
    """Every field the templates may ask for (StrictUndefined: a missing one is an error)."""
    collector_name, collector_email = _collector(customer, company, letter.labels)
    return {
        "language": letter.language,
        "locale": str(letter.locale),
        "L": letter.labels,
        "customer": {
            "id": str(due["customer_id"]).strip(),
            "name": _text(customer.get("name")),
            "country": _text(customer.get("country")),
        },
        "company": _company_details(company, letter.language),
        "collector": {"name": collector_name, "email": collector_email},
        "bank": _bank_details(company),
        "currency": letter.currency,
        "dates": {"as_of": letter.long_day(as_of), "as_of_short": letter.day(as_of)},
        "plan": {
            "id": str(due["plan_id"]),
            "documents": list(due["documents"]),
            "instalments": int(due["instalments"]),
            "total": letter.money(int(due["total"])),
            "paid": letter.money(int(due["paid"])),
            "has_payments": int(due["paid"]) > 0,
        },
        "instalment": {
            "seq": int(due["seq"]),
            "due_date": letter.long_day(due["due_date"]),
            "due_date_short": letter.day(due["due_date"]),
            "amount": letter.money(int(due["amount"])),
            "missing": letter.money(int(due["missing"])),
            # money paid ahead already covers part of this instalment
            "paid_ahead": int(due["missing"]) < int(due["amount"]),
        },
        # the plan and its documents: what cash application recognises on the bank line
        "payment_reference": " ".join([str(due["plan_id"]), *due["documents"]])[:140],
    }


def _in(by_language: Mapping[str, str], language: str) -> str:
    return by_language.get(language) or by_language[FALLBACK_LANGUAGE]


def _customer(customers: pd.DataFrame, company_code: str, customer_id: str) -> dict | None:
    """The customer's master-data row, the company code's own when the extract has one per code."""
    mine = customers[customers["customer_id"].astype(str) == customer_id]
    if mine.empty:
        return None
    if "company_code" in mine.columns:
        own = mine[mine["company_code"].astype(str) == company_code]
        mine = own if not own.empty else mine
    return mine.iloc[0].to_dict()


def _blocked(customer: Mapping[str, Any]) -> bool:
    value = customer.get("dunning_block")
    return False if _missing(value) else bool(value)
