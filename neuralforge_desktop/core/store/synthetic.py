"""Stores full of plausible runs, fast: for scale tests and benchmarks of the runs list, the Runs dock and the CLI.

Each run gets what a real training run leaves in the store (a status, ~10 params, a few tags, the latest
value of 3–5 metrics, an environment record) written through the store's own write helpers, all runs in one
transaction: 10,000 runs take a second or two instead of the minutes that one ``create_run`` per run takes.
The revision triggers (schema v5) are suspended inside that transaction, which would otherwise stamp each run
once per param, tag and metric, and each new run is stamped once at the end, as the triggers would leave it.
Only the latest metric values are written (no histories), except for ``with_history`` runs, which get short
curves through :meth:`Store.log_series`.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

from neuralforge_desktop.core.store import batch, chunks
from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.entities import LatestMetric
from neuralforge_desktop.core.store.environment import canonical_json
from neuralforge_desktop.core.store.sqlite_store import Store

_STATUSES = ("finished",) * 16 + ("failed", "failed", "stopped", "crashed")
_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
_ENVIRONMENT = {"python": "3.12.3", "torch": "2.5.1", "numpy": "2.1.3", "platform": "Linux-6.8-x86_64",
                "device": "cuda:0", "cuda": "12.4", "gpu": "NVIDIA A100-SXM4-40GB", "cpu_count": 32}


_REVISED_TABLES = ("runs", "params", "tags", "latest_metrics")  # the tables whose triggers stamp revisions


def _params(rng: random.Random, index: int) -> dict[str, Any]:
    return {"lr": rng.choice((1e-2, 3e-3, 1e-3, 3e-4, 1e-4)), "batch_size": rng.choice((32, 64, 128, 256)),
            "epochs": rng.choice((5, 10, 20)), "optimizer": rng.choice(_OPTIMIZERS),
            "weight_decay": rng.choice((0.0, 1e-4, 5e-4)), "dropout": rng.choice((0.0, 0.1, 0.3)),
            "seed": index, "dataset": rng.choice(("mnist", "cifar10", "fashion-mnist")),
            "scheduler": rng.choice(("cosine", "step", None)), "hidden": [rng.choice((64, 128, 256)), 10]}


def _metrics(rng: random.Random, epochs_done: int, now: float) -> list[LatestMetric]:
    acc = rng.uniform(0.5, 0.99)
    loss = rng.uniform(0.05, 1.5)
    out = [LatestMetric("val/acc", epochs_done, acc, now, acc * 0.6, acc, epochs_done),
           LatestMetric("val/loss", epochs_done, loss, now, loss, loss * 2, epochs_done),
           LatestMetric("train/loss", epochs_done * 100, loss * 0.8, now, loss * 0.7, 2.3, epochs_done * 10),
           LatestMetric("epoch_seconds", epochs_done, rng.uniform(5, 60), now, 5.0, 60.0, epochs_done)]
    if rng.random() < 0.3:
        out.append(LatestMetric("lr", epochs_done * 100, 1e-4, now, 1e-4, 1e-3, epochs_done * 10))
    return out


def add_runs(store: Store, count: int, *, seed: int = 0, experiments: int = 8, running: int = 2,
             with_history: int = 0, extra_metrics: int = 0) -> list[str]:
    """Add ``count`` finished/failed/stopped/crashed runs (``running`` of them "running" with no owning
    process, as a remote worker's run looks from here) spread over ``experiments`` experiments; returns their
    ids, oldest first. The first ``with_history`` runs also get 20-point curves of their metrics; every run gets
    ``extra_metrics`` more latest values (``extra/0`` …), as a run that logs many metrics has."""
    rng = random.Random(seed)
    start = 1_700_000_000.0 + seed * 1e6
    ids: list[str] = []
    env_text = canonical_json(_ENVIRONMENT)
    with store._db.write() as conn:
        postgresql = store.dialect == "postgresql"
        triggers = [] if postgresql else conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%revision%'").fetchall()
        for name, _sql in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        for table in _REVISED_TABLES if postgresql else ():  # PostgreSQL can switch triggers off for a while
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        exp_ids = [_q.experiment(conn, f"sweep-{k}", _q.DEFAULT_PROJECT, create=True).id for k in range(experiments)]
        for index in range(count):
            run_id = uuid.uuid4().hex[:12]
            created = start + index * 60.0
            status = "running" if index >= count - running else rng.choice(_STATUSES)
            params = _params(rng, index)
            ended = None if status == "running" else created + 600.0
            gpu_seconds = rng.choice((0.0, 0.0, rng.uniform(60, 7200)))
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, created, started, ended, cpu_seconds, gpu_seconds,"
                " graph_sha256, checksum, environment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, exp_ids[index % experiments], f"run-{index + 1}", status, created, created, ended,
                 rng.uniform(10, 600), gpu_seconds, uuid.uuid4().hex * 2, uuid.uuid4().hex * 2, env_text))
            batch.write_params(conn, run_id, params)
            tags = {"graph": rng.choice(("digits-mlp", "small-cnn", "resnet8")), "source": "sweep"}
            if gpu_seconds:
                tags |= {"host": rng.choice(("a100", "h100")), "cost_per_gpu_hour": rng.choice(("2.5", "4"))}
            if status == "failed":
                tags["reason"] = "loss became NaN at step 412"
            batch.write_tags(conn, run_id, tags)
            done = rng.randint(1, int(params["epochs"]))
            for metric in _metrics(rng, done, created + 600.0):
                chunks.write_latest(conn, run_id, metric)
            for k in range(extra_metrics):
                value = rng.random()
                chunks.write_latest(conn, run_id, LatestMetric(f"extra/{k}", done, value, created + 600.0, value,
                                                               value, done))
            ids.append(run_id)
        (base,) = conn.execute("SELECT COALESCE(MAX(revision), 0) FROM runs").fetchone()
        conn.executemany("UPDATE runs SET revision = ? WHERE id = ?",
                         [(base + i + 1, run_id) for i, run_id in enumerate(ids)])
        for _name, sql in triggers:
            conn.execute(sql)
        for table in _REVISED_TABLES if postgresql else ():
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    steps = list(range(100, 2100, 100))
    for run_id in ids[:with_history]:  # curves shaped like training: losses fall, accuracy rises, then flatten
        speed, floor, best = rng.uniform(1.5, 4.0), rng.uniform(0.05, 0.3), rng.uniform(0.8, 0.98)
        shape = [math.exp(-speed * step / steps[-1]) for step in steps]
        train = [floor + 2.2 * f + rng.gauss(0, 0.02) for f in shape]
        store.log_series(run_id, "train/loss", steps, train)
        store.log_series(run_id, "val/loss", steps, [t * 1.1 + 0.03 for t in train])
        store.log_series(run_id, "val/acc", steps, [best - (best - 0.1) * f + rng.gauss(0, 0.01) for f in shape])
        cosine = [0.5e-3 * (1 + math.cos(math.pi * step / steps[-1])) for step in steps]
        store.log_series(run_id, "lr", steps, cosine)
    return ids
