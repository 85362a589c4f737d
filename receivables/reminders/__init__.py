"""Reminder emails: a notice of the dunning proposal rendered as the letter its customer reads.

Pure functions only: nothing here talks to SMTP, the file system (other than reading the
templates and ``companies.yaml`` of the configuration folder) or the warehouse; ``receivables.outbox`` does that.

The package, from the bottom up: ``cells`` reads values out of extract rows, ``recipients``
checks what may become a header, ``keys`` names a letter, ``companies`` and ``templates`` load
the configuration, ``statement`` builds the attached statement of account, ``render`` writes
one letter, ``mime`` turns it into a message, and ``batch`` does a night's letters.
``plan_courtesy`` writes the friendly note before a payment plan's instalment.
"""

from __future__ import annotations

from receivables.reminders.batch import (
    POOL_CHUNK,
    POOL_THRESHOLD,
    compose_notices,
    compose_tasks,
    emailed_count,
    notice_tasks,
    render_notices,
)
from receivables.reminders.companies import Companies, load_companies, read_companies
from receivables.reminders.keys import KEY_VERSION, idempotency_key, make_message_id
from receivables.reminders.mime import ComposedEmail, compose, message_bytes
from receivables.reminders.plan_courtesy import (
    PLAN_TEMPLATE,
    instalments_due_soon,
    plan_courtesy_emails,
    plan_courtesy_key,
)
from receivables.reminders.render import EU_COMPENSATION_CENTS, RenderedEmail, render_reminder
from receivables.reminders.statement import CSV_MIMETYPE, XLSX_MIMETYPE, Attachment, neutralise
from receivables.reminders.templates import FALLBACK_LANGUAGE, TemplateDirs, template_dirs

__all__ = [
    "CSV_MIMETYPE",
    "EU_COMPENSATION_CENTS",
    "FALLBACK_LANGUAGE",
    "KEY_VERSION",
    "PLAN_TEMPLATE",
    "POOL_CHUNK",
    "POOL_THRESHOLD",
    "XLSX_MIMETYPE",
    "Attachment",
    "ComposedEmail",
    "RenderedEmail",
    "TemplateDirs",
    "compose",
    "compose_notices",
    "compose_tasks",
    "emailed_count",
    "notice_tasks",
    "idempotency_key",
    "instalments_due_soon",
    "load_companies",
    "read_companies",
    "Companies",
    "make_message_id",
    "message_bytes",
    "neutralise",
    "plan_courtesy_emails",
    "plan_courtesy_key",
    "render_notices",
    "render_reminder",
    "template_dirs",
]
