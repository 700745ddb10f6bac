"""How the cost grows with the work: the Runs dock and ``runs list`` at 10 / 100 / 1,000 / 10,000 runs, the
canvas at 1k / 5k / 10k nodes.

Runs the two measuring scripts, ``benchmarks/scale_runs.py`` and ``benchmarks/scale_canvas.py``, each of which
takes every figure as the median of ``--repeats`` fresh processes per size (what a user waits for after starting
the app, not a warm loop), and joins their figures into one table: a row per figure, a column per size, the
growth from the smallest size to the largest, the target and whether it is met. A missed target is printed with
the measuring script's note on why.

Run from the repository root: ``python benchmarks/scale.py [--runs 10,100,1000,10000] [--nodes 1000,5000,10000]
[--repeats 5] [--only runs|canvas]``. Prints the table, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARTS = {"runs": "scale_runs.py", "canvas": "scale_canvas.py"}


def run_part(script: str, sizes: str, repeats: int) -> dict[str, Any]:
    """The last stdout line of ``script`` as JSON; its other output is passed through as it comes."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent), QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, str(HERE / script), "--sizes", sizes, "--repeats", str(repeats)]
    proc = subprocess.Popen(cmd, cwd=HERE.parent, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    last = ""
    for line in proc.stdout:
        if line.strip():
            last = line.strip()
            if not last.startswith("{"):
                print(f"  | {line.rstrip()}", flush=True)
    if proc.wait() != 0:
        raise SystemExit(f"{script} exited with {proc.returncode}")
    return json.loads(last)


def _size_key(size: str) -> float:
    try:
        return float(size)
    except ValueError:
        return float("inf")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def table(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Print one table per part; return every figure with its growth and whether its target is met."""
    summary: dict[str, Any] = {}
    for part, result in parts.items():
        series: dict[str, dict[str, float]] = result.get("series", {})
        targets: dict[str, dict[str, Any]] = result.get("targets", {})
        notes: dict[str, str] = result.get("notes", {})
        sizes = sorted({s for values in series.values() for s in values}, key=_size_key)
        print(f"\n{part}: " + ("runs" if part == "runs" else "nodes") + " → figure (median)")
        width = max((len(n) for n in series), default=10) + 2
        print(f"{'figure':{width}s}" + "".join(f"{s:>10s}" for s in sizes) + f"{'growth':>9s}  target")
        for name, values in series.items():
            known = [values[s] for s in sizes if values.get(s) is not None]
            growth = (known[-1] / known[0]) if len(known) > 1 and known[0] else None
            target = targets.get(name)
            met = None
            if target is not None and values.get(target["size"]) is not None:
                met = values[target["size"]] <= target["max"]
            verdict = "" if target is None else (
                f"≤ {_fmt(target['max'])} at {target['size']}: " + ("met" if met else "MISSED" if met is False
                                                                     else "not measured"))
            print(f"{name:{width}s}" + "".join(f"{_fmt(values.get(s)):>10s}" for s in sizes)
                  + f"{(f'{growth:.1f}×' if growth else '-'):>9s}  {verdict}")
            summary[name] = {"values": values, "growth": growth, "target": target, "met": met}
        for name, note in notes.items():
            print(f"  note, {name}: {note}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="10,100,1000,10000", help="store sizes, comma-separated")
    parser.add_argument("--nodes", default="1000,5000,10000", help="graph sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per figure and size")
    parser.add_argument("--only", choices=sorted(PARTS), default=None)
    args = parser.parse_args()
    started = time.monotonic()
    sizes = {"runs": args.runs, "canvas": args.nodes}
    parts = {part: run_part(script, sizes[part], args.repeats)
             for part, script in PARTS.items() if args.only in (None, part)}
    summary = table(parts)
    missed = [name for name, row in summary.items() if row["met"] is False]
    print(f"\ntargets met: {sum(1 for r in summary.values() if r['met'])} of "
          f"{sum(1 for r in summary.values() if r['target'])}" + (f"; missed: {', '.join(missed)}" if missed else "")
          + f" ({time.monotonic() - started:.0f} s, load average {os.getloadavg()[0]:.1f})")
    print(json.dumps({"figures": summary, "missed": missed, "repeats": args.repeats,
                      "load_average": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
