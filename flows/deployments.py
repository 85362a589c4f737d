"""The deployments of ``prefect.yaml``, read for ``receivables serve`` and for the checks.

``prefect deploy --all`` hands the deployments to a work pool; ``receivables serve`` runs the
same ones in one long-lived process on this machine, without a work pool or worker.  Both read
``prefect.yaml``, so the schedule, parameters and concurrency limit are written down once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from receivables.errors import ConfigError

#: the repository's prefect.yaml; an installed wheel carries a copy beside this module
PREFECT_YAML = next(
    (
        p
        for p in (
            Path(__file__).resolve().parent.parent / "prefect.yaml",
            Path(__file__).resolve().parent / "prefect.yaml",
        )
        if p.is_file()
    ),
    Path(__file__).resolve().parent.parent / "prefect.yaml",
)


def load_prefect_yaml(path: str | Path = PREFECT_YAML) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("deployments"), list):
        raise ConfigError(f"{path} has no list of deployments.")
    return data


def runner_deployments(path: str | Path = PREFECT_YAML, names: list[str] | None = None) -> list:
    """``RunnerDeployment`` objects for the deployments of ``prefect.yaml`` (all, or ``names``),
    to pass to ``prefect.serve``.  The flows deployed are the ones of ``SERVED_FLOWS``, imported
    here instead of being resolved from the file."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron, Interval, RRule

    flows = served_flows()
    entries = load_prefect_yaml(path)["deployments"]
    known = [e.get("name") for e in entries]
    unknown = sorted(set(names or []) - set(known))
    if unknown:
        raise ConfigError(f"No deployment named {', '.join(unknown)} in {path}; it has {', '.join(map(str, known))}.")
    out = []
    for entry in entries:
        if names and entry["name"] not in names:
            continue
        flow = flows.get(entry.get("entrypoint"))
        if flow is None:
            raise ConfigError(f"Deployment {entry['name']!r}: `receivables serve` serves {' and '.join(flows)} only.")
        schedules = []
        for s in entry.get("schedules") or []:
            common = {
                "timezone": s.get("timezone"),
                "active": s.get("active", True),
                "parameters": s.get("parameters") or {},
            }
            if "cron" in s:
                schedules.append(Cron(s["cron"], day_or=s.get("day_or", True), **common))
            elif "interval" in s:
                schedules.append(Interval(s["interval"], anchor_date=s.get("anchor_date"), **common))
            else:
                schedules.append(RRule(s["rrule"], **common))
        limit = entry.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(**{k: v for k, v in limit.items() if v is not None})
        out.append(
            flow.to_deployment(
                name=entry["name"],
                description=entry.get("description"),
                tags=entry.get("tags"),
                parameters=entry.get("parameters") or {},
                schedules=schedules or None,
                concurrency_limit=limit,
            )
        )
    return out


def served_flows() -> dict[str, Any]:
    """The flows ``receivables serve`` runs, by their entrypoint in ``prefect.yaml``: the
    nightly run and the monthly statements of account."""
    from flows.nightly import nightly
    from flows.statements import statements

    return {"flows/nightly.py:nightly": nightly, "flows/statements.py:statements": statements}
