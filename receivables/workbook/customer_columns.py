"""The customer master beside a sheet's rows: name, collector and credit limit.

The credit limit is kept in the customer's currency.  Beside a row of another currency it would
read as that currency's, so there the native limit is left blank and only the base-currency
limit (converted at as_of) is shown; that one is comparable with the base totals anyway.
"""

from __future__ import annotations

import pandas as pd

from receivables.workbook.inputs import WorkbookInputs


def with_customer(inputs: WorkbookInputs, frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with the master's ``columns`` (e.g. name, collector) looked up by customer id."""
    master = inputs.customers.drop_duplicates("customer_id").set_index("customer_id")
    ids = frame["customer_id"].astype(str) if not frame.empty else pd.Series(dtype=str)
    out = frame.copy()
    for c in columns:
        found = ids.map(master[c]) if c in master else pd.Series(None, index=out.index, dtype=object)
        out[c] = found.astype(object).where(found.notna(), None)
    return out


def credit_limits(inputs: WorkbookInputs, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row, the customer's credit limit in cents in the row's currency (blank where the
    customer's currency is another one) and in base cents."""
    master = inputs.customers.drop_duplicates("customer_id").set_index("customer_id")
    if frame.empty or "credit_limit" not in master:
        blank = pd.Series(pd.NA, index=frame.index, dtype="Int64")
        return blank, blank.copy()
    ids = frame["customer_id"].astype(str)
    limit = ids.map(pd.to_numeric(master["credit_limit"]))
    limit = limit.where(limit > 0)
    currency = ids.map(master["currency"]).astype(object)
    native = limit.where(currency == frame["currency"].astype(str))
    known = limit.notna()
    base = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if known.any():
        converted = inputs.to_base(limit[known].astype("int64").tolist(), currency[known].astype(str).tolist())
        base.loc[known] = pd.array(converted, dtype="Int64")
    return native.astype("Int64"), base
