"""What a flow run is called and tagged, so that Prefect's run list reads like the team's
calendar: ``ar-2026-11-20-send``, ``ar-2026-11-30-close``, filterable by ``as_of:2026-11-20``,
``mode:send`` and ``source:nightly``.

A scheduled run is created by Prefect's scheduler with a random name ("bright-otter") before
anyone knows its business date or mail mode; the flow renames it when it starts (Prefect's
``flow_run_name`` hook) and adds the tags as its first step.  The *source* says who started
the run: a tag ``source:...`` that came with it (the deployments in ``prefect.yaml`` and the
CLI set one), else the deployment's name, else ``manual`` (a flow called from Python).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from prefect.context import FlowRunContext, TagsContext
from prefect.logging import get_run_logger

from flows import run_settings
from receivables.errors import ConfigError

SOURCE_TAG = "source:"
#: deployment names of ``prefect.yaml`` and the source each stands for
DEPLOYMENT_SOURCES = {"nightly": "nightly", "month-end-close": "month-end", "rerun": "rerun"}


@dataclass(frozen=True)
class RunLabel:
    as_of: date
    #: the resolved mail mode (the ``mode`` parameter, else the settings' default)
    mode: str
    reminders: bool
    source: str

    @property
    def name(self) -> str:
        """``ar-<as_of>-<what>``: the mail mode, ``report`` for a report-only run, ``close``
        for a month-end close (``close-<mode>`` when it also sends reminders)."""
        what = self.mode if self.reminders else "report"
        if self.source == "month-end":
            what = f"close-{self.mode}" if self.reminders else "close"
        return f"ar-{self.as_of.isoformat()}-{what}"

    @property
    def tags(self) -> list[str]:
        tags = [f"as_of:{self.as_of.isoformat()}", f"mode:{self.mode}", f"{SOURCE_TAG}{self.source}"]
        if not self.reminders:
            tags.append("report-only")
        return tags


def source_of(tags: list[str] | tuple[str, ...], deployment_name: str | None | Callable[[], str | None]) -> str:
    """A ``source:`` tag's value, else the deployment's (a callable is asked only then)."""
    for tag in tags:
        if tag.startswith(SOURCE_TAG) and len(tag) > len(SOURCE_TAG):
            return tag[len(SOURCE_TAG) :]
    if callable(deployment_name):
        deployment_name = deployment_name()
    if deployment_name:
        return DEPLOYMENT_SOURCES.get(deployment_name, deployment_name)
    return "manual"


def resolved_mode(flow_run_id: str | None, params: dict) -> str:
    """The mail mode the run will use; ``invalid-settings`` when the settings cannot be read
    (the run itself then fails with the readable reason)."""
    try:
        return run_settings.settings_for_name(flow_run_id, params).effective_mail_mode
    except ConfigError:
        return "invalid-settings"


def current_label(mode: str | None = None) -> RunLabel | None:
    """The label of the flow run in progress, from its parameters, tags and deployment;
    ``mode`` is the resolved mail mode when the caller already has the settings."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    params = context.parameters or {}
    as_of = params.get("as_of") or date.today()
    if not isinstance(as_of, date):
        as_of = date.fromisoformat(str(as_of))
    return RunLabel(
        as_of=as_of,
        mode=mode or resolved_mode(str(context.flow_run.id), params),
        reminders=bool(params.get("reminders", True)),
        source=source_of(list(context.flow_run.tags or []), lambda: _deployment_name(context)),
    )


def flow_run_name() -> str:
    """Prefect's ``flow_run_name`` hook: must not raise, or the run would crash unnamed."""
    try:
        label = current_label()
    except Exception:  # noqa: BLE001 - a name is cosmetic, the run must go on
        label = None
    return label.name if label else f"ar-{date.today().isoformat()}"


def tag_flow_run(label: RunLabel) -> None:
    """Add the label's tags to the running flow run (keeping the tags it came with)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    existing = list(context.flow_run.tags or [])
    tags = existing + [t for t in label.tags if t not in existing]
    try:
        context.client.update_flow_run(context.flow_run.id, tags=tags)
        context.flow_run.tags = tags
    except Exception as exc:  # noqa: BLE001 - tags help the UI; a failed PATCH must not stop a night
        get_run_logger().warning("Could not tag the flow run %s: %s", label.name, exc)


@contextmanager
def untagged_tasks() -> Iterator[None]:
    """Tasks started inside do not inherit the tags the flow run was started with (the CLI's
    ``source:cli``): the tags label the run, and on a task Prefect would ask the server for a
    concurrency slot of every tag before it starts, one round-trip per task for no limit."""
    with TagsContext(current_tags=set()):
        yield


def _deployment_name(context: FlowRunContext) -> str | None:
    if context.flow_run.deployment_id is None:
        return None
    try:
        return context.client.read_deployment(context.flow_run.deployment_id).name
    except Exception:  # noqa: BLE001 - without the name the source is "manual"
        return None
