"""Remittance texts: what a customer writes on a payment, as the bank delivers it.

Cash application reads document numbers out of free text, so the text has to be as untidy as
the real thing: German, Spanish or English phrasing, document numbers with their case, dashes
and leading zeros varied, RF references with and without spaces, PO numbers in several styles,
lists joined in every way people join them, notes about discounts and bank fees, numbers that
are not document numbers (a date, the amount, the customer number), odd capitalisation and
doubled spaces, cut to the 140 characters of a bank line.  ``{x}`` in a template is one quoted
document, ``{l}`` a list and ``{c}`` a credit note.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from receivables.synthetic.open_items import _INV, _REF_NONE, _REF_PO, _REF_RF, _Items
from receivables.synthetic.payment_scenarios import _Draft

_SINGLE_TEXT = {
    "de": (
        "RE {x}",
        "Rechnung {x}",
        "Rechnung Nr. {x}",
        "Re.-Nr. {x}",
        "RG-NR. {x}",
        "{x}",
        "Zahlung RE {x}",
        "EREF+{x} SVWZ+RE {x}",
    ),
    "es": ("Factura {x}", "FRA. {x}", "Pago factura {x}", "N/Fra {x}", "{x}", "PAGO FRA {x}", "Fact. {x}"),
    "en": ("{x}", "Invoice {x}", "Payment {x}", "Inv {x}", "Payment for invoice {x}", "Ref {x}"),
}
_REF_TEXT = {
    "de": ("{x}", "Verwendungszweck {x}", "Zahlung {x}"),
    "es": ("{x}", "Ref. {x}", "Pago {x}"),
    "en": ("{x}", "Ref {x}", "Payment {x}"),
}
_MULTI_TEXT = {
    "de": ("RE {l}", "Rechnungen {l}", "Sammelzahlung {l}", "RG {l}"),
    "es": ("Facturas {l}", "Pago fras. {l}", "FRAS {l}"),
    "en": ("Invoices {l}", "INV {l}", "Payment for invoices {l}"),
}
_MULTI_CREDIT_TEXT = {
    "de": ("Rechnung Nr. {l} abzgl. Gutschrift {c}", "RE {l} abzgl. GS {c}", "Re. {l} ./. Gutschrift {c}"),
    "es": ("Facturas {l} menos abono {c}", "Fras. {l} - abono {c}"),
    "en": ("Invoices {l} less credit memo {c}", "inv {l} less CM {c}"),
}
_LIST_JOINERS = (", ", " / ", ";", " ", ",")
_LAST_JOINER = {"de": " und ", "es": " y ", "en": " and "}
_DISCOUNT_NOTE = {"de": "abzgl. {p}% Skonto", "es": "dto. pronto pago {p}%", "en": "less {p}% discount"}
_SHORT_NOTE = {"de": "abzgl. Bankspesen", "es": "gastos bancarios", "en": "less bank fees"}
_PARTIAL_TEXT = {
    "de": ("Teilzahlung {s}", "Abschlag {s}", "{s} Teilzahlung"),
    "es": ("Pago parcial {s}", "A cuenta {s}", "{s} pago a cuenta"),
    "en": ("Partial payment {s}", "{s} part payment", "On account {s}"),
}
_NO_REFERENCE_TEXT = {
    "de": (
        "",
        "Zahlung",
        "Überweisung",
        "UEBERWEISUNG",
        "Rechnungsausgleich",
        "Ausgleich offene Posten",
        "Zahlung lt. Avis",
    ),
    "es": ("", "Transferencia", "PAGO PROVEEDORES", "Pago", "Pago según aviso", "TRANSFERENCIA RECIBIDA"),
    "en": ("", "ACH PAYMENT", "VENDOR PAYMENT", "Payment", "Remittance advice to follow", "WIRE TRANSFER"),
}
_UNKNOWN_TEXT = {
    "de": ("", "Zahlung", "Erstattung", "Kaution", "Bestellung online", "Mitgliedsbeitrag 2026"),
    "es": ("", "Transferencia", "Devolución", "Reserva", "Pago pedido web"),
    "en": ("", "Payment", "Refund", "Deposit", "Online order"),
}
_NOISE = {
    "de": ("vom {d}", "Betrag {a} EUR", "Kd-Nr. {k}"),
    "es": ("de fecha {d}", "importe {a}", "cliente {k}"),
    "en": ("dated {d}", "amount {a}", "cust {k}"),
}

_PO_STYLES = {
    "de": ("PO {}", "PO-Nr. {}", "Bestellnr. {}", "PO{}"),
    "es": ("Pedido {}", "PO {}", "N/Pedido {}", "PO{}"),
    "en": ("PO {}", "PO{}", "P.O. {}", "PO# {}"),
}


def _quote_document(items: _Items, row: int, u: float, allow_reference: bool, language: str = "en") -> str:
    """How a customer writes a document in the remittance text (case, spacing, zeros vary)."""
    kind = int(items.ref_kind[row])
    if allow_reference and kind == _REF_RF and u < 0.5:
        rf = items.ref_text[row]
        return (rf, rf.replace(" ", ""), rf.replace(" ", "").lower())[int(u * 6) % 3]
    if allow_reference and kind == _REF_PO and u < 0.3:
        number = items.ref_text[row][3:]
        return _PO_STYLES[language][int(u * 20) % 4].format(number)
    doc = items.document_no[row]
    company = int(items.company[row])
    v = int(u * 1000) % 5
    if company == 0:
        return doc
    if company == 1:
        return (doc, doc.replace("-", ""), doc.replace("-", " "), doc.lower(), doc)[v]
    k = int(items.counter[row])
    return (doc, f"INV {k}", f"INV{k:06d}", f"inv-{k}", f"INV#{k}")[v]


def _pick_text(options: Sequence[str], x: float) -> str:
    return options[int(x * len(options)) % len(options)]


def _remittance(d: _Draft, items: _Items, language: str, customer_id: str, value_date: int, r: np.ndarray) -> str:
    """The remittance text of one payment; ``r`` holds its uniform draws."""
    scenario = d.scenario
    if scenario == "unidentified_unknown":
        return _pick_text(_UNKNOWN_TEXT[language], r[3])
    if not d.items or scenario in ("exact_amount", "combination"):
        text = _pick_text(_NO_REFERENCE_TEXT[language], r[3])
    elif scenario == "multi_reference":
        text = _multi_reference_text(d, items, language, r)
    else:
        text = _single_reference_text(d, items, language, r)
    if r[8] < 0.12:
        # numbers that are not document numbers: a date, the amount, the customer number
        text = f"{text} {_noise(d.amount, language, customer_id, value_date, r)}".strip()
    if r[7] < 0.12:
        text = text.lower()
    elif r[7] > 0.92:
        text = text.upper()
    if r[9] < 0.08:
        text = text.replace(" ", "  ", 1) + " "  # bank formats pad and double spaces
    return text[:140]


def _multi_reference_text(d: _Draft, items: _Items, language: str, r: np.ndarray) -> str:
    """Several invoices listed, less a credit note when the payment nets one."""
    invoices = [i for i in d.items if items.doc_type[i] == _INV]
    credits = [i for i in d.items if items.doc_type[i] != _INV]
    quoted = [_quote_document(items, i, r[4], allow_reference=False) for i in invoices]
    joiner = _pick_text(_LIST_JOINERS, r[5])
    listed = (
        joiner.join(quoted)
        if r[6] < 0.7 or len(quoted) < 2
        else joiner.join(quoted[:-1]) + _LAST_JOINER[language] + quoted[-1]
    )
    if credits:
        credit = _quote_document(items, credits[0], r[4], allow_reference=False)
        return _pick_text(_MULTI_CREDIT_TEXT[language], r[3]).format(l=listed, c=credit)
    return _pick_text(_MULTI_TEXT[language], r[3]).format(l=listed)


def _single_reference_text(d: _Draft, items: _Items, language: str, r: np.ndarray) -> str:
    """One document or its reference quoted, with the note a discount, fee or instalment adds."""
    scenario = d.scenario
    row = d.items[0]
    quoted = _quote_document(items, row, r[4], allow_reference=True, language=language)
    if items.ref_kind[row] != _REF_NONE and items.ref_text[row].replace(" ", "")[-10:] in quoted.replace(" ", ""):
        text = _pick_text(_REF_TEXT[language], r[3]).format(x=quoted)
    else:
        text = _pick_text(_SINGLE_TEXT[language], r[3]).format(x=quoted)
        if items.ref_kind[row] == _REF_PO and r[5] < 0.25:
            text = f"{text} / {items.ref_text[row]}"  # "INV 123 / PO 4500012345"
    if scenario == "discount" and r[6] < 0.6:
        bp = d.discount_bp
        pct = f"{bp // 100}" if bp % 100 == 0 else f"{bp // 100}{'.' if language == 'en' else ','}{bp % 100 // 10}"
        text = f"{text} {_DISCOUNT_NOTE[language].format(p=pct)}"
    elif scenario == "short_payment" and r[6] < 0.3:
        text = f"{text} {_SHORT_NOTE[language]}"
    elif scenario == "partial" and r[6] < 0.8:
        text = _pick_text(_PARTIAL_TEXT[language], r[7]).format(s=text)
    return text


def _noise(amount: int, language: str, customer_id: str, value_date: int, r: np.ndarray) -> str:
    """A number that is not a document number: a date before the value date, the amount or the customer."""
    day = np.datetime64(value_date - 1 - int(r[9] * 20), "D").astype(object)
    dates = {"de": f"{day:%d.%m.%Y}", "es": f"{day:%d/%m/%Y}", "en": f"{day:%m/%d/%Y}"}
    noise = _pick_text(_NOISE[language], r[10])
    if "{k}" in noise and not customer_id:
        noise = _NOISE[language][0]
    return noise.format(d=dates[language], a=_local_amount(amount, language), k=customer_id)


def _local_amount(cents: int, language: str) -> str:
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}"
    if language == "en":
        return f"{grouped}.{rest:02d}"
    return f"{grouped.replace(',', '.')},{rest:02d}"
