"""The night's claims for fees and interest, for ``receivables.close.stage``: the dunning
history and applied cash from the warehouse (the nights before this one) plus tonight's
notices and applications, the approved write-offs and the ``claim_waivers`` extract."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from receivables.close.claims import ClaimsResult, build_claims
from receivables.close.writeoffs import written_off_items
from receivables.warehouse import claims_history

if TYPE_CHECKING:
    from receivables.cash_application import CashApplication
    from receivables.dunning_stage import DunningStep
    from receivables.pipeline import Run
    from receivables.validation import ValidatedSet


def claims_result(
    run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep, proposals: pd.DataFrame | None
) -> ClaimsResult:
    """Every claim up to tonight with what is settled of it (and the items' principal shortfall)."""
    f = validated.frames
    # tonight's notices are the proposal when this run writes them, else what the warehouse holds
    tonight = step.write_state
    until = run.as_of if tonight else run.as_of + timedelta(days=1)
    with run.engine.connect() as conn:
        notices, items = claims_history.notices_before(conn, until)
        paid = claims_history.applied_before(conn, run.as_of)
    if tonight:
        p = step.proposal
        notices = pd.concat([notices, p.notices.assign(as_of=run.as_of)[notices.columns]], ignore_index=True)
        items = pd.concat([items, p.items.assign(as_of=run.as_of)[items.columns]], ignore_index=True)
    applied = cash.applied.assign(as_of=run.as_of)[paid.columns]
    paid = pd.concat([paid, applied], ignore_index=True)
    after = cash.open_items_after
    customers = f["customers"]
    return build_claims(
        notices,
        items,
        paid,
        run.as_of,
        run.rules.close.claims,
        run.rules.dunning,
        countries=dict(zip(customers["customer_id"].astype(str), customers["country"].astype(str))),
        open_documents=set(
            zip(*(after.loc[after["open_amount"] != 0, c].astype(str) for c in ("company_code", "document_no")))
        ),
        written_off=written_off_items(proposals),
        waivers=f.get("claim_waivers"),
    )


def claims_part(
    run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep, proposals: pd.DataFrame | None
) -> pd.DataFrame:
    """Tonight's rows of the ``claims`` table."""
    return claims_result(run, validated, cash, step, proposals).claims
