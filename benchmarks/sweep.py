"""What a sweep costs over training the same trials by hand: ``neuralforge sweep`` of T trials, one at a time,
against T ``neuralforge train`` commands run one after another with the same settings (the MNIST CNN, one epoch
on part of mnist-10k), in the same rounds, alternating which side goes first.

Both sides are what the user waits for from the command line: each ``train`` is a fresh CLI process that starts
its training worker; the sweep is one CLI process that asks Optuna for each trial, builds and costs its graph
variant, starts a worker per trial and tells Optuna the result, then prints its summary. The space has a single
choice (``lr: [0.01]``) so every trial trains exactly what ``train --lr 0.01`` trains; the overhead is the
sweep's machinery. The summary at the end (best trial, Optuna's fANOVA importance, which imports scikit-learn:
about 2 s once per sweep, not per trial) is timed on its own in the same round (``sweep show`` of the same
sweep) and reported apart: the trial overhead is the sweep's time less that one summary.

Also the Runs table a sweep's many runs land in: a store of 1,000 runs with 20 metrics each, the Runs dock
created and shown → table painted, and a column sort → repainted (``benchmarks/scale_runs.py``'s measurement,
one fresh process per repeat, medians). Target: ≤ 200 ms each.

Run from the repository root: ``python benchmarks/sweep.py [--trials 4] [--rounds 3] [--limit 2000]
[--table-only]``. Prints the rounds, then one JSON object on the last line. Target: overhead ≤ 5 %.
"""

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

ROOT = Path(__file__).resolve().parents[1]
TABLE_RUNS, TABLE_METRICS, TABLE_TARGET_MS = 1000, 20, 200.0
GRAPH, DATASET = "zoo:mnist-cnn", "mnist-10k"


def cli(*argv: str) -> float:
    """Wall seconds of ``neuralforge ARGV`` in a fresh process; fails loudly if the command fails."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"neuralforge {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def table_figures(repeats: int) -> dict[str, float]:
    """Median dock first paint and sort (ms) over ``repeats`` fresh processes on a 1,000-run, 20-metric store."""
    from neuralforge_desktop.core.store import Store
    from neuralforge_desktop.core.store.synthetic import add_runs

    path = Path(tempfile.mkdtemp(prefix="sweep-bench-table-")) / "store.db"
    with Store(path) as store:
        add_runs(store, TABLE_RUNS, extra_metrics=TABLE_METRICS - 4)  # 4–5 usual metrics + 16 more
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    paints, sorts = [], []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale_runs.py"), "--child", str(path)],
                             capture_output=True, text=True, env=env, check=True)
        child = json.loads(out.stdout.strip().splitlines()[-1])
        if not child["count_matches"]:
            raise SystemExit(f"the dock says {child['count_text']!r} of a {TABLE_RUNS}-run store")
        paints.append(float(child["dock first paint ms"]))
        sorts.append(float(child["dock sort ms"]))
    return {"table_first_paint_ms": statistics.median(paints), "table_sort_ms": statistics.median(sorts)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=2000, help="training examples per trial")
    parser.add_argument("--table-only", action="store_true", help="only the 1,000-run table figures")
    args = parser.parse_args()
    table = table_figures(max(args.rounds, 3))
    table_met = max(table.values()) <= TABLE_TARGET_MS
    print(f"Runs dock, {TABLE_RUNS} runs × {TABLE_METRICS} metrics: first paint {table['table_first_paint_ms']:.0f} ms,"
          f" sort {table['table_sort_ms']:.0f} ms (target ≤ {TABLE_TARGET_MS:.0f} ms each)", flush=True)
    if args.table_only:
        print(json.dumps({**table, "table_target_met": table_met, "load_average": os.getloadavg()[0]}))
        return 0
    fixed = ["--dataset", DATASET, "--epochs", "1", "--limit", str(args.limit), "--seed", "0",
             "--diagnostics", "basic"]
    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    space = folder / "space.yaml"
    space.write_text("lr: [0.01]\n")
    cli("train", GRAPH, *fixed, "--lr", "0.01", "--store", str(folder / "warm.db"))  # dataset cache, both sides
    sweep_s: list[float] = []
    train_s: list[float] = []
    summary_s: list[float] = []
    for round_ in range(args.rounds):
        store = str(folder / f"round{round_}.db")

        def sweep(store: str = store, round_: int = round_) -> None:
            sweep_id = f"bench{round_}"
            sweep_s.append(cli("sweep", GRAPH, *fixed, "--space", str(space), "--trials", str(args.trials),
                               "--parallel", "1", "--sampler", "random", "--pruner", "none", "--json",
                               "--id", sweep_id, "--store", store))
            summary_s.append(cli("sweep", "show", sweep_id, "--json", "--store", store))

        def trains(store: str = store) -> None:
            train_s.append(sum(cli("train", GRAPH, *fixed, "--lr", "0.01", "--store", store)
                               for _ in range(args.trials)))

        for side in ((sweep, trains) if round_ % 2 == 0 else (trains, sweep)):
            side()
        ratio = (sweep_s[-1] - summary_s[-1]) / train_s[-1]
        print(f"round {round_ + 1}: sweep of {args.trials} trials {sweep_s[-1]:.1f} s (its summary "
              f"{summary_s[-1]:.1f} s), {args.trials} × train {train_s[-1]:.1f} s: trials {ratio:.3f}×, "
              f"with the summary {sweep_s[-1] / train_s[-1]:.3f}×", flush=True)
    per_round = [(s - m) / t for s, m, t in zip(sweep_s, summary_s, train_s, strict=True)]
    overhead = statistics.median(per_round) - 1.0
    whole = statistics.median(s / t for s, t in zip(sweep_s, train_s, strict=True)) - 1.0
    print(f"trial overhead: {overhead:+.1%} (median of {args.rounds} rounds; target ≤ +5 %); with the summary "
          f"{whole:+.1%}; load average {os.getloadavg()[0]:.1f}")
    print(json.dumps({"trials": args.trials, "rounds": args.rounds, "limit": args.limit,
                      "sweep_s": sweep_s, "summary_s": summary_s, "train_s": train_s, "ratios": per_round,
                      "overhead": overhead, "overhead_with_summary": whole,
                      "target_met": overhead <= 0.05, **table, "table_target_met": table_met,
                      "load_average": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
