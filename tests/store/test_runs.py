"""Projects, experiments and runs: creation, status, params, tags, listing, comparing, deleting."""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.store import (
    NotFoundError,
    ParamConflictError,
    Store,
    StoreError,
    default_store_path,
)

from .helpers import sql


def test_projects_and_experiments_are_get_or_create(store: Store) -> None:
    p1 = store.get_or_create_project("vision")
    assert store.get_or_create_project("vision") == p1
    assert store.get_project("vision") == p1
    e1 = store.get_or_create_experiment("mnist", project="vision")
    e2 = store.get_or_create_experiment("mnist")  # same name, default project: a different experiment
    assert e1 != e2 and e1.project_id == p1.id
    assert store.get_or_create_experiment("mnist", project="vision") == e1
    assert store.get_experiment(e1.id) == e1 == store.get_experiment(e1) == store.get_experiment("mnist", "vision")
    assert [p.name for p in store.list_projects()] == ["default", "vision"]
    assert {e.id for e in store.list_experiments()} == {e1.id, e2.id}
    assert store.list_experiments("vision") == [e1]
    with pytest.raises(NotFoundError):
        store.get_project("nope")
    with pytest.raises(KeyError):  # NotFoundError is a KeyError too
        store.get_experiment("nope")


def test_create_run_records_everything(store: Store) -> None:
    params = {"lr": 0.001, "epochs": 10, "opt": "adam", "betas": [0.9, 0.999], "sched": None, "amp": True,
              "nested": {"a": 1}}
    run = store.create_run("mnist", params=params, tags={"note": "first", "n": 3}, graph_sha256="ab" * 32,
                           checksum="cd" * 32)
    assert len(run.id) == 12 and int(run.id, 16) >= 0
    assert run.name == "run-1" and run.experiment == "mnist" and run.status == "running"
    assert run.started == run.created and run.ended is None and run.is_active
    assert run.params == params and isinstance(run.params["lr"], float) and isinstance(run.params["epochs"], int)
    assert run.tags == {"note": "first", "n": "3"}
    assert run.graph_sha256 == "ab" * 32 and run.checksum == "cd" * 32
    assert run.pid == os.getpid() and run.hostname == socket.gethostname()
    assert run.environment["python"] and "hostname" in run.environment  # captured by default
    assert store.get_run(run.id) == run
    second = store.create_run("mnist", "custom name", environment={"python": "x"})
    assert second.name == "custom name" and second.environment == {"python": "x"}
    assert store.create_run("mnist", environment={}).name == "run-3"
    paused = store.create_run("mnist", status="paused", environment={})
    assert paused.started is None and paused.pid is None
    with pytest.raises(StoreError, match="unknown run status"):
        store.create_run("mnist", status="done")
    with pytest.raises(NotFoundError):
        store.get_run("000000000000")


def test_status_transitions_stamp_times_and_owner(store: Store) -> None:
    run = store.create_run("e", environment={})
    store.set_status(run.id, "paused")
    assert store.get_run(run.id).ended is None
    store.set_status(run.id, "finished", end=1234.5)
    done = store.get_run(run.id)
    assert done.status == "finished" and done.ended == 1234.5 and done.duration == 1234.5 - done.started
    # Resuming clears the end and takes ownership; ending without an explicit time stamps now.
    sql(store.path, "UPDATE runs SET pid = 1 WHERE id = ?", (run.id,))
    store.set_status(run.id, "running")
    resumed = store.get_run(run.id)
    assert resumed.ended is None and resumed.pid == os.getpid() and resumed.started == done.started
    store.set_status(run.id, "failed")
    assert store.get_run(run.id).ended >= resumed.started
    with pytest.raises(StoreError):
        store.set_status(run.id, "exploded")
    with pytest.raises(NotFoundError):
        store.set_status("ffffffffffff", "finished")


def test_params_are_write_once_and_tags_mutable(store: Store) -> None:
    run = store.create_run("e", params={"lr": 0.1}, environment={})
    store.log_params(run.id, {"lr": 0.1, "bs": 64})  # the same value again is fine
    with pytest.raises(ParamConflictError, match="'lr'"):
        store.log_params(run.id, {"lr": 0.2})
    with pytest.raises(ValueError):  # also a ValueError
        store.log_params(run.id, {"bs": 32, "new": 1})
    assert store.get_run(run.id).params == {"lr": 0.1, "bs": 64}  # the failed batch wrote nothing
    store.log_params(run.id, {"device": Path("/x"), "obj": object})  # no JSON form: stored as text
    assert store.get_run(run.id).params["device"] == "/x"
    store.set_tags(run.id, {"stage": "warmup"})
    store.set_tags(run.id, {"stage": "main", "k": "v"})
    store.delete_tag(run.id, "k")
    assert store.get_run(run.id).tags == {"stage": "main"}
    with pytest.raises(NotFoundError):
        store.set_tags("ffffffffffff", {"a": 1})


def test_usage_and_update(store: Store) -> None:
    run = store.create_run("e", environment={})
    store.add_usage(run.id, cpu_seconds=1.5, gpu_seconds=2.0)
    store.add_usage(run.id, cpu_seconds=0.5)
    store.update_run(run.id, name="renamed", checksum="c", environment={"python": "3"})
    got = store.get_run(run.id)
    assert (got.cpu_seconds, got.gpu_seconds, got.name, got.checksum, got.environment) == (
        2.0, 2.0, "renamed", "c", {"python": "3"})


def test_list_runs_filters_and_orders(store: Store) -> None:
    runs = []
    for i, acc in enumerate([0.5, 0.9, math.nan, 0.7]):
        run = store.create_run("cls", params={"lr": [0.1, 0.01][i % 2]}, tags={"group": "ab"[i % 2]},
                               environment={})
        if i != 3:
            store.log_series(run.id, "acc", [0, 1], [0.0, acc])
        runs.append(run)
    other = store.create_run("other", environment={})
    store.set_status(runs[0].id, "finished")
    ids = [r.id for r in runs]

    assert [r.id for r in store.list_runs("cls")] == ids[::-1]  # newest first by default
    assert [r.id for r in store.list_runs("cls", order_by="created")] == ids
    assert len(store.list_runs()) == 5 and store.list_runs(project="default")[0].id == other.id
    assert store.list_runs(project="nope") == []
    assert [r.id for r in store.list_runs(status="finished")] == [ids[0]]
    assert {r.id for r in store.list_runs("cls", status=["running", "paused"])} == set(ids[1:])
    assert {r.id for r in store.list_runs(tags={"group": "b"})} == {ids[1], ids[3]}
    assert {r.id for r in store.list_runs(params={"lr": 0.01})} == {ids[1], ids[3]}
    assert store.list_runs(params={"lr": 0.01}, tags={"group": "a"}) == []
    # By a metric: NaN (stored as NULL) and missing metrics sort last in both directions.
    assert [r.id for r in store.list_runs("cls", order_by="-metrics.acc")] == [ids[1], ids[0], ids[3], ids[2]]
    assert [r.id for r in store.list_runs("cls", order_by="metrics.acc")][:2] == [ids[0], ids[1]]
    assert [r.id for r in store.list_runs("cls", order_by="-metrics.acc@min", limit=1)] == [ids[2]]
    best = store.list_runs("cls", order_by="-metrics.acc", limit=2)
    assert [r.metrics["acc"].value for r in best] == [0.9, 0.5]
    for bad in ("size", "metrics.", "metrics.acc@mean"):
        with pytest.raises(StoreError):
            store.list_runs(order_by=bad)
    with pytest.raises(StoreError):
        store.list_runs(status="bogus")
    with pytest.raises(NotFoundError):
        store.list_runs("missing-experiment")


def test_compare_runs(store: Store) -> None:
    a = store.create_run("e", params={"lr": 0.1, "bs": 32, "nan": math.nan}, environment={})
    b = store.create_run("e", params={"lr": 0.01, "bs": 32, "nan": math.nan, "wd": 0.0}, environment={})
    store.log_metric(a.id, "loss", 0.3, 1)
    store.log_series(b.id, "acc", np.arange(3), [0.1, 0.2, 0.3])
    cmp = store.compare_runs([b.id, a.id])
    assert [r.id for r in cmp.runs] == [b.id, a.id]
    assert cmp.params_same["bs"] == 32 and math.isnan(cmp.params_same["nan"])
    assert cmp.params_diff == {"lr": {b.id: 0.01, a.id: 0.1}, "wd": {b.id: 0.0, a.id: None}}
    assert cmp.metrics["loss"][a.id].value == 0.3 and cmp.metrics["loss"][b.id] is None  # buffered point included
    assert cmp.metrics["acc"][b.id].max == 0.3
    with pytest.raises(NotFoundError):
        store.compare_runs([a.id, "ffffffffffff"])


def test_delete_run_removes_its_rows(store: Store) -> None:
    keep = store.create_run("e", params={"a": 1}, tags={"t": 1}, environment={})
    gone = store.create_run("e", params={"a": 1}, tags={"t": 1}, environment={})
    for run in (keep, gone):
        store.log_series(run.id, "m", np.arange(10), np.ones(10))
    store.log_metric(gone.id, "m", 2.0, 11)  # buffered: discarded, never written after the delete
    store.delete_run(gone.id)
    store.flush()
    for table in ("params", "tags", "metric_chunks", "latest_metrics"):
        assert sql(store.path, f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (gone.id,)) == [(0,)]
        assert sql(store.path, f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (keep.id,)) != [(0,)]
    with pytest.raises(NotFoundError):
        store.delete_run(gone.id)


def test_default_path_is_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    path = default_store_path()
    assert path.name == "store.db" and "neuralforge" in path.parts
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert path == tmp_path / "data" / "neuralforge" / "store.db"
    with Store() as s:
        assert s.path == path and path.exists()
