"""Reminder rendering: the customer's language and locale, exact totals, a real text part,
escaping, header safety, the statement attachments, keys and Message-IDs."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import date
from email import message_from_bytes, policy
from email.header import decode_header, make_header

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.errors import ConfigError
from receivables.reminders import (
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    compose,
    compose_notices,
    idempotency_key,
    load_companies,
    make_message_id,
    message_bytes,
    neutralise,
    render_notices,
    render_reminder,
)

AS_OF = date(2026, 10, 31)
COMPANIES = load_companies()

CUSTOMERS = {
    "C001": {
        "customer_id": "C001",
        "name": "Müller & Söhne GmbH",
        "email": "buchhaltung@mueller-soehne.de",
        "language": "de",
        "country": "DE",
        "currency": "EUR",
        "collector": "Anna Schmidt",
        "company_code": "1000",
    },
    "C002": {
        "customer_id": "C002",
        "name": "Café Peñalver S.L.",
        "email": "pagos@penalver.es",
        "language": "es",
        "country": "ES",
        "currency": "EUR",
        "collector": "Lucía Gómez",
        "company_code": "2000",
    },
    "C003": {
        "customer_id": "C003",
        "name": "Acme Supply Inc.",
        "email": "ap@acme-supply.com;controller@acme-supply.com",
        "language": "en",
        "country": "US",
        "currency": "USD",
        "collector": "John Miller",
        "company_code": "3000",
    },
}


def notice_for(
    customer_id: str,
    *,
    template: str = "reminder_1",
    level: int = 1,
    overdue: int = 123456,
    fees: int = 0,
    interest: int = 0,
    **extra,
) -> dict:
    c = CUSTOMERS[customer_id]
    return {
        "notice_id": f"N-{c['company_code']}-{customer_id}",
        "company_code": c["company_code"],
        "customer_id": customer_id,
        "currency": c["currency"],
        "level": level,
        "overdue_amount": overdue,
        "fees": fees,
        "interest": interest,
        "action": "email",
        "policy": "STANDARD",
        "template": template,
        "language": c["language"],
        **extra,
    }


def items_for(notice: dict, *amounts: int) -> pd.DataFrame:
    rows = []
    for n, cents in enumerate(amounts or (notice["overdue_amount"],)):
        rows.append(
            {
                "notice_id": notice["notice_id"],
                "company_code": notice["company_code"],
                "document_no": f"90000{n:05d}",
                "customer_id": notice["customer_id"],
                "previous_level": notice["level"] - 1,
                "level": notice["level"],
                "days_past_due": 61 - n,
                "open_amount": cents,
                "interest": 0,
                "fee": 0,
                "document_date": pd.Timestamp("2026-08-01"),
                "due_date": pd.Timestamp("2026-08-31") + pd.Timedelta(days=n),
                "reference": f"RF18{n:04d}",
            }
        )
    return pd.DataFrame(rows)


def render(customer_id: str, customer: dict | None = None, items: pd.DataFrame | None = None, **notice_kw):
    notice = notice_for(customer_id, **notice_kw)
    customer = customer or CUSTOMERS[customer_id]
    return render_reminder(
        notice, items if items is not None else items_for(notice), customer, COMPANIES[notice["company_code"]], AS_OF
    )


def test_german_customer_reads_german_with_german_formats() -> None:
    email = render("C001")
    assert email.language == "de" and email.locale == "de_DE"
    assert email.subject.startswith("Zahlungserinnerung – Kundennummer C001")
    for part in (email.text, email.html):
        assert "1.234,56\u00a0€" in part  # CLDR de_DE: "1.234,56 €" with a no-break space
        assert "31.08.2026" in part
        assert "10.\u00a0November\u00a02026" in part  # pay by: as_of + 10 days, long format
        assert "DE94 5007 0010 0123 4567 89" in part
    assert "Sehr geehrte Damen und Herren," in email.text
    assert "Mit freundlichen Grüßen" in email.text
    assert '<html lang="de">' in email.html
    assert (email.reply_to_name, email.reply_to_address) == ("Anna Schmidt", "anna.schmidt@nordwerk.example")


def test_spanish_customer_reads_spanish() -> None:
    email = render("C002", overdue=84520)
    assert email.language == "es" and email.locale == "es_ES"
    assert email.subject.startswith("Recordatorio de pago – cliente n.º C002")
    assert "Estimados señores:" in email.text and "Atentamente," in email.text
    assert "845,20\u00a0€" in email.text and "845,20\u00a0€" in email.html
    assert "10\u00a0de\u00a0noviembre\u00a0de\u00a02026" in email.text
    assert "ES06 0049 1500 0327 1012 3456" in email.text
    assert "Sehr geehrte" not in email.text and "Dear" not in email.text


def test_english_customer_in_the_us_reads_dollars_and_ach_details() -> None:
    email = render("C003", overdue=2225075)
    assert email.locale == "en_US"
    assert "$22,250.75" in email.text and "$22,250.75" in email.html
    assert "Aug 31, 2026" in email.text
    assert "ACH routing number: 021000021" in email.text
    assert "IBAN" not in email.text
    assert email.recipients == ("ap@acme-supply.com", "controller@acme-supply.com")


@pytest.mark.parametrize("language", ["fr", "", None, "xx-YY", "!!"])
def test_unknown_or_missing_language_falls_back_to_english(language) -> None:
    customer = {**CUSTOMERS["C001"], "language": language, "country": "FR"}
    email = render("C001", customer=customer, language=language)
    assert email.language == "en"
    assert email.subject.startswith("Payment reminder – customer no. C001")
    assert "Dear Sir or Madam," in email.text
    assert "Sehr geehrte" not in email.text


def test_language_tag_with_region_selects_the_regional_locale() -> None:
    customer = {**CUSTOMERS["C001"], "language": "de-AT", "country": "AT"}
    email = render("C001", customer=customer, language=None)
    assert email.language == "de" and email.locale == "de_AT"
    assert "€\u00a01.234,56" in email.text  # Austrian placement of the currency sign


def test_html_is_autoescaped_and_text_is_literal() -> None:
    evil = "<script>alert(1)</script> GmbH"
    email = render("C001", customer={**CUSTOMERS["C001"], "name": evil})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; GmbH" in email.html
    assert "<script>" not in email.html
    assert evil in email.text
    # in the header the name is a quoted display name, not markup and not a second address
    to = message_from_bytes(message_bytes(email), policy=policy.default)["To"]
    assert [(a.display_name, a.addr_spec) for a in to.addresses] == [(evil, "buchhaltung@mueller-soehne.de")]


def test_text_part_is_real_text_not_html() -> None:
    email = render("C001", template="reminder_2", level=2, fees=500, interest=321)
    assert not re.search(r"</?[A-Za-z][^>]*>", email.text)
    assert "&amp;" not in email.text and "&nbsp;" not in email.text and "&#" not in email.text
    assert "Müller & Söhne GmbH" in email.text
    assert "Müller &amp; Söhne GmbH" in email.html
    assert all(len(line) <= 80 for line in email.text.splitlines() if not line.startswith("Diese E-Mail"))
    assert "\n\n\n" not in email.text


def test_totals_fees_and_interest_to_the_cent() -> None:
    notice = notice_for("C001", template="final_notice", level=3, overdue=123456, fees=4000, interest=1234)
    items = items_for(notice, 100000, 23456)
    email = render_reminder(notice, items, CUSTOMERS["C001"], COMPANIES["1000"], AS_OF)
    for part in (email.text, email.html):
        assert "1.000,00\u00a0€" in part and "234,56\u00a0€" in part  # the item lines
        assert "1.234,56\u00a0€" in part  # overdue amount
        assert "12,34\u00a0€" in part  # interest
        assert "40,00\u00a0€" in part  # fees
        assert "1.286,90\u00a0€" in part  # 1234.56 + 12.34 + 40.00
    assert "Verzugszinsen: 12,34\u00a0€" in email.text
    assert "Gebühren (inkl. Verzugspauschale): 40,00\u00a0€" in email.text
    assert "Zu zahlender Gesamtbetrag: 1.286,90\u00a0€" in email.text
    # the final notice names the legal basis of the compensation for an EU company
    assert "2011/7/EU" in email.text and "§ 288 BGB" in email.text
    assert email.subject.startswith("Letzte Mahnung")


def test_credits_netted_by_dunning_reduce_the_amount_due() -> None:
    email = render("C001", template="reminder_2", level=2, overdue=119000, credit_amount=-11900, fees=500)
    assert "Überfälliger Betrag: 1.190,00\u00a0€" in email.text
    assert "Ihre Gutschriften: -119,00\u00a0€" in email.text
    assert "Zu zahlender Gesamtbetrag: 1.076,00\u00a0€" in email.text  # 1190.00 - 119.00 + 5.00
    assert "-119,00\u00a0€" in email.html and "1.076,00\u00a0€" in email.html


def test_no_fee_or_interest_lines_when_there_are_none() -> None:
    email = render("C001")
    assert "Verzugszinsen" not in email.text and "Gebühren" not in email.text and "Gutschriften" not in email.text
    us = render("C003", template="final_notice", level=3, fees=2500, interest=0)
    assert "2011/7/EU" not in us.text and "Fees: $25.00" in us.text


def test_every_template_renders_in_every_language() -> None:
    for template in ("reminder_1", "reminder_2", "final_notice"):
        for customer_id in ("C001", "C002", "C003"):
            for language in ("en", "de", "es"):
                customer = {**CUSTOMERS[customer_id], "language": language}
                email = render(
                    customer_id,
                    customer=customer,
                    template=template,
                    level=2,
                    fees=4000,
                    interest=99,
                    language=language,
                )
                assert email.language == language
                assert email.subject and "{{" not in email.subject + email.text + email.html
                assert email.problem is None


def test_unknown_template_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="reminder_9"):
        render("C001", template="reminder_9")


def test_statement_attachments_are_present_and_formula_cells_neutralised() -> None:
    notice = notice_for("C001", overdue=107100)
    items = items_for(notice, 119000, -11900)
    items.loc[0, "reference"] = '=HYPERLINK("http://evil.example","x")'
    items.loc[1, "document_no"] = "@SUM(A1:A9)"
    items.loc[1, "document_type"] = "CRN"
    email = render_reminder(notice, items, CUSTOMERS["C001"], COMPANIES["1000"], AS_OF)
    names = [(name, mimetype) for name, _, mimetype in email.attachments]
    assert names == [
        ("Kontoauszug_C001_2026-10-31.csv", CSV_MIMETYPE),
        ("Kontoauszug_C001_2026-10-31.xlsx", XLSX_MIMETYPE),
    ]

    csv_bytes, xlsx_bytes = email.attachments[0][1], email.attachments[1][1]
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Beleg", "Belegart", "Referenz"]
    by_doc = {r[0]: r for r in rows[1:]}
    assert by_doc["9000000000"][2] == '\'=HYPERLINK("http://evil.example","x")'
    assert "'@SUM(A1:A9)" in by_doc
    assert by_doc["9000000000"][8] == "1190,00"
    assert by_doc["'@SUM(A1:A9)"][8] == "-119,00"  # a number we wrote: not a formula, not quoted
    assert "(Gutschrift)" in email.text  # the credit note is marked in the letter

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://evil.example","x")' in texts and "'@SUM(A1:A9)" in texts
    assert not [t for t in texts if t[0] in "=+-@"]
    numbers = [c.value for c in cells if isinstance(c.value, (int, float))]
    assert 1190.0 in numbers and -119.0 in numbers and 1071.0 in numbers  # the total row


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+49 40 1234", "'+49 40 1234"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        (" =1", "' =1"),
        ("RF18 0001", "RF18 0001"),
        ("", ""),
    ],
)
def test_neutralise(value: str, expected: str) -> None:
    assert neutralise(value) == expected


def test_statement_lists_the_customers_open_items() -> None:
    notice = notice_for("C001", overdue=119000)
    items = items_for(notice, 119000)[
        [
            "notice_id",
            "company_code",
            "document_no",
            "customer_id",
            "previous_level",
            "level",
            "days_past_due",
            "open_amount",
            "interest",
            "fee",
        ]
    ]
    open_items = pd.DataFrame(
        [
            {
                "company_code": "1000",
                "document_no": "9000000000",
                "document_type": "INV",
                "customer_id": "C001",
                "document_date": pd.Timestamp("2026-08-01"),
                "due_date": pd.Timestamp("2026-08-31"),
                "currency": "EUR",
                "amount": 119000,
                "open_amount": 119000,
                "reference": "RF18539007547034",
            },
            {
                "company_code": "1000",
                "document_no": "9000000099",
                "document_type": "INV",
                "customer_id": "C001",
                "document_date": pd.Timestamp("2026-10-20"),
                "due_date": pd.Timestamp("2026-11-19"),
                "currency": "EUR",
                "amount": 50000,
                "open_amount": 50000,
                "reference": None,
            },
            {
                "company_code": "2000",
                "document_no": "F-1",
                "document_type": "INV",
                "customer_id": "C002",
                "document_date": pd.Timestamp("2026-07-01"),
                "due_date": pd.Timestamp("2026-08-15"),
                "currency": "EUR",
                "amount": 84520,
                "open_amount": 84520,
                "reference": None,
            },
        ]
    )
    notices = pd.DataFrame([notice, {**notice_for("C002"), "action": "call_task"}])
    customers = pd.DataFrame(list(CUSTOMERS.values()))
    emails = render_notices(notices, items, customers, open_items, AS_OF, companies=COMPANIES)
    assert [e.customer_id for e in emails] == ["C001"]  # only action == 'email'
    email = emails[0]
    # the letter lists the dunned item, with the document details joined from open_items
    assert "RF18539007547034" in email.text and "01.08.2026" in email.text
    assert "9000000099" not in email.text
    # the statement lists every open item of the customer in that company and currency
    rows = list(csv.reader(io.StringIO(email.attachments[0][1].decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["9000000000", "9000000099"]
    assert rows[1][9] == "1" and rows[2][9] == ""  # dunning level only on the dunned item


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("email", "ap@acme.example\r\nBcc: victim@evil.example", "line break or control character"),
        ("email", "ap@acme.example\nX-Injected: yes", "line break or control character"),
        ("email", "ap@acme.example\u2028Bcc: victim@evil.example", "line break or control character"),
        ("email", "Boss <boss@evil.example>", "not a plain email address"),
        ("email", "not an address", "not a plain email address"),
        ("email", None, "has no email address"),
        ("email", " ; ", "has no email address"),
        ("name", "Evil GmbH\r\nBcc: victim@evil.example", "name of customer"),
    ],
)
def test_header_values_with_line_breaks_are_rejected(field: str, value, reason: str) -> None:
    email = render("C001", customer={**CUSTOMERS["C001"], field: value})
    assert email.problem and reason in email.problem
    assert email.recipients == ()
    assert "\r" not in email.problem and "\n" not in email.problem  # shown escaped
    with pytest.raises(ValueError):
        message_bytes(email)


def test_message_is_multipart_alternative_with_attachments_and_deterministic() -> None:
    first, second = message_bytes(render("C001")), message_bytes(render("C001"))
    assert first == second  # a rerun renders byte-identical content
    msg = message_from_bytes(first, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    alternative = msg.get_payload()[0]
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert "Sehr geehrte Damen und Herren" in msg.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in msg.iter_attachments()] == [
        "Kontoauszug_C001_2026-10-31.csv",
        "Kontoauszug_C001_2026-10-31.xlsx",
    ]
    assert msg["Reply-To"].addresses[0].addr_spec == "anna.schmidt@nordwerk.example"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] is None and msg["Date"] is None  # added when it is sent


def test_non_ascii_names_and_subjects_survive_the_wire_format() -> None:
    """Umlauts and accents in display names, subject and body reach the reader intact,
    and no line of the message exceeds SMTP's 998-character limit."""
    customer = {**CUSTOMERS["C001"], "email": ";".join(f"buchhaltung{n}@mueller-soehne.de" for n in range(12))}
    email = render("C001", customer=customer)
    raw = message_bytes(email)
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    msg = message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]) == email.subject and "Zahlungserinnerung" in email.subject
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Müller & Söhne GmbH", f"buchhaltung{n}@mueller-soehne.de") for n in range(12)
    ]
    # a long name with multi-byte characters: RFC 2047 words of at most 75 characters
    long_name = (
        "Ölmühle Größenwahn 🚜 Ärztebedarf & Söhne Kommanditgesellschaft — Zweigniederlassung Süd " * 2
        + "Überlänge" * 9
    )
    raw = message_bytes(render("C001", customer={**CUSTOMERS["C001"], "name": long_name}))
    assert all(len(word) <= 75 for word in re.findall(rb"=\?utf-8\?b\?[^?]*\?=", raw))
    subject = message_from_bytes(raw, policy=policy.default)["Subject"]
    # Python's address parser keeps the folding space between encoded words (RFC 2047 says
    # to drop it); words end after a space, so at worst a space doubles
    shown = message_from_bytes(raw, policy=policy.default)["To"].addresses[0].display_name
    assert "".join(shown.split()) == "".join(long_name.split()) and str(subject) == email.subject
    # an RFC 2047 decoder gets the name back exactly
    to_value = message_from_bytes(raw, policy=policy.compat32)["To"]
    assert str(make_header(decode_header(to_value))).startswith(long_name.rstrip())
    assert msg["From"].addresses[0].display_name == COMPANIES["1000"]["name"]
    assert msg["Reply-To"].addresses[0].display_name == "Anna Schmidt"
    assert msg["Content-Language"] == "de" and msg["X-Receivables-Key"] == email.key
    # the wire's CRLF line ends are the canonical form of text parts
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == email.text
    assert msg.get_body(("html",)).get_content().replace("\r\n", "\n") == email.html
    assert [a.get_payload(decode=True) for a in msg.iter_attachments()] == [
        content for _, content, _ in email.attachments
    ]
    assert (
        msg.get_payload()[1].get_content_type() == "text/csv" and msg.get_payload()[1].get_content_charset() == "utf-8"
    )


def test_message_refuses_header_values_that_slipped_past_rendering() -> None:
    """A second line of defence: even a RenderedEmail built by hand cannot smuggle a header."""
    email = render("C001")
    for change in (
        {"subject": "Hi\r\nBcc: victim@evil.example"},
        {"to_name": "X\nBcc: v@evil.example"},
        {"recipients": ("a@b.example\r\nBcc: v@evil.example",)},
        {"recipients": ("Boss <boss@evil.example>",)},
        {"recipients": ()},
    ):
        with pytest.raises(ValueError):
            message_bytes(dataclasses.replace(email, **change))


def test_composing_on_several_processes_gives_the_same_emails(monkeypatch) -> None:
    """The process pool is an implementation detail: same emails, same bytes, same order."""
    import receivables.reminders as reminders

    notices, items = [], []
    customers = []
    for n in range(9):
        cid = f"C1{n:02d}"
        customers.append({**CUSTOMERS["C001"], "customer_id": cid, "name": f"Kunde {n} GmbH"})
        notice = {**notice_for("C001"), "customer_id": cid, "notice_id": f"N-{n}", "overdue_amount": 1000 + n}
        notices.append(notice)
        items.append(items_for(notice, 1000 + n).assign(customer_id=cid))
    notices_frame, items_frame = pd.DataFrame(notices), pd.concat(items, ignore_index=True)
    customers_frame = pd.DataFrame(customers)
    alone = compose_notices(notices_frame, items_frame, customers_frame, None, AS_OF)
    monkeypatch.setattr(reminders.batch, "POOL_THRESHOLD", 1)  # the module that reads them
    monkeypatch.setattr(reminders.batch, "POOL_CHUNK", 2)
    pooled = compose_notices(notices_frame, items_frame, customers_frame, None, AS_OF, workers=2)
    assert [e.notice_id for e in pooled] == [f"N-{n}" for n in range(9)]
    assert pooled == alone
    rendered = render_notices(notices_frame, items_frame, customers_frame, None, AS_OF)
    assert [compose(r) for r in rendered] == alone


def test_idempotency_key_identifies_the_letter_of_the_day() -> None:
    notice = notice_for("C001", level=2)
    key = idempotency_key(notice, AS_OF)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert idempotency_key(notice, "2026-10-31") == key
    assert idempotency_key({**notice, "as_of": AS_OF}) == key
    # a rerun with another notice id or corrected amounts is the same letter
    assert idempotency_key({**notice, "notice_id": "other", "overdue_amount": 1, "fees": 9}, AS_OF) == key
    for change in ({"level": 3}, {"currency": "USD"}, {"customer_id": "C0010"}, {"company_code": "2000"}):
        assert idempotency_key({**notice, **change}, AS_OF) != key
    assert idempotency_key(notice, date(2026, 11, 1)) != key
    assert render("C001", level=2).key == key


def test_message_id_is_unique_per_key_and_stable() -> None:
    a, b = idempotency_key(notice_for("C001"), AS_OF), idempotency_key(notice_for("C002"), AS_OF)
    assert make_message_id(a, "nordwerk.example") == f"<{a}@nordwerk.example>"
    assert make_message_id(a, "nordwerk.example") == make_message_id(a, "nordwerk.example")
    assert make_message_id(a, "nordwerk.example") != make_message_id(b, "nordwerk.example")
    assert make_message_id(a, "nordwerk.example", "redirect") == f"<{a}.redirect@nordwerk.example>"
    assert make_message_id(a, "bücher.example").endswith("@xn--bcher-kva.example>")
    for bad_domain in ("evil.example>\r\nBcc: x", "a b.example", ""):
        with pytest.raises(ValueError):
            make_message_id(a, bad_domain)
    with pytest.raises(ValueError):
        make_message_id("not-a-key", "nordwerk.example")


def test_renders_the_dunning_engines_proposal(tmp_path) -> None:
    """The contract with stage 4: a real DunningProposal renders one email per 'email' notice."""
    dunning = pytest.importorskip("receivables.dunning")
    from babel.numbers import format_currency

    from receivables.extracts import read_extract_set
    from receivables.mappings import load_mapping
    from receivables.money import to_decimal
    from tests.conftest import VALID_SET, write_set

    as_of = date(2026, 12, 15)
    frames = read_extract_set(str(write_set(tmp_path / "x", VALID_SET)), load_mapping("canonical"), as_of=as_of).frames
    proposal = dunning.propose_dunning(
        frames["open_items"],
        frames["customers"],
        frames.get("disputes"),
        frames.get("promises"),
        None,
        dunning.load_dunning_policies(),
        as_of,
    )
    emails = render_notices(proposal.notices, proposal.items, frames["customers"], frames["open_items"], as_of)
    emailed = proposal.notices[proposal.notices["action"] == "email"]
    assert sorted(e.notice_id for e in emails) == sorted(emailed["notice_id"]) and emails
    languages = dict(zip(frames["customers"]["customer_id"], frames["customers"]["language"]))
    for email, notice in zip(emails, emailed.to_dict("records")):
        assert email.problem is None and email.language == languages[email.customer_id]
        due = notice["overdue_amount"] + notice["credit_amount"] + notice["fees"] + notice["interest"]
        assert format_currency(to_decimal(due), notice["currency"], locale=email.locale) in email.text


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"name": "Ölmühle Größenwahn 🚜 & Söhne — Zweigniederlassung Süd " * 3},
        {"email": ";".join(f"buchhaltung{n}@mueller-soehne.de" for n in range(12))},
        {"customer_id": "C001", "name": 'Acme, "Quoted" Inc.'},
    ],
)
def test_the_message_is_the_email_librarys_own_bytes(change: dict, monkeypatch) -> None:
    """The message is written without ``email.mime`` and ``email.generator``
    (receivables.reminders.mime): byte for byte what ``as_bytes`` writes for the same parts."""
    from receivables.reminders import mime

    email = render("C001", customer={**CUSTOMERS["C001"], **change})
    fast = message_bytes(email)
    monkeypatch.setattr(mime, "_written", lambda *args: None)
    monkeypatch.setattr(mime, "_flatten", lambda msg: msg.as_bytes(policy=mime._WIRE))
    assert fast == message_bytes(email)


header_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=120)
body_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
attachments = st.lists(
    st.tuples(
        st.one_of(st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True), st.text(max_size=20)),
        st.binary(max_size=600),
        st.sampled_from([CSV_MIMETYPE, "application/pdf", XLSX_MIMETYPE]),
    ),
    max_size=3,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subject=header_text, to_name=header_text, from_name=header_text, text=body_text, html=body_text, files=attachments
)
def test_any_message_is_written_as_the_email_library_writes_it(
    subject: str, to_name: str, from_name: str, text: str, html: str, files: list, monkeypatch
) -> None:
    """Whatever the names, subject, parts and files, the message written as text is the
    message ``email.mime`` builds and ``as_bytes`` writes."""
    from receivables.reminders import mime

    email = dataclasses.replace(
        render("C001"), subject=subject, to_name=to_name, from_name=from_name, reply_to_name=to_name,
        text=text, html=html, attachments=tuple(files),
    )  # fmt: skip
    if email.problem is None and not any(mime._CONTROL.search(v) for v in (subject, to_name, from_name)):
        fast = message_bytes(email)
        with monkeypatch.context() as m:
            m.setattr(mime, "_written", lambda *args: None)
            m.setattr(mime, "_flatten", lambda msg: msg.as_bytes(policy=mime._WIRE))
            assert fast == message_bytes(email)
