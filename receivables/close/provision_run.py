"""The provision's part of a close run: gather tonight's frames and the warehouse's month-end
history, and compute the ``provisions`` rows (``receivables.close.provision``).  A normal
night makes none, so the month end's provision stays as the close wrote it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from receivables.aging import rates_on
from receivables.close.provision import ProvisionInputs, provision_matrix
from receivables.kpi_formulas import previous_month_end
from receivables.warehouse.aging_history import month_end_agings, provisions_of

if TYPE_CHECKING:  # only annotations: the report stage imports this module
    from receivables.cash_application import CashApplication
    from receivables.pipeline import Run
    from receivables.validation import ValidatedSet


def close_provisions(
    run: Run,
    validated: ValidatedSet,
    cash: CashApplication,
    aging: pd.DataFrame,
    cases: pd.DataFrame,
    tables: dict[str, pd.DataFrame | None],
) -> pd.DataFrame | None:
    """Tonight's provision rows, or None when this run is not a month-end close.  Write-off
    proposals count when the close made them before the provision (``tables``)."""
    if not run.close:
        return None
    rules = run.rules.close.provision
    f = validated.frames
    month_end = previous_month_end(run.as_of)
    inputs = ProvisionInputs(
        as_of=run.as_of,
        aging=aging,
        history=month_end_agings(run.engine, run.as_of, rules.lookback_months),
        open_items=cash.open_items_after,
        customers=f["customers"],
        handed_over=_at_agency(cases),
        writeoffs=tables.get("writeoff_proposals"),
        disputes=f.get("disputes"),
        fx=rates_on(f.get("fx_rates"), run.settings.base_currency, run.as_of),
        previous=provisions_of(run.engine, month_end),
        previous_month_end=month_end,
    )
    return provision_matrix(inputs, rules, run.rules.reporting.aging)


def _at_agency(cases: pd.DataFrame) -> pd.DataFrame:
    """The accounts whose case is open at HANDOVER tonight."""
    if cases is None or cases.empty:
        return pd.DataFrame(columns=["company_code", "customer_id"])
    open_ = cases["closed_on"].isna() if "closed_on" in cases.columns else True
    return cases.loc[(cases["stage"] == "HANDOVER") & open_, ["company_code", "customer_id"]].reset_index(drop=True)
