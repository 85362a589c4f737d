"""What one ``deliver`` call reports: counts per outcome and every email that did not go out
cleanly, with the paragraph the run log and the flow's artifact show."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from receivables.outbox.store import ERROR_LIMIT, _fail_row

#: the package's one logger, named as before the outbox became a package
log = logging.getLogger("receivables.outbox")


@dataclass
class EmailProblem:
    """One email that did not go out cleanly, as the run report lists it."""

    key: str
    customer_id: str
    recipients: str
    status: str
    error: str


@dataclass
class DeliveryReport:
    """The outcome of one ``deliver`` call, per email where something went wrong."""

    mode: str
    sent: int = 0
    redirected: int = 0
    previewed: int = 0
    failed: int = 0
    #: rows found ``sending`` (a crash mid-send) and held for review by this call
    held: int = 0
    #: temporary failures that were retried
    retried: int = 0
    #: pending rows left for later because delivery stopped (server unreachable, login refused)
    not_attempted: int = 0
    #: rows ``held`` in scope after this call, including older ones still awaiting review
    held_outstanding: int = 0
    #: emails that could not be built (no usable address): stored ``failed`` by ``enqueue``,
    #: never attempted, and counted with the failures wherever a person reads them
    not_built: int = 0
    #: why delivery stopped early, if it did
    aborted: str | None = None
    problems: list[EmailProblem] = field(default_factory=list)
    eml_paths: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.aborted and not self.failed and not self.held and not self.not_built

    @property
    def failed_total(self) -> int:
        """Failed deliveries and emails that could not be built."""
        return self.failed + self.not_built

    def summary(self) -> str:
        """One paragraph for the run log and the flow's artifact."""
        done = {
            "preview": f"{self.previewed} previewed",
            "redirect": f"{self.redirected} sent to the test address",
            "send": f"{self.sent} sent",
        }[self.mode]
        failed = f"{self.failed_total} failed"
        if self.not_built:
            failed += f" ({self.not_built} could not be built: no usable address)"
        parts = [f"Mail mode {self.mode}: {done}", failed, f"{self.held} newly held"]
        if self.retried:
            parts.append(f"{self.retried} retries")
        if self.held_outstanding:
            parts.append(
                f"{self.held_outstanding} held awaiting review (`receivables outbox list --status held`; "
                "`receivables outbox release KEY` resends one, `receivables outbox mark-sent KEY` records it as sent)"
            )
        text = ", ".join(parts) + "."
        if self.aborted:
            text += f" Delivery stopped: {self.aborted} {self.not_attempted} email(s) stay pending."
        for p in self.problems[:10]:
            text += f" {p.customer_id} ({p.recipients}): {p.status}, {p.error}"
        if len(self.problems) > 10:
            text += f" ... and {len(self.problems) - 10} more."
        return text


def _finish(
    engine: Engine, key: str, status: str, error: str, report: DeliveryReport, row: Any, recipients: list[str]
) -> None:
    """Record an email's final failure in its row and in the report, and log it."""
    _fail_row(engine, key, status, error)
    report.failed += 1
    report.problems.append(EmailProblem(key, row.customer_id, row.recipients, status, error[:ERROR_LIMIT]))
    log.warning("email %s for customer %s failed: %s", key[:12], row.customer_id, error)
