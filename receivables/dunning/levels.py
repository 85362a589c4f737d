"""Each dunnable item's level after this run: the level it had before, and whether it climbs
one step or holds, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from receivables.dunning.columns import _ITEM, Columns, _dates, _key, _take, _text
from receivables.dunning.policy_table import _PolicyTable

#: why a dunnable item keeps its level (it is still listed when its group gets a notice)
HOLD_REASONS = ("MAX_LEVEL", "TOO_SOON", "BELOW_MINIMUM")


def _history_lookup(history: pd.DataFrame | None, item_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item, its level before this run (0 if never dunned) and the date it reached it."""
    n = len(item_keys)
    if history is None or history.empty:
        return np.zeros(n, dtype=np.int64), np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    h: Columns = {
        "company_code": _text(history["company_code"]),
        "document_no": _text(history["document_no"]),
        "level": pd.to_numeric(history["level"]).to_numpy(dtype=np.int64),
        "as_of": _dates(history["as_of"]),
    }
    # should the caller pass every row, the latest one per item is the state
    h = _take(h, np.argsort(h["as_of"], kind="stable"))
    keys = pd.Index(_key(h, _ITEM), dtype=object)
    latest = ~keys.duplicated(keep="last")
    at = pd.Index(keys[latest], dtype=object).get_indexer(item_keys)
    found = at >= 0
    pick = np.where(found, at, 0)
    level = np.where(found, h["level"][latest][pick], 0).astype(np.int64)
    reached = np.where(found, h["as_of"][latest][pick], np.datetime64("NaT"))
    return level, reached.astype("datetime64[ns]")


def _previous_levels(history: pd.DataFrame | None, items: Columns) -> Columns:
    """Each item's level before this run (0 if never dunned) and the date it reached it."""
    previous, previous_on = _history_lookup(history, items["item_key"])
    return {"previous_level": previous, "previous_on": previous_on}


def _advance(items: Columns, table: _PolicyTable, day: pd.Timestamp, dunnable: np.ndarray) -> Columns:
    """Each dunnable item's level after this run: at most one step up, when the next level's
    days past due, days since the item reached its level, and minimum amount all allow it;
    otherwise the level stays, with the reason when it is not just the normal wait.

    ``items`` carry ``previous_level`` and ``previous_on`` (``_previous_levels``).  An overdue
    item that never had its courtesy notice has let the courtesy level pass: it climbs from
    there to the first reminder, and no courtesy is recorded that the customer never got."""
    previous, previous_on = items["previous_level"], items["previous_on"]
    p = table.index(items["policy"])
    pp = np.maximum(p, 0)  # rows without a policy are excluded anyway
    top = np.where(p >= 0, table.max_level[pp], 0)
    lapsed = (p >= 0) & table.courtesy[pp] & (previous == 0) & (items["days_past_due"] >= 1)
    start = previous + lapsed.astype(np.int64)
    nxt = np.minimum(start + 1, table.width - 1)
    at_top = start >= top
    due = ~at_top & (items["days_past_due"] >= table.days[pp, nxt])
    since = (np.datetime64(day.date(), "D") - previous_on.astype("datetime64[D]")).astype(np.int64)
    too_soon = due & (previous > 0) & (since < table.gap[pp, nxt])
    below = due & ~too_soon & (items["net_overdue"] < table.minimum[pp, nxt, table.currency(items["currency"])])
    advances = dunnable & due & ~too_soon & ~below
    hold = np.select([at_top, too_soon, below], list(HOLD_REASONS), default="").astype(object)
    return {
        "max_level": top,
        "advances": advances,
        "hold": np.where(dunnable, hold, "").astype(object),
        "level": np.where(advances, start + 1, previous),
    }
