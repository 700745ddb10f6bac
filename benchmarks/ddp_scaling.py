"""Data-parallel scaling on this machine's CPU: the same job (same global batch, same steps) as one process and
as two gloo processes under torchrun.

Each side trains the MNIST CNN for one epoch on 3,000 examples, global batch 64 (two processes: 32 each, their
gradients averaged, so the same math). Figures, medians over ROUNDS rounds per side (alternating, one warm-up
round per side discarded):

- steps/s between two step events inside the epoch, as the worker measures it (no start-up, no data loading);
- wall seconds from start to the worker's exit (includes torchrun's start-up and the rendezvous);
- speed-up = two-process steps/s / one-process steps/s (ideal 2.0 on two idle cores).

torchrun sets OMP_NUM_THREADS=1 for each of its processes. The single process runs twice: with torch's default
(one thread per core, what a plain ``train`` does) and with OMP_NUM_THREADS=1 (the same per-process setting as
the ranks: the speed-up against it is the data-parallel gain alone). On a machine shared with other work the
figures are noisy, and the default-threads process suffers most from it (its threads wait on each other).

Run from the repository root: ``python benchmarks/ddp_scaling.py``. Prints figures, then one JSON object on the
last line."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neuralforge_desktop.core import zoo  # noqa: E402
from neuralforge_desktop.core.store.sqlite_store import Store  # noqa: E402
from neuralforge_desktop.core.training.config import TrainConfig  # noqa: E402
from neuralforge_desktop.core.training.events import StepEvent  # noqa: E402
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run  # noqa: E402

ROUNDS = 2
CONFIG: dict[str, Any] = dict(dataset="mnist-10k", epochs=1, limit=3000, val_fraction=0.1, batch_size=64,
                              log_every=5, seed=0, device="cpu")
FIRST, LAST = 10, 40  # steps measured (2,700 train examples → 42 steps)


SIDES = {"one": (1, None), "one_1thread": (1, "1"), "two": (2, None)}  # name → (processes, OMP_NUM_THREADS)


def one_round(store: Store, side: str, name: str) -> dict[str, float]:
    procs, threads = SIDES[side]
    _, folder = prepare_run(zoo.build("mnist-cnn"), TrainConfig(**CONFIG, procs=procs if procs > 1 else None),
                            store, name=name)
    started = time.perf_counter()
    saved = os.environ.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = threads  # the worker's environment is copied from this one at start
    try:
        process = TrainingProcess(folder).start()
    finally:
        os.environ.pop("OMP_NUM_THREADS", None)
        if saved is not None:
            os.environ["OMP_NUM_THREADS"] = saved
    written = {event.step: event.time for event in process.events() if isinstance(event, StepEvent)}
    if process.wait(600) != 0:
        raise SystemExit(f"{name} failed:\n{process.stderr_tail()}")
    return {"steps_per_s": (LAST - FIRST) / (written[LAST] - written[FIRST]),
            "wall_s": time.perf_counter() - started}


def main() -> None:
    store = Store(Path(tempfile.mkdtemp(prefix="nf-ddp-bench-")) / "store.db")
    results: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for index in range(ROUNDS + 1):
        for side in (list(SIDES) if index % 2 == 0 else list(reversed(SIDES))):
            figures = one_round(store, side, f"{side}-{index}")
            if index > 0:  # round 0 warms up every side (imports, dataset cache)
                results[side].append(figures)
            print(f"round {index}, {side}: {figures['steps_per_s']:.2f} steps/s, {figures['wall_s']:.1f} s wall",
                  flush=True)
    store.close()

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results[side])

    figures = {f"{side}_{key}": round(median(side, key), 3) for side in SIDES for key in ("steps_per_s", "wall_s")}
    for base in ("one", "one_1thread"):
        speedup = median("two", "steps_per_s") / median(base, "steps_per_s")
        figures[f"speedup_vs_{base}"] = round(speedup, 3)
        print(f"2 processes vs {base}, same global batch 64: {speedup:.2f}x steps/s; wall "
              f"{median(base, 'wall_s'):.1f} s -> {median('two', 'wall_s'):.1f} s")
    print(f"({os.cpu_count()} CPUs, {ROUNDS} rounds per side, medians)")
    print(json.dumps({"cpus": os.cpu_count(), "rounds": ROUNDS, **figures}))


if __name__ == "__main__":
    main()
