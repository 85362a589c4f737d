"""Stage 3, apply cash: match unapplied payments to open items, rules in order.

``apply_cash`` takes the canonical ``open_items``, ``payments`` and ``customers`` frames and
returns what a cash-application clerk would post: applications (payment -> item, with the
rule that found it and a confidence), what stays unapplied and why, and the open items after
the *auto*-applied cash.  It is pure: no I/O except ``load_matching_rules`` reading
``configs/matching.yaml``.

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
  currency) -> items), built once with vectorised pandas.  The combination search is bounded
  and only accepts a unique solution.
"""

from __future__ import annotations

import gc
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator
from rapidfuzz import fuzz, process

from receivables.config_folder import ConfigFolder
from receivables.money import CentAmount, StrictModel, cents_array, to_cents
from receivables.settings import load_yaml_model

#: why (part of) a payment stays unapplied, in the order a person should look at them
REASONS = ("UNIDENTIFIED", "NO_MATCH", "AMBIGUOUS", "CURRENCY", "OVERPAYMENT")

APPLICATION_COLUMNS = [
    "payment_id",
    "company_code",
    "document_no",
    "customer_id",
    "applied_amount",
    "currency",
    "rule",
    "confidence",
    "status",
    "writeoff_amount",
    "discount_amount",
]
#: value_date (beyond the spec's columns) lets reports age unapplied cash without a join
UNAPPLIED_COLUMNS = [
    "payment_id",
    "company_code",
    "customer_id",
    "remaining_amount",
    "currency",
    "reason",
    "value_date",
]
IDENTIFICATION_COLUMNS = ["payment_id", "customer_id", "method", "score"]


# --- configuration ---------------------------------------------------------------------------


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


# --- references --------------------------------------------------------------------------------


def rf_reference_valid(text: str) -> bool:
    """An ISO 11649 creditor reference (``RF18539007547034``) with a valid check (mod 97)."""
    text = text.replace(" ", "").upper()
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", text):
        return False
    moved = text[4:] + text[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


#: zeros opening a run of digits: "INV-000123" and "inv 123" are the same document
_LEADING_ZEROS = re.compile(r"(^|[^0-9])0+([0-9])")
_DIGIT = re.compile(r"\d").search


class _Tokeniser:
    """Cuts remittance text into normalised candidate keys; one per reference normalisation."""

    def __init__(self, opts: ReferenceNormalisation) -> None:
        self.opts = opts
        delims = "".join(re.escape(c) for c in opts.delimiters)
        self.split = re.compile(rf"[\s{delims}]+")
        self.seps = re.compile("[" + "".join(re.escape(c) for c in opts.separators) + "]+") if opts.separators else None
        self._drop = str.maketrans("", "", opts.separators)
        self.prefix = re.compile(r"^([A-Z]+)(\d[0-9A-Z]*)$")
        self.prefixes = frozenset(p.upper().strip(opts.separators) for p in opts.prefixes)
        # the same rule as _LEADING_ZEROS, as a plain deletion (much faster per token)
        self._zeros = re.compile(r"(?<![0-9])0+(?=[0-9])") if opts.strip_leading_zeros else None
        self._cache: dict[str, str] = {}
        self._known: Collection[str] | None = None
        self._hits: dict[str, tuple[str, ...]] = {}

    def norm(self, token: str) -> str:
        """One token as a key: upper case, no separators, no leading zeros on a number."""
        key = self._cache.get(token)
        if key is None:
            key = token.upper().translate(self._drop)
            if self._zeros is not None and "0" in key:
                key = self._zeros.sub("", key)
            if len(self._cache) > 500_000:  # remittance texts repeat words, not numbers
                self._cache.clear()
            self._cache[token] = key
        return key

    def keys(self, text: str, known: Collection[str]) -> list[str]:
        """The known keys the text names, as whole tokens, in the order they appear."""
        opts = self.opts
        raw = self.split.split(text.upper())
        if opts.separators:
            raw = [t.strip(opts.separators) for t in raw]
        raw = [t for t in raw if t]
        found: list[str] = []
        i, n = 0, len(raw)
        short = opts.max_group_length
        join = opts.join_groups
        while i < n:
            token = raw[i]
            if join and len(token) <= short and i + 1 < n and len(raw[i + 1]) <= short and _DIGIT(raw[i + 1]):
                hit = self._group(raw, i, known)
                if hit is not None:
                    key, i = hit
                    found.append(key)
                    continue
            found.extend(self._single(token, known))
            i += 1
        return list(dict.fromkeys(found)) if len(found) > 1 else found

    def _group(self, raw: list[str], i: int, known: Collection[str]) -> tuple[str, int] | None:
        # Longest run first; every later token must carry a digit so words are never glued on.
        opts = self.opts
        end = i + 1
        while (
            end < len(raw) and end - i < opts.max_groups and len(raw[end]) <= opts.max_group_length and _DIGIT(raw[end])
        ):
            end += 1
        for stop in range(end, i + 1, -1):
            key = self.norm("".join(raw[i:stop]))
            if len(key) >= opts.min_joined_length and key in known:
                return key, stop
        return None

    def _single(self, token: str, known: Collection[str]) -> tuple[str, ...]:
        # words repeat across payments ("RECHNUNG", "PAGO"): remember what each one names
        if known is not self._known:
            self._known, self._hits = known, {}
        hit = self._hits.get(token)
        if hit is None:
            key = self.norm(token)
            hit = (key,) if key in known else tuple(self._variants(token, key, known))
            if len(self._hits) > 500_000:
                self._hits.clear()
            self._hits[token] = hit
        return hit

    def _variants(self, token: str, key: str, known: Collection[str]) -> list[str]:
        # "RE9000012345": a known word glued to a number
        m = self.prefix.match(key)
        if m and m.group(1) in self.prefixes:
            rest = self.norm(m.group(2))
            if rest in known:
                return [rest]
        # "9000012345-9000012346": two long numbers joined by a separator
        if self.seps is not None and self.seps.search(token):
            parts = [p for p in self.seps.split(token) if p]
            if len(parts) > 1 and all(len(p) >= self.opts.min_part_length for p in parts):
                return [k for k in (self.norm(p) for p in parts) if k in known]
        return []

    def norm_array(self, values: pa.Array) -> pa.Array:
        """``norm`` for a whole column in Arrow (same result as token by token, whitespace dropped)."""
        values = pc.utf8_upper(values)
        values = pc.replace_substring_regex(values, "[" + re.escape(self.opts.separators) + "\\s]+", "")
        if self.opts.strip_leading_zeros:
            values = pc.replace_substring_regex(values, _LEADING_ZEROS.pattern, r"\1\2")
        return values


def find_references(text: str, known: Collection[str], opts: ReferenceNormalisation | None = None) -> list[str]:
    """The keys from ``known`` (normalised document numbers or references) that ``text`` names.

    Whole tokens only: "123" is never found inside "91234" or "2026-0123-9".
    """
    return _Tokeniser(opts or ReferenceNormalisation()).keys(text, known)


def normalise_reference(token: str, opts: ReferenceNormalisation | None = None) -> str:
    """A document number or reference as the key it is looked up by."""
    return _Tokeniser(opts or ReferenceNormalisation()).norm(re.sub(r"\s+", "", token))


# --- payer names ---------------------------------------------------------------------------------

#: accents left as separate marks by NFKD (the combining diacritics block), to be dropped
_COMBINING = dict.fromkeys(range(0x300, 0x370))
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "&": " "})


def normalise_name(name: str, legal_forms: Collection[str] = ()) -> str:
    """A company name for comparison: no accents, case or punctuation (and no ``legal_forms``)."""
    s = unicodedata.normalize("NFKD", str(name).translate(_TRANSLIT)).translate(_COMBINING)
    s = s.casefold().replace(".", "")
    words = re.findall(r"[a-z0-9]+", s)
    kept = [w for w in words if w not in legal_forms]
    return " ".join(kept or words)


def _norm_iban(value: object) -> str:
    return re.sub(r"\s+", "", str(value)).upper()


# --- the item book -------------------------------------------------------------------------------

_DEBIT, _CREDIT, _NONE = 1, -1, 0
_NAT_DAY = np.iinfo(np.int64).min


def _days(series: pd.Series) -> np.ndarray:
    values = pd.to_datetime(series).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = values.astype(np.int64)
    out[np.isnat(values)] = _NAT_DAY
    return out


def _arrow_text(series: pd.Series) -> pa.Array:
    """A text column as an Arrow large-string array (blank = null); Arrow-backed ones as they are."""
    if isinstance(series.dtype, pd.StringDtype):
        values = pa.array(series.array)
    else:
        values = pa.array(
            [None if v is None or v is pd.NA or v != v else str(v) for v in series.tolist()], type=pa.large_string()
        )
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())


def _ppm(value: object) -> int:
    # a percentage as millionths, so discounts are computed in integers
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return 0
    return int((Decimal(str(value)) * 10_000).to_integral_value())


def _percent_of(cents: int, ppm: int) -> int:
    """``ppm`` millionths-of-100-% of an amount, rounded half-up like an invoice."""
    return (abs(cents) * ppm + 500_000) // 1_000_000


class _Book:
    """The open items as plain lists in (company_code, document_no) order, plus indexes."""

    def __init__(self, items: pd.DataFrame, tokeniser: _Tokeniser) -> None:
        keys = pa.table({"c": _arrow_text(items["company_code"]), "d": _arrow_text(items["document_no"])})
        #: book position -> row position in ``items``
        self.order = pc.sort_indices(keys, sort_keys=[("c", "ascending"), ("d", "ascending")]).to_numpy()
        order = self.order
        frame = items.iloc[order]
        self.labels = frame.index
        self.n = len(frame)
        self.company: list[str] = frame["company_code"].astype("string").tolist()
        self.customer: list[str] = frame["customer_id"].astype("string").tolist()
        self.currency: list[str] = frame["currency"].astype("string").tolist()
        self.document: list[str] = frame["document_no"].astype("string").tolist()
        open_ = cents_array(frame["open_amount"], what="open_items.open_amount")
        self.start = open_.copy()
        self.open: list[int] = open_.tolist()
        doc_type = frame["document_type"].astype("string").fillna("").str.upper().to_numpy(dtype=object)
        kind = np.zeros(self.n, dtype=np.int64)
        # Payments on account (PMT) are cash, not receivables: they are never matched.
        kind[(open_ > 0) & (doc_type != "PMT")] = _DEBIT
        kind[(open_ < 0) & np.isin(doc_type, ["CRN", "ADJ"])] = _CREDIT
        self.kind: list[int] = kind.tolist()
        self.due: list[int] = _days(frame["due_date"]).tolist()
        self.doc_date: list[int] = _days(frame["document_date"]).tolist()
        if "discount_pct" in frame and "discount_days" in frame:
            pct = frame["discount_pct"]
            codes, uniques = pd.factorize(pct.astype(object).where(pct.notna(), None), use_na_sentinel=True)
            lookup = np.array([_ppm(u) for u in uniques] + [0], dtype=np.int64)
            self.disc_ppm: list[int] = lookup[codes].tolist()
            days = pd.to_numeric(frame["discount_days"], errors="coerce")
            self.disc_days: list[int] = days.fillna(-1).astype(np.int64).tolist()
        else:
            self.disc_ppm = [0] * self.n
            self.disc_days = [-1] * self.n
        self.keys = self._token_index(frame, tokeniser)
        self.groups = self._group_index(frame)

    def _token_index(self, frame: pd.DataFrame, tok: _Tokeniser) -> dict[str, Any]:
        pos = np.arange(self.n, dtype=np.int64)
        keys = [tok.norm_array(_arrow_text(frame["document_no"]))]
        where = [pos]
        if "reference" in frame:
            ref = _arrow_text(frame["reference"])
            has = pc.is_valid(ref).to_numpy(zero_copy_only=False)
            if has.any():
                ref = ref.filter(pa.array(has))
                full = tok.norm_array(ref)
                keys.append(full)
                where.append(pos[has])
                # A free-text reference ("PO 4500012345") is also indexed by its number-like
                # words; an RF creditor reference only whole, its groups of four mean nothing.
                free = pc.invert(pc.match_substring_regex(full, r"^RF[0-9]{2}[0-9A-Z]+$")).to_numpy(
                    zero_copy_only=False
                )
                split = pc.split_pattern_regex(pc.utf8_upper(ref.filter(pa.array(free))), tok.split.pattern)
                words = tok.norm_array(pc.list_flatten(split))
                owner = pos[has][free][pc.list_parent_indices(split).to_numpy()]
                ok = pc.and_(
                    pc.greater_equal(pc.utf8_length(words), tok.opts.min_reference_token_length),
                    pc.match_substring_regex(words, r"[0-9]"),
                ).to_numpy(zero_copy_only=False)
                keys.append(words.filter(pa.array(ok)))
                where.append(owner[ok])
        # Dictionary-encode the keys once, then dedupe (key, item) pairs and find keys naming
        # several items with integer arithmetic: a million string comparisons avoided.
        every = pa.chunked_array([k.cast(pa.large_string()) for k in keys]).combine_chunks()
        owners = np.concatenate(where)
        usable = pc.fill_null(pc.greater(pc.utf8_length(every), 0), False).to_numpy(zero_copy_only=False)
        encoded = pc.dictionary_encode(every.filter(pa.array(usable)))
        codes = encoded.indices.to_numpy().astype(np.int64)
        pairs = np.sort(codes * max(self.n, 1) + owners[usable])
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
        code, item = np.divmod(pairs, max(self.n, 1))
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else np.array([], dtype=np.int64)
        counts = np.diff(np.r_[starts, len(code)])
        single = starts[counts == 1]
        words = encoded.dictionary
        index: dict[str, Any] = dict(zip(words.take(pa.array(code[single])).to_pylist(), item[single].tolist()))
        limit = tok.opts.max_items_per_token
        several = (counts > 1) & (counts <= limit)
        for start, count in zip(starts[several].tolist(), counts[several].tolist()):
            index[words[int(code[start])].as_py()] = tuple(item[start : start + count].tolist())
        return index

    def _group_index(self, frame: pd.DataFrame) -> dict[tuple[str, str, str], np.ndarray]:
        if not self.n:
            return {}
        a, ua = pd.factorize(frame["company_code"].astype("string"))
        b, ub = pd.factorize(frame["customer_id"].astype("string"))
        c, uc = pd.factorize(frame["currency"].astype("string"))
        code = (a.astype(np.int64) * len(ub) + b) * len(uc) + c
        due = np.asarray(self.due, dtype=np.int64)
        # oldest due date first, then document number (the position): the order people allocate in
        order = np.lexsort((np.arange(self.n), due, code))
        sorted_code = code[order]
        cuts = np.flatnonzero(np.diff(sorted_code)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [self.n]))
        groups: dict[tuple[str, str, str], np.ndarray] = {}
        for s, e in zip(starts.tolist(), ends.tolist()):
            first = int(order[s])
            groups[(self.company[first], self.customer[first], self.currency[first])] = order[s:e]
        return groups

    def lookup(self, key: str) -> tuple[int, ...]:
        hit = self.keys.get(key)
        if hit is None:
            return ()
        return hit if isinstance(hit, tuple) else (hit,)

    def group(self, company: str, customer: str, currency: str) -> list[int]:
        g = self.groups.get((company, customer, currency))
        return g.tolist() if g is not None else []

    def has_other_currency(self, company: str, customer: str, currency: str) -> bool:
        return any(
            k[0] == company and k[1] == customer and k[2] != currency for k in self._customer_keys(company, customer)
        )

    def _customer_keys(self, company: str, customer: str) -> list[tuple[str, str, str]]:
        if not hasattr(self, "_by_customer"):
            by: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
            for k in self.groups:
                by.setdefault((k[0], k[1]), []).append(k)
            self._by_customer = by
        return self._by_customer.get((company, customer), [])

    def discount(self, i: int, value_day: int, grace_days: int) -> int:
        """The cash discount item ``i`` allows for money arriving on ``value_day`` (0 if none)."""
        ppm, days = self.disc_ppm[i], self.disc_days[i]
        if ppm <= 0 or days < 0 or self.kind[i] != _DEBIT or self.doc_date[i] == _NAT_DAY:
            return 0
        if value_day > self.doc_date[i] + days + grace_days:
            return 0
        return _percent_of(self.open[i], ppm)


# --- payer directory -------------------------------------------------------------------------------


class _Payers:
    """Customer master look-ups for bank lines without a customer: IBAN, then fuzzy name."""

    def __init__(self, customers: pd.DataFrame, rule: PayerIdentificationRule) -> None:
        self.rule = rule
        cust = customers.copy()
        cust["customer_id"] = cust["customer_id"].astype("string")
        cust = cust[cust["customer_id"].notna()].sort_values("customer_id", kind="stable")
        self.ids: list[str] = cust["customer_id"].tolist()
        companies = (
            cust["company_code"].astype("string") if "company_code" in cust else pd.Series(pd.NA, index=cust.index)
        )
        self.company: list[Any] = companies.tolist()
        self.iban: dict[str, list[int]] = {}
        if "iban" in cust:
            ib = cust["iban"].astype("string")
            for idx, value in enumerate(ib.tolist()):
                if value is pd.NA or value is None:
                    continue
                for one in str(value).split(";"):
                    one = _norm_iban(one)
                    if one:
                        self.iban.setdefault(one, []).append(idx)
        self._names = cust["name"].astype("string").fillna("").tolist() if "name" in cust else [""] * len(self.ids)
        self._normalised: list[str] | None = None
        self._words: dict[str, list[int]] | None = None
        self.legal = frozenset(w.casefold() for w in rule.stop_words)
        self.scorer = getattr(fuzz, rule.name_scorer)

    def _build_names(self) -> None:
        self._normalised = [normalise_name(n) for n in self._names]
        words: dict[str, set[int]] = {}
        for idx, name in enumerate(self._normalised):
            for w in name.split():
                if len(w) >= 2 and w not in self.legal:
                    words.setdefault(w, set()).add(idx)
        self._words = words

    def by_iban(self, iban: str, company: str) -> tuple[str | None, bool]:
        """(customer, ambiguous): the one customer of ``company`` paying from this account."""
        hits = self.iban.get(_norm_iban(iban), [])
        if not hits:
            return None, False
        local = [h for h in hits if self.company[h] == company] or hits
        ids = sorted({self.ids[h] for h in local})
        return (ids[0], False) if len(ids) == 1 else (None, True)

    def by_name(self, name: str, company: str) -> tuple[str | None, float, bool]:
        """(customer, score, ambiguous): the customer whose name clearly wins, if one does."""
        if self._normalised is None:
            self._build_names()
        assert self._normalised is not None and self._words is not None
        query = normalise_name(name)
        if not query:
            return None, 0.0, False
        # Block on shared name words so a query is scored against a handful of names, not
        # 100,000: customers with its two rarest words (else two of its three rarest), else
        # with its rarest word.  A close rival shares those words too, so the margin still
        # sees it.
        postings = sorted(
            (len(p), w, p) for w in set(query.split()) if w not in self.legal and (p := self._words.get(w))
        )
        rare = [p for _, _, p in postings[:3]]
        pool: set[int] = set()
        for first, second in itertools.combinations(rare, 2):
            pool = first & second
            if pool:
                break
        if not pool and postings and postings[0][0] <= self.rule.max_block_size:
            pool = postings[0][2]
        candidates = [i for i in sorted(pool) if self.company[i] == company or self.company[i] is pd.NA]
        if not candidates:
            return None, 0.0, False
        choices = {i: self._normalised[i] for i in candidates}
        floor = max(0.0, self.rule.name_score_cutoff - self.rule.name_margin)
        scores = {
            i: s for _, s, i in process.extract(query, choices, scorer=self.scorer, limit=None, score_cutoff=floor)
        }
        if any(limit - 1 <= len(name.strip()) <= limit for limit in self.rule.truncated_lengths):
            # the bank cut the name at its field length (and dropped a trailing blank):
            # compare with the start of each name as well
            cut = {i: n[: len(query)] for i, n in choices.items()}
            for _, s, i in process.extract(query, cut, scorer=fuzz.ratio, limit=None, score_cutoff=floor):
                scores[i] = max(s, scores.get(i, 0.0))
        if not scores:
            return None, 0.0, False
        # rank by score, then customer id, so equal scores never depend on dictionary order
        ranked = sorted(((s, self.ids[i]) for i, s in scores.items()), key=lambda t: (-t[0], t[1]))
        top_score, top_id = ranked[0]
        if top_score < self.rule.name_score_cutoff:
            return None, top_score, False
        runner = next((s for s, cid in ranked[1:] if cid != top_id), None)
        if runner is not None and top_score - runner < self.rule.name_margin:
            return None, top_score, True
        return top_id, top_score, False


# --- payments being worked --------------------------------------------------------------------------

_REASON_RANK = {"NO_MATCH": 0, "UNIDENTIFIED": 0, "CURRENCY": 1, "OVERPAYMENT": 2, "AMBIGUOUS": 3}

# (item position, applied cents, discount cents, write-off cents)
Line = tuple[int, int, int, int]


@dataclass
class _Decision:
    rule: str
    confidence: float
    lines: list[Line]
    remainder: int = 0
    #: why the payment stays unapplied if this decision is only a suggestion
    reason: str = "NO_MATCH"


class _Payment:
    __slots__ = (
        "pid",
        "company",
        "currency",
        "amount",
        "day",
        "customer",
        "method",
        "score",
        "ident_conf",
        "text",
        "claimed",
        "done",
        "reason",
        "suggestion",
    )

    def __init__(
        self, pid: str, company: str, currency: str, amount: int, day: int, customer: str | None, text: str
    ) -> None:
        self.pid = pid
        self.company = company
        self.currency = currency
        self.amount = amount
        self.day = day
        self.customer = customer
        self.method = "given" if customer is not None else None
        self.score: float | None = None
        self.ident_conf = 1.0
        self.text = text
        #: the remittance names open items: amount-only rules must not override what it says
        self.claimed = False
        self.done = False
        self.reason: str | None = None
        self.suggestion: _Decision | None = None

    def note(self, reason: str) -> None:
        if self.reason is None or _REASON_RANK[reason] > _REASON_RANK[self.reason]:
            self.reason = reason


# --- the result ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CashApplication:
    """What stage 3 posts and leaves: applications, unapplied cash, open items after."""

    #: payment -> item, ``status`` 'applied' (posted) or 'suggested' (for review only)
    applications: pd.DataFrame
    #: what stays unapplied per payment, with a reason; suggested payments stay here in full
    unapplied: pd.DataFrame
    #: open_items (same index and columns) less the auto-applied cash, discount and write-off
    open_items_after: pd.DataFrame
    #: who paid: the given customer, or the one found by reference, IBAN or name
    identifications: pd.DataFrame

    @property
    def applied(self) -> pd.DataFrame:
        return self.applications[self.applications["status"] == "applied"]

    @property
    def suggested(self) -> pd.DataFrame:
        return self.applications[self.applications["status"] == "suggested"]

    @property
    def counts(self) -> dict:
        """The run log's facts of this result: every payment is applied, left (partly)
        unapplied with a reason, or both, so the two tables together name every payment."""
        applied = self.applied
        return {
            "payments": len(set(self.applications["payment_id"]) | set(self.unapplied["payment_id"])),
            "applications": len(applied),
            "suggestions": int((self.applications["status"] == "suggested").sum()),
            "payments_fully_applied": len(set(applied["payment_id"]) - set(self.unapplied["payment_id"])),
            "unapplied": {str(k): int(v) for k, v in self.unapplied["reason"].value_counts().sort_index().items()},
        }


# --- the engine ----------------------------------------------------------------------------------------


class _Engine:
    def __init__(self, book: _Book, rules: MatchingRules, tokeniser: _Tokeniser, payers: _Payers | None) -> None:
        self.book = book
        self.rules = rules
        self.tok = tokeniser
        self.payers = payers
        self.applications: list[tuple[_Payment, _Decision]] = []
        self.discount_rule: CashDiscountRule | None = rules.rule("cash_discount")
        self.short_rule: ShortPaymentRule | None = rules.rule("short_payment")
        self.partial_rule: PartialPaymentRule | None = rules.rule("partial_payment")
        self.over_rule: OverpaymentRule | None = rules.rule("overpayment")

    # posting ---------------------------------------------------------------------------------

    def settle(self, p: _Payment, d: _Decision) -> None:
        """Post a decision at or above the threshold; keep the best one below it as a suggestion."""
        if d.confidence >= self.rules.auto_threshold:
            open_ = self.book.open
            for i, applied, disc, wo in d.lines:
                before = open_[i]
                after = before - applied - disc - wo
                # the rules never produce this; if one ever did, posting it would corrupt the books
                if (before > 0 and not 0 <= after <= before) or (before < 0 and not before <= after <= 0):
                    raise AssertionError(f"payment {p.pid} would take item {self.book.document[i]} across zero")
                open_[i] = after
            p.done = True
            p.suggestion = None
            self.applications.append((p, d))
        else:
            if p.suggestion is None or d.confidence > p.suggestion.confidence:
                p.suggestion = d
            p.note(d.reason)

    def tolerance(self, open_cents: int) -> int:
        r = self.short_rule
        if r is None:
            return 0
        pct = (abs(open_cents) * int(r.tolerance_pct * 10_000)) // 1_000_000
        return min(to_cents(r.tolerance_abs), pct)

    # rule: reference ----------------------------------------------------------------------------

    def reference(self, p: _Payment, rule: ReferenceRule) -> None:
        if not p.text:
            return
        b = self.book
        hits: set[int] = set()
        for key in self.tok.keys(p.text, b.keys):
            hits.update(b.lookup(key))
        if not hits:
            return
        same_company = [i for i in hits if b.company[i] == p.company]
        if not same_company:
            return
        named = sorted(i for i in same_company if b.currency[i] == p.currency and b.kind[i] != _NONE)
        if not named:
            if any(b.currency[i] != p.currency for i in same_company):
                p.note("CURRENCY")
                owners = {b.customer[i] for i in same_company}
                if p.customer is None and len(owners) == 1:
                    self.identify(p, owners.pop(), "reference", None, 1.0)
            return
        p.claimed = True
        factor = 1.0
        live = [i for i in named if b.open[i] != 0]
        if p.customer is not None and live:
            mine = [i for i in live if b.customer[i] == p.customer]
            if mine:
                live = mine
            else:
                factor = rule.other_customer_factor
        if p.customer is None:
            owners = {b.customer[i] for i in (live or named)}
            if len(owners) == 1:
                self.identify(p, owners.pop(), "reference", None, 1.0)
        if not live:
            # everything it names was settled by an earlier payment in this run: a duplicate
            p.note("OVERPAYMENT")
            return
        d = self.resolve_named(p, live, rule)
        if d is None:
            p.note("NO_MATCH")
            return
        owners = {b.customer[i] for i, *_ in d.lines}
        if len(owners) > 1:
            factor = min(factor, rule.other_customer_factor)
        elif p.customer is None:
            self.identify(p, owners.pop(), "reference", None, 1.0)
        d.confidence *= factor
        if d.confidence < self.rules.auto_threshold and d.reason == "NO_MATCH":
            d.reason = "AMBIGUOUS"
        self.settle(p, d)

    def resolve_named(self, p: _Payment, live: list[int], rule: ReferenceRule) -> _Decision | None:
        """How a payment settles the items its text names, or None if the amounts do not fit."""
        b = self.book
        open_ = b.open
        live.sort(key=lambda i: (b.due[i], i))
        total = sum(open_[i] for i in live)
        amount = p.amount
        if total <= 0:
            return None
        full = [(i, open_[i], 0, 0) for i in live]
        if amount == total:
            return _Decision("reference", rule.confidence, full)
        if self.discount_rule is not None and amount < total:
            d = self.discounted(p, live, total, self.discount_rule)
            if d is not None:
                d.confidence *= rule.confidence
                return d
        if 1 < len(live) <= rule.max_subset_items:
            subsets = _subsets_summing(live, open_, amount, limit=2)
            if len(subsets) == 1:
                return _Decision("reference", rule.subset_confidence, [(i, open_[i], 0, 0) for i in subsets[0]])
            if len(subsets) > 1:
                return _Decision("reference", 0.0, [(i, open_[i], 0, 0) for i in subsets[0]], reason="AMBIGUOUS")
        if self.short_rule is not None and 0 < total - amount <= self.tolerance(total):
            writeoff = total - amount
            debits = [i for i in live if open_[i] > 0]
            carrier = max(debits, key=lambda i: (open_[i], -i))
            if writeoff <= open_[carrier]:
                lines = [
                    (i, open_[i] - (writeoff if i == carrier else 0), 0, writeoff if i == carrier else 0) for i in live
                ]
                return _Decision("short_payment", self.short_rule.confidence * rule.confidence, lines)
        if amount > total:
            if self.over_rule is None:
                return None
            return _Decision(
                "overpayment",
                self.over_rule.confidence * rule.confidence,
                full,
                remainder=amount - total,
                reason="OVERPAYMENT",
            )
        if self.partial_rule is None:
            return None
        debits = [i for i in live if open_[i] > 0]
        credits = [i for i in live if open_[i] < 0]
        if len(debits) == 1 and not credits:
            return _Decision(
                "partial_payment", self.partial_rule.confidence * rule.confidence, [(debits[0], amount, 0, 0)]
            )
        # Several named items and not enough money for all: credits first, then oldest due.
        lines: list[Line] = [(i, open_[i], 0, 0) for i in credits]
        left = amount - sum(open_[i] for i in credits)
        for i in debits:
            if left <= 0:
                break
            take = min(left, open_[i])
            lines.append((i, take, 0, 0))
            left -= take
        return _Decision(
            "partial_payment", self.partial_rule.multi_item_confidence * rule.confidence, lines, reason="AMBIGUOUS"
        )

    def discounted(self, p: _Payment, live: list[int], total: int, r: CashDiscountRule) -> _Decision | None:
        b = self.book
        open_ = b.open
        discounts = [b.discount(i, p.day, r.grace_days) for i in live]
        full_discount = sum(discounts)
        if full_discount <= 0:
            return None
        diff = (total - full_discount) - p.amount  # > 0: the customer took a cent more
        if abs(diff) > to_cents(r.rounding_tolerance):
            return None
        carrier = max((k for k, dsc in enumerate(discounts) if dsc > 0), key=lambda k: (discounts[k], -k))
        lines: list[Line] = []
        for k, i in enumerate(live):
            dsc = discounts[k] + (diff if k == carrier else 0)
            if dsc < 0 or (open_[i] > 0 and dsc > open_[i]):
                return None
            lines.append((i, open_[i] - dsc, dsc, 0))
        return _Decision("cash_discount", r.confidence, lines)

    # rule: payer identification -----------------------------------------------------------------

    def identify(self, p: _Payment, customer: str, method: str, score: float | None, conf: float) -> None:
        p.customer = customer
        p.method = method
        p.score = score
        p.ident_conf = conf

    def payer(self, p: _Payment, rule: PayerIdentificationRule, iban: str | None, name: str | None) -> None:
        assert self.payers is not None
        if iban:
            cid, _ = self.payers.by_iban(iban, p.company)
            if cid is not None:
                self.identify(p, cid, "iban", None, rule.iban_confidence)
                return
        if name:
            cid, score, _ = self.payers.by_name(name, p.company)
            if cid is not None:
                self.identify(p, cid, "name", score, rule.name_confidence)
                return
        # a payer we cannot name stays UNIDENTIFIED whether nobody or several customers fit
        p.note("UNIDENTIFIED")

    # customer-level rules --------------------------------------------------------------------------

    def candidates(self, p: _Payment) -> list[int] | None:
        """The customer's open items in the payment's company and currency (None: not usable)."""
        # an amount that already fits several ways is not made unique by another reading of it
        if p.customer is None or p.claimed or p.reason == "AMBIGUOUS":
            return None
        items = self.book.group(p.company, p.customer, p.currency)
        if not items and self.book.has_other_currency(p.company, p.customer, p.currency):
            p.note("CURRENCY")
        return items

    def exact_amount(self, p: _Payment, rule: ExactAmountRule) -> None:
        items = self.candidates(p)
        if not items:
            return
        b = self.book
        hits = [i for i in items if b.open[i] == p.amount and b.kind[i] == _DEBIT]
        if len(hits) == 1:
            self.settle(p, _Decision("exact_amount", rule.confidence * p.ident_conf, [(hits[0], p.amount, 0, 0)]))
        elif hits:
            conf = min(rule.ambiguous_confidence, self.rules.auto_threshold - 1e-9)
            self.settle(p, _Decision("exact_amount", conf, [(hits[0], p.amount, 0, 0)], reason="AMBIGUOUS"))

    def combination(self, p: _Payment, rule: CombinationRule) -> None:
        items = self.candidates(p)
        if not items or len(items) < 2:
            return
        b = self.book
        open_ = b.open
        credits = [i for i in items if b.kind[i] == _CREDIT and open_[i] < 0]
        # with credit notes in the set, an invoice may be larger than the payment itself
        ceiling = p.amount - sum(open_[i] for i in credits)
        pool = [
            i
            for i in items
            if (b.kind[i] == _DEBIT and 0 < open_[i] <= ceiling) or (b.kind[i] == _CREDIT and open_[i] < 0)
        ]
        proven = len(pool) <= rule.max_candidates
        if not proven:
            # only the oldest can be searched, so a solution cannot be proven the only one
            pool = pool[: rule.max_candidates]
        solutions = _combinations_summing(pool, open_, p.amount, rule.max_items, limit=2)
        if not solutions:
            return
        lines = [(i, open_[i], 0, 0) for i in sorted(solutions[0], key=lambda i: (b.due[i], i))]
        if len(solutions) == 1 and proven:
            conf = rule.confidence_by_size.get(len(lines), rule.confidence)
            self.settle(p, _Decision("combination", conf * p.ident_conf, lines, reason="AMBIGUOUS"))
        else:
            conf = min(rule.ambiguous_confidence, self.rules.auto_threshold - 1e-9)
            self.settle(p, _Decision("combination", conf, lines, reason="AMBIGUOUS"))

    def cash_discount(self, p: _Payment, rule: CashDiscountRule) -> None:
        items = self.candidates(p)
        if not items:
            return
        b = self.book
        tol = to_cents(rule.rounding_tolerance)
        hits = []
        for i in items:
            if b.kind[i] != _DEBIT or b.open[i] <= p.amount:
                continue
            dsc = b.discount(i, p.day, rule.grace_days)
            if dsc > 0 and abs(b.open[i] - dsc - p.amount) <= tol:
                hits.append(i)
        if not hits:
            return
        i = hits[0]
        line = (i, p.amount, b.open[i] - p.amount, 0)
        if len(hits) == 1:
            self.settle(p, _Decision("cash_discount", rule.confidence * p.ident_conf, [line]))
        else:
            conf = min(rule.ambiguous_confidence, self.rules.auto_threshold - 1e-9)
            self.settle(p, _Decision("cash_discount", conf, [line], reason="AMBIGUOUS"))

    def short_payment(self, p: _Payment, rule: ShortPaymentRule) -> None:
        items = self.candidates(p)
        if not items:
            return
        b = self.book
        hits = [i for i in items if b.kind[i] == _DEBIT and 0 < b.open[i] - p.amount <= self.tolerance(b.open[i])]
        if not hits:
            return
        i = hits[0]
        line = (i, p.amount, 0, b.open[i] - p.amount)
        if len(hits) == 1:
            self.settle(p, _Decision("short_payment", rule.confidence * p.ident_conf, [line]))
        else:
            conf = min(rule.ambiguous_confidence, self.rules.auto_threshold - 1e-9)
            self.settle(p, _Decision("short_payment", conf, [line], reason="AMBIGUOUS"))


def _subsets_summing(items: list[int], open_: list[int], target: int, limit: int) -> list[tuple[int, ...]]:
    """Proper, non-empty subsets of a few named items whose open amounts sum to ``target``."""
    found: list[tuple[int, ...]] = []
    for size in range(1, len(items)):
        for combo in itertools.combinations(items, size):
            if sum(open_[i] for i in combo) == target:
                found.append(combo)
                if len(found) >= limit:
                    return found
    return found


def _combinations_summing(
    pool: list[int], open_: list[int], target: int, max_items: int, limit: int
) -> list[tuple[int, ...]]:
    """Sets of 2..max_items (at most 4) items of ``pool`` whose open amounts sum to ``target``.

    Hash look-ups instead of a search tree: the last item of a pair, the last of a triple and
    the last pair of a quadruple are looked up by the amount still missing, so the work grows
    with the square of the pool, not with its subsets.  Credit notes (negative amounts) need no
    special case.  Stops at ``limit`` solutions: the caller only needs to know whether there is
    exactly one.
    """
    vals = [open_[i] for i in pool]
    n = len(vals)
    by_value: dict[int, list[int]] = {}
    for k, v in enumerate(vals):
        by_value.setdefault(v, []).append(k)
    found: list[tuple[int, ...]] = []

    def hit(*ks: int) -> bool:
        found.append(tuple(pool[k] for k in ks))
        return len(found) >= limit

    for a in range(n):
        for b in by_value.get(target - vals[a], ()):
            if b > a and hit(a, b):
                return found
    if max_items >= 3:
        for a in range(n):
            va = vals[a]
            for b in range(a + 1, n):
                for c in by_value.get(target - va - vals[b], ()):
                    if c > b and hit(a, b, c):
                        return found
    if max_items >= 4 and n >= 4:
        pairs: dict[int, list[tuple[int, int]]] = {}
        for c in range(n):
            vc = vals[c]
            for d in range(c + 1, n):
                pairs.setdefault(vc + vals[d], []).append((c, d))
        for a in range(n):
            va = vals[a]
            for b in range(a + 1, n):
                for c, d in pairs.get(target - va - vals[b], ()):
                    if c > b and hit(a, b, c, d):
                        return found
    return found


def apply_cash(
    open_items: pd.DataFrame,
    payments: pd.DataFrame,
    customers: pd.DataFrame,
    rules: MatchingRules,
    as_of: date,
) -> CashApplication:
    """Match unapplied payments to open items with the configured rules, in their order.

    Inputs are the validated canonical frames (money in int cents); they are not modified.
    For every payment, its *applied* applications plus its unapplied rows add up to its
    amount; suggestions move no money.  ``as_of`` stands in for a missing value date (a cash
    discount is judged by the day the money arrived).
    """
    # Millions of small objects stay alive for the whole run; the cyclic collector would walk
    # them again and again while nothing here makes cycles worth collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _apply_cash(open_items, payments, customers, rules, as_of)
    finally:
        if gc_was_enabled:
            gc.enable()


def _apply_cash(
    open_items: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, rules: MatchingRules, as_of: date
) -> CashApplication:
    tok = _Tokeniser((rules.rule("reference") or ReferenceRule(name="reference")).normalisation)
    book = _Book(open_items, tok)
    ident_rule: PayerIdentificationRule | None = rules.rule("payer_identification")
    payers = _Payers(customers, ident_rule) if ident_rule is not None else None
    engine = _Engine(book, rules, tok, payers)

    amounts = cents_array(payments["amount"], what="payments.amount")
    if (amounts <= 0).any():
        bad = payments.loc[amounts <= 0, "payment_id"].astype(str).head(5).tolist()
        raise ValueError(f"payments must be positive; validation must quarantine these first: {', '.join(bad)}")
    if payments["payment_id"].duplicated().any():
        raise ValueError("payments.payment_id must be unique")
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    days = _days(payments["value_date"])
    days[days == _NAT_DAY] = as_of_day
    pids = payments["payment_id"].astype("string")
    order = pd.DataFrame({"d": days, "p": pids.to_numpy()}).sort_values(["d", "p"], kind="stable").index.to_numpy()

    def column(name: str) -> list[Any]:
        if name not in payments:
            return [None] * len(order)
        values = payments[name].astype("string").to_numpy(dtype=object, na_value=None)
        return values[order].tolist()

    work: list[_Payment] = []
    extras: dict[str, tuple[str | None, str | None]] = {}
    for pid, company, currency, amount, day, customer, text, iban, name in zip(
        pids.to_numpy(dtype=object)[order].tolist(),
        column("company_code"),
        column("currency"),
        amounts[order].tolist(),
        days[order].tolist(),
        column("customer_id"),
        column("remittance_info"),
        column("payer_iban"),
        column("payer_name"),
    ):
        work.append(_Payment(pid, company, currency, amount, day, customer, text or ""))
        if customer is None:
            extras[pid] = (iban, name)

    for rule in rules.rules:
        if not rule.enabled:
            continue
        pending = [p for p in work if not p.done]
        if rule.name == "reference":
            for p in pending:
                engine.reference(p, rule)
        elif rule.name == "payer_identification":
            for p in pending:
                if p.customer is None:
                    engine.payer(p, rule, *extras[p.pid])
        elif rule.name == "exact_amount":
            for p in pending:
                engine.exact_amount(p, rule)
        elif rule.name == "combination":
            for p in pending:
                engine.combination(p, rule)
        elif rule.name == "cash_discount":
            for p in pending:
                engine.cash_discount(p, rule)
        elif rule.name == "short_payment":
            for p in pending:
                engine.short_payment(p, rule)
        # partial_payment and overpayment settle *named* items: they act inside the reference rule

    return _result(open_items, book, work, engine, rules)


def _result(
    open_items: pd.DataFrame, book: _Book, work: list[_Payment], engine: _Engine, rules: MatchingRules
) -> CashApplication:
    app_rows: list[tuple[Any, ...]] = []
    unapplied_rows: list[tuple[Any, ...]] = []
    ident_rows: list[tuple[Any, ...]] = []

    def add_lines(p: _Payment, d: _Decision, status: str) -> None:
        for i, applied, disc, wo in d.lines:
            app_rows.append(
                (
                    p.pid,
                    book.company[i],
                    book.document[i],
                    book.customer[i],
                    applied,
                    book.currency[i],
                    d.rule,
                    d.confidence,
                    status,
                    wo,
                    disc,
                )
            )

    posted = {id(p): d for p, d in engine.applications}
    for p in work:
        if p.customer is not None:
            ident_rows.append((p.pid, p.customer, p.method, p.score))
        d = posted.get(id(p))
        if d is not None:
            add_lines(p, d, "applied")
            if d.remainder > 0:
                unapplied_rows.append((p.pid, p.company, p.customer, d.remainder, p.currency, d.reason, p.day))
            continue
        if p.suggestion is not None:
            add_lines(p, p.suggestion, "suggested")
            reason = p.suggestion.reason if p.suggestion.reason != "NO_MATCH" else (p.reason or "NO_MATCH")
        elif p.customer is None:
            reason = "UNIDENTIFIED" if p.reason in (None, "UNIDENTIFIED", "NO_MATCH") else p.reason
        else:
            reason = p.reason if p.reason not in (None, "UNIDENTIFIED") else "NO_MATCH"
        unapplied_rows.append((p.pid, p.company, p.customer, p.amount, p.currency, reason, p.day))

    applications = pd.DataFrame(app_rows, columns=APPLICATION_COLUMNS)
    unapplied = pd.DataFrame(unapplied_rows, columns=UNAPPLIED_COLUMNS)
    for frame, money in (
        (applications, ("applied_amount", "writeoff_amount", "discount_amount")),
        (unapplied, ("remaining_amount",)),
    ):
        for c in money:
            frame[c] = frame[c].astype("int64")
    for frame, text in (
        (applications, ("payment_id", "company_code", "document_no", "customer_id", "currency", "rule", "status")),
        (unapplied, ("payment_id", "company_code", "customer_id", "currency", "reason")),
    ):
        for c in text:
            frame[c] = frame[c].astype("string")
    applications["confidence"] = applications["confidence"].astype("float64")
    unapplied["value_date"] = np.asarray(
        unapplied["value_date"].to_numpy(dtype=np.int64), dtype="datetime64[D]"
    ).astype("datetime64[ns]")
    identifications = pd.DataFrame(ident_rows, columns=IDENTIFICATION_COLUMNS)
    identifications = identifications.astype(
        {"payment_id": "string", "customer_id": "string", "method": "string", "score": "float64"}
    )

    after = open_items.copy()
    if book.n:
        values = after["open_amount"].to_numpy(dtype=np.int64, copy=True)
        values[book.order] = np.asarray(book.open, dtype=np.int64)
        after["open_amount"] = pd.Series(values, index=after.index).astype(open_items["open_amount"].dtype)
    return CashApplication(
        applications=applications, unapplied=unapplied, open_items_after=after, identifications=identifications
    )
