"""Write-off proposals (docs/close.md "Write-off proposals"): tonight's open items (after cash)
that collections has given up on, with the reason, the amount in the base currency and the
role whose approval that amount needs; an approval from the ``writeoff_approvals`` extract
makes a proposal APPROVED, and only approved ones go to the ERP's journal file.

Reasons, the first that applies wins: AGENCY_RETURNED (an agency returned the item as
uncollectible), MAX_LEVEL_AGED (at the policy's last dunning level for ``max_level_days``),
SMALL_BALANCE (overdue for ``small_balance_days`` with at most ``small_balance`` open)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pandas as pd

from receivables.aging import to_base_cents
from receivables.close.writeoff_rules import WriteoffRules
from receivables.dunning import DunningPolicies
from receivables.money import to_decimal

WRITEOFF_COLUMNS = [
    "proposal_id",
    "company_code",
    "customer_id",
    "document_no",
    "due_date",
    "days_past_due",
    "dunning_level",
    "level_since",
    "currency",
    "amount",
    "base_amount",
    "reason",
    "approver_role",
    "status",
    "approved_by",
    "approved_on",
]
#: the journal file's columns, in order (docs/close.md)
JOURNAL_COLUMNS = [
    "posting_date",
    "company_code",
    "document_no",
    "customer_id",
    "debit_account",
    "credit_account",
    "cost_center",
    "amount",
    "currency",
    "reason",
    "approver_role",
    "proposal_id",
]


def proposal_id(company_code: str, document_no: str) -> str:
    """The same item gives the same id every night, so an approval keeps its proposal."""
    return f"WO-{company_code}-{document_no}"


def max_levels(customers: pd.DataFrame, policies: DunningPolicies) -> dict[str, int]:
    """Each customer's last dunning level: of its ``dunning_policy`` override, else of its
    segment's policy (the dunning stage's choice); a customer naming no known policy has none."""
    out: dict[str, int] = {}
    if customers is None or customers.empty:
        return out
    seg = customers["segment"] if "segment" in customers else pd.Series(None, index=customers.index)
    own = customers["dunning_policy"] if "dunning_policy" in customers else pd.Series(None, index=customers.index)
    for cust, segment, override in zip(customers["customer_id"].astype(str), seg, own):
        name = str(segment).strip().upper() if not pd.isna(segment) else ""
        policy = policies.segments.get(name, policies.default_policy)
        if not pd.isna(override) and str(override).strip():
            policy = str(override).strip().upper()
        if policy in policies.policies and cust not in out:
            out[cust] = len(policies.policies[policy].levels)
    return out


def propose_writeoffs(
    open_items: pd.DataFrame,
    history: pd.DataFrame | None,
    customers: pd.DataFrame,
    agency_returns: pd.DataFrame | None,
    approvals: pd.DataFrame | None,
    as_of: date,
    rules: WriteoffRules,
    policies: DunningPolicies,
    rates: dict[str, Decimal] | None = None,
) -> pd.DataFrame:
    """Tonight's write-off proposals, one per open item at most (money in cents).  ``history``
    is the dunning state before as_of (level and the day it was reached); ``rates`` base units
    per currency unit (None: amounts are already in the base currency).  An item without a
    rate has no base amount and needs the last approver tier."""
    t = pd.Timestamp(as_of).normalize()
    items = open_items.loc[open_items["open_amount"] > 0].copy()
    if items.empty:
        return pd.DataFrame(columns=WRITEOFF_COLUMNS)
    items["company_code"] = items["company_code"].astype(str)
    items["document_no"] = items["document_no"].astype(str)
    items["customer_id"] = items["customer_id"].astype(str)
    items["due_ts"] = pd.to_datetime(items["due_date"])
    items["days_past_due"] = (t - items["due_ts"]).dt.days.fillna(0).clip(lower=0).astype("int64")
    items = _with_levels(items, history)
    tops = max_levels(customers, policies)
    top = items["customer_id"].map(tops)
    since = (t - items["level_since"]).dt.days
    aged = top.notna() & (items["dunning_level"] >= top) & (since >= rules.max_level_days)
    # a currency without a threshold: -1 cent, which no positive open amount is under
    currency = items["currency"].astype(str)
    limit = currency.map({c: rules.small_balance_cents(c) or -1 for c in currency.unique()}).astype("int64")
    small = (items["open_amount"] <= limit) & (items["days_past_due"] >= max(rules.small_balance_days, 1))
    returned = _keys_in(items, agency_returns, "returned_on", t)
    reason = pd.Series(None, index=items.index, dtype=object)
    reason[small] = "SMALL_BALANCE"
    reason[aged] = "MAX_LEVEL_AGED"
    reason[returned] = "AGENCY_RETURNED"
    picked = items.loc[reason.notna()].assign(reason=reason[reason.notna()])
    return _proposals(picked, approvals, t, rules, rates)


def _with_levels(items: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """The item's stored dunning level and the day it reached it (0 and NaT: never dunned)."""
    if history is None or history.empty:
        return items.assign(dunning_level=0, level_since=pd.NaT)
    h = history.assign(
        company_code=history["company_code"].astype(str),
        document_no=history["document_no"].astype(str),
        level_since=pd.to_datetime(history["as_of"]),
    )[["company_code", "document_no", "level", "level_since"]]
    out = items.merge(h, on=["company_code", "document_no"], how="left").set_axis(items.index)
    return out.assign(dunning_level=out["level"].fillna(0).astype("int64")).drop(columns="level")


def _keys_in(items: pd.DataFrame, extract: pd.DataFrame | None, day_column: str, t: pd.Timestamp) -> pd.Series:
    """Whether each item is listed (company code, document number) in the extract on or before t."""
    if extract is None or extract.empty:
        return pd.Series(False, index=items.index)
    known = extract.loc[pd.to_datetime(extract[day_column]) <= t]
    listed = set(zip(known["company_code"].astype(str), known["document_no"].astype(str)))
    return pd.Series(
        [k in listed for k in zip(items["company_code"], items["document_no"])], index=items.index, dtype=bool
    )


def _proposals(
    picked: pd.DataFrame,
    approvals: pd.DataFrame | None,
    t: pd.Timestamp,
    rules: WriteoffRules,
    rates: dict[str, Decimal] | None,
) -> pd.DataFrame:
    approved = {}
    if approvals is not None and not approvals.empty:
        known = approvals.loc[pd.to_datetime(approvals["approved_on"]) <= t]
        for r in known.itertuples(index=False):
            approved[(str(r.company_code), str(r.document_no))] = (str(r.approved_by), pd.Timestamp(r.approved_on))
    rows = []
    for r in picked.sort_values(["company_code", "document_no"], kind="stable").itertuples(index=False):
        currency, cents = str(r.currency), int(r.open_amount)
        base = cents if rates is None else (to_base_cents(cents, rates[currency]) if currency in rates else None)
        who, on = approved.get((r.company_code, r.document_no), (None, pd.NaT))
        rows.append(
            {
                "proposal_id": proposal_id(r.company_code, r.document_no),
                "company_code": r.company_code,
                "customer_id": r.customer_id,
                "document_no": r.document_no,
                "due_date": r.due_ts,
                "days_past_due": int(r.days_past_due),
                "dunning_level": int(r.dunning_level),
                "level_since": r.level_since,
                "currency": currency,
                "amount": cents,
                "base_amount": base,
                "reason": r.reason,
                "approver_role": rules.approvers[-1].role if base is None else rules.approver_role(base),
                "status": "PROPOSED" if who is None else "APPROVED",
                "approved_by": who,
                "approved_on": on,
            }
        )
    frame = pd.DataFrame(rows, columns=WRITEOFF_COLUMNS)
    return frame.astype({"amount": "int64", "base_amount": "Int64", "days_past_due": "int64", "dunning_level": "int64"})


def written_off_items(proposals: pd.DataFrame) -> pd.DataFrame:
    """The approved write-offs (company_code, customer_id, document_no, approved_on): the hook
    the claims of fees and interest call to close an item's claims (docs/close.md)."""
    cols = ["company_code", "customer_id", "document_no", "approved_on"]
    if proposals is None or proposals.empty:
        return pd.DataFrame(columns=cols)
    return proposals.loc[proposals["status"] == "APPROVED", cols].reset_index(drop=True)


def approved_writeoffs(approvals: pd.DataFrame | None, as_of: date) -> pd.DataFrame | None:
    """The items (company_code, document_no) whose write-off is approved on or before as_of in
    the ``writeoff_approvals`` extract: dunning skips them as WRITTEN_OFF.  None without the
    extract, so a night without it dunns as before."""
    if approvals is None:
        return None
    known = approvals.loc[pd.to_datetime(approvals["approved_on"]) <= pd.Timestamp(as_of)]
    keys = known[["company_code", "document_no"]].astype(str).drop_duplicates()
    return keys.reset_index(drop=True)


def journal_csv(proposals: pd.DataFrame, company_code: str, as_of: date, rules: WriteoffRules) -> bytes | None:
    """The company's write-off journal for the ERP: one line per APPROVED proposal, debiting
    the expense account and crediting the receivable; None for a company without accounts."""
    accounts = rules.accounts.get(company_code)
    if accounts is None:
        return None
    rows = proposals.loc[(proposals["company_code"] == company_code) & (proposals["status"] == "APPROVED")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(JOURNAL_COLUMNS)
    for r in rows.sort_values("document_no", kind="stable").itertuples(index=False):
        writer.writerow(
            [
                as_of.isoformat(),
                company_code,
                r.document_no,
                r.customer_id,
                accounts.expense_account,
                accounts.receivable_account,
                accounts.cost_center or "",
                str(to_decimal(r.amount)),
                r.currency,
                r.reason,
                r.approver_role,
                r.proposal_id,
            ]
        )
    return out.getvalue().encode("utf-8")
