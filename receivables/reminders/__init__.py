"""Reminder emails: a notice of the dunning proposal rendered as the letter its customer reads.

Pure functions only: nothing here talks to SMTP, the file system (other than reading the
templates and ``configs/companies.yaml``) or the warehouse; ``receivables.outbox`` does that.

A notice becomes one email in the customer's language (``en``, ``de``, ``es``; anything else
falls back to English) with an HTML part and a real plain-text part rendered from their own
templates, amounts and dates formatted by Babel for the customer's locale (a German customer
reads ``1.234,56 €``), the overdue items with totals, fees and interest, the company's payment
details, and the statement of account attached as CSV and XLSX.

Templates live in ``configs/templates/email/``: ``<template>.<language>.html.j2`` and
``.txt.j2`` hold the prose of one dunning level and extend ``base.html.j2`` / ``base.txt.j2``;
``messages.yaml`` holds the subjects, payment deadlines, labels and statement headings.

Header safety: every value that reaches a header (addresses, the customer name, the subject)
is checked for line breaks and control characters.  A notice with such a value is still
rendered, but carries a ``problem`` and is never turned into a message: the outbox records it
as ``failed`` with that reason, so a CRLF in master data can never become a header.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import multiprocessing
import quopri
import re
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import encoders
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, get_decimal_symbol

from receivables.config_folder import PLACEHOLDER, ConfigFolder
from receivables.errors import ConfigError, ReceivablesError
from receivables.money import to_decimal

#: where email templates are looked up, first folder first: the configuration folder's
#: ``templates/email`` (when it has one), then the shipped templates
TemplateDirs = tuple[str, ...]


def template_dirs(folder: ConfigFolder = ConfigFolder()) -> TemplateDirs:
    return tuple(str(p) for p in folder.folders("templates/email"))


def _search_path(template_dir: str | Path | TemplateDirs | None) -> TemplateDirs:
    if template_dir is None:
        return template_dirs()
    if isinstance(template_dir, tuple):
        return template_dir
    return (str(template_dir),)


FALLBACK_LANGUAGE = "en"
#: bump when the fields of the idempotency key change, so old and new keys never collide
KEY_VERSION = "v1"
#: the Late Payment Directive's fixed recovery compensation (Art. 6 of 2011/7/EU), in cents
EU_COMPENSATION_CENTS = 4000

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"

#: (filename, content, mimetype)
Attachment = tuple[str, bytes, str]

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: none of them belongs in
# a name or an address, and several are line breaks to some mail software.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A deliberately plain address syntax: what ERP master data legitimately holds.  Quoted local
# parts, comments and IP literals are legal RFC 5322 but are how injection attempts look.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")
# spreadsheet applications evaluate a cell that starts like this as a formula (CWE-1236)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


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
        return str(Address(self.reply_to_name, addr_spec=self.reply_to_address))

    @property
    def recipients_text(self) -> str:
        """What the outbox's ``recipients`` column holds."""
        return "; ".join(self.recipients) if self.recipients else self.raw_recipients


# --------------------------------------------------------------------------- keys and ids


def idempotency_key(notice: Mapping[str, Any], as_of: date | str | None = None) -> str:
    """The outbox key of a notice's email: the same letter for the same business date.

    sha256 over as_of, company_code, customer_id, currency and level.  Those fields identify
    the letter a customer receives: the SPEC groups a notice per customer, company code and
    currency, and dunning state is keyed by as_of, so a rerun for the same as_of reproduces
    the key and the outbox refuses to send it again.  The level is part of it because a
    different level is a different letter.  Deliberately left out: the notice_id (generated
    by the dunning engine and not promised stable across reruns), the amounts and the item
    list (a corrected rerun the same day, e.g. after a late payment import, must not send a
    second reminder for that day), and the mail mode (a preview must not stand in for the
    real send).
    """
    when = _as_date(as_of if as_of is not None else notice["as_of"])
    if when is None:
        raise ValueError("an idempotency key needs the notice's as_of date")
    parts = (
        KEY_VERSION,
        when.isoformat(),
        str(notice["company_code"]).strip(),
        str(notice["customer_id"]).strip(),
        str(notice["currency"]).strip().upper(),
        str(int(notice["level"])),
    )
    # the unit separator cannot occur in codes, so ("10", "0") and ("1", "00") differ
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def make_message_id(key: str, domain: str, tag: str | None = None) -> str:
    """The Message-ID of the email with this key: ``<key@domain>``, or ``<key.tag@domain>``.

    Stable per key on purpose: a retry after a dropped connection, or a held email released
    by an operator, goes out with the same id, so if the first copy did arrive the recipient's
    mail system can recognise the duplicate, and the held row's id can be looked up in the
    mail server's log.  Unique per email because the key is (yagmail's default id is a hash of
    From, To and Subject and repeats every night).  ``tag`` marks a different rendition of the
    same email, e.g. ``redirect`` for the copy sent to the test address.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("the key must be a sha256 hex digest")
    domain = _ascii_domain(domain)
    if tag is not None and not re.fullmatch(r"[A-Za-z0-9-]+", tag):
        raise ValueError("a Message-ID tag must be letters, digits or '-'")
    return f"<{key}.{tag}@{domain}>" if tag else f"<{key}@{domain}>"


# --------------------------------------------------------------------------- configuration


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


@lru_cache(maxsize=8)
def _catalog(template_dirs: TemplateDirs) -> dict[str, Any]:
    file = next(
        (Path(d) / "messages.yaml" for d in template_dirs if (Path(d) / "messages.yaml").is_file()),
        Path(template_dirs[-1]) / "messages.yaml",
    )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"The email message catalogue {file} cannot be read: {exc}.") from exc
    if not isinstance(data, dict) or not data.get("templates"):
        raise ConfigError(f"The email message catalogue {file} has no templates section.")
    for section in ("labels", "statement"):
        if FALLBACK_LANGUAGE not in (data.get(section) or {}):
            raise ConfigError(f"{file}: section {section!r} needs the fallback language {FALLBACK_LANGUAGE!r}.")
    return data


def _loader(template_dirs: TemplateDirs) -> jinja2.FileSystemLoader:
    return jinja2.FileSystemLoader(list(template_dirs), encoding="utf-8")


@lru_cache(maxsize=8)
def _html_env(template_dir: TemplateDirs) -> jinja2.Environment:
    # Autoescape everything: customer names and references come from ERP master data.
    return jinja2.Environment(
        loader=_loader(template_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=8)
def _text_env(template_dir: TemplateDirs) -> jinja2.Environment:
    # A separate, non-escaping environment: in the text part "&" must stay "&".
    return jinja2.Environment(
        loader=_loader(template_dir),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=64)
def _subject_template(template_dir: TemplateDirs, source: str) -> jinja2.Template:
    return _text_env(template_dir).from_string(source)


# --------------------------------------------------------------------------- rendering


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

    item_rows = _records(items)
    item_rows.sort(key=lambda r: (_as_date(r.get("due_date")) or date.max, str(r.get("document_no"))))
    money = lambda cents: format_currency(to_decimal(cents), currency, locale=locale)  # noqa: E731
    day = lambda value: format_date(value, "medium", locale=locale) if value else ""  # noqa: E731
    # no-break spaces keep "7. November 2026" on one line when the text part is wrapped
    long_day = lambda value: format_date(value, "long", locale=locale).replace(" ", "\u00a0")  # noqa: E731

    # credit_amount (<= 0): credit notes and payments on account the dunning stage netted
    # against the overdue items; what the customer owes is the net amount plus charges
    overdue, credits, fees, interest = (
        _cents(notice.get(c)) for c in ("overdue_amount", "credit_amount", "fees", "interest")
    )
    total = overdue + credits + fees + interest
    pay_within = int(catalog["templates"][template].get("pay_within_days", 10))
    collector_name, collector_email = _collector(customer, company, labels)
    legal_basis = company.get("legal_basis") or {}
    # every field the layouts may ask for, blank when the company has none (StrictUndefined)
    bank = {k: "" for k in ("account_holder", "bank_name", "iban", "bic", "ach_routing", "account_number", "swift")}
    bank.update({k: v for k, v in company["bank"].items() if v is not None})
    bank["account_holder"] = bank["account_holder"] or str(company["name"])
    if bank["iban"]:
        bank["iban_display"] = " ".join(re.findall(".{1,4}", str(bank["iban"]).replace(" ", "")))
    customer_id = str(notice["customer_id"]).strip()
    customer_name = _text(customer.get("name"))

    context = {
        "language": language,
        "locale": str(locale),
        "L": labels,
        "customer": {"id": customer_id, "name": customer_name, "country": _text(customer.get("country"))},
        "company": {
            "vat_id": None,
            "registration": None,
            "collections_phone": None,
            **{k: v for k, v in company.items() if k not in ("bank", "collectors", "legal_basis")},
            "legal_basis": legal_basis.get(language) or legal_basis.get(FALLBACK_LANGUAGE, ""),
            "late_payment_compensation": bool(company.get("late_payment_compensation")),
        },
        "collector": {"name": collector_name, "email": collector_email},
        "bank": bank,
        "notice": {"id": str(notice["notice_id"]), "level": int(notice["level"]), "template": template},
        "currency": currency,
        "dates": {
            "as_of": long_day(as_of_date),
            "as_of_short": day(as_of_date),
            "pay_by": long_day(as_of_date + timedelta(days=pay_within)),
        },
        "items": [
            {
                "document_no": _text(r.get("document_no")),
                "reference": _text(r.get("reference")),
                "document_date": day(_as_date(r.get("document_date"))),
                "due_date": day(_as_date(r.get("due_date"))),
                "days_past_due": _int_text(r.get("days_past_due")),
                "open_amount": money(_cents(r.get("open_amount"))),
                "is_credit": _cents(r.get("open_amount")) < 0 or _text(r.get("document_type")) == "CRN",
            }
            for r in item_rows
        ],
        "totals": {
            "overdue": money(overdue),
            "credits": money(credits),
            "interest": money(interest),
            "fees": money(fees),
            "total": money(total),
            "has_credits": credits != 0,
            "has_interest": interest != 0,
            "has_fees": fees != 0,
        },
        "eu_compensation": format_currency(to_decimal(EU_COMPENSATION_CENTS), "EUR", locale=locale),
        "payment_reference": f"{customer_id} / {notice['notice_id']}",
    }
    subject_source = catalog["templates"][template]["subject"]
    subject_template = subject_source.get(language) or subject_source[FALLBACK_LANGUAGE]
    # whitespace collapsed: a line break that came in with a company name or customer id
    # becomes a space, so the subject is always one header line
    subject = " ".join(_subject_template(tdir, subject_template).render(context).split())
    context["subject"] = subject
    html = _html_env(tdir).get_template(f"{template}.{language}.html.j2").render(context)
    text = _text_env(tdir).get_template(f"{template}.{language}.txt.j2").render(context)
    # empty optional blocks leave runs of blank lines; one blank line separates paragraphs
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip() + "\n"

    raw_email = "" if _missing(customer.get("email")) else str(customer.get("email"))
    recipients, problem = _recipients(raw_email, customer_id)
    if problem is None and _CONTROL.search(customer_name):
        problem = (
            f"The name of customer {customer_id} contains a line break or control character: {_visible(customer_name)}."
        )
    if problem is None and _CONTROL.search(subject):
        problem = (
            f"The subject for customer {customer_id} contains a line break or control character: {_visible(subject)}."
        )

    key = idempotency_key(notice, as_of_date)
    statement_rows = _statement_rows(item_rows, statement, as_of_date, currency)
    attachments = _statement_files(
        statement_rows, catalog, language, locale, customer_id, customer_name, company, as_of_date, currency
    )
    return RenderedEmail(
        key=key,
        as_of=as_of_date,
        notice_id=str(notice["notice_id"]),
        company_code=str(notice["company_code"]).strip(),
        customer_id=customer_id,
        currency=currency,
        level=int(notice["level"]),
        template=template,
        language=language,
        locale=str(locale),
        subject=subject,
        html=html,
        text=text,
        recipients=tuple(recipients) if problem is None else (),
        to_name="" if problem else customer_name,
        from_name=str(company["name"]),
        from_address=str(company["collections_email"]),
        reply_to_name=collector_name,
        reply_to_address=collector_email,
        attachments=attachments,
        problem=problem,
        raw_recipients=_visible(raw_email),
    )


def render_notices(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    *,
    companies: Mapping[str, Mapping[str, Any]] | None = None,
    template_dir: str | Path | TemplateDirs | None = None,
) -> list[RenderedEmail]:
    """The emails of a dunning proposal: one per notice whose action is ``email``.

    ``open_items`` (after cash application) supplies each item's document_date, due_date and
    reference, and the customer's statement of account.
    """
    jobs = _notice_jobs(notices, items, customers, open_items, as_of, companies, template_dir)
    return [_render_job(job) for job in jobs]


def compose_notices(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    *,
    workers: int = 1,
    companies: Mapping[str, Mapping[str, Any]] | None = None,
    template_dir: str | Path | TemplateDirs | None = None,
) -> list[ComposedEmail]:
    """``render_notices`` and ``compose`` in one pass, in notice order, on ``workers``
    processes.  Each letter is independent of the others, so a go-live night's 10^4-10^5
    letters spread over the machine's cores; only the composed (compressed) emails are kept.
    """
    jobs = _notice_jobs(notices, items, customers, open_items, as_of, companies, template_dir)
    if workers <= 1 or int((notices["action"].astype(str) == "email").sum()) < POOL_THRESHOLD:
        return [compose(_render_job(job)) for job in jobs]
    composed: list[ComposedEmail] = []
    # spawn, not fork: the caller may be a Prefect worker with threads holding locks
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future] = deque()
        for chunk in _batched(jobs, POOL_CHUNK):
            pending.append(pool.submit(_compose_jobs, chunk))
            # a bounded queue of chunks keeps the night's inputs from being pickled at once
            if len(pending) >= 2 * workers:
                composed.extend(pending.popleft().result())
        while pending:
            composed.extend(pending.popleft().result())
    return composed


#: below this many emails a process pool costs more than it saves: starting two processes
#: and warming their templates takes ~4 s, rendering one email ~12 ms (measured at 560/629
#: emails: pooled 7.8 s / 8.9 s against 7.1 s / 8.0 s in the run's process)
POOL_THRESHOLD = 1000
#: notices per task sent to a rendering process
POOL_CHUNK = 200

#: (notice, its items, customer, company, statement rows or None, as_of, template_dir)
_Job = tuple[dict, list[dict], dict, Mapping[str, Any], list[dict] | None, Any, Any]


def _render_job(job: _Job) -> RenderedEmail:
    notice, item_rows, customer, company, statement, as_of, template_dir = job
    return render_reminder(notice, item_rows, customer, company, as_of, template_dir, statement=statement)


def _compose_jobs(jobs: list[_Job]) -> list[ComposedEmail]:
    return [compose(_render_job(job)) for job in jobs]


def _batched(jobs: Iterable[_Job], size: int) -> Iterable[list[_Job]]:
    batch: list[_Job] = []
    for job in jobs:
        batch.append(job)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _notice_jobs(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    open_items: pd.DataFrame | None,
    as_of: date | str,
    companies: Mapping[str, Mapping[str, Any]] | None,
    template_dir: str | Path | TemplateDirs | None,
) -> Iterable[_Job]:
    """What rendering each emailed notice needs, as plain values (picklable, and pandas
    indexing per notice would dominate at 10^4 notices)."""
    companies = companies if companies is not None else load_companies()
    emailed = notices[notices["action"].astype(str) == "email"]
    if emailed.empty:
        return
    wanted = set(emailed["customer_id"])
    by_customer = {r["customer_id"]: r for r in customers[customers["customer_id"].isin(wanted)].to_dict("records")}
    mine = items[items["notice_id"].isin(set(emailed["notice_id"]))]
    open_mine = None
    if open_items is not None and not open_items.empty:
        open_mine = open_items[open_items["customer_id"].isin(wanted)]
        details = [
            c for c in ("document_date", "due_date", "reference", "document_type", "amount") if c in open_mine.columns
        ]
        missing = [c for c in details if c not in mine.columns]
        if missing:
            mine = mine.merge(
                open_mine[["company_code", "document_no", *missing]], on=["company_code", "document_no"], how="left"
            )
    items_by_notice: dict[Any, list[dict]] = {}
    for row in mine.to_dict("records"):
        items_by_notice.setdefault(row["notice_id"], []).append(row)
    statements: dict[tuple, list[dict]] = {}
    if open_mine is not None:
        for row in open_mine.to_dict("records"):
            statements.setdefault((row["company_code"], row["customer_id"], row["currency"]), []).append(row)
    tdir = _search_path(template_dir)
    for notice in emailed.to_dict("records"):
        code = str(notice["company_code"])
        if code not in companies:
            raise ConfigError(
                f"Company code {code} has no entry in companies.yaml of the configuration folder; "
                "reminders cannot name the creditor or its bank account."
            )
        customer = by_customer.get(notice["customer_id"])
        if customer is None:
            raise ReceivablesError(
                f"Notice {notice['notice_id']} names customer {notice['customer_id']}, "
                "who is not in the customer extract."
            )
        statement = (
            statements.get((notice["company_code"], notice["customer_id"], notice["currency"]))
            if open_mine is not None
            else None
        )
        yield (notice, items_by_notice.get(notice["notice_id"], []), customer, companies[code], statement, as_of, tdir)


def message_bytes(rendered: RenderedEmail) -> bytes:
    """The MIME message of a rendered email as stored in the outbox, without Date and
    Message-ID (set when sent).

    multipart/mixed: a multipart/alternative with the text part first and the HTML part
    last (clients show the last one they can display), then the statement files.  Raises
    ``ValueError`` for an email with a ``problem``: such an email must never become headers.

    Built with the ``email.mime`` classes rather than ``EmailMessage``: the header registry
    parses and refolds every header on the way in and out, which cost ~6 ms a message, more
    than rendering it (a go-live night has 10^4-10^5 of them).  Non-ASCII display names and
    subjects are RFC 2047 encoded by ``_encoded``; the checks below keep
    every header one line.
    """
    if rendered.problem:
        raise ValueError(rendered.problem)
    addresses = [rendered.from_address, rendered.reply_to_address, *rendered.recipients]
    if not rendered.recipients:
        raise ValueError(f"email {rendered.key} has no recipient")
    for value in (rendered.subject, rendered.from_name, rendered.to_name, rendered.reply_to_name, *addresses):
        # a second line of defence behind render_reminder's checks: no value may start a header
        if _CONTROL.search(value):
            raise ValueError(
                f"a header value of email {rendered.key} contains a line break or control character: {_visible(value)}"
            )
    for addr in addresses:
        if problem := _address_problem(addr):
            raise ValueError(problem)
    boundary = f"=_{rendered.key[:24]}_"
    # Deterministic boundaries make a rerun's message byte-identical.  "=_" cannot occur in
    # quoted-printable or base64 bodies, so it cannot collide with the content.
    msg = MIMEMultipart("mixed", boundary=boundary + "0")
    alternative = MIMEMultipart("alternative", boundary=boundary + "1")
    alternative.attach(_text_part(rendered.text, "plain"))
    alternative.attach(_text_part(rendered.html, "html"))
    msg.attach(alternative)
    for filename, content, mimetype in rendered.attachments:
        maintype, subtype = mimetype.split("/", 1)
        # our text attachments (the CSV statement) are UTF-8; saying so spares readers a guess
        part = MIMEBase(maintype, subtype, **({"charset": "utf-8"} if maintype == "text" else {}))
        part.set_payload(content)
        encoders.encode_base64(part)
        # RFC 2231 for a non-ASCII file name (a customer id with umlauts), plain otherwise
        name = filename if filename.isascii() else ("utf-8", "", filename)
        part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    for part in msg.get_payload()[1:] + [alternative, *alternative.get_payload()]:
        del part["MIME-Version"]  # email.mime puts one on every part; it belongs on the top only
    msg["Subject"] = _encoded(rendered.subject)
    msg["From"] = _address(rendered.from_name, rendered.from_address)
    msg["To"] = ", ".join(_address(rendered.to_name, a) for a in rendered.recipients)
    msg["Reply-To"] = _address(rendered.reply_to_name, rendered.reply_to_address)
    msg["Content-Language"] = rendered.language
    # RFC 3834: tells vacation responders and ticket systems not to answer automatically
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Receivables-Key"] = rendered.key
    return msg.as_bytes(policy=_WIRE)


def _encoded(text: str) -> str:
    """Header text as RFC 2047 encoded words when it is not ASCII, already folded, so the
    998-column wire policy below leaves it as it is.  Each word carries whole characters of
    at most 45 UTF-8 bytes (72 columns encoded, under the RFC's 75) and ends after a space
    where it can: readers join adjacent encoded words without the folding space, and the
    few lenient ones that keep it then only double a space instead of splitting a word."""
    if text.isascii():
        return text
    words: list[str] = []
    chunk, size = "", 0
    for token in re.split(r"(?<= )", text):
        n = len(token.encode("utf-8"))
        if size + n <= 45:
            chunk, size = chunk + token, size + n
            continue
        if chunk:
            words.append(chunk)
            chunk, size = "", 0
        for char in token:  # a single token longer than a word: split between characters
            c = len(char.encode("utf-8"))
            if size + c > 45:
                words.append(chunk)
                chunk, size = "", 0
            chunk, size = chunk + char, size + c
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words if w)


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    # quopri runs binascii's C encoder; email.mime's own quoted-printable is per character in
    # Python and was a tenth of the time of a message
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quopri.encodestring(text.encode("utf-8")).decode("ascii"))
    return part


def _address(name: str, addr: str) -> str:
    # formataddr quotes an ASCII name with specials ("Acme, Inc."); encoded words need no quotes
    return formataddr((name, addr)) if name.isascii() else f"{_encoded(name)} <{addr}>"


class _WirePolicy(Compat32):
    """compat32 (what ``email.mime`` parts are built for) with CRLF line ends.  A header
    value that is ASCII and already within SMTP's 998-column limit is written as it is:
    compat32 would re-wrap every value through ``Header`` (a third of the build time), and
    our non-ASCII values arrive pre-encoded and folded by ``_encoded``."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isascii():
            unfolded = value.replace("\r\n ", " ")
            if "\r" not in unfolded and "\n" not in unfolded and max(map(len, f"{name}: {value}".split("\r\n"))) <= 998:
                return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_WIRE = _WirePolicy(linesep="\r\n", max_line_length=998)


@dataclass(frozen=True)
class ComposedEmail:
    """A rendered email reduced to what the outbox stores: its row and the compressed
    message.  This is what travels between processes and waits for the publish
    transaction, so a night's emails cost ~10 KB each instead of their text, HTML and
    attachments."""

    key: str
    as_of: date
    notice_id: str
    company_code: str
    customer_id: str
    currency: str
    level: int
    template: str
    language: str
    subject: str
    recipients: str
    reply_to: str
    problem: str | None
    #: zlib-compressed ``message_bytes``; None for an email with a problem
    mime_zlib: bytes | None


def compose(rendered: RenderedEmail) -> ComposedEmail:
    """Build and compress the message of a rendered email for the outbox."""
    return ComposedEmail(
        key=rendered.key,
        as_of=rendered.as_of,
        notice_id=rendered.notice_id,
        company_code=rendered.company_code,
        customer_id=rendered.customer_id,
        currency=rendered.currency,
        level=rendered.level,
        template=rendered.template,
        language=rendered.language,
        subject=rendered.subject,
        recipients=rendered.recipients_text,
        reply_to=rendered.reply_to,
        problem=rendered.problem,
        mime_zlib=None if rendered.problem else zlib.compress(message_bytes(rendered), 6),
    )


# --------------------------------------------------------------------------- statement


def neutralise(value: str) -> str:
    """A text cell made inert for spreadsheets: a leading = + - @ (or tab/CR) gets a quote."""
    if value and (value[0] in _FORMULA_START or value.lstrip()[:1] in _FORMULA_START):
        return "'" + value
    return value


_STATEMENT_COLUMNS = (
    "document_no",
    "document_type",
    "reference",
    "document_date",
    "due_date",
    "days_past_due",
    "currency",
    "amount",
    "open_amount",
    "dunning_level",
)


def _statement_rows(item_rows: list[dict], statement: Any, as_of: date, currency: str) -> list[dict]:
    """The customer's open items (or the notice's items), with the dunned items' levels."""
    dunned = {_text(r.get("document_no")): r for r in item_rows}
    source = _records(statement) or item_rows
    # a dunned item missing from the statement source still belongs on the statement
    listed = {_text(r.get("document_no")) for r in source}
    source = source + [r for doc, r in dunned.items() if doc not in listed]
    rows = []
    for r in source:
        doc = _text(r.get("document_no"))
        due = _as_date(r.get("due_date"))
        item = dunned.get(doc, {})
        open_cents = _cents(item.get("open_amount") if item else r.get("open_amount"))
        rows.append(
            {
                "document_no": doc,
                "document_type": _text(r.get("document_type")),
                "reference": _text(r.get("reference")),
                "document_date": _as_date(r.get("document_date")),
                "due_date": due,
                "days_past_due": max((as_of - due).days, 0) if due else None,
                "currency": _text(r.get("currency")) or currency,
                "amount": None if _missing(r.get("amount")) else _cents(r.get("amount")),
                "open_amount": open_cents,
                "dunning_level": int(item["level"]) if item and not _missing(item.get("level")) else None,
            }
        )
    rows.sort(key=lambda r: (r["due_date"] or date.max, r["document_no"]))
    return rows


def _statement_files(
    rows: list[dict],
    catalog: dict,
    language: str,
    locale: Locale,
    customer_id: str,
    customer_name: str,
    company: Mapping[str, Any],
    as_of: date,
    currency: str,
) -> tuple[Attachment, ...]:
    words = {**catalog["statement"][FALLBACK_LANGUAGE], **catalog["statement"].get(language, {})}
    headings = [words["columns"][c] for c in _STATEMENT_COLUMNS]
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{words['file']}_{customer_id}_{as_of.isoformat()}")
    return (
        (f"{stem}.csv", _statement_csv(rows, headings, locale), CSV_MIMETYPE),
        (
            f"{stem}.xlsx",
            _statement_xlsx(rows, headings, words, customer_id, customer_name, company, as_of, currency),
            XLSX_MIMETYPE,
        ),
    )


def _statement_csv(rows: list[dict], headings: list[str], locale: Locale) -> bytes:
    # Excel opens a CSV with the system's list separator: ";" where the decimal mark is ",".
    decimal_mark = get_decimal_symbol(locale)
    delimiter = ";" if decimal_mark == "," else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headings)
    for r in rows:
        writer.writerow(
            [
                neutralise(r["document_no"]),
                neutralise(r["document_type"]),
                neutralise(r["reference"]),
                r["document_date"].isoformat() if r["document_date"] else "",
                r["due_date"].isoformat() if r["due_date"] else "",
                "" if r["days_past_due"] is None else r["days_past_due"],
                neutralise(r["currency"]),
                # numbers we format ourselves (a credit note's "-119,00") are data, not formulas
                "" if r["amount"] is None else str(to_decimal(r["amount"])).replace(".", decimal_mark),
                str(to_decimal(r["open_amount"])).replace(".", decimal_mark),
                "" if r["dunning_level"] is None else r["dunning_level"],
            ]
        )
    # a BOM so that Excel reads UTF-8 (umlauts, accents) instead of the ANSI code page
    return buffer.getvalue().encode("utf-8-sig")


def _statement_xlsx(
    rows: list[dict],
    headings: list[str],
    words: dict,
    customer_id: str,
    customer_name: str,
    company: Mapping[str, Any],
    as_of: date,
    currency: str,
) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    # strings_to_formulas off: write_string never evaluates; neutralise() covers other apps
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    # a fixed creation time keeps the file byte-identical across reruns of the same as_of
    book.set_properties(
        {
            "title": words["title"],
            "author": str(company["name"]),
            "created": datetime.combine(as_of, datetime.min.time()),
        }
    )
    sheet = book.add_worksheet(words["title"][:31])
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1, "text_wrap": True, "valign": "top"})
    money = book.add_format({"num_format": "#,##0.00"})
    money_bold = book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1})
    day = book.add_format({"num_format": 14})  # the reader's own short date format

    sheet.write_string(0, 0, neutralise(f"{words['title']} – {company['name']}"), title)
    sheet.write_string(1, 0, words["customer"], bold)
    sheet.write_string(1, 1, neutralise(f"{customer_id} {customer_name}"))
    sheet.write_string(2, 0, words["as_of"], bold)
    sheet.write_datetime(2, 1, datetime.combine(as_of, datetime.min.time()), day)
    header_row = 4
    for col, text in enumerate(headings):
        sheet.write_string(header_row, col, text, head)
    for n, r in enumerate(rows, start=header_row + 1):
        for col, key in ((0, "document_no"), (1, "document_type"), (2, "reference"), (6, "currency")):
            if r[key]:
                sheet.write_string(n, col, neutralise(r[key]))
        for col, key in ((3, "document_date"), (4, "due_date")):
            if r[key]:
                sheet.write_datetime(n, col, datetime.combine(r[key], datetime.min.time()), day)
        if r["days_past_due"] is not None:
            sheet.write_number(n, 5, r["days_past_due"])
        if r["amount"] is not None:
            sheet.write_number(n, 7, float(to_decimal(r["amount"])), money)
        sheet.write_number(n, 8, float(to_decimal(r["open_amount"])), money)
        if r["dunning_level"] is not None:
            sheet.write_number(n, 9, r["dunning_level"])
    last = header_row + len(rows)
    # the total is a number we computed in cents, not a formula: exact and inert
    sheet.write_string(last + 1, 7, f"{words['total']} ({currency})", bold)
    sheet.write_number(last + 1, 8, float(to_decimal(sum(r["open_amount"] for r in rows))), money_bold)
    sheet.freeze_panes(header_row + 1, 0)
    sheet.autofilter(header_row, 0, max(last, header_row + 1), len(headings) - 1)
    for col, width in enumerate((16, 8, 22, 13, 13, 10, 8, 15, 15, 10)):
        sheet.set_column(col, col, width)
    book.close()
    return buffer.getvalue()


# --------------------------------------------------------------------------- small pure parts


def _recipients(raw: str, customer_id: str) -> tuple[list[str], str | None]:
    """The customer's addresses from the ';'-separated master-data value, or why not."""
    raw = raw.strip()
    if not raw:
        return [], f"Customer {customer_id} has no email address."
    if _CONTROL.search(raw):
        return (
            [],
            f"The email address of customer {customer_id} contains a line break or control character: {_visible(raw)}.",
        )
    seen: list[str] = []
    for part in re.split(r"[;,]", raw):
        addr = part.strip()
        if not addr:
            continue
        problem = _address_problem(addr)
        if problem:
            return [], f"The email address {_visible(addr)} of customer {customer_id} {problem}."
        if addr.lower() not in (s.lower() for s in seen):
            seen.append(addr)
    if not seen:
        return [], f"Customer {customer_id} has no email address."
    return seen, None


def _address_problem(addr: str) -> str | None:
    if _CONTROL.search(addr):
        return "contains a line break or control character"
    if not _ADDRESS.match(addr):
        return "is not a plain email address"
    try:
        Address(addr_spec=addr)
    except (ValueError, TypeError, IndexError) as exc:
        return f"is not a valid email address ({type(exc).__name__})"
    return None


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{domain!r} is not a usable domain") from exc
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain):
        raise ValueError(f"{domain!r} is not a usable domain")
    return domain


def _collector(customer: Mapping[str, Any], company: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, str]:
    """Reply-To: the customer's collector when their mailbox is known, else the team mailbox."""
    name = _text(customer.get("collector"))
    if name and _CONTROL.search(name):
        name = ""
    collectors = company.get("collectors") or {}
    if name and not _address_problem(name):
        return name, name
    if name and name in collectors:
        return name, str(collectors[name])
    return (name or labels["team"]), str(company["collections_email"])


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


def _has_templates(template_dir: TemplateDirs, template: str, language: str) -> bool:
    names = set(_html_env(template_dir).list_templates())
    return {f"{template}.{language}.html.j2", f"{template}.{language}.txt.j2"} <= names


def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[dict]:
    if rows is None:
        return []
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    return [dict(r) for r in rows]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _first(*values: Any) -> Any:
    for v in values:
        if not _missing(v) and str(v).strip():
            return v
    return None


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value).strip()


def _int_text(value: Any) -> str:
    return "" if _missing(value) else str(int(value))


def _cents(value: Any) -> int:
    """Money from a frame cell: integer cents; a blank is zero, a fraction of a cent is a bug."""
    if _missing(value):
        return 0
    if isinstance(value, Decimal) or isinstance(value, float):
        if value != int(value):
            raise ValueError(f"money must be integer cents, got {value!r}")
    return int(value)


def _as_date(value: Any) -> date | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return pd.Timestamp(str(value)).date()


def _visible(value: str, limit: int = 200) -> str:
    """The value with control characters shown as escapes, for error columns and logs."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
