"""Seeded synthetic extract sets, with ground-truth labels for cash application.

Collections teams cannot hand out their ERP data, yet the pipeline has to be exercised, tuned
and benchmarked on something that behaves like it.  This module writes a complete canonical
extract set (see ``receivables.schemas``) for three company codes -- 1000 Germany (EUR), 2000
Spain (EUR), 3000 United States (USD) -- together with the answer key for cash application:
which open items each unapplied payment should clear, and how much of it is applied, taken as
cash discount, written off or left on account.

What makes the data useful rather than merely valid:

* customers look like the ones an analyst sees (umlauts and accents, legal forms, two payer
  IBANs, shared-mailbox e-mail addresses, a few without e-mail, dunning blocks);
* open items follow a Pareto-like spread per customer, span every aging bucket, and carry the
  references customers actually quote (document numbers, RF creditor references, PO numbers);
* each payment is built from a *scenario* (single reference, several invoices less a credit
  note, identified by IBAN or by a bank-mangled payer name, exact amount, combination, cash
  discount, short payment, partial payment, overpayment, and the ones nobody can match), with
  the remittance text a bank would deliver in German, Spanish or English;
* the labels are unambiguous: a document belongs to at most one payment, an exact amount is
  unique within the customer, a combination is the only one of its size that fits.

Files written to the output folder: ``customers.csv``, ``open_items.csv``, ``payments.csv``,
``disputes.csv``, ``promises.csv``, ``cleared_items.csv``, ``fx_rates.csv`` (canonical columns
in schema order; UTF-8 without BOM, comma, header row, ISO dates, amounts like ``-1234.50``,
booleans ``true``/``false``, blank when missing), ``ground_truth/cash_application.csv`` and
``manifest.json`` (seed, as_of, parameters, row counts, scenario counts, sha256 per file).

The ground truth has one row per expected (payment, open item) application -- payment_id,
scenario, matchable, company_code, document_no, applied_amount (cash; negative for a credit
note netted in the payment), discount_amount, writeoff_amount, remaining_amount (the part of
the payment that stays unapplied, repeated on each row) -- and a single row with a blank
document_no for a payment nobody should apply.  Per payment, sum(applied) + remaining = amount.

Generation runs per chunk of customers with vectorised numpy and appends to the files, so a
million open items fit in a few hundred MB.  Money is integer cents (int64) throughout and only
becomes text when a row is written.  The same seed and arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np

from receivables import schemas

GENERATOR_VERSION = "1"
DEFAULT_AS_OF = date(2026, 10, 31)

GROUND_TRUTH_FILE = "ground_truth/cash_application.csv"
GROUND_TRUTH_COLUMNS = (
    "payment_id",
    "scenario",
    "matchable",
    "company_code",
    "document_no",
    "applied_amount",
    "discount_amount",
    "writeoff_amount",
    "remaining_amount",
)

#: share of payments per scenario; 90 % carry a correct answer a good matcher can find
SCENARIOS: dict[str, float] = {
    "reference": 0.38,
    "multi_reference": 0.10,
    "reference_iban_unidentified": 0.07,
    "fuzzy_name_unidentified": 0.05,
    "exact_amount": 0.09,
    "combination": 0.05,
    "discount": 0.05,
    "short_payment": 0.04,
    "partial": 0.04,
    "overpayment": 0.03,
    "no_match": 0.04,
    "ambiguous": 0.03,
    "unidentified_unknown": 0.03,
}
NOT_MATCHABLE = frozenset({"no_match", "ambiguous", "unidentified_unknown"})

#: the write-off tolerance a short payment stays within: 5.00 and 1 % of the open amount
SHORT_PAYMENT_MAX_CENTS = 500
SHORT_PAYMENT_MAX_PERCENT = 1


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate_extract_set`` wrote: row counts per file, and how to reproduce it."""

    out_dir: Path
    seed: int
    as_of: date
    customers: int
    open_items: int
    payments: int
    disputes: int
    promises: int
    cleared_items: int
    fx_rates: int
    ground_truth_rows: int
    #: payments per scenario, in the order of ``SCENARIOS``
    scenarios: tuple[tuple[str, int], ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Rows per written file, keyed like the manifest."""
        return {
            "customers": self.customers,
            "open_items": self.open_items,
            "payments": self.payments,
            "disputes": self.disputes,
            "promises": self.promises,
            "cleared_items": self.cleared_items,
            "fx_rates": self.fx_rates,
            "ground_truth": self.ground_truth_rows,
        }


# --------------------------------------------------------------------------------------------
# Reference data.  Index 0/1/2 = company 1000 (DE) / 2000 (ES) / 3000 (US) everywhere below.
# --------------------------------------------------------------------------------------------

_COMPANY_CODES = ("1000", "2000", "3000")
_COUNTRIES = ("DE", "ES", "US")
_CURRENCIES = ("EUR", "EUR", "USD")
_COUNTRY_SHARE = (0.45, 0.25, 0.30)
_HOME_LANGUAGE = ("de", "es", "en")
#: (language, probability) for customers who correspond in another language than the home one
_LANGUAGE_EXCEPTIONS = ((("en", 0.04),), (("en", 0.07),), (("es", 0.03),))

_SEGMENTS = ("STANDARD", "KEY_ACCOUNT", "LOW_VALUE")
_SEGMENT_SHARE = (0.75, 0.08, 0.17)
#: typical invoice size per segment, in cents
_SEGMENT_INVOICE_CENTS = (180_000, 900_000, 25_000)
_SEGMENT_CREDIT_UNITS = (60, 600, 6)  # credit limit scale in thousands

_TERMS = (14, 30, 45, 60)
_TERMS_SHARE = ((0.35, 0.50, 0.10, 0.05), (0.0, 0.30, 0.25, 0.45), (0.05, 0.60, 0.20, 0.15))

#: payment behaviour: on time, a bit late, chronically late, erratic
_PROFILE_SHARE = (0.40, 0.35, 0.20, 0.05)
_PROFILE_AGE_SCALE = (30.0, 45.0, 75.0, 120.0)  # mean age (days) of the open items
_PROFILE_LATE = ((-2.0, 3.0), (6.0, 5.0), (30.0, 12.0), (40.0, 35.0))  # days late: mean, sd

_DOC_TYPES = ("INV", "CRN", "PMT", "ADJ")
_INV, _CRN, _PMT, _ADJ = 0, 1, 2, 3
_DOC_TYPE_SHARE = (0.88, 0.07, 0.02, 0.03)

_REF_NONE, _REF_RF, _REF_PO = 0, 1, 2
_REF_SHARE = ((0.25, 0.45, 0.30), (0.40, 0.20, 0.40), (0.30, 0.0, 0.70))

_DISCOUNT_SHARE = (0.25, 0.08, 0.10)
_DISCOUNT_BP = (200, 300, 150)  # 2 %, 3 %, 1.5 % in basis points
_DISCOUNT_BP_SHARE = (0.70, 0.15, 0.15)
_DISCOUNT_DAYS = (10, 14)


def _words(text: str) -> tuple[str, ...]:
    """A comma-separated word list (kept compact in the source) as a tuple."""
    return tuple(" ".join(w.split()) for w in text.split(",") if w.strip())


_COLLECTORS = (
    ("Anna Schäfer", "Jürgen Böhm", "Katrin Weiß", "Michael Köhler", "Sabine Groß", "Thomas Krüger"),
    ("María José Núñez", "Javier Ortúzar", "Lucía Fernández", "Begoña Iriarte", "Andrés Peña"),
    ("Emily Carter", "Michael O'Neil", "Jessica Nguyen", "David Kim", "Ashley Brooks"),
)
#: who owns a dispute, by reason: sales for prices, logistics for proofs of delivery, ...
_DISPUTE_TEAMS = (
    {"PRICING": "Vertrieb Süd", "POD_MISSING": "Logistik Versand", "QUALITY": "Qualitätssicherung"},
    {"PRICING": "Ventas Zona Centro", "POD_MISSING": "Logística", "QUALITY": "Calidad"},
    {"PRICING": "Sales East", "POD_MISSING": "Logistics", "QUALITY": "Quality Assurance"},
)
_DISPUTE_REASON_SHARE = (0.25, 0.15, 0.15, 0.05, 0.20, 0.10, 0.10)  # schemas.DISPUTE_REASONS

# Names.  The showcase names come first in each country; the generated ones are built from
# parts so that every name is unique by construction (showcase words never occur as parts),
# which keeps "the mangled payer name identifies exactly one customer" true.
_SHOWCASE = (
    (
        "Müller & Söhne GmbH",
        "Großhandel Jäger KG",
        "Bäckerei Schütz e.K.",
        "Gebr. Weiß Maschinenbau GmbH",
        "Öztürk Feinkost GmbH",
        "Straßenbau Böhm GmbH & Co. KG",
        "Hüttenwerke Krüger AG",
    ),
    (
        "Café Peñalver S.L.",
        "Ibáñez Logística S.A.",
        "Construcciones Muñoz e Hijos S.L.",
        "Distribuciones Gómez Pérez S.A.",
        "Panadería La Espiga S.L.",
        "Bodegas Núñez de Arce S.A.",
    ),
    (
        "Acme Industrial Supply Inc.",
        "Johnson & Sons Hardware LLC",
        "Great Lakes Packaging Corp.",
        "Blue Ridge Foods, Inc.",
        "O'Brien Construction Co.",
    ),
)
_SURNAMES = (
    _words(
        """
        Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann,
        Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun,
        Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner, Schmitz, Krause, Meier, Lehmann, Schmid,
        Schulze, Maier, Köhler, Herrmann, König, Walter, Mayer, Huber, Kaiser, Fuchs, Peters, Lang,
        Scholz, Möller, Weiß, Jung, Hahn, Schubert, Vogel, Friedrich, Keller, Günther, Frank,
        Berger, Winkler, Roth, Beck, Lorenz, Baumann, Franke, Albrecht, Schuster, Simon, Ludwig,
        Böhm, Winter, Kraus, Schumacher, Krämer, Vogt, Stein, Jäger, Otto, Sommer, Groß, Seidel,
        Heinrich, Brandt, Haas, Schreiber, Graf, Schulte, Dietrich, Ziegler, Kuhn, Kühn, Pohl,
        Engel, Horn, Busch, Bergmann, Voigt, Sauer, Arnold, Wolff, Pfeiffer, Brückner, Dörr
        """
    ),
    _words(
        """
        García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez, Martín,
        Jiménez, Hernández, Ruiz, Díaz, Moreno, Muñoz, Álvarez, Romero, Gutiérrez, Alonso, Navarro,
        Torres, Domínguez, Ramos, Vázquez, Ramírez, Gil, Serrano, Morales, Molina, Blanco, Suárez,
        Castro, Ortega, Delgado, Ortiz, Marín, Rubio, Núñez, Medina, Sanz, Castillo, Iglesias,
        Cortés, Garrido, Santos, Guerrero, Lozano, Cano, Cruz, Méndez, Flores, Prieto, Herrera,
        Peña, Márquez, Cabrera, Gallego, Calvo, Vidal, Campos, Reyes, Vega, Fuentes, Carrasco,
        Caballero, Aguilar, Nieto, Santana, Pascual, Herrero, Montero, Hidalgo, Giménez, Ferrer,
        Durán, Santiago, Benítez, Vicente, Mora, Arias, Vargas, Carmona, Crespo, Román, Pastor,
        Soto, Sáez, Velasco, Soler, Moya, Esteban, Parra, Bravo, Gallardo, Rojas, Echeverría,
        Ibarra, Zúñiga, Salcedo
        """
    ),
    _words(
        """
        Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas,
        Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young,
        Allen, King, Wright, Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell, Roberts,
        Turner, Phillips, Campbell, Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, Cook,
        Rogers, Morgan, Cooper, Peterson, Reed, Bailey, Bell, Kelly, Howard, Ward, Cox, Richardson,
        Wood, Watson, Brooks, Bennett, Gray, Hughes, Price, Sanders, Myers, Long, Ross, Foster,
        Hayes, Fisher, Graham, Sullivan, Wallace, Woods, Cole, West, Jordan, Reynolds, Hamilton,
        Ellis, Gibson, Dixon, Hunt, Palmer, Porter, Mason, Webb, Tucker, Hunter, Henderson, Burns,
        Crawford, Olson, Hudson, Spencer, Stone, Hart, Lawson
        """
    ),
)
_BRANCHES = (
    _words(
        """
        Maschinenbau, Elektrotechnik, Metallbau, Logistik, Spedition, Haustechnik, Baustoffe,
        Landtechnik, Kunststofftechnik, Feinmechanik, Druckerei, Holzbau, Getränkehandel,
        Lebensmittel, Autohaus, Sanitär, Gerätebau, Umwelttechnik, Verpackungen, Stahlhandel,
        Medizintechnik, Möbelwerkstätten, Bürobedarf, Kältetechnik, Fördertechnik
        """
    ),
    _words(
        """
        Transportes, Suministros, Instalaciones, Maquinaria, Alimentación, Electricidad, Fontanería,
        Ingeniería, Reformas, Carpintería, Comercial, Hostelería, Climatización, Embalajes,
        Metalúrgica, Papelería, Ferretería, Jardinería, Materiales, Automoción, Cerámicas, Textiles,
        Agrícola, Seguridad, Frigoríficos
        """
    ),
    _words(
        """
        Industrial Supply, Logistics, Foods, Packaging, Manufacturing, Electric, Hardware, Building
        Materials, Distribution, Plastics, Machinery, Tool & Die, Auto Parts, Medical Supply, Office
        Products, Chemicals, Paper Company, Steel, Farm Equipment, Textiles, Beverage, Printing,
        Lumber, Fasteners, HVAC Services
        """
    ),
)
_CITIES = (
    _words(
        """
        Hamburg, München, Köln, Düsseldorf, Nürnberg, Stuttgart, Leipzig, Dresden, Bremen, Hannover,
        Münster, Lübeck, Würzburg, Osnabrück, Göttingen, Saarbrücken
        """
    ),
    _words(
        """
        Madrid, Barcelona, Valencia, Sevilla, Zaragoza, Málaga, Bilbao, Alicante, Córdoba,
        Valladolid, Vigo, Gijón, Cádiz, Logroño, Almería, Pamplona
        """
    ),
    _words(
        """
        Ohio, Texas, Georgia, Illinois, Michigan, Oregon, Arizona, Florida, Indiana, Kentucky,
        Nevada, Utah, Iowa, Kansas, Vermont, Maine
        """
    ),
)
#: name patterns in tiers; every pattern keeps all its parts, so names are unique by construction
_NAME_PATTERNS = (
    (("{s} {b} {f}", "{b} {s} {f}"), ("{s} {b} {c} {f}", "{b} {s} {c} {f}")),
    (("{b} {s} {f}", "{s} {b} {f}"), ("{b} {s} Hermanos {f}", "{b} {s} de {c} {f}")),
    (("{s} {b} {f}",), ("{s} Brothers {b} {f}", "{s} {b} of {c} {f}")),
)
_LEGAL_FORMS = (
    ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "OHG"),
    ("S.L.", "S.A.", "S.L.U.", "S.Coop."),
    ("Inc.", "LLC", "Corp.", "Co."),
)
_LEGAL_SUFFIXES = sorted({f for forms in _LEGAL_FORMS for f in forms}, key=lambda f: (-len(f), f))
#: payer names on bank lines nobody can tie to a customer
_UNKNOWN_PAYERS = (
    "PAYPAL (EUROPE) S.A R.L. ET CIE, S.C.A.",
    "Stripe Payments Europe Ltd",
    "Klaus-Dieter Brenner",
    "Herr Thomas Vogelsang",
    "MARIA JOSE ALCAZAR RIVAS",
    "Sammelüberweisung Sparkasse",
    "ADYEN N.V.",
    "Gemeinde Oberhaching Kasse",
    "J. P. Whitfield",
    "Ayuntamiento de Villanueva",
    "WESTERN UNION PAYMENT SERVICES",
    "Finanzamt Eschborn",
)
_DEPARTMENT_MAILBOXES = (
    ("buchhaltung", "rechnungswesen", "kreditoren", "finanzen", "rechnungseingang"),
    ("facturas", "contabilidad", "administracion", "pagos", "proveedores"),
    ("ap", "accounts.payable", "billing", "invoices", "finance"),
)
_TLD = (".de", ".es", ".com")

_DE_BANKS = (
    10070000,
    20050550,
    37040044,
    50010517,
    70150000,
    60050101,
    76050101,
    30050110,
    43060967,
    12030000,
)
_ES_BANKS = (2100, 49, 182, 81, 128, 2085, 3058, 487)
#: UK banks for US customers paying from a British subsidiary: (bank code, as IBAN digits, sort code prefix)
_GB_BANKS = (("NWBK", 23321120, 60), ("BARC", 11102712, 20), ("HBUK", 17113020, 40), ("LOYD", 21243413, 30))

# Remittance texts.  {x} is one quoted document, {l} a list, {c} a credit note.
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
#: how banks and domain names spell umlauts and accents in ASCII
_TRANSLIT = str.maketrans(
    dict(zip("äöüÄÖÜßáéíóúñÁÉÍÓÚÑçÇ", "ae oe ue Ae Oe Ue ss a e i o u n A E I O U N c C".split(), strict=True))
)
_STRING = np.dtypes.StringDType()
_NOT_SLUG = re.compile(r"[^a-z0-9 &/-]")
_SLUG_SPLIT = re.compile(r"[ &/-]+")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate_extract_set(
    out_dir: Path,
    customers: int,
    seed: int,
    as_of: date | None = None,
    *,
    items_per_customer: float = 10.0,
    payments_per_customer: float = 2.5,
    chunk_customers: int = 20_000,
) -> GenerationSummary:
    """Write a synthetic canonical extract set plus cash-application ground truth to ``out_dir``.

    ``customers`` sets the size (100_000 gives about 1M open items and 250k payments);
    ``items_per_customer`` and ``payments_per_customer`` are averages, the spread per customer is
    Pareto-like.  ``as_of`` is the business date the set is extracted for (default 2026-10-31).
    Existing files of the same names are replaced; other files in ``out_dir`` are left alone.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if items_per_customer < 1 or payments_per_customer < 0:
        raise ValueError("items_per_customer must be >= 1 and payments_per_customer >= 0")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be at least 1")
    as_of = as_of or DEFAULT_AS_OF
    out_dir = Path(out_dir)
    (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)

    params = _Params(as_of, items_per_customer, payments_per_customer)
    state = _State()
    writers = _Writers(out_dir)
    scenario_counts = dict.fromkeys(SCENARIOS, 0)
    try:
        for chunk, start in enumerate(range(0, customers, chunk_customers)):
            rng = np.random.default_rng([seed, chunk])
            n = min(chunk_customers, customers - start)
            for name, count in _generate_chunk(rng, state, params, start, n, writers).items():
                scenario_counts[name] += count
        writers.write("fx_rates", _fx_rates(np.random.default_rng([seed, 1 << 30]), as_of))
    finally:
        writers.close()

    counts = writers.counts
    summary = GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        as_of=as_of,
        customers=counts["customers"],
        open_items=counts["open_items"],
        payments=counts["payments"],
        disputes=counts["disputes"],
        promises=counts["promises"],
        cleared_items=counts["cleared_items"],
        fx_rates=counts["fx_rates"],
        ground_truth_rows=counts["ground_truth"],
        scenarios=tuple(scenario_counts.items()),
    )
    digests = {path: writers.sha256(key) for key, path in writers.files.items()}
    _write_manifest(out_dir, summary, params, chunk_customers, digests)
    return summary


# --------------------------------------------------------------------------------------------
# Generation state and per-chunk pipeline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    as_of: date
    items_per_customer: float
    payments_per_customer: float

    @property
    def as_of_day(self) -> int:
        return int(np.datetime64(self.as_of, "D").astype(np.int64))


class _State:
    """Counters that run across chunks so keys stay unique in the whole set."""

    def __init__(self) -> None:
        self.names = [0, 0, 0]  # next name sequence per country
        self.documents = [0, 0, 0]  # last document counter per company
        self.po = 4_500_000_000
        self.payments = 0
        self.disputes = 0
        self.promises = 0


@dataclass
class _Customers:
    """Customers of one chunk; item arrays refer to them by index (0..n-1)."""

    ids: np.ndarray  # str
    company: np.ndarray  # int8 index into _COMPANY_CODES
    names: list[str]
    name_unique: np.ndarray  # bool: no other customer anywhere has this name (mangled or not)
    language: list[str]
    terms: np.ndarray
    profile: np.ndarray  # payment behaviour, index into _PROFILE_SHARE
    scale: np.ndarray  # typical invoice amount, cents
    ibans: list[list[str]]
    columns: dict[str, Any]

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass
class _Items:
    """Open items of one chunk, grouped by customer (``start[c]:end[c]``) and date within."""

    cust: np.ndarray
    company: np.ndarray
    doc_type: np.ndarray
    amount: np.ndarray
    open: np.ndarray
    doc_date: np.ndarray  # days since 1970-01-01
    due_date: np.ndarray
    ref_kind: np.ndarray
    ref_text: np.ndarray  # str
    block: np.ndarray
    discount_bp: np.ndarray
    discount_days: np.ndarray
    counter: np.ndarray  # the running number inside document_no
    document_no: np.ndarray  # str
    start: np.ndarray
    end: np.ndarray
    disputed: np.ndarray


def _generate_chunk(
    rng: np.random.Generator, state: _State, params: _Params, start: int, n: int, writers: _Writers
) -> dict[str, int]:
    cust = _make_customers(rng, state, params, start, n)
    items = _make_open_items(rng, cust, params)
    cleared = _make_cleared_items(rng, cust, params)
    _number_documents(items, cleared, state)
    _assign_references(rng, items, state)
    disputes = _make_disputes(rng, items, cust, state, params)
    payments, truth, scenario_counts = _make_payments(rng, items, cust, state, params, start == 0)
    promises = _make_promises(rng, items, cust, cleared, state, params, start == 0)

    writers.write("customers", cust.columns)
    writers.write("open_items", _open_item_columns(items, cust))
    writers.write("payments", payments)
    writers.write("disputes", disputes)
    writers.write("promises", promises)
    writers.write("cleared_items", _cleared_columns(cleared, cust))
    writers.write("ground_truth", truth)
    return scenario_counts


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------


def _make_customers(rng: np.random.Generator, state: _State, params: _Params, start: int, n: int) -> _Customers:
    numbers = np.arange(start + 1, start + n + 1, dtype=np.int64)
    ids = np.strings.add("C", np.strings.zfill(numbers.astype(_STRING), 6))
    company = rng.choice(3, size=n, p=_COUNTRY_SHARE).astype(np.int8)
    if start == 0:
        # even a ten-customer demo set shows all three company codes and languages
        company[: min(n, 3)] = np.arange(min(n, 3))

    names: list[str] = []
    unique = np.empty(n, dtype=bool)
    for i, c in enumerate(company.tolist()):
        names.append(_company_name(c, state.names[c]))
        unique[i] = state.names[c] < len(_SHOWCASE[c]) + _name_combinations(c)
        state.names[c] += 1

    language = [_HOME_LANGUAGE[c] for c in company.tolist()]
    u = rng.random(n)
    for i, c in enumerate(company.tolist()):
        # start == 0: keep the first customers in their home language so the demo shows all three
        if start == 0 and i < 3:
            continue
        acc = 0.0
        for lang, share in _LANGUAGE_EXCEPTIONS[c]:
            acc += share
            if u[i] < acc:
                language[i] = lang
                break

    terms = np.empty(n, dtype=np.int64)
    for c in range(3):
        mask = company == c
        terms[mask] = rng.choice(_TERMS, size=int(mask.sum()), p=_TERMS_SHARE[c])
    segment = rng.choice(3, size=n, p=_SEGMENT_SHARE)
    profile = rng.choice(4, size=n, p=_PROFILE_SHARE)
    scale = (np.asarray(_SEGMENT_INVOICE_CENTS)[segment] * rng.lognormal(0.0, 0.6, n)).astype(np.int64)
    credit_limit = (
        np.maximum(1, np.round(np.asarray(_SEGMENT_CREDIT_UNITS)[segment] * rng.lognormal(0.0, 0.5, n))).astype(
            np.int64
        )
        * 100_000
    )
    policy = np.full(n, "", dtype=object)
    override = rng.random(n) < 0.03
    # an override names another segment's policy: that policy exists wherever segments do
    policy[override] = [
        _SEGMENTS[(s + 1 + int(k)) % 3] for s, k in zip(segment[override], rng.integers(0, 2, int(override.sum())))
    ]
    block = rng.random(n) < 0.02
    pick = (rng.random(n) * np.asarray([len(x) for x in _COLLECTORS])[company]).astype(np.int64)
    collector = [_COLLECTORS[c][k] for c, k in zip(company.tolist(), pick.tolist())]

    ibans = _make_ibans(rng, numbers, company)
    emails = _make_emails(rng, names, company)

    columns = {
        "customer_id": ids,
        "name": names,
        "email": emails,
        "language": language,
        "country": np.asarray(_COUNTRIES)[company],
        "currency": np.asarray(_CURRENCIES)[company],
        "payment_terms_days": terms.astype(_STRING),
        "credit_limit": _money_text(credit_limit),
        "segment": np.asarray(_SEGMENTS)[segment],
        "dunning_policy": policy,
        "dunning_block": _bool_text(block),
        "collector": collector,
        "iban": [";".join(x) for x in ibans],
        "company_code": np.asarray(_COMPANY_CODES)[company],
    }
    return _Customers(ids, company, names, unique, language, terms, profile, scale, ibans, columns)


def _name_combinations(country: int) -> int:
    return sum(sum(_pattern_size(country, p) for p in tier) for tier in _NAME_PATTERNS[country])


def _pattern_size(country: int, pattern: str) -> int:
    size = len(_SURNAMES[country]) * len(_BRANCHES[country]) * len(_LEGAL_FORMS[country])
    return size * len(_CITIES[country]) if "{c}" in pattern else size


def _company_name(country: int, seq: int) -> str:
    """The seq-th company name of a country: showcase names first, then unique generated ones.

    Short names come first (tier 1) and names with a city or "Brothers" only once those run
    out, so small sets look like a real ledger and large ones still never repeat a name.
    """
    showcase = _SHOWCASE[country]
    if seq < len(showcase):
        return showcase[seq]
    k = seq - len(showcase)
    tiers = _NAME_PATTERNS[country]
    for tier in tiers:
        sizes = [_pattern_size(country, p) for p in tier]
        if k < sum(sizes) or tier is tiers[-1]:
            break
        k -= sum(sizes)
    # a prime stride (coprime to any tier size) walks all names of the tier in a scattered order
    j = (k * 2_654_435_761 + 12_345) % sum(sizes)
    for pattern, size in zip(tier, sizes):  # noqa: B007 - pattern is used after the loop, the one it stopped at
        if j < size:
            break
        j -= size
    j, s = divmod(j, len(_SURNAMES[country]))
    j, b = divmod(j, len(_BRANCHES[country]))
    j, legal = divmod(j, len(_LEGAL_FORMS[country]))
    return pattern.format(
        s=_SURNAMES[country][s],
        b=_BRANCHES[country][b],
        f=_LEGAL_FORMS[country][legal],
        c=_CITIES[country][j % len(_CITIES[country])],
    )


def _make_ibans(rng: np.random.Generator, numbers: np.ndarray, company: np.ndarray) -> list[list[str]]:
    """Payer accounts with valid check digits, unique per customer (derived from its number).

    German and Spanish customers mostly pay from a domestic account; a few US customers pay
    from a UK subsidiary's account (US accounts have no IBAN).  Some customers have two.
    """
    n = len(numbers)
    has = rng.random(n) < np.asarray((0.70, 0.60, 0.08))[company]
    two = has & (rng.random(n) < 0.10)
    out: list[list[str]] = [[] for _ in range(n)]
    for k in (0, 1):
        sel = np.flatnonzero(has if k == 0 else two)
        if len(sel) == 0:
            continue
        # multiplying by a constant coprime to 10^m is a bijection: unique account numbers
        slot = numbers[sel] * 2 + k
        comp = company[sel]
        text = np.empty(len(sel), dtype=object)
        de = comp == 0
        if de.any():
            blz = np.asarray(_DE_BANKS)[rng.integers(0, len(_DE_BANKS), int(de.sum()))]
            acct = (slot[de] * 1_234_567_891) % 10**10
            r = blz % 97
            r = (r * 10**10 + acct) % 97
            r = (r * 10**6 + 131400) % 97  # "DE00" -> 13 14 00
            text[de] = _iban_text("DE", 98 - r, [(blz, 8), (acct, 10)])
        es = comp == 1
        if es.any():
            bank = np.asarray(_ES_BANKS)[rng.integers(0, len(_ES_BANKS), int(es.sum()))]
            branch = rng.integers(1, 9999, int(es.sum()))
            acct = (slot[es] * 3_456_789_011) % 10**10
            dc = _spanish_control_digits(bank, branch, acct)
            r = (bank * 10**4 + branch) % 97
            r = (r * 100 + dc) % 97
            r = (r * 10**10 + acct) % 97
            r = (r * 10**6 + 142800) % 97  # "ES00" -> 14 28 00
            text[es] = _iban_text("ES", 98 - r, [(bank, 4), (branch, 4), (dc, 2), (acct, 10)])
        us = comp == 2
        if us.any():
            pick = rng.integers(0, len(_GB_BANKS), int(us.sum()))
            letters = np.asarray([b[0] for b in _GB_BANKS])[pick]
            digits = np.asarray([b[1] for b in _GB_BANKS])[pick]
            sort = np.asarray([b[2] for b in _GB_BANKS])[pick] * 10_000 + rng.integers(0, 10_000, int(us.sum()))
            acct = (slot[us] * 13_579_137) % 10**8
            r = digits % 97
            r = (r * 10**6 + sort) % 97
            r = (r * 10**8 + acct) % 97
            r = (r * 10**6 + 161100) % 97  # "GB00" -> 16 11 00
            body = _iban_text("GB", 98 - r, [(sort, 6), (acct, 8)])
            text[us] = [t[:4] + code + t[4:] for t, code in zip(body, letters)]
        for i, t in zip(sel.tolist(), text.tolist()):
            out[i].append(t)
    return out


def _iban_text(country: str, check: np.ndarray, parts: list[tuple[np.ndarray, int]]) -> list[str]:
    text = np.strings.add(country, np.strings.zfill(check.astype(_STRING), 2))
    for values, width in parts:
        text = np.strings.add(text, np.strings.zfill(np.asarray(values).astype(_STRING), width))
    return text.tolist()


def _spanish_control_digits(bank: np.ndarray, branch: np.ndarray, acct: np.ndarray) -> np.ndarray:
    """The two national check digits (DC) of a Spanish account number (CCC)."""
    weights = np.asarray([1, 2, 4, 8, 5, 10, 9, 7, 3, 6])

    def digit(number: np.ndarray) -> np.ndarray:
        powers = 10 ** np.arange(9, -1, -1, dtype=np.int64)
        total = ((number[:, None] // powers) % 10 * weights).sum(axis=1)
        d = 11 - total % 11
        return np.where(d == 11, 0, np.where(d == 10, 1, d))

    return digit(bank * 10**4 + branch) * 10 + digit(acct)


def _ascii_slug(text: str) -> str:
    """'Großhandel Jäger' -> 'grosshandel-jaeger': the ASCII form a domain name would use."""
    plain = _NOT_SLUG.sub("", text.translate(_TRANSLIT).lower())
    return "-".join(_SLUG_SPLIT.split(plain)).strip("-")


def _make_emails(rng: np.random.Generator, names: list[str], company: np.ndarray) -> list[str]:
    """Shared AP mailboxes at a domain derived from the name; some add a named contact."""
    n = len(names)
    u = rng.random((n, 4))
    emails: list[str] = []
    for i, (name, c) in enumerate(zip(names, company.tolist())):
        if u[i, 0] < 0.03:
            emails.append("")  # no address on file: these customers need a letter or a call
            continue
        words = [
            w for w in name.replace(",", " ").split() if w not in _LEGAL_FORMS[c] and w not in ("&", "Co.", "de", "of")
        ]
        domain = _ascii_slug(" ".join(words[:2]))[:30].strip("-") + _TLD[c]
        boxes = _DEPARTMENT_MAILBOXES[c]
        address = f"{boxes[int(u[i, 1] * len(boxes))]}@{domain}"
        if u[i, 2] < 0.25:
            surname = _ascii_slug(_SURNAMES[c][int(u[i, 3] * len(_SURNAMES[c]))])
            initial = "abcdefghijklmnoprstw"[int(u[i, 3] * 997) % 20]
            address += f";{initial}.{surname}@{domain}"
        emails.append(address)
    return emails


# --------------------------------------------------------------------------------------------
# Open and cleared items
# --------------------------------------------------------------------------------------------


def _make_open_items(rng: np.random.Generator, cust: _Customers, params: _Params) -> _Items:
    as_of = params.as_of_day
    # lognormal activity with mean 1: most customers near the average, a few with many items
    weight = rng.lognormal(-0.5, 1.0, cust.n)
    counts = np.maximum(1, rng.poisson(params.items_per_customer * weight))
    counts = np.minimum(counts, int(60 * params.items_per_customer))
    m = int(counts.sum())
    c = np.repeat(np.arange(cust.n), counts)
    end = np.cumsum(counts)
    start = end - counts

    doc_type = rng.choice(4, size=m, p=_DOC_TYPE_SHARE).astype(np.int8)
    scale = cust.scale[c]
    z = rng.lognormal(0.0, 0.9, m)
    amount = np.maximum(1_000, scale * z).astype(np.int64)
    round_amount = rng.random(m) < 0.05  # some invoices are flat fees in whole units
    amount[round_amount] = amount[round_amount] // 100 * 100
    crn = doc_type == _CRN
    amount[crn] = -np.maximum(500, (scale[crn] * rng.lognormal(-1.2, 0.8, int(crn.sum())))).astype(np.int64)
    pmt = doc_type == _PMT
    amount[pmt] = -np.maximum(1_000, (scale[pmt] * rng.lognormal(-0.5, 0.8, int(pmt.sum())))).astype(np.int64)
    adj = doc_type == _ADJ
    adj_amount = np.maximum(100, (scale[adj] * 0.05 * rng.lognormal(0.0, 0.8, int(adj.sum())))).astype(np.int64)
    amount[adj] = np.where(rng.random(int(adj.sum())) < 0.7, adj_amount, -adj_amount)

    open_amount = amount.copy()
    partial = (doc_type == _INV) & (rng.random(m) < 0.07)
    # part-paid or part-credited invoices: same sign, strictly less than the original
    open_amount[partial] = np.maximum(100, (amount[partial] * rng.uniform(0.15, 0.9, int(partial.sum())))).astype(
        np.int64
    )

    age = rng.exponential(np.asarray(_PROFILE_AGE_SCALE)[cust.profile[c]]) % 230
    doc_date = as_of - age.astype(np.int64)
    terms = cust.terms[c]
    forced = _forced_bucket_items(rng, doc_type)
    # one invoice per aging bucket so even a tiny set fills not due, 1-30, ..., 121+
    doc_date[forced] = as_of - terms[forced] - np.asarray([-7, 15, 45, 75, 105, 150])[: len(forced)]
    doc_date = _business_day(doc_date)
    # credit notes and payments on account are due at once; invoices and charges after terms
    due_date = np.where((doc_type == _CRN) | (doc_type == _PMT), doc_date, doc_date + terms)

    # within a customer, oldest first (the order an account statement shows)
    order = np.lexsort((doc_date, c))
    company = cust.company[c]
    inv = doc_type == _INV
    discount = inv & (rng.random(m) < np.asarray(_DISCOUNT_SHARE)[company])
    discount_bp = np.where(discount, rng.choice(_DISCOUNT_BP, size=m, p=_DISCOUNT_BP_SHARE), 0)
    discount_days = np.where(discount, rng.choice(_DISCOUNT_DAYS, size=m, p=(0.6, 0.4)), 0)
    ref_kind = np.full(m, _REF_NONE, dtype=np.int8)
    u = rng.random(m)
    shares = np.asarray(_REF_SHARE)[company]
    ref_kind[inv & (u >= shares[:, 0])] = _REF_RF
    ref_kind[inv & (u >= shares[:, 0] + shares[:, 1])] = _REF_PO
    block = rng.random(m) < 0.01

    def sort(a: np.ndarray) -> np.ndarray:
        return a[order]

    return _Items(
        cust=sort(c),
        company=sort(company),
        doc_type=sort(doc_type),
        amount=sort(amount),
        open=sort(open_amount),
        doc_date=sort(doc_date),
        due_date=sort(due_date),
        ref_kind=sort(ref_kind),
        ref_text=np.full(m, "", dtype=object),
        block=sort(block),
        discount_bp=sort(discount_bp),
        discount_days=sort(discount_days),
        counter=np.zeros(m, dtype=np.int64),
        document_no=np.full(m, "", dtype=object),
        start=start,
        end=end,
        disputed=np.zeros(m, dtype=bool),
    )


def _forced_bucket_items(rng: np.random.Generator, doc_type: np.ndarray) -> np.ndarray:
    invoices = np.flatnonzero(doc_type == _INV)
    return rng.choice(invoices, size=min(6, len(invoices)), replace=False)


def _business_day(days: np.ndarray, roll: str = "backward") -> np.ndarray:
    return np.busday_offset(days.astype("datetime64[D]"), 0, roll=roll).astype(np.int64)


@dataclass
class _Cleared:
    cust: np.ndarray
    company: np.ndarray
    amount: np.ndarray
    doc_date: np.ndarray
    due_date: np.ndarray
    clearing_date: np.ndarray
    counter: np.ndarray
    document_no: np.ndarray


def _make_cleared_items(rng: np.random.Generator, cust: _Customers, params: _Params) -> _Cleared:
    """A year of paid documents per customer, late or on time as the customer's profile says."""
    as_of = params.as_of_day
    counts = rng.poisson(1.2 * params.items_per_customer * rng.lognormal(-0.5, 1.0, cust.n))
    counts = np.minimum(counts, int(60 * params.items_per_customer))
    m = int(counts.sum())
    c = np.repeat(np.arange(cust.n), counts)
    clearing = _business_day(as_of - rng.integers(0, 365, m))
    mean = np.asarray([p[0] for p in _PROFILE_LATE])[cust.profile[c]]
    sd = np.asarray([p[1] for p in _PROFILE_LATE])[cust.profile[c]]
    terms = cust.terms[c]
    # nobody pays before the invoice exists: at most `terms` days early
    late = np.maximum(np.round(rng.normal(mean, sd)).astype(np.int64), -terms)
    doc_date = _business_day(clearing - late - terms)
    amount = np.maximum(1_000, cust.scale[c] * rng.lognormal(0.0, 0.9, m)).astype(np.int64)
    credit = rng.random(m) < 0.05
    amount[credit] = -(amount[credit] // 4 + 100)
    order = np.lexsort((clearing, c))
    return _Cleared(
        cust=c[order],
        company=cust.company[c][order],
        amount=amount[order],
        doc_date=doc_date[order],
        due_date=(doc_date + terms)[order],
        clearing_date=clearing[order],
        counter=np.zeros(m, dtype=np.int64),
        document_no=np.full(m, "", dtype=object),
    )


def _number_documents(items: _Items, cleared: _Cleared, state: _State) -> None:
    """Document numbers per company, one running series per company in date order.

    Formats follow what each ERP prints and customers quote back: 9000012345 (DE),
    F-2026-000123 (ES, year of the document) and INV-000123 (US).
    """
    m = len(items.cust)
    company = np.concatenate([items.company, cleared.company])
    doc_date = np.concatenate([items.doc_date, cleared.doc_date])
    counter = np.zeros(len(company), dtype=np.int64)
    for cc in range(3):
        rows = np.flatnonzero(company == cc)
        rows = rows[np.argsort(doc_date[rows], kind="stable")]
        counter[rows] = state.documents[cc] + 1 + np.arange(len(rows))
        state.documents[cc] += len(rows)
    numbers = counter.astype(_STRING)
    year = (doc_date.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(_STRING)
    text = np.where(
        company == 0,
        (counter + 9_000_010_000).astype(_STRING),
        np.where(
            company == 1,
            np.strings.add(np.strings.add(np.strings.add("F-", year), "-"), np.strings.zfill(numbers, 6)),
            np.strings.add("INV-", np.strings.zfill(numbers, 6)),
        ),
    ).astype(object)
    items.counter, cleared.counter = counter[:m], counter[m:]
    items.document_no, cleared.document_no = text[:m], text[m:]


def _assign_references(rng: np.random.Generator, items: _Items, state: _State) -> None:
    """The payment reference printed on each invoice: an RF creditor reference or the PO."""
    rf = np.flatnonzero(items.ref_kind == _REF_RF)
    if len(rf):
        # ISO 11649: the body encodes company and document counter, so it is unique
        body = (np.asarray([1000, 2000, 3000])[items.company[rf]] * 10**8 + items.counter[rf] % 10**8).astype(np.int64)
        check = 98 - (body % 97 * (10**6 % 97) + 271500) % 97  # "RF00" -> 27 15 00
        digits = np.strings.add(
            np.strings.add("RF", np.strings.zfill(check.astype(_STRING), 2)),
            np.strings.zfill(body.astype(_STRING), 12),
        )
        grouped = digits.tolist()
        items.ref_text[rf] = [" ".join(d[i : i + 4] for i in range(0, 16, 4)) for d in grouped]
    po = np.flatnonzero(items.ref_kind == _REF_PO)
    if len(po):
        # customers' purchase orders: increasing with gaps, one PO per invoice
        numbers = state.po + np.cumsum(rng.integers(1, 40, len(po)))
        state.po = int(numbers[-1])
        items.ref_text[po] = np.strings.add("PO ", numbers.astype(_STRING)).tolist()


# --------------------------------------------------------------------------------------------
# Disputes and promises
# --------------------------------------------------------------------------------------------


def _make_disputes(
    rng: np.random.Generator, items: _Items, cust: _Customers, state: _State, params: _Params
) -> dict[str, Any]:
    as_of = params.as_of_day
    rows = np.flatnonzero((items.doc_type == _INV) & (rng.random(len(items.cust)) < 0.03))
    items.disputed[rows] = True
    k = len(rows)
    reason = rng.choice(len(schemas.DISPUTE_REASONS), size=k, p=_DISPUTE_REASON_SHARE)
    open_amount = items.open[rows]
    full = rng.random(k) < 0.6
    amount = np.where(full, open_amount, np.maximum(1, (open_amount * rng.uniform(0.1, 0.9, k)).astype(np.int64)))
    opened = np.minimum(items.doc_date[rows] + rng.integers(5, 45, k), as_of)
    resolved = rng.random(k) < 0.15
    resolved_on = np.where(resolved, np.minimum(opened + rng.integers(1, 30, k), as_of), -1)
    owners = []
    for r, row, own in zip(reason.tolist(), rows.tolist(), rng.random(k).tolist()):
        company = int(items.company[row])
        team = _DISPUTE_TEAMS[company].get(schemas.DISPUTE_REASONS[r])
        owners.append(team if team and own < 0.8 else cust.columns["collector"][items.cust[row]])
    ids = np.strings.add("DSP", np.strings.zfill((state.disputes + 1 + np.arange(k)).astype(_STRING), 7))
    state.disputes += k
    return {
        "dispute_id": ids,
        "company_code": np.asarray(_COMPANY_CODES)[items.company[rows]],
        "document_no": items.document_no[rows],
        "customer_id": cust.ids[items.cust[rows]],
        "reason_code": np.asarray(schemas.DISPUTE_REASONS)[reason],
        "amount": _money_text(amount),
        "status": np.where(resolved, "RESOLVED", "OPEN"),
        "opened_on": _date_text(opened),
        "resolved_on": _date_text(resolved_on),
        "owner": owners,
    }


def _make_promises(
    rng: np.random.Generator,
    items: _Items,
    cust: _Customers,
    cleared: _Cleared,
    state: _State,
    params: _Params,
    first_chunk: bool,
) -> dict[str, Any]:
    """Promises to pay: future ones still open, past ones broken (item open) or kept (cleared)."""
    as_of = params.as_of_day
    out: dict[str, list[Any]] = {k: [] for k in ("company", "cust", "doc", "amount", "promised", "created")}

    def add(c: int, doc: str, amount: int, promised: int, created: int) -> None:
        out["company"].append(int(cust.company[c]))
        out["cust"].append(c)
        out["doc"].append(doc)
        out["amount"].append(amount)
        out["promised"].append(promised)
        out["created"].append(min(created, promised, as_of))

    overdue = (items.doc_type == _INV) & (items.due_date < as_of) & (items.open > 0)
    chosen = rng.random(cust.n) < 0.04
    behind = np.flatnonzero(np.add.reduceat(overdue, items.start) > 0)
    if first_chunk and len(behind):
        # even a ten-customer demo set shows promises
        chosen[rng.choice(behind, size=min(2, len(behind)), replace=False)] = True
    chosen = np.flatnonzero(chosen)
    u = rng.random((len(chosen), 6))
    cleared_start = np.searchsorted(cleared.cust, np.arange(cust.n))
    cleared_end = np.searchsorted(cleared.cust, np.arange(cust.n), side="right")
    for c, r in zip(chosen.tolist(), u):
        s, e = items.start[c], items.end[c]
        late = s + np.flatnonzero(overdue[s:e])
        if len(late) == 0:
            continue
        future = r[1] < 0.55
        if r[0] < 0.55:
            i = int(late[int(r[2] * len(late))])
            amount = int(items.open[i]) if r[3] < 0.8 else max(100, int(items.open[i]) // 200 * 100)
            if future:
                promised = as_of + 1 + int(r[4] * 21)
                add(c, items.document_no[i], amount, promised, as_of - int(r[5] * 10))
            else:
                low = max(int(items.due_date[i]), as_of - 30)
                promised = low + int(r[4] * (as_of - low))
                add(
                    c,
                    items.document_no[i],
                    amount,
                    promised,
                    max(int(items.doc_date[i]), promised - 3 - int(r[5] * 17)),
                )
        else:
            total = int(items.open[late].sum())
            amount = total if total < 100_000 else total // 10_000 * 10_000
            if future:
                add(c, "", amount, as_of + 1 + int(r[4] * 21), as_of - int(r[5] * 10))
            else:
                promised = as_of - 1 - int(r[4] * 30)
                add(c, "", amount, promised, promised - 3 - int(r[5] * 17))
        # a kept promise leaves its trace on a recently cleared document
        cs, ce = cleared_start[c], cleared_end[c]
        recent = cs + np.flatnonzero((cleared.clearing_date[cs:ce] >= as_of - 60) & (cleared.amount[cs:ce] > 0))
        if len(recent) and r[5] < 0.4:
            j = int(recent[int(r[3] * len(recent))])
            promised = min(int(cleared.clearing_date[j]) + int(r[2] * 4), as_of)
            add(
                c,
                cleared.document_no[j],
                int(cleared.amount[j]),
                promised,
                max(int(cleared.doc_date[j]), promised - 3 - int(r[4] * 12)),
            )

    k = len(out["cust"])
    company = np.asarray(out["company"], dtype=np.int64)
    ids = np.strings.add("PTP", np.strings.zfill((state.promises + 1 + np.arange(k)).astype(_STRING), 7))
    state.promises += k
    return {
        "promise_id": ids,
        "company_code": np.asarray(_COMPANY_CODES)[company] if k else [],
        "customer_id": cust.ids[np.asarray(out["cust"], dtype=np.int64)] if k else [],
        "document_no": out["doc"],
        "promised_amount": _money_text(np.asarray(out["amount"], dtype=np.int64)),
        "promised_date": _date_text(np.asarray(out["promised"], dtype=np.int64)),
        "created_on": _date_text(np.asarray(out["created"], dtype=np.int64)),
    }


# --------------------------------------------------------------------------------------------
# Payments and ground truth
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """One payment before it gets its id and texts, with its expected applications."""

    scenario: str
    cust: int  # index within the chunk; -1 when nobody can tell who paid
    company: int
    amount: int
    value_date: int
    items: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    discount: list[int] = field(default_factory=list)
    writeoff: list[int] = field(default_factory=list)
    remaining: int = 0
    discount_bp: int = 0  # the cash-discount rate taken, for the remittance text

    def __post_init__(self) -> None:
        self.discount = self.discount or [0] * len(self.items)
        self.writeoff = self.writeoff or [0] * len(self.items)


_SUBSETS: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}


def _subsets(n: int, size: int) -> tuple[np.ndarray, ...]:
    """Index arrays of all `size`-element subsets of n items (cached: sizes repeat a lot)."""
    key = (n, size)
    if key not in _SUBSETS:
        idx = np.asarray(list(itertools.combinations(range(n), size)), dtype=np.int64).reshape(-1, size)
        _SUBSETS[key] = tuple(idx[:, k] for k in range(size))
    return _SUBSETS[key]


#: combinations of up to this many items are checked: about as far as a matcher searches
_COMBINATION_MAX_SIZE = 4
#: combination payments only for customers with at most this many open items, where every
#: combination up to _COMBINATION_MAX_SIZE can be checked for a rival
_COMBINATION_MAX_ITEMS = 30


def _sum_counts(values: np.ndarray, total: int) -> list[int]:
    """How many sets of 1, 2, ... items sum exactly to total (larger sets only for few items)."""
    n = len(values)
    largest = _COMBINATION_MAX_SIZE if n <= _COMBINATION_MAX_ITEMS else 3 if n <= 2 * _COMBINATION_MAX_ITEMS else 2
    counts = [int(np.count_nonzero(values == total))]
    for size in range(2, largest + 1):
        if size > n:
            counts.append(0)
            continue
        picks = np.triu_indices(n, 1) if size == 2 and n > 2 * _COMBINATION_MAX_ITEMS else _subsets(n, size)
        counts.append(int(np.count_nonzero(sum(values[p] for p in picks) == total)))
    return counts


#: no-match payments only for customers with at most this many open items (cost of the check)
_NO_MATCH_MAX_ITEMS = 200


def _reachable(values: np.ndarray, total: int) -> bool:
    """Whether any 1 to 4 of the values could sum to total.

    Meet in the middle over pair sums; pairs may share an item, so this errs towards True,
    which is the safe side for a payment that must match nothing.
    """
    if np.any(values == total):
        return True
    i, j = _subsets(len(values), 2) if len(values) <= 2 * _COMBINATION_MAX_ITEMS else np.triu_indices(len(values), 1)
    pairs = np.sort(values[i] + values[j])
    if len(pairs) == 0:
        return False

    def contains(wanted: np.ndarray) -> bool:
        at = np.minimum(np.searchsorted(pairs, wanted), len(pairs) - 1)
        return bool(np.any(pairs[at] == wanted))

    return contains(np.asarray([total])) or contains(total - values) or contains(total - pairs)


class _PaymentBuilder:
    """Draws payments scenario by scenario, keeping every label unambiguous.

    Items are taken at most once (``free``); scenarios that change item amounts (ambiguous)
    run first, and the amount-only scenarios run last so their uniqueness checks see the final
    amounts, including what partial payments will leave open.
    """

    def __init__(self, rng: np.random.Generator, items: _Items, cust: _Customers, params: _Params) -> None:
        self.rng = rng
        self.items = items
        self.cust = cust
        last = np.busday_offset(np.datetime64(params.as_of, "D"), 0, roll="backward")
        # bank value dates: the last ten business days up to the extract date
        self.window = np.busday_offset(last, -np.arange(9, -1, -1)).astype(np.int64)
        it = items
        self.free = (it.doc_type == _INV) & ~it.disputed & (it.open > 0)
        self.full = it.open == it.amount
        self.after = it.open.copy()  # open amount once partial payments are applied
        self.partial = np.zeros(len(it.cust), dtype=bool)
        self.drafts: list[_Draft] = []

    # -- helpers ------------------------------------------------------------------------------

    def _value_date(self, *item_rows: int) -> int:
        draw = int(self.window[self.rng.integers(0, len(self.window))])
        return max([draw] + [int(self.items.doc_date[i]) for i in item_rows])

    def _value_dates(self, rows: np.ndarray) -> np.ndarray:
        draw = self.window[self.rng.integers(0, len(self.window), len(rows))]
        return np.maximum(draw, self.items.doc_date[rows])

    def _pick(self, mask: np.ndarray, k: int) -> np.ndarray:
        pool = np.flatnonzero(mask & self.free)
        rows = self.rng.choice(pool, size=min(k, len(pool)), replace=False) if len(pool) else pool
        self.free[rows] = False
        return rows

    def _anchors(self, mask: np.ndarray, k: int) -> Iterable[int]:
        pool = np.flatnonzero(mask)
        order = self.rng.permutation(pool)[: 20 * k + 100]
        return order.tolist()

    def _loop(self, k: int, mask: np.ndarray, attempt: Any) -> None:
        made = 0
        for a in self._anchors(mask, k):
            if made == k:
                break
            draft = attempt(a)
            if draft is not None:
                self.drafts.append(draft)
                made += 1

    def _slice(self, c: int) -> tuple[int, int]:
        return int(self.items.start[c]), int(self.items.end[c])

    # -- scenarios ----------------------------------------------------------------------------

    def ambiguous(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a] or not self.full[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            value = int(it.open[a])
            others = s + np.flatnonzero(self.free[s:e] & self.full[s:e])
            others = others[others != a]
            if len(others) == 0 or np.count_nonzero(it.open[s:e] == value) != 1:
                return None
            b = int(others[self.rng.integers(len(others))])
            # a second invoice of exactly the same amount: two equally good candidates
            it.amount[b] = it.open[b] = value
            self.free[a] = self.free[b] = False
            return _Draft("ambiguous", c, int(it.company[a]), value, self._value_date(a, b), remaining=value)

        self._loop(k, self.free & self.full, attempt)

    def discount(self, k: int) -> None:
        it = self.items
        low_window = int(self.window[0])
        eligible = self.full & (it.doc_date >= low_window - max(_DISCOUNT_DAYS)) & (it.amount >= 5_000)
        rows = self._pick(eligible, k)
        days = np.where(
            it.doc_date[rows] >= low_window - min(_DISCOUNT_DAYS),
            self.rng.choice(_DISCOUNT_DAYS, len(rows)),
            max(_DISCOUNT_DAYS),
        )
        bp = self.rng.choice(_DISCOUNT_BP, size=len(rows), p=_DISCOUNT_BP_SHARE)
        it.discount_bp[rows] = bp
        it.discount_days[rows] = days
        # pay on a business day inside both the discount period and the bank window
        low = np.maximum(it.doc_date[rows], low_window)
        high = _business_day(np.minimum(it.doc_date[rows] + days, int(self.window[-1])))
        span = np.busday_count(low.astype("datetime64[D]"), (high + 1).astype("datetime64[D]"))
        step = (self.rng.random(len(rows)) * span).astype(np.int64)
        value_date = np.busday_offset(low.astype("datetime64[D]"), step, roll="forward").astype(np.int64)
        disc = (it.open[rows] * bp + 5_000) // 10_000  # half-up on whole cents, amounts > 0
        for r, vd, d, p in zip(rows.tolist(), value_date.tolist(), disc.tolist(), bp.tolist()):
            opened = int(it.open[r])
            self.drafts.append(
                _Draft(
                    "discount",
                    int(it.cust[r]),
                    int(it.company[r]),
                    opened - d,
                    vd,
                    [r],
                    [opened - d],
                    [d],
                    discount_bp=p,
                )
            )

    def single(self, scenario: str, k: int) -> None:
        it = self.items
        cust_of = it.cust
        if scenario == "reference":
            mask = np.ones(len(cust_of), dtype=bool)
        elif scenario == "reference_iban_unidentified":
            mask = np.asarray([bool(x) for x in self.cust.ibans])[cust_of]
        elif scenario == "fuzzy_name_unidentified":
            mask = self.cust.name_unique[cust_of]
        elif scenario == "short_payment":
            mask = (it.discount_bp == 0) & (it.open >= 10_000)
        elif scenario == "partial":
            mask = it.open >= 5_000
        else:  # overpayment
            mask = np.ones(len(cust_of), dtype=bool)
        rows = self._pick(mask, k)
        n = len(rows)
        opened = it.open[rows]
        amount = opened.copy()
        writeoff = np.zeros(n, dtype=np.int64)
        remaining = np.zeros(n, dtype=np.int64)
        if scenario == "short_payment":
            # bank charges or rounding: cents or a few units, never beyond the tolerance
            short = np.where(self.rng.random(n) < 0.5, self.rng.integers(1, 100, n), self.rng.integers(1, 6, n) * 100)
            short = np.maximum(
                1,
                np.minimum(short, np.minimum(SHORT_PAYMENT_MAX_CENTS, opened * SHORT_PAYMENT_MAX_PERCENT // 100)),
            )
            amount = opened - short
            writeoff = short
        elif scenario == "partial":
            amount = (opened * self.rng.uniform(0.2, 0.8, n)).astype(np.int64)
            rounded = amount // 1_000 * 1_000  # people pay round instalments
            amount = np.where((self.rng.random(n) < 0.5) & (rounded > 0), rounded, amount)
            amount = np.maximum(1, amount)
            self.partial[rows] = True
            self.after[rows] = opened - amount
        elif scenario == "overpayment":
            surplus = np.maximum(1_000, (opened * self.rng.uniform(0.01, 0.2, n)).astype(np.int64))
            surplus = np.where(self.rng.random(n) < 0.4, np.maximum(1_000, surplus // 100 * 100), surplus)
            amount = opened + surplus
            remaining = surplus
        applied = np.where(scenario == "overpayment", opened, amount) if n else amount
        value_dates = self._value_dates(rows)
        for r, amt, app, wo, rem, vd in zip(
            rows.tolist(),
            amount.tolist(),
            applied.tolist(),
            writeoff.tolist(),
            remaining.tolist(),
            value_dates.tolist(),
        ):
            self.drafts.append(
                _Draft(
                    scenario,
                    int(cust_of[r]),
                    int(it.company[r]),
                    amt,
                    vd,
                    [r],
                    [app],
                    writeoff=[wo],
                    remaining=rem,
                )
            )

    def multi_reference(self, k: int) -> None:
        it = self.items
        credit_free = (it.doc_type == _CRN) & ~it.disputed

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            others = s + np.flatnonzero(self.free[s:e])
            others = others[others != a]
            if len(others) == 0:
                return None
            want = int(self.rng.choice((1, 1, 1, 2, 2, 3)))
            chosen = [a] + self.rng.choice(others, size=min(want, len(others)), replace=False).tolist()
            total = int(it.open[chosen].sum())
            credits = s + np.flatnonzero(credit_free[s:e])
            if len(credits) and self.rng.random() < 0.35:
                cr = int(credits[self.rng.integers(len(credits))])
                if total + int(it.open[cr]) > 0:
                    chosen.append(cr)
                    credit_free[cr] = False
                    total += int(it.open[cr])
            self.free[chosen] = False
            chosen_sorted = sorted(chosen, key=lambda i: (it.doc_type[i] != _INV, it.counter[i]))
            applied = [int(it.open[i]) for i in chosen_sorted]
            return _Draft(
                "multi_reference",
                c,
                int(it.company[a]),
                total,
                self._value_date(*chosen_sorted),
                chosen_sorted,
                applied,
            )

        self._loop(k, self.free, attempt)

    def exact_amount(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            value = int(it.open[a])
            if np.count_nonzero(it.open[s:e] == value) != 1 or np.any((self.after[s:e] == value) & self.partial[s:e]):
                return None
            self.free[a] = False
            return _Draft("exact_amount", c, int(it.company[a]), value, self._value_date(a), [a], [value])

        self._loop(k, self.free & self.full, attempt)

    def combination(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            if not self.free[a]:
                return None
            c = int(it.cust[a])
            s, e = self._slice(c)
            if e - s > _COMBINATION_MAX_ITEMS:
                return None
            others = s + np.flatnonzero(self.free[s:e] & self.full[s:e])
            others = others[others != a]
            if len(others) == 0:
                return None
            size = 3 if len(others) >= 2 and self.rng.random() < 0.4 else 2
            chosen = sorted([a] + self.rng.choice(others, size=size - 1, replace=False).tolist())
            total = int(it.open[chosen].sum())
            if not self._only_combination(s, e, total, size):
                return None
            self.free[chosen] = False
            applied = [int(it.open[i]) for i in chosen]
            return _Draft("combination", c, int(it.company[a]), total, self._value_date(*chosen), chosen, applied)

        self._loop(k, self.free & self.full, attempt)

    def _only_combination(self, s: int, e: int, total: int, size: int) -> bool:
        """True when exactly one set of items -- the chosen one -- sums to total.

        Checked on the open amounts and again on what partial payments leave open, because a
        matcher applies those first and their remainders can form a rival set.
        """
        for values in (self.items.open[s:e], self.after[s:e]):
            counts = _sum_counts(values, total)
            if counts[size - 1] != 1 or sum(counts) != 1:
                return False
        return True

    def no_match(self, k: int) -> None:
        it = self.items

        def attempt(a: int) -> _Draft | None:
            c = int(it.cust[a])
            s, e = self._slice(c)
            if e - s > _NO_MATCH_MAX_ITEMS:
                return None
            values = it.open[s:e]
            tolerance = np.maximum(SHORT_PAYMENT_MAX_CENTS * 2, np.abs(values) // 50)
            discounted = values - (values * it.discount_bp[s:e] + 5_000) // 10_000
            for _ in range(5):
                value = int(max(1_000, self.cust.scale[c] * self.rng.lognormal(0.0, 0.8)))
                # far from every item (no short payment or discount reading) and from any combination
                if np.any(np.abs(values - value) <= tolerance) or np.any(discounted == value):
                    continue
                if np.any(np.abs(self.after[s:e] - value) <= tolerance):
                    continue
                if _reachable(values, value) or _reachable(self.after[s:e], value):
                    continue
                return _Draft("no_match", c, int(it.company[a]), value, self._value_date(), remaining=value)
            return None

        self._loop(k, np.ones(len(it.cust), dtype=bool), attempt)

    def unidentified_unknown(self, k: int) -> None:
        company = self.rng.choice(3, size=k, p=_COUNTRY_SHARE)
        amount = np.maximum(1_000, 50_000 * self.rng.lognormal(0.0, 1.0, k)).astype(np.int64)
        value_dates = self.window[self.rng.integers(0, len(self.window), k)]
        for comp, amt, vd in zip(company.tolist(), amount.tolist(), value_dates.tolist()):
            self.drafts.append(_Draft("unidentified_unknown", -1, comp, amt, vd, remaining=amt))


def _make_payments(
    rng: np.random.Generator,
    items: _Items,
    cust: _Customers,
    state: _State,
    params: _Params,
    first_chunk: bool,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    n = int(rng.poisson(params.payments_per_customer * cust.n))
    wanted = dict(zip(SCENARIOS, rng.multinomial(n, list(SCENARIOS.values())).tolist()))
    if first_chunk:
        # a small demo set should still show every scenario once, where the data allows it
        for name in SCENARIOS:
            if wanted[name] == 0 and wanted["reference"] > 1:
                wanted[name] = 1
                wanted["reference"] -= 1
    b = _PaymentBuilder(rng, items, cust, params)
    b.ambiguous(wanted["ambiguous"])
    b.discount(wanted["discount"])
    for scenario in (
        "partial",
        "reference_iban_unidentified",
        "fuzzy_name_unidentified",
        "short_payment",
        "overpayment",
        "reference",
    ):
        b.single(scenario, wanted[scenario])
    b.multi_reference(wanted["multi_reference"])
    b.exact_amount(wanted["exact_amount"])
    b.combination(wanted["combination"])
    b.no_match(wanted["no_match"])
    b.unidentified_unknown(wanted["unidentified_unknown"])

    drafts = b.drafts
    # a bank statement lists lines by value date; shuffle first so scenarios interleave
    shuffled = rng.permutation(len(drafts))
    dates = np.asarray([drafts[i].value_date for i in shuffled], dtype=np.int64)
    drafts = [drafts[i] for i in shuffled[np.argsort(dates, kind="stable")]]
    counts = dict.fromkeys(SCENARIOS, 0)
    for d in drafts:
        counts[d.scenario] += 1
    payments, truth = _payment_rows(rng, drafts, items, cust, state)
    return payments, truth, counts


def _payment_rows(
    rng: np.random.Generator, drafts: list[_Draft], items: _Items, cust: _Customers, state: _State
) -> tuple[dict[str, Any], dict[str, Any]]:
    n = len(drafts)
    u = rng.random((n, 12))
    cols: dict[str, list[Any]] = {k: [] for k in schemas.PAYMENTS.names}
    truth: dict[str, list[Any]] = {k: [] for k in GROUND_TRUTH_COLUMNS}
    truth_money: dict[str, list[int]] = {
        k: [] for k in ("applied_amount", "discount_amount", "writeoff_amount", "remaining_amount")
    }
    amounts = np.asarray([d.amount for d in drafts], dtype=np.int64)
    value_dates = np.asarray([d.value_date for d in drafts], dtype=np.int64)
    date_digits = [t.replace("-", "") for t in _date_text(value_dates).tolist()]
    for i, d in enumerate(drafts):
        r = u[i]
        state.payments += 1
        payment_id = f"P{state.payments:07d}"
        company = _COMPANY_CODES[d.company]
        c = d.cust
        known = c >= 0
        customer_id = str(cust.ids[c]) if known else ""
        ibans = cust.ibans[c] if known else []
        language = cust.language[c] if known else _HOME_LANGUAGE[d.company]
        if d.scenario == "unidentified_unknown":
            payer, iban, shown_id = _UNKNOWN_PAYERS[int(r[0] * len(_UNKNOWN_PAYERS))], "", ""
        elif d.scenario == "reference_iban_unidentified":
            payer = _mangle_name(cust.names[c], r[0]) if r[1] < 0.9 else ""
            iban, shown_id = ibans[int(r[2] * len(ibans))], ""
        elif d.scenario == "fuzzy_name_unidentified":
            payer, iban, shown_id = _mangle_name(cust.names[c], r[0], keep_identity=True), "", ""
        else:
            payer = _mangle_name(cust.names[c], r[0])
            iban = ibans[int(r[2] * len(ibans))] if ibans and r[1] < 0.8 else ""
            shown_id = customer_id
        text = _remittance(d, items, language, customer_id, int(value_dates[i]), r)
        cols["payment_id"].append(payment_id)
        cols["company_code"].append(company)
        cols["customer_id"].append(shown_id)
        cols["payer_name"].append(payer)
        cols["payer_iban"].append(iban)
        cols["remittance_info"].append(text)
        cols["bank_reference"].append("NONREF" if r[11] < 0.1 else f"{date_digits[i]}{state.payments:08d}")
        cols["currency"].append(_CURRENCIES[d.company])

        matchable = "false" if d.scenario in NOT_MATCHABLE else "true"
        rows = list(zip(d.items, d.applied, d.discount, d.writeoff)) or [(None, 0, 0, 0)]
        for item, applied, disc, wo in rows:
            truth["payment_id"].append(payment_id)
            truth["scenario"].append(d.scenario)
            truth["matchable"].append(matchable)
            truth["company_code"].append(company)
            truth["document_no"].append(items.document_no[item] if item is not None else "")
            truth_money["applied_amount"].append(applied)
            truth_money["discount_amount"].append(disc)
            truth_money["writeoff_amount"].append(wo)
            truth_money["remaining_amount"].append(d.remaining)
    cols["value_date"] = _date_text(value_dates)
    cols["amount"] = _money_text(amounts)
    for k, v in truth_money.items():
        truth[k] = _money_text(np.asarray(v, dtype=np.int64))
    return cols, truth


def _mangle_name(name: str, u: float, keep_identity: bool = False) -> str:
    """The payer name as a bank delivers it: upper case, no umlauts, punctuation lost, cut off.

    With ``keep_identity`` the result still names exactly one customer (no truncation, legal
    form kept), as a fuzzy-name match needs.
    """
    if keep_identity:
        if u < 0.3:
            return name.upper()
        plain = name.translate(_TRANSLIT).upper().replace("&", " ").replace(".", "").replace(",", "")
        return " ".join(plain.split())
    if u < 0.30:
        return name
    if u < 0.50:
        return name.upper()
    plain = " ".join(name.translate(_TRANSLIT).upper().replace("&", " ").replace(".", "").replace(",", "").split())
    if u < 0.75:
        return plain
    if u < 0.90:
        return plain[:27].rstrip()  # the 27-character name field of older bank formats
    for form in _LEGAL_SUFFIXES:  # legal form left off
        if name.endswith(" " + form):
            return name[: -len(form) - 1].rstrip(",")
    return name


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


def _remittance(d: _Draft, items: _Items, language: str, customer_id: str, value_date: int, r: np.ndarray) -> str:
    def pick(options: Sequence[str], x: float) -> str:
        return options[int(x * len(options)) % len(options)]

    scenario = d.scenario
    if scenario == "unidentified_unknown":
        return pick(_UNKNOWN_TEXT[language], r[3])
    if not d.items or scenario in ("exact_amount", "combination"):
        text = pick(_NO_REFERENCE_TEXT[language], r[3])
    elif scenario == "multi_reference":
        invoices = [i for i in d.items if items.doc_type[i] == _INV]
        credits = [i for i in d.items if items.doc_type[i] != _INV]
        quoted = [_quote_document(items, i, r[4], allow_reference=False) for i in invoices]
        joiner = pick(_LIST_JOINERS, r[5])
        listed = (
            joiner.join(quoted)
            if r[6] < 0.7 or len(quoted) < 2
            else joiner.join(quoted[:-1]) + _LAST_JOINER[language] + quoted[-1]
        )
        if credits:
            credit = _quote_document(items, credits[0], r[4], allow_reference=False)
            text = pick(_MULTI_CREDIT_TEXT[language], r[3]).format(l=listed, c=credit)
        else:
            text = pick(_MULTI_TEXT[language], r[3]).format(l=listed)
    else:
        row = d.items[0]
        quoted = _quote_document(items, row, r[4], allow_reference=True, language=language)
        if items.ref_kind[row] != _REF_NONE and items.ref_text[row].replace(" ", "")[-10:] in quoted.replace(" ", ""):
            text = pick(_REF_TEXT[language], r[3]).format(x=quoted)
        else:
            text = pick(_SINGLE_TEXT[language], r[3]).format(x=quoted)
            if items.ref_kind[row] == _REF_PO and r[5] < 0.25:
                text = f"{text} / {items.ref_text[row]}"  # "INV 123 / PO 4500012345"
        if scenario == "discount" and r[6] < 0.6:
            bp = d.discount_bp
            pct = f"{bp // 100}" if bp % 100 == 0 else f"{bp // 100}{'.' if language == 'en' else ','}{bp % 100 // 10}"
            text = f"{text} {_DISCOUNT_NOTE[language].format(p=pct)}"
        elif scenario == "short_payment" and r[6] < 0.3:
            text = f"{text} {_SHORT_NOTE[language]}"
        elif scenario == "partial" and r[6] < 0.8:
            text = pick(_PARTIAL_TEXT[language], r[7]).format(s=text)
    if r[8] < 0.12:
        # numbers that are not document numbers: a date, the amount, the customer number
        day = np.datetime64(value_date - 1 - int(r[9] * 20), "D").astype(object)
        dates = {"de": f"{day:%d.%m.%Y}", "es": f"{day:%d/%m/%Y}", "en": f"{day:%m/%d/%Y}"}
        noise = pick(_NOISE[language], r[10])
        if "{k}" in noise and not customer_id:
            noise = _NOISE[language][0]
        noise = noise.format(d=dates[language], a=_local_amount(d.amount, language), k=customer_id)
        text = f"{text} {noise}".strip()
    if r[7] < 0.12:
        text = text.lower()
    elif r[7] > 0.92:
        text = text.upper()
    if r[9] < 0.08:
        text = text.replace(" ", "  ", 1) + " "  # bank formats pad and double spaces
    return text[:140]


def _local_amount(cents: int, language: str) -> str:
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}"
    if language == "en":
        return f"{grouped}.{rest:02d}"
    return f"{grouped.replace(',', '.')},{rest:02d}"


# --------------------------------------------------------------------------------------------
# Output: column formatting and CSV writers
# --------------------------------------------------------------------------------------------


def _money_text(cents: np.ndarray) -> np.ndarray:
    """Integer cents as plain decimal text with two places ('-1234.50')."""
    cents = np.asarray(cents, dtype=np.int64)
    magnitude = np.abs(cents)
    text = np.strings.add(
        np.strings.add((magnitude // 100).astype(_STRING), "."),
        np.strings.zfill((magnitude % 100).astype(_STRING), 2),
    )
    return np.where(cents < 0, np.strings.add("-", text), text)


def _date_text(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as ISO dates; negative means blank."""
    days = np.asarray(days, dtype=np.int64)
    # a few hundred distinct days among a million rows: format each day once
    distinct, index = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(distinct.astype("datetime64[D]")).astype(object)
    text[distinct < 0] = ""
    return text[index]


def _bool_text(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false")


def _open_item_columns(items: _Items, cust: _Customers) -> dict[str, Any]:
    bp = items.discount_bp
    pct = np.strings.add(
        np.strings.add((bp // 100).astype(_STRING), "."), np.strings.zfill((bp % 100).astype(_STRING), 2)
    )
    return {
        "company_code": np.asarray(_COMPANY_CODES)[items.company],
        "document_no": items.document_no,
        "document_type": np.asarray(_DOC_TYPES)[items.doc_type],
        "customer_id": cust.ids[items.cust],
        "document_date": _date_text(items.doc_date),
        "due_date": _date_text(items.due_date),
        "currency": np.asarray(_CURRENCIES)[items.company],
        "amount": _money_text(items.amount),
        "open_amount": _money_text(items.open),
        "reference": items.ref_text,
        "dunning_block": _bool_text(items.block),
        "discount_pct": np.where(bp > 0, pct, ""),
        "discount_days": np.where(bp > 0, items.discount_days.astype(_STRING), ""),
    }


def _cleared_columns(cleared: _Cleared, cust: _Customers) -> dict[str, Any]:
    return {
        "company_code": np.asarray(_COMPANY_CODES)[cleared.company],
        "document_no": cleared.document_no,
        "customer_id": cust.ids[cleared.cust],
        "document_date": _date_text(cleared.doc_date),
        "due_date": _date_text(cleared.due_date),
        "currency": np.asarray(_CURRENCIES)[cleared.company],
        "amount": _money_text(cleared.amount),
        "clearing_date": _date_text(cleared.clearing_date),
    }


def _fx_rates(rng: np.random.Generator, as_of: date) -> dict[str, Any]:
    """EUR is the base; USD at month-ends of the last half year and at the extract date."""
    month_ends = [np.datetime64(as_of, "M") - k for k in range(6, 0, -1)]
    days = [int(((m + 1).astype("datetime64[D]") - 1).astype(np.int64)) for m in month_ends]
    days.append(int(np.datetime64(as_of, "D").astype(np.int64)))
    days = sorted(set(days))
    # a daily-ish random walk around 0.92 EUR per USD, in millionths
    usd = 920_000 + np.cumsum(rng.integers(-6_000, 6_001, len(days)))
    rate_text = [f"{v // 10**6}.{v % 10**6:06d}" for v in usd.tolist()]
    dates = _date_text(np.asarray(days, dtype=np.int64)).tolist()
    return {
        "currency": ["EUR"] * len(days) + ["USD"] * len(days),
        "rate_to_base": ["1.000000"] * len(days) + rate_text,
        "rate_date": dates + dates,
    }


_FILES = {
    "customers": ("customers.csv", schemas.CUSTOMERS.names),
    "open_items": ("open_items.csv", schemas.OPEN_ITEMS.names),
    "payments": ("payments.csv", schemas.PAYMENTS.names),
    "disputes": ("disputes.csv", schemas.DISPUTES.names),
    "promises": ("promises.csv", schemas.PROMISES.names),
    "cleared_items": ("cleared_items.csv", schemas.CLEARED_ITEMS.names),
    "fx_rates": ("fx_rates.csv", schemas.FX_RATES.names),
    "ground_truth": (GROUND_TRUTH_FILE, list(GROUND_TRUTH_COLUMNS)),
}


class _Writers:
    """One open CSV per extract; chunks are appended and hashed as they are written."""

    _BATCH = 50_000  # rows converted to Python strings at a time, to bound memory

    def __init__(self, out_dir: Path) -> None:
        self.files = {key: path for key, (path, _) in _FILES.items()}
        self.counts = dict.fromkeys(_FILES, 0)
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self._hashes = {key: hashlib.sha256() for key in _FILES}
        self._buffers = {key: io.StringIO() for key in _FILES}
        for key, (path, columns) in _FILES.items():
            handle = open(out_dir / path, "w", encoding="utf-8", newline="")
            self._handles[key] = handle
            self._writers[key] = csv.writer(self._buffers[key], lineterminator="\n")
            self._writers[key].writerow(columns)
            self._flush(key)

    def _flush(self, key: str) -> None:
        buffer = self._buffers[key]
        text = buffer.getvalue()
        self._handles[key].write(text)
        self._hashes[key].update(text.encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()

    def write(self, key: str, columns: dict[str, Any]) -> None:
        names = _FILES[key][1]
        if list(columns) != list(names):
            raise AssertionError(f"{key}: columns {list(columns)} do not follow the schema {names}")
        n = len(next(iter(columns.values())))
        for lo in range(0, n, self._BATCH):
            hi = min(n, lo + self._BATCH)
            parts = [_as_list(columns[name][lo:hi]) for name in names]
            self._writers[key].writerows(zip(*parts))
            self._flush(key)
        self.counts[key] += n

    def sha256(self, key: str) -> str:
        return self._hashes[key].hexdigest()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()


def _as_list(values: Any) -> list[str]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _write_manifest(
    out_dir: Path, summary: GenerationSummary, params: _Params, chunk_customers: int, digests: dict[str, str]
) -> None:
    """Everything needed to regenerate or verify the set; no timestamps, so it is reproducible."""
    manifest = {
        "generator": "receivables.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": summary.seed,
        "as_of": summary.as_of.isoformat(),
        "parameters": {
            "customers": summary.customers,
            "items_per_customer": params.items_per_customer,
            "payments_per_customer": params.payments_per_customer,
            "chunk_customers": chunk_customers,
        },
        "base_currency": "EUR",
        "company_codes": {
            code: {"country": country, "currency": currency}
            for code, country, currency in zip(_COMPANY_CODES, _COUNTRIES, _CURRENCIES)
        },
        "counts": summary.counts,
        "scenarios": dict(summary.scenarios),
        "files": digests,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
