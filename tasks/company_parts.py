"""One task per company code for the stages a distributed runner (Dask) spreads out: the
library splits the night by company code and combines the parts (``receivables.company_parts``);
this module only runs each part as a Prefect task, named after the stage and the company."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE


# Pure functions of one company's frames: only those frames travel to a (remote) worker.
@task(name="company-part", task_run_name="{stage}-{company_code}", cache_policy=NO_CACHE)
def company_part_task(stage: str, company_code: str, fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


def map_company_parts(stage: str, fn: Callable[..., Any], parts: dict[str, tuple]) -> dict[str, Any]:
    """``receivables.company_parts.MapParts`` on Prefect: submit every part, then collect."""
    futures = {code: company_part_task.submit(stage, code, fn, args) for code, args in parts.items()}
    return {code: future.result() for code, future in futures.items()}
