"""What stage 4 returns: the ``DunningProposal`` and its frames (notices, items, skipped
items, broken promises) with their columns and dtypes, and the notice ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from receivables.dunning.columns import _GROUP, Columns, _key
from receivables.dunning.exclusions import EXCLUSION_REASONS
from receivables.dunning.levels import HOLD_REASONS
from receivables.dunning.policy_table import _PolicyTable

#: an item of a company code whose creditor details the configuration lacks (preflight)
COMPANY_NOT_CONFIGURED = "COMPANY_NOT_CONFIGURED"
#: the ``reason`` of a skipped item: excluded, or dunnable but holding its level
SKIP_REASONS = (*EXCLUSION_REASONS, *HOLD_REASONS, COMPANY_NOT_CONFIGURED)

NOTICE_COLUMNS = [
    "notice_id",
    "company_code",
    "customer_id",
    "currency",
    "level",
    "overdue_amount",
    "credit_amount",
    "unapplied_amount",
    "fees",
    "interest",
    "action",
    "policy",
    "template",
    "language",
]
ITEM_COLUMNS = [
    "notice_id",
    "company_code",
    "document_no",
    "customer_id",
    "currency",
    "document_type",
    "document_date",
    "due_date",
    "reference",
    "amount",
    "open_amount",
    #: the part of open_amount open disputes block: not claimed, no interest on it (0012)
    "disputed_amount",
    "previous_level",
    "level",
    "days_past_due",
    "interest",
    "fee",
]
SKIPPED_COLUMNS = [
    "company_code",
    "document_no",
    "customer_id",
    "currency",
    "reason",
    "level",
    "days_past_due",
    "open_amount",
]
BROKEN_PROMISE_COLUMNS = [
    "promise_id",
    "company_code",
    "customer_id",
    "document_no",
    "promised_amount",
    "promised_date",
    "covered_open_amount",
]
HISTORY_COLUMNS = ["company_code", "document_no", "level", "as_of"]


@dataclass(frozen=True)
class DunningProposal:
    """What stage 4 decides for one as_of; money in integer cents, levels as integers."""

    as_of: date
    #: one row per notice: (company_code, customer_id, currency) with an advancing item
    notices: pd.DataFrame
    #: the items listed on the notices, with their previous and current level
    items: pd.DataFrame
    #: overdue items that did not advance, with the reason (SKIP_REASONS)
    skipped: pd.DataFrame
    #: promises whose date + grace has passed with less than the promised amount paid
    broken_promises: pd.DataFrame

    @property
    def counts(self) -> dict[str, Any]:
        """Key numbers for the run log and the flow's summary."""
        return {
            "notices": len(self.notices),
            "items": len(self.items),
            "advanced": int((self.items["level"] > self.items["previous_level"]).sum()),
            "skipped": {str(k): int(v) for k, v in self.skipped["reason"].value_counts().sort_index().items()},
            "broken_promises": len(self.broken_promises),
            "by_action": {str(k): int(v) for k, v in self.notices["action"].value_counts().sort_index().items()},
        }


def notice_id(as_of: date, company_code: str, customer_id: str, currency: str) -> str:
    """A notice's id: the same as_of, company, customer and currency give the same id."""
    day = pd.Timestamp(as_of)
    digest = hashlib.sha256(f"{day:%Y-%m-%d}|{company_code}|{customer_id}|{currency}".encode()).hexdigest()
    return f"DN-{day:%Y%m%d}-{digest[:16].upper()}"


def notice_ids(as_of: date, accounts: list[tuple[str, str, str]]) -> list[str]:
    """``notice_id`` of each (company_code, customer_id, currency), the date formatted once:
    a night has tens of thousands of notices."""
    day = pd.Timestamp(as_of)
    hashed, prefix = f"{day:%Y-%m-%d}", f"DN-{day:%Y%m%d}-"
    sha256 = hashlib.sha256
    return [
        prefix + sha256(f"{hashed}|{company}|{customer}|{currency}".encode()).hexdigest()[:16].upper()
        for company, customer, currency in accounts
    ]


def _notices(listed: Columns, table: _PolicyTable) -> pd.DataFrame:
    """One notice per group with an advancing item, at the highest item level; the level's
    fee only on the notice that first takes the account to that level."""
    code, ids = pd.factorize(listed["notice_id"])
    first = np.unique(code, return_index=True)[1]

    def fold(column: str, ufunc: np.ufunc) -> np.ndarray:
        out = np.zeros(len(ids), dtype=np.int64)
        ufunc.at(out, code, listed[column].astype(np.int64))
        return out

    n: Columns = {
        c: listed[c][first]
        for c in (
            "notice_id",
            "company_code",
            "customer_id",
            "currency",
            "policy",
            "language",
            "credit_amount",
            "unapplied_amount",
        )
    }
    n["level"] = fold("level", np.maximum)
    # what the notice claims: the items' open amounts less their disputed parts
    n["overdue_amount"] = fold("claimed_amount", np.add)
    n["interest"] = fold("interest", np.add)
    p = table.index(n["policy"])
    rule_level = np.minimum(n["level"], listed["max_level"][first])
    n["action"] = table.action[p, rule_level]
    n["template"] = table.template[p, rule_level]
    level_fee = table.fee[p, rule_level, table.currency(n["currency"])]
    n["fees"] = np.where(n["level"] > fold("previous_level", np.maximum), level_fee, 0) + fold("fee", np.add)
    return typed_frame(n, NOTICE_COLUMNS, order=_GROUP)


_DTYPES = {
    "level": "int64",
    "previous_level": "int64",
    "days_past_due": "int64",
    "overdue_amount": "int64",
    "credit_amount": "int64",
    "unapplied_amount": "int64",
    "fees": "int64",
    "interest": "int64",
    "open_amount": "int64",
    "disputed_amount": "int64",
    "amount": "int64",
    "fee": "int64",
    "promised_amount": "int64",
    "covered_open_amount": "int64",
    "document_date": "datetime64[ns]",
    "due_date": "datetime64[ns]",
    "promised_date": "datetime64[ns]",
}


def typed_frame(f: Columns | pd.DataFrame, columns: list[str], order: list[str] | None = None) -> pd.DataFrame:
    """The output columns in order with stable dtypes (text as ``string``, money int64
    cents, dates datetime64), sorted by ``order``, also when there are no rows."""
    rows = np.argsort(_key(f, order), kind="stable") if order and len(f[order[0]]) else slice(None)
    data = {}
    for c in columns:
        values = np.asarray(f[c])[rows] if c in f else np.array([], dtype=object)
        dtype = _DTYPES.get(c, "string")
        data[c] = (
            pd.array(np.asarray(values, dtype=object), dtype="string") if dtype == "string" else values.astype(dtype)
        )
    return pd.DataFrame(data)


def hold_companies(proposal: DunningProposal, codes: list[str]) -> DunningProposal:
    """The proposal without the notices of company codes no letter can be printed for yet:
    their items keep their previous level and are listed as skipped (COMPANY_NOT_CONFIGURED),
    so their dunning resumes where it stood once the company is configured."""
    if not codes:
        return proposal
    held = proposal.items["company_code"].astype(str).isin(codes).to_numpy()
    items = proposal.items[held]
    waiting = pd.DataFrame(
        {
            "company_code": items["company_code"],
            "document_no": items["document_no"],
            "customer_id": items["customer_id"],
            "currency": items["currency"],
            "reason": COMPANY_NOT_CONFIGURED,
            "level": items["previous_level"],
            "days_past_due": items["days_past_due"],
            "open_amount": items["open_amount"],
        }
    )
    skipped = pd.concat([proposal.skipped, waiting.astype(proposal.skipped.dtypes.to_dict())], ignore_index=True)
    notices = proposal.notices[~proposal.notices["company_code"].astype(str).isin(codes).to_numpy()]
    return DunningProposal(
        as_of=proposal.as_of,
        notices=notices.reset_index(drop=True),
        items=proposal.items[~held].reset_index(drop=True),
        skipped=skipped,
        broken_promises=proposal.broken_promises,
    )
