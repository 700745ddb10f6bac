"""Static int8 quantisation of the 3-epoch MNIST CNN: accuracy drop, size ratio and onnxruntime latency, each
repeat in a fresh ``neuralforge optimize`` process (medians reported). Targets: accuracy drop ≤ 1 point and
size ≤ 0.3× the float file.

Run from the repository root: ``python benchmarks/quantize.py [--store S --run RUN] [--repeats 3]
[--method quantize-static-int8]``. Without ``--run`` it first trains the template as the issue says
(``neuralforge train mnist.nfg --dataset mnist-10k --epochs 3``) in a temporary store, which takes minutes.
Prints one line per repeat, then one JSON object on the last line."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_DROP_POINTS = 1.0
TARGET_SIZE_RATIO = 0.3


def neuralforge(*argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"neuralforge {' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def train(folder: Path) -> tuple[str, str]:
    store = str(folder / "store.db")
    neuralforge("new", "--template", "mnist-cnn", "-o", str(folder / "mnist.nfg"))
    neuralforge("train", str(folder / "mnist.nfg"), "--dataset", "mnist-10k", "--epochs", "3", "--store", store)
    runs = json.loads(neuralforge("runs", "list", "--json", "--store", store))
    return store, runs[0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store")
    parser.add_argument("--run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--method", default="quantize-static-int8")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store, run = (args.store, args.run) if args.run else train(Path(scratch))
        results = []
        for i in range(args.repeats):
            report = json.loads(neuralforge("optimize", run, "--method", args.method, "--json",
                                            *(["--store", store] if store else [])))
            before, after, change = report["before"], report["after"], report["change"]
            print(f"repeat {i + 1}: accuracy {100 * before['accuracy']:.2f} % → {100 * after['accuracy']:.2f} %, "
                  f"size {before['size_bytes']:,} → {after['size_bytes']:,} B (×{change['size_ratio']}), latency "
                  f"{before['latency_ms']:.3f} → {after['latency_ms']:.3f} ms (×{change['latency_ratio']})")
            results.append(report)

    def median(path: tuple[str, str]) -> float:
        return statistics.median(r[path[0]][path[1]] for r in results)

    drop = 0.0 - median(("change", "accuracy_points")) + 0.0  # + 0.0: no "-0.0" when nothing dropped
    size_ratio = median(("change", "size_ratio"))
    summary = {"method": args.method, "run": run, "repeats": len(results),
               "accuracy_before": median(("before", "accuracy")), "accuracy_after": median(("after", "accuracy")),
               "accuracy_drop_points": drop, "size_ratio": size_ratio,
               "latency_before_ms": median(("before", "latency_ms")),
               "latency_after_ms": median(("after", "latency_ms")),
               "latency_ratio": median(("change", "latency_ratio")),
               "drop_target_met": drop <= TARGET_DROP_POINTS, "size_target_met": size_ratio <= TARGET_SIZE_RATIO}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
