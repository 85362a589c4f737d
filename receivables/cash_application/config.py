"""The matching rules: one pydantic model per rule, ``MatchingRules`` (which rules run, in which
order, how sure each one is) and ``load_matching_rules`` reading ``configs/matching.yaml``."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from receivables.config_folder import ConfigFolder
from receivables.money import CentAmount, StrictModel
from receivables.settings import load_yaml_model

Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


class ReferenceNormalisation(StrictModel):
    """How remittance text and document numbers are cut into comparable tokens."""

    #: characters that end a token (whitespace always does)
    delimiters: str = ",;:/\\()[]{}<>|#*+='\"!?&"
    #: characters dropped *inside* a token: "F-2026-000123" and "f2026000123" are the same
    separators: str = "-._"
    #: "0009000012345" and "9000012345" are the same number, "INV-000123" and "INV 123" too
    strip_leading_zeros: bool = True
    #: words glued to a number that are not part of it ("RE9000012345", "Nr.123")
    prefixes: list[str] = Field(
        default_factory=lambda: [
            "RE",
            "RG",
            "RECH",
            "RECHNUNG",
            "NR",
            "NO",
            "INV",
            "INVOICE",
            "FAC",
            "FACT",
            "FACTURA",
            "FRA",
            "DOC",
            "BELEG",
            "GS",
            "GUTSCHRIFT",
            "CN",
            "PO",
            "BESTELLUNG",
            "REF",
        ]
    )
    #: join consecutive short tokens ("RF18 5390 0754 7034", "9000 0123 45") when, and only
    #: when, the joined text is a known document number or reference
    join_groups: bool = True
    max_group_length: int = Field(6, ge=1, le=12)
    max_groups: int = Field(7, ge=2, le=12)
    min_joined_length: int = Field(4, ge=2)
    #: "9000012345-9000012346" names two documents, but only when every part is at least this
    #: long: "2026-0123-9" must never match document 123
    min_part_length: int = Field(6, ge=2)
    #: words of an item's free-text reference ("PO 4500012345") that are indexed on their own:
    #: they must contain a digit and be at least this long (normalised); never the groups of an
    #: RF creditor reference
    min_reference_token_length: int = Field(6, ge=1)
    #: a token that hits more items than this is a generic word, not a reference
    max_items_per_token: int = Field(50, ge=1)


class ReferenceRule(StrictModel):
    """Document number or payment reference in the remittance text; settles what it names."""

    name: Literal["reference"]
    enabled: bool = True
    #: the referenced items add up to the payment exactly
    confidence: Confidence = 0.99
    #: only some of the referenced items add up to the payment (exactly one such subset)
    subset_confidence: Confidence = 0.95
    max_subset_items: int = Field(12, ge=1, le=16)
    #: the referenced items belong to a customer other than the payment's: likely a typo
    other_customer_factor: Confidence = 0.5
    normalisation: ReferenceNormalisation = Field(default_factory=ReferenceNormalisation)


class PayerIdentificationRule(StrictModel):
    """Find the customer of a bank line without one: payer IBAN, then the payer name."""

    name: Literal["payer_identification"]
    enabled: bool = True
    iban_confidence: Confidence = 0.99
    name_confidence: Confidence = 0.96
    name_scorer: Literal["ratio", "token_sort_ratio", "token_set_ratio", "WRatio"] = "token_sort_ratio"
    #: 0..100; the best name must score at least this ...
    name_score_cutoff: float = Field(90.0, ge=0, le=100)
    #: ... and beat the runner-up by at least this much
    name_margin: float = Field(5.0, ge=0, le=100)
    #: payer-name lengths at which banks cut names off (the 27 characters of older German
    #: formats, SWIFT's 35): such a name is also compared with the start of each name
    truncated_lengths: list[int] = Field(default_factory=lambda: [27, 35])
    #: a name word shared by more customers than this does not narrow the search on its own
    max_block_size: int = Field(2000, ge=1)
    #: legal forms and filler words: compared (they tell "X GmbH" from "X AG") but never used
    #: to find candidates, since thousands of customers share them
    stop_words: list[str] = Field(
        default_factory=lambda: [
            "gmbh",
            "mbh",
            "ag",
            "kg",
            "ohg",
            "ug",
            "ev",
            "ek",
            "kgaa",
            "se",
            "co",
            "und",
            "and",
            "y",
            "e",
            "sa",
            "sl",
            "slu",
            "sau",
            "scp",
            "scoop",
            "sc",
            "srl",
            "spa",
            "sarl",
            "sas",
            "bv",
            "nv",
            "ltd",
            "limited",
            "llc",
            "inc",
            "plc",
            "llp",
            "lp",
            "corp",
            "corporation",
            "company",
            "the",
            "de",
            "of",
            "hermanos",
            "hijos",
            "brothers",
            "sons",
        ]
    )


class ExactAmountRule(StrictModel):
    """Exactly one open invoice of the customer has the payment's amount."""

    name: Literal["exact_amount"]
    enabled: bool = True
    confidence: Confidence = 0.95
    #: several invoices have the amount: the oldest is suggested with this confidence
    ambiguous_confidence: Confidence = 0.5


class CombinationRule(StrictModel):
    """Exactly one set of the customer's open items (2..max_items) adds up to the payment."""

    name: Literal["combination"]
    enabled: bool = True
    confidence: Confidence = 0.92
    #: per number of items, overriding ``confidence``: the more items, the likelier a sum to
    #: the cent is a coincidence
    confidence_by_size: dict[int, Confidence] = Field(default_factory=lambda: {4: 0.8})
    ambiguous_confidence: Confidence = 0.5
    max_items: int = Field(4, ge=2, le=4)
    #: items searched (oldest first); a customer with more open items than this can only get
    #: suggestions, since a solution among some of them cannot be proven the only one
    max_candidates: int = Field(60, ge=2, le=200)


class CashDiscountRule(StrictModel):
    """The payment is the invoice less its cash discount (Skonto), paid within the terms."""

    name: Literal["cash_discount"]
    enabled: bool = True
    confidence: Confidence = 0.97
    ambiguous_confidence: Confidence = 0.5
    #: days after document_date + discount_days a bank transfer may still arrive
    grace_days: int = Field(0, ge=0, le=60)
    #: customers round the discount their own way
    rounding_tolerance: CentAmount = Decimal("0.01")


class ShortPaymentRule(StrictModel):
    """The payment falls short of the item by no more than the write-off tolerance."""

    name: Literal["short_payment"]
    enabled: bool = True
    confidence: Confidence = 0.95
    ambiguous_confidence: Confidence = 0.5
    #: the tolerance is the lower of the absolute amount and the percentage of the item
    tolerance_abs: CentAmount = Decimal("5.00")
    tolerance_pct: Decimal = Field(Decimal("1.0"), ge=0, le=100)


class PartialPaymentRule(StrictModel):
    """A payment below the one invoice it names is applied to it; the rest stays open."""

    name: Literal["partial_payment"]
    enabled: bool = True
    confidence: Confidence = 0.92
    #: below several named invoices: which ones it pays is a guess (oldest first)
    multi_item_confidence: Confidence = 0.6


class OverpaymentRule(StrictModel):
    """A payment above the items it names settles them; the excess stays unapplied (credit)."""

    name: Literal["overpayment"]
    enabled: bool = True
    confidence: Confidence = 0.93


Rule = Annotated[
    ReferenceRule
    | PayerIdentificationRule
    | ExactAmountRule
    | CombinationRule
    | CashDiscountRule
    | ShortPaymentRule
    | PartialPaymentRule
    | OverpaymentRule,
    Field(discriminator="name"),
]
RULE_NAMES = (
    "reference",
    "payer_identification",
    "exact_amount",
    "combination",
    "cash_discount",
    "short_payment",
    "partial_payment",
    "overpayment",
)


def _default_rules() -> list[Any]:
    return [
        ReferenceRule(name="reference"),
        PayerIdentificationRule(name="payer_identification"),
        ExactAmountRule(name="exact_amount"),
        CombinationRule(name="combination"),
        CashDiscountRule(name="cash_discount"),
        ShortPaymentRule(name="short_payment"),
        PartialPaymentRule(name="partial_payment"),
        OverpaymentRule(name="overpayment"),
    ]


class MatchingRules(StrictModel):
    """The cash-application rules: which run, in which order, how sure each one is."""

    #: an application at or above this confidence is posted; below it, suggested
    auto_threshold: Confidence = 0.9
    rules: list[Rule] = Field(default_factory=_default_rules)

    @model_validator(mode="after")
    def _unique(self) -> MatchingRules:
        seen = Counter(r.name for r in self.rules)
        twice = sorted(n for n, c in seen.items() if c > 1)
        if twice:
            raise ValueError(f"rule(s) listed more than once: {', '.join(twice)}")
        return self

    def rule(self, name: str) -> Any:
        """The enabled rule of that name, or None."""
        for r in self.rules:
            if r.name == name and r.enabled:
                return r
        return None


def load_matching_rules(path: Path | None = None) -> MatchingRules:
    """The rules from ``configs/matching.yaml`` (or ``path``); a bad file raises ConfigError."""
    path = Path(path) if path is not None else ConfigFolder().file("matching.yaml")
    return load_yaml_model(path, MatchingRules, "Matching rules file", "auto_threshold, rules", _rule_location)


def _rule_location(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    # pydantic says "rules.2.reference.confidence"; a person wants the rule's name, not its slot
    parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") or []
        name = rules[loc[1]].get("name") if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) else None
        rest = [str(p) for p in loc[2:] if p != name]
        parts = [f"rules[{loc[1]}]" + (f" ({name})" if name else "")] + rest
    return ".".join(parts) or "(top level)"
