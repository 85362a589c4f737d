"""Claims for fees and interest (docs/close.md "Claims for fees and interest"): every fee and
interest amount a dunning notice charged is owed until it is paid, waived or written off.

A notice's level fee is a FEE claim on the notice (no document), an item's compensation a FEE
claim on the item, an item's interest an INTEREST claim on the item.  A later notice charges an
item's interest again from its due date, so its INTEREST claim is only the part the earlier
claims do not already hold; the item's latest INTEREST claim keeps accruing on the open
principal (ACT/365, the rate the dunning charged) until the item is paid, written off or the
claim waived.  Payments applied to a dunned item settle the claims in the company's order
(``claim_rules``); under section 367 BGB costs and interest come first, and the principal part
of the payment they took is the item's ``principal_shortfall``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from receivables.close.claim_accrual import ItemPrincipal, Rate, item_rate
from receivables.close.claim_rules import ClaimRules
from receivables.dunning import DunningPolicies

CLAIM_COLUMNS = [
    "claim_id",
    "company_code",
    "customer_id",
    "notice_id",
    "document_no",
    "kind",
    "currency",
    "arose_on",
    "amount",
    "accrued_to",
    "settled_amount",
    "principal_shortfall",
    "status",
    "waived_by",
    "waived_reason",
]
SHORTFALL_COLUMNS = ["company_code", "customer_id", "document_no", "currency", "principal_shortfall"]


@dataclass
class ClaimsResult:
    #: one row per claim (the ``claims`` table); money in cents
    claims: pd.DataFrame
    #: per dunned item, the principal a 367 BGB allocation left open (cents, > 0 rows only)
    shortfalls: pd.DataFrame


@dataclass
class _Claim:
    claim_id: str
    company_code: str
    customer_id: str
    notice_id: str
    document_no: str
    kind: str
    currency: str
    arose: date
    base: int
    stop: date
    rate: Rate | None = None
    principal: ItemPrincipal | None = None
    settled: int = 0
    from_principal: int = 0
    closed: dict[str, date] = field(default_factory=dict)  # WAIVED / WRITTEN_OFF -> day
    waived_by: str | None = None
    waived_reason: str | None = None

    def amount_on(self, day: date) -> int:
        """What the claim holds on ``day``: its base plus the interest accrued by then."""
        if self.rate is None or self.principal is None:
            return self.base
        return self.base + self.principal.accrued(self.rate, self.arose, min(day, self.stop))

    def open_on(self, day: date) -> bool:
        return self.arose < day and not any(on <= day for on in self.closed.values())


def build_claims(
    notices: pd.DataFrame,
    items: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: date,
    rules: ClaimRules,
    policies: DunningPolicies,
    countries: Mapping[str, str] | None = None,
    open_documents: set[tuple[str, str]] | None = None,
    written_off: pd.DataFrame | None = None,
    waivers: pd.DataFrame | None = None,
) -> ClaimsResult:
    """The claims of every notice up to ``as_of`` with what is settled of each.

    ``notices`` (notice_id, as_of, company_code, customer_id, currency, fees, policy) and
    ``items`` (notice_id, as_of, company_code, customer_id, document_no, currency, level,
    open_amount, disputed_amount, interest, fee) are the dunning history in cents; ``payments``
    (as_of, company_code, document_no, applied_amount) the applied cash.  ``countries`` maps a
    customer to its country (the statutory rate's law where the company has none);
    ``open_documents`` the (company_code, document_no) still open tonight: an item that left
    without a payment stops accruing on its last known day.  ``written_off`` (company_code,
    document_no, approved_on) and ``waivers`` (claim_id, waived_by, waived_on, reason) close
    claims from their day on."""
    notices, items, payments = _dated(notices), _dated(items), _dated(payments)
    notices = notices[notices["as_of"] <= as_of]
    items = items[items["as_of"] <= as_of]
    payments = payments[payments["as_of"] <= as_of]
    offs = _written_off(written_off, as_of)
    policy = dict(zip(notices["notice_id"].tolist(), notices["policy"].tolist())) if "policy" in notices else {}
    items = items.assign(policy=items["notice_id"].map(policy))
    claims = _fee_claims(notices, items)
    principals: dict[tuple[str, str], ItemPrincipal] = {}
    by_notice_docs = _documents_by_notice(items, {c.notice_id for c in claims if not c.document_no})
    # only the items something is claimed on need their history walked: most dunned items
    # carry no fee and no interest (a first reminder), and a night dunns hundreds of thousands
    charged = _charged_items(items, claims, by_notice_docs)
    # so only their cash counts: a payment on any other item settles no claim
    paid = _payments(payments, charged)
    for key, rows in charged.sort_values(["as_of", "notice_id"], kind="stable").groupby(
        ["company_code", "document_no"], sort=True
    ):
        principals[key] = ItemPrincipal.from_history(rows, paid.get(key, []))
        claims += _interest_claims(
            key, rows, principals[key], as_of, rules, policies, countries or {}, open_documents, offs.get(key)
        )
    _close(claims, by_notice_docs, offs, waivers, as_of)
    shortfalls = _settle(claims, paid, principals, by_notice_docs, rules, policies)
    return ClaimsResult(_frame(claims, as_of), _shortfall_frame(shortfalls, claims))


def _charged_items(items: pd.DataFrame, fees: list[_Claim], by_notice_docs: dict[str, list[str]]) -> pd.DataFrame:
    """The history rows of the items that bear interest on some notice or carry a fee claim
    (their own, or their notice's level fee)."""
    interest = items.loc[items["interest"] > 0]
    keys = set(zip(interest["company_code"], interest["document_no"]))
    for c in fees:
        keys.update(
            (c.company_code, d) for d in ([c.document_no] if c.document_no else by_notice_docs.get(c.notice_id, []))
        )
    wanted = pd.MultiIndex.from_arrays([items["company_code"], items["document_no"]]).isin(list(keys))
    return items.loc[wanted]


def charged_documents(notices: pd.DataFrame, items: pd.DataFrame) -> set[tuple[str, str]]:
    """(company_code, document_no) of the items something is charged on: interest or a fee
    of their own, or a notice with fees or with an item's fee (its level fee, the fees less
    the items', spans its items).  Only these documents' history can hold or settle a claim
    (``_charged_items`` walks a subset)."""
    with_fees = set(notices.loc[notices["fees"] != 0, "notice_id"].astype(str))
    with_fees |= set(items.loc[items["fee"] != 0, "notice_id"].astype(str))
    charged = (items["interest"] > 0) | (items["fee"] != 0) | items["notice_id"].astype(str).isin(with_fees)
    rows = items.loc[charged]
    return set(zip(rows["company_code"].astype(str), rows["document_no"].astype(str)))


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    for col in ("company_code", "document_no", "customer_id", "notice_id"):
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    return frame


def _payments(payments: pd.DataFrame, items: pd.DataFrame) -> dict[tuple[str, str], list[tuple[date, int]]]:
    """Per item of ``items``, the applied cash per day in date order."""
    keys = ["company_code", "document_no"]
    # the document number alone first (cheap), then the pair on what is left
    payments = payments.loc[payments["document_no"].isin(items["document_no"])]
    payments = payments.loc[pd.MultiIndex.from_frame(payments[keys]).isin(pd.MultiIndex.from_frame(items[keys]))]
    summed = payments.groupby([*keys, "as_of"], sort=True)["applied_amount"].sum()
    out: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for (company, doc, day), cents in zip(summed.index.tolist(), summed.tolist()):
        out[(company, doc)].append((day, int(cents)))
    return out


def _written_off(written_off: pd.DataFrame | None, as_of: date) -> dict[tuple[str, str], date]:
    if written_off is None or written_off.empty:
        return {}
    days = pd.to_datetime(written_off["approved_on"]).dt.date
    return {
        (str(c), str(d)): day
        for c, d, day in zip(written_off["company_code"], written_off["document_no"], days)
        if day <= as_of
    }


def _fee_claims(notices: pd.DataFrame, items: pd.DataFrame) -> list[_Claim]:
    """The notice's level fee (its fees less its items' fees) and each item's own fee."""
    claims = []
    item_fees = items.groupby("notice_id")["fee"].sum()
    level_fees = notices["fees"].to_numpy(dtype="int64") - item_fees.reindex(
        notices["notice_id"], fill_value=0
    ).to_numpy(dtype="int64")
    due = level_fees > 0
    for n, cents in zip(notices.loc[due].itertuples(index=False), level_fees[due].tolist()):
        claims.append(_fee(n, "", cents))
    for i in items.loc[items["fee"] > 0].itertuples(index=False):
        claims.append(_fee(i, i.document_no, int(i.fee)))
    return claims


def _documents_by_notice(items: pd.DataFrame, notices: set[str]) -> dict[str, list[str]]:
    """Per notice of ``notices`` (those with a level fee: only its claim spans the items),
    the document numbers of its items (each once, sorted)."""
    pairs = items.loc[items["notice_id"].isin(notices), ["notice_id", "document_no"]].astype(str).drop_duplicates()
    pairs = pairs.sort_values(["notice_id", "document_no"], kind="stable")
    docs: dict[str, list[str]] = defaultdict(list)
    for notice, doc in zip(pairs["notice_id"].tolist(), pairs["document_no"].tolist()):
        docs[notice].append(doc)
    return dict(docs)


def _fee(row, document_no: str, cents: int) -> _Claim:
    claim_id = f"{row.notice_id}/{document_no}/FEE" if document_no else f"{row.notice_id}/FEE"
    return _Claim(
        claim_id, row.company_code, row.customer_id, row.notice_id, document_no, "FEE", str(row.currency),
        row.as_of, cents, row.as_of,
    )  # fmt: skip


def _interest_claims(
    key: tuple[str, str],
    rows: pd.DataFrame,
    principal: ItemPrincipal,
    as_of: date,
    rules: ClaimRules,
    policies: DunningPolicies,
    countries: Mapping[str, str],
    open_documents: set[tuple[str, str]] | None,
    written_off_on: date | None,
) -> list[_Claim]:
    """One item's INTEREST claims: each notice's top-up over the earlier claims; the latest
    accrues until the item is paid (or leaves, or is written off) or as_of."""
    company, doc = key
    end = principal.paid_on or as_of
    if open_documents is not None and key not in open_documents and principal.paid_on is None:
        end = principal.last_event  # left the open items without our cash: last day we knew it open
    if written_off_on is not None:
        end = min(end, written_off_on)
    charged = rows.loc[rows["interest"] > 0]
    claims: list[_Claim] = []
    held = 0
    for j, r in enumerate(charged.itertuples(index=False)):
        nxt = charged["as_of"].iloc[j + 1] if j + 1 < len(charged) else None
        stop = max(r.as_of, min(nxt, end) if nxt is not None else end)
        rate = item_rate(r, policies, countries) if rules.accrue_until_paid else None
        claim = _Claim(
            f"{r.notice_id}/{doc}/INTEREST", company, r.customer_id, r.notice_id, doc, "INTEREST",
            str(r.currency), r.as_of, max(0, int(r.interest) - held), stop, rate, principal,
        )  # fmt: skip
        held += claim.amount_on(stop)
        claims.append(claim)
    return claims


def _close(
    claims: list[_Claim],
    by_notice_docs: dict[str, list[str]],
    offs: dict[tuple[str, str], date],
    waivers: pd.DataFrame | None,
    as_of: date,
) -> None:
    """Mark the claims written off (an approved write-off of their item; a notice's fee when
    every item of the notice is written off) and waived (the waiver extract)."""
    for c in claims:
        docs = [c.document_no] if c.document_no else by_notice_docs.get(c.notice_id, [])
        days = [offs.get((c.company_code, d)) for d in docs]
        if docs and all(days):
            c.closed["WRITTEN_OFF"] = max(days)  # type: ignore[type-var]
    if waivers is None or waivers.empty:
        return
    by_id = {c.claim_id: c for c in claims}
    for w in waivers.itertuples(index=False):
        claim, on = by_id.get(str(w.claim_id)), pd.Timestamp(w.waived_on).date()
        if claim is not None and on <= as_of:
            claim.closed["WAIVED"] = on
            claim.waived_by, claim.waived_reason = str(w.waived_by), _text(getattr(w, "reason", None))
            if claim.rate is not None:
                claim.stop = max(claim.arose, min(claim.stop, on))


def _settle(
    claims: list[_Claim],
    paid: dict[tuple[str, str], list[tuple[date, int]]],
    principals: dict[tuple[str, str], ItemPrincipal],
    by_notice_docs: dict[str, list[str]],
    rules: ClaimRules,
    policies: DunningPolicies,
) -> dict[tuple[str, str], int]:
    """Apply each payment on a dunned item, in date order, to the claims it may settle; the
    principal part taken for costs and interest is the item's shortfall."""
    costs: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    interest: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    for c in claims:
        if c.kind == "INTEREST":
            interest[(c.company_code, c.document_no)].append(c)
        else:
            for d in [c.document_no] if c.document_no else by_notice_docs.get(c.notice_id, []):
                costs[(c.company_code, d)].append(c)
    shortfall: dict[tuple[str, str], int] = defaultdict(int)
    events = sorted((day, key, cents) for key, days in paid.items() for day, cents in days)
    for day, key, cents in events:
        ordered = sorted(costs.get(key, []), key=lambda c: (c.arose, c.claim_id)) + interest.get(key, [])
        ordered = [c for c in ordered if c.open_on(day)]
        if not ordered:
            continue
        order = rules.order_for(key[0], policies.interest.company_countries.get(key[0]))
        rest = cents
        if order == "principal_first":
            # costs and interest only get what is left over when the principal is paid
            rest = max(0, cents - principals[key].open_before(day)) if key in principals else 0
        for c in ordered:
            take = min(rest, c.amount_on(day) - c.settled)
            if take > 0:
                c.settled += take
                rest -= take
                if order == "costs_interest_principal":
                    c.from_principal += take
                    shortfall[key] += take
    return shortfall


def _status(c: _Claim, amount: int) -> str:
    if c.settled >= amount:
        return "SETTLED"
    if "WAIVED" in c.closed:
        return "WAIVED"
    return "WRITTEN_OFF" if "WRITTEN_OFF" in c.closed else "OPEN"


def _frame(claims: list[_Claim], as_of: date) -> pd.DataFrame:
    rows = []
    for c in claims:
        amount = c.amount_on(c.stop)
        if amount <= 0:
            continue
        accrued_to = c.stop if c.rate is not None else c.arose
        rows.append(
            [c.claim_id, c.company_code, c.customer_id, c.notice_id, c.document_no, c.kind, c.currency, c.arose,
             amount, accrued_to, c.settled, c.from_principal, _status(c, amount),
             c.waived_by, c.waived_reason]
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    for col in ("amount", "settled_amount", "principal_shortfall"):
        frame[col] = frame[col].astype("int64")
    return frame.sort_values(["company_code", "customer_id", "arose_on", "claim_id"], kind="stable").reset_index(
        drop=True
    )


def _shortfall_frame(shortfall: dict[tuple[str, str], int], claims: list[_Claim]) -> pd.DataFrame:
    who = {(c.company_code, c.document_no): (c.customer_id, c.currency) for c in claims if c.document_no}
    rows = [
        [company, who.get((company, doc), ("", ""))[0], doc, who.get((company, doc), ("", ""))[1], cents]
        for (company, doc), cents in sorted(shortfall.items())
        if cents > 0
    ]
    return pd.DataFrame(rows, columns=SHORTFALL_COLUMNS).astype({"principal_shortfall": "int64"})


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
