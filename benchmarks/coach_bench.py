"""How right the Coach is: planted-bug runs (one known fault each) and healthy runs, trained here, then judged by
the same Coach ``neuralforge coach RUN`` runs; precision and recall per kind and overall, the share of healthy
runs with no warning, and whether each fix, applied to its planted run and retrained, clears the finding.

The cases are in ``neuralforge_desktop/core/training/coach/planted.py``: three variants of every kind and ten
healthy runs per set. Thresholds were tuned on the ``tune`` set only; the figures to report come from the
``report`` set (the default), whose seeds, and for most kinds datasets, differ.

Run from the repository root: ``python benchmarks/coach_bench.py [--set report|tune] [--kinds a,b]
[--healthy N] [--no-fixes]``. Prints the table, then one JSON object on the last line."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.coach import planted
from neuralforge_desktop.core.training.coach.findings import KINDS
from neuralforge_desktop.core.training.coach.planted import judge, retrain_fixed, strongest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="report", choices=sorted(planted.SETS))
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    parser.add_argument("--healthy", type=int, default=None, help="how many healthy runs (default: all 10)")
    parser.add_argument("--no-fixes", action="store_true", help="skip retraining with each fix applied")
    args = parser.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k) or None
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    store = Store(folder / "store.db")
    outcomes: list[planted.Outcome] = []
    for case in planted.cases(args.set, kinds, args.healthy):
        t0 = time.monotonic()
        findings, graph, config = judge(case, folder, store)
        found = strongest(findings)
        outcome = planted.Outcome(case, found, time.monotonic() - t0)
        hit = next((f for f in findings if f.kind == case.planted), None)
        if not args.no_fixes and hit is not None and hit.fix is not None:
            outcome.fixed = retrain_fixed(case, hit, graph, config, folder, store)
        outcomes.append(outcome)
        verdict = ("healthy" if case.planted is None else "hit" if case.planted in found else "MISSED")
        others = {k: s for k, s in found.items() if k != case.planted}
        again = (outcome.fixed or {}).get(case.planted or "")
        fixed = "" if outcome.fixed is None else (
            f" | fix: still flagged ({again})" if again in ("warning", "error") else
            " | fix: cleared (info only)" if again else " | fix: cleared")
        print(f"{case.name:34s} {verdict:8s} {outcome.seconds:5.1f}s  others: {others or '-'}{fixed}", flush=True)
    result = planted.score(outcomes)
    print(f"\n{'kind':30s} planted  tp  fp  fn  precision  recall")
    for kind in KINDS:
        row = result["per_kind"][kind]
        print(f"{kind:30s} {row['planted']:7d} {row['tp']:3d} {row['fp']:3d} {row['fn']:3d}  "
              f"{_fmt(row['precision']):>9s}  {_fmt(row['recall']):>6s}")
    print(f"\noverall precision {_fmt(result['precision'])}, recall {_fmt(result['recall'])}; healthy runs without a "
          f"warning: {_fmt(result['healthy_clean_share'])} of {result['healthy_runs']} "
          f"({', '.join(result['healthy_with_warning']) or 'none flagged'}); fixes retrained {result['fixes_tried']}, "
          f"still flagged: {', '.join(result['fixes_still_flagged']) or 'none'}; set {args.set}")
    result.update({"set": args.set, "seconds": round(time.monotonic() - started, 1),
                   "cases": [{"name": o.case.name, "planted": o.case.planted, "found": o.found, "fixed": o.fixed}
                             for o in outcomes]})
    print(json.dumps(result))
    return 0


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
