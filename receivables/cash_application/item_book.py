"""The item book: the open items as plain lists in (company_code, document_no) order, with the
token and customer-group indexes the rules look items up by, and the array helpers that build it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from receivables.cash_application.references import _Tokeniser
from receivables.money import cents_array

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
        self._keys: dict[str, Any] | None = None
        self._token_index(frame, tokeniser)
        self.groups = self._group_index(frame)

    def _token_index(self, frame: pd.DataFrame, tok: _Tokeniser) -> None:
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
        limit = tok.opts.max_items_per_token
        # a key on more items than the limit is a generic word: not indexed at all
        kept = (counts == 1) | (counts <= limit)
        key_codes = code[starts[kept]]
        #: the index's keys as Arrow, and their items as offsets into ``key_items``
        self.key_array: pa.Array = encoded.dictionary.take(pa.array(key_codes))
        self.key_items = item[np.repeat(kept, counts)]
        self.key_offsets = np.r_[0, np.cumsum(counts[kept])].astype(np.int64)

    @property
    def keys(self) -> dict[str, Any]:
        """The token index as a dict: key -> item position, or a tuple of them (built on first use)."""
        if self._keys is None:
            offsets = self.key_offsets
            one = np.diff(offsets) == 1
            index: dict[str, Any] = dict(
                zip(self.key_array.filter(pa.array(one)).to_pylist(), self.key_items[offsets[:-1][one]].tolist())
            )
            for at in np.flatnonzero(~one).tolist():
                index[self.key_array[at].as_py()] = tuple(self.key_items[offsets[at] : offsets[at + 1]].tolist())
            self._keys = index
        return self._keys

    def named(self, rows: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The items named through (text row, key code) pairs that ``remittances.named_codes``
        found, as unique (row, item position) pairs in ascending order."""
        begin, end = self.key_offsets[codes], self.key_offsets[codes + 1]
        counts = end - begin
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        items = self.key_items[np.repeat(begin, counts) + within]
        pairs = np.unique(np.repeat(rows, counts) * max(self.n, 1) + items)
        return np.divmod(pairs, max(self.n, 1))

    def _group_index(self, frame: pd.DataFrame) -> dict[tuple[str, str, str], tuple[int, int]]:
        self._grouped = []
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
        firsts = order[starts]
        names = (np.asarray(v, dtype=object)[firsts].tolist() for v in (self.company, self.customer, self.currency))
        #: the items of every group, group after group; ``groups`` holds where each one is
        self._grouped: list[int] = order.tolist()
        return dict(zip(zip(*names), zip(starts.tolist(), np.r_[cuts, self.n].tolist())))

    def lookup(self, key: str) -> tuple[int, ...]:
        hit = self.keys.get(key)
        if hit is None:
            return ()
        return hit if isinstance(hit, tuple) else (hit,)

    def group(self, company: str, customer: str, currency: str) -> list[int]:
        g = self.groups.get((company, customer, currency))
        return self._grouped[g[0] : g[1]] if g is not None else []

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
