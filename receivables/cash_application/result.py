"""What stage 3 hands on: ``CashApplication`` (applications, unapplied cash, open items after,
identifications), its column lists and unapplied reasons, and building it from the worked payments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from receivables.cash_application.engine import _Decision, _Payment
    from receivables.cash_application.item_book import _Book

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

Row = tuple[Any, ...]


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
        # the distinct ids first: a million applications are few payments
        paid, left = set(self.applications["payment_id"].unique()), set(self.unapplied["payment_id"].unique())
        return {
            "payments": len(paid | left),
            "applications": len(applied),
            "suggestions": int((self.applications["status"] == "suggested").sum()),
            "payments_fully_applied": len(set(applied["payment_id"].unique()) - left),
            "unapplied": {str(k): int(v) for k, v in self.unapplied["reason"].value_counts().sort_index().items()},
        }


def _result(
    open_items: pd.DataFrame,
    book: _Book,
    work: list[_Payment],
    posted: list[tuple[_Payment, _Decision]],
) -> CashApplication:
    """The result of a run: ``posted`` are the auto-applied decisions, ``work`` every payment."""
    decisions, unapplied_rows, identified = _rows(work, posted)
    unapplied, identifications = _typed_frames(unapplied_rows, identified)
    return CashApplication(
        applications=pd.DataFrame(_application_columns(book, decisions), columns=APPLICATION_COLUMNS),
        unapplied=unapplied,
        open_items_after=_open_items_after(open_items, book),
        identifications=identifications,
    )


def _rows(
    work: list[_Payment], posted: list[tuple[_Payment, _Decision]]
) -> tuple[list[tuple[_Payment, _Decision, str]], list[Row], list[_Payment]]:
    """The decisions to report (with their status), unapplied rows and the identified
    payments, payment by payment in working order."""
    decisions: list[tuple[_Payment, _Decision, str]] = []
    unapplied_rows: list[Row] = []
    by_payment = {id(p): d for p, d in posted}
    for p in work:
        d = by_payment.get(id(p))
        if d is not None:
            decisions.append((p, d, "applied"))
            if d.remainder > 0:
                unapplied_rows.append((p.pid, p.company, p.customer, d.remainder, p.currency, d.reason, p.day))
            continue
        if p.suggestion is not None:
            decisions.append((p, p.suggestion, "suggested"))
        unapplied_rows.append((p.pid, p.company, p.customer, p.amount, p.currency, _unapplied_reason(p), p.day))
    return decisions, unapplied_rows, [p for p in work if p.customer is not None]


def _strings(values: Any, take: Any = None) -> pd.arrays.ArrowStringArray:
    """Text values (str, None or pd.NA) as a "string" column, what ``astype("string")`` makes
    of them, converted by Arrow in one go (then picked by ``take`` positions, if given)."""
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    return pd.arrays.ArrowStringArray(text if take is None else text.take(take))


def _application_columns(book: _Book, decisions: list[tuple[_Payment, _Decision, str]]) -> dict[str, Any]:
    """One application row per line of each decision, built column by column with its final
    dtype: the item's company, document, customer and currency are taken from the book's
    Arrow columns in one go, a decision's values repeated for each of its lines."""
    sizes = [len(d.lines) for _, d, _ in decisions]
    flat = itertools.chain.from_iterable(itertools.chain.from_iterable(d.lines for _, d, _ in decisions))
    lines = np.fromiter(flat, dtype=np.int64, count=4 * sum(sizes)).reshape(-1, 4)
    item, applied, discount, writeoff = (np.ascontiguousarray(lines[:, k]) for k in range(4))
    decision = np.repeat(np.arange(len(decisions), dtype=np.int64), sizes)

    def per_line(values: list[Any]) -> pd.arrays.ArrowStringArray:
        # few distinct values (rules, statuses) are converted once each
        codes: dict[Any, int] = {}
        at = [codes.setdefault(v, len(codes)) for v in values]
        return _strings(list(codes), np.repeat(np.asarray(at, dtype=np.int64), sizes))

    def from_book(column: str) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray(book.texts[column].take(item))

    return {
        "payment_id": _strings([p.pid for p, _, _ in decisions], decision),
        "company_code": from_book("company_code"),
        "document_no": from_book("document_no"),
        "customer_id": from_book("customer_id"),
        "applied_amount": applied,
        "currency": from_book("currency"),
        "rule": per_line([d.rule for _, d, _ in decisions]),
        "confidence": np.repeat(np.array([d.confidence for _, d, _ in decisions], dtype=np.float64), sizes),
        "status": per_line([status for _, _, status in decisions]),
        "writeoff_amount": writeoff,
        "discount_amount": discount,
    }


def _unapplied_reason(p: _Payment) -> str:
    """Why a payment that was not auto-applied stays unapplied in full."""
    if p.suggestion is not None:
        return p.suggestion.reason if p.suggestion.reason != "NO_MATCH" else (p.reason or "NO_MATCH")
    if p.customer is None:
        return "UNIDENTIFIED" if p.reason in (None, "UNIDENTIFIED", "NO_MATCH") else p.reason
    return p.reason if p.reason not in (None, "UNIDENTIFIED") else "NO_MATCH"


def _typed_frames(unapplied_rows: list[Row], identified: list[_Payment]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unapplied rows and identifications as frames with fixed dtypes (int64 cents,
    strings, float scores, dates)."""
    unapplied = pd.DataFrame(unapplied_rows, columns=UNAPPLIED_COLUMNS)
    unapplied["remaining_amount"] = unapplied["remaining_amount"].astype("int64")
    for c in ("payment_id", "company_code", "customer_id", "currency", "reason"):
        unapplied[c] = unapplied[c].astype("string")
    unapplied["value_date"] = np.asarray(
        unapplied["value_date"].to_numpy(dtype=np.int64), dtype="datetime64[D]"
    ).astype("datetime64[ns]")
    identifications = pd.DataFrame(
        {
            "payment_id": _strings([p.pid for p in identified]),
            "customer_id": _strings([p.customer for p in identified]),
            "method": _strings([p.method for p in identified]),
            "score": np.array([p.score for p in identified], dtype=np.float64),
        },
        columns=IDENTIFICATION_COLUMNS,
    )
    return unapplied, identifications


def _open_items_after(open_items: pd.DataFrame, book: _Book) -> pd.DataFrame:
    """``open_items`` with the open amounts the book ends with (same index, columns and dtype)."""
    after = open_items.copy()
    if book.n:
        values = after["open_amount"].to_numpy(dtype=np.int64, copy=True)
        values[book.order] = np.asarray(book.open, dtype=np.int64)
        after["open_amount"] = pd.Series(values, index=after.index).astype(open_items["open_amount"].dtype)
    return after
