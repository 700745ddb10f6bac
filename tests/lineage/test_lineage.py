"""Lineage back from a served prediction to its data and code, through an optimised run to its parent; forward
from a dataset to every run and version; the git commit of the graph's folder recorded when it is a repository."""

from __future__ import annotations

import json
import subprocess

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.lineage import lineage_of, lineage_of_dataset
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run


def test_a_served_prediction_leads_back_to_the_dataset_fingerprint(served, fingerprint):
    with Store(served["store"]) as store:
        lineage = lineage_of(store, served["prediction"])
    nodes = {n.id: n for n in lineage.nodes.values()}
    assert lineage.root == f"prediction:{served['prediction']}"
    assert ("prediction:" + served["prediction"], "version:digits@2", "served by") in _edges(lineage)
    assert ("version:digits@2", f"run:{served['quantised']}", "registered from") in _edges(lineage)
    assert (f"run:{served['quantised']}", f"run:{served['run']}", "quantize-static-int8 of") in _edges(lineage)
    # the data is reached through the parent: the quantised run only calibrated on it
    assert (f"run:{served['run']}", f"dataset:{fingerprint}", "trained on") in _edges(lineage)
    assert nodes[f"dataset:{fingerprint}"].details["name"] == "mnist-10k"
    graphs = lineage.of_kind("graph")
    assert graphs and all(len(g.details["sha256"]) == 64 for g in graphs)
    assert nodes[f"run:{served['run']}"].details["params"]["dataset"] == "mnist-10k"
    assert any(c.details["neuralforge"] for c in lineage.of_kind("code"))


def test_a_version_and_a_run_are_refs_too(served, fingerprint):
    with Store(served["store"]) as store:
        by_version = lineage_of(store, "digits@1")
        by_run = lineage_of(store, served["run"])
    assert by_version.root == "version:digits@1"
    assert f"dataset:{fingerprint}" in by_version.nodes and f"dataset:{fingerprint}" in by_run.nodes
    assert by_run.root == f"run:{served['run']}" and not by_run.of_kind("version")


def test_an_unknown_ref_names_the_refs_accepted(served):
    with Store(served["store"]) as store, pytest.raises(UserError, match="prediction.*NAME@V.*run id"):
        lineage_of(store, "no-such-thing")


def test_forward_from_a_dataset_reaches_every_run_and_version(served, fingerprint):
    with Store(served["store"]) as store:
        by_fingerprint = lineage_of_dataset(store, fingerprint)
        by_name = lineage_of_dataset(store, "mnist-10k")
        with pytest.raises(UserError, match="mnist-10k"):
            lineage_of_dataset(store, "cifar10")
    for lineage in (by_fingerprint, by_name):
        assert lineage.direction == "forward"
        runs = {n.key for n in lineage.of_kind("run")}
        assert {served["run"], served["quantised"]} <= runs
        assert {n.key for n in lineage.of_kind("version")} == {"digits@1", "digits@2"}
        assert (f"run:{served['quantised']}", "version:digits@2", "registered as") in _edges(lineage)
    assert by_fingerprint.root == f"dataset:{fingerprint}"
    assert json.loads(json.dumps(by_fingerprint.to_json()))["root"] == f"dataset:{fingerprint}"


def test_the_git_commit_of_the_graph_folder_is_recorded(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    graph_file = project / "mnist.nfg"
    graph_file.write_text("{}")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "mnist.nfg"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "graph"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    outside = tmp_path / "loose" / "mnist.nfg"
    outside.parent.mkdir()
    outside.write_text("{}")
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=1, limit=64)
    with Store(tmp_path / "store.db") as store:
        in_repo, _ = prepare_run(graph, config, store, "tests", source=graph_file)
        loose, _ = prepare_run(graph, config, store, "tests", source=outside)
        tracked = lineage_of(store, in_repo).of_kind("code")
        untracked = lineage_of(store, loose).of_kind("code")
        source = store.get_run(in_repo).environment["source"]
    assert source["git_commit"] == commit and source["git_dirty"] is False
    assert source["file"] == str(graph_file)
    assert [c.details["git_commit"] for c in tracked] == [commit]
    assert [c.details["git_commit"] for c in untracked] == [None]


def test_the_text_tree_indents_each_step_back(served):
    with Store(served["store"]) as store:
        text = lineage_of(store, served["prediction"]).render_text()
    lines = text.splitlines()
    assert lines[0].startswith("prediction ")
    assert any(line.startswith("  served by → version digits@2") for line in lines)
    assert any(line.startswith("      quantize-static-int8 of → run ") for line in lines)


def _edges(lineage) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.relation) for e in lineage.edges}


def test_a_dataset_name_read_with_two_contents_gathers_both_under_one_root(tmp_path):
    with Store(tmp_path / "store.db") as store:
        small = store.create_run("e", params={"dataset": "mnist-10k"},
                                 environment={"dataset": {"name": "mnist-10k", "fingerprint": "a" * 64}})
        large = store.create_run("e", params={"dataset": "mnist-10k"},
                                 environment={"dataset": {"name": "mnist-10k", "fingerprint": "b" * 64}})
        older = store.create_run("e", params={"dataset": "mnist-10k"}, environment={})  # before fingerprints
        lineage = lineage_of_dataset(store, "mnist-10k")
        only_b = lineage_of_dataset(store, "b" * 64)
    assert lineage.root == "dataset:every:mnist-10k"
    assert {(e.target, e.relation) for e in lineage.children(lineage.root)} == {
        ("dataset:" + "a" * 64, "content"), ("dataset:" + "b" * 64, "content"), ("dataset:name:mnist-10k", "content")}
    assert {n.key for n in lineage.of_kind("run")} == {small.id, large.id, older.id}
    text = lineage.render_text()
    assert all(run.id in text for run in (small, large, older))
    assert {n.key for n in only_b.of_kind("run")} == {large.id}
