"""Fairness evaluation speed: ``neuralforge fairness RUN --data FILE --sensitive group`` end to end in a fresh
process (start-up, model loading, scoring, fairlearn figures, calibration, bootstrap, artifact), on the
bundled example's 2,000-row evaluation table, with 500 bootstrap resamples, without and with mitigation;
and the bootstrap alone (scipy's resampling over the vectorised statistic) against fairlearn's own
``MetricFrame(n_boot=...)`` on the same arrays.

    python benchmarks/fairness.py [--repeats 3]

Prints figures, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cli(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "neuralforge_desktop.cli.main", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _bootstrap_figures(resamples: int) -> dict[str, float]:
    import numpy as np
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    from neuralforge_desktop.core.fairness.bootstrap import confidence_intervals

    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)
    groups = np.where(rng.random(2000) < 0.35, "B", "A")
    started = time.perf_counter()
    confidence_intervals(y, pred, groups, ["A", "B"], resamples=resamples, confidence=0.95, seed=0)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    MetricFrame(metrics={"accuracy": accuracy_score, "selection_rate": selection_rate, "tpr": true_positive_rate,
                         "fpr": false_positive_rate}, y_true=y, y_pred=pred, sensitive_features=groups,
                n_boot=resamples, ci_quantiles=[0.025, 0.975], random_state=0)
    return {"scipy_vectorised_s": ours, "fairlearn_metricframe_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from neuralforge_desktop.core.fairness.example import train_example, write_example
    from neuralforge_desktop.core.store.sqlite_store import Store

    folder = Path(tempfile.mkdtemp(prefix="fairness-bench-"))
    files = write_example(folder / "data")
    store = folder / "store.db"
    with Store(store) as opened:
        run = train_example(opened, files)
    base = ["fairness", run, "--data", str(files.eval_csv), "--sensitive", "group", "--store", str(store)]
    plain = [_cli(base) for _ in range(args.repeats)]
    mitigated = [_cli([*base, "--mitigate", "demographic_parity"]) for _ in range(args.repeats)]
    boot = _bootstrap_figures(200)
    result = {"cli_s_median": statistics.median(plain), "cli_mitigate_s_median": statistics.median(mitigated),
              "rows": 2000, "resamples": 500, "repeats": args.repeats,
              "bootstrap_200_scipy_s": boot["scipy_vectorised_s"],
              "bootstrap_200_fairlearn_metricframe_s": boot["fairlearn_metricframe_s"]}
    print(f"neuralforge fairness (2,000 rows, 500 resamples): median {result['cli_s_median']:.2f} s; "
          f"with --mitigate demographic_parity: {result['cli_mitigate_s_median']:.2f} s")
    print(f"200 bootstrap resamples: scipy + vectorised statistic {boot['scipy_vectorised_s']:.3f} s, "
          f"fairlearn MetricFrame(n_boot=200) {boot['fairlearn_metricframe_s']:.2f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
