"""Who paid: normalised company names and IBANs, and ``_Payers``, the customer-master look-ups
that identify the customer of a bank line without one (IBAN, then fuzzy name)."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from receivables.cash_application.config import PayerIdentificationRule

#: accents left as separate marks by NFKD (the combining diacritics block), to be dropped
_COMBINING = dict.fromkeys(range(0x300, 0x370))
_TRANSLIT_PAIRS = (
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("ß", "ss"),
    ("Ä", "Ae"),
    ("Ö", "Oe"),
    ("Ü", "Ue"),
    ("&", " "),
)
_TRANSLIT = str.maketrans(dict(_TRANSLIT_PAIRS))


def normalise_name(name: str, legal_forms: Collection[str] = ()) -> str:
    """A company name for comparison: no accents, case or punctuation (and no ``legal_forms``)."""
    s = unicodedata.normalize("NFKD", str(name).translate(_TRANSLIT)).translate(_COMBINING)
    s = s.casefold().replace(".", "")
    words = re.findall(r"[a-z0-9]+", s)
    kept = [w for w in words if w not in legal_forms]
    return " ".join(kept or words)


#: names ``_normalise_names`` reads in Arrow: Latin letters whose decompositions every Unicode
#: version agrees on, and whose lower case keeps ``[a-z0-9]`` what case folding keeps
_LATIN = "^[\\x{0}-\\x{17F}]*$"


def _normalise_names(names: list[str]) -> list[str]:
    """``normalise_name`` of many names at once: Latin ones in Arrow, the rest one by one."""
    arr = pa.array(names, type=pa.large_string())
    latin = pc.match_substring_regex(arr, _LATIN).to_numpy(zero_copy_only=False)
    s = arr
    for old, new in _TRANSLIT_PAIRS:
        s = pc.replace_substring(s, old, new)
    s = pc.utf8_normalize(s, form="NFKD")
    s = pc.replace_substring_regex(s, "[\\x{300}-\\x{36F}]", "")
    s = pc.replace_substring(pc.utf8_lower(s), ".", "")
    words = pc.split_pattern_regex(s, "[^a-z0-9]+")
    flat = pc.list_flatten(words)
    kept = pc.greater(pc.utf8_length(flat), 0)
    parents = pc.list_parent_indices(words).filter(kept).to_numpy()
    joined = pa.LargeListArray.from_arrays(
        pa.array(np.searchsorted(parents, np.arange(len(names) + 1))), flat.filter(kept)
    )
    fast = pc.binary_join(joined, pa.scalar(" ", pa.large_string())).to_pylist()
    return [f if ok else normalise_name(n) for f, ok, n in zip(fast, latin.tolist(), names)]


def _norm_iban(value: object) -> str:
    return re.sub(r"\s+", "", str(value)).upper()


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
        self._normalised = _normalise_names(self._names)
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
