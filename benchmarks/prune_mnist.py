"""The MNIST CNN pruned to half its channels: validation accuracy, MACs, parameters, ONNX size and onnxruntime
latency at batch 1, before and after one fine-tuning epoch, measured as every optimisation is (the
before/after table of ``neuralforge optimize``).

Run from the repository root:
``python benchmarks/prune_mnist.py [--store STORE --run RUN] [--ratio 0.5] [--epochs 1]``. Without ``--run`` it
first trains the ``mnist-cnn`` template on ``mnist-10k`` for 3 epochs (as ``neuralforge train mnist.nfg
--dataset mnist-10k --epochs 3`` does) in a temporary store. Prints a table, then one JSON object on the last
line."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.optimize.methods import optimize
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import format_table
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


def train_parent(store: Store) -> str:
    graph, config = zoo.build("mnist-cnn"), TrainConfig(dataset="mnist-10k", epochs=3)
    run_id, folder = prepare_run(graph, config, store, "benchmarks")
    result = Trainer(graph, config, run_id, folder, lambda event: None, store).run()
    if result.status != "finished":
        raise SystemExit(f"training the parent run {run_id} ended {result.status}")
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="the store holding --run (default: a temporary one)")
    parser.add_argument("--run", help="a trained mnist-cnn run (default: train one first)")
    parser.add_argument("--ratio", type=float, default=0.5, help="share of each layer's channels removed")
    parser.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nf-prune-bench-") as scratch:
        store = Store(args.store or Path(scratch) / "store.db")
        run_id = args.run or train_parent(store)
        started = time.perf_counter()
        result = optimize(store, run_id, OptimizeOptions(method="prune-channels", target_sparsity=args.ratio,
                                                         finetune_epochs=args.epochs))
        seconds = time.perf_counter() - started
        print(format_table(result))
        print(json.dumps({"ratio": args.ratio, "finetune_epochs": args.epochs, "seconds": round(seconds, 1),
                          **result.to_json()}))

if __name__ == "__main__":
    main()
