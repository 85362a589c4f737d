"""The night's claims for fees and interest, for ``receivables.close.stage``: the dunning
history and applied cash from the warehouse (the nights before this one) plus tonight's
notices and applications, the approved write-offs and the ``claim_waivers`` extract."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from receivables.close.claims import CLAIM_COLUMNS, ClaimsResult, build_claims, charged_documents
from receivables.close.writeoffs import written_off_items
from receivables.warehouse import claims_history
from receivables.warehouse.claims_history import ClaimsHistory

if TYPE_CHECKING:
    from receivables.cash_application import CashApplication
    from receivables.dunning import DunningProposal
    from receivables.dunning_stage import DunningStep
    from receivables.pipeline import Run
    from receivables.validation import ValidatedSet


def read_claims_history(run: Run, write_state: bool, proposal: DunningProposal | None = None) -> ClaimsHistory:
    """The warehouse history the night's claims stand on, read once a run: the dunning stage
    reads it (its reminders name what earlier notices still claim) and hands it to the close
    on its ``DunningStep``.  Tonight's notices are the proposal when this run writes them
    (``write_state``: the history of the documents it charges is read too), else what the
    warehouse holds."""
    until = run.as_of if write_state else run.as_of + timedelta(days=1)
    tonight = charged_documents(proposal.notices, proposal.items) if write_state and proposal is not None else set()
    with run.engine.connect() as conn:
        return claims_history.read_history(conn, until, run.as_of, tonight)


def claims_result(
    run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep, proposals: pd.DataFrame | None
) -> ClaimsResult:
    """Every claim up to tonight with what is settled of it (and the items' principal shortfall)."""
    # tonight's notices are the proposal when this run writes them, else what the warehouse holds
    tonight = step.write_state
    history = step.claims_history
    if history is None:
        history = read_claims_history(run, tonight, step.proposal)
    notices, items = history.notices_before(run.as_of if tonight else run.as_of + timedelta(days=1))
    paid = history.applied_before(run.as_of)
    if tonight:
        p = step.proposal
        notices = pd.concat([notices, p.notices.assign(as_of=run.as_of)[notices.columns]], ignore_index=True)
        items = pd.concat([items, p.items.assign(as_of=run.as_of)[items.columns]], ignore_index=True)
    return _claims(run, validated, cash, notices, items, paid, written_off_items(proposals))


def _claims(
    run: Run,
    validated: ValidatedSet,
    cash: CashApplication,
    notices: pd.DataFrame,
    items: pd.DataFrame,
    paid: pd.DataFrame,
    written_off: pd.DataFrame | None,
) -> ClaimsResult:
    """``build_claims`` on this dunning history with the earlier nights' cash plus tonight's."""
    f = validated.frames
    applied = cash.applied.assign(as_of=run.as_of)[paid.columns]
    paid = pd.concat([paid, applied], ignore_index=True)
    after = cash.open_items_after
    # only a dunned item's document is looked up: not the whole million open items
    dunned = after["document_no"].astype(str).isin(items["document_no"].astype(str))
    after = after.loc[(after["open_amount"] != 0) & dunned]
    customers = f["customers"]
    return build_claims(
        notices,
        items,
        paid,
        run.as_of,
        run.rules.close.claims,
        run.rules.dunning,
        countries=dict(zip(_texts(customers["customer_id"]), _texts(customers["country"]))),
        open_documents=set(zip(_texts(after["company_code"]), _texts(after["document_no"]))),
        written_off=written_off,
        waivers=f.get("claim_waivers"),
    )


def _texts(column: pd.Series) -> list[str]:
    # tolist, not iteration: the open items are a million rows of Arrow-backed text
    return column.astype(str).tolist()


def claims_part(
    run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep, proposals: pd.DataFrame | None
) -> pd.DataFrame:
    """Tonight's rows of the ``claims`` table."""
    return claims_result(run, validated, cash, step, proposals).claims


#: the per-account amounts a reminder names as still owed from earlier notices (cents)
OWED_COLUMNS = ["company_code", "customer_id", "currency", "kind", "outstanding"]


def no_earlier_claims() -> pd.DataFrame:
    """The empty frame of ``earlier_still_owed`` (nothing owed from earlier notices)."""
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "outstanding" else object) for c in OWED_COLUMNS})


def earlier_open_claims(
    run: Run,
    validated: ValidatedSet,
    cash: CashApplication,
    accounts: pd.DataFrame | None = None,
    history: ClaimsHistory | None = None,
) -> pd.DataFrame:
    """The claims of the notices before tonight still OPEN after tonight's cash (the 367 BGB
    allocation applied), as the ``claims`` table has them; ``accounts`` (company_code,
    customer_id) limits the history to those accounts.  ``history`` is the run's claims
    history (``read_claims_history``), read here when not given."""
    history = history if history is not None else read_claims_history(run, True)
    notices, items = history.notices_before(run.as_of)
    paid = history.applied_before(run.as_of)
    if accounts is not None:
        wanted = pd.MultiIndex.from_frame(accounts[["company_code", "customer_id"]].astype(str))
        keys = pd.MultiIndex.from_frame(notices[["company_code", "customer_id"]].astype(str))
        notices = notices.loc[keys.isin(wanted)]
        items = items[items["notice_id"].isin(set(notices["notice_id"]))]
    if notices.empty:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    # an approved write-off closes the item's claims from its day (as the close reads it)
    approvals = validated.frames.get("writeoff_approvals")
    claims = _claims(run, validated, cash, notices, items, paid, approvals).claims
    return claims[claims["status"] == "OPEN"].reset_index(drop=True)


def earlier_still_owed(claims: pd.DataFrame, tonight_items: pd.DataFrame) -> pd.DataFrame:
    """What each account still owes per kind (FEE, INTEREST) from earlier notices: amount less
    settled of the open claims.  An item's earlier interest is left out where tonight's notice
    charges the item's interest again: that charge runs from the due date and holds it already."""
    if claims.empty:
        return no_earlier_claims()
    charged = tonight_items.loc[tonight_items["interest"] > 0, ["company_code", "document_no"]].astype(str)
    again = set(zip(charged["company_code"], charged["document_no"]))
    recharged = [
        kind == "INTEREST" and (str(c), str(d)) in again
        for kind, c, d in zip(claims["kind"], claims["company_code"], claims["document_no"])
    ]
    rows = claims.loc[~pd.Series(recharged, index=claims.index)]
    rows = rows.assign(outstanding=(rows["amount"] - rows["settled_amount"]).astype("int64"))
    owed = rows.groupby(OWED_COLUMNS[:4], as_index=False, sort=True)["outstanding"].sum()
    owed = owed[owed["outstanding"] > 0]
    return owed.astype({"outstanding": "int64"}).reset_index(drop=True) if len(owed) else no_earlier_claims()
