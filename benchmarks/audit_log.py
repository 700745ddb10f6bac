"""What the audit log costs: milliseconds per appended entry (signed and unsigned, each its own transaction on a
real store file) and per verified entry, as medians over fresh processes (each appends 500 entries, then
verifies the chain).

Run from the repository root: ``python benchmarks/audit_log.py [--processes 5]``. Prints a table, then one JSON
object on the last line."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRIES = 500


def one_process(folder: Path) -> dict[str, float]:
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")  # a fresh signing key, never the user's
    from neuralforge_desktop.core.audit import append, verify
    from neuralforge_desktop.core.store.sqlite_store import Store

    figures = {}
    for sign in (True, False):
        with Store(folder / f"store-{sign}.db") as store:
            append(store, "bench.warmup", "x", sign=sign)  # loads (or makes) the key, opens the connection
            started = time.perf_counter()
            for i in range(ENTRIES):
                append(store, "bench.append", f"entry-{i}", {"i": i, "run_id": "0123456789ab"}, sign=sign)
            figures["append_signed_ms" if sign else "append_unsigned_ms"] = (
                (time.perf_counter() - started) * 1000 / ENTRIES)
            if sign:
                started = time.perf_counter()
                assert verify(store).intact
                figures["verify_ms_per_entry"] = (time.perf_counter() - started) * 1000 / (ENTRIES + 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_process(Path(args.child))))
        return
    runs = []
    for _ in range(args.processes):
        with tempfile.TemporaryDirectory() as folder:
            out = subprocess.run([sys.executable, __file__, "--child", folder], check=True, capture_output=True,
                                 text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    for key, value in medians.items():
        print(f"{key:24s} {value:8.3f}  (median of {len(runs)} fresh processes, {ENTRIES} entries each)")
    print(json.dumps({"entries": ENTRIES, "processes": len(runs), **medians}))


if __name__ == "__main__":
    main()
