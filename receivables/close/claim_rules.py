"""``close.yaml``'s ``claims:`` section (docs/close.md "Claims for fees and interest"): in which
order a payment settles costs, interest and principal per company code or country, and whether
interest keeps accruing after the notice that charged it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from receivables.money import StrictModel

#: ``costs_interest_principal``: section 367 BGB, a payment first settles costs, then interest,
#: then the principal; ``principal_first``: the principal first, then costs, then interest
AllocationOrder = Literal["costs_interest_principal", "principal_first"]


class ClaimRules(StrictModel):
    """How fee and interest claims grow and are settled."""

    #: the order where neither the company code nor its country is named
    default_order: AllocationOrder = "principal_first"
    #: company code -> order (wins over the country)
    companies: dict[str, AllocationOrder] = Field(default_factory=dict)
    #: ISO country of the company code (dunning.yaml ``interest.company_countries``) -> order
    countries: dict[str, AllocationOrder] = Field(default_factory=lambda: {"DE": "costs_interest_principal"})
    #: interest keeps accruing on the open principal after the notice, until the item is paid
    #: (day count and rate as the dunning policies charged it); false: the notice's amount stays
    accrue_until_paid: bool = True

    @field_validator("companies")
    @classmethod
    def _codes(cls, v: dict[str, str]) -> dict[str, str]:
        return {str(k).strip(): order for k, order in v.items()}

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: dict[str, str]) -> dict[str, str]:
        return {str(k).strip().upper(): order for k, order in v.items()}

    def order_for(self, company_code: str, country: str | None) -> AllocationOrder:
        """The allocation order of a company code (its own, else its country's, else the default)."""
        if company_code in self.companies:
            return self.companies[company_code]
        return self.countries.get((country or "").upper(), self.default_order)
