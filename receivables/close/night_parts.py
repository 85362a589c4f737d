"""The night's write-off proposals and handover packages, for ``receivables.close.stage``: what
each reads of the run and the warehouse, and the files each leaves for the ERP and the
agencies under the report folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from receivables.aging import rates_on
from receivables.close import handovers, writeoffs
from receivables.money import to_cents
from receivables.warehouse.database import row_tuples
from receivables.warehouse.tables import dunning_items, dunning_notices
from receivables.warehouse.tables import handovers as handovers_table

if TYPE_CHECKING:
    from receivables.cash_application import CashApplication
    from receivables.close.stage import CloseOutputs
    from receivables.dunning_stage import DunningStep
    from receivables.pipeline import Run
    from receivables.validation import ValidatedSet


def writeoff_part(run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep) -> pd.DataFrame:
    """Tonight's write-off proposals (the ``writeoff_proposals`` table's rows)."""
    f = validated.frames
    base = run.settings.base_currency
    return writeoffs.propose_writeoffs(
        cash.open_items_after,
        step.history,
        f["customers"],
        f.get("agency_returns"),
        f.get("writeoff_approvals"),
        run.as_of,
        run.rules.close.writeoff,
        run.rules.dunning,
        rates_on(f["fx_rates"], base, run.as_of) if base else None,
    )


def handover_part(
    run: Run, validated: ValidatedSet, cash: CashApplication, step: DunningStep, cases: pd.DataFrame
) -> tuple[pd.DataFrame, list[handovers.HandoverPackage]]:
    """Tonight's handover packages: cases at HANDOVER not exported on an earlier night."""
    f = validated.frames
    with run.engine.connect() as conn:
        earlier = conn.execute(
            sa.select(handovers_table.c.handover_id).where(handovers_table.c.as_of < run.as_of)
        ).scalars()
        due = handovers.due_handovers(cases, set(earlier))
        notices = _notices(conn, run, step, due)
        stored = _stored_levels(conn, run, step, due)
    packages = handovers.build_packages(
        due,
        cash.open_items_after,
        f["customers"],
        _levels(step, stored),
        notices,
        f.get("activities"),
        run.as_of,
        run.rules.close.handover,
        run.settings.base_currency,
    )
    return handovers.handovers_frame(packages), packages


def _levels(step: DunningStep, stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each item's dunning level: tonight's where tonight's notices list it (the proposal when
    it is written tonight, else what the warehouse holds for the date: ``stored``), else the
    one before."""
    cols = ["company_code", "document_no", "level"]
    parts = [step.history[cols]] if step.history is not None and not step.history.empty else []
    if step.write_state and not step.proposal.items.empty:
        parts.append(step.proposal.items[cols])
    elif stored is not None and not stored.empty:
        parts.append(stored[cols])
    if not parts:
        return pd.DataFrame(columns=cols)
    both = pd.concat(parts, ignore_index=True).astype({"company_code": str, "document_no": str})
    return both.drop_duplicates(["company_code", "document_no"], keep="last")


def _stored_levels(conn: sa.Connection, run: Run, step: DunningStep, due: pd.DataFrame) -> pd.DataFrame | None:
    """The levels the warehouse holds for the as_of itself, when tonight's dunning is not
    written (a replay after a later night): the package shows what that night's notices said."""
    if step.write_state or due.empty:
        return None
    i = dunning_items.c
    query = sa.select(i.company_code, i.document_no, i.level).where(
        i.as_of == run.as_of, i.customer_id.in_(sorted(due["customer_id"].astype(str).unique()))
    )
    return pd.DataFrame(row_tuples(conn.execute(query)), columns=["company_code", "document_no", "level"])


def _notices(conn: sa.Connection, run: Run, step: DunningStep, due: pd.DataFrame) -> pd.DataFrame:
    """The due accounts' notices of earlier nights (warehouse) and of tonight: the proposal's
    when tonight's dunning is written, else the warehouse's of the date; money in cents."""
    columns = ["as_of", "notice_id", "company_code", "customer_id", "level", "currency", "overdue_amount"]
    columns += ["fees", "interest"]
    if due.empty:
        return pd.DataFrame(columns=columns)
    n = dunning_notices.c
    # a night whose dunning is not rewritten (a replay after a later night) reads its own notices back
    through = n.as_of < run.as_of if step.write_state else n.as_of <= run.as_of
    query = sa.select(*[n[c] for c in columns]).where(
        through, n.customer_id.in_(sorted(due["customer_id"].astype(str).unique()))
    )
    earlier = pd.DataFrame(row_tuples(conn.execute(query)), columns=columns)
    for c in ("overdue_amount", "fees", "interest"):
        earlier[c] = [to_cents(v) for v in earlier[c]]
    tonight = step.proposal.notices.assign(as_of=pd.Timestamp(run.as_of)) if step.write_state else None
    if tonight is None or tonight.empty:
        return earlier
    return pd.concat([earlier, tonight[columns]], ignore_index=True) if not earlier.empty else tonight[columns]


def write_writeoff_files(run: Run, close: CloseOutputs, folder: Path) -> dict[str, str]:
    """Per company with journal accounts, ``writeoff-journal-<company>-<as_of>.csv`` of its
    APPROVED write-offs (a header only when none is approved tonight)."""
    proposals = close.tables.get("writeoff_proposals")
    if proposals is None:
        return {}
    out = {}
    for company in sorted(run.rules.close.writeoff.accounts):
        content = writeoffs.journal_csv(proposals, company, run.as_of, run.rules.close.writeoff)
        if content is None:
            continue
        path = folder / f"writeoff-journal-{company}-{run.as_of.isoformat()}.csv"
        path.write_bytes(content)
        out[f"writeoff_journal_{company}"] = str(path)
    return out


def write_handover_files(run: Run, close: CloseOutputs, folder: Path) -> dict[str, str]:
    """Each of tonight's handover packages as ``<stem>.csv`` and ``<stem>.xlsx``."""
    out = {}
    for package in close.packages.get("handovers", []):
        for suffix, content in (("csv", handovers.package_csv(package)), ("xlsx", handovers.package_xlsx(package))):
            path = folder / f"{package.stem}.{suffix}"
            path.write_bytes(content)
            out[f"{package.stem}.{suffix}"] = str(path)
    return out
