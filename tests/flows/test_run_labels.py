"""Flow-run names and tags: the business date, the mode, who started it."""

from __future__ import annotations

from datetime import date

from flows.run_labels import RunLabel, source_of


def test_names_read_like_the_teams_calendar() -> None:
    night = RunLabel(as_of=date(2026, 11, 20), mode="send", reminders=True, source="nightly")
    assert night.name == "ar-2026-11-20-send"
    assert night.tags == ["as_of:2026-11-20", "mode:send", "source:nightly"]
    close = RunLabel(as_of=date(2026, 11, 30), mode="preview", reminders=False, source="month-end")
    assert close.name == "ar-2026-11-30-close" and "report-only" in close.tags and "mode:preview" in close.tags
    assert RunLabel(date(2026, 11, 30), "send", True, "month-end").name == "ar-2026-11-30-close-send"
    assert RunLabel(date(2026, 11, 22), "preview", False, "rerun").name == "ar-2026-11-22-report"


def test_the_source_comes_from_a_tag_then_the_deployment() -> None:
    assert source_of(["receivables", "source:cli"], None) == "cli"
    assert source_of(["receivables"], "month-end-close") == "month-end"
    assert source_of([], "my-own-deployment") == "my-own-deployment"
    assert source_of([], None) == "manual"
