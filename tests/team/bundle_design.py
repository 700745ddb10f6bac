"""A junior's design with two runs in a real store file: the graph saved as design.nfg, each run created as
training creates it (its graph artifact, config, params), with metric series (a NaN among them), a checkpoint-like
artifact and a finished status."""

from __future__ import annotations

import math
from pathlib import Path

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run


def make_design(folder: Path, monkeypatch, user: str = "junior") -> dict:
    monkeypatch.setenv("NEURALFORGE_USER", user)
    folder.mkdir(parents=True, exist_ok=True)
    graph = zoo.build("mnist-cnn")
    graph_path = folder / "design.nfg"
    save_graph(graph, graph_path)
    store_path = folder / "store.db"
    runs = []
    with Store(store_path) as store:
        for seed, lr in ((0, 0.01), (1, 0.003)):
            config = TrainConfig(dataset="mnist-10k", epochs=3, batch_size=64, lr=lr, seed=seed, threads=1)
            run_id, _ = prepare_run(graph, config, store, "baseline", name=f"lr-{lr}", tags={"note": f"seed {seed}"})
            steps = list(range(0, 300, 10))
            losses = [2.3 * math.exp(-s / (100 + 50 * seed)) + 0.01 * seed for s in steps]
            losses[3] = math.nan  # a diverged batch: NaN must travel as NaN
            store.log_series(run_id, "train/loss", steps, losses, [1_700_000_000.0 + s for s in steps])
            store.log_series(run_id, "val/acc", [100, 200, 290], [0.8 + seed / 100, 0.9, 0.95 - seed / 50],
                             [1_700_000_100.0, 1_700_000_200.0, 1_700_000_290.0])
            store.log_artifact(run_id, bytes(range(256)) * (40 + seed), "checkpoints/last.pt", kind="checkpoint")
            store.add_usage(run_id, cpu_seconds=12.5 + seed, gpu_seconds=3.0)
            store.set_status(run_id, "finished")
            runs.append(run_id)
    return {"folder": folder, "graph": graph, "graph_path": graph_path, "store": store_path, "runs": runs}
