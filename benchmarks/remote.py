"""Remote training through SSH against the same run trained locally, in the same process, same rounds.

The "host" is this machine through a real sshd on 127.0.0.1 (the recipe the tests use), so the network is
loopback and the figures are NeuralForge's own overhead: starting the detached worker, following its files
over SFTP, replaying its store calls into the local store.

- ingest lag: for every step event, the time from the worker writing it on the host to ``events()`` handing it
  over here. The follower replays the store calls before it hands over the events they precede, so this is
  also an upper bound on when the step's points are in the local store. Target p95 ≤ 1 s.
- steps/s: measured between two step events inside the epoch, by the worker (the host's training speed with
  the follower polling beside it) and as seen here (wall clock between those events arriving). Target: remote
  ≥ 0.95× local. Rounds alternate local/remote, each side ROUNDS times, one warm-up round per side discarded.

Prints figures, then one JSON object on the last line. Needs Debian's openssh-server (installers/setup.sh)."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="nf-remote-bench-"))
os.environ["XDG_DATA_HOME"] = str(WORK / "data")  # the host registry and known-hosts file of this run only

from neuralforge_desktop.core import zoo  # noqa: E402
from neuralforge_desktop.core.remote.dispatch import RemoteTrainingProcess  # noqa: E402
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry  # noqa: E402
from neuralforge_desktop.core.remote.ssh import Connection  # noqa: E402
from neuralforge_desktop.core.store.sqlite_store import Store  # noqa: E402
from neuralforge_desktop.core.training.config import TrainConfig  # noqa: E402
from neuralforge_desktop.core.training.events import StepEvent  # noqa: E402
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run  # noqa: E402
from tests.remote.sshd import LocalSshd  # noqa: E402

ROUNDS = 3
CONFIG = TrainConfig(dataset="mnist-10k", epochs=1, limit=6000, batch_size=64, log_every=5, seed=0)
FIRST, LAST = 20, 80  # steps measured (5,400 train examples → 85 steps)


def one_round(process, store) -> dict[str, float]:
    arrivals: dict[int, tuple[float, float, float]] = {}  # step → (arrived here, written there, worker s/s)
    lags = []
    for event in process.events():
        now = time.time()
        if isinstance(event, StepEvent):
            lags.append(now - event.time)
            arrivals[event.step] = (now, event.time, event.samples_per_s or 0.0)
    process.wait(120)
    (seen_a, made_a, _), (seen_b, made_b, _) = arrivals[FIRST], arrivals[LAST]
    steps = LAST - FIRST
    return {"worker_steps_per_s": steps / (made_b - made_a), "seen_steps_per_s": steps / (seen_b - seen_a),
            "lags": lags}


def main() -> None:
    sshd = LocalSshd.create(WORK / "sshd").start()
    try:
        host = HostRegistry().add(Host("bench", "127.0.0.1", port=sshd.port, user=sshd.user,
                                       key_file=str(sshd.client_key), workdir=str(WORK / "remote"),
                                       python=sys.executable))
        with Connection.open(host, trust_fingerprint=sshd.host_fingerprint):
            pass
        store = Store(WORK / "store.db")
        graph = zoo.build("mnist-cnn")
        results: dict[str, list[dict[str, float]]] = {"local": [], "remote": []}
        for index in range(ROUNDS + 1):
            order = ("local", "remote") if index % 2 == 0 else ("remote", "local")
            for side in order:
                _, folder = prepare_run(graph, CONFIG, store, name=f"{side}-{index}")
                if side == "local":
                    process = TrainingProcess(folder).start()
                else:
                    process = RemoteTrainingProcess(folder, dataclasses.replace(host), store=store).start()
                figures = one_round(process, store)
                if index > 0:  # round 0 warms both sides up
                    results[side].append(figures)
                print(f"round {index} {side}: worker {figures['worker_steps_per_s']:.1f} steps/s, "
                      f"seen here {figures['seen_steps_per_s']:.1f} steps/s", flush=True)
        store.close()
    finally:
        sshd.stop()

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results[side])

    lags = sorted(lag for r in results["remote"] for lag in r["lags"])
    p95 = lags[int(0.95 * (len(lags) - 1))]
    ratio_worker = median("remote", "worker_steps_per_s") / median("local", "worker_steps_per_s")
    ratio_seen = median("remote", "seen_steps_per_s") / median("local", "seen_steps_per_s")
    print(f"ingest lag over {len(lags)} step events: median {statistics.median(lags) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms (target p95 ≤ 1000 ms)")
    print(f"steps/s, remote / local: {ratio_worker:.2f}× as the worker measures it, {ratio_seen:.2f}× as seen "
          f"here (target ≥ 0.95×; {ROUNDS} rounds per side, medians)")
    print(json.dumps({"ingest_lag_p95_s": round(p95, 3), "ingest_lag_median_s": round(statistics.median(lags), 3),
                      "remote_local_steps_ratio": round(ratio_worker, 3),
                      "remote_local_seen_ratio": round(ratio_seen, 3),
                      "local_steps_per_s": round(median("local", "worker_steps_per_s"), 2),
                      "remote_steps_per_s": round(median("remote", "worker_steps_per_s"), 2), "rounds": ROUNDS}))


if __name__ == "__main__":
    main()
