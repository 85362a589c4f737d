"""Stage 3, apply cash: match unapplied payments to open items, rules in order.

``apply_cash`` takes the canonical ``open_items``, ``payments`` and ``customers`` frames and
returns what a cash-application clerk would post: applications (payment -> item, with the
rule that found it and a confidence), what stays unapplied and why, and the open items after
the *auto*-applied cash.  It is pure: no I/O except ``load_matching_rules`` reading
``configs/matching.yaml``.

Where things live: ``config`` (the rule models and ``load_matching_rules``), ``references``
(remittance text -> reference keys), ``remittances`` (every payment's text read at once, in
Arrow, with the same keys), ``item_book`` (the open items and their indexes),
``payers`` (customer look-up by IBAN and name), ``engine`` (payments, decisions, posting and
the ``apply_cash`` loop), ``rules/`` (one module per rule, each registering its step with the
engine) and ``result`` (``CashApplication`` and its columns).

How it works, and why it is shaped like this:

* Rules run **rule by rule**, not payment by payment: every payment gets the reference rule
  before any payment gets the amount-only rules, so a payment that names its invoice is never
  beaten to it by an unrelated payment that merely has the same amount.  Within a rule,
  payments go by value date, then payment id; an item consumed by an earlier payment has less
  open amount for later ones.  Nothing depends on the order of the input rows.
* Money stays in integer cents.  For every payment, the auto-applied amounts plus the
  unapplied remainder equal the amount received; no item's open amount crosses zero; nothing
  is ever applied across a company code or a currency.
* A match whose confidence is below ``auto_threshold`` is a *suggestion*: it is reported, it
  does not reduce any open amount, and the payment stays unapplied for its full amount.
* At a million open items the work is dictionary look-ups: a token index (normalised document
  number and payment reference -> items) and a group index ((company code, customer,
  currency) -> items), built once with vectorised pandas and Arrow; the reference rule reads
  every remittance text in one Arrow pass, looks the distinct keys it finds up in the token
  index at once, and only walks a text in Python where Arrow cannot (non-Latin text, a word
  glued to a number).  The combination search is bounded (arrays for a large pool) and only
  accepts a unique solution.
"""

# ``rules`` is imported for its side effect: each rule module registers its step with the engine.
from receivables.cash_application import rules  # noqa: F401
from receivables.cash_application.config import (
    RULE_NAMES,
    CashDiscountRule,
    CombinationRule,
    ExactAmountRule,
    MatchingRules,
    OverpaymentRule,
    PartialPaymentRule,
    PayerIdentificationRule,
    ReferenceNormalisation,
    ReferenceRule,
    Rule,
    ShortPaymentRule,
    load_matching_rules,
)
from receivables.cash_application.engine import apply_cash
from receivables.cash_application.payers import normalise_name
from receivables.cash_application.references import find_references, normalise_reference, rf_reference_valid
from receivables.cash_application.result import (
    APPLICATION_COLUMNS,
    IDENTIFICATION_COLUMNS,
    REASONS,
    UNAPPLIED_COLUMNS,
    CashApplication,
)

__all__ = [
    "APPLICATION_COLUMNS",
    "IDENTIFICATION_COLUMNS",
    "REASONS",
    "RULE_NAMES",
    "UNAPPLIED_COLUMNS",
    "CashApplication",
    "CashDiscountRule",
    "CombinationRule",
    "ExactAmountRule",
    "MatchingRules",
    "OverpaymentRule",
    "PartialPaymentRule",
    "PayerIdentificationRule",
    "ReferenceNormalisation",
    "ReferenceRule",
    "Rule",
    "ShortPaymentRule",
    "apply_cash",
    "find_references",
    "load_matching_rules",
    "normalise_name",
    "normalise_reference",
    "rf_reference_valid",
]
