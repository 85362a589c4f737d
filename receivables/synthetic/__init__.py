"""Seeded synthetic extract sets, with ground-truth labels for cash application.

Collections teams cannot hand out their ERP data, yet the pipeline has to be exercised, tuned
and benchmarked on something that behaves like it.  This package writes a complete canonical
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
``disputes.csv``, ``promises.csv``, ``cleared_items.csv``, ``fx_rates.csv``, ``activities.csv``
(the collectors' contact log, some of its contacts promises to pay), ``payment_plans.csv`` and
``plan_instalments.csv`` (a few plans, current and broken), all with the canonical
columns in schema order (UTF-8 without BOM, comma, header row, ISO dates, amounts like
``-1234.50``, booleans ``true``/``false``, blank when missing), ``ground_truth/cash_application.csv``
and ``manifest.json`` (seed, as_of, parameters, row counts, scenario counts, sha256 per file).

The ground truth has one row per expected (payment, open item) application -- payment_id,
scenario, matchable, company_code, document_no, applied_amount (cash; negative for a credit
note netted in the payment), discount_amount, writeoff_amount, remaining_amount (the part of
the payment that stays unapplied, repeated on each row) -- and a single row with a blank
document_no for a payment nobody should apply.  Per payment, sum(applied) + remaining = amount.

Generation runs per chunk of customers with vectorised numpy and appends to the files, so a
million open items fit in a few hundred MB.  Money is integer cents (int64) throughout and only
becomes text when a row is written.  The same seed and arguments give byte-identical files.

The modules follow the order a chunk is generated in: ``customers`` (with ``names`` and
``ibans``), ``open_items`` and ``cleared_items``, ``document_numbers``, ``disputes``,
``payment_scenarios`` (with ``amount_combinations``) and ``payments`` (with ``remittance``),
``promises``, ``activities`` (the contact log), ``payment_plans``, ``fx_rates``; ``generation`` runs them,
``writer`` and ``manifest`` write the result.  All of them share ``companies`` (the
per-company tables), ``run_state`` (parameters and the counters that run across chunks) and
``text_columns`` (cents, days and flags as text).  Only the names below are the package's
interface.
"""

from receivables.synthetic.generation import DEFAULT_AS_OF, generate_extract_set
from receivables.synthetic.manifest import GENERATOR_VERSION, GenerationSummary
from receivables.synthetic.payment_scenarios import (
    NOT_MATCHABLE,
    SCENARIOS,
    SHORT_PAYMENT_MAX_CENTS,
    SHORT_PAYMENT_MAX_PERCENT,
)
from receivables.synthetic.payments import GROUND_TRUTH_COLUMNS, GROUND_TRUTH_FILE

__all__ = [
    "DEFAULT_AS_OF",
    "GENERATOR_VERSION",
    "GROUND_TRUTH_COLUMNS",
    "GROUND_TRUTH_FILE",
    "NOT_MATCHABLE",
    "SCENARIOS",
    "SHORT_PAYMENT_MAX_CENTS",
    "SHORT_PAYMENT_MAX_PERCENT",
    "GenerationSummary",
    "generate_extract_set",
]
