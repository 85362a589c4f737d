"""The workbook in a run: written in the background on a large night (the same file as inline),
finished with the outbox's delivery status, left behind by nobody when a run dies; a ledger
larger than a sheet; configured buckets; and the PNG charts it embeds."""

from __future__ import annotations

import multiprocessing
import threading
import time
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from matplotlib.dates import num2date

from receivables.aging import TABLE_BUCKETS, AgingConfig, Bucket, aging_from_warehouse
from receivables.charts import aging_chart, aging_trend, date_limits, trend_chart
from receivables.errors import ReceivablesError
from receivables.reporting_config import ReportingConfig
from receivables.workbook import BackgroundWorkbook, write_report_workbook
from receivables.workbook.background import receive_streamed, send_streamed
from tests.receivables import workbook_data as data

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_nights_workbook_is_the_same_written_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large night writes its workbook in another process while the reminders render: the
    file is the one the run's own process writes, appears only once the run published, and its
    proposal shows what delivery did (read back from the outbox)."""
    from receivables import pipeline, report_stage
    from receivables.settings import load_settings
    from tests.conftest import VALID_AS_OF, VALID_SET, write_set

    monkeypatch.setattr(report_stage, "BACKGROUND_WORKBOOK_ROWS", 1)
    books = {}
    real_publish = pipeline.publish
    for mode, render_workers in (("inline", 1), ("background", 2)):
        work = tmp_path / mode
        settings = load_settings(
            db_url=f"sqlite:///{work / 'w.db'}",
            archive_dir=work / "archive",
            outbox_dir=work / "outbox",
            reports_dir=work / "reports",
            mail_mode="preview",
            render_workers=render_workers,
        )
        seen_before_publish = {}

        def publish(run, *args, work=work, seen_before_publish=seen_before_publish, **kwargs):
            seen_before_publish["files"] = sorted(p.name for p in (work / "reports").rglob("*.xlsx"))
            return real_publish(run, *args, **kwargs)

        monkeypatch.setattr(pipeline, "publish", publish)
        summary = pipeline.run_nightly(
            str(write_set(work / "extracts", VALID_SET)), date.fromisoformat(VALID_AS_OF), settings
        )
        assert seen_before_publish["files"] == []  # no workbook under its name before the publish
        path = Path(summary["files"]["workbook"])
        assert sorted(p.name for p in path.parent.iterdir() if "xlsx" in p.name) == [path.name]  # no .partial left
        books[mode] = openpyxl.load_workbook(path)
    for inline, background in zip(books["inline"].worksheets, books["background"].worksheets):
        assert inline.title == background.title
        if inline.title == "Summary":  # the run id differs
            continue
        assert [[c.value for c in row] for row in inline.iter_rows()] == [
            [c.value for c in row] for row in background.iter_rows()
        ]
    proposal = books["background"]["Dunning proposal"]
    headers = [c.value for c in proposal[1]]
    statuses = {
        r[headers.index("Action")]: r[headers.index("Delivery status")] for r in proposal.iter_rows(2, values_only=True)
    }
    assert statuses.get("Email") == "Previewed only (.eml written, not sent)"


def test_a_background_workbook_whose_run_died_leaves_nothing(tmp_path: Path) -> None:
    """The run never finishes the workbook: its process sees the pipe close, removes the
    partial file and ends."""
    partial = tmp_path / "run.xlsx.partial"
    book = BackgroundWorkbook(partial, data.inputs())
    process = book._process
    book._conn.close()  # as when the run's Reports are dropped or its process is gone
    process.join(timeout=120)
    assert process.exitcode == 0
    assert not partial.exists()


def test_a_background_workbook_reports_what_went_wrong(tmp_path: Path) -> None:
    bad = data.inputs(notices=data.NOTICES.drop(columns="overdue_amount"))
    book = BackgroundWorkbook(tmp_path / "bad.xlsx.partial", bad)
    with pytest.raises(ReceivablesError, match="The workbook could not be written: KeyError"):
        book.finish(data.delivery())
    assert not (tmp_path / "bad.xlsx.partial").exists()


def test_a_ledger_over_the_sheets_budget_lists_the_worklists_customers_first_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("receivables.workbook.open_items_sheet.MAX_ROWS", 4)
    path = write_report_workbook(tmp_path / "cut.xlsx", data.inputs(), data.delivery())
    book = openpyxl.load_workbook(path)
    assert book["Open items"].max_row == 5  # the header and four documents
    facts = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert facts["Open items (the sheet lists the first 4)"] == 6
    # the worklist's customers (C1, C3) come first; C2 is only on the proposal and is left out
    listed = [r[1].value for r in book["Open items"].iter_rows(min_row=2)]
    assert listed == ["C1", "C1", "C1", "C3"]
    aging = {r[1].value: r[1] for r in book["Aging"].iter_rows() if r[1].value in ("C1", "C2", "C3")}
    assert aging["C2"].hyperlink is None
    assert aging["C3"].hyperlink.location == "'Open items'!A5"


def test_too_many_rows_is_a_readable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("receivables.workbook.sheets.EXCEL_MAX_ROWS", 5)
    long = data.inputs(worklist=pd.concat([data.WORKLIST] * 3, ignore_index=True))
    with pytest.raises(ReceivablesError, match="The sheet 'Worklist' has 6 rows, more than the 4 data rows"):
        write_report_workbook(tmp_path / "big.xlsx", long, data.delivery())
    assert not (tmp_path / "big.xlsx").exists()


def test_configured_bucket_labels_as_headers(tmp_path: Path) -> None:
    edges = [0, 45, 60, 90, 120, None]
    names = ["Current", "1-45", "46-60", "61-90", "91-120", "121+"]
    aging = AgingConfig(
        buckets=tuple(Bucket(column=c, label=n, max_days=e) for c, n, e in zip(TABLE_BUCKETS, names, edges))
    )
    inputs = data.inputs(config=ReportingConfig(aging=aging, worklist={"escalate": {"min_days_past_due": 91}}))
    book = openpyxl.load_workbook(write_report_workbook(tmp_path / "l.xlsx", inputs, data.delivery()))
    ws = book["Aging"]
    top = int(ws.freeze_panes[1:]) - 1
    assert [c.value for c in ws[top]][5:11] == [f"{n} (native)" for n in names]
    buckets = {r[4].value: r[10].value for r in book["Open items"].iter_rows(min_row=2)}
    assert buckets["INV-1"] == "1-45"


# --- charts --------------------------------------------------------------------------------------


def test_aging_chart_is_a_png(tmp_path: Path) -> None:
    path = aging_chart(data.AGING, tmp_path / "charts" / "aging.png")
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 10_000
    empty = aging_chart(data.AGING.iloc[0:0], tmp_path / "empty.png").read_bytes()
    assert empty.startswith(PNG) and len(empty) > 2_000


def history(dates: list[date]) -> pd.DataFrame:
    rows = []
    for k, as_of in enumerate(dates):
        frame = data.AGING.assign(as_of=as_of)
        frame["d1_30"] += 10000 * k
        frame["total"] += 10000 * k
        rows.append(frame)
    # as the warehouse returns it: money as Decimal
    raw = pd.concat(rows, ignore_index=True)
    for c in [*TABLE_BUCKETS, "total", "total_base"]:
        raw[c] = [None if pd.isna(v) else Decimal(int(v)).scaleb(-2) for v in raw[c]]
    return raw


def test_trend_from_warehouse_rows(tmp_path: Path) -> None:
    months = [date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]
    trend = aging_trend(aging_from_warehouse(history(months)))
    eur = trend.loc[trend["currency"] == "EUR"]
    # two EUR customers, each 100.00 more in 1-30 every month
    assert eur["total"].tolist() == [126056, 146056, 166056]
    assert eur["overdue"].tolist() == [2600, 22600, 42600]  # 0.01 + 50.00 - 25.00 + 0.99, plus the growing 1-30
    data_ = trend_chart(aging_from_warehouse(history(months)), tmp_path / "trend.png").read_bytes()
    assert data_.startswith(PNG) and len(data_) > 10_000
    assert (
        trend_chart(aging_from_warehouse(history(months).iloc[0:0]), tmp_path / "none.png").read_bytes().startswith(PNG)
    )


def test_the_trend_axis_spans_the_runs_it_has() -> None:
    """One run: a week around it, not four years of empty axis; several: their span and a
    margin."""
    one = date_limits([pd.Timestamp("2026-10-31")])
    assert one == (pd.Timestamp("2026-10-28"), pd.Timestamp("2026-11-03"))
    low, high = date_limits([pd.Timestamp("2026-01-01"), pd.Timestamp("2026-12-31")])
    assert pd.Timestamp("2025-12-12") < low < pd.Timestamp("2026-01-01")
    assert pd.Timestamp("2026-12-31") < high < pd.Timestamp("2027-01-20")


def test_the_trend_chart_of_one_run_marks_its_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    seen = {}
    real_savefig = Figure.savefig

    def savefig(fig, *args, **kwargs):
        ax = fig.axes[0]
        seen["xlim"] = [num2date(x).date() for x in ax.get_xlim()]
        seen["ticks"] = [t.get_text() for t in ax.get_xticklabels()]
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    trend_chart(aging_from_warehouse(history([date(2026, 10, 31)])), tmp_path / "one.png")
    assert seen["xlim"] == [date(2026, 10, 28), date(2026, 11, 3)]
    assert seen["ticks"] == ["2026-10-31"]


def test_background_process_is_quick_to_start_and_finish(tmp_path: Path) -> None:
    started = time.perf_counter()
    book = BackgroundWorkbook(tmp_path / "q.xlsx.partial", data.inputs())
    path = book.finish(data.delivery())
    assert path.exists() and time.perf_counter() - started < 60


def _frame_of_every_kind(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cents": np.arange(rows, dtype="int64"),
            "text": pd.array([f"DOC-{n}" for n in range(rows)], dtype="string[pyarrow]"),
            "code": pd.Categorical(["1000", "2000"] * (rows // 2)),
            "when": pd.date_range("2026-01-01", periods=rows, freq="min"),
            "note": [None if n % 3 else f"n{n}" for n in range(rows)],
        }
    )


def test_inputs_streamed_down_the_pipe_arrive_whole_and_leave_the_next_message() -> None:
    # the flags of an item: three bool columns are one 2-D block of bytes, whose buffer
    # ``send_bytes`` took for 3 bytes long (its first dimension)
    flags = np.arange(120_000).reshape(40_000, 3) % 3 == 0
    block = pd.DataFrame(flags, columns=["disputed", "blocked", "promised"])._consolidate()
    sent = {"frame": _frame_of_every_kind(40_000), "block": block, "label": "Forderungen €", "none": None}
    ours, theirs = multiprocessing.Pipe()

    def write() -> None:
        try:
            send_streamed(ours, sent)
            ours.send("delivery")
        finally:
            ours.close()  # what is in the pipe stays readable; a failed write ends the read

    writer = threading.Thread(target=write)
    writer.start()
    received = receive_streamed(theirs)
    assert theirs.recv() == "delivery"
    writer.join()
    assert received["label"] == sent["label"] and received["none"] is None
    pd.testing.assert_frame_equal(received["frame"], sent["frame"])
    pd.testing.assert_frame_equal(received["block"], block)


class _GoneFile:
    def __reduce__(self):
        raise FileNotFoundError(2, "No such file or directory", "/gone/chart.png")


@pytest.mark.parametrize("bad", [threading.Lock(), _GoneFile()], ids=["unpicklable", "oserror"])
def test_inputs_that_fail_to_pickle_part_way_end_the_workbook_with_the_reason(tmp_path: Path, bad) -> None:
    """Half of the inputs down the pipe and then a value that cannot be pickled (or whose
    pickling raises an OSError, which is not the pipe breaking): the writer must not wait for
    the rest or read the delivery as inputs, and the run learns why there is no workbook."""
    unpicklable = {"rows": np.arange(1_000_000), "then": bad}
    book = BackgroundWorkbook(tmp_path / "half.xlsx.partial", unpicklable)  # type: ignore[arg-type]
    reason = _failure_of_finish(book, data.delivery(), ReceivablesError)
    assert "could not be handed" in reason
    assert ("lock" if isinstance(bad, type(threading.Lock())) else "/gone/chart.png") in reason
    assert not (tmp_path / "half.xlsx.partial").exists()


def test_a_delivery_that_cannot_be_handed_over_raises_and_leaves_no_workbook(tmp_path: Path) -> None:
    """The run's own mistake must not leave it and the writer waiting for each other."""
    book = BackgroundWorkbook(tmp_path / "d.xlsx.partial", data.inputs())
    assert "lock" in _failure_of_finish(book, threading.Lock(), TypeError)
    assert not (tmp_path / "d.xlsx.partial").exists()


def _failure_of_finish(book: BackgroundWorkbook, delivery, error: type[Exception]) -> str:
    """What ``book.finish(delivery)`` raised (of type ``error``), asserting it did not hang:
    in a thread, so a run and a writer waiting for each other fail the test instead of it."""
    outcome: list[str] = []

    def finish() -> None:
        try:
            book.finish(delivery)
        except error as exc:
            outcome.append(str(exc))

    finishing = threading.Thread(target=finish, daemon=True)
    finishing.start()
    finishing.join(timeout=60)
    assert not finishing.is_alive(), "the run and the workbook process wait for each other"
    assert outcome, f"finish raised no {error.__name__}"
    return outcome[0]


def test_the_inputs_go_down_the_pipe_without_a_whole_copy_in_the_runs_process() -> None:
    """``Connection.send`` would pickle the inputs into one bytes object first: at size l
    ~0.6 GB more in the run's process just as the reminders start, the night's peak."""
    # ~36 MB pickled in 20 columns; sent whole, the run's process held ~2.7 times that at once
    frame = pd.concat([_frame_of_every_kind(200_000).add_suffix(str(n)) for n in range(4)], axis=1)
    ours, theirs = multiprocessing.Pipe()
    drained = []
    reader = threading.Thread(target=lambda: drained.append(_drain(theirs)))
    reader.start()
    tracemalloc.start()
    try:
        send_streamed(ours, frame)
        ours.send_bytes(b"")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reader.join()
    assert drained[0] > 30_000_000
    # a column's copy at most (pandas copies some while pickling them), never the whole
    assert peak < drained[0] / 4


def _drain(conn) -> int:
    total = 0
    while chunk := conn.recv_bytes():
        total += len(chunk)
    return total
