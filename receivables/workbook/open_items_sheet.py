"""The Open items sheet: one row per open document after cash application, with everything a
collector asks about it (whose, how late, how much in its own and the base currency, disputed,
promised, under a plan, blocked, which dunning level and what dunning did tonight).

The Aging, Worklist and Dunning proposal rows link to the first row of their customer here,
so the rows are ordered by company code, customer, currency and due date.

The sheet lists at most ``MAX_ROWS`` documents.  xlsxwriter writes about 160,000 cells a
second, so a million documents would take the background writer two minutes, longer than a
steady night may; and a ledger that large is read in the warehouse, not in Excel.  Over the
budget the documents of the customers on the Worklist come first, then those on tonight's
Dunning proposal, then the rest, each group in customer order, and the Summary says how many
are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from receivables.aging import bucket_index, days_past_due
from receivables.kpis import open_disputes
from receivables.workbook.inputs import WorkbookInputs, base_currency_cents
from receivables.workbook.labels import SKIP_REASONS, word
from receivables.workbook.sheets import EXCEL_MAX_ROWS, Column, write_table

SHEET = "Open items"
#: the most documents the sheet lists (a whole medium-sized ledger; an Excel sheet holds 1,048,575)
MAX_ROWS = min(200_000, EXCEL_MAX_ROWS - 2)
_ORDER = ["company_code", "customer_id", "currency", "due_date", "document_no"]


def columns(base: str) -> list[Column]:
    return [
        Column("company_code", "Company code"),
        Column("customer_id", "Customer"),
        Column("name", "Customer name"),
        Column("collector", "Collector"),
        Column("document_no", "Document"),
        Column("document_type", "Type", width=6),
        Column("reference", "Reference", width=22),
        Column("document_date", "Document date", "date"),
        Column("due_date", "Due date", "date"),
        Column("days_past_due", "Days past due", "int"),
        Column("bucket", "Aging bucket", width=10),
        Column("currency", "Currency", width=9),
        Column("open_amount", "Open amount (native)", "money"),
        Column("open_base", f"Open amount ({base})", "money"),
        Column("disputed", "Disputed (native)", "money"),
        Column("promise", "Promise to pay", width=28),
        Column("plan", "Payment plan", width=12),
        Column("block", "Dunning block", width=12),
        Column("level", "Dunning level", "int"),
        Column("dunning", "Dunning tonight", width=30),
    ]


@dataclass
class OpenItems:
    """The sheet's rows and where each customer's rows start (1-based Excel rows)."""

    frame: pd.DataFrame
    #: open documents in the ledger; more than ``len(frame)`` when the sheet could not hold them
    total: int
    by_customer: dict[tuple[str, str], int] = field(default_factory=dict)
    by_currency: dict[tuple[str, str, str], int] = field(default_factory=dict)


def open_items(inputs: WorkbookInputs) -> OpenItems:
    """The open documents in the sheet's order with their columns, and the link targets."""
    items = inputs.open_items
    items = items.loc[pd.to_numeric(items["open_amount"]).fillna(0) != 0]
    total = len(items)
    items = _within_budget(items, inputs).reset_index(drop=True)
    frame = _documents(items, inputs)
    frame["open_base"] = pd.array(base_currency_cents(inputs, frame, "open_amount"), dtype="Int64")
    frame["disputed"] = _disputed(items, inputs)
    frame["promise"] = _promised(items, inputs)
    frame["plan"] = _planned(items, inputs.payment_plans)
    frame["block"] = _blocked(items, inputs.customers)
    frame["level"], frame["dunning"] = _dunning(items, inputs)
    keys = frame[["company_code", "customer_id", "currency"]].astype(str)
    rows = np.arange(len(frame)) + 2  # the header is row 1
    first = ~keys.duplicated()
    by_currency = dict(zip(map(tuple, keys.loc[first].to_numpy()), rows[first.to_numpy()].tolist()))
    first = ~keys[["company_code", "customer_id"]].duplicated()
    by_customer = dict(
        zip(map(tuple, keys.loc[first, ["company_code", "customer_id"]].to_numpy()), rows[first.to_numpy()].tolist())
    )
    return OpenItems(frame, total, by_customer, by_currency)  # type: ignore[arg-type]


def _within_budget(items: pd.DataFrame, inputs: WorkbookInputs) -> pd.DataFrame:
    """The documents the sheet lists, in its order: all of them by customer, or over the
    budget those of the customers a person works on first (see the module docstring)."""
    if len(items) <= MAX_ROWS:
        return items.sort_values(_ORDER, kind="stable")
    key = items["company_code"].astype(str) + "\x1f" + items["customer_id"].astype(str)

    def keys(frame: pd.DataFrame) -> set[str]:
        return set(frame["company_code"].astype(str) + "\x1f" + frame["customer_id"].astype(str))

    group = np.where(key.isin(keys(inputs.worklist)), 0, np.where(key.isin(keys(inputs.notices)), 1, 2))
    ordered = items.assign(_group=group).sort_values(["_group", *_ORDER], kind="stable")
    return ordered.head(MAX_ROWS).drop(columns="_group")


def write_open_items(ws, sheet: OpenItems, inputs: WorkbookInputs, fm) -> None:
    write_table(ws, sheet.frame, columns(inputs.facts.base_currency), fm, title=SHEET)


def _documents(items: pd.DataFrame, inputs: WorkbookInputs) -> pd.DataFrame:
    """Who the document belongs to, its dates, age and bucket."""
    customers = inputs.customers.drop_duplicates("customer_id").set_index("customer_id")
    who = items["customer_id"].astype(str)
    due = pd.to_datetime(items["due_date"]).fillna(pd.to_datetime(items["document_date"]))
    days = days_past_due(due, inputs.facts.as_of).fillna(0).astype("int64")
    config = inputs.config.aging
    labels = np.array([b.label for b in config.buckets], dtype=object)
    frame = items[["company_code", "customer_id", "document_no", "currency", "open_amount"]].copy()
    frame["name"] = who.map(customers["name"]) if "name" in customers else None
    frame["collector"] = who.map(customers["collector"]) if "collector" in customers else None
    frame["document_type"] = items.get("document_type")
    frame["reference"] = items.get("reference")
    frame["document_date"] = items["document_date"]
    frame["due_date"] = items["due_date"]
    frame["days_past_due"] = days
    frame["bucket"] = labels[bucket_index(days.to_numpy(), config.edges)]
    return frame


def _doc_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["company_code"].astype(str) + "\x1f" + frame["document_no"].astype(str)


def _disputed(items: pd.DataFrame, inputs: WorkbookInputs) -> pd.Series:
    """The amount of the document's disputes open on as_of (in the document's currency)."""
    disputes = inputs.disputes
    if disputes is None or disputes.empty:
        return pd.Series(pd.NA, index=items.index, dtype="Int64")
    live = open_disputes(disputes, inputs.facts.as_of)
    live = live.loc[live["document_no"].notna()]
    sums = pd.to_numeric(live["amount"]).groupby(_doc_keys(live)).sum()
    return _doc_keys(items).map(sums).astype("Int64")


def _promised(items: pd.DataFrame, inputs: WorkbookInputs) -> list[str | None]:
    """The document's promise to pay: open (created, and its date plus grace not passed) or
    broken tonight; a promise without a document covers every item of its customer.  An item
    dunning paused for a promise the extract does not list (one recorded from a call) still
    reads as promised."""
    by_doc, by_account = _promise_texts(inputs)
    skipped = inputs.skipped
    paused = set() if skipped.empty else set(_doc_keys(skipped.loc[skipped["reason"] == "PROMISE"]))
    keys = zip(
        items["company_code"].astype(str),
        items["document_no"].astype(str),
        items["customer_id"].astype(str),
        _doc_keys(items),
    )
    return [
        by_doc.get((cc, doc)) or by_account.get((cc, cust)) or ("Open: dunning paused" if key in paused else None)
        for cc, doc, cust, key in keys
    ]


def _promise_texts(inputs: WorkbookInputs) -> tuple[dict[tuple, str], dict[tuple, str]]:
    """Per document and per whole account, the text of its open or broken promise."""
    by_doc: dict[tuple, str] = {}
    by_account: dict[tuple, str] = {}
    promises = inputs.promises
    if promises is None or promises.empty:
        return by_doc, by_account
    t = pd.Timestamp(inputs.facts.as_of).normalize()
    grace = pd.Timedelta(days=inputs.config.kpis.promise_grace_days)
    broken = set(inputs.broken_promises["promise_id"].astype(str)) if not inputs.broken_promises.empty else set()
    created = pd.to_datetime(promises["created_on"]).fillna(t)
    ordered = promises.assign(made=created, on=pd.to_datetime(promises["promised_date"]))
    ordered = ordered.sort_values("on", kind="stable")
    for p in ordered.itertuples(index=False):
        if str(p.promise_id) in broken:
            text = f"Broken, promised for {p.on.date()}"
        elif p.made <= t <= p.on + grace:
            text = f"Open, promised for {p.on.date()}"
        else:
            continue
        if pd.isna(p.document_no):
            by_account[(str(p.company_code), str(p.customer_id))] = text
        else:
            by_doc[(str(p.company_code), str(p.document_no))] = text
    return by_doc, by_account


def _planned(items: pd.DataFrame, plans: pd.DataFrame | None) -> list[str | None]:
    """The payment plan covering the document, if any."""
    if plans is None or plans.empty:
        return [None] * len(items)
    covered = {}
    for plan in plans.itertuples(index=False):
        for doc in str(plan.document_nos or "").split(";"):
            if doc.strip():
                covered[(str(plan.company_code), doc.strip())] = str(plan.plan_id)
    keys = zip(items["company_code"].astype(str), items["document_no"].astype(str))
    return [covered.get(k) for k in keys]


def _blocked(items: pd.DataFrame, customers: pd.DataFrame) -> np.ndarray:
    """``Item``, ``Customer`` or both where dunning is blocked."""
    item = items["dunning_block"].fillna(False).astype(bool).to_numpy() if "dunning_block" in items else False
    blocked = set()
    if "dunning_block" in customers:
        blocked = set(customers.loc[customers["dunning_block"].fillna(False).astype(bool), "customer_id"].astype(str))
    customer = items["customer_id"].astype(str).isin(blocked).to_numpy()
    return np.select([item & customer, item, customer], ["Item and customer", "Item", "Customer"], default=None).astype(
        object
    )


def _dunning(items: pd.DataFrame, inputs: WorkbookInputs) -> tuple[pd.Series, list]:
    """The document's dunning level after tonight and what dunning did with it."""
    keys = _doc_keys(items)
    on_notice = inputs.dunning_items
    skipped = inputs.skipped
    level = pd.Series(pd.NA, index=items.index, dtype="Int64")
    what = pd.Series(None, index=items.index, dtype=object)
    if not skipped.empty:
        s = skipped.drop_duplicates(["company_code", "document_no"]).set_index(_doc_keys(skipped))
        hit = keys.map(s["level"])
        level = level.mask(hit.notna(), hit)
        what = what.mask(hit.notna(), keys.map(s["reason"]).map(lambda r: word(SKIP_REASONS, r)))
    if not on_notice.empty:
        n = on_notice.drop_duplicates(["company_code", "document_no"]).set_index(_doc_keys(on_notice))
        hit = keys.map(n["level"])
        level = level.mask(hit.notna(), hit)
        what = what.mask(hit.notna(), "On tonight's notice")
    return level.astype("Int64"), what.where(what.notna(), None).tolist()
