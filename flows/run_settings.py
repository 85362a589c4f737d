"""The settings and rules of the flow run in progress, loaded once per run.

Two callers load them before the flow body needs them: the CLI, to fail fast before a
temporary Prefect server starts and because ``--db`` may hold a password that must not become
a flow parameter (parameters are stored in Prefect's run history); and the ``flow_run_name``
hook of a scheduled run, which needs the mail mode to name the run.  The flow body takes what
either of them loaded instead of reading the files again, so the run names, tags and runs with
the very settings that were checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from threading import Lock
from typing import Any

from receivables.rules import Rules, load_rules
from receivables.settings import Settings, load_settings


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    #: None when only the settings were needed so far (the name hook)
    rules: Rules | None = None


#: what a caller in this process loaded for the flow run it is about to start (the CLI)
_GIVEN: ContextVar[Loaded | None] = ContextVar("receivables_run_settings", default=None)
#: settings the name hook loaded, by flow run id, until the flow body takes them
_BY_FLOW_RUN: dict[str, Loaded] = {}
_LOCK = Lock()


@contextmanager
def given(settings: Settings, rules: Rules) -> Iterator[None]:
    """Runs started inside this block use ``settings`` and ``rules`` instead of loading them."""
    token = _GIVEN.set(Loaded(settings, rules))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def settings_for_name(flow_run_id: str | None, params: dict[str, Any]) -> Settings:
    """The settings of a starting run, for its name: the given ones, else loaded now and kept
    for the flow body (a ``ConfigError`` propagates; the body then reports it)."""
    loaded = _GIVEN.get()
    if loaded is not None:
        return loaded.settings
    settings = _load(params)
    if flow_run_id is not None:
        with _LOCK:
            _BY_FLOW_RUN[flow_run_id] = Loaded(settings)
    return settings


def take(flow_run_id: str | None, params: dict[str, Any]) -> Loaded:
    """The settings and rules of the run whose body starts now, loading only what nobody has."""
    loaded = _GIVEN.get()
    if loaded is None and flow_run_id is not None:
        with _LOCK:
            loaded = _BY_FLOW_RUN.pop(flow_run_id, None)
    settings = loaded.settings if loaded is not None else _load(params)
    rules = loaded.rules if loaded is not None and loaded.rules is not None else None
    if rules is None:
        rules = load_rules(settings.config_dir, settings.mapping)
    return Loaded(settings, rules)


def _load(params: dict[str, Any]) -> Settings:
    return load_settings(
        params.get("config"),
        mail_mode=params.get("mode"),
        mapping=params.get("mapping"),
        config_dir=params.get("config_dir"),
    )
