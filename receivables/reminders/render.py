"""One notice rendered as the letter its customer reads, in the customer's language and formats.

A notice becomes one email in the customer's language (``en``, ``de``, ``es``; anything else
falls back to English) with an HTML part and a real plain-text part rendered from their own
templates, amounts and dates formatted by Babel for the customer's locale (a German customer
reads ``1.234,56 €``), the overdue items with totals, fees and interest, the company's payment
details, and the statement of account attached as CSV and XLSX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from email.headerregistry import Address
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from receivables.errors import ConfigError
from receivables.reminders.cells import _as_date, _cents, _first, _int_text, _missing, _records, _text
from receivables.reminders.currency_text import money_text
from receivables.reminders.keys import idempotency_key
from receivables.reminders.recipients import _CONTROL, _collector, _visible, parse_recipients
from receivables.reminders.statement import Attachment, _statement_files, _statement_rows
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

#: the Late Payment Directive's fixed recovery compensation (Art. 6 of 2011/7/EU), in cents
EU_COMPENSATION_CENTS = 4000


@dataclass(frozen=True)
class RenderedEmail:
    """One reminder as the customer will read it, plus what the outbox needs to track it.

    ``problem`` is set when a header value is unusable (no address, a line break in an
    address or name): the email is then recorded as failed and never sent.
    """

    key: str
    as_of: date
    notice_id: str
    company_code: str
    customer_id: str
    currency: str
    level: int
    template: str
    language: str
    locale: str
    subject: str
    html: str
    text: str
    recipients: tuple[str, ...]
    to_name: str
    from_name: str
    from_address: str
    reply_to_name: str
    reply_to_address: str
    attachments: tuple[Attachment, ...]
    problem: str | None = None
    #: the master-data email value as given, control characters made visible (audit trail)
    raw_recipients: str = ""

    @property
    def reply_to(self) -> str:
        """The Reply-To header value: the customer's collector, else the collections team."""
        return _reply_to(self.reply_to_name, self.reply_to_address)

    @property
    def recipients_text(self) -> str:
        """What the outbox's ``recipients`` column holds."""
        return "; ".join(self.recipients) if self.recipients else self.raw_recipients


@lru_cache(maxsize=1 << 12)
def _reply_to(name: str, address: str) -> str:
    # a night's letters reply to a few collectors; the header registry parses each one anew
    return str(Address(name, addr_spec=address))


@dataclass(frozen=True)
class _Letter:
    """What is fixed about one letter before its content: the dunning template, the language
    and labels it is written in, and the locale and currency its money and dates are written in."""

    template: str
    language: str
    locale: Locale
    currency: str
    labels: dict[str, str]

    def money(self, cents: int) -> str:
        return money_text(cents, self.currency, self.locale)

    def day(self, value: date | None) -> str:
        return _date_text(value, "medium", self.locale) if value else ""

    def long_day(self, value: date) -> str:
        # no-break spaces keep "7. November 2026" on one line when the text part is wrapped
        return _date_text(value, "long", self.locale).replace(" ", "\u00a0")


@lru_cache(maxsize=1 << 14)
def _date_text(value: date, style: str, locale: Locale) -> str:
    # a night's letters name a few hundred distinct dates, a million times
    return format_date(value, style, locale=locale)


def render_reminder(
    notice: Mapping[str, Any],
    items: pd.DataFrame | Iterable[Mapping[str, Any]],
    customer: Mapping[str, Any],
    company: Mapping[str, Any],
    as_of: date | str,
    template_dir: str | Path | TemplateDirs | None = None,
    *,
    statement: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
) -> RenderedEmail:
    """The reminder email for one notice (money in the frames in integer cents).

    ``items`` are the notice's dunning items, ideally joined with their open items for
    document_date, due_date and reference.  ``statement`` is the customer's open items in the
    notice's company code and currency for the attached statement of account; without it
    the statement lists the notice's items.
    """
    tdir = _search_path(template_dir)
    catalog = _catalog(tdir)
    as_of_date = _as_date(as_of)
    if as_of_date is None:
        raise ValueError("as_of is required")
    letter = _letter(notice, customer, catalog, tdir)
    item_rows = sorted(_records(items), key=_item_order)
    context = _letter_context(letter, notice, item_rows, customer, company, catalog, as_of_date)
    # bound before rendering, so nothing a template does to the context reaches a header
    customer_id, customer_name = context["customer"]["id"], context["customer"]["name"]
    collector_name, collector_email = context["collector"]["name"], context["collector"]["email"]
    earlier = [dict(e) for e in context["earlier"]]
    subject, html, text = _letter_parts(letter, context, catalog, tdir)
    raw_email = "" if _missing(customer.get("email")) else str(customer.get("email"))
    addressed = addressing(raw_email, customer_id, customer_name, subject, company, collector_name, collector_email)
    attachments = _statement_attachments(
        letter, item_rows, statement, catalog, customer_id, customer_name, company, as_of_date, earlier
    )
    return RenderedEmail(
        key=idempotency_key(notice, as_of_date),
        as_of=as_of_date,
        notice_id=str(notice["notice_id"]),
        company_code=str(notice["company_code"]).strip(),
        customer_id=customer_id,
        currency=letter.currency,
        level=int(notice["level"]),
        template=letter.template,
        language=letter.language,
        locale=str(letter.locale),
        subject=subject,
        html=html,
        text=text,
        attachments=attachments,
        **addressed,
    )


def _statement_attachments(
    letter: _Letter,
    item_rows: list[dict],
    statement: pd.DataFrame | Iterable[Mapping[str, Any]] | None,
    catalog: dict[str, Any],
    customer_id: str,
    customer_name: str,
    company: Mapping[str, Any],
    as_of: date,
    earlier: list[dict[str, Any]] | None = None,
) -> tuple[Attachment, ...]:
    """The statement of account (CSV and XLSX) in the letter's language, locale and currency;
    the fees and interest earlier notices still claim as lines after the items."""
    rows = _statement_rows(item_rows, statement, as_of, letter.currency)
    claims = [(e["label"], e["cents"]) for e in earlier or []]
    return _statement_files(
        rows, catalog, letter.language, letter.locale, customer_id, customer_name, company, as_of, letter.currency,
        claims=claims,
    )  # fmt: skip


def _item_order(row: Mapping[str, Any]) -> tuple[date, str]:
    """The letter lists the items oldest due date first, undated ones last."""
    return _as_date(row.get("due_date")) or date.max, str(row.get("document_no"))


def _letter(
    notice: Mapping[str, Any], customer: Mapping[str, Any], catalog: dict[str, Any], tdir: TemplateDirs
) -> _Letter:
    """The notice's template (known to the catalogue) and the language, locale and labels of
    its letter: the customer's language when that template is written in it, else English."""
    template = str(notice["template"]).strip()
    if template not in catalog["templates"]:
        raise ConfigError(
            f"The dunning template {template!r} of notice {notice['notice_id']} has no entry in "
            f"messages.yaml of {' or '.join(tdir)} (known: {', '.join(sorted(catalog['templates']))})."
        )
    wanted = _language(_first(notice.get("language"), customer.get("language")))
    language = wanted if _has_templates(tdir, template, wanted) else FALLBACK_LANGUAGE
    if not _has_templates(tdir, template, language):
        raise ConfigError(
            f"The email templates {template}.{language}.html.j2 / .txt.j2 are missing in {' and '.join(tdir)}."
        )
    locale = _locale(language, customer.get("country"))
    currency = str(notice["currency"]).strip().upper()
    labels = {**catalog["labels"][FALLBACK_LANGUAGE], **catalog["labels"].get(language, {})}
    return _Letter(template=template, language=language, locale=locale, currency=currency, labels=labels)


def _letter_context(
    letter: _Letter,
    notice: Mapping[str, Any],
    item_rows: list[dict],
    customer: Mapping[str, Any],
    company: Mapping[str, Any],
    catalog: dict[str, Any],
    as_of: date,
) -> dict[str, Any]:
    """Every field the templates may ask for (StrictUndefined: a missing one is an error)."""
    # credit_amount (<= 0): credit notes and payments on account the dunning stage netted
    # against the overdue items; what the customer owes is the net amount plus charges
    overdue, credits, fees, interest = (
        _cents(notice.get(c)) for c in ("overdue_amount", "credit_amount", "fees", "interest")
    )
    # the customer's own payments cash application could not allocate (dunning policy
    # ``unapplied_cash: hold``): named, with what would remain, and remittance details asked for
    unapplied = _cents(notice.get("unapplied_amount"))
    pay_within = int(catalog["templates"][letter.template].get("pay_within_days", 10))
    collector_name, collector_email = _collector(customer, company, letter.labels)
    bank = _bank_details(company)
    customer_id = str(notice["customer_id"]).strip()
    return {
        "language": letter.language,
        "locale": str(letter.locale),
        "L": letter.labels,
        "customer": {"id": customer_id, "name": _text(customer.get("name")), "country": _text(customer.get("country"))},
        "company": _company_details(company, letter.language),
        "collector": {"name": collector_name, "email": collector_email},
        "bank": bank,
        "notice": {"id": str(notice["notice_id"]), "level": int(notice["level"]), "template": letter.template},
        "currency": letter.currency,
        "dates": {
            "as_of": letter.long_day(as_of),
            "as_of_short": letter.day(as_of),
            "pay_by": letter.long_day(as_of + timedelta(days=pay_within)),
        },
        "items": [_item_line(letter, r) for r in item_rows],
        "totals": {
            "overdue": letter.money(overdue),
            "credits": letter.money(credits),
            "interest": letter.money(interest),
            "fees": letter.money(fees),
            "total": letter.money(overdue + credits + fees + interest),
            "has_credits": credits != 0,
            "has_interest": interest != 0,
            "has_fees": fees != 0,
            "unapplied_note": _unapplied_note(letter, unapplied, overdue + credits + fees + interest),
        },
        # what earlier notices charged and is still open: tonight's fees and interest above are new
        "earlier": _earlier_claims(letter, notice),
        "eu_compensation": money_text(EU_COMPENSATION_CENTS, "EUR", letter.locale),
        "payment_reference": f"{customer_id} / {notice['notice_id']}",
    }


def _earlier_claims(letter: _Letter, notice: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The lines "Fees / Interest from earlier reminders still open: X" (only amounts > 0)."""
    lines = []
    for field in ("earlier_fees", "earlier_interest"):
        cents = _cents(notice.get(field))
        if cents > 0 and field in letter.labels:
            lines.append({"label": letter.labels[field], "amount": letter.money(cents), "cents": cents})
    return lines


def _unapplied_note(letter: _Letter, unapplied: int, total: int) -> str:
    """The sentence naming unallocated payments and what would remain after them ("" without)."""
    # a team's messages.yaml copied before this sentence existed lacks it: the preflight says so
    if unapplied <= 0 or "unapplied_note" not in letter.labels:
        return ""
    return (
        letter.labels["unapplied_note"]
        .replace("{amount}", letter.money(unapplied))
        .replace("{rest}", letter.money(max(total - unapplied, 0)))
    )


def _company_details(company: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The creditor as the templates show it, its legal basis in the letter's language."""
    legal_basis = company.get("legal_basis") or {}
    return {
        "vat_id": None,
        "registration": None,
        "collections_phone": None,
        **{k: v for k, v in company.items() if k not in ("bank", "collectors", "legal_basis")},
        "legal_basis": legal_basis.get(language) or legal_basis.get(FALLBACK_LANGUAGE, ""),
        "late_payment_compensation": bool(company.get("late_payment_compensation")),
    }


def _bank_details(company: Mapping[str, Any]) -> dict[str, Any]:
    """The creditor's bank account, every field the layouts may ask for blank when it has none."""
    bank = {k: "" for k in ("account_holder", "bank_name", "iban", "bic", "ach_routing", "account_number", "swift")}
    bank.update({k: v for k, v in company["bank"].items() if v is not None})
    bank["account_holder"] = bank["account_holder"] or str(company["name"])
    if bank["iban"]:
        bank["iban_display"] = " ".join(re.findall(".{1,4}", str(bank["iban"]).replace(" ", "")))
    return bank


def _item_line(letter: _Letter, row: Mapping[str, Any]) -> dict[str, Any]:
    """One overdue item as a line of the letter's table."""
    return {
        "document_no": _text(row.get("document_no")),
        "reference": _text(row.get("reference")),
        "document_date": letter.day(_as_date(row.get("document_date"))),
        "due_date": letter.day(_as_date(row.get("due_date"))),
        "days_past_due": _int_text(row.get("days_past_due")),
        "open_amount": letter.money(_cents(row.get("open_amount"))),
        "is_credit": _cents(row.get("open_amount")) < 0 or _text(row.get("document_type")) == "CRN",
        "disputed_note": _disputed_note(letter, _cents(row.get("disputed_amount"))),
    }


def _disputed_note(letter: _Letter, disputed: int) -> str:
    """The sentence "of which X is disputed and not claimed" under a partly disputed item ("" without);
    the notice's overdue total is the items' undisputed rest."""
    # a team's messages.yaml copied before this sentence existed lacks it: no note then
    if disputed <= 0 or "disputed_note" not in letter.labels:
        return ""
    return letter.labels["disputed_note"].replace("{amount}", letter.money(disputed))


def _letter_parts(
    letter: _Letter, context: dict[str, Any], catalog: dict[str, Any], tdir: TemplateDirs
) -> tuple[str, str, str]:
    """The subject, HTML and plain text of the letter; the subject joins the context first,
    as the layouts show it."""
    subject_source = catalog["templates"][letter.template]["subject"]
    subject_template = subject_source.get(letter.language) or subject_source[FALLBACK_LANGUAGE]
    # whitespace collapsed: a line break that came in with a company name or customer id
    # becomes a space, so the subject is always one header line
    subject = " ".join(_subject_template(tdir, subject_template).render(context).split())
    context["subject"] = subject
    html = _html_env(tdir).get_template(f"{letter.template}.{letter.language}.html.j2").render(context)
    text = _text_env(tdir).get_template(f"{letter.template}.{letter.language}.txt.j2").render(context)
    # empty optional blocks leave runs of blank lines; one blank line separates paragraphs
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip() + "\n"
    return subject, html, text


def addressing(
    raw_email: str,
    customer_id: str,
    customer_name: str,
    subject: str,
    company: dict,
    collector_name: str,
    collector_email: str,
) -> dict[str, Any]:
    """The header fields of an email to a customer (``RenderedEmail``'s recipients, names,
    sender, reply-to and problem): from the company's collections address, replies to the
    collector, no recipient when the headers cannot be written safely."""
    recipients, problem = _addressees(raw_email, customer_id, customer_name, subject)
    return {
        "recipients": tuple(recipients) if problem is None else (),
        "to_name": "" if problem else customer_name,
        "from_name": str(company["name"]),
        "from_address": str(company["collections_email"]),
        "reply_to_name": collector_name,
        "reply_to_address": collector_email,
        "problem": problem,
        "raw_recipients": _visible(raw_email),
    }


def _addressees(raw_email: str, customer_id: str, customer_name: str, subject: str) -> tuple[list[str], str | None]:
    """The customer's addresses, or why this letter's headers cannot be written: no usable
    address, or a line break or control character in the name or the subject."""
    recipients, problem = parse_recipients(raw_email, customer_id)
    if problem is None and _CONTROL.search(customer_name):
        problem = (
            f"The name of customer {customer_id} contains a line break or control character: {_visible(customer_name)}."
        )
    if problem is None and _CONTROL.search(subject):
        problem = (
            f"The subject for customer {customer_id} contains a line break or control character: {_visible(subject)}."
        )
    return recipients, problem


def _language(value: Any) -> str:
    """ISO 639-1 code from 'de', 'DE', 'de-AT', 'de_AT'; English when missing or malformed."""
    text = _text(value).lower()
    code = re.split(r"[-_]", text)[0] if text else ""
    return code if re.fullmatch(r"[a-z]{2,3}", code) else FALLBACK_LANGUAGE


def _locale(language: str, country: Any) -> Locale:
    """The CLDR locale for number and date formats: language plus the customer's country
    when CLDR knows the pair (de + AT -> de_AT), else the language alone."""
    region = _text(country).upper()
    for tag in ([f"{language}_{region}"] if re.fullmatch(r"[A-Z]{2}", region) else []) + [language]:
        try:
            return Locale.parse(tag)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(FALLBACK_LANGUAGE)
