"""Fingerprints of ``apply_cash``'s output, to prove a speed-up changed no decision.

    python benchmarks/cash_fingerprint.py [--out hashes.json] [--compare hashes.json]

Runs ``apply_cash`` on three generated extract sets (3,000 customers seed 1, 3,000 seed 7 and
20,000 seed 1; generated once into ``.cache/bench/<customers>-<seed>/``) and prints a sha256
of each output frame: applications, unapplied, open_items_after, identifications and
suggested, each sorted by its key columns and written as CSV.  Run it before a change and
after it: every hash must stay the same.  ``--compare`` exits 1 when a hash differs from a
file written earlier with ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

from receivables.cash_application import CashApplication, apply_cash, load_matching_rules
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.synthetic import generate_extract_set

REPO = Path(__file__).resolve().parent.parent
SETS = ((3_000, 1), (3_000, 7), (20_000, 1))
#: the columns each frame is sorted by before it is hashed (its key, then enough to be total)
KEYS = {
    "applications": ["payment_id", "company_code", "document_no", "status"],
    "unapplied": ["payment_id", "reason"],
    "open_items_after": ["company_code", "document_no"],
    "identifications": ["payment_id"],
    "suggested": ["payment_id", "company_code", "document_no"],
}


def fingerprint(result: CashApplication) -> dict[str, str]:
    """sha256 of each output frame, sorted by its keys (then every column), as CSV."""
    frames = {
        "applications": result.applications,
        "unapplied": result.unapplied,
        "open_items_after": result.open_items_after,
        "identifications": result.identifications,
        "suggested": result.suggested,
    }
    hashes = {}
    for name, frame in frames.items():
        keys = KEYS[name] + [c for c in frame.columns if c not in KEYS[name]]
        ordered = frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
        # dtypes are part of the contract: a column turning from int64 into float must show
        text = ordered.to_csv(index=False) + "\n" + ",".join(f"{c}:{t}" for c, t in ordered.dtypes.items())
        hashes[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hashes


def run(cache: Path) -> dict[str, dict[str, str]]:
    rules = load_matching_rules(None)
    out = {}
    for customers, seed in SETS:
        folder = cache / f"{customers}-{seed}"
        if not (folder / "manifest.json").is_file():
            generate_extract_set(folder, customers, seed)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        frames = read_extract_set(str(folder), load_mapping("canonical")).frames
        started = time.perf_counter()
        result = apply_cash(
            frames["open_items"], frames["payments"], frames["customers"], rules, date.fromisoformat(manifest["as_of"])
        )
        seconds = time.perf_counter() - started
        name = f"{customers}-{seed}"
        out[name] = fingerprint(result)
        print(f"{name} (apply_cash {seconds:.2f} s)")
        for frame, digest in out[name].items():
            print(f"  {frame:17} {digest}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--out", type=Path, default=None, help="write the hashes as JSON here")
    parser.add_argument("--compare", type=Path, default=None, help="exit 1 unless the hashes equal this file's")
    args = parser.parse_args(argv)
    hashes = run(args.cache)
    if args.out:
        args.out.write_text(json.dumps(hashes, indent=2) + "\n", encoding="utf-8")
    if args.compare:
        expected = json.loads(args.compare.read_text(encoding="utf-8"))
        if expected != hashes:
            print("DIFFERENT from", args.compare)
            return 1
        print("identical to", args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
