"""Data-parallel scaling on this machine's CPU: the same MNIST CNN run (same global batch, same steps) in one
process and in two gloo processes under torchrun, alternating, ROUNDS each after a discarded warm-up round per
side. Samples/s between two step events inside the epoch, as the worker reports them.

On a 2-core machine one process already uses both cores (torch's intra-op threads), and torchrun gives each of
two processes one thread: the figure says what data parallelism buys here, which is little; it is the same
code path that spreads a run over GPUs and hosts. Prints figures, then one JSON object on the last line."""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import StepEvent
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

ROUNDS = 2
FIRST, LAST = 20, 80  # step events measured between (5,400 train examples, batch 64 → 85 steps)


def one_run(store: Store, procs: int | None) -> float:
    config = TrainConfig(dataset="mnist-10k", epochs=1, limit=6000, batch_size=64, log_every=5, seed=0, procs=procs)
    _, folder = prepare_run(zoo.build("mnist-cnn"), config, store)
    process = TrainingProcess(folder).start()
    times = {e.step: e.time for e in process.events() if isinstance(e, StepEvent)}
    if process.wait() != 0:
        raise SystemExit(process.stderr_tail())
    return (LAST - FIRST) * 64 / (times[LAST] - times[FIRST])


def main() -> None:
    store = Store(Path(tempfile.mkdtemp(prefix="nf-ddp-bench-")) / "store.db")
    results: dict[int, list[float]] = {1: [], 2: []}
    for index in range(ROUNDS + 1):
        for procs in ((1, 2) if index % 2 == 0 else (2, 1)):
            speed = one_run(store, procs if procs > 1 else None)
            print(f"round {index}: {procs} process(es) {speed:,.0f} samples/s", flush=True)
            if index:
                results[procs].append(speed)
    one, two = statistics.median(results[1]), statistics.median(results[2])
    print(f"2 gloo processes / 1 process: {two / one:.2f}× samples/s ({two:,.0f} vs {one:,.0f}; medians of {ROUNDS})")
    print(json.dumps({"one_process_samples_per_s": round(one, 1), "two_process_samples_per_s": round(two, 1),
                      "scaling": round(two / one, 3), "rounds": ROUNDS}))


if __name__ == "__main__":
    main()
