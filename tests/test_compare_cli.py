"""``neuralforge runs compare --diff``, ``runs stats`` and ``runs seeds`` on a store of tiny real runs (one epoch
on 100 digits: each costs a worker's start-up, so there are three), and ``runs stats`` on runs written through the
store API where the values, not the training, are the point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.store.sqlite_store import Store

from training_graphs import digits_mlp, wider_digits_mlp

pytestmark = pytest.mark.slow
FAST = ["--dataset", "digits", "--epochs", "1", "--limit", "100", "--batch-size", "32", "--diagnostics", "off"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two finished runs in experiment "cmp": the digits MLP with adam, and its wider variant with sgd.
    Returns (store path, run ids in training order)."""
    folder = tmp_path_factory.mktemp("cmp")
    store = folder / "store.db"
    plain, wider = folder / "mlp.nfg", folder / "wider.nfg"
    plain.write_text(dumps(digits_mlp()), encoding="utf-8")
    wider.write_text(dumps(wider_digits_mlp()), encoding="utf-8")
    for graph, optimizer in ((plain, "adam"), (wider, "sgd")):
        assert main(["train", str(graph), *FAST, "--optimizer", optimizer, "--lr", "0.01", "--seed", "0",
                     "--experiment", "cmp", "--store", str(store), "--json"]) == 0
    with Store(store) as opened:
        ids = [r.id for r in reversed(opened.list_runs("cmp"))]
    return store, ids


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_with_the_architecture_diff(trained, capsys):
    store, ids = trained
    capsys.readouterr()
    assert main(["runs", "compare", ids[0], ids[1], "--diff", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "param optimizer" in out and "val/acc" in out  # the existing comparison is still there
    assert f"architecture {ids[0]} → {ids[1]}: 6 changes" in out
    assert "+ drop2 (Dropout)" in out
    assert "~ fc1 (Linear): params.out_features: 32 → 64" in out
    assert "~ fc2 → head (Linear): renamed" in out
    data = run_json(capsys, ["runs", "compare", ids[0], ids[0], ids[1], "--diff", "--store", str(store)])
    assert data["architecture"]["base"] == ids[0]
    assert data["architecture"]["runs"][ids[1]]["added"] == [{"id": "drop2", "type": "Dropout"}]
    assert set(data["metrics"]["val/acc"]) == set(ids)


def test_stats_groups_real_runs_by_optimizer(trained, capsys):
    store, ids = trained
    data = run_json(capsys, ["runs", "stats", "--experiment", "cmp", "--group-by", "optimizer",
                             "--metric", "val/acc", "--store", str(store)])
    groups = {g["key"]: g for g in data["groups"]}
    assert set(groups) == {"adam", "sgd"}
    assert ids[0] in groups["adam"]["runs"] and groups["sgd"]["runs"] == [ids[1]]
    assert all(0.0 <= v <= 1.0 for g in groups.values() for v in g["values"])
    assert data["test"] is None  # one sgd run: nothing to test yet
    capsys.readouterr()
    assert main(["runs", "stats", "--experiment", "cmp", "--group-by", "optimizer", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "OPTIMIZER" in out and "95 % CI" in out and "no test: it needs two groups of at least 2 runs" in out


def test_more_seeds_of_a_run_train_with_new_seeds(trained, capsys):
    store, ids = trained
    capsys.readouterr()
    assert main(["runs", "seeds", ids[0], "--more", "1", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "1 more seed" in out and "seed 1" in out  # seed 0 of this graph is taken
    with Store(store) as opened:
        (new,) = [r for r in opened.list_runs("cmp") if r.id not in ids]
        assert new.status == "finished" and new.params["seed"] == 1 and new.params["optimizer"] == "adam"
        assert new.tags["seed_of"] == ids[0] and new.tags["parent_run"] == ids[0]
        assert new.graph_sha256 == opened.get_run(ids[0]).graph_sha256


def write_runs(store_path: Path, values: dict[str, list[float]]) -> None:
    with Store(store_path) as store:
        for optimizer, accs in values.items():
            for seed, acc in enumerate(accs):
                run = store.create_run("api", params={"optimizer": optimizer, "seed": seed}, environment={})
                for step, fraction in ((10, 0.5), (20, 1.0)):
                    store.log_metric(run.id, "val/acc", acc * fraction, step)
                store.set_status(run.id, "finished")


def test_stats_words_for_a_clear_and_an_unclear_difference(tmp_path, capsys):
    clear = tmp_path / "clear.db"
    write_runs(clear, {"adam": [0.95, 0.96, 0.955, 0.955], "sgd": [0.90, 0.91, 0.905, 0.905]})
    capsys.readouterr()
    assert main(["runs", "stats", "--group-by", "optimizer", "--half-width", "0.001", "--store", str(clear)]) == 0
    out = capsys.readouterr().out
    assert "adam beats sgd on val/acc by 5.0 points" in out and "unlikely to be chance" in out
    assert "MORE SEEDS" in out
    unclear = tmp_path / "unclear.db"
    write_runs(unclear, {"adam": [0.90, 0.95, 0.88], "sgd": [0.91, 0.86, 0.92], "rmsprop": [0.5]})
    data = run_json(capsys, ["runs", "stats", "--group-by", "optimizer", "--store", str(unclear)])
    assert not data["test"]["significant"]
    assert "not distinguishable on val/acc with these 3 seeds each" in data["test"]["verdict"]
    assert {g["key"]: g["ci"] for g in data["groups"]}["rmsprop"] == [None, None]  # one run: no interval
    capsys.readouterr()
    assert main(["runs", "stats", "--group-by", "optimizer", "--groups", "adam,lion", "--store", str(unclear)]) == 2
    assert "--groups takes two of adam, rmsprop, sgd" in capsys.readouterr().err
