"""The disputes as a reader sees them (the workbook's Disputes sheet, the flow's ``disputes``
artifact): each dispute of the night's ``dispute_status`` with its currency, its amount in the
base currency and whether it is still open; the top customers by open disputed amount per
company code; the open disputes for a screen, the breached ones first.

The top customers are not rows of the ``kpis`` table: a KPI row holds one number per code, and
the customer is not a number (a code per customer would change from night to night and a BI
tool could not follow it), so they are on the Disputes sheet and in the artifact only.

Pure: frames in, frames out; money in integer cents.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from receivables.aging import rates_on, to_base_cents
from receivables.disputes import STATUS_COLUMNS
from receivables.kpis import open_disputes, with_document_currency
from receivables.money import to_decimal

#: ``dispute_status`` and what a reader needs beside it
VIEW_COLUMNS = [*STATUS_COLUMNS, "currency", "amount_base", "open"]
TOP_COLUMNS = ["company_code", "rank", "customer_id", "open_disputes", "disputed_base"]
#: customers listed per company code
TOP_N = 5
#: rows a table meant for a screen shows
SCREEN_ROWS = 200


def dispute_view(
    status: pd.DataFrame,
    disputes: pd.DataFrame | None,
    open_items: pd.DataFrame,
    cleared_items: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    fx_rates: pd.DataFrame | None,
    base_currency: str,
    as_of: date | str | pd.Timestamp,
) -> pd.DataFrame:
    """Each dispute with the currency of its document (else its customer's), its amount in
    base cents at as_of's rate (blank without a rate) and ``open`` as dunning and the KPIs
    see it (a dispute RESOLVED without a date is closed, though ``dispute_status`` shows no
    resolved_on for it)."""
    if status.empty:
        return pd.DataFrame(columns=VIEW_COLUMNS).astype({"open": bool})
    view = with_document_currency(status, open_items, cleared_items, customers)
    rates = rates_on(fx_rates, base_currency, as_of)
    view["amount_base"] = pd.array(
        [
            to_base_cents(int(a), rates[c]) if c in rates else None
            for a, c in zip(view["amount"].tolist(), view["currency"].tolist())
        ],
        dtype="Int64",
    )
    live = open_disputes(disputes, as_of) if disputes is not None and not disputes.empty else status.iloc[0:0]
    keys = set(zip(live["company_code"].astype(str).str.strip(), live["dispute_id"].astype(str).str.strip()))
    view["open"] = [(str(c), str(d)) in keys for c, d in zip(view["company_code"], view["dispute_id"])]
    return view[VIEW_COLUMNS]


def top_disputed_customers(view: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """Per company code the ``n`` customers with the largest open disputed amount in base
    cents (ties by customer id), with their number of open disputes; an amount without a rate
    is left out, as in the KPIs."""
    live = view.loc[view["open"].astype(bool) & view["amount_base"].notna()] if not view.empty else view
    if live.empty:
        return pd.DataFrame(columns=TOP_COLUMNS)
    sums = (
        live.assign(amount_base=live["amount_base"].astype("int64"), customer_id=live["customer_id"].fillna(""))
        .groupby(["company_code", "customer_id"], sort=True)
        .agg(open_disputes=("dispute_id", "size"), disputed_base=("amount_base", "sum"))
        .reset_index()
        .sort_values(["company_code", "disputed_base", "customer_id"], ascending=[True, False, True], kind="stable")
    )
    sums["rank"] = sums.groupby("company_code").cumcount() + 1
    return sums.loc[sums["rank"] <= n, TOP_COLUMNS].reset_index(drop=True)


def open_first(view: pd.DataFrame) -> pd.DataFrame:
    """Every dispute in the order a reader works them: open before resolved, breached first,
    the highest escalation tier, then the oldest; then company code and dispute id."""
    keys = view.assign(_open=~view["open"].astype(bool), _ok=~view["breached"].astype(bool))
    keys["_tier"] = -keys["escalation_level"].astype("int64")
    keys["_age"] = -keys["age_days"].astype("int64")
    order = ["_open", "_ok", "_tier", "_age", "company_code", "dispute_id"]
    return keys.sort_values(order, kind="stable").drop(columns=["_open", "_ok", "_tier", "_age"]).reset_index(drop=True)


def screen_table(view: pd.DataFrame | None, base_currency: str, limit: int = SCREEN_ROWS) -> pd.DataFrame:
    """The open disputes for a screen (at most ``limit``), breached first: dates ISO text and
    money a two-place amount, never cents."""
    if view is None or view.empty or not view["open"].any():
        return pd.DataFrame()
    mine = open_first(view.loc[view["open"].astype(bool)]).head(limit)
    return pd.DataFrame(
        {
            "dispute": mine["dispute_id"].astype(str),
            "company code": mine["company_code"].astype(str),
            "customer": mine["customer_id"].fillna("").astype(str),
            "document": mine["document_no"].fillna("").astype(str),
            "reason": mine["reason_code"].astype(str),
            "owner": [o if isinstance(o, str) and o else "(unassigned)" for o in mine["owner"]],
            "currency": mine["currency"].astype(str),
            "amount": [str(to_decimal(int(a))) for a in mine["amount"]],
            f"amount ({base_currency})": [None if pd.isna(a) else str(to_decimal(int(a))) for a in mine["amount_base"]],
            "opened": [pd.Timestamp(d).date().isoformat() for d in mine["opened_on"]],
            "age (days)": mine["age_days"].astype(int).tolist(),
            "target date": [pd.Timestamp(d).date().isoformat() for d in mine["target_date"]],
            "breached": ["Yes" if b else "No" for b in mine["breached"]],
            "escalation tier": mine["escalation_level"].astype(int).tolist(),
        }
    )


def top_table(view: pd.DataFrame | None, base_currency: str) -> pd.DataFrame:
    """The top customers by open disputed amount per company code, for a screen."""
    top = top_disputed_customers(view) if view is not None else pd.DataFrame(columns=TOP_COLUMNS)
    return pd.DataFrame(
        {
            "company code": top["company_code"].astype(str),
            "rank": top["rank"].astype(int).tolist(),
            "customer": top["customer_id"].astype(str),
            "open disputes": top["open_disputes"].astype(int).tolist(),
            f"disputed ({base_currency})": [str(to_decimal(int(a))) for a in top["disputed_base"]],
        }
    )
