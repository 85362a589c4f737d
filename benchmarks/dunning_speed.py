"""How long ``receivables.dunning.propose_dunning`` takes on a generated set, and the
fingerprints that prove a speed-up changed no decision.

    python benchmarks/dunning_speed.py [--customers 100000] [--seed 1] [--inputs dunning.pkl]
        [--repeat 1] [--profile] [--out timings.json] [--compare timings.json]

The inputs are built once and pickled (``--inputs``; default ``/tmp/dunning-<customers>-<seed>.pkl``):
the generated extract set ``.cache/bench/<customers>-<seed>/`` (``benchmarks/cash_application.py``
generates it) read with the canonical mapping, tonight's cash applied (``apply_cash``), and what
the dunning needs kept: the open items after cash, the unapplied payments, customers, disputes,
promises and the contact log.  Two nights are timed:

- ``go-live``: no dunning history (the first run);
- ``steady``: a history built from the go-live proposal's items (their level, reached the day
  before as_of), so items hold their level as on an ordinary night.

For each it prints the seconds (best of ``--repeat``), the counts and a sha256 of each frame
of the proposal (notices, items, skipped, broken_promises; as CSV in the proposal's own order,
with the dtypes).  ``--out`` writes the table as JSON; ``--compare`` exits 1 when a hash
differs from such a file written before the change.  ``--profile`` prints cProfile's top
functions per night.  The 1-minute load average is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pickle
import pstats
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from receivables.dunning import DunningProposal, load_dunning_policies, propose_dunning

REPO = Path(__file__).resolve().parent.parent
FRAMES = ("notices", "items", "skipped", "broken_promises")


def build_inputs(folder: Path, as_of: date) -> dict:
    """What ``propose_dunning`` reads on a night, from a generated extract set."""
    from receivables.cash_application import apply_cash, load_matching_rules
    from receivables.extracts import read_extract_set
    from receivables.mappings import load_mapping

    frames = read_extract_set(str(folder), load_mapping("canonical")).frames
    cash = apply_cash(frames["open_items"], frames["payments"], frames["customers"], load_matching_rules(None), as_of)
    return {
        "as_of": as_of,
        "open_items": cash.open_items_after,
        "unapplied": cash.unapplied,
        **{k: frames[k] for k in ("customers", "disputes", "promises", "activities")},
    }


def steady_history(proposal: DunningProposal) -> pd.DataFrame:
    """The dunning state the night after go-live: every listed item at its level, reached
    the day before as_of."""
    items = proposal.items
    return pd.DataFrame(
        {
            "company_code": items["company_code"],
            "document_no": items["document_no"],
            "level": items["level"],
            "as_of": pd.Timestamp(proposal.as_of - timedelta(days=1)),
        }
    )


def fingerprint(proposal: DunningProposal) -> dict[str, str]:
    """sha256 of each frame as CSV in the proposal's order, with its dtypes."""
    out = {}
    for name in FRAMES:
        frame = getattr(proposal, name)
        text = frame.to_csv(index=False) + "\n" + ",".join(f"{c}:{t}" for c, t in frame.dtypes.items())
        out[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


def timed(inputs: dict, history: pd.DataFrame | None, repeat: int, profile: bool) -> tuple[float, DunningProposal]:
    policies = load_dunning_policies(None)

    def once() -> DunningProposal:
        return propose_dunning(
            inputs["open_items"],
            inputs["customers"],
            inputs["disputes"],
            inputs["promises"],
            history,
            policies,
            inputs["as_of"],
            unapplied=inputs["unapplied"],
            activities=inputs["activities"],
        )

    best, proposal = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        proposal = once()
        best = min(best, time.perf_counter() - start)
    if profile:
        prof = cProfile.Profile()
        prof.runcall(once)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    assert proposal is not None
    return best, proposal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--inputs", type=Path, help="pickled inputs (built when missing)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()

    pickled = args.inputs or Path(f"/tmp/dunning-{args.customers}-{args.seed}.pkl")
    if pickled.exists():
        inputs = pickle.loads(pickled.read_bytes())
    else:
        folder = REPO / ".cache" / "bench" / f"{args.customers}-{args.seed}"
        inputs = build_inputs(folder, date.fromisoformat(args.as_of))
        pickled.write_bytes(pickle.dumps(inputs))

    results = {}
    seconds, go_live = timed(inputs, None, args.repeat, args.profile)
    results["go-live"] = {"seconds": round(seconds, 2), "counts": go_live.counts, "hashes": fingerprint(go_live)}
    seconds, steady = timed(inputs, steady_history(go_live), args.repeat, args.profile)
    results["steady"] = {"seconds": round(seconds, 2), "counts": steady.counts, "hashes": fingerprint(steady)}

    load = os.getloadavg()[0]
    print(f"open items {len(inputs['open_items']):,}, customers {len(inputs['customers']):,}, load (1 min) {load:.2f}")
    print(
        f"{'night':<8} {'seconds':>8} {'notices':>8} {'items':>8} {'skipped':>8}  hashes (notices items skipped broken)"
    )
    for night, r in results.items():
        c, h = r["counts"], r["hashes"]
        skipped = sum(c["skipped"].values())
        short = " ".join(h[f][:10] for f in FRAMES)
        print(f"{night:<8} {r['seconds']:>8.2f} {c['notices']:>8,} {c['items']:>8,} {skipped:>8,}  {short}")
    if args.out:
        args.out.write_text(json.dumps({"load_1min": load, "nights": results}, indent=2, default=str))
    if args.compare:
        before = json.loads(args.compare.read_text())["nights"]
        differ = [(n, f) for n in results for f in FRAMES if before[n]["hashes"][f] != results[n]["hashes"][f]]
        for night, frame in differ:
            print(f"DIFFERS: {night} {frame}")
        print("hashes identical" if not differ else f"{len(differ)} hashes differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
