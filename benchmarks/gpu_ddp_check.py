"""For a machine with NVIDIA GPUs: a short single-GPU run of the MNIST CNN, then the same run data-parallel over
every GPU with NCCL (`--gpus N`, one process per GPU), through the same command line a user types. Prints the
samples/s of each and whether the ranks ended with the same weights; the figures as one JSON object on the last
line. Without CUDA it says so and exits 0. (NCCL refuses two processes on one GPU, so a one-GPU machine runs the
single-GPU part only.)"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def train(store: Path, *extra: str) -> dict:
    argv = [sys.executable, "-m", "neuralforge_desktop.cli.main", "train", "zoo:mnist-cnn", "--dataset", "mnist-10k",
            "--epochs", "2", "--json", "--store", str(store), *extra]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    steps = [e for e in events if e["event"] == "step"]
    return {"samples_per_s": steps[-1]["samples_per_s"], "best": events[-1].get("best"), "run": events[-1]["run_id"]}


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA here: nothing to check")
        print(json.dumps({"cuda": False}))
        return
    count = torch.cuda.device_count()
    store = Path(tempfile.mkdtemp(prefix="nf-gpu-ddp-")) / "store.db"
    figures: dict = {"cuda": True, "gpus": count, "name": torch.cuda.get_device_name(0),
                     "single": train(store, "--device", "cuda")}
    print(f"1 GPU ({figures['name']}): {figures['single']['samples_per_s']:,.0f} samples/s")
    if count > 1:
        figures["ddp"] = train(store, "--gpus", str(count))
        from neuralforge_desktop.core.store.sqlite_store import Store

        tags = Store(store).get_run(figures["ddp"]["run"]).tags
        figures["ddp"].update(world_size=tags.get("world_size"), ranks_agree=tags.get("ranks_agree"))
        print(f"{count} GPUs, NCCL: {figures['ddp']['samples_per_s']:,.0f} samples/s per process; "
              f"ranks agree: {figures['ddp']['ranks_agree']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
