"""On a CUDA machine: a short single-GPU training run, then the same job data-parallel over NCCL.

With two GPUs or more, the second run is ``--gpus 2``: two processes under torchrun, NCCL, one GPU each; the
check reads the run's tags (world size, backend, whether every rank ended with the same weights) and the
per-rank throughput, and compares the final loss with the single-GPU run (same seed, same global batch: the
same math up to float rounding and cuDNN's choices). With one GPU, NeuralForge gives each process a GPU of its
own (NCCL refuses two ranks on one device), so the check starts the two-process job anyway and reports the
refusal it gets, which must name the missing GPU.

Run from the repository root: ``python benchmarks/gpu_ddp_check.py``. Prints figures, then one JSON object on
the last line; without CUDA it says so and exits 0."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG: dict[str, Any] = dict(dataset="mnist-10k", epochs=1, limit=6000, val_fraction=0.1, batch_size=128,
                              log_every=5, seed=0, device="cuda")


def run(store: Any, procs: int | None, name: str) -> dict[str, Any]:
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.events import FinishedEvent, StepEvent
    from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

    run_id, folder = prepare_run(zoo.build("mnist-cnn"), TrainConfig(**CONFIG, procs=procs), store, name=name)
    started = time.perf_counter()
    process = TrainingProcess(folder).start()
    events = list(process.events())
    code = process.wait(600)
    steps = [e for e in events if isinstance(e, StepEvent)]
    finished = next((e for e in events if isinstance(e, FinishedEvent)), None)
    result: dict[str, Any] = {"name": name, "procs": procs or 1, "exit": code,
                              "wall_s": round(time.perf_counter() - started, 2)}
    if code != 0 or finished is None:
        result["error"] = process.stderr_tail(8)
        return result
    tags = store.get_run(run_id).tags
    first, last = steps[len(steps) // 4], steps[-1]
    result.update(steps=finished.steps, last_loss=round(last.loss, 5), best=finished.best,
                  steps_per_s=round((last.step - first.step) / max(last.time - first.time, 1e-9), 2),
                  world_size=tags.get("world_size", "1"), backend=tags.get("backend", ""),
                  ranks_agree=tags.get("ranks_agree", ""))
    per_rank = store.metric_history(run_id, "train/samples_per_s_per_rank").values
    if per_rank:
        result["samples_per_s_per_rank"] = round(float(per_rank[-1]), 1)
    return result


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA: nothing to check on this machine")
        print(json.dumps({"cuda": False}))
        return 0
    from neuralforge_desktop.core.store.sqlite_store import Store

    gpus = torch.cuda.device_count()
    store = Store(Path(tempfile.mkdtemp(prefix="nf-gpu-ddp-")) / "store.db")
    rows = [run(store, None, "one-gpu"), run(store, 2, "two-procs-nccl")]
    store.close()
    for row in rows:
        print(" ".join(f"{key}={value}" for key, value in row.items() if key != "error"))
        if "error" in row:
            print(f"  error: {row['error']}")
    single, double = rows
    if gpus >= 2:
        ok = (double["exit"] == 0 and double.get("backend") == "nccl" and str(double.get("ranks_agree")).lower()
              == "true" and abs(double["last_loss"] - single["last_loss"]) < 0.05)
        verdict = "two NCCL ranks trained like one GPU" if ok else "the NCCL job differs from the single-GPU run"
    else:
        ok = double["exit"] != 0 and "GPU" in double.get("error", "")
        verdict = ("one GPU: the two-process job was refused naming the missing GPU" if ok else
                   "one GPU: the two-process job was not refused clearly")
    print(verdict)
    print(json.dumps({"cuda": True, "gpu": torch.cuda.get_device_name(), "gpus": gpus, "torch": torch.__version__,
                      "ok": ok, "rows": rows}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
