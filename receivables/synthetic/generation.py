"""Generating an extract set: validate the arguments, run the chunks, write the manifest.

Customers are generated in chunks, each with its own random stream seeded from
``[seed, chunk]``, so a chunk's draws do not depend on how many came before it; within a chunk
the stages always run in the same order -- customers, open and cleared items, document
numbers and references, disputes, payments, promises, the contact log, the payment plans --
because each draws from the stream the previous one left (the contact log and then the plans
come last, so adding them left every other file of a seed as it was).  Counters that must run
across chunks live in ``run_state``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from receivables.synthetic.activities import _make_activities
from receivables.synthetic.cleared_items import _cleared_columns, _make_cleared_items
from receivables.synthetic.customers import _make_customers
from receivables.synthetic.disputes import _make_disputes
from receivables.synthetic.document_numbers import _assign_references, _number_documents
from receivables.synthetic.fx_rates import _fx_rates
from receivables.synthetic.manifest import GenerationSummary, _write_manifest
from receivables.synthetic.open_items import _make_open_items, _open_item_columns
from receivables.synthetic.payment_plans import _make_payment_plans
from receivables.synthetic.payment_scenarios import SCENARIOS
from receivables.synthetic.payments import _make_payments
from receivables.synthetic.promises import _make_promises
from receivables.synthetic.run_state import _Params, _State
from receivables.synthetic.writer import _Writers

DEFAULT_AS_OF = date(2026, 10, 31)


def generate_extract_set(
    out_dir: Path,
    customers: int,
    seed: int,
    as_of: date | None = None,
    *,
    items_per_customer: float = 10.0,
    payments_per_customer: float = 2.5,
    chunk_customers: int = 20_000,
) -> GenerationSummary:
    """Write a synthetic canonical extract set plus cash-application ground truth to ``out_dir``.

    ``customers`` sets the size (100_000 gives about 1M open items and 250k payments);
    ``items_per_customer`` and ``payments_per_customer`` are averages, the spread per customer is
    Pareto-like.  ``as_of`` is the business date the set is extracted for (default 2026-10-31).
    Existing files of the same names are replaced; other files in ``out_dir`` are left alone.
    """
    _check_arguments(customers, seed, items_per_customer, payments_per_customer, chunk_customers)
    as_of = as_of or DEFAULT_AS_OF
    out_dir = Path(out_dir)
    (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)

    params = _Params(as_of, items_per_customer, payments_per_customer)
    state = _State()
    writers = _Writers(out_dir)
    scenario_counts = dict.fromkeys(SCENARIOS, 0)
    try:
        for chunk, start in enumerate(range(0, customers, chunk_customers)):
            rng = np.random.default_rng([seed, chunk])
            n = min(chunk_customers, customers - start)
            for name, count in _generate_chunk(rng, state, params, start, n, writers).items():
                scenario_counts[name] += count
        writers.write("fx_rates", _fx_rates(np.random.default_rng([seed, 1 << 30]), as_of))
    finally:
        writers.close()

    counts = writers.counts
    summary = GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        as_of=as_of,
        customers=counts["customers"],
        open_items=counts["open_items"],
        payments=counts["payments"],
        disputes=counts["disputes"],
        promises=counts["promises"],
        cleared_items=counts["cleared_items"],
        fx_rates=counts["fx_rates"],
        activities=counts["activities"],
        payment_plans=counts["payment_plans"],
        plan_instalments=counts["plan_instalments"],
        ground_truth_rows=counts["ground_truth"],
        scenarios=tuple(scenario_counts.items()),
    )
    digests = {path: writers.sha256(key) for key, path in writers.files.items()}
    _write_manifest(out_dir, summary, params, chunk_customers, digests)
    return summary


def _check_arguments(
    customers: int, seed: int, items_per_customer: float, payments_per_customer: float, chunk_customers: int
) -> None:
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if items_per_customer < 1 or payments_per_customer < 0:
        raise ValueError("items_per_customer must be >= 1 and payments_per_customer >= 0")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be at least 1")


def _generate_chunk(
    rng: np.random.Generator, state: _State, params: _Params, start: int, n: int, writers: _Writers
) -> dict[str, int]:
    cust = _make_customers(rng, state, params, start, n)
    items = _make_open_items(rng, cust, params)
    cleared = _make_cleared_items(rng, cust, params)
    _number_documents(items, cleared, state)
    _assign_references(rng, items, state)
    disputes = _make_disputes(rng, items, cust, state, params)
    payments, truth, scenario_counts = _make_payments(rng, items, cust, state, params, start == 0)
    promises = _make_promises(rng, items, cust, cleared, state, params, start == 0)
    activities = _make_activities(rng, items, cust, state, params, start == 0)
    plans, instalments = _make_payment_plans(rng, items, cust, state, params, start == 0)

    writers.write("customers", cust.columns)
    writers.write("open_items", _open_item_columns(items, cust))
    writers.write("payments", payments)
    writers.write("disputes", disputes)
    writers.write("promises", promises)
    writers.write("cleared_items", _cleared_columns(cleared, cust))
    writers.write("activities", activities)
    writers.write("payment_plans", plans)
    writers.write("plan_instalments", instalments)
    writers.write("ground_truth", truth)
    return scenario_counts
