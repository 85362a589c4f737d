"""``close.yaml``'s ``writeoff:`` and ``handover:`` sections (docs/close.md): when an item is
proposed for write-off, who must approve it, which accounts its journal line posts to, and
which collection agency receives a handed-over account."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from receivables.dunning.policies import AmountsByCurrency, _valid_amounts
from receivables.money import StrictModel, to_cents


class ApproverTier(StrictModel):
    """Write-offs up to ``up_to`` (base currency, inclusive; None: any amount) need ``role``."""

    role: str = Field(min_length=1)
    up_to: Decimal | None = None


class JournalAccounts(StrictModel):
    """The accounts a company's write-off journal posts to: expense debited, receivable credited."""

    receivable_account: str = Field(min_length=1)
    expense_account: str = Field(min_length=1)
    cost_center: str | None = None


class WriteoffRules(StrictModel):
    """When an item becomes a write-off proposal, its approver and its journal accounts."""

    #: an item at its policy's last dunning level for at least this many days
    max_level_days: int = Field(60, ge=0, le=3650)
    #: an overdue item whose open amount is at most this (per currency) ...
    small_balance: AmountsByCurrency = Field(default_factory=lambda: {"EUR": Decimal("25.00")})
    #: ... and that is at least this many days past due
    small_balance_days: int = Field(90, ge=0, le=3650)
    #: ascending amount tiers; the last one has no ``up_to``
    approvers: list[ApproverTier] = Field(
        default_factory=lambda: [
            ApproverTier(role="collector", up_to=Decimal("500.00")),
            ApproverTier(role="team_lead", up_to=Decimal("5000.00")),
            ApproverTier(role="controller"),
        ],
        min_length=1,
    )
    #: company code -> its journal accounts; a company without them gets no journal file
    accounts: dict[str, JournalAccounts] = Field(default_factory=dict)

    @field_validator("small_balance")
    @classmethod
    def _amounts(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        return _valid_amounts(v)

    @model_validator(mode="after")
    def _tiers(self) -> WriteoffRules:
        limits = [t.up_to for t in self.approvers]
        if limits[-1] is not None or any(x is None for x in limits[:-1]):
            raise ValueError("approvers: every tier but the last needs up_to, and the last has none")
        if limits[:-1] != sorted(limits[:-1]) or len(set(limits[:-1])) != len(limits) - 1:
            raise ValueError("approvers: up_to must rise from tier to tier")
        return self

    def small_balance_cents(self, currency: str) -> int | None:
        amount = self.small_balance.get(currency)
        return None if amount is None else to_cents(amount)

    def approver_role(self, base_cents: int) -> str:
        """The role the amount (base-currency cents) needs: the first tier it fits in."""
        for tier in self.approvers:
            if tier.up_to is None or base_cents <= to_cents(tier.up_to):
                return tier.role
        return self.approvers[-1].role  # unreachable: the last tier has no limit


class Agency(StrictModel):
    """A collection agency: its name (in the package's file names) and where packages go."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    email: str | None = None
    folder: str | None = None


class HandoverRules(StrictModel):
    """The agency of each company (and optionally of a country within it)."""

    #: company code -> its agency
    agencies: dict[str, Agency] = Field(default_factory=dict)
    #: "company/country" (e.g. "1000/AT") -> the agency for that company's customers there
    by_country: dict[str, Agency] = Field(default_factory=dict)
    #: the agency of a company not listed
    default: Agency = Field(default_factory=lambda: Agency(name="agency"))

    def agency_for(self, company_code: str, country: str | None) -> Agency:
        if country and f"{company_code}/{country.upper()}" in self.by_country:
            return self.by_country[f"{company_code}/{country.upper()}"]
        return self.agencies.get(company_code, self.default)
