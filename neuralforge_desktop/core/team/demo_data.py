"""A realistic team store for the portfolio, the budget checks and the executive report: five projects owned by
three people, remote runs over the last months with their host, rate and GPU time, budgets, and a registry with
versions in staging and production, a failed gate, a drift alert and a fairness flag.

The runs are real store runs (created as their user, usage added with ``Store.add_usage``, so budget alerts are
recorded exactly as in use); only their times are moved back to the months they stand for. The registry rows are
written directly, without the ONNX files a real registration keeps: they are for display, not for serving.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuralforge_desktop.core.team.budgets import set_budget
from neuralforge_desktop.core.team.spend import month_of

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

USERS = ("alice", "bob", "carol")
HOSTS = {"gpu-a100-1": 2.90, "gpu-h100-2": 4.50, "lab-rtx4090": 0.80}


@dataclass(frozen=True, slots=True)
class DemoProject:
    name: str
    owner: str
    experiments: tuple[str, ...]
    members: tuple[str, ...]
    monthly_spend: tuple[float, ...]  # spend aimed at, oldest month first; the last is this month's
    budget: float | None
    hard_stop: bool = False
    accuracy: float = 0.9
    idle: bool = False


PROJECTS = (
    DemoProject("vision", "alice", ("resnet-baseline", "efficientnet-b0"), ("alice", "bob"),
                (240.0, 285.0, 310.0, 276.0), 300.0, hard_stop=True, accuracy=0.934),
    DemoProject("nlp-search", "bob", ("bert-ranker", "distil-ranker"), ("bob", "carol"),
                (410.0, 380.0, 455.0, 205.0), 500.0, accuracy=0.881),
    DemoProject("fraud-detection", "carol", ("gbdt-features", "mlp-tabular"), ("carol",),
                (120.0, 160.0, 190.0, 212.0), 200.0, accuracy=0.962),
    DemoProject("speech", "alice", ("conformer-small",), ("alice", "carol"),
                (60.0, 95.0, 130.0, 52.0), 150.0, accuracy=0.847),
    DemoProject("recsys", "bob", ("two-tower",), ("bob",),
                (180.0, 70.0, 0.0, 0.0), None, accuracy=0.412, idle=True),
)


@contextmanager
def acting_as(user: str) -> Iterator[None]:
    """Run the block as ``user`` (``NEURALFORGE_USER``), restoring who was acting before."""
    before = os.environ.get("NEURALFORGE_USER")
    os.environ["NEURALFORGE_USER"] = user
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NEURALFORGE_USER", None)
        else:
            os.environ["NEURALFORGE_USER"] = before


def _month_starts(now: float, count: int) -> list[float]:
    """The first moments of the ``count`` months ending with this one, oldest first."""
    starts = [month_of(now).start]
    while len(starts) < count:
        starts.insert(0, month_of(starts[0] - 1).start)
    return starts


def make_demo_store(store: Store, *, now: float | None = None, seed: int = 7) -> dict[str, list[str]]:
    """Fill ``store`` (an empty one) with the demo team; returns the run ids per project."""
    now = time.time() if now is None else now
    rng = random.Random(seed)
    months = _month_starts(now, len(PROJECTS[0].monthly_spend))
    made: dict[str, list[str]] = {}
    for project in PROJECTS:
        with acting_as(project.owner):
            store.get_or_create_project(project.name)
            if project.budget is not None:
                set_budget(store, project.name, project.budget, hard_stop=project.hard_stop)
        made[project.name] = []
        for index, (start, spend) in enumerate(zip(months, project.monthly_spend, strict=True)):
            end = month_of(start).end if index < len(months) - 1 else now - 3600
            made[project.name] += _month_runs(store, project, rng, start, end, spend, progress=index / len(months))
    _registry(store, made, now)
    return made


def _month_runs(store: Store, project: DemoProject, rng: random.Random, start: float, end: float, spend: float,
                progress: float) -> list[str]:
    if spend <= 0:
        return []
    count = max(2, int(spend // 45))
    shares = [rng.uniform(0.6, 1.4) for _ in range(count)]
    ids = []
    for share in shares:
        user = rng.choice((project.owner, *project.members))  # the owner runs most
        host = rng.choice(list(HOSTS))
        cost = spend * share / sum(shares)
        began = rng.uniform(start, max(start + 60, end - 4 * 3600))
        hours = cost / HOSTS[host]
        experiment = rng.choice(project.experiments)
        with acting_as(user):
            run = store.create_run(store.get_or_create_experiment(experiment, project.name), status="running",
                                   tags={"host": host, "cost_per_gpu_hour": f"{HOSTS[host]:.2f}"},
                                   params={"lr": rng.choice((1e-3, 3e-4, 1e-4)), "batch_size": rng.choice((64, 128))},
                                   environment={})
        acc = project.accuracy * (0.9 + 0.1 * progress) - rng.uniform(0.0, 0.03)
        for epoch in range(1, 4):
            store.log_metrics(run.id, {"val/acc": acc * (0.85 + 0.05 * epoch), "val/loss": 1.2 / epoch},
                              step=epoch, timestamp=began + epoch * 600)
        store.set_status(run.id, "finished" if rng.random() > 0.12 else "failed")
        with store._db.write() as conn:  # the run stands for one that trained back then
            conn.execute("UPDATE runs SET created = ?, started = ?, ended = ? WHERE id = ?",
                         (began - 120, began, min(began + hours * 3600, end), run.id))
        store.add_usage(run.id, gpu_seconds=hours * 3600)
        ids.append(run.id)
    return ids


def _registry(store: Store, made: dict[str, list[str]], now: float) -> None:
    """Models with versions in staging and production, their transitions, a failed gate, a drift alert on a
    served model and a fairness flag on a registered run."""
    versions = [  # model, project, stage, days before now it reached that stage
        ("vision-classifier", "vision", "production", 12), ("vision-classifier", "vision", "staging", 2),
        ("query-ranker", "nlp-search", "production", 40), ("fraud-scorer", "fraud-detection", "production", 25),
        ("fraud-scorer", "fraud-detection", "staging", 5), ("kws-speech", "speech", "staging", 9),
    ]
    model_ids: dict[str, int] = {}
    with store._db.write() as conn:
        for number, (model, project, stage, days) in enumerate(versions):
            when = now - days * 86400
            if model not in model_ids:
                cursor = conn.execute("INSERT INTO registered_models (name, description, tags, created) "
                                      "VALUES (?, ?, '{}', ?)", (model, f"{project} model", when - 86400))
                model_ids[model] = int(cursor.lastrowid or 0)
            (version,) = conn.execute("SELECT COUNT(*) + 1 FROM model_versions WHERE model_id = ?",
                                      (model_ids[model],)).fetchone()
            run_id = made[project][-1 - number % 3]
            cursor = conn.execute(
                "INSERT INTO model_versions (model_id, version, run_id, stage, description, input_shape, metrics, "
                "created, created_by) VALUES (?, ?, ?, ?, '', '[3, 224, 224]', '{}', ?, ?)",
                (model_ids[model], version, run_id, stage, when - 3 * 86400, PROJECTS[0].owner))
            version_id = int(cursor.lastrowid or 0)
            conn.execute("INSERT INTO model_transitions (version_id, from_stage, to_stage, who, created, comment) "
                         "VALUES (?, 'none', 'staging', ?, ?, '')", (version_id, "bob", when - 2 * 86400))
            if stage == "production":
                conn.execute("INSERT INTO model_transitions (version_id, from_stage, to_stage, who, created, "
                             "comment) VALUES (?, 'staging', 'production', ?, ?, 'gates passed')",
                             (version_id, "carol", when))
            if (model, stage) == ("kws-speech", "staging"):
                conn.execute("INSERT INTO model_gate_results (version_id, passed, policy, checks, who, created) "
                             "VALUES (?, 0, '{}', ?, 'ci', ?)",
                             (version_id, json.dumps([{"check": "metrics.val/acc", "passed": False,
                                                       "detail": "val/acc 0.847 below 0.880"}]), now - 8 * 86400))
        conn.execute("INSERT INTO monitor_alerts (kind, model, version, threshold, value, time) "
                     "VALUES ('drift_psi', 'query-ranker', '1', 0.25, 0.41, ?)", (now - 6 * 86400,))
    fairness = {"flagged": ["age_band: selection rate ratio 0.71 below 0.80"], "created": now - 4 * 86400}
    store.log_artifact(made["fraud-detection"][-1], json.dumps(fairness).encode("utf-8"), name="fairness.json",
                       kind="report")


def demo_now() -> float:
    """The moment the documentation's pictures were made at: 3 December 2026, 15:00 local time."""
    return dt.datetime(2026, 12, 3, 15).timestamp()
