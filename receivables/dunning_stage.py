"""Stage 4 of a run, dunning: the payment plans judged after tonight's cash, the accounts
whose collection case is at the agency, the proposal (in parts per company code on a
distributed runner), and whether this run may write it as dunning state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from receivables import cash_application, dunning, payment_plans
from receivables import company_parts as parts
from receivables.close.claims_part import (
    earlier_open_claims,
    earlier_still_owed,
    no_earlier_claims,
    read_claims_history,
)
from receivables.close.writeoffs import approved_writeoffs
from receivables.company_parts import MapParts, split_codes
from receivables.preflight import Preflight
from receivables.validation import ValidatedSet
from receivables.warehouse.case_history import handed_over, previous_cases
from receivables.warehouse.cash_history import earlier_applications
from receivables.warehouse.claims_history import ClaimsHistory
from receivables.warehouse.dunning_history import dunning_allowed, previous_levels

if TYPE_CHECKING:  # the pipeline imports this module; its Run only annotates here
    from receivables.pipeline import Run


@dataclass
class DunningStep:
    """The dunning proposal and whether this run may write it (and send its reminders)."""

    proposal: dunning.DunningProposal
    write_state: bool
    why_not: str | None = None
    #: the payment plans on as_of: current ones paused their items, broken ones go to the worklist
    plans: payment_plans.PlanStatus = field(default_factory=payment_plans.no_plans)
    #: the dunning state before as_of (each item's level), which the cases read too
    history: pd.DataFrame | None = None
    #: the cases open after the previous night, and that night (``receivables.casework``)
    previous_cases: pd.DataFrame | None = None
    previous_night: date | None = None
    #: per account (company_code, customer_id, currency) and kind (FEE, INTEREST), the cents the
    #: notices before tonight still claim after tonight's cash: the reminders name them
    earlier_claims: pd.DataFrame = field(default_factory=no_earlier_claims)
    #: the warehouse's notices and applied cash the claims stand on, read once here for the
    #: earlier claims and the close's claims table (None: the close reads it itself)
    claims_history: ClaimsHistory | None = None

    @property
    def counts(self) -> dict:
        plans = {"payment_plans": self.plans.counts}
        return self.proposal.counts | {"state_written": self.write_state, "why_not": self.why_not} | plans


def propose_dunning(
    run: Run,
    validated: ValidatedSet,
    cash: cash_application.CashApplication,
    checked: Preflight | None = None,
    map_parts: MapParts | None = None,
) -> DunningStep:
    """Stage 4: who is dunned today.  The proposal is always computed (reports show it); it
    becomes dunning state only for the latest date, or an earlier one when asked.  The
    companies the preflight holds back get no notice.  With ``map_parts``, one part per
    company code."""
    history = dunning_history(run)
    codes = split_codes(validated, map_parts)
    policies = run.rules.dunning
    plans = judge_plans(run, validated, cash)
    before, night = previous_cases(run.engine, run.as_of)
    agency = handed_over(before)
    # an approved write-off (writeoff_approvals extract) is gone for collections: WRITTEN_OFF
    gone = approved_writeoffs(validated.frames.get("writeoff_approvals"), run.as_of)
    if not codes:
        proposal = parts.propose_company_dunning(validated, cash, history, run.as_of, policies, plans, agency, gone)
    else:
        args = {
            code: (
                parts.for_company(validated, code),
                parts.cash_for_company(cash, code),
                history,
                run.as_of,
                policies,
                plans,
                agency,
                gone,
            )
            for code in codes
        }
        proposals = map_parts("dunning", parts.propose_company_dunning, args)
        proposal = parts.combine_dunning(list(proposals.values()), run.as_of)
    if checked is not None:
        proposal = dunning.hold_companies(proposal, checked.held_companies)
    step = decide_dunning(run, proposal, plans)
    step.history, step.previous_cases, step.previous_night = history, before, night
    step.claims_history = read_claims_history(run, step.write_state, step.proposal)
    step.earlier_claims = _earlier_claims(run, validated, cash, step)
    return step


def _earlier_claims(
    run: Run, validated: ValidatedSet, cash: cash_application.CashApplication, step: DunningStep
) -> pd.DataFrame:
    """What the accounts emailed tonight still owe from earlier notices, per kind (only read
    when this run sends reminders)."""
    notices = step.proposal.notices
    emailed = notices[notices["action"].astype(str) == "email"]
    if not step.write_state or emailed.empty:
        return no_earlier_claims()
    claims = earlier_open_claims(run, validated, cash, emailed[["company_code", "customer_id"]], step.claims_history)
    return earlier_still_owed(claims, step.proposal.items)


def judge_plans(run: Run, validated: ValidatedSet, cash: cash_application.CashApplication) -> payment_plans.PlanStatus:
    """The payment plans on as_of, after tonight's cash (its applications meet instalments)."""
    f = validated.frames
    plans = f["payment_plans"]
    earlier = None
    if plans is not None and not plans.empty:
        since = pd.to_datetime(plans["agreed_on"]).min().date()
        documents = {d for docs in plans["document_nos"] for d in payment_plans.covered_documents(docs)}
        earlier = earlier_applications(run.engine, since, run.as_of, documents)
    return payment_plans.plan_status(
        plans,
        f["plan_instalments"],
        cash.applications,
        f["cleared_items"],
        cash.open_items_after,
        run.as_of,
        run.rules.dunning.plan_grace_days,
        earlier_applications=earlier,
    )


def dunning_history(run: Run) -> pd.DataFrame:
    """The dunning state before the run's as_of, read once and handed to every part."""
    return previous_levels(run.engine, run.as_of)


def decide_dunning(
    run: Run, proposal: dunning.DunningProposal, plans: payment_plans.PlanStatus | None = None
) -> DunningStep:
    """Whether a proposal computed in parts becomes dunning state (as ``propose_dunning``)."""
    why_not = None
    if not run.reminders:
        why_not = "report-only run (reminders off)"
    elif not dunning_allowed(run.engine, run.as_of, run.redo_dunning):
        why_not = "a later date already holds dunning state (rerun with redo_dunning to rewrite it)"
    plans = plans if plans is not None else payment_plans.no_plans()
    return DunningStep(proposal=proposal, write_state=why_not is None, why_not=why_not, plans=plans)
