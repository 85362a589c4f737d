"""The canonical extract set: which extracts a run reads, their columns and keys.

Every reader and mapping produces frames in this shape, and every stage consumes it, so this
module is the one place that says what a column is.  In-memory conventions:

* money columns (kind ``money``) hold **integer cents** (int64); conversion to ``Decimal``
  happens only at the warehouse, email and report boundaries (see ``receivables.money``);
* dates are ``datetime64`` at midnight, ``NaT`` when blank;
* text is stripped, and blank text is missing (``NA``);
* booleans are plain ``bool`` (blank = False);
* the frame index is the *source row number* a user would look up: for CSV and XLSX the
  line/row in the file (header = 1, first record = 2); for Parquet and SQL the record number
  starting at 1.  Quarantine records carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["text", "code", "money", "date", "int", "bool", "decimal", "email"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    #: the column must be present in the file (after mapping); a missing one stops the run
    required: bool = True
    #: a blank value is allowed; a blank in a non-nullable column quarantines the row
    nullable: bool = False


@dataclass(frozen=True)
class Extract:
    name: str
    required: bool
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""
    money: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "money", tuple(c.name for c in self.columns if c.kind == "money"))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column

CUSTOMERS = Extract(
    "customers",
    required=True,
    key=("customer_id",),
    description="customer master",
    columns=(
        C("customer_id", "code"),
        C("name", "text"),
        C("email", "email", nullable=True),
        C("language", "code", required=False, nullable=True),
        C("country", "code"),
        C("currency", "code"),
        C("payment_terms_days", "int", required=False, nullable=True),
        C("credit_limit", "money", required=False, nullable=True),
        C("segment", "code", required=False, nullable=True),
        C("dunning_policy", "code", required=False, nullable=True),
        C("dunning_block", "bool", required=False, nullable=True),
        C("collector", "text", required=False, nullable=True),
        C("iban", "text", required=False, nullable=True),
        C("company_code", "code"),
    ),
)

DOCUMENT_TYPES = ("INV", "CRN", "PMT", "ADJ")

OPEN_ITEMS = Extract(
    "open_items",
    required=True,
    key=("company_code", "document_no"),
    description="receivable documents not yet cleared",
    columns=(
        C("company_code", "code"),
        C("document_no", "code"),
        C("document_type", "code"),
        C("customer_id", "code"),
        C("document_date", "date"),
        C("due_date", "date"),
        C("currency", "code"),
        C("amount", "money"),
        C("open_amount", "money"),
        C("reference", "text", required=False, nullable=True),
        C("dunning_block", "bool", required=False, nullable=True),
        C("discount_pct", "decimal", required=False, nullable=True),
        C("discount_days", "int", required=False, nullable=True),
    ),
)

PAYMENTS = Extract(
    "payments",
    required=True,
    key=("payment_id",),
    description="cash received and not yet applied",
    columns=(
        C("payment_id", "code"),
        C("company_code", "code"),
        C("value_date", "date"),
        C("amount", "money"),
        C("currency", "code"),
        C("customer_id", "code", nullable=True),
        C("payer_name", "text", required=False, nullable=True),
        C("payer_iban", "text", required=False, nullable=True),
        C("remittance_info", "text", required=False, nullable=True),
        C("bank_reference", "text", required=False, nullable=True),
    ),
)

DISPUTE_REASONS = (
    "PRICING",
    "POD_MISSING",
    "BILLING_ERROR",
    "MASTER_DATA",
    "QUALITY",
    "SHORT_PAYMENT",
    "OTHER",
)

DISPUTES = Extract(
    "disputes",
    required=False,
    key=("dispute_id",),
    columns=(
        C("dispute_id", "code"),
        C("company_code", "code"),
        C("document_no", "code", nullable=True),
        C("customer_id", "code"),
        C("reason_code", "code"),
        C("amount", "money"),
        C("status", "code"),
        C("opened_on", "date"),
        C("resolved_on", "date", required=False, nullable=True),
        C("owner", "text", required=False, nullable=True),
    ),
)

PROMISES = Extract(
    "promises",
    required=False,
    key=("promise_id",),
    description="promise-to-pay commitments",
    columns=(
        C("promise_id", "code"),
        C("company_code", "code"),
        C("customer_id", "code"),
        C("document_no", "code", nullable=True),
        C("promised_amount", "money"),
        C("promised_date", "date"),
        C("created_on", "date"),
    ),
)

CLEARED_ITEMS = Extract(
    "cleared_items",
    required=False,
    key=("company_code", "document_no"),
    description="documents cleared in the last months",
    columns=(
        C("company_code", "code"),
        C("document_no", "code"),
        C("customer_id", "code"),
        C("document_date", "date"),
        C("due_date", "date"),
        C("currency", "code"),
        C("amount", "money"),
        C("clearing_date", "date"),
    ),
)

FX_RATES = Extract(
    "fx_rates",
    required=False,
    key=("currency", "rate_date"),
    columns=(
        C("currency", "code"),
        C("rate_to_base", "decimal"),
        C("rate_date", "date"),
    ),
)

#: how a collector reached (or tried to reach) the customer
ACTIVITY_CHANNELS = ("call", "email", "letter", "meeting", "portal")
#: what the contact achieved; ``PROMISE`` carries promised_amount and promised_date
ACTIVITY_OUTCOMES = (
    "REACHED",
    "NO_ANSWER",
    "PROMISE",
    "DISPUTE",
    "PLAN",
    "REFUSED",
    "WRONG_CONTACT",
    "PAID_CLAIMED",
)

ACTIVITIES = Extract(
    "activities",
    required=False,
    key=("activity_id",),
    description="contact log: the collectors' calls, emails, letters and meetings",
    columns=(
        C("activity_id", "code"),
        C("company_code", "code"),
        C("customer_id", "code"),
        C("collector", "text", required=False, nullable=True),
        C("occurred_on", "date"),
        C("channel", "code"),
        C("outcome", "code"),
        # required for a PROMISE only: the suite checks them per outcome
        C("promised_amount", "money", required=False, nullable=True),
        C("promised_date", "date", required=False, nullable=True),
        C("note", "text", required=False, nullable=True),
        C("next_contact_on", "date", required=False, nullable=True),
    ),
)

PAYMENT_PLANS = Extract(
    "payment_plans",
    required=False,
    key=("plan_id",),
    description="payment plans agreed with customers: which documents they cover",
    columns=(
        C("plan_id", "code"),
        C("company_code", "code"),
        C("customer_id", "code"),
        # the covered documents of the company code, ';'-separated
        C("document_nos", "text"),
        C("agreed_on", "date"),
        C("approved_by", "text", required=False, nullable=True),
    ),
)

PLAN_INSTALMENTS = Extract(
    "plan_instalments",
    required=False,
    key=("plan_id", "seq"),
    description="the instalments of the payment plans: what is due by which date",
    columns=(
        C("plan_id", "code"),
        C("seq", "int"),
        C("due_date", "date"),
        C("amount", "money"),
    ),
)

WRITEOFF_APPROVALS = Extract(
    "writeoff_approvals",
    required=False,
    key=("company_code", "document_no"),
    description="write-offs approved in the ERP or by the approver: which items, by whom, when",
    columns=(
        C("company_code", "code"),
        C("document_no", "code"),
        C("proposal_id", "code", required=False, nullable=True),
        C("approved_by", "text"),
        C("approved_on", "date"),
    ),
)

AGENCY_RETURNS = Extract(
    "agency_returns",
    required=False,
    key=("company_code", "document_no"),
    description="items a collection agency returned as uncollectible",
    columns=(
        C("company_code", "code"),
        C("customer_id", "code"),
        C("document_no", "code"),
        C("returned_on", "date"),
        C("reason", "text", required=False, nullable=True),
    ),
)

CLAIM_WAIVERS = Extract(
    "claim_waivers",
    required=False,
    key=("claim_id",),
    description="fee and interest claims waived: which claim, by whom, when and why",
    columns=(
        C("claim_id", "code"),
        C("waived_by", "text"),
        C("waived_on", "date"),
        C("reason", "text", required=False, nullable=True),
    ),
)

#: in dependency order: customers first, because the others refer to them; a plan before its
#: instalments, which refer to it
EXTRACTS: dict[str, Extract] = {
    e.name: e
    for e in (
        CUSTOMERS,
        OPEN_ITEMS,
        PAYMENTS,
        DISPUTES,
        PROMISES,
        CLEARED_ITEMS,
        FX_RATES,
        ACTIVITIES,
        PAYMENT_PLANS,
        PLAN_INSTALMENTS,
        WRITEOFF_APPROVALS,
        AGENCY_RETURNS,
        CLAIM_WAIVERS,
    )
}
