"""Stage 6, report: PNG charts for the run summary and the workbook's readers.

Two pictures: how this as_of's receivables split by age (a stacked bar per company code and
currency), and how total open and overdue amounts moved over past runs.  Amounts are drawn in
each currency as booked, never added across currencies.  The trend's date axis spans the runs
it has (a few days either side of a single run), never matplotlib's default years of empty axis,
and marks each run's date while there are few.  matplotlib's object API with the Agg
canvas attached to each figure: no display, no pyplot global state or backend switch, safe in
worker threads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from receivables.aging import AgingConfig

#: green for not yet due through red for the oldest bucket
_BUCKET_COLOURS = ("#2E7D32", "#9CCC65", "#FFEE58", "#FFA726", "#EF6C00", "#C62828")
# whole units with thousands separators; cents only where the axis spans small amounts
_THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.2f}")
#: up to this many runs, each run's date is a tick; more get matplotlib's date ticks
_RUN_TICKS = 12


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    # no software/version stamp: the same data gives the same bytes on a rerun
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
    return path


def aging_chart(
    aging: pd.DataFrame, path: Path | str, config: AgingConfig | None = None, title: str | None = None
) -> Path:
    """A stacked bar per company code and currency: the open amount in each aging bucket (in
    units of that currency); negative buckets (credits) stack below zero."""
    config = config or AgingConfig()
    columns = [b.column for b in config.buckets]
    fig = Figure(figsize=(10, 5.5))
    ax = fig.add_subplot()
    if aging.empty:
        ax.text(0.5, 0.5, "No open items", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        sums = aging.groupby(["company_code", "currency"], sort=True)[columns].sum() / 100
        x = [f"{cc}\n{cur}" for cc, cur in sums.index]
        up = [0.0] * len(sums)
        down = [0.0] * len(sums)
        for bucket, colour in zip(config.buckets, _BUCKET_COLOURS * 2):
            values = sums[bucket.column].astype(float).tolist()
            bottoms = [u if v >= 0 else d for v, u, d in zip(values, up, down)]
            ax.bar(x, values, bottom=bottoms, label=bucket.label, color=colour, edgecolor="white", linewidth=0.5)
            up = [u + max(v, 0) for u, v in zip(up, values)]
            down = [d + min(v, 0) for d, v in zip(down, values)]
        ax.axhline(0, color="black", linewidth=0.6)
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_ylabel("Open amount (currency units)")
        ax.legend(title="Days past due", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "Aging by bucket")
    fig.tight_layout()
    return _save(fig, path)


def aging_trend(history: pd.DataFrame, config: AgingConfig | None = None) -> pd.DataFrame:
    """Per as_of and currency, total open and overdue (every bucket after not due) in cents,
    from aging rows of several runs (``aging_from_warehouse`` of the aging table)."""
    config = config or AgingConfig()
    late = [b.column for b in config.buckets[1:]]
    if history.empty:
        return pd.DataFrame(
            {
                "as_of": pd.Series(dtype="datetime64[ns]"),
                "currency": pd.Series(dtype=object),
                "total": pd.Series(dtype="int64"),
                "overdue": pd.Series(dtype="int64"),
            }
        )
    frame = history.assign(as_of=pd.to_datetime(history["as_of"]), overdue=history[late].astype("int64").sum(axis=1))
    out = frame.groupby(["as_of", "currency"], sort=True)[["total", "overdue"]].sum().astype("int64")
    return out.reset_index()


def trend_chart(
    history: pd.DataFrame, path: Path | str, config: AgingConfig | None = None, title: str | None = None
) -> Path:
    """Total open and overdue amount per as_of over past runs, one pair of lines per currency
    (solid: total open, dashed: overdue)."""
    trend = aging_trend(history, config)
    fig = Figure(figsize=(10, 5))
    ax = fig.add_subplot()
    if trend.empty:
        ax.text(0.5, 0.5, "No runs yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        for i, (currency, part) in enumerate(trend.groupby("currency", sort=True)):
            colour = f"C{i % 10}"
            ax.plot(part["as_of"], part["total"] / 100, marker="o", color=colour, label=f"{currency} total open")
            ax.plot(
                part["as_of"],
                part["overdue"] / 100,
                marker="o",
                linestyle="--",
                color=colour,
                label=f"{currency} overdue",
            )
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_ylabel("Amount (currency units)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        _date_axis(ax, sorted(trend["as_of"].unique()))
        fig.autofmt_xdate()
    ax.set_title(title or "Open and overdue receivables over past runs")
    fig.tight_layout()
    return _save(fig, path)


def date_limits(runs: list[pd.Timestamp]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The date axis's ends: the first and last run with a margin of 5 % of the span, at least
    3 days, so one run sits in the middle of a week rather than of four years."""
    first, last = pd.Timestamp(runs[0]), pd.Timestamp(runs[-1])
    margin = max((last - first) * 0.05, pd.Timedelta(days=3))
    return first - margin, last + margin


def _date_axis(ax, runs: list[pd.Timestamp]) -> None:
    low, high = date_limits(runs)
    ax.set_xlim(low.to_pydatetime(), high.to_pydatetime())
    if len(runs) <= _RUN_TICKS:
        ax.xaxis.set_major_locator(FixedLocator([ax.convert_xunits(pd.Timestamp(r).to_pydatetime()) for r in runs]))
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    else:
        locator = AutoDateLocator(maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
