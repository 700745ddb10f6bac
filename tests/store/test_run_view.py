"""The runs table's reads: the dock's filter evaluated by SQLite agrees with its Python meaning, every column
sorts in SQL, and run revisions tell which runs changed since a look."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store, StoreError, schema
from neuralforge_desktop.core.store.run_filter import parse_filter, run_matches
from neuralforge_desktop.core.store.run_view import SORT_KEYS
from neuralforge_desktop.core.store.synthetic import add_runs

from .helpers import integrity, sql


def _tricky_runs(store: Store) -> dict[str, str]:
    """Runs whose params, tags and metrics exercise the corners of the filter; name → id."""
    specs = {
        "baseline": ({"lr": 0.001, "epochs": 10, "optimizer": "adam", "amp": True, "scheduler": None,
                      "hidden": [64, 10]}, {"note": "keep", "host": "a100", "cost_per_gpu_hour": "2.5"},
                     {"val/acc": 0.95, "val/loss": 0.2}, "finished"),
        "Ärger-fast": ({"lr": 1e-2, "epochs": 5, "optimizer": "Adam", "amp": False}, {"host": "h100"},
                       {"val/acc": 0.9, "val/loss": math.nan}, "stopped"),
        "slow": ({"lr": 3e-4, "epochs": "20", "optimizer": "sgd"}, {"note": "Keep me", "cost_per_gpu_hour": "x"},
                 {"val/acc": 0.7}, "failed"),
        "bare": ({}, {}, {}, "queued"),
        "text-lr": ({"lr": "0.001"}, {"lr": "1e-3"}, {"lr": 0.5}, "finished"),
    }
    ids = {}
    for name, (params, tags, metrics, status) in specs.items():
        run = store.create_run("other" if name == "slow" else "sweep", name, params=params, tags=tags,
                               environment={}, status="running")
        for metric, value in metrics.items():
            store.log_series(run.id, metric, [1, 2], [0.0, value])
        if name != "bare":
            store.log_series(run.id, "epoch_seconds", [1, 2, 3], [1.0, 1.0, 1.0])
        store.set_status(run.id, status)  # type: ignore[arg-type]
        ids[name] = run.id
    return ids


FILTERS = [
    "", "status:finished", "status:", "name:är", "name:ÄR", "experiment:oth", "tag:keep", "tag:host=a", "tag:",
    "lr=1e-3", "lr=0.001", "lr!=0.001", "lr>0.0005", "lr<=0.001", "lr=", "optimizer=adam", "optimizer!=ADAM",
    "optimizer>a", "amp=true", "amp=True", "amp!=false", "scheduler=none", "hidden=[64,", "epochs>=10",
    "epochs=20", "epochs_done=3", "epochs_done!=3", "epochs_done>2", "val/acc>0.8", "val/acc<=0.7",
    "val/acc=0.95", "val/acc!=0.95", "val/loss>0", "val/loss!=1", "missing!=3", "missing=3", "note=keep",
    "note=KEEP", "host=a100", "cost_per_gpu_hour>2", "adam", "ADAM", "amp=true", "keep", "ärger", "lr=0.001 status:fin",
    "sweep adam", "val/acc>abc", "val/acc!=abc", "1e-3", "=", "x=y=z", "optimizer=adam val/acc>0.92",
]


@pytest.mark.parametrize("text", FILTERS)
def test_the_filter_in_sql_agrees_with_its_python_meaning(store: Store, text: str) -> None:
    _tricky_runs(store)
    runs = store.list_runs()
    expected = {run.id for run in runs if run_matches(run, parse_filter(text))}
    assert set(store.run_ids(text)) == expected


def test_the_filter_agrees_on_a_store_of_many_plausible_runs(store: Store) -> None:
    add_runs(store, 300, seed=3)
    runs = store.list_runs()
    for text in ("lr=1e-3", "optimizer!=adam", "val/acc>0.9 status:finished", "tag:a100", "dataset=mnist",
                 "scheduler=None", "128", "epochs_done<3", "weight_decay=0", "cifar"):
        expected = {run.id for run in runs if run_matches(run, parse_filter(text))}
        assert set(store.run_ids(text)) == expected, text
        assert expected  # the filter says something about these runs


def test_every_column_sorts_and_descending_is_the_exact_reverse(store: Store) -> None:
    ids = _tricky_runs(store)
    for column in SORT_KEYS:
        ascending = store.run_ids("", column, descending=False)
        assert sorted(ascending) == sorted(ids.values())
        assert store.run_ids("", column, descending=True) == ascending[::-1], column
    by_acc = store.run_ids("", "val acc", descending=False)
    assert by_acc[:3] == [ids["slow"], ids["Ärger-fast"], ids["baseline"]]  # those without it come last
    names = {run_id: name for name, run_id in ids.items()}
    assert [names[i] for i in store.run_ids("", "name", descending=False)] == sorted(ids, key=str.lower)
    store.add_usage(ids["baseline"], gpu_seconds=3600)
    assert store.run_ids("status:finished", "cost", descending=True)[0] == ids["baseline"]
    with pytest.raises(StoreError, match="cannot sort runs by"):
        store.run_ids("", "nope")


def test_run_revisions_name_the_runs_changed_since_a_look(store: Store) -> None:
    ids = _tricky_runs(store)
    revision, count = store.run_revision()
    assert count == 5 and store.runs_changed_since(revision) == []
    store.set_status(ids["bare"], "running")
    store.log_series(ids["slow"], "val/acc", [3], [0.75])
    assert set(store.runs_changed_since(revision)) == {ids["bare"], ids["slow"]}
    later, _ = store.run_revision()
    assert later > revision and store.runs_changed_since(later) == []
    store.set_tags(ids["baseline"], {"note": "changed"})
    store.add_usage(ids["text-lr"], gpu_seconds=10)
    store.update_run(ids["Ärger-fast"], checksum="abc")
    store.delete_tag(ids["slow"], "note")
    assert set(store.runs_changed_since(later)) == {ids["baseline"], ids["text-lr"], ids["Ärger-fast"], ids["slow"]}
    newest, _ = store.run_revision()
    store.delete_run(ids["bare"])
    assert store.run_revision() == (newest, 4)  # a deletion shows in the count
    fresh = store.create_run("sweep", "new", environment={})
    assert store.runs_changed_since(newest) == [fresh.id]


def test_usage_total_and_active_runs(store: Store) -> None:
    ids = _tricky_runs(store)
    store.add_usage(ids["baseline"], gpu_seconds=7200)
    store.add_usage(ids["slow"], gpu_seconds=3600)  # its rate tag is not a number: costs nothing
    assert store.run_usage_total() == (10800.0, 5.0)
    assert store.run_usage_total("status:failed") == (3600.0, 0.0)
    assert store.has_active_runs()  # "bare" is queued
    store.set_status(ids["bare"], "stopped")
    assert not store.has_active_runs()


def test_get_runs_keeps_the_order_given(store: Store) -> None:
    ids = list(_tricky_runs(store).values())
    assert [r.id for r in store.get_runs(ids[::-1] + ["missing"])] == ids[::-1]


@pytest.mark.sqlite_only(reason="builds an SQLite file of an older schema version by hand")
def test_a_version_4_store_gains_revisions_that_then_follow_every_write(store_path: Path) -> None:
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=4)
    now = time.time()
    conn.execute("INSERT INTO projects VALUES ('p1', 'default', ?)", (now,))
    conn.execute("INSERT INTO experiments VALUES ('e1', 'p1', 'old', ?)", (now,))
    for i in (1, 2):
        conn.execute("INSERT INTO runs (id, experiment_id, name, status, created) VALUES (?, 'e1', ?, 'finished', ?)",
                     (f"r{i}", f"run-{i}", now + i))
    conn.execute("COMMIT")
    conn.close()
    with Store(store_path) as s:
        assert sql(store_path, "SELECT id, revision FROM runs ORDER BY id") == [("r1", 1), ("r2", 2)]
        assert s.run_revision() == (2, 2) and s.run_ids() == ["r2", "r1"]
        s.log_series("r1", "loss", [1], [0.5])
        assert s.runs_changed_since(2) == ["r1"]
    assert sql(store_path, "SELECT MAX(version) FROM schema_version") == [(schema.SCHEMA_VERSION,)]
    assert integrity(store_path) == "ok"
