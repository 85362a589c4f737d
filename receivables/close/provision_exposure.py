"""What the provision is computed on (steps 6 and 7 of ``receivables.close.provision``): the
items provided for one by one, and the rest of tonight's aging per company code, segment and
bucket, in base-currency cents.  An item counts once: under one specific kind, or in the
matrix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from receivables.aging import KEYS, AgingConfig, bucket_index, days_past_due, to_base_cents
from receivables.close.provision_rules import BUCKETS

SPECIFIC_COLUMNS = [*KEYS, "bucket", "kind", "amount"]
UNSEGMENTED = "UNSEGMENTED"
ALL_SEGMENTS = "ALL"


def segment_series(frame: pd.DataFrame, segments: dict[str, str]) -> pd.Series:
    default = ALL_SEGMENTS if set(segments.values()) == {ALL_SEGMENTS} else UNSEGMENTED
    return frame["customer_id"].astype(str).map(segments).fillna(default)


def to_base_sums(frame: pd.DataFrame, money: list[str], rates: dict[str, Decimal]) -> pd.DataFrame:
    """Per-currency sums converted to base cents; currencies without a rate are left out."""
    known = frame.loc[frame["currency"].astype(str).isin(rates)].copy()
    for col in money:
        known[col] = [to_base_cents(v, rates[str(c)]) for v, c in zip(known[col].tolist(), known["currency"].tolist())]
    return known


def item_buckets(open_items: pd.DataFrame, as_of: date, config: AgingConfig) -> pd.DataFrame:
    """Each open item with its aging bucket column, aged exactly as the aging ages it."""
    amount = pd.to_numeric(open_items["open_amount"]).astype("Int64")
    items = open_items.loc[amount.notna() & (amount != 0)]
    due = pd.to_datetime(items["due_date"]).fillna(pd.to_datetime(items["document_date"]))
    days = days_past_due(due, as_of).fillna(0)
    columns = np.asarray([b.column for b in config.buckets])
    return pd.DataFrame(
        {
            "company_code": items["company_code"].astype(str).to_numpy(),
            "customer_id": items["customer_id"].astype(str).to_numpy(),
            "currency": items["currency"].astype(str).to_numpy(),
            "document_no": items["document_no"].astype(str).to_numpy(),
            "bucket": columns[bucket_index(days, config.edges)] if len(items) else np.asarray([], dtype=object),
            "open_amount": items["open_amount"].astype("int64").to_numpy(),
        }
    )


def open_disputes(disputes: pd.DataFrame | None, as_of: date) -> pd.DataFrame:
    """Disputed amount per company code and document of the disputes open on as_of: opened
    on or before it and not resolved by then (a RESOLVED status without a date is resolved)."""
    if disputes is None or disputes.empty:
        return pd.DataFrame(columns=["company_code", "document_no", "disputed"])
    day = pd.Timestamp(as_of)
    opened = pd.to_datetime(disputes["opened_on"]) <= day
    resolved_on = pd.to_datetime(disputes["resolved_on"])
    resolved = (resolved_on <= day) | (resolved_on.isna() & (disputes["status"].astype(str).str.upper() == "RESOLVED"))
    live = disputes.loc[opened & ~resolved.fillna(False)]
    live = live.assign(company_code=live["company_code"].astype(str), document_no=live["document_no"].astype(str))
    sums = live.groupby(["company_code", "document_no"], sort=True)["amount"].sum().astype("int64")
    return sums.rename("disputed").reset_index()


def _proposed(writeoffs: pd.DataFrame | None) -> pd.DataFrame:
    """Proposed write-off amount per company code and document (the proposals' own amount
    where they carry one)."""
    if writeoffs is None or writeoffs.empty or not {"company_code", "document_no"} <= set(writeoffs.columns):
        return pd.DataFrame(columns=["company_code", "document_no", "proposed"])
    frame = writeoffs.assign(
        company_code=writeoffs["company_code"].astype(str), document_no=writeoffs["document_no"].astype(str)
    )
    amount = "amount" if "amount" in frame.columns else None
    if amount is None:
        return frame[["company_code", "document_no"]].drop_duplicates().assign(proposed=pd.NA)
    sums = frame.groupby(["company_code", "document_no"], sort=True)[amount].sum().astype("int64")
    return sums.rename("proposed").reset_index()


def specific_items(
    items: pd.DataFrame, handed_over: pd.DataFrame, writeoffs: pd.DataFrame | None, disputes: pd.DataFrame
) -> pd.DataFrame:
    """The items provided for one by one, each under one kind: every item of a handed-over
    account (signed, as the aging has it); else a write-off proposal's amount; else the
    disputed amount; the last two at most the item's (positive) open amount."""
    accounts = set(zip(handed_over["company_code"].astype(str), handed_over["customer_id"].astype(str)))
    at_agency = np.asarray([k in accounts for k in zip(items["company_code"], items["customer_id"])], dtype=bool)
    handover = items.loc[at_agency].assign(kind="handover", amount=items.loc[at_agency, "open_amount"])
    rest = items.loc[~at_agency & (items["open_amount"] > 0)]
    proposed = rest.merge(_proposed(writeoffs), on=["company_code", "document_no"], how="inner")
    proposed["amount"] = np.minimum(
        proposed["proposed"].fillna(proposed["open_amount"]).astype("int64"), proposed["open_amount"]
    )
    proposed = proposed.assign(kind="writeoff_proposed")
    named = set(zip(proposed["company_code"], proposed["document_no"]))
    rest = rest.loc[[k not in named for k in zip(rest["company_code"], rest["document_no"])]]
    disputed = rest.merge(disputes, on=["company_code", "document_no"], how="inner")
    disputed = disputed.assign(kind="disputed", amount=np.minimum(disputed["disputed"], disputed["open_amount"]))
    out = pd.concat([f[SPECIFIC_COLUMNS] for f in (handover, proposed, disputed)], ignore_index=True)
    out = out.astype({"amount": "int64"})
    return out.loc[out["amount"] != 0].reset_index(drop=True)


def matrix_exposure(
    aging: pd.DataFrame, specific: pd.DataFrame, segments: dict[str, str], rates: dict[str, Decimal]
) -> pd.DataFrame:
    """company_code, segment, bucket, exposure (base cents): the aging less the specific items,
    summed per company code, segment and currency, then converted; zero rows left out."""
    long = aging[[*KEYS, *BUCKETS]].melt(id_vars=KEYS, var_name="bucket", value_name="amount")
    less = specific.groupby([*KEYS, "bucket"], sort=True)["amount"].sum().rename("specific").reset_index()
    long = long.merge(less, on=[*KEYS, "bucket"], how="left")
    long["amount"] = long["amount"].astype("int64") - long["specific"].fillna(0).astype("int64")
    long["segment"] = segment_series(long, segments).to_numpy()
    sums = long.groupby(["company_code", "segment", "currency", "bucket"], sort=True)["amount"].sum().reset_index()
    based = to_base_sums(sums, ["amount"], rates)
    out = based.groupby(["company_code", "segment", "bucket"], sort=True)["amount"].sum().rename("exposure")
    out = out.reset_index().astype({"exposure": "int64"})
    return out.loc[out["exposure"] != 0].reset_index(drop=True)


def specific_exposure(specific: pd.DataFrame, segments: dict[str, str], rates: dict[str, Decimal]) -> pd.DataFrame:
    """company_code, segment, bucket (``specific:<kind>``), exposure (base cents)."""
    frame = specific.assign(segment=segment_series(specific, segments).to_numpy())
    sums = frame.groupby(["company_code", "segment", "currency", "kind"], sort=True)["amount"].sum().reset_index()
    based = to_base_sums(sums, ["amount"], rates)
    out = based.groupby(["company_code", "segment", "kind"], sort=True)["amount"].sum().rename("exposure").reset_index()
    out["bucket"] = "specific:" + out["kind"].astype(str)
    out = out[["company_code", "segment", "bucket", "exposure"]].astype({"exposure": "int64"})
    return out.loc[out["exposure"] != 0].reset_index(drop=True)
