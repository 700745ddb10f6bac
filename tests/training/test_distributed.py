"""Data-parallel training with real torchrun processes and gloo on this machine's CPU: two processes follow the
same path as one process with the same batch size, agree on their weights, and a job whose rank is killed with
kill -9 resumes from rank 0's checkpoint to the very weights of an uninterrupted job."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.distributed import World
from neuralforge_desktop.core.training.events import CheckpointEvent, FinishedEvent
from neuralforge_desktop.core.training.launch import worker_argv
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

from training_graphs import digits_mlp

# 1,000 digits, 200 held out: 800 train = 25 batches of 32, 16 per process (equal shares: equal math).
CONFIG = dict(dataset="digits", epochs=3, batch_size=32, limit=1000, val_fraction=0.2, log_every=5, seed=7)


def _train(store: Store, procs: int | None, **extra):
    run_id, folder = prepare_run(digits_mlp(dropout=0.0), TrainConfig(**{**CONFIG, **extra}, procs=procs), store)
    process = TrainingProcess(folder).start()
    events = list(process.events())
    assert process.wait() == 0, process.stderr_tail()
    return run_id, folder, events


def _weights(store: Store, run_id: str) -> dict[str, np.ndarray]:
    return load_file(store.artifact_path(run_id, "model.safetensors"))


def test_the_command_line_of_a_job():
    assert worker_argv("py", "/r") == ["py", "-P", "-m", "neuralforge_desktop.core.training.worker", "/r"]
    job = worker_argv("py", "/r", procs=2, resume=True)
    assert job[:3] == ["py", "-P", "-m"] and "torch.distributed.run" in job and "--nproc-per-node=2" in job
    assert "--standalone" in job and job[-2:] == ["/r", "--resume"]
    multi = worker_argv("py", "/r", procs=1, nnodes=2, node_rank=1, rdzv_endpoint="10.0.0.1:29400", run_id="abc")
    assert {"--nnodes=2", "--node-rank=1", "--master-addr=10.0.0.1", "--master-port=29400"} <= set(multi)
    with pytest.raises(ValueError):
        worker_argv("py", "/r", nnodes=2)  # several nodes need somewhere to meet


def test_shards_split_each_batch_evenly_and_completely():
    import torch

    batch = torch.arange(32)
    shards = [World(rank, 2).shard(batch) for rank in range(2)]
    assert sorted(torch.cat(shards).tolist()) == list(range(32)) and all(len(s) == 16 for s in shards)


@pytest.mark.slow
def test_two_processes_train_like_one_and_agree(tmp_path):
    store = Store(tmp_path / "store.db")
    single, _, single_events = _train(store, None)
    double, _, double_events = _train(store, 2)
    a, b = _weights(store, single), _weights(store, double)
    for key in a:  # the averaged gradient of two halves is the whole batch's: the same path, to float rounding
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=2e-5, err_msg=key)
    run = store.get_run(double)
    assert run.tags["world_size"] == "2" and run.tags["backend"] == "gloo"
    assert run.tags["ranks_agree"].lower() == "true"  # every process ended with the same weights
    assert run.params["procs"] == 2
    assert store.metric_history(double, "train/samples_per_s_per_rank").values[-1] > 0
    assert single_events[-1].steps == double_events[-1].steps == 75  # the same global steps
    assert abs(single_events[-1].best - double_events[-1].best) < 0.01
    recorded = {run_id: [r.step for _, r in store.diagnostic_records(run_id, "layers")] for run_id in (single, double)}
    assert recorded[double] == recorded[single] == sorted(set(recorded[single])) != []  # rank 0 alone records


@pytest.mark.slow
def test_a_job_resumes_after_one_rank_is_killed(tmp_path):
    store = Store(tmp_path / "store.db")
    whole, _, _ = _train(store, 2)

    run_id, folder = prepare_run(digits_mlp(dropout=0.0), TrainConfig(**CONFIG, procs=2), store)
    process = TrainingProcess(folder).start()
    for event in process.events():
        if isinstance(event, CheckpointEvent) and event.epoch == 1:
            ranks = _worker_pids(process.pid)
            assert len(ranks) == 2
            subprocess.run(["kill", "-9", str(ranks[-1])], check=True)
            break
    assert process.wait(120) != 0  # torchrun ends the job when a rank dies
    assert store.get_run(run_id).status in ("failed", "running", "crashed")
    store.mark_crashed_runs()

    again = TrainingProcess(folder, resume=True).start()
    events = list(again.events())
    assert again.wait() == 0, again.stderr_tail()
    assert isinstance(events[-1], FinishedEvent)
    assert events[0].resumed_from is not None and events[0].resumed_from >= 25
    a, b = _weights(store, whole), _weights(store, run_id)
    for key in a:
        assert np.array_equal(a[key], b[key]), key  # bit for bit: the order is a function of (seed, epoch)


def _worker_pids(torchrun_pid: int) -> list[int]:
    """The rank processes torchrun started (its children), waiting until both are there."""
    for _ in range(100):
        out = subprocess.run(["pgrep", "-P", str(torchrun_pid)], capture_output=True, text=True).stdout
        pids = sorted(int(p) for p in out.split())
        if len(pids) >= 2:
            return pids
        time.sleep(0.1)
    return []


def test_more_cuda_processes_than_gpus_is_the_users_to_fix():
    import torch

    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.training.distributed import world_from_environment

    gpus = torch.cuda.device_count()  # real count: the process one past the last GPU has none of its own
    env = {"WORLD_SIZE": str(gpus + 2), "RANK": str(gpus), "LOCAL_RANK": str(gpus)}
    with pytest.raises(UserError, match=f"needs GPU {gpus}, but this host has {gpus} CUDA GPU"):
        world_from_environment("cuda", env)
