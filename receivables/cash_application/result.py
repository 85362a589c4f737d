"""What stage 3 hands on: ``CashApplication`` (applications, unapplied cash, open items after,
identifications), its column lists and unapplied reasons, and building it from the worked payments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

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
        return {
            "payments": len(set(self.applications["payment_id"]) | set(self.unapplied["payment_id"])),
            "applications": len(applied),
            "suggestions": int((self.applications["status"] == "suggested").sum()),
            "payments_fully_applied": len(set(applied["payment_id"]) - set(self.unapplied["payment_id"])),
            "unapplied": {str(k): int(v) for k, v in self.unapplied["reason"].value_counts().sort_index().items()},
        }


def _result(
    open_items: pd.DataFrame,
    book: _Book,
    work: list[_Payment],
    posted: list[tuple[_Payment, _Decision]],
) -> CashApplication:
    """The result of a run: ``posted`` are the auto-applied decisions, ``work`` every payment."""
    app_rows, unapplied_rows, ident_rows = _rows(book, work, posted)
    applications, unapplied, identifications = _typed_frames(app_rows, unapplied_rows, ident_rows)
    return CashApplication(
        applications=applications,
        unapplied=unapplied,
        open_items_after=_open_items_after(open_items, book),
        identifications=identifications,
    )


def _rows(
    book: _Book, work: list[_Payment], posted: list[tuple[_Payment, _Decision]]
) -> tuple[list[Row], list[Row], list[Row]]:
    """Application, unapplied and identification rows, payment by payment in working order."""
    app_rows: list[Row] = []
    unapplied_rows: list[Row] = []
    ident_rows: list[Row] = []
    by_payment = {id(p): d for p, d in posted}
    for p in work:
        if p.customer is not None:
            ident_rows.append((p.pid, p.customer, p.method, p.score))
        d = by_payment.get(id(p))
        if d is not None:
            app_rows += _application_rows(book, p, d, "applied")
            if d.remainder > 0:
                unapplied_rows.append((p.pid, p.company, p.customer, d.remainder, p.currency, d.reason, p.day))
            continue
        if p.suggestion is not None:
            app_rows += _application_rows(book, p, p.suggestion, "suggested")
        unapplied_rows.append((p.pid, p.company, p.customer, p.amount, p.currency, _unapplied_reason(p), p.day))
    return app_rows, unapplied_rows, ident_rows


def _application_rows(book: _Book, p: _Payment, d: _Decision, status: str) -> list[Row]:
    return [
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
        for i, applied, disc, wo in d.lines
    ]


def _unapplied_reason(p: _Payment) -> str:
    """Why a payment that was not auto-applied stays unapplied in full."""
    if p.suggestion is not None:
        return p.suggestion.reason if p.suggestion.reason != "NO_MATCH" else (p.reason or "NO_MATCH")
    if p.customer is None:
        return "UNIDENTIFIED" if p.reason in (None, "UNIDENTIFIED", "NO_MATCH") else p.reason
    return p.reason if p.reason not in (None, "UNIDENTIFIED") else "NO_MATCH"


def _typed_frames(
    app_rows: list[Row], unapplied_rows: list[Row], ident_rows: list[Row]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows as frames with fixed dtypes (int64 cents, strings, float confidences, dates)."""
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
    return applications, unapplied, identifications


def _open_items_after(open_items: pd.DataFrame, book: _Book) -> pd.DataFrame:
    """``open_items`` with the open amounts the book ends with (same index, columns and dtype)."""
    after = open_items.copy()
    if book.n:
        values = after["open_amount"].to_numpy(dtype=np.int64, copy=True)
        values[book.order] = np.asarray(book.open, dtype=np.int64)
        after["open_amount"] = pd.Series(values, index=after.index).astype(open_items["open_amount"].dtype)
    return after
