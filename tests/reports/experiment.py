"""An experiment built through the store API: three runs with real curves, params, graphs and notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.store.environment import sha256_json
from neuralforge_desktop.core.store.sqlite_store import Store

EXPERIMENT = "digits-width"
HOSTILE_NAME = "<script>document.title='pwned'</script>"
HOSTILE_NOTE = ("**Hypothesis**: wider layers close the gap.\n\n<img src=x onerror=\"document.title='pwned'\">\n\n"
                "[click me](javascript:document.title='pwned')")
LOSS_STEPS = 60
ACC_STEPS = 6


def _graph_text(name: str) -> str:
    return dumps(zoo.build(name))


def build_experiment(path: Path) -> dict[str, str]:
    """Write the experiment into a new store at ``path``; returns run name → run id."""
    ids: dict[str, str] = {}
    graphs = {"mnist-cnn": _graph_text("mnist-cnn"), "tabular-mlp": _graph_text("tabular-mlp")}
    plan = [("baseline", 0.01, 32, "mnist-cnn"), ("wide", 0.01, 128, "mnist-cnn"),
            (HOSTILE_NAME, 0.1, 64, "tabular-mlp")]
    with Store(path) as store:
        for index, (name, lr, hidden, graph) in enumerate(plan):
            text = graphs[graph]
            params = {"lr": lr, "hidden": hidden, "epochs": 3, "optimizer": "adam", "kernel": [3, 3],
                      "augment": index == 1}
            run = store.create_run(EXPERIMENT, name, params=params,
                                   tags={"dataset": "digits"}, environment={}, graph_sha256=sha256_json(text))
            steps = np.arange(LOSS_STEPS)
            pace = (14, 9, 22)[index]  # "wide" learns fastest, the third run slowest
            loss = 2.3 * np.exp(-steps / pace) + 0.05 * (index + 1)
            stamps = 1_700_000_000.0 + index * 1000 + steps * 0.5
            store.log_series(run.id, "train/loss", steps, loss, stamps)
            acc_steps = np.arange(1, ACC_STEPS + 1) * 10
            acc = 0.6 + 0.35 * (1 - np.exp(-acc_steps / (pace + 6)))
            store.log_series(run.id, "val/acc", acc_steps, acc, stamps[acc_steps - 1])
            store.log_artifact(run.id, text.encode(), "graph.nfg", kind="graph")
            store.set_status(run.id, "finished", end=float(stamps[-1]) + 1)
            ids[name] = run.id
        store.add_note(HOSTILE_NOTE, experiment=EXPERIMENT, kind="hypothesis")
        store.add_note("Val accuracy of `wide` is **higher** from step 20 on.", run_id=ids["wide"],
                       kind="observation")
    return ids
