"""What a generation run wrote, and how to reproduce or verify it.

``GenerationSummary`` is what ``generate_extract_set`` returns to its caller; ``manifest.json``
records the same counts next to the files, with the seed, extract date and parameters needed
to regenerate the set and a sha256 per file to verify it.  It holds no timestamp, so the same
seed and arguments give a byte-identical manifest too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from receivables.synthetic.companies import _COMPANY_CODES, _COUNTRIES, _CURRENCIES
from receivables.synthetic.run_state import _Params

#: 2: the set carries a contact log (activities.csv); 3: and payment plans
#: (payment_plans.csv, plan_instalments.csv); 4: and the close's decision files, headers only
#: (writeoff_approvals.csv, agency_returns.csv, claim_waivers.csv)
GENERATOR_VERSION = "4"


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate_extract_set`` wrote: row counts per file, and how to reproduce it."""

    out_dir: Path
    seed: int
    as_of: date
    customers: int
    open_items: int
    payments: int
    disputes: int
    promises: int
    cleared_items: int
    fx_rates: int
    ground_truth_rows: int
    #: the contact log (calls, emails, ...; some of them promises to pay)
    activities: int = 0
    #: payment plans and their instalments
    payment_plans: int = 0
    plan_instalments: int = 0
    #: payments per scenario, in the order of ``SCENARIOS``
    scenarios: tuple[tuple[str, int], ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Rows per written file, keyed like the manifest."""
        return {
            "customers": self.customers,
            "open_items": self.open_items,
            "payments": self.payments,
            "disputes": self.disputes,
            "promises": self.promises,
            "cleared_items": self.cleared_items,
            "fx_rates": self.fx_rates,
            "activities": self.activities,
            "payment_plans": self.payment_plans,
            "plan_instalments": self.plan_instalments,
            # the close's decisions: written with their headers only (receivables.synthetic.writer)
            "writeoff_approvals": 0,
            "agency_returns": 0,
            "claim_waivers": 0,
            "ground_truth": self.ground_truth_rows,
        }


def _write_manifest(
    out_dir: Path, summary: GenerationSummary, params: _Params, chunk_customers: int, digests: dict[str, str]
) -> None:
    """Everything needed to regenerate or verify the set; no timestamps, so it is reproducible."""
    manifest = {
        "generator": "receivables.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": summary.seed,
        "as_of": summary.as_of.isoformat(),
        "parameters": {
            "customers": summary.customers,
            "items_per_customer": params.items_per_customer,
            "payments_per_customer": params.payments_per_customer,
            "chunk_customers": chunk_customers,
        },
        "base_currency": "EUR",
        "company_codes": {
            code: {"country": country, "currency": currency}
            for code, country, currency in zip(_COMPANY_CODES, _COUNTRIES, _CURRENCIES)
        },
        "counts": summary.counts,
        "scenarios": dict(summary.scenarios),
        "files": digests,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
