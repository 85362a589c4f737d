"""``cases:`` in ``reporting.yaml``: how long a case may stay in a stage (its SLA), which contact
outcomes count as having reached the customer, when a collector follows up after a contact,
and how much an overdue action and a breached SLA weigh on the worklist."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from receivables.money import StrictModel

#: the stages of a collection case, in the order a case is checked against them
Stage = Literal["HANDOVER", "DISPUTE", "CALLING", "PLAN", "PROMISE", "CLOSING", "REMINDING"]
STAGES: tuple[str, ...] = ("REMINDING", "CALLING", "PROMISE", "PLAN", "DISPUTE", "HANDOVER", "CLOSING")
#: the outcomes of the contact log (SPEC) that mean the customer was reached
Outcome = Literal["REACHED", "NO_ANSWER", "PROMISE", "DISPUTE", "PLAN", "REFUSED", "WRONG_CONTACT", "PAID_CLAIMED"]


class CasePriority(StrictModel):
    """What a case's state adds to the worklist score of its customer."""

    #: points per day the next action is overdue (a task left lying climbs the list)
    per_day_overdue: float = Field(1.0, ge=0)
    #: most days counted for the above, so one forgotten case does not bury the rest forever
    max_days_overdue: int = Field(30, ge=0)
    #: points for a case past its stage's SLA
    sla_breach: float = Field(25.0, ge=0)


class CaseRules(StrictModel):
    """The collection-case rules (docs/casework.md, "Collection cases")."""

    #: days a case may stay in a stage before its SLA is breached; a stage not listed has none
    #: (REMINDING runs by itself, PROMISE and PLAN end on their own dates)
    sla_days: dict[Stage, int] = Field(
        default_factory=lambda: {"CALLING": 3, "DISPUTE": 30, "HANDOVER": 90, "CLOSING": 14}
    )
    #: outcomes that count as a contact: they complete a call task and start the follow-up wait
    #: (NO_ANSWER and WRONG_CONTACT leave the task open)
    contact_outcomes: tuple[Outcome, ...] = ("REACHED", "PROMISE", "DISPUTE", "PLAN", "REFUSED", "PAID_CLAIMED")
    #: after a contact without next_contact_on, a collector calls again this many days later at
    #: the earliest, if the account still needs it
    follow_up_days: int = Field(7, ge=0, le=365)
    priority: CasePriority = CasePriority()

    def sla_of(self, stage: str) -> int | None:
        return self.sla_days.get(stage)  # type: ignore[call-overload]
