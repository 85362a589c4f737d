"""The codes a run stores, as a finance user reads them in the workbook and the artifacts.

The warehouse keeps the codes (``call_task``, ``NO_MATCH``, ``CUSTOMER_BLOCK``) because BI tools,
auditors and reruns compare them; a person reads words.  A code without an entry here is shown
as it is, so a new code is visible rather than blank.
"""

from __future__ import annotations

import pandas as pd

from receivables.worklist import ACTION_LABELS

#: a dunning level's action
DUNNING_ACTIONS = {
    "email": "Email",
    "call_task": "Call",
    "handover": "Hand over to the agency",
    "none": "None",
}

#: why an overdue item got no notice tonight (``receivables.dunning`` SKIP_REASONS)
SKIP_REASONS = {
    "UNKNOWN_CUSTOMER": "Customer not in the master data",
    "UNKNOWN_POLICY": "Dunning policy unknown",
    "DISPUTE": "Disputed",
    "ITEM_BLOCK": "Item blocked for dunning",
    "CUSTOMER_BLOCK": "Customer blocked for dunning",
    "WRITTEN_OFF": "Write-off approved",
    "HANDOVER": "Account handed over to the agency",
    "PROMISE": "Promise to pay",
    "PLAN": "Under a payment plan",
    "CREDIT_BALANCE": "Covered by a credit balance",
    "UNAPPLIED_CASH": "Covered by the customer's unapplied payments",
    "MAX_LEVEL": "Highest level reached",
    "TOO_SOON": "Too soon after the last notice",
    "BELOW_MINIMUM": "Below the minimum amount",
    "COMPANY_NOT_CONFIGURED": "Company held back (no creditor details)",
}

#: why (part of) a payment is unapplied (``receivables.cash_application`` REASONS)
UNAPPLIED_REASONS = {
    "UNIDENTIFIED": "Payer not identified",
    "NO_MATCH": "No matching item",
    "AMBIGUOUS": "Several items could match",
    "CURRENCY": "Currency differs from the items",
    "OVERPAYMENT": "Overpayment",
}

#: the cash-application rule that found an application
RULES = {
    "reference": "Reference in the remittance text",
    "exact_amount": "Exact amount",
    "combination": "Combination of items",
    "cash_discount": "Cash discount taken",
    "short_payment": "Short payment",
    "overpayment": "Overpayment",
}

#: an email's status in the outbox, for the dunning proposal
DELIVERY = {
    "sent": "Sent",
    "pending": "Queued, not sent yet",
    "sending": "Sending was interrupted: held for review",
    "failed": "Failed",
    "held": "Held for review",
    "cancelled": "Cancelled",
}
#: a collection case's stage (``receivables.casework``)
CASE_STAGES = {
    "REMINDING": "Reminding",
    "CALLING": "Calling",
    "PROMISE": "Promise to pay",
    "PLAN": "Payment plan",
    "DISPUTE": "Dispute",
    "HANDOVER": "Handed over",
    "CLOSING": "Closing",
}

#: what a collector does next on a case or a worklist row: the worklist's words, and ours for
#: an action it does not name
NEXT_ACTIONS = {
    "allocate_cash": "Allocate the unapplied cash",
    "follow_up": "Follow up",
    "check_promise": "Check the promise",
    "check_plan": "Check the payment plan",
    "wait_for_reply": "Wait for the reply",
} | ACTION_LABELS

#: what came of a contact (the ``activities`` extract's outcome)
CONTACT_OUTCOMES = {
    "REACHED": "Reached",
    "NO_ANSWER": "No answer",
    "PROMISE": "Promised to pay",
    "DISPUTE": "Raised a dispute",
    "PLAN": "Agreed a payment plan",
    "REFUSED": "Refused to pay",
    "WRONG_CONTACT": "Wrong contact",
    "PAID_CLAIMED": "Says it has paid",
}

#: why a case was closed
CLOSE_REASONS = {"PAID": "Paid", "CLEARED": "Cleared", "RESOLVED": "Resolved"}

#: a payment plan's state on as_of (``receivables.payment_plans``)
PLAN_STATUSES = {"CURRENT": "Current", "COMPLETED": "Completed", "BROKEN": "Broken"}
#: the order plans are listed in: what needs a person first
PLAN_ORDER = {"BROKEN": 0, "CURRENT": 1, "COMPLETED": 2}

PREVIEWED = "Previewed only (.eml written, not sent)"
REDIRECTED = "Test copy sent to {to}; not sent to the customer"


def word(table: dict[str, str], code: object) -> str | None:
    """The words for ``code`` in ``table``; the code itself when the table lacks it."""
    if code is None or pd.isna(code):
        return None
    return table.get(str(code), str(code))


def flag(value: object) -> str | None:
    """A yes/no fact as a collector filters on it: "Yes" or "No" (blank when unknown)."""
    if value is None or pd.isna(value):
        return None
    return "Yes" if bool(value) else "No"
